"""The Blender add-on: its source mapping without Blender, then the add-on inside real Blender.

Blender runs as the ``bpy`` module (``pip install 'hdr-plugin[blender]'``, CPython 3.11) in
a process of its own (tests/blender_driver.py), with the add-on installed by
``hdr-plugin install-blender`` and enabled the way Blender enables add-ons.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hdr_plugin.cli import main as cli
from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ConfigError
from hdr_plugin.host_adapters.blender.install import install_blender
from hdr_plugin.host_adapters.blender.sources import output_pattern, plate_of, sequence_pattern
from hdr_plugin.io import read_image
from tests.conftest import REPO, SAMPLE_PLATES, read_exr

DRIVER = REPO / "tests" / "blender_driver.py"
MATTE = REPO / "samples" / "mattes" / "sun.png"


# -- Blender's sources as plates (no Blender) -----------------------------------------------


def test_a_blender_sequence_file_is_a_hash_pattern_with_its_frame():
    assert sequence_pattern("/p/pan.1001.png") == ("/p/pan.####.png", 1001)
    assert sequence_pattern("/p/shot_v2_0012.exr") == ("/p/shot_v2_####.exr", 12)
    with pytest.raises(ConfigError, match="frame number"):
        sequence_pattern("/p/still.png")


def test_an_image_node_s_frames_are_the_core_s_range():
    plate = plate_of("SEQUENCE", "/p/pan.1001.png", offset=1000, duration=24)
    assert (plate.pattern, plate.frames, plate.stem) == ("/p/pan.####.png", "1001-1024", "pan")
    assert output_pattern("/out", plate) == "/out/pan_hdr.####.exr"
    still = plate_of("FILE", "/p/pan.1012.png")
    assert (still.frames, output_pattern("/out", still)) == (None, "/out/pan.1012_hdr.exr")


@pytest.mark.parametrize("source", ["GENERATED", "VIEWER"])
def test_sources_the_core_cannot_read_are_refused_by_name(source):
    with pytest.raises(ConfigError, match=f"a {source.lower()} source is not supported"):
        plate_of(source, "/p/clip.mov")


# -- inside Blender -------------------------------------------------------------------------

HAS_BPY = importlib.util.find_spec("bpy") is not None
needs_blender = pytest.mark.skipif(
    not HAS_BPY,
    reason="Blender's bpy module is not installed (pip install 'hdr-plugin[blender]' on "
    "CPython 3.11)",
)


@pytest.fixture(scope="module")
def scripts(tmp_path_factory) -> Path:
    """The add-on installed (not yet enabled) into a scripts folder of its own."""
    folder = tmp_path_factory.mktemp("blender-scripts")
    installed = install_blender(folder)
    assert installed.package == folder / "addons" / "hdr_reconstruct"
    return folder


def run_in_blender(case: str, scripts: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "BLENDER_USER_SCRIPTS": str(scripts),
        "BLENDER_USER_CONFIG": str(out / "config"),
        "HDR_BLENDER_PLATES": str(SAMPLE_PLATES),
        "HDR_BLENDER_MATTE": str(MATTE),
        "PYTHONPATH": str(REPO),
    }
    run = subprocess.run(
        [sys.executable, str(DRIVER), case, str(out)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    result = out / "result.json"
    assert result.exists(), f"Blender (rc {run.returncode}):\n{(run.stdout + run.stderr)[-3000:]}"
    return json.loads(result.read_text())


@pytest.fixture(scope="module")
def cli_renders(tmp_path_factory) -> dict[str, Path]:
    """``hdr-plugin render`` of the same frames: plain, and with the sun matte at mix 0.8."""
    out = tmp_path_factory.mktemp("cli")
    plates = str(SAMPLE_PLATES / "pan.####.png")
    assert cli(["render", plates, "-o", str(out / "a.####.exr"), "--no-progress"]) == 0
    matte = ["--matte", str(MATTE), "--mix", "0.8", "-f", "1001,1012,1024"]
    assert cli(["render", plates, "-o", str(out / "m.####.exr"), "--no-progress", *matte]) == 0
    return {"plain": out / "a.{:04d}.exr", "matte": out / "m.{:04d}.exr"}


def _as_blender_linear(pattern, frame: int) -> np.ndarray:
    """Our render of ``frame`` in Blender's scene-linear (Linear Rec.709)."""
    rgb = read_exr(Path(str(pattern).format(frame)))[0][..., :3]
    return ColorContext.resolve().convert(rgb, "lin_rec2020_scene", "lin_rec709_scene")


def _assert_composites_match(result: dict, pattern, offset: int = 1000) -> None:
    for frame, path in result["composites"].items():
        composite = read_exr(Path(path))[0][..., :3]
        expected = _as_blender_linear(pattern, offset + int(frame))
        # Half-float EXRs; Blender's Rec.2020 matrix differs from OCIO's ACES configs' by
        # about 2e-4 (it is derived through its own CIE XYZ).
        np.testing.assert_allclose(composite, expected, rtol=2**-9, atol=3e-4)
    assert expected.max() > 1.5  # the comparison covers reconstructed highlights


