"""``--input-colorspace auto``: the camera-curve estimate, its decision and the node's use of it."""

import numpy as np
import pytest
import torch

import hdr_plugin.node as node_module
from hdr_plugin.crf import SAMPLES, camera_curves, curve_names
from hdr_plugin.models.camera_curve import (
    TONE_MAPPED_CONFIDENCE,
    CurveEstimate,
    decide,
    is_display_curve,
)
from hdr_plugin.models.camera_curve.arch import CurveNet, reference_inverses
from hdr_plugin.models.camera_curve.decision import srgb_distances, tone_mapped_targets
from hdr_plugin.models.camera_curve.statistics import (
    FEATURES,
    LEVELS,
    REFERENCE_CURVES,
    code_histograms,
    log_slope_profile,
    shading_inconsistency,
)
from hdr_plugin.node import AUTO, ReconstructNode, ReconstructSettings
from tests.conftest import gradient_plate


def one_hot(name: str) -> np.ndarray:
    probabilities = np.zeros(len(curve_names()))
    probabilities[curve_names().index(name)] = 1.0
    return probabilities


def test_a_display_encoding_is_decoded_by_ocio_as_srgb(color):
    estimate = decide(one_hot("gamma 2.2"), 0.1, color)
    assert estimate.name == "srgb" and estimate.inverse is None


def test_a_confident_tone_mapped_estimate_inverts_that_curve(color):
    estimate = decide(one_hot("hable W=8"), (1.0 + TONE_MAPPED_CONFIDENCE) / 2, color)
    assert estimate.inverse is not None and "hable W=8" in estimate.name
    grid = np.linspace(0, 1, SAMPLES)
    forward = camera_curves(color)["hable W=8"]
    code = np.interp(np.array([0.05, 0.3, 0.7]), grid, forward)[None, None, :]
    linear = estimate.linearise(np.repeat(code[..., None], 3, axis=-1)[0])
    np.testing.assert_allclose(linear[0, :, 0], [0.05, 0.3, 0.7], atol=2e-3)
    assert np.all(np.diff(estimate.inverse) >= 0) and estimate.inverse[-1] == pytest.approx(1.0)


def test_a_doubtful_estimate_stays_on_srgb(color):
    half = TONE_MAPPED_CONFIDENCE - 0.05
    assert decide(one_hot("hable W=8"), half, color).inverse is None


def test_the_classes_split_into_display_and_tone_mapped_curves():
    display = [n for n in curve_names() if is_display_curve(n)]
    assert {"srgb", "bt1886", "gamma22"} <= set(display)
    assert not any(n.startswith(("hable", "reinhard", "log", "s-curve")) for n in display)


def test_slope_profile_shows_a_filmic_toe_and_shoulder(color):
    """On one scene, gradients fade faster towards white and black under Hable than sRGB."""
    ramp = np.linspace(0.0, 1.0, 256)
    scene = np.tile(ramp, (64, 1))
    curves = camera_curves(color)
    grid = np.linspace(0, 1, SAMPLES)
    profiles = {}
    for name in ("srgb", "hable W=8"):
        code = np.interp(scene, grid, curves[name]).astype(np.float32)
        x = torch.from_numpy(np.repeat(code[None, None], 3, axis=1))
        features = code_histograms(x, bins=16).reshape(2, 3, 16)[1, 0]  # slope profile, R
        profiles[name] = features.numpy()
    filmic, srgb = profiles["hable W=8"], profiles["srgb"]
    assert filmic[-2:].mean() < srgb[-2:].mean() - 0.2  # the shoulder
    assert filmic[0] < srgb[0] - 1.0  # the toe


