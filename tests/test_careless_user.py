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


def test_a_publish_that_fills_the_disk_takes_its_copies_with_it(
    capsys, tmp_path, plate_sequence, monkeypatch
):
    import hdr_plugin.publish.integrate_publish as integrate

    config = shots(tmp_path, plate_sequence)
    root = tmp_path / "publish"
    copy = integrate.shutil.copy2
    copies = []

    def fills_up(source, target):
        if copies:
            raise OSError(28, "No space left on device")
        copies.append(copy(source, target))

    monkeypatch.setattr(integrate.shutil, "copy2", fills_up)
    code, _, err = run(capsys, "publish", config, "--publish-root", root)
    one_line_error(code, err, "No space left on device")
    assert copies and not list((root / "sh010").glob(".staging-*"))
    monkeypatch.setattr(integrate.shutil, "copy2", copy)  # room again: the next one works
    code, _, err = run(capsys, "publish", config, "--publish-root", root)
    assert code == 0, err
    assert (root / "sh010" / "v001" / "manifest.json").is_file()


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
        [sys.executable, "-m", "hdr_plugin", "batch", str(config), "--workers", "2",
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
    run_cli = [sys.executable, "-m", "hdr_plugin", "render", str(plate), "-o", "x.exr"]
    result = subprocess.run(run_cli, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("hdr-plugin: error:")
    assert "p.png" in result.stderr and "libpng" not in result.stderr


# --- inputs never overwritten, across commands and shots ----------------------------------


def two_shot_config(tmp_path, plate_sequence, second_output):
    config = tmp_path / "shots.toml"
    config.write_text(
        f'[[shot]]\nname = "s1"\nplate = "{plate_sequence}"\nmodel = "linear"\n'
        f'output = "{tmp_path}/r/s1.####.exr"\n'
        f'[[shot]]\nname = "s2"\nplate = "{plate_sequence}"\nmodel = "linear"\n'
        f'output = "{second_output}"\n'
    )
    return config


def test_a_shots_output_that_is_another_shots_plate_is_refused(capsys, tmp_path, plate_sequence):
    graded = tmp_path / "graded"  # shot s1 reads EXR plates ...
    graded.mkdir()
    for frame in range(1001, 1006):
        write_image(graded / f"g.{frame}.exr", gradient_plate(seed=frame), "half")
    config = tmp_path / "shots.toml"
    config.write_text(
        f'[[shot]]\nname = "s1"\nplate = "{graded}/g.####.exr"\nmodel = "linear"\n'
        f'output = "{tmp_path}/r/s1.####.exr"\n'
        f'[[shot]]\nname = "s2"\nplate = "{plate_sequence}"\nmodel = "linear"\n'
        f'output = "{graded}/g.####.exr"\n'  # ... which s2 would write over
    )
    before = file_hash(graded / "g.1001.exr")
    code, _, err = run(capsys, "batch", config, "--no-progress")
    one_line_error(code, err, "shot 's2'", "is the input", "g.1001.exr", "shot 's1'")
    assert file_hash(graded / "g.1001.exr") == before
    assert not (tmp_path / "r").exists()  # nothing rendered, not even s1


def test_two_shots_writing_the_same_files_are_refused(capsys, tmp_path, plate_sequence):
    config = two_shot_config(tmp_path, plate_sequence, f"{tmp_path}/r/x/../s1.####.exr")
    code, _, err = run(capsys, "batch", config, "--no-progress")
    one_line_error(code, err, "shots 's1' and 's2' both write", "s1.1001.exr")
    assert not (tmp_path / "r").exists()


def otio_timeline(tmp_path, plate_sequence, url_base=None):
    otio = pytest.importorskip("opentimelineio")
    timeline = otio.schema.Timeline(name="reel")
    track = otio.schema.Track()
    reference = otio.schema.ImageSequenceReference(
        target_url_base=url_base or f"{plate_sequence.parent}/",
        name_prefix="shot.",
        name_suffix=".png",
        start_frame=1001,
        frame_zero_padding=4,
        rate=24,
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(5, 24)
        ),
    )
    track.append(otio.schema.Clip(name="sh010", media_reference=reference))
    timeline.tracks.append(track)
    path = tmp_path / "reel.otio"
    otio.adapters.write_to_file(timeline, str(path))
    return path


def test_import_otio_never_replaces_its_timeline_nor_writes_half_a_config(
    capsys, tmp_path, plate_sequence
):
    timeline = otio_timeline(tmp_path, plate_sequence)
    before = timeline.read_bytes()
    code, _, err = run(capsys, "import-otio", timeline, "-o", timeline)
    one_line_error(code, err, "reel.otio", "is the input")
    assert timeline.read_bytes() == before
    (tmp_path / "folder.toml").mkdir()
    code, _, err = run(capsys, "import-otio", timeline, "-o", tmp_path / "folder.toml")
    one_line_error(code, err, "folder.toml", "cannot write")
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run(capsys, "import-otio", timeline, "-o", blocker / "shots.toml")
    one_line_error(code, err, "shots.toml", "cannot write")


def test_import_otio_of_deeply_nested_json_is_one_line(capsys, tmp_path):
    pytest.importorskip("opentimelineio")
    nested = tmp_path / "deep.otio"
    nested.write_text("[" * 200_000 + "]" * 200_000)
    code, _, err = run(capsys, "import-otio", nested, "-o", tmp_path / "shots.toml")
    one_line_error(code, err, "deep.otio")


def test_export_never_replaces_the_weights_it_exports(capsys, tmp_path, monkeypatch):
    weights = weights_copy(tmp_path, monkeypatch)  # the weights folder a user points at
    card = weights.with_suffix(".json")
    before = file_hash(weights), file_hash(card)
    code, _, err = run(capsys, "export", "unet-native", "-o", weights)
    one_line_error(code, err, "unet-native.safetensors", "a file of the weights folder")
    code, _, err = run(capsys, "export", "unet-native", "-o", weights.with_suffix(".pt"))
    one_line_error(code, err, "unet-native.json", "a file of the weights folder")
    assert (file_hash(weights), file_hash(card)) == before
    assert not weights.with_suffix(".pt").exists()


def test_export_never_replaces_a_training_log_or_an_unrelated_json(capsys, tmp_path, monkeypatch):
    weights = weights_copy(tmp_path, monkeypatch)
    log = weights.with_name("hybrid-mnv3.base.log")
    log.write_text("step 1 loss 0.3\n")
    code, _, err = run(capsys, "export", "unet-native", "-o", log)
    one_line_error(code, err, "hybrid-mnv3.base.log", "a file of the weights folder")
    assert log.read_text() == "step 1 loss 0.3\n" and not log.with_suffix(".json").exists()
    user = tmp_path / "ex" / "user.json"
    user.parent.mkdir()
    user.write_text('{"mine": true}\n')
    code, _, err = run(capsys, "export", "unet-native", "-o", user.with_suffix(".pt"))
    one_line_error(code, err, "user.json", "not an export's sidecar")
    assert user.read_text() == '{"mine": true}\n' and not user.with_suffix(".pt").exists()


# --- silent garbage and tracebacks ----------------------------------------------------------


def weights_copy(tmp_path, monkeypatch, name="unet-native"):
    import shutil

    from hdr_plugin.models import BUNDLED_WEIGHTS

    folder = tmp_path / "weights"
    folder.mkdir()
    for suffix in (".safetensors", ".json"):
        shutil.copy(BUNDLED_WEIGHTS / f"{name}{suffix}", folder)
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(folder))
    return folder / f"{name}.safetensors"