@needs_blender
def test_reconstruct_in_the_compositor_equals_the_cli_and_keeps_the_graph(
    scripts, tmp_path, cli_renders
):
    result = run_in_blender("compositor", scripts, tmp_path)
    assert result["enabled"] == ["FINISHED"] and result["panels"]
    assert result["operator"] == ["FINISHED"]
    assert result["node"] == "plate HDR" and result["colorspace"] == "Linear Rec.2020"
    assert result["outputs"][:2] == ["Combined", "Alpha"] and "mask" in result["outputs"]
    assert result["frames"] == [1, 24, 1000]
    assert result["filepath"].startswith(str(tmp_path / "hdr"))  # next to the .blend
    assert len(list((tmp_path / "hdr").glob("pan_hdr.*.exr"))) == 24
    # The new node feeds what the plate fed; the plate is kept, unwired.
    assert result["links"] == [
        ["Blur", "Image", "Composite", "Image"],
        ["plate HDR", "Combined", "Blur", "Image"],
    ]
    _assert_composites_match(result, cli_renders["plain"])
    rendered = read_exr(tmp_path / "hdr" / "pan_hdr.1012.exr")[1]
    assert "mask.highlight" in rendered.channelnames


@needs_blender
def test_a_matte_from_another_image_node(scripts, tmp_path, cli_renders):
    result = run_in_blender("matte", scripts, tmp_path)
    assert result["operator"] == ["FINISHED"] and result["outputs"] == ["Image", "Alpha"]
    _assert_composites_match(result, cli_renders["matte"])


@needs_blender
def test_the_image_editor_makes_a_float_image_of_the_reconstruction(scripts, tmp_path):
    result = run_in_blender("image", scripts, tmp_path)
    assert result["operator"] == ["FINISHED"]
    assert result["float"] and result["colorspace"] == "Linear Rec.2020"
    made = np.load(tmp_path / "image.npy")
    out = tmp_path / "cli.exr"
    assert (
        cli(["render", str(SAMPLE_PLATES / "pan.1012.png"), "-o", str(out), "--no-progress"]) == 0
    )
    expected = read_exr(out)[0][..., :3]
    np.testing.assert_allclose(made[..., :3], expected, rtol=2**-10, atol=1e-4)
    np.testing.assert_array_equal(made[..., 3], 1.0)


@needs_blender
def test_cancel_stops_between_frames_and_creates_nothing(scripts, tmp_path):
    result = run_in_blender("cancel", scripts, tmp_path)
    assert result["error"].startswith("cancelled after") and result["node"] is None
    assert result["nodes"] == 3 and 0 < result["written"] < 24  # complete frames only


@needs_blender
def test_bad_input_is_one_report_and_creates_nothing(scripts, tmp_path):
    result = run_in_blender("bad", scripts, tmp_path)
    outcomes = result["outcomes"]
    for case, message in outcomes.items():
        assert message.startswith("Error: HDR Reconstruct: ") and "\n" not in message, case
    assert "select an Image node" in outcomes["not an image node"]
    assert "no_such_option" in outcomes["bad knob"]
    assert "a generated source is not supported" in outcomes["generated"]
    assert "open an image in the Image Editor" in outcomes["no image shown"]
    assert result["created"] == 0 and result["written"] == 0


@needs_blender
def test_install_blender_enables_the_add_on_with_a_given_blender(tmp_path, capsys):
    config = tmp_path / "config"
    os.environ["BLENDER_USER_CONFIG"] = str(config)
    try:
        assert (
            cli(["install-blender", "--scripts", str(tmp_path), "--blender", sys.executable]) == 0
        )
    finally:
        del os.environ["BLENDER_USER_CONFIG"]
    assert "enabled by" in capsys.readouterr().out
    assert (tmp_path / "addons" / "hdr_reconstruct" / "environment.json").is_file()
    # Blender saved its preferences with the add-on enabled (Blender as a module cannot read
    # them back: its read_userpref crashes), and the driver's cases enable the same package.
    assert (config / "userpref.blend").stat().st_size > 0


def test_install_blender_says_when_a_blender_cannot_enable_it(tmp_path, capsys):
    fake = tmp_path / "blender"
    fake.write_text("#!/bin/sh\necho 'Error: no such add-on' >&2\nexit 3\n")
    fake.chmod(0o755)
    assert cli(["install-blender", "--scripts", str(tmp_path), "--blender", str(fake)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "could not enable the add-on: Error: no such add-on" in error


@needs_blender
def test_a_movie_s_frames_are_pulled_by_ffmpeg_and_reconstructed(scripts, tmp_path):
    import shutil

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    result = run_in_blender("movie", scripts, tmp_path)
    assert result["source"] == "MOVIE" and result["operator"] == ["FINISHED"]
    assert result["frames"] == [1, 24, 0]
    pulled = tmp_path / "hdr" / ".pan_frames"
    assert len(list(pulled.glob("pan.*.png"))) == 24
    # The pulled frames are the movie's: the sample plates through H.264 at CRF 12.
    movie_frame = read_image(pulled / "pan.0012.png").rgb
    source = read_image(SAMPLE_PLATES / "pan.1012.png").rgb
    assert np.abs(movie_frame - source).mean() < 0.01
    out = tmp_path / "cli" / "pan.####.exr"
    assert cli(["render", str(pulled / "pan.####.png"), "-o", str(out), "-f", "1,12,24",
                "--no-progress"]) == 0  # fmt: skip
    _assert_composites_match(result, tmp_path / "cli" / "pan.{:04d}.exr", offset=0)
