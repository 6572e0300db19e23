"""What a new or careless user does, and what they must get: no data loss, one-line errors.

Each test here failed before the behaviour it names was built.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import OpenImageIO as oiio
import pytest

from hdr_plugin.cli import main
from hdr_plugin.io import read_image
from hdr_plugin.models import file_hash
from tests.conftest import gradient_plate, read_exr, write_image


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(code, err, *fragments):
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.startswith("hdr-plugin: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- outputs that would destroy inputs -------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "sequence", "symlink"])
def test_output_that_is_the_input_is_refused(capsys, tmp_path, kind):
    plates = tmp_path / "plates"
    plates.mkdir()
    for frame in (1001, 1002):
        write_image(plates / f"p.{frame}.exr", gradient_plate(seed=frame), "half")
    if kind == "file":
        plate = output = plates / "p.1001.exr"
    elif kind == "sequence":
        plate = output = plates / "p.####.exr"
    else:
        (tmp_path / "link").symlink_to(plates)
        plate, output = plates / "p.####.exr", tmp_path / "link" / "p.####.exr"
    before = file_hash(plates / "p.1001.exr")
    code, _, err = run(capsys, "render", plate, "-o", output, "-m", "linear", "--no-progress")
    one_line_error(code, err, "is the input", "p.1001.exr")
    assert file_hash(plates / "p.1001.exr") == before


@pytest.mark.parametrize("output", ["", "out.png"])
def test_output_must_be_an_exr_name(capsys, tmp_path, output):
    plate = write_image(tmp_path / "p.png", gradient_plate())
    code, _, err = run(capsys, "render", plate, "-o", output, "--no-progress")
    one_line_error(code, err, "output")


# --- resume trusts content, not names --------------------------------------------------


def shots(tmp_path, plate_pattern):
    config = tmp_path / "shots.toml"
    config.write_text(
        f"[[shot]]\nname = 'sh010'\nplate = '{plate_pattern}'\nmodel = 'linear'\n"
        "output = 'renders/{shot}.####.exr'\n"
    )
    return config


def test_resume_re_renders_a_truncated_exr(capsys, tmp_path, plate_sequence):
    config = shots(tmp_path, plate_sequence)
    assert run(capsys, "batch", config, "--no-progress")[0] == 0
    target = tmp_path / "renders" / "sh010.1003.exr"
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])  # a killed write
    assert run(capsys, "batch", config, "--no-progress")[0] == 0
    assert read_image(target).pixels.shape == (32, 48, 3)  # whole again


def test_resume_re_renders_when_the_plate_pixels_change(capsys, tmp_path, plate_sequence):
    config = shots(tmp_path, plate_sequence)
    assert run(capsys, "batch", config, "--no-progress")[0] == 0
    target = tmp_path / "renders" / "sh010.1002.exr"
    old = read_exr(target)[0]
    plate = plate_sequence.parent / "shot.1002.png"
    stat = plate.stat()
    write_image(plate, np.clip(gradient_plate(seed=99) * 0.5, 0, 1))  # new pixels, same name
    os.utime(plate, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same date
    assert run(capsys, "batch", config, "--no-progress")[0] == 0
    new, spec = read_exr(target)
    assert not np.allclose(old, new)
    assert spec.getattribute("hdr_plugin:inputHash") == file_hash(plate)


# --- publishing ------------------------------------------------------------------------


def test_a_killed_publish_does_not_block_the_next(capsys, tmp_path, plate_sequence):
    config = shots(tmp_path, plate_sequence)
    root = tmp_path / "publish"
    (root / "sh010" / ".v001.staging").mkdir(parents=True)  # left by a killed publish
    stale = root / "sh010" / ".staging-old"
    stale.mkdir()
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    code, _, err = run(capsys, "publish", config, "--publish-root", root)
    assert code == 0, err
    assert (root / "sh010" / "v001" / "manifest.json").is_file()
    assert not stale.exists()


def test_concurrent_publishes_take_distinct_versions(tmp_path, plate_sequence):
    from hdr_plugin.publish import publish

    config = shots(tmp_path, plate_sequence)
    main(["batch", str(config), "--no-progress"])  # render once: both publishes resume
    errors = []

    def one():
        try:
            publish(config, tmp_path / "publish")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    versions = sorted(p.name for p in (tmp_path / "publish" / "sh010").iterdir())
    assert versions == ["v001", "v002", "v003"]
    for version in versions:
        manifest = tmp_path / "publish" / "sh010" / version / "manifest.json"
        assert json.loads(manifest.read_text())["version"] == int(version[1:])


@pytest.mark.parametrize("name", ["..", ".", "sh010\n", "a/b", ".hidden"])
def test_shot_names_cannot_escape_the_render_and_publish_roots(name):
    from hdr_plugin.errors import ConfigError
    from hdr_plugin.shots import parse_shots

    text = f"[[shot]]\nname = {json.dumps(name)}\nplate = 'p.png'\noutput = 'o/{{shot}}.exr'\n"
    with pytest.raises(ConfigError, match="key 'name' must be a shot name"):
        parse_shots(text, "shots.toml")


# --- plates with alpha -----------------------------------------------------------------


def test_rgba_plates_with_partial_alpha_keep_their_highlights(capsys, tmp_path):
    straight = np.ones((32, 32, 4), np.float32)  # white, clipped ...
    straight[..., 3] = 0.5  # ... at half coverage
    plate = write_image(tmp_path / "p.png", straight)  # PNG alpha is straight
    out = tmp_path / "o.exr"
    code, _, err = run(capsys, "render", plate, "-o", out, "--no-progress")
    assert code == 0, err
    pixels, spec = read_exr(out)
    assert spec.channelnames == ("R", "G", "B", "A")
    colour = pixels[..., :3] / pixels[..., 3:]  # EXR colour is premultiplied
    assert colour.min() > 1.0  # a clipped white is expanded, not linearised as code 0.5


# --- fail fast on absurd input ---------------------------------------------------------


def test_plates_above_the_pixel_cap_fail_before_reading(capsys, tmp_path):
    plate = write_image(tmp_path / "big.exr", gradient_plate(64, 64), "half")
    code, _, err = run(capsys, "--max-pixels", 1000, "render", plate, "-o", tmp_path / "o.exr")
    one_line_error(code, err, "big.exr", "limit", "--max-pixels")
    assert run(capsys, "--max-pixels", 5000, "render", plate, "-o", tmp_path / "o.exr")[0] == 0


# --- tracebacks that became one line ---------------------------------------------------


def test_cuda_asked_for_without_cuda(capsys, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    plate = write_image(tmp_path / "p.png", gradient_plate())
    code, _, err = run(capsys, "render", plate, "-o", tmp_path / "o.exr", "-O", "device=cuda")
    one_line_error(code, err, "device=cuda", "no CUDA")


def test_missing_ocio_config_from_flag_and_environment(capsys, tmp_path, monkeypatch):
    plate = write_image(tmp_path / "p.png", gradient_plate())
    code, _, err = run(capsys, "--ocio", "/nope.ocio", "render", plate, "-o", tmp_path / "o.exr")
    one_line_error(code, err, "/nope.ocio")
    monkeypatch.setenv("OCIO", str(tmp_path / "bad.ocio"))
    (tmp_path / "bad.ocio").write_text("not a config")
    code, _, err = run(capsys, "render", plate, "-o", tmp_path / "o.exr")
    one_line_error(code, err, "bad.ocio", "$OCIO")


@pytest.mark.parametrize("card", [[1, 2], {"architecture": {"width": 4096, "levels": 3}}])
def test_model_cards_that_do_not_fit_are_refused_without_allocating(
    capsys, tmp_path, monkeypatch, card
):
    import shutil

    from hdr_plugin.models import BUNDLED_WEIGHTS

    shutil.copy(BUNDLED_WEIGHTS / "unet-native.safetensors", tmp_path)
    (tmp_path / "unet-native.json").write_text(json.dumps(card))
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(tmp_path))
    plate = write_image(tmp_path / "p.png", gradient_plate())
    code, _, err = run(capsys, "render", plate, "-o", tmp_path / "o.exr", "-m", "unet-native")
    one_line_error(code, err, "unet-native")


def test_unreachable_scheduler(capsys, tmp_path, plate_sequence):
    pytest.importorskip("distributed")
    config = shots(tmp_path, plate_sequence)
    code, _, err = run(capsys, "batch", config, "--scheduler", "tcp://127.0.0.1:9", "--no-progress")
    one_line_error(code, err, "--scheduler", "cannot reach")


def test_unwritable_export(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run(capsys, "export", "unet-native", "-o", blocker / "x.pt")
    one_line_error(code, err, "x.pt", "cannot write")


def test_garbage_timeline(capsys, tmp_path):
    pytest.importorskip("opentimelineio")
    garbage = tmp_path / "reel.otio"
    garbage.write_text("{ not json")
    code, _, err = run(capsys, "import-otio", garbage, "-o", tmp_path / "shots.toml")
    one_line_error(code, err, "reel.otio")


def test_evaluate_and_train_need_a_data_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("HDR_PLUGIN_DATA", raising=False)
    code, _, err = run(capsys, "evaluate", "-m", "linear")
    one_line_error(code, err, "HDR data folder", "$HDR_PLUGIN_DATA")
    code, _, err = run(capsys, "evaluate", "--data", tmp_path / "nope")
    one_line_error(code, err, "nope")
    code, _, err = run(capsys, "train", "--set", "model='unet-native'")
    one_line_error(code, err, "data")


# --- killed batches --------------------------------------------------------------------


def test_killing_a_batch_ends_its_workers(tmp_path, plate_sequence):
    config = shots(tmp_path, plate_sequence)
    batch = subprocess.Popen(
        [sys.executable, "-m", "hdr_plugin.cli", "batch", str(config), "--workers", "2",
         "--no-progress", "--force"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers: set[int] = set()
    renders = tmp_path / "renders"
    deadline = time.time() + 120
    while time.time() < deadline:  # until both workers have started and one is rendering
        workers.update(_children(batch.pid))
        if len(workers) >= 2 and renders.is_dir() and any(renders.iterdir()):
            break
        time.sleep(0.1)
    assert len(workers) >= 2, "the batch never started its workers"
    batch.send_signal(signal.SIGKILL)
    batch.wait()
    deadline = time.time() + 20
    while time.time() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    left = {pid: _cmdline(pid) for pid in workers if _alive(pid)}
    assert not left, f"still running after the batch was killed: {left}"


def _children(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry))
    return children


def _cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline").read().replace("\0", " ")[:120]
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_orphan_temporaries_are_removed(capsys, tmp_path):
    plate = write_image(tmp_path / "p.png", gradient_plate())
    orphan = tmp_path / ".o.exr.deadbeef.tmp.exr"
    orphan.write_bytes(b"half an exr")
    os.utime(orphan, (time.time() - 3600,) * 2)
    fresh = tmp_path / ".o.exr.cafecafe.tmp.exr"  # another render writing right now
    fresh.write_bytes(b"")
    assert run(capsys, "render", plate, "-o", tmp_path / "o.exr", "-m", "linear")[0] == 0
    assert not orphan.exists() and fresh.exists()


# --- the viewer on a shot --------------------------------------------------------------


def test_viewer_on_a_shot_shows_and_renders_only_its_frames(tmp_path, plate_sequence, color):
    from hdr_plugin.ui.controller import ViewerController

    config = tmp_path / "shots.toml"
    config.write_text(
        f"[[shot]]\nname = 'sh020'\nplate = '{plate_sequence}'\nframes = '1003-1004'\n"
        "model = 'inverse-hable'\noutput = 'r/{shot}.####.exr'\n"
    )
    controller = ViewerController.for_shot(config, "sh020", color, overrides={"model": "linear"})
    assert controller.frame_numbers() == [1003, 1004]
    assert controller.settings.model == "linear"  # the command line wins over the shot
    result = controller.render_sequence(tmp_path / "out" / "v.####.exr")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["v.1003.exr", "v.1004.exr"]
    assert len(result.outputs) == 2


# --- frame ranges as a Nuke user types them ---------------------------------------------


def test_a_space_separated_frame_list_renders_those_frames(capsys, tmp_path, plate_sequence):
    out = tmp_path / "out" / "shot.####.exr"
    code, _, err = run(
        capsys, "render", plate_sequence, "-o", out, "-f", "1001 1005", "-m", "linear"
    )
    assert code == 0, err
    assert sorted(p.name for p in out.parent.iterdir()) == ["shot.1001.exr", "shot.1005.exr"]


def test_an_empty_frame_range_is_refused_not_read_as_every_frame(capsys, tmp_path, plate_sequence):
    out = tmp_path / "out" / "shot.####.exr"
    code, _, err = run(capsys, "render", plate_sequence, "-o", out, "-f", "", "-m", "linear")
    one_line_error(code, err, "frame range is empty")
    assert not out.parent.exists()


# --- files that are images but not plates ----------------------------------------------


def test_an_exr_without_colour_channels_is_refused_naming_them(capsys, tmp_path):
    spec = oiio.ImageSpec(16, 16, 1, oiio.FLOAT)
    spec.channelnames = ("depth.Z",)
    assert oiio.ImageBuf(spec).write(str(tmp_path / "depth.exr"))
    code, _, err = run(capsys, "render", tmp_path / "depth.exr", "-o", tmp_path / "o.exr")
    one_line_error(code, err, "depth.exr", "no colour channels", "depth.Z")
    assert not (tmp_path / "o.exr").exists()


def test_a_deep_exr_is_refused_not_read_as_flat(capsys, tmp_path):
    spec = oiio.ImageSpec(16, 16, 4, oiio.FLOAT)
    spec.channelnames = ("R", "G", "B", "A")
    spec.deep = True
    assert oiio.ImageBuf(spec).write(str(tmp_path / "deep.exr"))
    code, _, err = run(capsys, "render", tmp_path / "deep.exr", "-o", tmp_path / "o.exr")
    one_line_error(code, err, "deep.exr", "deep image", "flatten")
    assert not (tmp_path / "o.exr").exists()


# --- sequences: every frame checked before the first is written --------------------------


def three_frames(folder):
    folder.mkdir(exist_ok=True)
    for frame in (1, 2, 3):
        write_image(folder / f"p.{frame:04d}.png", gradient_plate(seed=frame))
    return folder / "p.####.png"


def test_a_folder_named_like_a_frame_fails_before_any_frame_is_written(capsys, tmp_path):
    pattern = three_frames(tmp_path / "plates")
    (tmp_path / "plates" / "p.0004.png").mkdir()
    code, _, err = run(capsys, "render", pattern, "-o", tmp_path / "out.####.exr", "-m", "linear")
    one_line_error(code, err, "p.0004.png (frame 4): not a file")
    assert list(tmp_path.glob("out.*")) == []


def test_an_unreadable_header_fails_before_any_frame_is_written(capsys, tmp_path):
    pattern = three_frames(tmp_path / "plates")
    (tmp_path / "plates" / "p.0003.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code, _, err = run(capsys, "render", pattern, "-o", tmp_path / "out.####.exr", "-m", "linear")
    one_line_error(code, err, "p.0003.png (frame 3): cannot read")
    assert list(tmp_path.glob("out.*")) == []


def test_a_stray_unpadded_file_does_not_hide_the_sequence(capsys, tmp_path):
    pattern = three_frames(tmp_path / "plates")
    write_image(tmp_path / "plates" / "p.1.png", gradient_plate())
    code, _, err = run(
        capsys, "render", pattern, "-o", tmp_path / "out.####.exr", "-m", "linear", "--no-progress"
    )
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.glob("out.*")) == [
        "out.0001.exr",
        "out.0002.exr",
        "out.0003.exr",
    ]


def test_a_truncated_png_is_one_line_without_libpngs_own(tmp_path):
    plate = tmp_path / "p.png"
    write_image(plate, gradient_plate(64, 64))
    plate.write_bytes(plate.read_bytes()[:300])
    run_cli = [sys.executable, "-m", "hdr_plugin.cli", "render", str(plate), "-o", "x.exr"]
    result = subprocess.run(run_cli, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("hdr-plugin: error:")
    assert "p.png" in result.stderr and "libpng" not in result.stderr
