"""Training: data split, camera pipeline, losses, metrics, steps, resume, weights export."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from hdr_plugin.cli import main
from hdr_plugin.errors import ConfigError, ModelError
from hdr_plugin.models import create_model
from hdr_plugin.train import losses, metrics
from hdr_plugin.train.data import SPLITS, make_split, scene_family
from hdr_plugin.train.degrade import EVALUATION_PIPELINES, Pipeline, synthesize
from hdr_plugin.train.trainer import TrainConfig, make_trainer
from tests.conftest import write_image

TINY = {
    "unet-native": {"width": 4, "levels": 3},
    "hybrid-mnv3": {"width_mult": 0.25, "decoder_width": 4},
    "singlehdr": {"width": 4, "resnet_width": 8},
    "layered": {"width": 4, "levels": 3},
}


def hdr_scene(height, width, seed):
    """Scene-linear image with a smooth background and a very bright source."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.05 + 0.4 * (np.sin(x / 9 + seed) * np.cos(y / 7) * 0.5 + 0.5)
    rgb = np.stack([base, base * 0.8, base * 0.6], -1) * rng.uniform(0.7, 1.3, 3).astype(np.float32)
    sun = np.exp(-((x - width * 0.6) ** 2 + (y - height * 0.4) ** 2) / (2 * (height / 10) ** 2))
    return (rgb + 40.0 * sun[..., None] * np.array([1.0, 0.9, 0.7], np.float32)).astype(np.float32)


@pytest.fixture(scope="module")
def hdr_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hdr")
    write_image(folder / "alpha_01_1k.hdr", hdr_scene(96, 192, 0), "float")
    write_image(folder / "alpha_02_1k.hdr", hdr_scene(96, 192, 1), "float")
    write_image(folder / "beta.exr", hdr_scene(120, 140, 2), "half")
    write_image(folder / "delta.exr", hdr_scene(128, 128, 3), "half")
    write_image(folder / "gamma.exr", hdr_scene(110, 150, 4), "half")
    write_image(folder / "epsilon.exr", hdr_scene(100, 130, 5), "half")
    return folder


def test_split_is_by_scene_family(hdr_folder):
    assert scene_family("brown_photostudio_01_1k.hdr") == "brown_photostudio"
    assert scene_family("Carrots.exr") == "Carrots"
    split = make_split(hdr_folder)
    # Families alpha, beta, delta, epsilon, gamma: the third is test, the fifth validation.
    assert split["test"] == ["delta.exr"]
    assert split["validation"] == ["gamma.exr"]
    assert "alpha_01_1k.hdr" in split["train"] and "alpha_02_1k.hdr" in split["train"]


def test_committed_split_keeps_families_together():
    from hdr_plugin.train.data import SPLIT_FILE

    split = json.loads(SPLIT_FILE.read_text())
    train, validation, test = ({scene_family(f) for f in split[k]} for k in SPLITS)
    assert not train & validation and not train & test and not validation & test
    assert sum(len(split[k]) for k in SPLITS) == 109
    assert len(test) == 19 and len(validation) == 10


def test_a_grown_data_set_keeps_every_earlier_family_where_it_was(hdr_folder):
    earlier = make_split(hdr_folder)
    write_image(hdr_folder / "alpha_03_1k.hdr", hdr_scene(96, 192, 6), "float")
    for index, name in enumerate(("zeta", "eta", "theta", "iota", "kappa", "lambda")):
        write_image(hdr_folder / f"{name}.exr", hdr_scene(64, 64, 7 + index), "half")
    grown = make_split(hdr_folder, earlier)
    for name in SPLITS:
        assert set(earlier[name]) <= set(grown[name])
    assert "alpha_03_1k.hdr" in grown["train"]  # its family was training
    # The six new families split by the rule among themselves (eta iota kappa lambda
    # theta zeta): the third is test.
    assert set(grown["test"]) - set(earlier["test"]) == {"kappa.exr"}