@pytest.mark.parametrize(
    ("model", "value", "flags"),
    [
        ("unet-native", float("nan"), ["-m", "unet-native"]),
        ("unet-native", float("inf"), ["-m", "unet-native"]),
        ("camera-curve", float("nan"), ["-m", "linear", "--input-colorspace", "auto"]),
    ],
)
def test_non_finite_weights_are_refused_at_load(capsys, tmp_path, monkeypatch, model, value, flags):
    from safetensors.torch import load_file, save_file

    path = weights_copy(tmp_path, monkeypatch, model)
    tensors = load_file(path)
    name = sorted(tensors)[0]
    tensors[name].view(-1)[0] = value
    save_file(tensors, path)
    plate = write_image(tmp_path / "p.png", gradient_plate())
    code, _, err = run(capsys, "render", plate, "-o", tmp_path / "o.exr", *flags)
    one_line_error(code, err, f"{model}.safetensors", "non-finite", name)
    assert not (tmp_path / "o.exr").exists()


def test_a_model_that_outputs_nan_writes_nothing(color):
    from hdr_plugin.errors import ModelError
    from hdr_plugin.node import ReconstructNode, ReconstructSettings

    node = ReconstructNode(ReconstructSettings(model="inverse-hable"), color)
    node.model = lambda encoded: np.full_like(encoded, np.nan)
    with pytest.raises(ModelError, match="'inverse-hable' produced .* non-finite"):
        node.process_frame(gradient_plate())


