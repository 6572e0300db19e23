"""ReconstructNode: the data path, knobs and their validation."""

import dataclasses

import numpy as np
import pytest

from hdr_plugin.errors import ColorError, ConfigError, ModelError
from hdr_plugin.models import create_model
from hdr_plugin.node import ReconstructNode, ReconstructSettings, node_parameters
from tests.conftest import gradient_plate


def node(color, **knobs):
    return ReconstructNode(ReconstructSettings(**knobs), color)


def test_default_node_expands_clipped_white(color):
    plate = gradient_plate()
    out = node(color).process(plate)
    assert out[plate.max(axis=-1) >= 1.0].max() > 1.1  # above the SDR peak (1.0)


def test_inverse_mobius_expands_highlights_and_keeps_midtones(color):
    plate = gradient_plate()
    out = node(color, model="inverse-mobius").process(plate)
    linear = create_model("linear", color)(plate)
    dark = plate.max(axis=-1) < 0.5
    np.testing.assert_allclose(out[dark], linear[dark], rtol=1e-4, atol=1e-6)
    clipped = plate.max(axis=-1) >= 1.0
    assert out[clipped].max() > 4.0


def test_mix_zero_is_the_plain_linearisation(color):
    plate = gradient_plate()
    linear = node(color, model="linear").process(plate)
    np.testing.assert_allclose(node(color, model="inverse-hable", mix=0.0).process(plate), linear)


def test_half_mix_is_halfway(color):
    plate = gradient_plate()
    full = node(color, model="bt2446c-inverse").process(plate)
    linear = node(color, model="linear").process(plate)
    half = node(color, model="bt2446c-inverse", mix=0.5).process(plate)
    np.testing.assert_allclose(half, (full + linear) / 2, rtol=1e-5, atol=1e-6)


def test_matte_limits_the_reconstruction(color):
    plate = np.ones((4, 4, 3), np.float32)
    matte = np.zeros((4, 4), np.float32)
    matte[:, 2:] = 1.0
    out = node(color, model="inverse-reinhard").process(plate, matte)
    np.testing.assert_allclose(out[:, :2], 1.0, rtol=1e-4)
    assert out[:, 2:].min() > 4.0


def test_white_level_scales_the_output(color):
    plate = gradient_plate()
    base = node(color).process(plate)
    np.testing.assert_allclose(node(color, white_level=2.03).process(plate), base * 2.03, rtol=1e-5)


def test_alpha_passes_through(color):
    rgba = np.concatenate([gradient_plate(), np.full((32, 48, 1), 0.3, np.float32)], axis=-1)
    out = node(color).process(rgba)
    assert out.shape == (32, 48, 4)
    np.testing.assert_array_equal(out[..., 3], 0.3 * np.ones((32, 48), np.float32))


def test_output_colorspace_is_applied_through_ocio(color):
    plate = gradient_plate()
    rec2020 = node(color).process(plate)
    acescg = node(color, output_colorspace="ACEScg").process(plate)
    np.testing.assert_allclose(
        acescg, color.convert(rec2020, "Linear Rec.2020", "ACEScg"), rtol=1e-5
    )


def test_input_colorspace_knob_beats_file_tag_which_beats_default(color):
    n = node(color)
    assert n.resolve_input_colorspace(None) == "sRGB Encoded Rec.709 (sRGB)"
    assert n.resolve_input_colorspace("g24_rec709_scene") == "Gamma 2.4 Encoded Rec.709"
    assert node(color, input_colorspace="gamma22").resolve_input_colorspace("srgb") == (
        "Gamma 2.2 Encoded Rec.709"
    )


def test_unknown_file_tag_names_the_file_and_the_override(color):
    with pytest.raises(ColorError, match=r"'weird'.*plate.png; set --input-colorspace"):
        node(color).resolve_input_colorspace("weird", source="plate.png")


def test_gamma24_plate_decodes_differently_from_srgb(color):
    plate = np.full((1, 1, 3), 0.5, np.float32)
    srgb = node(color, model="linear").process(plate)
    bt1886 = node(color, model="linear", input_colorspace="bt1886").process(plate)
    assert srgb[0, 0, 0] == pytest.approx(0.214, abs=1e-3)
    assert bt1886[0, 0, 0] == pytest.approx(0.5**2.4, abs=1e-3)


def test_nan_and_inf_pixels_do_not_poison_the_frame(color):
    plate = gradient_plate()
    plate[0, 0] = np.nan
    plate[0, 1] = np.inf
    out = node(color).process(plate)
    assert np.isfinite(out).all()


@pytest.mark.parametrize(
    ("knobs", "error", "match"),
    [
        ({"model": "nope"}, ModelError, "unknown model 'nope'"),
        ({"input_colorspace": "sRGBB"}, ColorError, "unknown input colorspace 'sRGBB'"),
        ({"output_colorspace": "xyz"}, ColorError, "unknown output colorspace 'xyz'"),
        ({"mix": 1.5}, ConfigError, r"mix=1.5 is outside \[0.0, 1.0\]"),
        ({"mask_threshold": 1.0}, ConfigError, "mask_threshold=1.0 is outside"),
        ({"white_level": 0.0}, ConfigError, "white_level=0.0 is outside"),
        (
            {"model": "inverse-mobius", "model_options": {"peak_nits": "bright"}},
            ConfigError,
            "peak_nits='bright'",
        ),
        (
            {"model_options": {"peak_nits": 1000}},
            ConfigError,
            "no option 'peak_nits'; its options: device",
        ),
    ],
)
def test_bad_knobs_fail_when_the_node_is_built(color, knobs, error, match):
    with pytest.raises(error, match=match):
        node(color, **knobs)


