"""highlight-unet and the gate of the image networks: exact below the clip, light only added.

Built with random weights in a temporary $HDR_PLUGIN_WEIGHTS, so that these specify the
architecture whatever the shipped weights are (tests/test_shipped_weights.py covers those).
"""

import shutil

import numpy as np
import pytest
import torch

from hdr_plugin.color import LINEAR_REC709
from hdr_plugin.export import export_torchscript
from hdr_plugin.io import read_image
from hdr_plugin.models import create_model, get_spec
from hdr_plugin.models.engine.gate import GATE_THRESHOLD, LinearGate
from hdr_plugin.models.engine.weights import save_weights
from hdr_plugin.models.highlight_unet.arch import HighlightUNet, _box_max
from hdr_plugin.models.highlight_unet.clip import CLIP_LINEAR, NEAR_CLIP, chroma_subsampled
from hdr_plugin.node import ReconstructNode, ReconstructSettings
from tests.conftest import REPO, gradient_plate

TINY = {"widths": [4, 8, 8], "proxy_edge": 64}
CROP = REPO / "tests" / "fixtures" / "sunset_crop.png"


@pytest.fixture
def weights(tmp_path, monkeypatch):
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(tmp_path))
    torch.manual_seed(0)
    net = HighlightUNet(**TINY)
    with torch.no_grad():  # gains well above 1, so that "only clipped channels" is visible
        net.head.bias.fill_(1.0)
        net.head.weight.normal_(std=0.3)
    save_weights(net, tmp_path / get_spec("highlight-unet").weights, {"architecture": TINY})
    return tmp_path


def render(model, plate, color):
    node = ReconstructNode(
        ReconstructSettings(model=model, model_options={"device": "cpu", "precision": "float32"})
        if model != "linear"
        else ReconstructSettings(model="linear"),
        color,
    )
    return node.process_frame(plate, input_colorspace="srgb").rgb


def test_unclipped_channels_are_the_linearisation_and_clipped_ones_only_brighter(color, weights):
    plate = read_image(CROP).rgb
    out = render("highlight-unet", plate, color)
    linear = render("linear", plate, color)
    code709 = color.convert(plate, "srgb", "Linear Rec.709 (sRGB)")
    clipped = code709 >= CLIP_LINEAR
    assert clipped.any() and (~clipped).any()
    out709 = color.convert(out, "Linear Rec.2020", "Linear Rec.709 (sRGB)")
    linear709 = color.convert(linear, "Linear Rec.2020", "Linear Rec.709 (sRGB)")
    np.testing.assert_allclose(out709[~clipped], linear709[~clipped], rtol=1e-4, atol=1e-5)
    assert (out709[clipped] >= linear709[clipped] * (1 - 1e-4)).all()  # OCIO float paths
    assert out709[clipped].mean() > 1.5 * linear709[clipped].mean()


def test_a_plate_without_clipped_pixels_is_returned_as_it_is(color, weights):
    plate = np.clip(gradient_plate(48, 64) * 0.8, 0, 0.9).astype(np.float32)
    np.testing.assert_allclose(
        render("highlight-unet", plate, color), render("linear", plate, color), atol=1e-5
    )


@pytest.mark.parametrize("size", [(64, 64), (90, 161), (200, 300)])
def test_torchscript_export_matches_the_python_model(color, weights, tmp_path, size):
    model = create_model("highlight-unet", color, {"device": "cpu", "precision": "float32"})
    path = export_torchscript(model, tmp_path / "hu.pt")
    exported = torch.jit.load(str(path))
    plate = gradient_plate(*size, seed=2)
    linear709 = np.clip(color.convert(plate, "srgb", model.spec.input_encoding), 0, 1)
    python = model(linear709)
    x = torch.from_numpy(np.ascontiguousarray(linear709)).permute(2, 0, 1)[None]
    with torch.no_grad():
        script = exported(x)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(script, python, rtol=1e-4, atol=1e-5)