@pytest.mark.parametrize(
    "architecture",
    [{"widths": []}, {"widths": [-1, 32]}, {"proxy_edge": "abc"}],
    ids=["empty widths", "negative width", "text size"],
)
def test_model_cards_with_nonsense_architectures_are_one_line(
    capsys, tmp_path, monkeypatch, architecture
):
    path = weights_copy(tmp_path, monkeypatch, "highlight-unet")
    card = json.loads(path.with_suffix(".json").read_text())
    card["architecture"] = {**card["architecture"], **architecture}
    path.with_suffix(".json").write_text(json.dumps(card))
    plate = write_image(tmp_path / "p.png", gradient_plate())
    code, _, err = run(capsys, "render", plate, "-o", tmp_path / "o.exr")
    one_line_error(code, err, "highlight-unet", "architecture")


def test_non_utf8_shot_and_training_configs_are_one_line(capsys, tmp_path):
    bad = tmp_path / "shots.toml"
    bad.write_bytes(b'[[shot]]\nname = "\xff\xfe"\n')
    code, _, err = run(capsys, "batch", bad)
    one_line_error(code, err, "shots.toml", "UTF-8")
    code, _, err = run(capsys, "train", bad)
    one_line_error(code, err, "shots.toml", "UTF-8")


def test_ocio_configs_that_are_garbage_or_miss_a_lut_are_one_line(capsys, tmp_path):
    plate = write_image(tmp_path / "p.png", gradient_plate())
    garbage = tmp_path / "garbage.ocio"
    for junk in (bytes(range(256)) * 16, b"ocio_profile_version: [\x01\x02\n" * 64):
        garbage.write_bytes(junk)  # not UTF-8; UTF-8 but not YAML
        code, _, err = run(capsys, "--ocio", garbage, "render", plate, "-o", tmp_path / "o.exr")
        one_line_error(code, err, "garbage.ocio")
    import PyOpenColorIO as ocio

    from hdr_plugin.color import resolve_config_path

    config = ocio.Config.CreateFromFile(resolve_config_path(None))
    plate_space = ocio.ColorSpace(name="lut plate")
    lut_file = ocio.FileTransform(src="missing.spi1d")
    plate_space.setTransform(lut_file, ocio.COLORSPACE_DIR_TO_REFERENCE)
    config.addColorSpace(plate_space)
    config.setSearchPath(".")
    lut = tmp_path / "lut.ocio"
    lut.write_text(config.serialize())
    code, _, err = run(
        capsys, "--ocio", lut, "render", plate, "-o", tmp_path / "o.exr",
        "-m", "linear", "--input-colorspace", "lut plate",
    )  # fmt: skip
    one_line_error(code, err, "missing.spi1d")
    assert not (tmp_path / "o.exr").exists()


# --- resume, temporaries, publish folders ---------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [["--pixel-type", "float"], ["--compression", "piz"], ["--write-masks"]],
    ids=["pixel type", "compression", "masks"],
)
def test_resume_re_renders_frames_written_otherwise(capsys, tmp_path, plate_sequence, change):
    config = tmp_path / "shots.toml"
    config.write_text(
        f'[[shot]]\nname = "s"\nplate = "{plate_sequence}"\nmodel = "linear"\n'
        f'output = "{tmp_path}/r/s.####.exr"\n'
    )
    assert run(capsys, "batch", config, "--no-progress")[0] == 0
    key = change[0].removeprefix("--").replace("-", "_")
    value = change[1] if len(change) > 1 else True
    text = config.read_text() + (f'{key} = "{value}"\n' if value is not True else f"{key} = true\n")
    config.write_text(text)
    code, out, err = run(capsys, "batch", config, "--no-progress")
    assert code == 0, err
    assert "skipped" not in out or "0 skipped" in out, out
    _, spec = read_exr(tmp_path / "r" / "s.1001.exr")
    if key == "pixel_type":
        assert str(spec.format) == "float"
    elif key == "compression":
        assert spec.getattribute("compression") == "piz"
    else:
        assert "mask.highlight" in spec.channelnames


def test_a_killed_renders_temporaries_are_removed_at_the_next_start(capsys, tmp_path):
    from hdr_plugin.io import atomic_write

    plate = write_image(tmp_path / "p.png", gradient_plate())
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(child.stdout)
    with atomic_write(tmp_path / "o.exr", suffix=".tmp.exr") as live:
        orphan = live.with_name(live.name.replace(f"~{os.getpid()}~", f"~{dead}~"))
        orphan.write_bytes(b"half an exr, seconds old")
        live.write_bytes(b"")  # this process is still writing it
        assert run(capsys, "render", plate, "-o", tmp_path / "o2.exr", "-m", "linear")[0] == 0
        orphan_of_o2 = orphan.with_name(orphan.name.replace(".o.exr.", ".o2.exr."))
        orphan.rename(orphan_of_o2)
        assert run(capsys, "render", plate, "-o", tmp_path / "o2.exr", "-m", "linear")[0] == 0
        assert not orphan_of_o2.exists() and live.exists()


