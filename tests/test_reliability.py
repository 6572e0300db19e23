"""Reliability: racing renders, reproducible bytes, every channel count, huge values,
failures in the middle of a pipelined shot."""

import subprocess
import sys

import numpy as np
import pytest

from hdr_plugin import render as render_module
from hdr_plugin.cli import main
from hdr_plugin.color import conversion_threads
from hdr_plugin.errors import ModelError, OutputError
from hdr_plugin.io import read_image
from hdr_plugin.node import ReconstructNode, ReconstructSettings
from hdr_plugin.render import RenderJob, render
from tests.conftest import SAMPLE_PLATES, read_exr, write_image


def test_two_renders_racing_for_the_same_output_leave_whole_files(tmp_path):
    out = tmp_path / "race" / "pan.####.exr"
    plates = str(SAMPLE_PLATES / "pan.####.png")
    command = [sys.executable, "-m", "hdr_plugin", "render", plates,
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
    if ext == "exr" and channels == 2:  # an EXR names its channels: R and G, not grey + alpha
        assert main(["render", str(plate), "-o", str(tmp_path / "o.exr"), "-m", "linear"]) == 1
        return
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


def test_disk_filling_mid_shot_stops_there_with_earlier_frames_whole(
    tmp_path, plate_sequence, monkeypatch
):
    write = render_module.write_exr

    def fills_at_1003(path, *args, **kwargs):
        if "1003" in str(path):
            raise OutputError(f"{path}: write failed (disk full?): No space left on device")
        return write(path, *args, **kwargs)

    monkeypatch.setattr(render_module, "write_exr", fills_at_1003)
    with pytest.raises(OutputError, match="hdr.1003.exr.*No space left"):
        render(
            RenderJob(str(plate_sequence), str(tmp_path / "out" / "hdr.####.exr")),
            ReconstructNode(ReconstructSettings(model="linear")),
            progress=False,
        )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hdr.1001.exr", "hdr.1002.exr"]
    for name in ("hdr.1001.exr", "hdr.1002.exr"):
        assert read_exr(tmp_path / "out" / name)[0].shape == (32, 48, 3)


def test_model_failing_mid_shot_still_finishes_and_reports_the_frame_being_written(
    tmp_path, plate_sequence, monkeypatch
):
    node = ReconstructNode(ReconstructSettings(model="linear"))
    process = node.process_frame
    calls = []

    def fails_on_fourth(rgb, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise ModelError("out of memory")
        return process(rgb, *args, **kwargs)

    monkeypatch.setattr(node, "process_frame", fails_on_fourth)
    reported = []
    with pytest.raises(ModelError, match=r"shot\.1004\.png \(frame 1004\): out of memory"):
        render(
            RenderJob(str(plate_sequence), str(tmp_path / "out" / "hdr.####.exr")),
            node,
            progress=False,
            on_frame=lambda index, path: reported.append((index, path.name)),
        )
    written = [(0, "hdr.1001.exr"), (1, "hdr.1002.exr"), (2, "hdr.1003.exr")]
    assert reported == written
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [n for _, n in written]


@pytest.mark.parametrize("chosen", [None, "3"])
def test_a_render_computes_on_one_core_fewer_for_its_io_threads_unless_threads_were_chosen(
    tmp_path, plate_sequence, monkeypatch, chosen
):
    import torch

    if chosen is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", chosen)
    cores = conversion_threads()
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        during = []
        render(
            RenderJob(str(plate_sequence), str(tmp_path / "hdr.####.exr"), frames="1001-1002"),
            ReconstructNode(ReconstructSettings()),
            progress=False,
            on_frame=lambda i, path: during.append((torch.get_num_threads(), conversion_threads())),
        )
        expected = (3, max(1, cores - 1)) if chosen is None else (4, 3)
        assert during == [expected, expected]
        assert (torch.get_num_threads(), conversion_threads()) == (4, cores)
    finally:
        torch.set_num_threads(before)
