"""Reading every plate format, writing EXR attributes, and atomic writes."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import hdr_plugin.io as hio
from hdr_plugin.errors import OutputError, PlateError
from hdr_plugin.io import read_image, write_exr
from tests.conftest import gradient_plate, read_exr, write_image


@pytest.mark.parametrize(
    ("ext", "fmt", "tolerance"),
    [
        ("png", "uint8", 1 / 255),
        ("png", "uint16", 1 / 65535),
        ("jpg", "uint8", None),
        ("tif", "uint8", 1 / 255),
        ("tif", "uint16", 1 / 65535),
        ("dpx", "uint10", 1 / 1023),
        ("exr", "half", 1e-3),
        ("exr", "float", 1e-7),
    ],
)
def test_reads_common_plate_formats(tmp_path, ext, fmt, tolerance):
    pixels = gradient_plate(16, 24)
    path = tmp_path / f"plate.{ext}"
    if fmt == "uint10":
        write_image(path, pixels, "uint16", oiio__BitsPerSample=10)
    else:
        write_image(path, pixels, fmt)
    image = read_image(path)
    assert image.pixels.dtype == np.float32
    assert image.rgb.shape == (16, 24, 3)
    if tolerance is None:  # lossy: compare on average
        assert np.abs(image.rgb - pixels).mean() < 0.02
    else:
        np.testing.assert_allclose(image.rgb, pixels, atol=tolerance * 1.01)


def test_alpha_is_carried(tmp_path):
    rgba = np.concatenate([gradient_plate(8, 8), np.full((8, 8, 1), 0.25, np.float32)], axis=-1)
    image = read_image(write_image(tmp_path / "a.png", rgba, "uint16"))
    assert image.alpha is not None
    np.testing.assert_allclose(image.alpha, 0.25, atol=1e-4)
    assert image.rgb.shape == (8, 8, 3)


@pytest.mark.parametrize("channels", [1, 2])
def test_grey_images_become_rgb(tmp_path, channels):
    pixels = np.full((4, 4, channels), 0.5, np.float32)
    image = read_image(write_image(tmp_path / "g.tif", pixels, "uint16"))
    assert image.rgb.shape == (4, 4, 3)
    np.testing.assert_allclose(image.rgb, 0.5, atol=1e-4)


def test_colorspace_tag_is_reported(tmp_path):
    image = read_image(write_image(tmp_path / "p.png", gradient_plate(4, 4)))
    assert image.colorspace == "srgb_rec709_scene"


def test_missing_file(tmp_path):
    with pytest.raises(PlateError, match=r"nope.png \(frame 7\): file not found"):
        read_image(tmp_path / "nope.png", frame=7)


def test_zero_byte_file(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(PlateError, match=r"empty.png: file is empty \(0 bytes\)"):
        read_image(empty)


@pytest.mark.parametrize("ext", ["png", "exr", "tif"])
def test_truncated_file(tmp_path, ext):
    path = write_image(
        tmp_path / f"t.{ext}", gradient_plate(64, 64), "half" if ext == "exr" else "uint8"
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PlateError, match=f"t.{ext}"):
        read_image(path)


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a PNG")
    with pytest.raises(PlateError, match="notes.png: cannot read"):
        read_image(path)


def test_exr_is_half_zip_with_attributes(tmp_path):
    pixels = np.full((4, 6, 3), 2.5, np.float32)
    chroma = (0.708, 0.292, 0.170, 0.797, 0.131, 0.046, 0.3127, 0.3290)
    path = write_exr(
        tmp_path / "out.exr",
        pixels,
        ["R", "G", "B"],
        {"chromaticities": chroma, "hdr_plugin:model": "x"},
    )
    out, spec = read_exr(path)
    assert str(spec.format) == "half"
    assert spec.getattribute("compression") == "zip"
    assert spec.getattribute("chromaticities") == pytest.approx(chroma)
    assert spec.getattribute("hdr_plugin:model") == "x"
    np.testing.assert_allclose(out, 2.5)


@pytest.mark.parametrize("compression", ["piz", "dwaa"])
def test_exr_float_and_other_compressions(tmp_path, compression):
    path = write_exr(
        tmp_path / "f.exr",
        np.ones((4, 4, 3), np.float32),
        "RGB",
        pixel_type="float",
        compression=compression,
    )
    _, spec = read_exr(path)
    assert str(spec.format) == "float"
    assert spec.getattribute("compression").startswith(compression)


def test_unwritable_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):  # running as root: permissions are not enforced
        locked.chmod(0o700)
        (tmp_path / "file").write_text("")
        target = tmp_path / "file" / "out.exr"  # a folder that is a file
    else:
        target = locked / "out.exr"
    with pytest.raises(OutputError, match="out.exr"):
        write_exr(target, np.ones((2, 2, 3), np.float32), "RGB")
    assert not target.exists()


class FailingOutput:
    """Stands in for OIIO's ImageOutput on a disk that fills up mid-write."""

    @classmethod
    def create(cls, filename):
        return cls()

    def open(self, filename, spec):
        self.filename = filename
        with open(filename, "wb") as handle:
            handle.write(b"partial")
        return True

    def write_image(self, pixels):
        return False

    def close(self):
        return True

    def geterror(self):
        return "No space left on device"


def test_failed_write_leaves_previous_file_and_no_temporary(tmp_path, monkeypatch):
    final = write_exr(tmp_path / "shot.exr", np.ones((2, 2, 3), np.float32), "RGB")
    before = final.read_bytes()
    monkeypatch.setattr(hio.oiio, "ImageOutput", FailingOutput)
    with pytest.raises(OutputError, match="disk full.*No space left"):
        write_exr(final, np.zeros((2, 2, 3), np.float32), "RGB")
    assert final.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.exr"]


def test_process_killed_during_writes_never_leaves_a_partial_exr(tmp_path):
    target = tmp_path / "big.exr"
    script = textwrap.dedent(
        f"""
        import numpy as np
        from hdr_plugin.io import write_exr
        pixels = np.random.default_rng(0).random((1500, 1500, 3), dtype=np.float32)
        print("ready", flush=True)
        while True:
            write_exr({str(target)!r}, pixels, "RGB", pixel_type="float", compression="none")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    deadline = time.time() + 20
    while not target.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.37)  # land somewhere inside a later write
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    pixels, _ = read_exr(target)
    assert pixels.shape == (1500, 1500, 3)
    assert np.isfinite(pixels).all()