def test_published_versions_follow_the_umask(capsys, tmp_path, plate_sequence):
    config = tmp_path / "shots.toml"
    config.write_text(
        f'[[shot]]\nname = "s"\nplate = "{plate_sequence}"\nmodel = "linear"\n'
        f'output = "{tmp_path}/r/s.####.exr"\n'
    )
    old = os.umask(0o022)
    try:
        code, _, err = run(capsys, "publish", config, "--publish-root", tmp_path / "pub")
    finally:
        os.umask(old)
    assert code == 0, err
    version = next((tmp_path / "pub" / "s").glob("v*"))
    assert version.stat().st_mode & 0o777 == 0o755


# --- metadata: what the plate says reaches the EXR; no clock time --------------------------


def test_the_plates_aspect_frame_rate_timecode_and_date_reach_the_exr(capsys, tmp_path):
    spec = oiio.ImageSpec(64, 32, 3, oiio.UINT16)
    spec.attribute("PixelAspectRatio", 2.0)
    spec.attribute("dpx:FrameRate", 23.976)
    spec.attribute("smpte:TimeCode", oiio.TypeDesc("timecode"), (0x01020304, 0))
    spec.attribute("DateTime", "2024:05:06 07:08:09")
    out = oiio.ImageOutput.create(str(tmp_path / "p.dpx"))
    assert out.open(str(tmp_path / "p.dpx"), spec)
    out.write_image(gradient_plate(32, 64))
    out.close()
    code, _, err = run(
        capsys, "render", tmp_path / "p.dpx", "-o", tmp_path / "o.exr", "-m", "linear"
    )
    assert code == 0, err
    _, exr = read_exr(tmp_path / "o.exr")
    assert exr.getattribute("PixelAspectRatio") == 2.0
    assert tuple(exr.getattribute("FramesPerSecond")) == (24000, 1001)
    assert exr.getattribute("smpte:TimeCode")[0] == 0x01020304
    assert exr.getattribute("DateTime") == "2024:05:06 07:08:09"


