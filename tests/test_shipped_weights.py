"""The weights that ship: small, documented, and on a real clipped plate of a scene no model
trained on, the plain linearisation below the highlight and never darker inside it."""

import json

import numpy as np
import pytest

from hdr_plugin.color import LINEAR_REC709
from hdr_plugin.io import read_image
from hdr_plugin.models import (
    BUNDLED_WEIGHTS,
    DEFAULT_MODEL,
    create_model,
    file_hash,
    get_spec,
    has_weights,
    network_models,
)
from hdr_plugin.models.engine.gate import GATE_THRESHOLD
from hdr_plugin.node import ReconstructNode, ReconstructSettings
from hdr_plugin.train.degrade import EVALUATION_PIPELINES
from tests.conftest import REPO

SHIPPED = network_models()
CROP = REPO / "tests" / "fixtures" / "sunset_crop.png"
#: Quantisation of an 8-bit plate after OCIO's float processing (relative, linear light).
QUANTISATION = 1e-4


def test_every_network_ships_and_the_default_is_one_of_them():
    assert DEFAULT_MODEL in SHIPPED
    assert {"unet-native", "hybrid-mnv3", "singlehdr", "layered"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_small_and_documented(name, monkeypatch):
    monkeypatch.delenv("HDR_PLUGIN_WEIGHTS", raising=False)
    spec = get_spec(name)
    assert has_weights(spec)
    weights = BUNDLED_WEIGHTS / spec.weights
    assert weights.stat().st_size < 8_000_000
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["weights_hash"] == file_hash(weights)
    training = card["training"]
    assert training["command"] and training["log"]
    assert (BUNDLED_WEIGHTS / training["log"]).is_file()
    steps = training["steps"]
    if "started_from" in training:  # fine-tuned: the weights it started from are on record
        base = training["started_from"]["training"]
        assert base["command"] and (BUNDLED_WEIGHTS / base["log"]).is_file()
        steps += base["steps"]
    assert steps >= 1000
    assert "pending" not in card["test"], "the model card quotes the model's test-split numbers"
    results = card["test"]["named colourspace"]["results"]
    assert set(results) == set(EVALUATION_PIPELINES)
    assert all(r["images"] > 0 and r["pu21_psnr_clipped"] > 0 for r in results.values())


@pytest.mark.parametrize("name", SHIPPED)
def test_exact_below_the_highlight_and_never_darker_inside_it(name, color, monkeypatch):
    monkeypatch.delenv("HDR_PLUGIN_WEIGHTS", raising=False)
    plate = read_image(CROP).rgb
    exact = {"device": "cpu", "precision": "float32"}
    out = ReconstructNode(ReconstructSettings(model=name, model_options=exact), color)
    linear = ReconstructNode(ReconstructSettings(model="linear"), color)
    rgb = out.process_frame(plate, input_colorspace="srgb").rgb
    reference = linear.process_frame(plate, input_colorspace="srgb").rgb
    assert np.isfinite(rgb).all()
    below = plate.max(axis=-1) < GATE_THRESHOLD  # no channel at the clip
    inside = plate.max(axis=-1) >= 254 / 255
    assert below.mean() > 0.5 and inside.mean() > 0.01
    np.testing.assert_allclose(rgb[below], reference[below], rtol=QUANTISATION, atol=1e-6)
    luminance = np.array([0.2627, 0.6780, 0.0593], np.float32)
    assert (rgb[inside] @ luminance >= reference[inside] @ luminance - 1e-5).all()


def test_the_default_recovers_the_clipped_sun(color, monkeypatch):
    """On the test crop the default gets closer to the true HDR than linear, inside the clip."""
    from hdr_plugin.train.metrics import pu21_psnr

    monkeypatch.delenv("HDR_PLUGIN_WEIGHTS", raising=False)
    plate = read_image(CROP).rgb
    truth = read_image(CROP.with_suffix(".exr")).rgb
    clipped = plate.max(axis=-1) >= 254 / 255
    default = create_model(DEFAULT_MODEL, color, {"device": "cpu", "precision": "float32"})
    node = ReconstructNode(ReconstructSettings(), color)
    rgb = node.process_frame(plate, input_colorspace="srgb").rgb
    linear = create_model("linear", color)(plate)
    assert default.weights_hash
    assert pu21_psnr(rgb, truth, clipped) > pu21_psnr(linear, truth, clipped) + 1.0


def red_rise_at_the_red_clip(linear709: np.ndarray, code: np.ndarray) -> float:
    """Median relative rise of red between neighbours across the edge of red's clip."""
    red, clipped = linear709[..., 0], code[..., 0] >= 254 / 255
    rises = []
    for axis in (0, 1):
        a, b = [slice(None)] * 2, [slice(None)] * 2
        a[axis], b[axis] = slice(1, None), slice(None, -1)
        cross = clipped[tuple(a)] != clipped[tuple(b)]
        pair = np.stack([red[tuple(a)][cross], red[tuple(b)][cross]])
        rises.append(pair.max(axis=0) / pair.min(axis=0) - 1.0)
    return float(np.median(np.concatenate(rises)))


def test_the_default_meets_the_sample_plate_continuously_at_the_clip(color):
    """The sunset sky where only red clipped: no step up at the edge of the clip (issue's fan)."""
    plate = read_image(REPO / "samples" / "plates" / "pan.1012.png").rgb

    def red_rise(model: str) -> float:
        node = ReconstructNode(ReconstructSettings(model=model, input_colorspace="srgb"), color)
        out = color.convert(node.process_frame(plate).rgb, "Linear Rec.2020", LINEAR_REC709)
        return red_rise_at_the_red_clip(out, plate)

    plain, default = red_rise("linear"), red_rise(DEFAULT_MODEL)
    assert default < 2.0 * plain and default < 0.04, (default, plain)
