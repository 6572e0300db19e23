"""Copy the rendered frames into a versioned publish folder with a JSON manifest."""

import errno
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pyblish.api

from hdr_plugin import __version__
from hdr_plugin.errors import OutputError
from hdr_plugin.models import file_hash


class IntegratePublish(pyblish.api.InstancePlugin):
    """``<publishRoot>/<shot>/v###/``: the EXRs and ``manifest.json``.

    The manifest lists per frame the file, its size and SHA-256, and for the shot the
    model, weights hash, knobs, plate and hdr_plugin version. Versions never overwrite:
    each publish takes the next number, concurrent publishes included; the folder appears
    complete or not at all (it is staged in a hidden folder, then renamed).

    Reads ``instance.data``: ``outputs``, ``shot``, ``model``, ``weightsHash``;
    ``context.data``: ``publishRoot``. Writes ``instance.data``: ``publishDir``, ``version``.
    """

    order = pyblish.api.IntegratorOrder
    families = ["hdr"]
    label = "Integrate publish"

    def process(self, instance):
        shot = instance.data["shot"]
        root = Path(instance.context.data["publishRoot"]) / shot.name
        staging = None
        try:
            root.mkdir(parents=True, exist_ok=True)
            _remove_stale_staging(root)
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
            staging.chmod(0o777 & ~_umask())  # mkdtemp makes it 0700; a version follows umask
            frames = [_copy(path, staging, frame) for frame, path in instance.data["outputs"]]
            version = _claim_version(root, staging, _manifest(instance, shot, frames))
        except OSError as exc:
            # A failed publish (a full disk) takes its copies with it: they would only
            # fill the disk that the next publish needs.
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            raise OutputError(f"publish of {shot.name} into {root}: {exc.strerror or exc}") from exc
        final = root / f"v{version:03d}"
        instance.data.update(publishDir=str(final), version=version)


#: Staging folders are hidden, unique per publish, and never block a later publish.
STAGING_PREFIX = ".staging-"
#: A staging folder untouched this long belongs to a publish that was killed.
STALE_SECONDS = 24 * 3600


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _copy(path: str, staging: Path, frame: int | None) -> dict:
    target = staging / os.path.basename(path)
    shutil.copy2(path, target)
    return {
        "frame": frame,
        "file": target.name,
        "bytes": target.stat().st_size,
        "sha256": file_hash(target).removeprefix("sha256:"),
    }


def _manifest(instance, shot, frames: list[dict]) -> dict:
    return {
        "shot": shot.name,
        "hdr_plugin": __version__,
        "model": instance.data["model"],
        "weights_hash": instance.data["weightsHash"],
        "knobs": shot.settings.to_dict(),
        "plate": shot.job.input,
        "frames": frames,
    }


def _versions(root: Path) -> list[int]:
    return [int(m.group(1)) for p in root.iterdir() if (m := re.fullmatch(r"v(\d{3,})", p.name))]


def _claim_version(root: Path, staging: Path, manifest: dict) -> int:
    """Rename ``staging`` to the next free ``v###``; a concurrent publish takes the next one.

    The rename is atomic and fails when the version exists (``v###`` folders are never
    empty), so two publishes of one shot can never share or overwrite a version.
    """
    while True:
        version = max(_versions(root), default=0) + 1
        (staging / "manifest.json").write_text(
            json.dumps({**manifest, "version": version}, indent=2) + "\n"
        )
        try:
            staging.rename(root / f"v{version:03d}")
            return version
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise


def _remove_stale_staging(root: Path) -> None:
    """Delete staging folders that a killed publish left behind.

    A concurrent publish may rename its own staging folder to its version between the
    listing and the look at its age: a folder that is gone is not stale.
    """
    now = time.time()
    for path in root.glob(f"{STAGING_PREFIX}*"):
        try:
            stale = now - path.stat().st_mtime > STALE_SECONDS
        except FileNotFoundError:
            continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)