def test_the_same_pixels_give_the_same_bytes_after_a_clone(capsys, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    write_image(first / "p.png", gradient_plate())
    (second / "p.png").write_bytes((first / "p.png").read_bytes())
    os.utime(second / "p.png", (time.time() - 86400 * 30,) * 2)  # a clone's other mtime
    for folder in (first, second):
        code, _, err = run(
            capsys, "render", folder / "p.png", "-o", folder / "o.exr", "-m", "linear"
        )
        assert code == 0, err
    assert (first / "o.exr").read_bytes() == (second / "o.exr").read_bytes()


def test_serial_process_and_dask_renders_of_the_sample_shots_are_byte_identical(capsys, tmp_path):
    import shutil

    pytest.importorskip("distributed")
    from tests.conftest import REPO

    shutil.copytree(REPO / "samples", tmp_path / "samples")
    config = tmp_path / "samples" / "shots.toml"
    renders = tmp_path / "samples" / "renders"

    def rendered(*flags):
        code, _, err = run(capsys, "batch", config, "--no-progress", "--force", *flags)
        assert code == 0, err
        return {p.relative_to(renders): p.read_bytes() for p in sorted(renders.rglob("*.exr"))}

    serial = rendered()  # this process's threads: all cores
    assert len(serial) == 24
    assert rendered("--workers", "2") == serial  # one thread per worker
    assert rendered("--local-cluster", "2") == serial


def test_renders_are_byte_identical_under_any_thread_count(tmp_path):
    """OMP_NUM_THREADS 1, 2 and 3, in processes of their own, give the same bytes."""
    from tests.conftest import SAMPLE_PLATES

    hashes = []
    for threads in (1, 2, 3):
        out = tmp_path / f"t{threads}" / "pan.####.exr"
        done = subprocess.run(
            [sys.executable, "-m", "hdr_plugin", "render", str(SAMPLE_PLATES / "pan.####.png"),
             "-f", "1008-1009", "-o", str(out), "--no-progress"],
            env={**os.environ, "OMP_NUM_THREADS": str(threads)},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        hashes.append([file_hash(p) for p in sorted(out.parent.glob("*.exr"))])
    assert len(hashes[0]) == 2 and hashes[0] == hashes[1] == hashes[2]


# --- HDR deliverables: reference white at 203 cd/m² -----------------------------------------


def pq_nits(code):
    """SMPTE ST 2084 EOTF: PQ code values -> cd/m² (written out, independent of OCIO)."""
    m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
    p = np.power(np.clip(code, 0, 1), 1 / m2)
    return 10000 * np.power(np.maximum(p - c1, 0) / (c2 - c3 * p), 1 / m1)


@pytest.mark.parametrize("display", ["Rec.2100-PQ - Display", "Rec.2100-HLG - Display"])
def test_pq_and_hlg_renders_put_reference_white_at_203_nits(capsys, tmp_path, color, display):
    from tests.conftest import SAMPLE_PLATES

    plate = SAMPLE_PLATES / "pan.1012.png"
    linear, hdr = tmp_path / "linear.exr", tmp_path / "hdr.exr"
    for out, space in ((linear, "Linear Rec.2020"), (hdr, display)):
        code, _, err = run(capsys, "render", plate, "-o", out, "--output-colorspace", space)
        assert code == 0, err
    scene, _ = read_exr(linear)
    coded, spec = read_exr(hdr)
    if "HLG" in display:  # HLG and PQ share the display reference: decode through PQ
        coded = color.convert(coded[..., :3], display, "Rec.2100-PQ - Display")
    nits = pq_nits(coded[..., :3])
    lit = scene[..., :3] > 0.05
    assert np.median(nits[lit] / scene[..., :3][lit]) == pytest.approx(203, rel=0.01)
    brightest = scene[..., :3].max(axis=-1) * 203
    assert spec.getattribute("MaxCLL") == pytest.approx(brightest.max(), rel=2e-3)
    assert spec.getattribute("MaxFALL") == pytest.approx(brightest.mean(), rel=2e-3)
    _, linear_spec = read_exr(linear)
    assert linear_spec.getattribute("MaxCLL") is None  # scene-linear EXRs carry no levels


# --- the viewer from the command line -----------------------------------------------------


def test_a_viewer_still_never_replaces_the_plate(capsys, tmp_path):
    plate = write_image(tmp_path / "plate.png", gradient_plate())
    before = file_hash(plate)
    code, _, err = run(capsys, "view", plate, "--screenshot", plate)
    one_line_error(code, err, "plate.png", "is the input")
    assert file_hash(plate) == before


@pytest.fixture
def shot_copy(tmp_path):
    """A copy of samples/: the shot config, its plates and its matte."""
    import shutil

    from tests.conftest import REPO

    shutil.copytree(REPO / "samples", tmp_path / "samples")
    return tmp_path / "samples"


@pytest.mark.parametrize(
    "flag, target",
    [
        ("--screenshot", "mattes/sun.png"),  # the matte of shot sh020
        ("--screenshot", "shots.toml"),  # the shot config itself
        ("--contact-sheet", "shots.toml"),
        ("--screenshot", "plates/pan.1020.png"),  # a plate frame outside sh010's range
    ],
)
def test_a_viewer_still_never_replaces_any_input_of_a_shot_config(capsys, shot_copy, flag, target):
    victim = shot_copy / target
    before = file_hash(victim)
    argv = ["view", shot_copy / "shots.toml", "--shot", "sh010", flag, victim]
    code, _, err = run(capsys, *argv)
    one_line_error(code, err, "is the input", target.rsplit("/", 1)[-1])
    assert file_hash(victim) == before


def test_a_viewer_still_never_replaces_a_sibling_frame_of_its_plate(capsys, shot_copy):
    sibling = shot_copy / "plates" / "pan.1013.png"
    before = file_hash(sibling)
    plate = shot_copy / "plates" / "pan.1012.png"
    code, _, err = run(capsys, "view", plate, "--screenshot", sibling)
    one_line_error(code, err, "is the input", "pan.1013.png")
    assert file_hash(sibling) == before


@pytest.mark.parametrize("name", ["out.exr", "still.jpg", "still.PNG.tif"])
def test_a_viewer_still_is_a_png_or_refused(capsys, tmp_path, name):
    plate = write_image(tmp_path / "plate.png", gradient_plate())
    existing = tmp_path / name
    existing.write_bytes(b"a render")
    code, _, err = run(capsys, "view", plate, "--screenshot", existing)
    one_line_error(code, err, name, "written as PNG")
    assert existing.read_bytes() == b"a render"


def test_a_viewer_still_of_a_corrupt_plate_fails_and_writes_nothing(capsys, tmp_path):
    plate = tmp_path / "plate.png"
    write_image(plate, gradient_plate(64, 64))
    plate.write_bytes(plate.read_bytes()[:300])
    code, _, err = run(capsys, "view", plate, "--screenshot", tmp_path / "still.png")
    one_line_error(code, err, "plate.png")
    assert not (tmp_path / "still.png").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland displays")
def test_the_viewer_without_a_display_says_so(capsys, tmp_path, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    plate = write_image(tmp_path / "plate.png", gradient_plate())
    code, _, err = run(capsys, "view", plate)
    one_line_error(code, err, "no display", "--screenshot")


# --- knobs a careless user gets wrong (issue 39: items 10-12) ------------------------------


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["batch", "{shots}", "-f", "5000-5001"], ["5000-5001", "outside every selected shot"]),
        (["batch", "{shots}", "--shots", ""], ["--shots", "names no shot"]),
        (["batch", "{shots}", "--shots", " , "], ["--shots", "names no shot"]),
        (["batch", "{shots}", "--scheduler", "banana"], ["banana", "tcp://HOST:PORT"]),
        (["batch", "{shots}", "--scheduler", "tcp://127.0.0.1"], ["tcp://HOST:PORT"]),
        (["batch", "{shots}", "--scheduler", "tcp://127.0.0.1:abc"], ["tcp://HOST:PORT"]),
    ],
)
def test_a_batch_that_would_render_nothing_or_cannot_run_says_so(
    capsys, shot_copy, argv, fragments
):
    argv = [a.format(shots=shot_copy / "shots.toml") for a in argv]
    code, _, err = run(capsys, *argv, "--no-progress")
    one_line_error(code, err, *fragments)
    assert not (shot_copy / "renders").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["batch", "{shots}", "--workers", "0"],
        ["batch", "{shots}", "--workers", "-3"],
        ["batch", "{shots}", "--local-cluster", "0"],
        ["export", "layered", "-o", "{out}/x.pt", "--size", "0"],
        ["export", "layered", "-o", "{out}/x.pt", "--size", "-5"],
        ["view", "{plate}", "--screenshot", "{out}/s.png", "--exposure", "nan"],
        ["view", "{plate}", "--screenshot", "{out}/s.png", "--exposure", "inf"],
        ["view", "{plate}", "--screenshot", "{out}/s.png", "--exposure", "1e6"],
    ],
)
def test_out_of_range_numbers_are_usage_errors(capsys, shot_copy, tmp_path, argv):
    plate = shot_copy / "plates" / "pan.1012.png"
    argv = [a.format(shots=shot_copy / "shots.toml", out=tmp_path, plate=plate) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "Traceback" not in err and "Invalid value" in err, err
    assert not list(tmp_path.glob("x.*")) and not (tmp_path / "s.png").exists()


# --- real files refused, errors that blame the wrong thing (issue 39: items 13, 16) -------


@pytest.mark.parametrize("pix_fmt", ["gbrp10le", "gbrp12le", "rgb48le"])
def test_dpx_files_that_ffmpeg_writes_render(capsys, tmp_path, pix_fmt):
    import shutil

    from tests.conftest import SAMPLE_PLATES

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    dpx = tmp_path / "p.dpx"
    made = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(SAMPLE_PLATES / "pan.1012.png"),
         "-pix_fmt", pix_fmt, str(dpx)], capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    out = tmp_path / "p.exr"
    code, _, err = run(capsys, "render", dpx, "-o", out, "-m", "linear", "--no-progress")
    assert code == 0, err
    aspect = read_exr(out)[1].getattribute("PixelAspectRatio")
    assert aspect in (None, 1.0)  # ffmpeg writes 0: unknown, not carried


