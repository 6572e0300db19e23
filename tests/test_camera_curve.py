"""``--input-colorspace auto``: the camera-curve estimate, its decision and the node's use of it."""

import numpy as np
import pytest
import torch

import hdr_plugin.node as node_module
from hdr_plugin.crf import SAMPLES, camera_curves, invert_curve
from hdr_plugin.models.camera_curve import KNOTS, CurveEstimate, decide
from hdr_plugin.models.camera_curve.arch import CurveNet, reference_inverses
from hdr_plugin.models.camera_curve.decision import (
    DISPLAY_DISTANCE,
    at_knots,
    display_distance,
    ten_bit,
)
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


def inverse_of(color, name: str) -> np.ndarray:
    return at_knots(invert_curve(camera_curves(color)[name]))


def plate_of_bits(bits: int) -> np.ndarray:
    levels = 2**bits - 1
    return np.round(gradient_plate(40, 56) * levels) / levels


@pytest.mark.parametrize("name", ["srgb", "gamma22", "gamma 2.3"])
def test_an_estimate_near_a_display_encoding_is_decoded_by_ocio_as_srgb(color, name):
    estimate = decide(inverse_of(color, name), plate_of_bits(8), color)
    assert estimate.name == "srgb_rec709_scene" and estimate.inverse is None
    assert estimate.tone_mapped < 0.5 and estimate.distance < DISPLAY_DISTANCE


def test_a_display_estimate_on_a_ten_bit_plate_is_decoded_as_bt1886(color):
    estimate = decide(inverse_of(color, "bt1886"), plate_of_bits(10), color)
    assert estimate.name == "g24_rec709_scene" and estimate.inverse is None
    assert ten_bit(plate_of_bits(10)) and not ten_bit(plate_of_bits(8))
    assert not ten_bit(gradient_plate(40, 56))  # float plates: no grid, no BT.1886 guess


def test_a_tone_mapped_estimate_decodes_by_its_own_curve(color):
    forward = camera_curves(color)["reinhard W=32"]
    estimate = decide(at_knots(invert_curve(forward)), plate_of_bits(8), color)
    assert estimate.name == "estimated" and estimate.tone_mapped > 0.5
    grid = np.linspace(0, 1, SAMPLES)
    code = np.interp(np.array([0.05, 0.3, 0.7]), grid, forward)
    linear = estimate.linearise(np.repeat(code[None, :, None], 3, axis=-1))
    np.testing.assert_allclose(linear[0, :, 0], [0.05, 0.3, 0.7], rtol=0.05)
    assert np.all(np.diff(estimate.inverse) >= 0) and estimate.inverse[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["hable W=2", "reinhard W=32", "log a=570"])
def test_strong_shoulders_are_beyond_the_decision_distance(color, name):
    """Shoulders no display plate is mistaken for: their true inverse is taken. (Milder ones,
    such as the filmic camera's Hable W=8, lie among display plates' estimates and are left
    to the default decode: ``auto`` moves only when sure.)"""
    assert display_distance(inverse_of(color, name), color) > DISPLAY_DISTANCE


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


@pytest.mark.parametrize("curve", ["srgb", "reinhard W=8", "reinhard W=4", "log a=86.6"])
def test_the_true_curve_explains_the_shading_edges_best(color, curve):
    inconsistency = shading_inconsistency(
        encode(color, shaded_scene(patches=True), curve), reference_inverses(color)
    )[0]
    assert REFERENCE_CURVES[int(inconsistency.argmin())] == curve or inconsistency[
        REFERENCE_CURVES.index(curve)
    ] == pytest.approx(float(inconsistency.min()))
    if curve != "srgb":
        assert inconsistency[REFERENCE_CURVES.index(curve)] < -5.0  # clearly better than sRGB


def test_the_untrained_estimate_is_srgb_and_every_estimate_is_a_monotonic_inverse(color):
    net = CurveNet()
    statistics = net.statistics(torch.rand(2, 3, 96, 128))
    assert statistics.shape == (2, FEATURES) and torch.isfinite(statistics).all()
    with torch.no_grad():
        curve = net(torch.rand(2, 3, 96, 128))
        assert curve.shape == (2, len(KNOTS))
        np.testing.assert_allclose(curve[0].numpy(), inverse_of(color, "srgb"), atol=0.02)
        net.increments.weight.normal_()
        wild = net(torch.rand(2, 3, 96, 128))
    assert torch.all(torch.diff(wild, dim=1) > 0)
    torch.testing.assert_close(wild[:, 0], torch.zeros(2))
    torch.testing.assert_close(wild[:, -1], torch.ones(2))


def test_the_estimate_reads_the_whole_plate_and_its_quarters():
    from hdr_plugin.models.camera_curve.arch import PROXY_EDGE, CurveNet, views

    plate = np.random.default_rng(0).random((270, 480, 3), dtype=np.float32)
    proxies = views(plate)
    assert len(proxies) == 5
    assert [min(v.shape[-2:]) for v in proxies] == [PROXY_EDGE] + [135] * 4
    assert len(views(plate[:40, :60])) == 1  # too small to quarter
    # The whole plate counts twice in the mean, for its mirror image, which an estimate
    # once read too: the statistics cannot tell a plate from its mirror.
    net = CurveNet()
    mirrored = net.statistics(proxies[0].flip(-1))
    torch.testing.assert_close(mirrored, net.statistics(proxies[0]), rtol=1e-4, atol=1e-5)


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
    fixed_estimator(CurveEstimate("srgb_rec709_scene", 0.1, 0.02))
    plate = gradient_plate(40, 56)
    auto = ReconstructNode(ReconstructSettings(model="linear", input_colorspace=AUTO), color)
    named = ReconstructNode(ReconstructSettings(model="linear", input_colorspace="srgb"), color)
    result = auto.process_frame(plate)
    np.testing.assert_array_equal(result.rgb, named.process_frame(plate).rgb)
    assert result.input_curve.name == "srgb_rec709_scene"


