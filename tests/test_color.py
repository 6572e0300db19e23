"""OCIO config resolution, the bundled config, and conversions against known values."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from hdr_plugin.color import PARALLEL_PIXELS, ColorContext, resolve_config_path
from hdr_plugin.errors import ColorError
from hdr_plugin.io import read_image
from hdr_plugin.ocio_configs import BUNDLED_CONFIG
from tests.conftest import write_image


def test_config_resolution_prefers_explicit_then_env_then_bundled(monkeypatch, tmp_path):
    assert resolve_config_path() == str(BUNDLED_CONFIG)
    monkeypatch.setenv("OCIO", "ocio://studio-config-latest")
    assert resolve_config_path() == "ocio://studio-config-latest"
    assert resolve_config_path(tmp_path / "x.ocio") == str(tmp_path / "x.ocio")


def test_env_config_is_used_when_no_explicit_one(monkeypatch):
    monkeypatch.setenv("OCIO", "ocio://studio-config-latest")
    color = ColorContext.resolve()
    # The upstream studio config keeps ACEScg as scene_linear; ours makes it Rec.2020.
    assert color.config.getColorSpace("scene_linear").getName() == "ACEScg"


def test_bundled_config_is_what_the_generator_writes():
    from hdr_plugin.ocio_configs.make_config import build_config

    assert BUNDLED_CONFIG.read_text() == build_config().serialize()


def test_bundled_config_loads_in_older_ocio_hosts(tmp_path):
    """Profile 2.4: hosts on OCIO 2.4/2.5 (oiiotool here links OCIO 2.5) convert with it."""
    oiiotool = shutil.which("oiiotool", path=os.path.dirname(sys.executable))
    if oiiotool is None:
        pytest.skip("oiiotool is not installed beside this Python")
    assert BUNDLED_CONFIG.read_text().startswith("ocio_profile_version: 2.4\n")
    plate = write_image(tmp_path / "grey.exr", np.full((4, 4, 3), 0.5, np.float32), "float")
    out = tmp_path / "linear.exr"
    result = subprocess.run(
        [oiiotool, "--colorconfig", str(BUNDLED_CONFIG), str(plate),
         "--colorconvert", "srgb", "Linear Rec.2020", "-o", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_image(out).rgb.mean() == pytest.approx(0.2140, abs=1e-3)  # sRGB 0.5


def test_bundled_config_roles_spaces_and_views(color):
    config = color.config
    assert config.getColorSpace("scene_linear").getName() == "Linear Rec.2020"
    for name in ("srgb", "bt1886", "gamma22", "Linear Rec.709 (sRGB)", "ACEScg"):
        assert config.getColorSpace(name) is not None, name
    assert "Un-tone-mapped" in config.getViews("sRGB - Display")
    assert "HDR Reference (203 nits)" in config.getViews("Rec.2100-PQ - Display")


@pytest.mark.parametrize(
    ("space", "code", "linear"),
    [
        ("srgb", 0.5, 0.214041),  # IEC 61966-2-1
        ("srgb", 0.04045, 0.0031308),  # the sRGB linear-segment breakpoint
        ("bt1886", 0.5, 0.5**2.4),  # BT.1886 with zero black level
        ("gamma22", 0.5, 0.5**2.2),
    ],
)
def test_plate_encodings_decode_to_known_linear_values(color, space, code, linear):
    out = color.convert(np.full((1, 3), code, np.float32), space, "Linear Rec.709 (sRGB)")
    np.testing.assert_allclose(out, linear, rtol=2e-4)


def test_rec709_to_rec2020_primaries_match_bt2087(color):
    # ITU-R BT.2087 Rec.709 -> Rec.2020 matrix, first column and white.
    rgb = np.array([[1, 0, 0], [1, 1, 1]], np.float32)
    out = color.convert(rgb, "Linear Rec.709 (sRGB)", "Linear Rec.2020")
    np.testing.assert_allclose(out[0], [0.6274, 0.0691, 0.0164], atol=2e-4)
    np.testing.assert_allclose(out[1], [1, 1, 1], atol=1e-5)


def test_round_trip_over_extreme_range(color):
    ramp = np.concatenate([-np.geomspace(65504, 1e-4, 64), np.geomspace(1e-4, 65504, 64)])
    rgb = np.stack([ramp, ramp[::-1], ramp * 0.5], axis=-1).astype(np.float32)
    there = color.convert(rgb, "Linear Rec.2020", "ACEScg")
    back = color.convert(there, "ACEScg", "Linear Rec.2020")
    np.testing.assert_allclose(back, rgb, rtol=1e-4, atol=1e-6)


def test_encoding_round_trip_on_code_values(color):
    codes = np.linspace(0, 1, 256, dtype=np.float32)[:, None].repeat(3, axis=1)
    linear = color.convert(codes, "srgb", "Linear Rec.2020")
    np.testing.assert_allclose(color.convert(linear, "Linear Rec.2020", "srgb"), codes, atol=1e-4)


def test_unknown_colorspace_lists_valid_names(color):
    with pytest.raises(ColorError, match=r"unknown colourspace 'sRGBB'.*valid names: .*ACEScg"):
        color.canonical("sRGBB")


def test_aliases_resolve_to_canonical_names(color):
    assert color.canonical("srgb_rec709_scene") == "sRGB Encoded Rec.709 (sRGB)"
    assert color.canonical("lin_rec2020") == "Linear Rec.2020"


def test_broken_config_is_a_color_error(tmp_path):
    bad = tmp_path / "broken.ocio"
    bad.write_text("ocio_profile_version: 2\nroles: {scene_linear: nowhere}\n")
    with pytest.raises(ColorError, match="broken.ocio"):
        ColorContext(str(bad))


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        ("Linear Rec.2020", (0.708, 0.292, 0.170, 0.797, 0.131, 0.046, 0.3127, 0.3290)),
        ("ACEScg", (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)),
        ("srgb", (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)),
    ],
)
def test_chromaticities_of_output_spaces(color, space, expected):
    assert color.chromaticities(space) == pytest.approx(expected)


def test_no_chromaticities_for_data(color):
    assert color.chromaticities("Raw") is None


def test_large_conversions_split_over_threads_match_one_thread(color, monkeypatch):
    rgb = np.random.default_rng(0).uniform(-0.1, 1.2, (700, 600, 3)).astype(np.float32)
    assert rgb.shape[0] * rgb.shape[1] >= PARALLEL_PIXELS
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    one = color.convert(rgb, "srgb", "scene_linear")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    three = color.convert(rgb, "srgb", "scene_linear")
    np.testing.assert_array_equal(one, three)
    assert not np.array_equal(one, rgb)
