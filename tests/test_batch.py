"""Batch rendering of shot lists: configs, resume, executors, publishing, stability."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from hdr_plugin.batch import execute, plan
from hdr_plugin.cli import main
from hdr_plugin.errors import ConfigError, HdrPluginError
from hdr_plugin.io import read_image
from hdr_plugin.publish import publish
from hdr_plugin.shots import load_shots, parse_shots, shots_from_otio
from tests.conftest import SAMPLE_PLATES, gradient_plate, read_exr, write_image

SHOTS = """
[defaults]
output = "renders/{shot}/{shot}.####.exr"
model = "bt2446c-inverse"

[[shot]]
name = "sh010"
plate = "plates/sh010.####.png"

[[shot]]
name = "sh020"
plate = "plates/sh020.####.png"
frames = "1002-1004"
model = "linear"
white_level = 2.0
"""


@pytest.fixture
def show(tmp_path):
    for shot, count in (("sh010", 5), ("sh020", 6)):
        (tmp_path / "plates").mkdir(exist_ok=True)
        for i, frame in enumerate(range(1001, 1001 + count)):
            write_image(tmp_path / "plates" / f"{shot}.{frame}.png", gradient_plate(seed=i))
    (tmp_path / "shots.toml").write_text(SHOTS)
    return tmp_path


def exr_names(folder):
    return sorted(p.name for p in folder.rglob("*.exr"))


def test_two_shots_render_with_their_own_models(capsys, show):
    assert main(["batch", str(show / "shots.toml"), "--no-progress"]) == 0
    assert "8 frames rendered" in capsys.readouterr().out
    assert exr_names(show / "renders" / "sh010") == [f"sh010.{f}.exr" for f in range(1001, 1006)]
    assert exr_names(show / "renders" / "sh020") == [f"sh020.{f}.exr" for f in range(1002, 1005)]
    _, spec = read_exr(show / "renders" / "sh020" / "sh020.1003.exr")
    assert spec.getattribute("hdr_plugin:model") == "linear"
    assert json.loads(spec.getattribute("hdr_plugin:knobs"))["white_level"] == 2.0
    assert spec.getattribute("hdr_plugin:inputFile") == "sh020.1003.png"
    _, spec = read_exr(show / "renders" / "sh010" / "sh010.1001.exr")
    assert spec.getattribute("hdr_plugin:model") == "bt2446c-inverse"
    assert spec.getattribute("chromaticities")[:2] == pytest.approx((0.708, 0.292))


def test_second_run_skips_complete_frames_and_redoes_changed_ones(capsys, show):
    assert main(["batch", str(show / "shots.toml"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["batch", str(show / "shots.toml"), "--no-progress"]) == 0
    assert "0 frames rendered, 8 already complete" in capsys.readouterr().out
    (show / "shots.toml").write_text(SHOTS.replace("white_level = 2.0", "white_level = 3.0"))
    assert main(["batch", str(show / "shots.toml"), "--no-progress"]) == 0
    assert "3 frames rendered, 5 already complete" in capsys.readouterr().out


def test_killed_batch_resumes_without_corrupt_frames(show):
    frames = 24
    for frame in range(1001, 1001 + frames):
        write_image(show / "plates" / f"long.{frame}.png", gradient_plate(256, 384, seed=frame))
    (show / "long.toml").write_text(
        '[[shot]]\nname = "long"\nplate = "plates/long.####.png"\n'
        'output = "renders/long/long.####.exr"\nmodel = "inverse-hable"\n'
    )
    command = [
        sys.executable,
        "-m",
        "hdr_plugin",
        "batch",
        str(show / "long.toml"),
        "--no-progress",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = show / "renders" / "long"
    deadline = time.time() + 60

    def finished():  # final names only; a killed write leaves a hidden temporary file
        return [n for n in exr_names(out) if not n.startswith(".")]

    while len(finished()) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = finished()
    assert 0 < len(written) < frames, "kill landed mid-shot"
    for name in written:  # whatever carries a final name is a whole, readable EXR
        assert read_exr(out / name)[0].shape == (256, 384, 3)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert (
        f"{frames - len(written)} frames rendered, {len(written)} already complete" in result.stdout
    )
    assert (
        len([p for p in out.iterdir() if p.suffix == ".exr" and not p.name.startswith(".")])
        == frames
    )


def test_dask_local_cluster_equals_serial_bit_for_bit(show, tmp_path_factory):
    config = load_shots(show / "shots.toml")
    serial = execute(plan(config.shots), progress=False)
    serial_bytes = {r.output: open(r.output, "rb").read() for r in serial}
    for path in serial_bytes:
        os.unlink(path)
    distributed = execute(plan(config.shots), local_cluster=2, progress=False)
    assert not [r.error for r in distributed if r.error]
    assert {r.output: open(r.output, "rb").read() for r in distributed} == serial_bytes


def test_process_workers_equal_serial(capsys, show):
    assert main(["batch", str(show / "shots.toml"), "--no-progress"]) == 0
    serial = {p.name: p.read_bytes() for p in (show / "renders").rglob("*.exr")}
    assert (
        main(["batch", str(show / "shots.toml"), "--no-progress", "--workers", "2", "--force"]) == 0
    )
    assert {p.name: p.read_bytes() for p in (show / "renders").rglob("*.exr")} == serial


def test_frames_and_chunks_for_farm_tasks(capsys, show):
    args = ["batch", str(show / "shots.toml"), "--no-progress", "--shots", "sh010"]
    assert main([*args, "--chunk", "2/2"]) == 0
    assert exr_names(show / "renders") == ["sh010.1004.exr", "sh010.1005.exr"]
    assert main([*args, "--frames", "1001"]) == 0
    assert "sh010.1001.exr" in exr_names(show / "renders")
    assert main([*args, "--chunk", "3/2"]) == 1
    assert "--chunk '3/2'" in capsys.readouterr().err


def test_a_failing_frame_is_retried_reported_and_not_dropped(capsys, show):
    frame = show / "plates" / "sh010.1003.png"
    frame.write_bytes(frame.read_bytes()[:200])  # the header reads, the pixels do not
    assert main(["batch", str(show / "shots.toml"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "hdr-plugin: failed: sh010 frame 1003:" in err and "sh010.1003.png" in err
    assert "1 frame(s) failed after a retry" in err
    assert "sh010.1004.exr" in exr_names(show / "renders")  # the other frames still render


A = "[[shot]]\nname = 'a'\nplate = 'p'\noutput = 'o'\n"
TWICE = "[[shot]]\nname = 'a'\nplate = 'p'\noutput = 'o.{shot}'\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (A + "modle = 'linear'", "shot #1 ('a'): unknown key 'modle'"),
        ("[[shot]]\nname = 'a'\noutput = 'o'", "shot #1 ('a'): missing key 'plate'"),
        ("[[shot]]\nname = 'a b'\nplate = 'p'\noutput = 'o'", "key 'name' must be a shot name"),
        (A + "mix = 'half'", "shot #1 ('a'): key 'mix' must be a number, got 'half'"),
        (A + "write_masks = 'no'", "shot #1 ('a'): key 'write_masks' must be true or false"),
        (A + "matte_invert = 'no'", "shot #1 ('a'): key 'matte_invert' must be true or false"),
        (A + "model_options = 3", "shot #1 ('a'): key 'model_options' must be a table"),
        (A + "white_level = true", "key 'white_level' must be a number, got True"),
        (A + "frames = '10-x'", "shot #1 ('a'): key 'frames'"),
        (A + "model = 'magic'", "shot 'a': unknown model 'magic'"),
        (A + "mix = 3.0", "shot 'a': knob mix=3.0 is outside"),
        (TWICE + TWICE, "shot 'a' is defined twice"),
        ("[defaults]\nmodle = 1\n" + A, "[defaults]: unknown key 'modle'"),
        (A + "[defaults]\noutput = 0", "show.toml: [defaults]: key 'output' must be a string"),
        ("[[shot]\nname = 'a'", "not valid TOML"),
        ("[defaults]\nmodel = 'linear'", "no [[shot]] entries"),
    ],
)
def test_malformed_configs_name_the_shot_and_key(text, message):
    with pytest.raises(HdrPluginError) as info:
        parse_shots(text, "show.toml")
    assert message in str(info.value)
    assert "show.toml" in str(info.value)


def test_unknown_shot_filter(show):
    with pytest.raises(ConfigError, match="no shot 'sh999'; shots: sh010, sh020"):
        load_shots(show / "shots.toml").select(["sh999"])


def test_publish_integrates_a_versioned_folder_with_a_manifest(show):
    context = publish(show / "shots.toml", show / "publish", shots=["sh020"])
    (instance,) = list(context)
    folder = show / "publish" / "sh020" / "v001"
    assert instance.data["publishDir"] == str(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"] == "linear" and manifest["weights_hash"] == "none (analytic)"
    assert manifest["knobs"]["white_level"] == 2.0
    assert [f["frame"] for f in manifest["frames"]] == [1002, 1003, 1004]
    import hashlib

    for entry in manifest["frames"]:
        assert hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    publish(show / "shots.toml", show / "publish", shots=["sh020"])
    assert (show / "publish" / "sh020" / "v002" / "manifest.json").is_file()


def test_failed_validation_blocks_the_publish(show):
    bad = gradient_plate(seed=9)
    bad[3, 3] = np.nan
    write_image(show / "plates" / "sh010.1002.exr", bad, "float")
    os.unlink(show / "plates" / "sh010.1002.png")
    (show / "plates" / "sh010.1004.png").unlink()
    with pytest.raises(
        HdrPluginError, match=r"ValidatePlates \(sh010\): .*missing frame\(s\): 1002, 1004"
    ):
        publish(show / "shots.toml", show / "publish")
    assert not (show / "publish" / "sh010").exists()
    assert not (show / "renders" / "sh010").exists()  # nothing was extracted


def test_publish_cli_reports_validation_failure_in_one_line(capsys, show):
    (show / "plates" / "sh020.1003.png").unlink()
    code = main(["publish", str(show / "shots.toml"), "--publish-root", str(show / "publish")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "ValidatePlates (sh020)" in err[0] and "1003" in err[0]


def test_shots_from_an_otio_timeline(tmp_path):
    otio = pytest.importorskip("opentimelineio")
    timeline = otio.schema.Timeline(name="reel")
    track = otio.schema.Track()
    timeline.tracks.append(track)
    reference = otio.schema.ImageSequenceReference(
        target_url_base=str(tmp_path / "plates"),
        name_prefix="sh030.",
        name_suffix=".png",
        start_frame=1001,
        frame_zero_padding=4,
        rate=24,
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(48, 24)
        ),
    )
    clip = otio.schema.Clip(
        name="sh030",
        media_reference=reference,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(8, 24), otio.opentime.RationalTime(10, 24)
        ),
    )
    track.append(clip)
    path = tmp_path / "reel.otio"
    otio.adapters.write_to_file(timeline, str(path))
    text = shots_from_otio(path, output="renders/{shot}/{shot}.####.exr", model="linear")
    config = parse_shots(text, tmp_path / "shots.toml")
    assert main(["import-otio", str(path), "-o", str(tmp_path / "reel.toml"), "-m", "linear"]) == 0
    assert (tmp_path / "reel.toml").read_text() == text
    (shot,) = config.shots
    assert shot.name == "sh030"
    assert shot.job.input == str(tmp_path / "plates" / "sh030.####.png")
    assert shot.job.frames == "1009-1018"


@pytest.mark.parametrize(
    "model",
    ["bt2446c-inverse", "highlight-unet", "unet-native", "hybrid-mnv3", "singlehdr", "layered"],
)
def test_sample_sequence_does_not_flicker(model, color, capsys):
    """Frame-to-frame change of mean luminance follows the plate's own (the camera pans).

    Whole-frame statistics are held per shot, as the render loops do.
    """
    from hdr_plugin.train.evaluate import held_shot
    from hdr_plugin.train.metrics import flicker

    frames = [read_image(SAMPLE_PLATES / f"pan.{f}.png").rgb for f in range(1001, 1025)]
    options = {} if model == "bt2446c-inverse" else {"device": "cpu"}
    change = flicker(held_shot(frames, color, model, options), held_shot(frames, color, "linear"))
    with capsys.disabled():
        print(f"\n{model}: max frame-to-frame flicker {change:.5f} (natural log of mean luminance)")
    assert change < 0.005  # under 0.007 stops between any two frames


def test_clipped_pixels_of_the_default_follow_the_pan(color, capsys):
    """After undoing the camera's pan, clipped pixels change by at most 0.01 stops a frame."""
    from hdr_plugin.train.evaluate import held_shot
    from hdr_plugin.train.metrics import shot_stability

    frames = [read_image(SAMPLE_PLATES / f"pan.{f}.png").rgb for f in range(1001, 1025)]
    change = shot_stability(frames, held_shot(frames, color))
    with capsys.disabled():
        print(f"\ndefault: mean frame-to-frame change of clipped pixels {change:.4f} stops")
    assert change <= 0.01