@pytest.mark.parametrize("rate", [1e30, float("inf"), 0.0])
def test_a_dpx_frame_rate_nobody_shoots_at_is_not_carried(capsys, tmp_path, rate):
    dpx = write_image(tmp_path / "p.dpx", gradient_plate(), "uint16", dpx__FrameRate=rate)
    out = tmp_path / "p.exr"
    code, _, err = run(capsys, "render", dpx, "-o", out, "-m", "linear", "--no-progress")
    assert code == 0, err
    assert read_exr(out)[1].getattribute("FramesPerSecond") is None


def test_a_tiny_pixel_limit_is_said_in_pixels(capsys, tmp_path):
    plate = write_image(tmp_path / "p.png", gradient_plate())
    out = tmp_path / "p.exr"
    code, _, err = run(capsys, "--max-pixels", "1000", "render", plate, "-o", out)
    one_line_error(code, err, "48x32 is 1,536 pixels, above the 1,000 pixels limit")


def test_a_huge_frame_range_says_why(capsys, tmp_path):
    plate = write_image(tmp_path / "p.####.png".replace("####", "0001"), gradient_plate())
    code, _, err = run(capsys, "render", tmp_path / "p.####.png", "-o", tmp_path / "o.####.exr",
                       "-f", "1-100000000")  # fmt: skip
    one_line_error(code, err, "more than 10,000,000 frames")
    assert plate.exists()


