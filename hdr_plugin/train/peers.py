"""Free inverse-tone-mapping filters, measured beside our models on the same plates.

The peer is ffmpeg's ``libplacebo`` filter with ``inverse_tonemapping=1``, run as a user
would: the plate tagged as what it was named (sRGB, or BT.709/BT.1886 for gamma 2.4
plates; a tone-mapped plate without a name is tagged sRGB), output Rec.2020 PQ in float.
On machines without a GPU it runs through Mesa's lavapipe (CPU Vulkan,
``-init_hw_device vulkan=vk:llvmpipe``). The PQ output is decoded to cd/m² (SMPTE ST 2084)
and divided by 203 cd/m² (ITU-R BT.2408 reference white), the unit of every other model's
output.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import torch

from hdr_plugin.color import BT1886_REC709, GAMMA22_REC709, SRGB_REC709
from hdr_plugin.errors import ConfigError
from hdr_plugin.models.engine.encodings import pq_decode

LIBPLACEBO = "libplacebo"
#: ffmpeg's transfer tag for a plate of each encoding (interop IDs; others: sRGB).
_TRANSFER = {BT1886_REC709: "bt709", GAMMA22_REC709: "gamma22"}
_VULKAN = ["-init_hw_device", "vulkan=vk:llvmpipe", "-filter_hw_device", "vk"]
_FILTER = (
    "setparams=color_primaries=bt709:color_trc={trc}:colorspace=bt709:range=pc,"
    "format=rgb48le,hwupload,"
    "libplacebo=inverse_tonemapping=1:colorspace=bt2020nc:color_primaries=bt2020:"
    "color_trc=smpte2084:range=pc:format=gbrpf32le,hwdownload,format=gbrpf32le"
)


@functools.cache
def libplacebo_missing() -> str | None:
    """Why the libplacebo peer cannot run here, or ``None`` when it can."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return "ffmpeg is not installed (apt-get install ffmpeg mesa-vulkan-drivers)"
    filters = subprocess.run(
        [ffmpeg, "-hide_banner", "-filters"], capture_output=True, text=True, check=False
    ).stdout
    if " libplacebo " not in filters:
        return "this ffmpeg has no libplacebo filter"
    try:
        libplacebo_inverse(np.full((16, 16, 3), 0.5, np.float32), SRGB_REC709)
    except ConfigError as exc:
        return str(exc)
    return None


def libplacebo_inverse(code: np.ndarray, plate_colorspace: str) -> np.ndarray:
    """Expand a plate with libplacebo's inverse tone mapping.

    Args:
        code: (H, W, 3) display code values in [0, 1] (8- or 10-bit levels are exact in
            the 16-bit PNG handed to ffmpeg).
        plate_colorspace: the plate's encoding, an interop ID (``srgb_rec709_scene``,
            ``g24_rec709_scene``, ...).

    Returns:
        (H, W, 3) float32 scene-linear Rec.2020, SDR reference white 1.0 (203 cd/m²).

    Raises:
        ConfigError: ffmpeg failed (its last line of output is in the message).
    """
    trc = _TRANSFER.get(plate_colorspace, "iec61966-2-1")
    with tempfile.TemporaryDirectory(prefix="hdr-peer-") as folder:
        source, target = Path(folder) / "plate.png", Path(folder) / "out.exr"
        pixels = np.round(np.clip(code, 0.0, 1.0) * 65535.0).astype(np.uint16)
        height, width = pixels.shape[:2]
        buf = oiio.ImageBuf(oiio.ImageSpec(width, height, 3, oiio.UINT16))
        buf.set_pixels(oiio.ROI(), pixels)
        if not buf.write(str(source)):
            raise ConfigError(f"libplacebo peer: cannot write {source}: {buf.geterror()}")
        command = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", *_VULKAN, "-i", str(source),
            "-vf", _FILTER.format(trc=trc), "-y", str(target),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not target.is_file():
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise ConfigError(f"libplacebo peer: ffmpeg failed: {last}")
        pq = oiio.ImageBuf(str(target)).get_pixels(oiio.FLOAT)[..., :3]
    return pq_decode(torch.from_numpy(np.ascontiguousarray(pq))).numpy().astype(np.float32)