def test_a_packed_copy_without_the_test_images_keeps_the_committed_split(tmp_path, monkeypatch):
    """scripts/pack_training_data.py writes EXRs of the training and validation images."""
    from hdr_plugin.train import data

    committed = {
        "train": ["alpha_01_1k.hdr", "beta.exr"], "validation": ["gamma.hdr"],
        "test": ["delta.hdr"], "test_families": ["delta"], "validation_families": ["gamma"],
    }  # fmt: skip
    monkeypatch.setattr(data, "SPLIT_FILE", tmp_path / "split.json")
    data.SPLIT_FILE.write_text(json.dumps(committed))
    copy = tmp_path / "copy"
    copy.mkdir()
    for stem in ("alpha_01_1k", "beta", "gamma"):
        (copy / f"{stem}.exr").touch()
    split = data.load_split(copy)
    assert split["train"] == ["alpha_01_1k.exr", "beta.exr"]
    assert split["validation"] == ["gamma.exr"] and split["test"] == []
    (copy / "gamma.exr").unlink()  # a validation image missing: not the shared data
    assert data.load_split(copy)["validation"] != ["gamma.exr"]


def test_a_run_stopped_by_the_clock_still_ends_annealed():
    from hdr_plugin.train.trainer import scheduled_lr

    timed = TrainConfig(model="unet-native", steps=10_000, lr=1e-3, max_minutes=10)
    assert scheduled_lr(timed, 5000, seconds=60) == pytest.approx(scheduled_lr(timed, 5000))
    assert scheduled_lr(timed, 300, seconds=599.9) == pytest.approx(1e-4, rel=1e-3)
    untimed = dataclasses.replace(timed, max_minutes=None)
    assert scheduled_lr(untimed, 300, seconds=599.9) > 9e-4


def test_camera_pipeline_clips_the_asked_fraction_and_keeps_units(color):
    hdr = hdr_scene(64, 64, 5)
    pair = synthesize(
        hdr,
        color,
        np.random.default_rng(0),
        Pipeline(clipped_fraction=0.1, noise=0, jpeg=0, bits=8),
    )
    assert abs((pair.linear_clipped.max(-1) >= 1.0).mean() - 0.1) < 0.01
    assert pair.sdr.min() >= 0 and pair.sdr.max() <= 1
    np.testing.assert_allclose(pair.sdr * 255, np.round(pair.sdr * 255), atol=1e-3)  # 8-bit
    # Unclipped pixels: the sRGB camera's linearisation gives back the target.
    srgb = synthesize(hdr, color, np.random.default_rng(0), EVALUATION_PIPELINES["srgb-2"])
    linear = create_model("linear", color)(
        srgb.continuous if hasattr(srgb, "continuous") else srgb.sdr_continuous
    )
    unclipped = srgb.linear_clipped.max(-1) < 0.9
    np.testing.assert_allclose(linear[unclipped], srgb.hdr[unclipped], rtol=0.02, atol=2e-3)


def test_jpeg_and_noise_change_the_plate(color):
    hdr = hdr_scene(64, 64, 6)
    clean = synthesize(
        hdr, color, np.random.default_rng(1), Pipeline(noise=0, jpeg=0, bits=8, curve="srgb")
    )
    dirty = synthesize(
        hdr, color, np.random.default_rng(1), Pipeline(noise=1, jpeg=1, bits=8, curve="srgb")
    )
    assert dirty.info["jpeg"] is not None
    assert np.abs(dirty.sdr - clean.sdr).mean() > 1e-3


def test_pu21_matches_published_values():
    # 100 cd/m² -> about 256, 10000 cd/m² -> 595.39 (gfxdisp/pu21, banding_glare).
    np.testing.assert_allclose(
        metrics.pu21_encode(np.array([100.0, 10000.0])), [256.3839, 595.3939], atol=1e-3
    )
    assert metrics.pu21_encode(np.array([0.0])) == metrics.pu21_encode(np.array([0.005]))


def test_psnr_and_scale_fit_by_hand():
    reference = np.array([1.0, 2.0, 3.0, 4.0])
    assert metrics.psnr(reference + 0.1, reference, peak=1.0) == pytest.approx(20.0)
    ref = np.random.default_rng(0).uniform(0.1, 2, (8, 8, 3))
    mask = np.ones((8, 8), bool)
    assert metrics.fit_scale(ref / 3.0, ref, mask) == pytest.approx(3.0)
    sdr = np.full((2, 2, 3), 0.5)
    sdr[0, 0] = [1.0, 0.2, 0.1]
    np.testing.assert_array_equal(metrics.clipped_region(sdr), [[True, False], [False, False]])
    np.testing.assert_array_equal(metrics.well_exposed(sdr), [[False, True], [True, True]])


