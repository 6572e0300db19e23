"""The same battery for every learned model, built tiny and with random weights.

Weights are written by the test into a temporary $HDR_PLUGIN_WEIGHTS folder through the
same safetensors + model card path that training uses.
"""

import numpy as np
import pytest
import torch

from hdr_plugin.errors import ModelError
from hdr_plugin.models import architecture, create_model, get_spec, network_models
from hdr_plugin.models.engine.weights import save_weights
from hdr_plugin.models.hybrid.arch import HybridMNV3
from hdr_plugin.models.layered.arch import PartialConv2d
from hdr_plugin.models.singlehdr.arch import monotonic_curve
from hdr_plugin.node import ReconstructNode, ReconstructSettings
from tests.conftest import gradient_plate

#: Every network the render engine runs: the battery covers what users get, the default
#: included, and a new registered network fails here until it has a tiny configuration.
NETWORKS = network_models()
TINY = {
    "highlight-unet": {"widths": [4, 8], "proxy_edge": 32},
    "unet-native": {"width": 4, "levels": 3},
    "hybrid-mnv3": {"width_mult": 0.25, "decoder_width": 4},
    "singlehdr": {"width": 4, "resnet_width": 8},
    "layered": {"width": 4, "levels": 3},
}
#: Largest tiled-vs-whole difference (scene-linear, reference white 1.0) when the frame is
#: no larger than the whole-frame statistics size: the tiling itself is exact.
TILED_TOLERANCE = 1e-3
#: Largest mean log1p difference when whole-frame statistics come from the frame at half
#: size (as for 4K frames, whose statistics come from 1024 px).
DOWNSCALED_STATISTICS_TOLERANCE = 0.1


def build(name, seed=0):
    config = TINY[name]
    torch.manual_seed(seed)
    net = architecture(name)(**config)
    with torch.no_grad():  # random but deterministic weights, including norm statistics
        for buffer_name, buffer in net.named_buffers():
            if buffer_name.endswith("running_var"):
                buffer.uniform_(0.5, 1.5)
    return net.eval(), config


@pytest.fixture
def weights(tmp_path, monkeypatch):
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(tmp_path))
    for name in NETWORKS:
        net, config = build(name)
        save_weights(net, tmp_path / get_spec(name).weights, {"architecture": config})
    return tmp_path


def test_every_registered_network_is_in_the_battery():
    assert "highlight-unet" in NETWORKS
    assert set(NETWORKS) == set(TINY)


@pytest.mark.parametrize("name", NETWORKS)
def test_refuses_to_render_without_weights(name, color, tmp_path, monkeypatch):
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(tmp_path))
    with pytest.raises(ModelError, match="no trained weights.*will not render"):
        create_model(name, color)


@pytest.mark.parametrize("name", NETWORKS)
def test_output_contract(name, color, weights):
    model = create_model(name, color, {"device": "cpu"})
    plate = gradient_plate(40, 56)
    out = model(plate)
    assert out.shape == plate.shape and out.dtype == np.float32
    assert np.isfinite(out).all()
    assert out.min() >= -1e-3
    assert model.weights_hash.startswith("sha256:")


@pytest.mark.parametrize("name", NETWORKS)
def test_a_card_the_architecture_rejects_is_one_model_error(name, color, weights):
    net, _ = build(name)
    save_weights(net, weights / get_spec(name).weights, {"architecture": {"nonsense": -1}})
    with pytest.raises(ModelError, match="model card architecture does not fit"):
        create_model(name, color)


@pytest.mark.parametrize("name", NETWORKS)
def test_tiled_agrees_with_whole_frame(name, color, weights, capsys):
    exact = {"device": "cpu", "precision": "float32"}
    whole_frame = get_spec(name).whole_frame
    tiled_model = create_model(name, color, exact if whole_frame else exact | {"tile": 64})
    # Whole-frame networks (a proxy of the frame) have no tile options: the same budget
    # must leave them whole.
    tiled_model.tile_budget = 4096
    size = tiled_model.tile + 72  # larger than one tile in both directions
    plate = gradient_plate(size, size + 40, seed=3)
    whole = create_model(name, color, exact)(plate)
    tiled = tiled_model(plate)
    difference = float(np.abs(tiled - whole).max())
    # Whole-frame statistics taken from a downscaled frame, as for 4K/8K frames:
    tiled_model.global_size = size // 2
    error = np.abs(np.log1p(tiled_model(plate)) - np.log1p(whole))
    with capsys.disabled():
        print(
            f"\n{name} {size}x{size + 40}: tiled vs whole max abs {difference:.1e}; "
            f"with half-size statistics log1p difference mean {error.mean():.1e}, "
            f"max {error.max():.1e}"
        )
    assert difference < TILED_TOLERANCE * max(1.0, float(whole.max()))
    # Statistics of a frame at half size stay close to the frame's own (mean log error).
    assert error.mean() < DOWNSCALED_STATISTICS_TOLERANCE


@pytest.mark.parametrize("name", NETWORKS)
def test_fixed_seed_is_deterministic(name):
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    x[..., 16:40, 16:40] = 1.0  # a clipped region, where every network adds light
    with torch.inference_mode():
        a = build(name, seed=7)[0](x)
        b = build(name, seed=7)[0](x)
        c = build(name, seed=8)[0](x)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)


def test_inverse_crf_is_monotonic_with_fixed_ends():
    net, _ = build("singlehdr")
    with torch.inference_mode():
        curve = net.global_context(torch.rand(2, 3, 64, 64))
    assert curve.shape == (2, 1024)
    assert torch.all(torch.diff(curve, dim=-1) >= 0)
    torch.testing.assert_close(curve[:, 0], torch.zeros(2))
    torch.testing.assert_close(curve[:, -1], torch.ones(2))
    wild = monotonic_curve(torch.randn(4, 1024).cumsum(-1) * -1)
    assert torch.all(torch.diff(wild, dim=-1) >= 0)