def test_gate_changes_only_clipped_channels_and_never_darkens(color):
    gate = LinearGate.from_ocio(color, "srgb", LINEAR_REC709)
    code = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 0.99
    code[..., :8, :8] = 1.0  # every channel clipped
    code[:, 0, 8:16, :8] = 1.0  # only red clipped
    linear = color.convert(code[0].permute(1, 2, 0).numpy(), "srgb", LINEAR_REC709)
    linear = torch.from_numpy(linear).permute(2, 0, 1)[None]
    darker = gate(code, torch.zeros(1, 3, 32, 32))  # a network that predicts black everywhere
    torch.testing.assert_close(darker, linear, rtol=1e-4, atol=1e-5)
    brighter = gate(code, torch.full((1, 3, 32, 32), 10.0))
    unclipped = code < GATE_THRESHOLD
    torch.testing.assert_close(brighter[unclipped], linear[unclipped], rtol=1e-4, atol=1e-5)
    assert (brighter[..., :16, :8][~unclipped[..., :16, :8]] > 9.9).all()  # the network's value
    blend = gate(code, torch.zeros(1, 3, 32, 32), positive=False)  # training: HDRCNN's blend
    assert (blend[..., :8, :8] < 1e-6).all()


def test_gate_blends_in_the_plate_primaries_whatever_the_output_space(color):
    """The output-space gate is the Rec.709 gate followed by the primaries matrix."""
    code = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    code[:, 0, :8] = 1.0
    hdr709 = 1.0 + 4.0 * torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    to_2020 = color.convert(np.eye(3, dtype=np.float32), LINEAR_REC709, "Linear Rec.2020").T
    matrix = torch.from_numpy(np.ascontiguousarray(to_2020))

    def mix(rgb):
        return torch.einsum("ij,njhw->nihw", matrix, rgb)

    out709 = LinearGate.from_ocio(color, "srgb", LINEAR_REC709)(code, hdr709)
    out2020 = LinearGate.from_ocio(color, "srgb", "Linear Rec.2020")(code, mix(hdr709))
    torch.testing.assert_close(out2020, mix(out709), rtol=1e-4, atol=1e-5)


def test_the_gain_weight_rises_from_the_edge_of_a_clipped_region():
    net = HighlightUNet(**TINY, feather=4)
    share = torch.zeros(1, 3, 24, 40)
    share[..., 2:22, 2:22] = 1.0  # a broad clipped region
    share[:, 1, 0, 39] = 1.0  # one clipped proxy pixel of green, far from it
    weight = net.depth_weight(share)[0]
    row = weight[0, 12]
    assert (weight[share[0] == 0] == 0).all()  # outside the clip: no gain at all
    assert 0 < row[2] < 0.2 and row[12] == 1.0  # from a small share at the edge to full
    assert torch.all(torch.diff(row[2:13]) >= 0)  # rising inwards
    assert weight[1, 0, 39] == 1.0  # a region smaller than the feather: full at its core


@pytest.mark.parametrize("radius", [1, 2, 5, 8])
def test_box_maximum_is_max_pooling_that_ignores_the_frame_edge(radius):
    x = torch.randn(2, 3, 19, 33)
    expected = torch.nn.functional.max_pool2d(x, 2 * radius + 1, stride=1, padding=radius)
    assert torch.equal(_box_max(x, radius), expected)


@pytest.mark.parametrize(
    "window", [[0, 37, 0, 53], [10, 11, 20, 21], [0, 5, 40, 53], [30, 37, 0, 9], [7, 29, 3, 50]]
)
def test_the_expanding_path_on_a_window_is_the_whole_unets_there(window):
    # Gains are only needed inside clipped regions: the U-Net's expanding path runs there
    # alone, and must give what the whole U-Net gives (odd sizes: uneven pooling levels).
    torch.manual_seed(1)
    net = HighlightUNet(widths=(4, 6, 8, 10), proxy_edge=37).eval()
    x = torch.randn(1, 6, 37, 53)
    with torch.no_grad():
        whole = net.features(x, [0, 37, 0, 53])
        part = net.features(x, window)
    r0, r1, c0, c1 = window
    torch.testing.assert_close(part, whole[:, :, r0:r1, c0:c1], rtol=1e-5, atol=1e-6)


def _through(plate: np.ndarray, codec: str) -> np.ndarray:
    from hdr_plugin.train.degrade import deliver

    return deliver(plate, codec, 10 if codec.startswith("prores") else 8)


def _linear(color, plate: np.ndarray) -> torch.Tensor:
    linear = np.clip(color.convert(plate, "srgb", LINEAR_REC709), 0, 1)
    return torch.from_numpy(np.ascontiguousarray(linear)).permute(2, 0, 1)[None]