def shaded_scene(size: int = 192, seed: int = 0, *, patches: bool = False) -> np.ndarray:
    """Scene-linear (size, size, 3): coloured surfaces under strong, smooth shading.

    With ``patches`` the albedo is a 4 x 4 grid of random colours (hard material edges),
    else a slowly varying colour field (edges are nearly all shading).
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    shading = np.exp(2.0 * np.sin(9 * x + 3 * y) * np.cos(7 * y - 2 * x))
    if patches:
        albedo = rng.uniform(0.05, 1.0, size=(16, 3))[(x * 4).astype(int) + 4 * (y * 4).astype(int)]
    else:
        phase = rng.uniform(0, 2 * np.pi, size=3)
        albedo = 0.5 + 0.45 * np.sin(1.5 * x[..., None] + y[..., None] + phase)
    scene = albedo * shading[..., None]
    return scene / np.quantile(scene, 0.98)


def encode(color, scene: np.ndarray, curve: str) -> torch.Tensor:
    """(1, 3, H, W) code values of a scene through a family curve (clipped at 1)."""
    grid = np.linspace(0, 1, SAMPLES)
    code = np.interp(np.clip(scene, 0, 1), grid, camera_curves(color)[curve]).astype(np.float32)
    return torch.from_numpy(code).permute(2, 0, 1)[None]


@pytest.mark.parametrize("seed", [0, 1])
def test_log_slope_profile_falls_towards_white_under_a_filmic_shoulder(color, seed):
    """Shading edges: channel log-gradients agree under a power law, not on a shoulder."""
    scene = shaded_scene(seed=seed)
    upper = slice(LEVELS // 2, LEVELS - 1)  # code levels 0.5-0.875
    profiles = {
        c: log_slope_profile(encode(color, scene, c))[0, :LEVELS] for c in ("srgb", "hable W=8")
    }
    assert profiles["hable W=8"][upper].mean() < profiles["srgb"][upper].mean() - 0.3
    middle = slice(1, LEVELS - 2)  # away from black and from the clip
    power_law = log_slope_profile(encode(color, scene, "gamma 2.4"))[0, middle]
    assert power_law.abs().mean() < 0.2


@pytest.mark.parametrize("curve", ["srgb", "hable W=8", "reinhard W=4", "log a=86.6"])
def test_the_true_curve_explains_the_shading_edges_best(color, curve):
    inconsistency = shading_inconsistency(
        encode(color, shaded_scene(patches=True), curve), reference_inverses(color)
    )[0]
    assert REFERENCE_CURVES[int(inconsistency.argmin())] == curve or inconsistency[
        REFERENCE_CURVES.index(curve)
    ] == pytest.approx(float(inconsistency.min()))
    if curve != "srgb":
        assert inconsistency[REFERENCE_CURVES.index(curve)] < -5.0  # clearly better than sRGB


def test_tone_mapped_targets_keep_display_encodings_on_srgb(color):
    targets = dict(zip(curve_names(), tone_mapped_targets(color), strict=True))
    assert targets["srgb"] == targets["gamma22"] == targets["bt1886"] == 0.0
    assert targets["hable W=8"] == targets["reinhard W=4"] == 1.0
    assert np.isnan(targets["gamma 1.0"])  # far from sRGB, but no tone-mapped curve either
    distance = dict(zip(curve_names(), srgb_distances(color), strict=True))
    assert distance["srgb"] == 0.0 and distance["bt1886"] < distance["hable W=8"]


def test_network_shapes():
    net = CurveNet()
    statistics = net.statistics(torch.rand(2, 3, 96, 128))
    assert statistics.shape == (2, FEATURES) and torch.isfinite(statistics).all()
    logits, tone = net(torch.rand(2, 3, 96, 128))
    assert logits.shape == (2, len(curve_names())) and tone.shape == (2,)


def test_the_estimate_reads_the_whole_plate_its_mirror_and_its_quarters():
    from hdr_plugin.models.camera_curve.arch import PROXY_EDGE, views

    plate = np.random.default_rng(0).random((270, 480, 3), dtype=np.float32)
    proxies = views(plate)
    assert len(proxies) == 6
    assert [min(v.shape[-2:]) for v in proxies] == [PROXY_EDGE] * 2 + [135] * 4
    torch.testing.assert_close(proxies[1], proxies[0].flip(-1))
    assert len(views(plate[:40, :60])) == 2  # too small to quarter


class _Fixed:
    """A stand-in estimator that always decides the same, counting its calls."""

    def __init__(self, estimate: CurveEstimate):
        self.estimate_value, self.calls = estimate, 0
        self.weights_hash = "sha256:test"

    def estimate(self, code):
        self.calls += 1
        return self.estimate_value


@pytest.fixture
def fixed_estimator(monkeypatch):
    def install(estimate):
        stub = _Fixed(estimate)
        monkeypatch.setattr(node_module, "load_curve_estimator", lambda color: stub)
        monkeypatch.setattr(node_module, "require_curve_estimator", lambda: None)
        return stub

    return install


def test_auto_on_an_srgb_estimate_equals_the_named_colourspace(color, fixed_estimator):
    fixed_estimator(CurveEstimate("srgb", 0.1))
    plate = gradient_plate(40, 56)
    auto = ReconstructNode(ReconstructSettings(model="linear", input_colorspace=AUTO), color)
    named = ReconstructNode(ReconstructSettings(model="linear", input_colorspace="srgb"), color)
    result = auto.process_frame(plate)
    np.testing.assert_array_equal(result.rgb, named.process_frame(plate).rgb)
    assert result.input_curve == "srgb"


def test_auto_decodes_with_the_estimated_curve_and_holds_it_for_the_shot(color, fixed_estimator):
    from hdr_plugin.models.camera_curve.decision import inverse_curves

    inverse = inverse_curves(color)[curve_names().index("hable W=8")]
    stub = fixed_estimator(CurveEstimate("hable W=8", 0.95, inverse))
    node = ReconstructNode(ReconstructSettings(model="linear", input_colorspace=AUTO), color)
    assert node.holds_statistics
    node.hold_statistics(gradient_plate(32, 48, seed=1))
    calls = stub.calls
    plate = gradient_plate(32, 48, seed=2)
    result = node.process_frame(plate)
    assert stub.calls == calls  # held: no estimate per frame, so a shot cannot flicker
    expected = color.convert(
        CurveEstimate("x", 1.0, inverse).linearise(plate),
        "Linear Rec.709 (sRGB)",
        "Linear Rec.2020",
    )
    np.testing.assert_allclose(result.rgb, expected, rtol=1e-4, atol=1e-5)
    assert result.input_curve == "hable W=8"
