"""The hdr-plugin command line: renders, listings, and one-line errors for bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest

from hdr_plugin.cli import main
from hdr_plugin.models import BUNDLED_WEIGHTS, DEFAULT_MODEL
from hdr_plugin.models.engine.weights import file_hash
from tests.conftest import SAMPLE_PLATES, read_exr, write_image


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def exr_files(folder):
    return sorted(p.name for p in folder.rglob("*.exr")) if folder.exists() else []


def test_render_sequence_writes_half_rec2020_exrs_with_provenance(capsys, tmp_path, plate_sequence):
    out = tmp_path / "out" / "hdr.####.exr"
    code, stdout, _ = run(capsys, "render", str(plate_sequence), "-o", str(out), "--no-progress")
    assert code == 0
    assert "wrote" in stdout and "5 frames" in stdout
    assert exr_files(out.parent) == [f"hdr.{f}.exr" for f in range(1001, 1006)]
    pixels, spec = read_exr(tmp_path / "out" / "hdr.1003.exr")
    assert str(spec.format) == "half"
    assert spec.channelnames == ("R", "G", "B")
    assert spec.getattribute("chromaticities") == pytest.approx(
        (0.708, 0.292, 0.170, 0.797, 0.131, 0.046, 0.3127, 0.3290)
    )
    assert spec.getattribute("hdr_plugin:model") == DEFAULT_MODEL == "highlight-unet"
    assert spec.getattribute("hdr_plugin:inputColorspace") == "sRGB Encoded Rec.709 (sRGB)"
    assert spec.getattribute("hdr_plugin:inputFile") == "shot.1003.png"
    assert spec.getattribute("hdr_plugin:frame") == 1003
    weights = BUNDLED_WEIGHTS / "highlight-unet.safetensors"
    assert spec.getattribute("hdr_plugin:weightsHash") == file_hash(weights)
    assert spec.getattribute("hdr_plugin:version")
    assert spec.getattribute("hdr_plugin:ocioConfig").endswith("config.ocio")
    assert pixels.max() > 1.1  # the clipped blob was expanded above the SDR peak (1.0)


def test_render_frame_range_model_options_and_masks(capsys, tmp_path, plate_sequence):
    out = tmp_path / "hdr.%04d.exr"
    code, _, err = run(
        capsys, "render", str(plate_sequence), "-o", str(out), "--frames", "1002-1004x2",
        "-m", "inverse-reinhard", "-O", "peak_nits=2030", "--write-masks", "--pixel-type", "float",
        "--compression", "piz", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert exr_files(tmp_path) == ["hdr.1002.exr", "hdr.1004.exr"]
    pixels, spec = read_exr(tmp_path / "hdr.1002.exr")
    assert spec.channelnames == ("R", "G", "B", "mask.highlight")
    assert str(spec.format) == "float"
    assert pixels[..., :3].max() == pytest.approx(10.0, rel=1e-3)
    assert pixels[..., 3].max() == 1.0
    assert '"peak_nits": 2030.0' in spec.getattribute("hdr_plugin:modelOptions")


def test_render_with_matte_file_and_mix(capsys, tmp_path):
    plate = write_image(tmp_path / "white.png", np.ones((8, 8, 3), np.float32))
    matte = np.zeros((8, 8, 1), np.float32)
    matte[:, 4:] = 1.0
    matte_path = write_image(tmp_path / "matte.tif", matte, "uint8")
    code, _, err = run(
        capsys, "render", str(plate), "-o", str(tmp_path / "o.exr"), "--matte", str(matte_path),
        "--mix", "0.5", "-m", "inverse-reinhard",
    )  # fmt: skip
    assert code == 0, err
    pixels, _ = read_exr(tmp_path / "o.exr")
    np.testing.assert_allclose(pixels[:, :4], 1.0, rtol=1e-3)
    expected = 1.0 + 0.5 * (1000 / 203 - 1.0)
    np.testing.assert_allclose(pixels[:, 4:], expected, rtol=2e-3)


def test_alpha_is_written_back(capsys, tmp_path):
    rgba = np.concatenate([np.full((4, 4, 3), 0.5), np.full((4, 4, 1), 0.75)], axis=-1)
    plate = write_image(tmp_path / "rgba.png", rgba.astype(np.float32), "uint16")
    assert run(capsys, "render", str(plate), "-o", str(tmp_path / "o.exr"))[0] == 0
    pixels, spec = read_exr(tmp_path / "o.exr")
    assert spec.channelnames == ("R", "G", "B", "A")
    np.testing.assert_allclose(pixels[..., 3], 0.75, atol=1e-3)


def test_models_and_colorspaces_listings(capsys):
    code, stdout, _ = run(capsys, "models")
    assert code == 0
    listed = {line.split()[0]: line for line in stdout.splitlines() if line[:1].isalpha()}
    assert listed[DEFAULT_MODEL].endswith("(default)") and "highlight-unet" == DEFAULT_MODEL
    assert "-O peak_nits=1000.0" in stdout
    code, stdout, _ = run(capsys, "colorspaces")
    assert code == 0
    assert "Linear Rec.2020" in stdout and "bt1886" in stdout


def assert_one_line_error(code, err, *fragments):
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hdr-plugin: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_missing_frames_fail_before_writing_anything(capsys, tmp_path, plate_sequence):
    (plate_sequence.parent / "shot.1004.png").unlink()
    out = tmp_path / "out" / "hdr.####.exr"
    code, _, err = run(capsys, "render", str(plate_sequence), "-o", str(out))
    assert_one_line_error(code, err, "missing frame(s): 1004", "shot.1004.png")
    assert exr_files(tmp_path / "out") == []


def test_corrupt_frame_names_file_and_frame_and_leaves_no_partial_exr(
    capsys, tmp_path, plate_sequence
):
    frame = plate_sequence.parent / "shot.1003.png"
    frame.write_bytes(frame.read_bytes()[:200])  # the header reads, the pixels do not
    out = tmp_path / "out" / "hdr.####.exr"
    code, _, err = run(capsys, "render", str(plate_sequence), "-o", str(out), "--no-progress")
    assert_one_line_error(code, err, "shot.1003.png", "frame 1003")
    assert exr_files(tmp_path / "out") == ["hdr.1001.exr", "hdr.1002.exr"]
    for name in exr_files(tmp_path / "out"):
        assert read_exr(tmp_path / "out" / name)[0].shape == (32, 48, 3)


def test_zero_byte_input(capsys, tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    code, _, err = run(capsys, "render", str(empty), "-o", str(tmp_path / "o.exr"))
    assert_one_line_error(code, err, "empty.png", "0 bytes")
    assert not (tmp_path / "o.exr").exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--input-colorspace", "sRGBB"], ["unknown input colorspace 'sRGBB'", "valid names:"]),
        (["--output-colorspace", "nope"], ["unknown output colorspace 'nope'"]),
        (["-m", "magic"], ["unknown model 'magic'", "inverse-mobius"]),
        (["--mix", "2"], ["mix=2.0 is outside"]),
        (["-O", "peak_nits"], ["NAME=VALUE"]),
        (["--frames", "1001-abc"], ["frame range '1001-abc'"]),
    ],
)
def test_bad_knobs_give_one_line_and_no_output(capsys, tmp_path, plate_sequence, args, fragments):
    out = tmp_path / "out" / "hdr.####.exr"
    code, _, err = run(capsys, "render", str(plate_sequence), "-o", str(out), *args)
    assert_one_line_error(code, err, *fragments)
    assert exr_files(tmp_path / "out") == []


def test_unwritable_output(capsys, tmp_path, plate_sequence):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    code, _, err = run(capsys, "render", str(plate_sequence), "-o", str(blocker / "hdr.####.exr"))
    assert_one_line_error(code, err, "blocker")


def test_sequence_to_single_file_is_refused(capsys, tmp_path, plate_sequence):
    code, _, err = run(capsys, "render", str(plate_sequence), "-o", str(tmp_path / "one.exr"))
    assert_one_line_error(code, err, "no frame padding", "one.####.exr")


def test_file_colorspace_tag_is_honoured_and_the_flag_overrides_it(capsys, tmp_path):
    # A linear EXR plate tagged lin_rec709_scene: 0.5 stays 0.5 (grey keeps its value in
    # Rec.2020); read as sRGB code values it would decode to 0.214.
    plate = write_image(tmp_path / "lin.exr", np.full((4, 4, 3), 0.5, np.float32), "half",
                        oiio__ColorSpace="lin_rec709_scene")  # fmt: skip
    code, _, err = run(capsys, "render", str(plate), "-o", str(tmp_path / "a.exr"), "-m", "linear")
    assert code == 0, err
    pixels, spec = read_exr(tmp_path / "a.exr")
    assert spec.getattribute("hdr_plugin:inputColorspace") == "Linear Rec.709 (sRGB)"
    np.testing.assert_allclose(pixels, 0.5, atol=1e-3)
    run(capsys, "render", str(plate), "-o", str(tmp_path / "b.exr"), "-m", "linear",
        "--input-colorspace", "srgb")  # fmt: skip
    np.testing.assert_allclose(read_exr(tmp_path / "b.exr")[0], 0.214, atol=1e-3)


def test_installed_entry_point_renders_the_bundled_sample(tmp_path):
    out = tmp_path / "sample.####.exr"
    result = subprocess.run(
        [sys.executable, "-m", "hdr_plugin", "render", str(SAMPLE_PLATES / "pan.####.png"),
         "-o", str(out), "--frames", "1001-1003"],
        capture_output=True, text=True, check=False, env={**os.environ, "OCIO": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert exr_files(tmp_path) == ["sample.1001.exr", "sample.1002.exr", "sample.1003.exr"]


def test_the_entry_point_loads_neither_numpy_nor_torch_before_setting_thread_policies():
    # Both read their thread settings once, when loaded: the entry point sets them first.
    code = "import sys, hdr_plugin.__main__; print({'numpy', 'torch'} & set(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "set()", result.stderr


def test_a_host_calling_main_in_its_own_process_keeps_its_environment(capsys, monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT", raising=False)
    before = dict(os.environ)
    assert main(["models"]) == 0
    assert dict(os.environ) == before


def test_bad_input_via_entry_point_exits_non_zero(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "hdr_plugin", "render", str(tmp_path / "x.png"), "-o", "o.exr"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == f"hdr-plugin: error: {tmp_path / 'x.png'}: file not found"


def test_matte_sequence_is_matched_frame_by_frame(capsys, tmp_path, plate_sequence):
    mattes = tmp_path / "mattes"
    mattes.mkdir()
    for frame in range(1001, 1006):
        value = 1.0 if frame == 1003 else 0.0
        write_image(mattes / f"roto.{frame}.png", np.full((32, 48, 1), value, np.float32))
    out = tmp_path / "out" / "hdr.####.exr"
    code, _, err = run(
        capsys, "render", str(plate_sequence), "-o", str(out), "--matte",
        str(mattes / "roto.####.png"), "--write-masks", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    with_matte, spec = read_exr(tmp_path / "out" / "hdr.1003.exr")
    without, _ = read_exr(tmp_path / "out" / "hdr.1002.exr")
    assert spec.channelnames == ("R", "G", "B", "mask.highlight", "mask.matte")
    assert with_matte[..., 4].min() == 1.0 and without[..., 4].max() == 0.0
    assert with_matte[..., :3].max() > 1.1 and without[..., :3].max() <= 1.0 + 1e-3


def test_missing_matte_frame_is_named(capsys, tmp_path, plate_sequence):
    mattes = tmp_path / "mattes"
    mattes.mkdir()
    write_image(mattes / "roto.1001.png", np.ones((32, 48, 1), np.float32))
    code, _, err = run(
        capsys, "render", str(plate_sequence), "-o", str(tmp_path / "o.####.exr"),
        "--matte", str(mattes / "roto.####.png"),
    )  # fmt: skip
    assert_one_line_error(code, err, "roto.####.png", "missing frame(s): 1002")
