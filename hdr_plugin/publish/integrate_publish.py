"""Copy the rendered frames into a versioned publish folder with a JSON manifest."""

import json
import os
import re
import shutil
from pathlib import Path

import pyblish.api

from hdr_plugin import __version__
from hdr_plugin.models import file_hash


class IntegratePublish(pyblish.api.InstancePlugin):
    """``<publishRoot>/<shot>/v###/``: the EXRs and ``manifest.json``.

    The manifest lists per frame the file, its size and SHA-256, and for the shot the
    model, weights hash, knobs, plate and hdr_plugin version. Versions never overwrite:
    each publish takes the next number; the folder appears complete or not at all.

    Reads ``instance.data``: ``outputs``, ``shot``, ``model``, ``weightsHash``;
    ``context.data``: ``publishRoot``. Writes ``instance.data``: ``publishDir``, ``version``.
    """

    order = pyblish.api.IntegratorOrder
    families = ["hdr"]
    label = "Integrate publish"

    def process(self, instance):
        shot = instance.data["shot"]
        root = Path(instance.context.data["publishRoot"]) / shot.name
        root.mkdir(parents=True, exist_ok=True)
        versions = [
            int(m.group(1)) for p in root.iterdir() if (m := re.fullmatch(r"v(\d{3,})", p.name))
        ]
        version = max(versions, default=0) + 1
        staging = root / f".v{version:03d}.staging"
        staging.mkdir()
        frames = []
        for frame, path in instance.data["outputs"]:
            target = staging / os.path.basename(path)
            shutil.copy2(path, target)
            frames.append(
                {
                    "frame": frame,
                    "file": target.name,
                    "bytes": target.stat().st_size,
                    "sha256": file_hash(target).removeprefix("sha256:"),
                }
            )
        manifest = {
            "shot": shot.name,
            "version": version,
            "hdr_plugin": __version__,
            "model": instance.data["model"],
            "weights_hash": instance.data["weightsHash"],
            "knobs": shot.settings.to_dict(),
            "plate": shot.job.input,
            "frames": frames,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        final = root / f"v{version:03d}"
        staging.rename(final)
        instance.data.update(publishDir=str(final), version=version)