def test_hallucination_residual_is_positive_and_only_in_highlights():
    net, _ = build("singlehdr")
    x = torch.full((1, 3, 64, 64), 0.5)
    x[..., 16:32, 16:32] = 1.0
    with torch.inference_mode():
        stages = net.stages(x)
    assert stages["residual"].min() >= 0
    added = stages["hallucinated"] - stages["linear"]
    assert added.min() >= 0
    assert added[..., :8, :8].abs().max() == 0  # alpha = 0 away from the clipped square


def test_partial_conv_mask_update_shrinks_holes():
    conv = PartialConv2d(3, 4, 3)
    mask = torch.ones(1, 3, 16, 16)
    mask[..., 4:12, 4:12] = 0
    x = torch.rand(1, 3, 16, 16)
    out, new_mask = conv(x, mask)
    hole_before = int((mask[0, 0] == 0).sum())
    hole_after = int((new_mask[0, 0] == 0).sum())
    assert hole_after == 6 * 6 < hole_before == 8 * 8
    assert torch.all(out[:, :, 5:11, 5:11] == 0)
    # Changing pixels inside the hole does not change the output.
    x2 = x.clone()
    x2[..., 4:12, 4:12] = 5.0
    torch.testing.assert_close(conv(x2, mask)[0], out)


def test_hybrid_loads_an_imagenet_backbone_in_torchvision_layout_and_freezes_it(tmp_path):
    donor = HybridMNV3(width_mult=0.25).encoder
    state = {
        k: torch.randn_like(v) if v.is_floating_point() else v
        for k, v in donor.state_dict().items()
    }
    state["classifier.0.weight"] = torch.zeros(4, 4)  # classifier keys are ignored
    path = tmp_path / "mobilenet_v3_large.pth"
    torch.save(state, path)
    net = HybridMNV3(width_mult=0.25, backbone=str(path))
    torch.testing.assert_close(net.encoder.features[0][0].weight, state["features.0.0.weight"])
    assert not any(p.requires_grad for p in net.encoder.parameters())
    assert any(p.requires_grad for p in net.decoders.parameters())


def test_weights_of_another_width_name_the_layer(color, weights):
    net, _ = build("unet-native")
    save_weights(
        net, weights / "unet-native.safetensors", {"architecture": {"width": 8, "levels": 3}}
    )
    with pytest.raises(
        ModelError, match=r"layer 'unet.encoders.0.0.weight' has shape \(4, 3, 3, 3\)"
    ):
        create_model("unet-native", color)


def test_pickled_weights_are_refused_by_the_registry(color, weights):
    torch.save(build("unet-native")[0].state_dict(), weights / "unet-native.safetensors")
    with pytest.raises(ModelError, match="is a pickle"):
        create_model("unet-native", color)


def test_node_passes_its_mask_threshold_to_models_that_use_it(color, weights):
    node = ReconstructNode(ReconstructSettings(model="singlehdr", mask_threshold=0.8), color)
    assert node.model.net.mask_threshold == 0.8
    assert node.model_options["mask_threshold"] == 0.8
    out = node.process(gradient_plate(32, 32))
    assert np.isfinite(out).all()


def test_wls_smooths_texture_but_keeps_edges():
    from hdr_plugin.models.layered.arch import wls_filter

    torch.manual_seed(0)
    step = torch.full((1, 3, 48, 48), 0.2)
    step[..., 24:] = 0.8
    noisy = (step + 0.03 * torch.randn_like(step)).clamp(0, 1)
    base = wls_filter(noisy)
    assert (base - step)[..., :, 4:20].std() < 0.5 * (noisy - step)[..., :, 4:20].std()
    assert base[..., :, 25:].mean() - base[..., :, :23].mean() > 0.55  # edge kept
    assert (base[..., :, 24] - base[..., :, 23]).mean() > 0.5  # and sharp


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NETWORKS)
def test_cuda_engine_agrees_with_cpu(name, color, weights):
    plate = gradient_plate(96, 128, seed=5)
    cpu = create_model(name, color, {"device": "cpu", "precision": "float32"})(plate)
    cuda_model = create_model(name, color, {"device": "cuda"})
    assert cuda_model.device.type == "cuda"
    gpu = cuda_model(plate)
    # bf16 activations: compare in log space, where HDR errors are perceived.
    assert np.abs(np.log1p(gpu) - np.log1p(cpu)).max() < 0.1


@pytest.mark.parametrize("name", NETWORKS)
def test_batched_frames_equal_single_frames(name, color, weights):
    model = create_model(name, color, {"device": "cpu", "precision": "float32"})
    frames = [gradient_plate(48, 64, seed=s) for s in range(3)]
    model.tile_budget = 2 * 48 * 64  # two frames per batch, then one
    batched = model.run_batch(frames)
    for frame, out in zip(frames, batched, strict=True):
        np.testing.assert_allclose(out, model(frame), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", NETWORKS)
def test_bfloat16_agrees_with_float32(name, color, weights):
    """bf16 convolutions (auto on CPUs with native bf16 units) stay close in log space."""
    plate = gradient_plate(96, 128, seed=6)
    exact = create_model(name, color, {"device": "cpu", "precision": "float32"})(plate)
    fast = create_model(name, color, {"device": "cpu", "precision": "bfloat16"})
    assert fast.dtype == torch.bfloat16
    error = np.abs(np.log1p(fast(plate)) - np.log1p(exact))
    assert error.mean() < 0.01 and error.max() < 0.15