def test_auto_decodes_with_the_estimated_curve_and_holds_it_for_the_shot(color, fixed_estimator):
    inverse = invert_curve(camera_curves(color)["hable W=8"]).astype(np.float32)
    stub = fixed_estimator(CurveEstimate("estimated", 0.95, 0.6, inverse))
    node = ReconstructNode(ReconstructSettings(model="linear", input_colorspace=AUTO), color)
    assert node.holds_statistics
    node.hold_statistics(gradient_plate(32, 48, seed=1))
    calls = stub.calls
    plate = gradient_plate(32, 48, seed=2)
    result = node.process_frame(plate)
    assert stub.calls == calls  # held: no estimate per frame, so a shot cannot flicker
    expected = color.convert(
        CurveEstimate("x", 1.0, 0.6, inverse).linearise(plate),
        "Linear Rec.709 (sRGB)",
        "Linear Rec.2020",
    )
    np.testing.assert_allclose(result.rgb, expected, rtol=1e-4, atol=1e-5)
    assert result.input_curve.name == "estimated"


@pytest.mark.parametrize(
    "suffix, fmt, bits",
    [("tif", "uint16", 16), ("png", "uint16", 16), ("dpx", "uint16", 10), ("exr", "float", 32)],
)
def test_ten_bit_values_are_recognised_in_any_container(tmp_path, suffix, fmt, bits):
    import OpenImageIO as oiio

    from hdr_plugin.io import read_image
    from tests.conftest import write_image

    def stored(name, values):
        path = write_image(tmp_path / f"{name}.{suffix}", values, fmt, oiio__BitsPerSample=bits)
        assert oiio.ImageInput.open(str(path)).spec().get_int_attribute("oiio:BitsPerSample") in (
            bits,
            0,
        )
        return read_image(path).rgb

    assert ten_bit(stored("ten", plate_of_bits(10)))
    if bits > 10:  # a 10-bit DPX makes any values 10-bit
        assert not ten_bit(stored("eight", plate_of_bits(8)))
        assert not ten_bit(stored("sixteen", plate_of_bits(16)))


@pytest.mark.parametrize(
    "container, bits",
    [("png8", 8), ("png16", 10), ("tiff16", 12), ("dpx10", 10), ("dpx12", 12), ("exr-half", 10)],
)
def test_a_display_delivery_reads_back_what_its_container_holds(container, bits):
    from hdr_plugin.train.display_set import store

    levels = 2**bits - 1
    rng = np.random.default_rng(bits)
    code = (np.round(rng.random((16, 24, 3)) * levels) / levels).astype(np.float32)
    read = store(code, container, bits, rng)
    # Half floats near white step by 1/2048: a 12-bit value may land half a step away.
    tolerance = 2.5e-4 if container == "exr-half" else 0.2 / levels
    np.testing.assert_allclose(read, code, atol=tolerance)
    assert ten_bit(read) == (bits == 10 and container != "exr-half")


@pytest.mark.parametrize("curve", ["srgb", "gamma 2.2", "gamma 2.6", "bt1886-black"])
def test_display_curves_map_black_and_white_to_the_ends_of_the_code_range(color, curve):
    from hdr_plugin.train.display_set import encode

    ramp = np.repeat(np.linspace(0, 1, 11, dtype=np.float32)[:, None], 3, axis=1)
    code = encode(ramp, curve, color, black=5e-3)
    np.testing.assert_allclose(code[[0, -1], 0], [0.0, 1.0], atol=1e-5)
    assert (np.diff(code[:, 0]) > 0).all()


@pytest.mark.parametrize("curve", ["srgb", "gamma 2.2", "gamma 2.4", "gamma 2.6", "bt1886-black"])
def test_auto_keeps_the_default_decode_of_display_plates_however_they_were_stored(color, curve):
    """A scene no estimator trained on (the sunset crop), every display curve, stored as
    8-bit PNG, 10-bit DPX, half EXR, a JPEG and an H.264 frame: none is taken for
    tone-mapped, so ``auto`` decodes each as a display encoding through OCIO."""
    import shutil

    from hdr_plugin.color import LINEAR_REC709, WORKING_SPACE
    from hdr_plugin.io import read_image
    from hdr_plugin.models.camera_curve import load_estimator
    from hdr_plugin.train.display_set import encode, store
    from tests.conftest import REPO

    hdr = read_image(REPO / "tests" / "fixtures" / "sunset_crop.exr").rgb
    linear = np.clip(color.convert(hdr, WORKING_SPACE, LINEAR_REC709), 0.0, 1.0)
    estimator = load_estimator(color)
    rng = np.random.default_rng(0)
    containers = [("png8", 8), ("dpx10", 10), ("exr-half", 12), ("jpeg", 8)]
    if shutil.which("ffmpeg"):  # CI installs it
        containers.append(("h264", 8))
    for container, bits in containers:
        levels = 2**bits - 1
        code = np.round(encode(linear, curve, color, black=5e-3) * levels) / levels
        plate = np.clip(store(code.astype(np.float32), container, bits, rng), 0.0, 1.0)
        estimate = estimator.estimate(plate)
        assert estimate.inverse is None, f"{curve} in {container}: {estimate}"
        assert estimate.tone_mapped < 0.5
