"""Highlight masks, matte selection and mix."""

import numpy as np
import pytest

from hdr_plugin.errors import ConfigError, PlateError
from hdr_plugin.masks import highlight_mask, highlight_mask_per_channel, matte_from_pixels, mix


def test_soft_mask_follows_the_formula():
    image = np.array([[[0.5, 0.9, 0.95], [0.975, 0.2, 0.1], [1.0, 1.0, 1.0]]], np.float32)
    expected = [[0.0, 0.5, 1.0]]  # max_c = 0.95, 0.975, 1.0 with tau = 0.95
    np.testing.assert_allclose(highlight_mask(image, 0.95), expected, atol=1e-6)


def test_mask_threshold_moves_the_ramp():
    image = np.full((1, 1, 3), 0.9, np.float32)
    assert highlight_mask(image, 0.8)[0, 0] == pytest.approx(0.5)
    assert highlight_mask(image, 0.95)[0, 0] == 0.0


def test_per_channel_mask_has_three_layers():
    image = np.array([[[1.0, 0.975, 0.5]]], np.float32)
    np.testing.assert_allclose(highlight_mask_per_channel(image), [[[1.0, 0.5, 0.0]]], atol=1e-6)


@pytest.mark.parametrize("tau", [1.0, -0.1])
def test_threshold_outside_range_is_refused(tau):
    with pytest.raises(ConfigError, match="mask threshold"):
        highlight_mask(np.zeros((1, 1, 3), np.float32), tau)


def test_mix_blends_linearly_and_respects_the_matte():
    base = np.zeros((1, 2, 3), np.float32)
    result = np.full((1, 2, 3), 4.0, np.float32)
    np.testing.assert_allclose(mix(base, result, 0.25), 1.0)
    matte = np.array([[1.0, 0.0]], np.float32)
    out = mix(base, result, 0.5, matte)
    np.testing.assert_allclose(out[0, 0], 2.0)
    np.testing.assert_allclose(out[0, 1], 0.0)


def test_mix_refuses_a_matte_of_another_size():
    with pytest.raises(PlateError, match="matte is 3x1 but the plate is 2x1"):
        mix(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)), 1.0, np.zeros((1, 3)))


def test_matte_channel_selection():
    pixels = np.array([[[0.1, 0.2, 0.3, 0.4]]], np.float32)
    channels = ("R", "G", "B", "A")
    assert matte_from_pixels(pixels, channels, "A")[0, 0] == pytest.approx(0.4)
    assert matte_from_pixels(pixels, channels, "G")[0, 0] == pytest.approx(0.2)
    luma = 0.2126 * 0.1 + 0.7152 * 0.2 + 0.0722 * 0.3
    assert matte_from_pixels(pixels, channels, "Y")[0, 0] == pytest.approx(luma)


def test_single_channel_matte_is_used_whatever_channel_is_asked():
    pixels = np.full((2, 2, 1), 0.7, np.float32)
    np.testing.assert_allclose(matte_from_pixels(pixels, ("Y",), "A"), 0.7)


def test_missing_matte_channel_names_the_file():
    with pytest.raises(PlateError, match="matte m.png has no A channel"):
        matte_from_pixels(np.zeros((1, 1, 3), np.float32), ("R", "G", "B"), "A", source="m.png")