def test_log_psnr_by_hand():
    reference = np.array([[0.01, 100.0]])
    test = np.array([[0.1, 100.0]])  # off by one decade on one of two pixels
    # MSE = 0.5 (log10 units), peak = 4 decades -> 10 log10(16 / 0.5)
    assert metrics.log_psnr(test, reference, eps=0) == pytest.approx(10 * np.log10(16 / 0.5))


def test_score_of_perfect_prediction_is_infinite_psnr():
    hdr = hdr_scene(32, 32, 7)
    sdr = np.clip(hdr, 0, 1)
    result = metrics.score(hdr * 2.0, hdr, sdr)  # any global scale is fitted away
    assert result["pu21_psnr"] > 100 and result["pu21_ssim"] == pytest.approx(1.0)


def test_hdr_flip_is_zero_for_a_perfect_prediction_and_grows_with_highlight_error(color):
    pytest.importorskip("flip_evaluator")
    hdr = hdr_scene(48, 64, 3)
    sdr = np.clip(hdr, 0, 1)

    def to_rec709(rgb):
        return color.convert(rgb, "Linear Rec.2020", "Linear Rec.709 (sRGB)")

    def flip_of(prediction):
        return metrics.score(prediction, hdr, sdr, to_rec709=to_rec709)["hdr_flip"]

    assert flip_of(hdr * 2.0) == pytest.approx(0.0, abs=1e-6)  # the scale is fitted away
    clipped = np.minimum(hdr, 1.0)
    assert 0.0 < flip_of(np.where(hdr > 1, 0.5 * hdr + 0.5, hdr)) < flip_of(clipped) <= 1.0
    # Without a conversion to Rec.709 (FLIP's space) the metric is not scored.
    assert "hdr_flip" not in metrics.score(hdr, hdr, sdr)


def test_losses_by_hand():
    x = torch.zeros(1, 1, 2, 2)
    y = torch.ones(1, 1, 2, 2)
    assert losses.l1(x, y) == 1.0
    assert losses.total_variation(torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])) == pytest.approx(1.0)
    assert losses.log_l2(
        torch.full((1,), np.e - 1e-3), torch.full((1,), 1 - 1e-3)
    ) == pytest.approx(1.0)
    valid = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]])
    assert losses.hole_valid_l1(x, y, valid) == pytest.approx(0.75 + 6 * 0.25)
    clipped = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])
    scene = torch.ones(2, 3, 2, 2)
    brighter = scene.clone()
    brighter[:, :, 1, 1] = 100.0  # only outside the clipped pixel: does not count
    floor = np.log(losses.CLIPPED_ERROR_FLOOR)
    assert losses.log_clipped_pu21_error(brighter, scene, clipped) == pytest.approx(floor)
    error = (losses.pu21(torch.tensor(4.0)) - losses.pu21(torch.tensor(1.0))) ** 2
    assert losses.log_clipped_pu21_error(4 * scene, scene, clipped) == pytest.approx(
        float(torch.log(error + losses.CLIPPED_ERROR_FLOOR))
    )
    img = torch.rand(1, 3, 32, 32)
    assert metrics.ssim(img, img) == pytest.approx(1.0)
    assert metrics.ssim(img, torch.rand(1, 3, 32, 32)) < 0.5


def config(hdr_folder, tmp_path, model, **extra):
    values = {
        "model": model, "architecture": TINY.get(model, {}), "data": str(hdr_folder),
        "output": str(tmp_path / model), "batch": 2, "crop": 64, "views_per_image": 2,
        "steps": 6, "val_every": 1000, "checkpoint_every": 1000, "device": "cpu", "lr": 1e-3,
    }  # fmt: skip
    values.update(extra)
    return TrainConfig(**values)


@pytest.mark.parametrize("model", list(TINY))
def test_loss_goes_down_on_a_fixed_batch(model, hdr_folder, tmp_path, color):
    trainer = make_trainer(
        config(hdr_folder, tmp_path, model, lr=3e-3, steps=60, clip_range=(0.1, 0.2)), color
    )
    batch = trainer.sample_batch()
    trainer.sample_batch = lambda step=None: batch
    first = trainer.train_step()["loss"]
    last = min(trainer.train_step()["loss"] for _ in range(59))
    # Every image network is gated: it changes only clipped channels (10-20 % of the pixels
    # here), and the rest of the loss (noise, quantisation below the clip) is the
    # linearisation's and cannot go down.
    assert last < 0.998 * first, (first, last)


