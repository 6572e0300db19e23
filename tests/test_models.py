"""The same battery for every registered model, plus registry behaviour."""

import numpy as np
import pytest

from hdr_plugin.errors import ConfigError, ModelError
from hdr_plugin.models import (
    DEFAULT_MODEL,
    ModelSpec,
    create_model,
    get_spec,
    list_models,
    register_model,
)
from tests.conftest import gradient_plate

MODEL_NAMES = [spec.name for spec in list_models() if spec.kind == "analytic"]


def test_registry_has_the_published_operators_and_networks():
    assert {"unet-native", "hybrid-mnv3", "singlehdr", "layered"} <= {s.name for s in list_models()}
    assert {
        "linear",
        "inverse-reinhard",
        "inverse-hable",
        "inverse-mobius",
        "bt2446a-inverse",
        "bt2446c-inverse",
    } <= set(MODEL_NAMES)
    assert DEFAULT_MODEL in {s.name for s in list_models()}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_output_contract(name, color):
    model = create_model(name, color)
    plate = gradient_plate()
    out = model(plate)
    assert out.shape == plate.shape
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    assert out.min() >= -1e-3  # Rec.709 content is inside Rec.2020: no negative light


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_expansion_is_monotonic_in_exposure(name, color):
    model = create_model(name, color)
    grey = np.linspace(0, 1, 64, dtype=np.float32)[None, :, None].repeat(3, axis=2)
    out = model(grey)[0, :, 1]
    assert np.all(np.diff(out) >= -1e-6)


@pytest.mark.parametrize("name", [n for n in MODEL_NAMES if n != "linear"])
def test_clipped_white_expands_above_reference_white(name, color):
    white = np.ones((2, 2, 3), np.float32)
    assert create_model(name, color)(white).min() > 2.0


def test_linear_maps_sdr_white_to_reference_white(color):
    np.testing.assert_allclose(
        create_model("linear", color)(np.ones((1, 1, 3), np.float32)), 1.0, rtol=1e-4
    )


def test_peak_option_sets_the_value_of_clipped_white(color):
    model = create_model("inverse-reinhard", color, {"peak_nits": "2030"})
    np.testing.assert_allclose(model(np.ones((1, 1, 3), np.float32)), 10.0, rtol=1e-3)


def test_unknown_model_lists_registered_ones():
    with pytest.raises(ModelError, match="unknown model 'nope'.*linear"):
        get_spec("nope")


def test_bad_option_names_the_option_and_range(color):
    with pytest.raises(ConfigError, match="peak_nits=50.0 is outside"):
        create_model("inverse-mobius", color, {"peak_nits": 50})
    with pytest.raises(ConfigError, match="no option 'gain'.*peak_nits, knee"):
        create_model("inverse-mobius", color, {"gain": 1})


def test_duplicate_registration_is_refused():
    spec = get_spec("linear")
    with pytest.raises(ModelError, match="registered twice"):
        register_model(spec, lambda spec, color: None)


def test_specs_are_frozen():
    with pytest.raises(AttributeError):
        get_spec("linear").name = "other"  # type: ignore[misc]
    assert isinstance(get_spec("linear"), ModelSpec)