def test_parameters_describe_every_knob_of_the_settings(color):
    params = {p.name: p for p in node_parameters(color)}
    knobs = {f.name for f in dataclasses.fields(ReconstructSettings)} - {"model_options"}
    assert set(params) == knobs
    assert "inverse-mobius" in params["model"].choices
    assert "Linear Rec.2020" in params["output_colorspace"].choices
    assert "auto" in params["input_colorspace"].choices
    assert "auto" not in params["output_colorspace"].choices


def test_every_knob_is_a_command_line_flag():
    from hdr_plugin.cli import cli_flags, render_command

    flags = {opt for option in render_command.params for opt in getattr(option, "opts", [])}
    for param in node_parameters():
        assert set(cli_flags(param.name)) <= flags, param.name
    assert cli_flags("matte_invert") == ("--invert-matte",)


def test_each_knob_is_declared_once_with_its_settings_default(color):
    defaults = {f.name: f.default for f in dataclasses.fields(ReconstructSettings)}
    for param in node_parameters():
        assert param.default == defaults[param.name], param.name
    # Given a config, a colourspace knob's default is the config's own name for it.
    for param in node_parameters(color):
        expected = defaults[param.name]
        if param.name == "output_colorspace":
            expected = color.canonical(expected)
        assert param.default == expected, param.name
    assert {p.name: p.type for p in node_parameters()}["input_colorspace"] is str


def test_settings_validate_without_building_the_model(color, monkeypatch):
    import hdr_plugin.node as node_module

    def no_build(*args, **kwargs):
        raise AssertionError("validate must not build a model")

    monkeypatch.setattr(node_module, "create_model", no_build)
    options = ReconstructSettings(model="inverse-mobius", model_options={"knee": "0.5"}).validate(
        color
    )
    assert options["knee"] == 0.5
    with pytest.raises(ConfigError, match="mix"):
        ReconstructSettings(mix=2.0).validate(color)


def test_provenance_names_model_spaces_and_knobs(color):
    attributes = node(color, model="inverse-hable", mix=0.5).provenance()
    assert attributes["hdr_plugin:model"] == "inverse-hable"
    assert attributes["hdr_plugin:outputColorspace"] == "Linear Rec.2020"
    assert '"mix": 0.5' in attributes["hdr_plugin:knobs"]
    assert attributes["chromaticities"][:2] == pytest.approx((0.708, 0.292))


def test_process_does_not_modify_its_input(color):
    plate = gradient_plate()
    plate[0, 0] = np.nan
    before = plate.copy()
    node(color, output_colorspace="Linear Rec.2020").process(plate)
    np.testing.assert_array_equal(plate, before)


def test_inverted_matte_reconstructs_outside_it(color):
    plate = np.ones((4, 4, 3), np.float32)
    matte = np.zeros((4, 4), np.float32)
    matte[:, 2:] = 1.0
    out = node(color, model="inverse-reinhard", matte_invert=True).process(plate, matte)
    assert out[:, :2].min() > 4.0
    np.testing.assert_allclose(out[:, 2:], 1.0, rtol=1e-4)


ACES_SDR = "sRGB - Display/ACES 2.0 - SDR 100 nits (Rec.709)"


def test_a_plate_rendered_through_a_known_view_is_inverted_exactly_below_its_white(color):
    scene = np.geomspace(0.01, 500, 64, dtype=np.float32)[None, :, None].repeat(4, 0)
    scene = scene.repeat(3, 2)
    code = np.round(color.convert_view(scene, "Linear Rec.2020", ACES_SDR) * 1023) / 1023
    below = code.max(axis=-1) < 0.99
    plain = node(color, model="linear", input_view=ACES_SDR).process_frame(code).rgb
    np.testing.assert_allclose(plain[below], scene[below], rtol=0.03)  # 10-bit quantisation
    default = node(color, input_view=ACES_SDR).process_frame(code).rgb
    np.testing.assert_allclose(default[below], plain[below], rtol=1e-5)
    assert default[~below].max() > plain[~below].max()  # reconstructed above the view's white


def test_the_input_view_knob_is_checked_like_every_other(color):
    assert ACES_SDR in {p.name: p for p in node_parameters(color)}["input_view"].choices
    with pytest.raises(ColorError, match="display 'sRGB - Display' has views"):
        node(color, input_view="sRGB - Display/Filmic")
    with pytest.raises(ColorError, match="give DISPLAY/VIEW"):
        node(color, input_view="ACES")
    with pytest.raises(ConfigError, match="give one"):
        node(color, input_view=ACES_SDR, input_colorspace="srgb")