def test_resumed_run_equals_uninterrupted_run(hdr_folder, tmp_path, color):
    straight = make_trainer(config(hdr_folder, tmp_path / "a", "unet-native"), color)
    straight.run(progress=False)
    interrupted = make_trainer(config(hdr_folder, tmp_path / "b", "unet-native"), color)
    for _ in range(3):
        interrupted.train_step()
    interrupted.save_checkpoint()  # then the process dies
    resumed = make_trainer(config(hdr_folder, tmp_path / "b", "unet-native"), color)
    assert resumed.resume() and resumed.step == 3
    resumed.run(progress=False)
    for (name, a), (_, b) in zip(
        straight.net.state_dict().items(), resumed.net.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("model", ["unet-native", "highlight-unet"])
def test_worker_processes_train_the_same_network(model, hdr_folder, tmp_path, color):
    """Batches made ahead by forked workers are the ones the loop would make itself."""
    nets = []
    for workers in (0, 2):
        trainer = make_trainer(
            config(hdr_folder, tmp_path / str(workers), model, steps=4, workers=workers), color
        )
        trainer.run(progress=False)
        nets.append(trainer.net.state_dict())
    for name, value in nets[0].items():
        torch.testing.assert_close(value, nets[1][name], rtol=0, atol=0, msg=name)


def test_a_run_stopped_by_the_clock_keeps_its_steps_when_validation_fails(
    hdr_folder, tmp_path, color
):
    trainer = make_trainer(config(hdr_folder, tmp_path, "unet-native", max_minutes=0.0), color)
    for _ in range(3):
        trainer.train_step()

    def broken():
        raise ModuleNotFoundError("No module named 'pytorch_msssim'")

    trainer.validate = broken
    with pytest.raises(ModuleNotFoundError):
        trainer.run(progress=False)
    assert json.loads((tmp_path / "unet-native" / "checkpoint.json").read_text())["step"] == 3


def test_camera_curve_trains_on_a_cached_pool_of_plates_and_resumes(hdr_folder, tmp_path, color):
    """The estimator's plate statistics are computed once per run and reused on resume."""
    from hdr_plugin.models.camera_curve.statistics import FEATURES
    from hdr_plugin.train.camera_curve import POOL_FILE

    def camera_config(**extra):
        values = {"architecture": {"width": 16}, "batch": 4, "crop": 96, "steps": 4}
        return config(hdr_folder, tmp_path, "camera-curve", val_every=4, **(values | extra))

    trainer = make_trainer(camera_config(), color)
    path = trainer.run(progress=False)
    statistics = trainer._statistics
    assert statistics.shape == (2 * len(trainer._train_files), FEATURES)
    assert torch.isfinite(statistics).all() and (tmp_path / "camera-curve" / POOL_FILE).is_file()
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["training"]["steps"] == 4
    validation = card["validation_during_training"]
    assert {"curve_stops", "display_kept", "tone_mapped_taken"} <= set(validation)
    assert "mobius" in card["training"]["plates"].split("held out:")[1]  # never trained on

    longer = make_trainer(camera_config(steps=6), color)
    assert longer.resume() and longer.step == 4
    longer.prepare(progress=False)  # from the cache: the same plates, not drawn again
    torch.testing.assert_close(longer._statistics, statistics, rtol=0, atol=0)
    longer.run(progress=False)
    assert longer.step == 6


def test_trained_weights_load_through_the_registry(hdr_folder, tmp_path, color, monkeypatch):
    trainer = make_trainer(config(hdr_folder, tmp_path, "layered", steps=2, val_every=2), color)
    path = trainer.run(progress=False)
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["architecture"] == TINY["layered"]
    assert card["training"]["steps"] == 2 and "pu21_psnr" in card["validation_during_training"]
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(path.parent))
    model = create_model("layered", color, {"device": "cpu"})
    assert model.weights_hash == card["weights_hash"]
    assert path.stat().st_size < 1_000_000  # float16, tiny