def test_an_h264_encode_of_the_sample_pan_stays_stable(color, tmp_path, capsys):
    """The frames of one H.264 movie (CRF 18, 4:2:0) are all read as compressed, and the
    default's clipped pixels follow the pan within 0.02 stops a frame.

    Not yet the 0.01 of lossless plates: the codec's own noise moves the plain decode of
    these pixels 0.009 stops a frame, and the default adds as much again (0.018; 0.017
    before the clip detector).
    """
    import shutil
    import subprocess

    import torch

    from hdr_plugin.models.highlight_unet.clip import chroma_subsampled
    from hdr_plugin.train.evaluate import held_shot
    from hdr_plugin.train.metrics import shot_stability

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (CI installs it)")
    movie = tmp_path / "pan.mp4"
    encode = ["-framerate", "24", "-start_number", "1001", "-i", str(SAMPLE_PLATES / "pan.%d.png"),
              "-vf", "scale=out_color_matrix=bt709:out_range=tv", "-c:v", "libx264", "-crf", "18",
              "-pix_fmt", "yuv420p", str(movie)]  # fmt: skip
    decode = ["-i", str(movie), "-vf", "scale=in_color_matrix=bt709:in_range=tv",
              "-pix_fmt", "rgb24", str(tmp_path / "f.%04d.png")]  # fmt: skip
    for command in (encode, decode):
        subprocess.run(["ffmpeg", "-v", "error", "-y", *command], check=True)
    frames = [read_image(p).rgb for p in sorted(tmp_path.glob("f.*.png"))]
    assert len(frames) == 24
    linear = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2) ** 2.2
    assert chroma_subsampled(linear).all()
    change = shot_stability(frames, held_shot(frames, color))
    plain = shot_stability(frames, held_shot(frames, color, "linear"))
    with capsys.disabled():
        print(f"\nH.264: mean frame-to-frame change of clipped pixels {change:.4f} stops "
              f"(the plain decode: {plain:.4f})")  # fmt: skip
    assert change <= 0.02
