"""Reliability: racing renders, reproducible bytes, every channel count, huge values."""

import subprocess
import sys

import numpy as np
import pytest

from hdr_plugin.cli import main
from hdr_plugin.io import read_image
from tests.conftest import SAMPLE_PLATES, read_exr, write_image


def test_two_renders_racing_for_the_same_output_leave_whole_files(tmp_path):
    out = tmp_path / "race" / "pan.####.exr"
    plates = str(SAMPLE_PLATES / "pan.####.png")
    command = [sys.executable, "-m", "hdr_plugin.cli", "render", plates,
               "-o", str(out), "--no-progress", "-m", "inverse-hable"]  # fmt: skip
    procs = [subprocess.Popen(command, stderr=subprocess.PIPE) for _ in range(2)]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read()
    finals = sorted(p for p in out.parent.iterdir() if not p.name.startswith("."))
    assert len(finals) == 24
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporaries
    for path in finals:
        assert read_exr(path)[0].shape == (270, 480, 3)


def test_two_cpu_runs_write_identical_bytes(capsys, tmp_path):
    for run in ("a", "b"):
        args = [
            "render",
            str(SAMPLE_PLATES / "pan.####.png"),
            "-o",
            str(tmp_path / run / "p.####.exr"),
        ]
        assert main([*args, "--frames", "1001-1003", "--no-progress"]) == 0
    for frame in (1001, 1002, 1003):
        a = (tmp_path / "a" / f"p.{frame}.exr").read_bytes()
        assert a == (tmp_path / "b" / f"p.{frame}.exr").read_bytes()


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("ext", ["png", "tif", "exr"])
def test_every_channel_count_renders(capsys, tmp_path, ext, channels):
    pixels = np.full((6, 8, channels), 0.5, np.float32)
    if channels in (2, 4):
        pixels[..., -1] = 1.0  # opaque alpha
    plate = write_image(tmp_path / f"p.{ext}", pixels, "half" if ext == "exr" else "uint16")
    assert main(["render", str(plate), "-o", str(tmp_path / "o.exr"), "-m", "linear"]) == 0
    out, spec = read_exr(tmp_path / "o.exr")
    expected = ("R", "G", "B", "A") if channels in (2, 4) else ("R", "G", "B")
    assert spec.channelnames == expected
    assert np.isfinite(out).all() and out.shape[:2] == (6, 8)
    # untagged plates are read as sRGB code values, whatever the container
    np.testing.assert_allclose(out[..., :3], 0.214, atol=2e-3)


def test_float_plates_with_huge_and_negative_values_are_clamped_not_propagated(capsys, tmp_path):
    pixels = np.full((4, 4, 3), 0.5, np.float32)
    pixels[0, 0] = [1e6, -5.0, 3.0]
    pixels[1, 1] = [np.inf, -np.inf, np.nan]
    plate = write_image(tmp_path / "p.exr", pixels, "float", oiio__ColorSpace="srgb_rec709_scene")
    assert main(["render", str(plate), "-o", str(tmp_path / "o.exr")]) == 0
    out, _ = read_exr(tmp_path / "o.exr")
    assert np.isfinite(out).all() and out.min() >= 0
    assert read_image(plate).pixels[0, 0, 0] == 1e6  # the reader itself does not clamp