def test_fine_tuning_starts_from_the_given_weights(hdr_folder, tmp_path, color):
    first = make_trainer(config(hdr_folder, tmp_path / "a", "singlehdr", steps=2), color)
    weights = first.run(progress=False)
    tuned = make_trainer(config(hdr_folder, tmp_path / "b", "singlehdr", init=str(weights)), color)
    shipped = first.export_network().state_dict()  # what the weights file holds (float16)
    for name, tensor in tuned.net.state_dict().items():
        torch.testing.assert_close(tensor, shipped[name].to(tensor.dtype), msg=name)
    other = config(hdr_folder, tmp_path / "c", "singlehdr", init=str(weights))
    other.architecture = {**TINY["singlehdr"], "width": 6}
    with pytest.raises(ModelError, match="shape"):
        make_trainer(other, color)


def test_train_cli_and_bad_config(capsys, hdr_folder, tmp_path):
    toml = tmp_path / "unet.toml"
    toml.write_text(
        'model = "unet-native"\nsteps = 2\nbatch = 1\ncrop = 64\n'
        'views_per_image = 1\ndevice = "cpu"\n'
    )
    args = [
        "train", str(toml), "--no-progress",
        "--set", f"data={str(hdr_folder)!r}",
        "--set", f"output={str(tmp_path / 'run')!r}",
        "--set", "architecture.width=4",
        "--set", "architecture.levels=3",
    ]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "unet-native.safetensors").is_file()
    toml.write_text('model = "unet-native"\nstepz = 2\n')
    assert main(["train", str(toml)]) == 1
    assert "unknown key 'stepz'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="model 'vgg'"):
        TrainConfig.load(None, {"model": "'vgg'"})


