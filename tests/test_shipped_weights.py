"""The weights that ship: they load, match their cards and expand a real clipped plate."""

import json

import numpy as np
import pytest

from hdr_plugin.io import read_image
from hdr_plugin.models import BUNDLED_WEIGHTS, create_model, get_spec, has_weights
from hdr_plugin.models.engine.weights import file_hash
from tests.conftest import SAMPLE_PLATES

SHIPPED = ["highlight-expand", "unet-native", "hybrid-mnv3", "singlehdr", "layered"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_small_documented_and_renders(name, color, monkeypatch):
    monkeypatch.delenv("HDR_PLUGIN_WEIGHTS", raising=False)
    spec = get_spec(name)
    assert has_weights(spec)
    weights = BUNDLED_WEIGHTS / spec.weights
    assert weights.stat().st_size < 8_000_000
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["weights_hash"] == file_hash(weights)
    assert card["training"]["command"] and card["training"]["steps"] > 1000
    plate = read_image(SAMPLE_PLATES / "pan.1012.png").rgb
    out = create_model(name, color, {"device": "cpu"})(plate)
    assert np.isfinite(out).all() and out.min() >= 0
    linear = create_model("linear", color)(plate)
    midtones = (plate.max(axis=-1) > 0.2) & (plate.max(axis=-1) < 0.6)
    ratio = np.median(out[midtones].sum(-1) / linear[midtones].sum(-1))
    assert 0.7 < ratio < 1.3  # mid-tones stay near the plain linearisation
    # The shipped weights (7 minutes of training) do not yet expand highlights much; they
    # must at least not crush them (README, "Learned models: status").
    clipped = plate.max(axis=-1) >= 1.0
    assert out[clipped].mean() > 0.7 * linear[clipped].mean()


def test_default_model_expands_only_the_clipped_pixels(color, monkeypatch):
    """highlight-expand (the default) is the linearisation below the clip, brighter above."""
    monkeypatch.delenv("HDR_PLUGIN_WEIGHTS", raising=False)
    plate = read_image(SAMPLE_PLATES / "pan.1012.png").rgb
    out = create_model("highlight-expand", color)(plate)
    linear = create_model("linear", color)(plate)
    clipped = plate.max(axis=-1) >= 254 / 255
    assert clipped.mean() > 0.01
    np.testing.assert_allclose(out[~clipped], linear[~clipped], atol=1e-6)
    assert out[clipped].max(axis=-1).mean() > 1.1 * linear[clipped].max(axis=-1).mean()