def test_a_shot_config_with_a_byte_order_mark_reads(capsys, shot_copy):
    config = shot_copy / "shots.toml"
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    code, _, err = run(capsys, "batch", config, "--shots", "sh010,sh010", "-f", "1001",
                       "--no-progress")  # fmt: skip
    assert code == 0, err
    assert len(list((shot_copy / "renders").rglob("*.exr"))) == 1


# --- wrong output under a final name (issue 39: items 8, 9) --------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_a_grey_plate_stays_neutral(capsys, tmp_path, channels):
    grey = gradient_plate(64, 96).mean(axis=-1, keepdims=True)
    grey[20:40, 50:80] = 1.0  # a clipped highlight
    plate = write_image(tmp_path / "grey.png", np.repeat(grey, channels, axis=-1))
    out = tmp_path / "grey.exr"
    code, _, err = run(capsys, "render", plate, "-o", out, "--no-progress")
    assert code == 0, err
    rgb = read_exr(out)[0][..., :3]
    assert rgb.max() > 1.05  # reconstructed, and neutral
    np.testing.assert_allclose(rgb[..., 0], rgb[..., 2], rtol=2**-10)
    np.testing.assert_allclose(rgb[..., 0], rgb[..., 1], rtol=2**-10)


def test_an_exr_with_red_and_green_only_is_refused(capsys, tmp_path):
    path = tmp_path / "rg.exr"
    spec = oiio.ImageSpec(8, 8, 2, "half")
    spec.channelnames = ("R", "G")
    buf = oiio.ImageBuf(spec)
    assert buf.write(str(path))
    code, _, err = run(capsys, "render", path, "-o", tmp_path / "o.exr", "--no-progress")
    one_line_error(code, err, "rg.exr", "R, G without the rest")


def test_a_luminance_chroma_exr_is_refused(capsys, tmp_path):
    path = tmp_path / "yc.exr"
    spec = oiio.ImageSpec(8, 8, 3, "half")
    spec.channelnames = ("Y", "RY", "BY")
    assert oiio.ImageBuf(spec).write(str(path))
    code, _, err = run(capsys, "render", path, "-o", tmp_path / "o.exr", "--no-progress")
    one_line_error(code, err, "yc.exr", "luminance/chroma")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_jpeg_is_read_upright_as_its_exif_orientation_says(tmp_path, orientation):
    pixels = gradient_plate(24, 40)
    pixels[:4, :6] = [1.0, 0.0, 0.0]  # a red corner tells the way up
    path = write_image(tmp_path / "p.tif", pixels, "uint8", Orientation=orientation)
    upright = oiio.ImageBufAlgo.reorient(oiio.ImageBuf(str(path))).get_pixels(oiio.FLOAT)
    np.testing.assert_array_equal(read_image(path).rgb, upright[..., :3])


@pytest.mark.parametrize("fmt, suffix", [("half", "exr"), ("float", "tif")])
def test_an_already_hdr_plate_is_refused_not_decoded_again(capsys, tmp_path, fmt, suffix):
    hdr = gradient_plate() * np.float32(40.0)
    plate = write_image(tmp_path / f"hdr.{suffix}", hdr, fmt)
    out = tmp_path / "o.exr"
    code, _, err = run(capsys, "render", plate, "-o", out, "--no-progress")
    one_line_error(code, err, f"hdr.{suffix}", "already an HDR (scene-linear) image")
    assert not out.exists()


def test_a_multi_part_exr_is_read_from_its_colour_part(capsys, tmp_path):
    path = tmp_path / "parts.exr"
    depth = oiio.ImageSpec(48, 32, 1, "float")
    depth.channelnames = ("Z",)
    depth.attribute("name", "depth")
    beauty = oiio.ImageSpec(48, 32, 3, "half")
    beauty.attribute("name", "beauty")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), (depth, beauty)), out.geterror()
    assert out.write_image(np.full((32, 48, 1), 7.0, np.float32))
    assert out.open(str(path), beauty, "AppendSubimage"), out.geterror()
    assert out.write_image(gradient_plate())
    out.close()
    np.testing.assert_allclose(read_image(path).rgb, gradient_plate(), atol=1e-3)
    code, _, err = run(capsys, "render", path, "-o", tmp_path / "o.exr", "--no-progress")
    assert code == 0, err


