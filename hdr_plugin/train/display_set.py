"""Display plates as they are handed over: the set ``auto`` must leave on its default decode.

A display plate is a scene exposed so that 0.5-15 % of its pixels clip, sometimes with
sensor noise, encoded by a display curve (sRGB, pure gamma 2.2 / 2.4 / 2.6, or BT.1886 with
a display black level), quantised at its source's bit depth and stored the way plates
arrive: written to and read back from a real file (OIIO: 8-bit PNG, 16-bit PNG and TIFF
holding 10, 12 or 16-bit values, 10 and 12-bit DPX, half-float EXR, JPEG q60-95 4:2:0) or a
video frame (ffmpeg: H.264 and H.265 at 8 and 10 bits, ProRes 422 HQ). ``auto`` is
calibrated so that almost none of these moves off the default decode
(``scripts/calibrate_auto.py``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np
import OpenImageIO as oiio

from hdr_plugin.color import LINEAR_REC709, SRGB_REC709, WORKING_SPACE, ColorContext
from hdr_plugin.train.degrade import deliver, exposure_for_clipping, sensor_noise

#: Display curves: OCIO's sRGB, pure powers, and BT.1886 with a black level (``bt1886-black``).
CURVES = ("srgb", "gamma 2.2", "gamma 2.4", "gamma 2.6", "bt1886-black")
#: How a plate is stored: (name, the bit depths its values may have).
CONTAINERS = (
    ("png8", (8,)),
    ("png16", (10, 12, 16)),
    ("tiff16", (10, 12, 16)),
    ("dpx10", (10,)),
    ("dpx12", (12,)),
    ("exr-half", (8, 10, 12)),
    ("jpeg", (8,)),
    ("h264", (8, 10)),
    ("h265", (8, 10)),
    ("prores", (10,)),
)
#: Range of the fraction of pixels whose largest channel clips.
CLIP_RANGE = (0.005, 0.15)


@dataclass(frozen=True)
class DisplayPlate:
    """A display plate as read back from its container.

    Attributes:
        code: (H, W, 3) float32 code values in [0, 1].
        curve: one of :data:`CURVES`.
        container: one of the names of :data:`CONTAINERS`.
        bits: bit depth of the values before the container (10-bit values in a 16-bit TIFF
            are 10).
        clipped: fraction of pixels whose largest channel clipped.
    """

    code: np.ndarray
    curve: str
    container: str
    bits: int
    clipped: float


def encode(linear: np.ndarray, curve: str, color: ColorContext, black: float = 0.0) -> np.ndarray:
    """Display-linear Rec.709 in [0, 1] -> code values by a display ``curve`` of :data:`CURVES`.

    ``black`` is the display's black over its white (``bt1886-black`` only): BT.1886's
    EOTF with that black level, inverted so that linear 0 and 1 are codes 0 and 1.
    """
    if curve == "srgb":
        return color.convert(linear, LINEAR_REC709, SRGB_REC709)
    if curve.startswith("gamma "):
        return np.power(linear, 1.0 / float(curve.split()[1]))
    if curve == "bt1886-black":
        low = black ** (1.0 / 2.4)
        return (np.power(black + (1.0 - black) * linear, 1.0 / 2.4) - low) / (1.0 - low)
    raise ValueError(f"unknown display curve {curve!r}; curves: {', '.join(CURVES)}")


def store(code: np.ndarray, container: str, bits: int, rng: np.random.Generator) -> np.ndarray:
    """``code`` (quantised at ``bits``) written to ``container`` and read back, float32."""
    if container == "jpeg":
        return deliver(code, f"jpeg:{int(rng.integers(60, 96))}", 8)
    if container in ("h264", "h265"):
        return deliver(code, f"{container}:{int(rng.integers(12, 29))}", bits)
    if container == "prores":
        return deliver(code, "prores:3", 10)
    extension, pixel, depth = {
        "png8": ("png", "uint8", 0),
        "png16": ("png", "uint16", 0),
        "tiff16": ("tif", "uint16", 0),
        "dpx10": ("dpx", "uint16", 10),
        "dpx12": ("dpx", "uint16", 12),
        "exr-half": ("exr", "half", 0),
    }[container]
    height, width = code.shape[:2]
    spec = oiio.ImageSpec(width, height, 3, pixel)
    if depth:
        spec.attribute("oiio:BitsPerSample", depth)
    handle, path = tempfile.mkstemp(suffix=f".{extension}")
    os.close(handle)
    try:
        output = oiio.ImageOutput.create(path)
        if not output.open(path, spec) or not output.write_image(np.ascontiguousarray(code)):
            raise RuntimeError(f"{container}: {output.geterror()}")
        output.close()
        image = oiio.ImageInput.open(path)
        pixels = image.read_image(oiio.FLOAT)
        image.close()
    finally:
        os.unlink(path)
    return np.asarray(pixels, dtype=np.float32).reshape(height, width, 3)


def display_plate(hdr: np.ndarray, color: ColorContext, rng: np.random.Generator) -> DisplayPlate:
    """A random display plate of ``hdr`` ((H, W, 3) scene-linear Rec.2020, any scale)."""
    linear = np.maximum(color.convert(hdr, WORKING_SPACE, LINEAR_REC709), 0.0)
    fraction = float(rng.uniform(*CLIP_RANGE))
    linear = linear * np.float32(exposure_for_clipping(linear, fraction))
    if rng.random() < 0.5:
        linear = sensor_noise(linear, rng)
    curve = CURVES[int(rng.integers(len(CURVES)))]
    black = float(np.exp(rng.uniform(np.log(5e-4), np.log(1e-2))))
    code = encode(np.clip(linear, 0.0, 1.0).astype(np.float32), curve, color, black)
    container, depths = CONTAINERS[int(rng.integers(len(CONTAINERS)))]
    bits = int(depths[int(rng.integers(len(depths)))])
    levels = 2**bits - 1
    code = (np.round(np.clip(code, 0.0, 1.0) * levels) / levels).astype(np.float32)
    stored = np.clip(store(code, container, bits, rng), 0.0, 1.0)
    return DisplayPlate(stored, curve, container, bits, fraction)
