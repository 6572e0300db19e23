"""highlight-expand: the OCIO linearisation below the clip, learned gains above it."""

import copy
import json

import numpy as np
import pytest
import torch

from hdr_plugin.errors import ConfigError, ModelError
from hdr_plugin.models import create_model, get_spec
from hdr_plugin.models.highlight import HighlightExpand
from hdr_plugin.models.highlight.arch import (
    CLIP_CODE,
    CONTEXT_FEATURES,
    CONTEXT_SIGMAS,
    FEATURES,
    HighlightNet,
    clip_features,
    expand_highlights,
    gain_context,
    log_gains,
)
from hdr_plugin.train.trainer import TrainConfig, make_trainer
from tests.conftest import write_image
from tests.test_train import hdr_scene


def plate(height=96, width=128):
    """Display-encoded plate with a clipped blob (all channels) and a clipped red edge."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) / height
    blob = np.exp(-((x - width / height / 2) ** 2 + (y - 0.5) ** 2) / (2 * 0.125**2))
    ramp = np.stack([0.3 + 0.2 * x, 0.4 + 0.1 * y, 0.35 + 0.1 * x * y], axis=-1)
    code = ramp + 1.2 * blob[..., None]
    code[:, -6:, 0] = 1.0
    return np.clip(code, 0.0, 1.0).astype(np.float32)


def trained_like(seed=0):
    """A network with random (non-zero) weights: gains differ from pixel to pixel."""
    torch.manual_seed(seed)
    net = HighlightNet()
    for stage in net.stages:
        for p in stage.layers.parameters():
            torch.nn.init.normal_(p, std=0.1)
    return net.eval()


def test_features_of_a_clipped_square_by_hand():
    code = np.full((40, 40, 3), 0.5, np.float32)
    code[15:20, 15:20] = 1.0  # a 5x5 clipped square
    linear = code**2
    features, mask = clip_features(code, linear)
    assert features.shape == (25, FEATURES) and mask.sum() == 25
    distance = np.exp(features[:, 0]) - 1  # log1p of the distance to an unclipped pixel
    assert distance.max() == pytest.approx(3.0) and distance.min() == pytest.approx(1.0)
    assert np.all(features[:, -1] == 3)  # every channel clipped
    np.testing.assert_allclose(features[:, -4:-1], 1.0)  # the code values


def test_no_clipped_pixel_means_no_feature_and_no_change():
    code = np.full((32, 48, 3), CLIP_CODE - 1e-3, np.float32)
    features, mask = clip_features(code, code)
    assert features.shape == (0, FEATURES) and not mask.any()
    linear = code**2.2
    assert np.array_equal(expand_highlights(trained_like(), code, linear), linear)


def test_unclipped_pixels_are_exactly_the_linearisation():
    code = plate()
    linear = code**2.2
    out = expand_highlights(trained_like(), code, linear)
    clipped = code.max(-1) >= CLIP_CODE
    assert np.array_equal(out[~clipped], linear[~clipped])
    assert not np.allclose(out[clipped], linear[clipped])


def test_gains_at_pixels_are_the_full_gain_map_there():
    code = plate(480, 640)  # larger than the proxy: gains are upsampled
    net = trained_like()
    where = np.nonzero(code.max(-1) >= CLIP_CODE)
    full = log_gains(net, code, code**2.2)
    np.testing.assert_allclose(log_gains(net, code, code**2.2, where), full[where], atol=1e-5)


def test_an_untrained_network_is_the_identity():
    code = plate()
    assert np.array_equal(expand_highlights(HighlightNet().eval(), code, code**2), code**2)


def test_gains_do_not_depend_on_frame_size():
    """Features are computed on a proxy of fixed short edge: 2x the pixels, same gains."""
    code = plate(192, 256)
    small = code[::2, ::2]
    net = trained_like()
    big_gains = log_gains(net, code, code**2.2)[::2, ::2]
    small_gains = log_gains(net, small, small**2.2)
    clipped = small.max(-1) >= CLIP_CODE
    inner = clipped & np.roll(clipped, 2, 0) & np.roll(clipped, -2, 0)
    np.testing.assert_allclose(big_gains[inner], small_gains[inner], atol=0.05)


def test_gain_context_averages_over_the_clipped_area_only():
    mask = np.zeros((40, 60), bool)
    mask[10:20, 5:15] = True  # two separate highlights far apart
    mask[10:20, 45:55] = True
    where = np.nonzero(mask)
    gains = np.where(where[1][:, None] < 30, [1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]).astype(np.float32)
    context = gain_context(mask, gains)
    assert context.shape == (200, 3 * len(CONTEXT_SIGMAS))
    # Constant gains over a highlight are their own context at every scale: unclipped
    # pixels (weight 0) never dilute the mean.
    left = where[1] < 30
    for k in range(len(CONTEXT_SIGMAS) - 1):
        np.testing.assert_allclose(context[left, 3 * k : 3 * k + 3] - [1, 2, 3], 0, atol=1e-5)
    # At the widest scale the far highlight leaks in, towards the mean of both.
    widest = context[:, -3:]
    assert np.all(widest[left, 0] < 1.0) and np.all(widest[left, 0] > 0.0)


def test_refining_stages_start_as_the_identity():
    net = HighlightNet(stages=3).eval()
    torch.manual_seed(1)
    for p in net.stages[0].layers.parameters():
        torch.nn.init.normal_(p, std=0.1)
    code = plate()
    features, mask = clip_features(code, code**2.2)
    first = net(torch.from_numpy(features)).detach().numpy()
    # refining stages' last layers start at zero: before training they change nothing
    np.testing.assert_array_equal(net.gains(features, mask), first)
    assert [s.feature_mean.shape[0] for s in net.stages] == [FEATURES, *2 * [CONTEXT_FEATURES]]


def test_model_without_weights_refuses_to_render(color, monkeypatch, tmp_path):
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(tmp_path))
    with pytest.raises(ModelError, match="no trained weights"):
        create_model("highlight-expand", color)


def test_model_matches_linear_below_the_clip(color):
    linear = create_model("linear", color)
    model = HighlightExpand(get_spec("highlight-expand"), color, trained_like(), weights_hash=None)
    code = plate()
    out, reference = model(code), linear(code)
    clipped = code.max(-1) >= CLIP_CODE
    np.testing.assert_allclose(out[~clipped], reference[~clipped], atol=1e-6)
    assert out.dtype == np.float32 and out.shape == code.shape


@pytest.fixture(scope="module")
def hdr_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hdr")
    for index, name in enumerate(("alpha_01.exr", "alpha_02.exr", "beta.exr", "delta.exr")):
        write_image(folder / name, hdr_scene(96, 128, index), "half")
    write_image(folder / "gamma.exr", hdr_scene(100, 120, 9), "half")
    return folder


def config(hdr_folder, tmp_path, **extra):
    values = {
        "model": "highlight-expand", "architecture": {"width": 8, "depth": 1},
        "data": str(hdr_folder), "output": str(tmp_path), "batch": 256, "crop": 64,
        "views_per_image": 2, "steps": 6, "val_every": 1000, "checkpoint_every": 1000,
        "device": "cpu", "lr": 1e-2, "curves": ["srgb", "hable W=8"], "clip_range": (0.03, 0.08),
    }  # fmt: skip
    values.update(extra)
    return TrainConfig(**values)


def test_loss_goes_down_on_a_fixed_batch(hdr_folder, tmp_path, color):
    trainer = make_trainer(config(hdr_folder, tmp_path), color)
    batch = trainer.next_batch()
    assert batch["features"].shape == (256, FEATURES)
    trainer.next_batch = lambda: batch
    first = trainer.train_step()["loss"]
    for _ in range(39):
        last = trainer.train_step()["loss"]
    assert last < 0.9 * first, (first, last)


def test_each_stage_trains_in_turn_on_the_gains_before_it(hdr_folder, tmp_path, color):
    trainer = make_trainer(config(hdr_folder, tmp_path, steps=9), color)
    assert [trainer.stage_at(step)[0] for step in range(9)] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert "context" not in trainer.next_batch()
    rates, finished = [], {}
    for step in range(9):
        if step in (3, 6):  # a stage starts: the one before it is final
            stage = step // 3
            finished[stage - 1] = copy.deepcopy(trainer.net.stages[stage - 1].state_dict())
            assert not torch.any(trainer.net.stages[stage].layers[-1].weight)
            batch = trainer.next_batch()
            assert batch["context"].shape == (256, 3 * len(CONTEXT_SIGMAS))
            assert int(batch["stage"]) == stage
        rates.append(trainer.learning_rate())
        trainer.train_step()
    # each stage has its own schedule: the rate decays, then starts again
    assert rates[2] < rates[0] == rates[3] == rates[6]
    for stage, state in finished.items():
        for name, value in trainer.net.stages[stage].state_dict().items():
            torch.testing.assert_close(value, state[name], rtol=0, atol=0, msg=name)
    assert all(torch.any(stage.layers[-1].weight) for stage in trainer.net.stages)


def test_resume_and_export(hdr_folder, tmp_path, color, monkeypatch):
    straight = make_trainer(config(hdr_folder, tmp_path / "a"), color)
    path = straight.run(progress=False)
    interrupted = make_trainer(config(hdr_folder, tmp_path / "b"), color)
    for _ in range(3):
        interrupted.train_step()
    interrupted.save_checkpoint()
    resumed = make_trainer(config(hdr_folder, tmp_path / "b"), color)
    assert resumed.resume() and resumed.step == 3
    resumed.run(progress=False)
    for (name, a), (_, b) in zip(
        straight.net.state_dict().items(), resumed.net.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)

    card = json.loads(path.with_suffix(".json").read_text())
    assert "srgb, hable W=8" in card["training"]["pairs"]
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(path.parent))
    model = create_model("highlight-expand", color, {"device": "cpu"})
    assert model.weights_hash == card["weights_hash"]
    # The feature standardisation was fitted on the pool and shipped with the weights.
    assert not torch.equal(model.net.stages[0].feature_std, torch.ones(FEATURES))
    assert not torch.equal(model.net.stages[-1].feature_std, torch.ones(CONTEXT_FEATURES))


def test_bad_training_configs():
    with pytest.raises(ConfigError, match="unknown camera curve 'kodak'"):
        TrainConfig.load(None, {"model": "'highlight-expand'", "data": "'.'", "curves": "['kodak']"})
    with pytest.raises(ConfigError, match="clip_range"):
        TrainConfig.load(None, {"model": "'highlight-expand'", "data": "'.'", "clip_range": "[0.3, 0.1]"})
    with pytest.raises(ConfigError, match="no backbone"):
        make_trainer(TrainConfig(model="highlight-expand", backbone="/some/mnv3.pth"))