def test_negative_frame_numbers_are_frames(capsys, tmp_path):
    folder = tmp_path / "neg"
    folder.mkdir()
    for frame in range(-2, 3):  # printf's padding, as Nuke writes: neg.-002.png .. neg.0002.png
        write_image(folder / f"neg.{frame:04d}.png", gradient_plate(seed=frame + 2))
    out = tmp_path / "out" / "neg.####.exr"
    code, _, err = run(capsys, "render", folder / "neg.####.png", "-o", out, "-m", "linear",
                       "--no-progress")  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in out.parent.iterdir()) == [
        f"neg.{frame:04d}.exr" for frame in (-1, -2, 0, 1, 2)
    ]
    code, _, err = run(capsys, "render", folder / "neg.####.png", "-o", tmp_path / "o.####.exr",
                       "-f", "-2--1", "-m", "linear", "--no-progress")  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.glob("o.*.exr")) == ["o.-001.exr", "o.-002.exr"]


def test_an_overscan_plate_keeps_its_data_and_display_windows(capsys, tmp_path):
    plate = tmp_path / "over.exr"
    spec = oiio.ImageSpec(48, 32, 3, "half")
    spec.x, spec.y = -32, -16
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, 416, 238
    out = oiio.ImageOutput.create(str(plate))
    assert out.open(str(plate), spec)
    assert out.write_image(gradient_plate())
    out.close()
    target = tmp_path / "o.exr"
    code, _, err = run(capsys, "render", plate, "-o", target, "-m", "linear", "--no-progress")
    assert code == 0, err
    written = read_exr(target)[1]
    assert (written.x, written.y, written.width, written.height) == (-32, -16, 48, 32)
    assert (written.full_x, written.full_y, written.full_width, written.full_height) == (
        0,
        0,
        416,
        238,
    )


def test_import_otio_resolves_relative_urls_and_warns_of_missing_plates(
    capsys, tmp_path, plate_sequence
):
    timeline = otio_timeline(tmp_path, plate_sequence, url_base="plates/")  # beside the .otio
    (tmp_path / "conf").mkdir()
    config = tmp_path / "conf" / "shots.toml"
    code, _, err = run(capsys, "import-otio", timeline, "-o", config)
    assert code == 0 and "warning" not in err, err
    code, out, err = run(capsys, "batch", config, "--no-progress")  # from another folder
    assert code == 0 and "5 frames rendered" in out, err
    gone = otio_timeline(tmp_path, plate_sequence, url_base="nowhere/")
    code, _, err = run(capsys, "import-otio", gone, "-o", tmp_path / "gone.toml")
    assert code == 0 and "hdr-plugin: warning: shot sh010:" in err and "nowhere" in err


def test_import_otio_refuses_a_render_pattern_batch_would_refuse(capsys, tmp_path, plate_sequence):
    timeline = otio_timeline(tmp_path, plate_sequence)
    config = tmp_path / "shots.toml"
    code, _, err = run(capsys, "import-otio", timeline, "-o", config,
                       "--render-pattern", "renders/{shot}.exr")  # fmt: skip
    one_line_error(code, err, "--render-pattern", "frame padding")
    assert not config.exists()


# --- tracebacks (issue 39: item 12) ---------------------------------------------------------


@pytest.mark.parametrize("size", [(1, 1), (1, 480), (3, 5)])
def test_auto_on_a_tiny_plate_keeps_the_default_decoding(capsys, tmp_path, size):
    plate = write_image(tmp_path / "tiny.png", gradient_plate(*size))
    out = tmp_path / "tiny.exr"
    code, _, err = run(capsys, "render", plate, "-o", out, "--input-colorspace", "auto",
                       "--no-progress")  # fmt: skip
    assert code == 0 and "Traceback" not in err, err
    assert read_exr(out)[1]["hdr_plugin:inputCurve"] == "srgb_rec709_scene"


def test_install_krita_on_a_kritarc_that_is_not_utf8_is_one_line(capsys, tmp_path):
    kritarc = tmp_path / "kritarc"
    kritarc.write_bytes(b"[python]\xff\xfe\n")
    code, _, err = run(capsys, "install-krita", "--resources", tmp_path / "res",
                       "--kritarc", kritarc)  # fmt: skip
    one_line_error(code, err, "kritarc", "not UTF-8")
    assert kritarc.read_bytes() == b"[python]\xff\xfe\n"


def test_nan_pixels_in_a_plate_are_said_once_per_frame(capsys, tmp_path):
    pixels = gradient_plate()
    pixels[3:5, 7:9] = np.nan
    plate = write_image(tmp_path / "nan.exr", pixels, "half")
    out = tmp_path / "o.exr"
    code, _, err = run(capsys, "render", plate, "-o", out, "-m", "linear", "--no-progress")
    assert code == 0, err
    warning = [line for line in err.splitlines() if line.startswith("hdr-plugin: warning:")]
    assert len(warning) == 1 and "nan.exr: 4 NaN pixel(s) read as black" in warning[0]
    assert np.isfinite(read_exr(out)[0]).all()
