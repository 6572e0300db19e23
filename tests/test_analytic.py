"""Analytic operators: each inverse against its published forward curve."""

import numpy as np
import pytest

from hdr_plugin import tone_curves as A
from hdr_plugin.constants import LUMA_REC2020, REFERENCE_WHITE_NITS

PEAK = 1000.0 / REFERENCE_WHITE_NITS


def log_ramp(top: float, n: int = 200) -> np.ndarray:
    return np.geomspace(1e-4, top, n)


def test_reinhard_inverse_undoes_forward():
    scene = log_ramp(PEAK)
    np.testing.assert_allclose(
        A.tonemap_inverse_Reinhard(A.tonemap_Reinhard(scene, PEAK), PEAK), scene, rtol=1e-9
    )
    assert A.tonemap_inverse_Reinhard(np.array([0.0, 1.0]), PEAK) == pytest.approx([0, PEAK])


def test_hable_inverse_undoes_forward():
    scene = log_ramp(A.HABLE_WHITE)
    np.testing.assert_allclose(A.tonemap_inverse_Hable(A.tonemap_Hable(scene)), scene, rtol=1e-9)
    assert A.tonemap_inverse_Hable(np.array([0.0, 1.0])) == pytest.approx([0, A.HABLE_WHITE])


def test_mobius_inverse_undoes_forward_and_keeps_midtones():
    scene = log_ramp(PEAK)
    np.testing.assert_allclose(
        A.tonemap_inverse_Mobius(A.tonemap_Mobius(scene, PEAK), PEAK), scene, rtol=1e-9
    )
    below_knee = np.linspace(0, 0.3, 16)
    np.testing.assert_array_equal(A.tonemap_inverse_Mobius(below_knee, PEAK), below_knee)
    assert A.tonemap_inverse_Mobius(np.array([1.0]), PEAK) == pytest.approx([PEAK])


def test_bt2446c_inverse_is_exact_inverse_of_forward():
    rng = np.random.default_rng(1)
    sdr = rng.uniform(0.0, 1.09, size=(500, 3))
    hdr = A.tonemap_inverse_BT2446C(sdr)
    np.testing.assert_allclose(A.tonemap_BT2446C(hdr), sdr, atol=1e-6)


def test_bt2446c_maps_sdr_white_and_superwhite_into_hdr_range():
    grey = np.array([[1.0, 1.0, 1.0], [1.09, 1.09, 1.09]])
    nits = A.tonemap_inverse_BT2446C(grey)[:, 0] * REFERENCE_WHITE_NITS
    assert 600 < nits[0] < 700  # SDR 100 % -> about 675 cd/m²
    assert 1000 < nits[1] < 1200  # SDR 109 % super-white -> about the 1000 cd/m² peak


def test_bt2446a_inverse_against_its_forward_on_greys():
    # Table 4 is a fit to the inverse of §4.1, so the round trip is close, not exact.
    grey = np.linspace(0.02, 1.0, 100)[:, None].repeat(3, axis=1)
    hdr_nits = A.tonemap_inverse_BT2446A(grey)
    back = A.tonemap_BT2446A(hdr_nits / 1000.0)
    np.testing.assert_allclose(back, grey, rtol=0.06)
    assert hdr_nits[-1, 0] == pytest.approx(1000, rel=1e-3)  # SDR peak -> 1000 cd/m²


def test_bt2446a_inverse_against_its_forward_on_colours():
    rng = np.random.default_rng(2)
    sdr = rng.uniform(0.2, 0.95, size=(500, 3))
    back = A.tonemap_BT2446A(A.tonemap_inverse_BT2446A(sdr) / 1000.0)
    luma = LUMA_REC2020.astype(float)
    np.testing.assert_allclose(back @ luma, sdr @ luma, rtol=0.2)


@pytest.mark.parametrize(
    "inverse",
    [
        lambda v: A.tonemap_inverse_Reinhard(v, PEAK),
        A.tonemap_inverse_Hable,
        lambda v: A.tonemap_inverse_Mobius(v, PEAK),
    ],
)
def test_inverse_curves_are_monotonic(inverse):
    y = np.linspace(0, 1, 1001)
    assert np.all(np.diff(inverse(y)) > 0)