@pytest.mark.parametrize("codec", ["jpeg:85", "jpeg:95", "h264:18", "prores:3"])
def test_a_codecs_subsampled_chroma_is_read_from_the_plate_whatever_its_crop(color, codec):
    if not codec.startswith("jpeg") and shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (CI installs it)")
    plate = read_image(CROP).rgb
    assert not chroma_subsampled(_linear(color, plate))  # stored losslessly: full chroma
    delivered = _through(plate, codec)
    assert chroma_subsampled(_linear(color, delivered))
    assert chroma_subsampled(_linear(color, delivered[1:, 3:]))  # a crop by odd offsets
    grey = np.repeat(delivered.mean(axis=-1, keepdims=True), 3, axis=-1)
    assert not chroma_subsampled(_linear(color, grey))  # nothing to tell from


def _net(color) -> HighlightUNet:
    return create_model("highlight-unet", color, {"device": "cpu", "precision": "float32"}).net


def test_a_lossless_plate_changes_at_its_top_code_only(color, weights):
    plate = read_image(CROP).rgb
    plate[:8, :, 0] = 254 / 255  # one code below the clip: the scene is below it there
    linear = _linear(color, plate)
    assert not chroma_subsampled(linear)
    with torch.no_grad():
        out = _net(color)(linear)
    top = linear >= CLIP_LINEAR
    assert top.any() and not top[:, 0, :8].any()
    assert torch.equal(out[~top], linear[~top])  # bit for bit
    assert (out[top] >= linear[top]).all() and out[top].mean() > 1.2


def test_on_a_compressed_plate_a_speckled_highlight_is_lifted_as_a_whole(color, weights):
    """JPEG leaves part of a clipped highlight below the top code; the detector's
    probability lifts those channels too, and nothing far from the clip changes."""
    plate = read_image(CROP).rgb
    linear = _linear(color, _through(plate, "jpeg:85"))
    net = _net(color)
    with torch.no_grad():  # a detector sure of every near-clip channel
        net.detector.head.weight.zero_()
        net.detector.head.bias.fill_(20.0)
        out = net(linear)
    clipped = torch.from_numpy(plate >= 1.0).permute(2, 0, 1)[None]
    speckled = clipped & (linear < CLIP_LINEAR) & (linear >= NEAR_CLIP)
    assert int(speckled.sum()) > 50
    assert (out[speckled] >= CLIP_LINEAR * (1 - 1e-6)).all()  # lifted to the clip at least
    assert out[speckled].mean() > 1.5
    far = linear < NEAR_CLIP
    assert torch.equal(out[far], linear[far])


def test_torchscript_export_keeps_the_detector(color, weights, tmp_path):
    model = create_model("highlight-unet", color, {"device": "cpu", "precision": "float32"})
    path = export_torchscript(model, tmp_path / "hu.pt")
    x = _linear(color, _through(read_image(CROP).rgb, "jpeg:80"))
    assert chroma_subsampled(x)
    with torch.no_grad():
        script = torch.jit.load(str(path))(x)[0].permute(1, 2, 0).numpy()
    python = model(x[0].permute(1, 2, 0).numpy())
    np.testing.assert_allclose(script, python, rtol=1e-4, atol=1e-5)


def test_tuning_the_detector_through_the_reconstruction_moves_the_detector_alone(color, weights):
    """The end-to-end fine-tune reaches the detector through the U-Net's gains and the
    blend, and leaves the U-Net (which also serves lossless plates) as it was."""
    from hdr_plugin.train.highlight_unet import tune_clip_detector

    plate = read_image(CROP).rgb
    linear = _linear(color, _through(plate, "jpeg:85"))[0].permute(1, 2, 0).numpy()
    truth = (plate >= 1.0).astype(np.float32)
    hdr = read_image(CROP.with_suffix(".exr")).rgb
    net = _net(color)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    tune_clip_detector(
        net, linear[None], truth[None], hdr[None], np.eye(3, dtype=np.float32), steps=2,
        batch=2, crop=64,
    )  # fmt: skip
    after = net.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert moved and all(k.startswith("detector.") for k in moved)
    assert any(k.startswith("detector.stem") for k in moved)  # gradients reach its first layer
