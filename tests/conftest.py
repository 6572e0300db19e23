"""Shared fixtures: small real images written by the tests themselves."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from hdr_plugin.color import ColorContext
from hdr_plugin.ocio_configs import BUNDLED_CONFIG

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PLATES = REPO / "samples" / "plates"


@pytest.fixture(autouse=True)
def _no_ambient_ocio(monkeypatch):
    """Tests see the bundled config unless they set $OCIO themselves."""
    monkeypatch.delenv("OCIO", raising=False)


@pytest.fixture(scope="session")
def color() -> ColorContext:
    return ColorContext(str(BUNDLED_CONFIG))


def gradient_plate(height: int = 32, width: int = 48, seed: int = 0) -> np.ndarray:
    """(H, W, 3) display-encoded values in [0, 1] with a clipped highlight blob."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width, y / height, 0.5 * (x + y) / (width + height)], axis=-1)
    base = 0.1 + 0.7 * base + 0.02 * rng.standard_normal(base.shape).astype(np.float32)
    blob = np.exp(-((x - width * 0.7) ** 2 + (y - height * 0.3) ** 2) / (2 * (height / 6) ** 2))
    return np.clip(base + 1.5 * blob[..., None], 0.0, 1.0).astype(np.float32)


def write_image(path: Path, pixels: np.ndarray, fmt: str = "uint8", **attributes) -> Path:
    """Write ``pixels`` ((H, W, C) floats in [0, 1]) with OIIO in the file's format."""
    height, width, channels = pixels.shape
    spec = oiio.ImageSpec(width, height, channels, fmt)
    if channels == 4:
        spec.channelnames = ("R", "G", "B", "A")
        spec.alpha_channel = 3
    for name, value in attributes.items():
        spec.attribute(name.replace("__", ":"), value)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None, oiio.geterror()
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32)), out.geterror()
    out.close()
    return path


def read_exr(path: Path) -> tuple[np.ndarray, oiio.ImageSpec]:
    image = oiio.ImageInput.open(str(path))
    assert image is not None, oiio.geterror()
    spec = image.spec()
    pixels = image.read_image(oiio.FLOAT)
    image.close()
    return np.asarray(pixels), spec


@pytest.fixture
def plate_sequence(tmp_path) -> Path:
    """Five 8-bit PNG frames 1001-1005 in tmp_path/plates; returns the #### pattern."""
    folder = tmp_path / "plates"
    folder.mkdir()
    for i, frame in enumerate(range(1001, 1006)):
        write_image(folder / f"shot.{frame:04d}.png", gradient_plate(seed=i))
    return folder / "shot.####.png"