def test_evaluate_prints_a_table(capsys, hdr_folder):
    args = [
        "evaluate",
        "-m",
        "linear,inverse-mobius",
        "--data",
        str(hdr_folder),
        "--pipelines",
        "srgb-2,gamma24",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "| linear |" in out and "| inverse-mobius |" in out and "clipped PU21-PSNR" in out
    assert "gamma24 PU21-PSNR" in out
    assert ("srgb-2 HDR-FLIP" in out) == metrics.has_flip()


def test_evaluate_refuses_an_unwritable_json_before_evaluating(capsys, hdr_folder, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    args = [
        "evaluate",
        "-m",
        "linear",
        "--data",
        str(hdr_folder),
        "--json",
        str(blocker / "r.json"),
    ]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "r.json" in captured.err and "cannot write" in captured.err
    assert "| linear |" not in captured.out  # nothing was evaluated


def test_evaluate_names_unknown_pipelines(capsys, hdr_folder):
    assert main(["evaluate", "--data", str(hdr_folder), "--pipelines", "srgb"]) == 1
    err = capsys.readouterr().err
    assert "pipeline 'srgb'" in err and "srgb-2" in err


def test_boundary_step_is_zero_for_the_truth_and_positive_for_a_hard_edge():
    from hdr_plugin.train.metrics import boundary_step

    ramp = np.tile(np.geomspace(0.25, 4.0, 64, dtype=np.float32)[None, :, None], (8, 1, 3))
    code = np.minimum(ramp, 1.0)  # a plate of the ramp, clipped at 1
    smooth = boundary_step(ramp, code)
    hard = ramp.copy()
    hard[code >= 254 / 255] *= 2.0  # one gain over the clipped region: an edge
    assert boundary_step(hard, code) == pytest.approx(smooth + 1.0, abs=1e-4)  # one stop more
    assert np.isnan(boundary_step(ramp, code * 0.5))  # nothing clipped


def test_the_libplacebo_peer_expands_the_plate_it_is_given():
    from hdr_plugin.train.peers import libplacebo_inverse, libplacebo_missing

    missing = libplacebo_missing()
    if missing:
        pytest.skip(f"libplacebo peer unavailable here: {missing}")
    ramp = np.repeat(np.linspace(0.0, 1.0, 64, dtype=np.float32)[None, :, None], 8, axis=0)
    out = libplacebo_inverse(np.repeat(ramp, 3, axis=-1), "srgb")
    assert out.shape == (8, 64, 3) and np.isfinite(out).all()
    assert np.all(np.diff(out[4, :, 1]) >= 0)  # monotonic in the code value
    # Inverse tone mapping: white expands far above mid-grey's share under plain sRGB.
    assert out[4, -1, 1] / out[4, 32, 1] > 2.0 * (1.0 / 0.2195)


def test_the_aces_1_view_camera_renders_through_the_show_config_and_is_named_by_it(
    hdr_folder, color
):
    from hdr_plugin.color import ColorContext
    from hdr_plugin.train.evaluate import evaluate

    camera = EVALUATION_PIPELINES["aces1-view"]
    show = ColorContext(camera.config)
    pair = synthesize(hdr_scene(48, 64, 3), color, np.random.default_rng(0), camera)
    below = (pair.sdr < 0.9).all(axis=-1)
    # Below the view's white the inverse of the same view gives the scene back (8-bit codes).
    plain = show.convert_view(pair.sdr, "lin_rec2020_scene", camera.view, inverse=True)
    np.testing.assert_allclose(plain[below], pair.hdr[below], rtol=0.05, atol=2e-3)
    results = evaluate(
        ["linear"], data=hdr_folder, pipelines=["aces1-view"], limit=1, view_size=64, peers=False
    )
    # `linear` named by the view is OCIO's plain inverse: far closer than an sRGB decode.
    srgb = evaluate(
        ["linear"], data=hdr_folder, pipelines=["aces-view"], limit=1, view_size=64, peers=False
    )
    assert results["linear"]["aces1-view"]["pu21_psnr"] > srgb["linear"]["aces-view"]["pu21_psnr"]


def test_evaluate_measures_the_peer_beside_the_models(hdr_folder):
    from hdr_plugin.train.evaluate import evaluate, format_table
    from hdr_plugin.train.peers import LIBPLACEBO, libplacebo_missing

    if libplacebo_missing():
        pytest.skip(f"libplacebo peer unavailable here: {libplacebo_missing()}")
    results = evaluate(
        ["linear"], data=hdr_folder, pipelines=["srgb-2", "mobius"], limit=1, view_size=64
    )
    assert set(results) == {"linear", LIBPLACEBO}
    assert results[LIBPLACEBO]["mobius"]["images"] == results["linear"]["mobius"]["images"]
    table = format_table(results)
    assert "mobius (mobius)" in table and f"| {LIBPLACEBO} |" in table


def test_speckle_measures_tell_a_patchy_highlight_from_a_smooth_one():
    from hdr_plugin.train.metrics import speckle_roughness, speckle_share

    y, x = np.mgrid[0:32, 0:32].astype(np.float32)
    truth = np.repeat(
        (1.0 + 3.0 * np.exp(-((x - 16) ** 2 + (y - 16) ** 2) / 60.0))[..., None], 3, -1
    )
    sdr = np.minimum(truth, 1.0)
    smooth = truth * 0.9 + 0.1  # lifted everywhere the scene is, a little short
    patchy = truth.copy()
    patchy[::2, ::2] = 1.0  # a quarter of the highlight left at the clip, in a checker
    assert speckle_share(smooth, truth, sdr) == 0.0
    assert 0.2 < speckle_share(patchy, truth, sdr) < 0.3
    assert abs(speckle_roughness(smooth, truth, sdr)) < 0.05
    assert speckle_roughness(patchy, truth, sdr) > 0.1
    assert np.isnan(speckle_share(truth * 0.5, truth * 0.5, sdr * 0.5))  # nothing clipped


@pytest.mark.parametrize("camera", ["jpeg-85", "h264-18", "h265-22", "prores-hq"])
def test_delivery_cameras_compress_the_plate_around_its_clip(color, camera):
    import shutil

    from hdr_plugin.train.degrade import DELIVERY_PIPELINES

    if not camera.startswith("jpeg") and shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    hdr = hdr_scene(64, 96, 4)
    lossless = synthesize(hdr, color, np.random.default_rng(0), DELIVERY_PIPELINES["srgb-4"])
    pair = synthesize(hdr, color, np.random.default_rng(0), DELIVERY_PIPELINES[camera])
    np.testing.assert_allclose(pair.hdr, lossless.hdr)  # the same scene and exposure
    if pair.info["bits"] == 8:  # the same plate, stored losslessly
        np.testing.assert_array_equal(pair.stored, lossless.sdr)
    top = 1 - 0.5 / (2 ** pair.info["bits"] - 1)
    clipped = (pair.stored >= top).any(axis=-1)
    assert clipped.any() and pair.sdr.shape == lossless.sdr.shape
    # Compression moves clipped values below the top code and rings around them.
    assert (pair.sdr[clipped].max(axis=-1) < top).any()
    assert 0 < np.abs(pair.sdr - pair.stored).mean() < 0.05
