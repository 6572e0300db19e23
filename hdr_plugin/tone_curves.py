"""Published tone curves as pure functions on arrays: each ``tonemap_X`` and its inverse.

Units. Display-linear SDR is 1.0 at SDR peak (100 cd/m²). Scene-linear values have SDR
reference white at 1.0, which ITU-R BT.2408 places at 203 cd/m²; a peak of ``P`` cd/m² is
therefore the value ``P / 203``.

These sit below both the models (the analytic operators invert them) and training (the
camera pipeline renders plates through them), and import neither.
"""

from __future__ import annotations

import numpy as np

from hdr_plugin.constants import LUMA_REC2020

_EPS = 1e-8


def _float(x: np.ndarray) -> np.ndarray:
    """``x`` as floats: float32 stays float32 (the render path), anything else is float64."""
    x = np.asarray(x)
    return x if x.dtype == np.float32 else x.astype(np.float64)


def ratio_scale(rgb: np.ndarray, norm: np.ndarray, mapped: np.ndarray) -> np.ndarray:
    """Scale ``rgb`` by ``mapped / norm`` per pixel, keeping chromaticity."""
    ratio = np.where(norm > _EPS, mapped / np.maximum(norm, _EPS), 1.0)
    return rgb * ratio[..., None].astype(rgb.dtype, copy=False)


# --- Reinhard et al. 2002, "Photographic tone reproduction", eq. 4 -----------------------


def tonemap_Reinhard(luminance: np.ndarray, white: float) -> np.ndarray:
    """Extended Reinhard curve: L_d = L (1 + L / L_white²) / (1 + L).

    Args:
        luminance: scene luminance, >= 0.
        white: L_white, the smallest luminance mapped to display 1.0 (> 1).

    Returns:
        Display-linear luminance in [0, 1] for ``luminance`` in [0, white].
    """
    lum = _float(luminance)
    return lum * (1.0 + lum / (white * white)) / (1.0 + lum)


def tonemap_inverse_Reinhard(display: np.ndarray, white: float) -> np.ndarray:
    """Inverse of :func:`tonemap_Reinhard`: the positive root of L²/W² + (1 - L_d) L - L_d = 0.

    Args:
        display: display-linear luminance in [0, 1].
        white: L_white of the forward curve; display 1.0 maps back to it.
    """
    ld = np.clip(_float(display), 0.0, 1.0)
    b = 1.0 - ld
    # 2c / (-b - sqrt(disc)) is the cancellation-free form of the positive root.
    return 2.0 * ld / (b + np.sqrt(b * b + 4.0 * ld / (white * white)))


# --- Hable 2010, "Filmic tonemapping for real-time rendering" (Uncharted 2) ----------------

HABLE = {"A": 0.15, "B": 0.50, "C": 0.10, "D": 0.20, "E": 0.02, "F": 0.30}
HABLE_WHITE = 11.2


def _hable_curve(x: np.ndarray) -> np.ndarray:
    a, b, c, d, e, f = (HABLE[k] for k in "ABCDEF")
    return (x * (a * x + c * b) + d * e) / (x * (a * x + b) + d * f) - e / f


def tonemap_Hable(x: np.ndarray, white: float = HABLE_WHITE) -> np.ndarray:
    """Hable's filmic curve normalised so that ``white`` maps to display 1.0.

    Args:
        x: scene-linear values (exposure already applied), >= 0.
        white: linear white point W.
    """
    x = _float(x)
    return _hable_curve(x) / float(_hable_curve(np.float64(white)))


def tonemap_inverse_Hable(display: np.ndarray, white: float = HABLE_WHITE) -> np.ndarray:
    """Inverse of :func:`tonemap_Hable`, solving the rational curve's quadratic.

    With g = y f(W) + E/F the curve gives A(1-g) x² + B(C-g) x + D(E-gF) = 0. For y in
    [0, 1], A(1-g) > 0 and D(E-gF) <= 0, so the root is x = -2c / (b + sqrt(b² - 4ac)),
    a form without cancellation.
    """
    a, b, c, d, e, f = (HABLE[k] for k in "ABCDEF")
    y = np.clip(_float(display), 0.0, 1.0)
    g = y * float(_hable_curve(np.float64(white))) + e / f
    qa = a * (1.0 - g)
    qb = b * (c - g)
    qc = d * (e - g * f)
    root = np.sqrt(np.maximum(qb * qb - 4.0 * qa * qc, 0.0))
    return -2.0 * qc / np.maximum(qb + root, 1e-12)


# --- Möbius curve (mpv / libplacebo tone mapping, N. Haas) ----------------------------------


def _mobius_coefficients(peak: float, knee: float) -> tuple[float, float, float]:
    a = -knee * knee * (peak - 1.0) / (knee * knee - 2.0 * knee + peak)
    b = (knee * knee - 2.0 * knee * peak + peak) / max(peak - 1.0, 1e-6)
    k = (b + knee) ** 2 / (b - a)
    return a, b, k


def tonemap_Mobius(x: np.ndarray, peak: float, knee: float = 0.3) -> np.ndarray:
    """Möbius curve: identity up to ``knee``, then k (x + a) / (x + b), with ``peak`` -> 1.

    Args:
        x: linear signal relative to SDR peak, in [0, peak].
        peak: signal peak mapped to display 1.0 (> 1).
        knee: end of the linear segment, in (0, 1).
    """
    x = _float(x)
    a, b, k = _mobius_coefficients(peak, knee)
    return np.where(x <= knee, x, k * (x + a) / (x + b))


def tonemap_inverse_Mobius(display: np.ndarray, peak: float, knee: float = 0.3) -> np.ndarray:
    """Inverse of :func:`tonemap_Mobius`: x = (k a - y b) / (y - k) above the knee."""
    y = np.clip(_float(display), 0.0, 1.0)
    a, b, k = _mobius_coefficients(peak, knee)
    return np.where(y <= knee, y, (k * a - y * b) / (y - k))


# --- Report ITU-R BT.2446-1, Method A -------------------------------------------------------

_KR, _KB = float(LUMA_REC2020[0]), float(LUMA_REC2020[2])
_CB_SCALE, _CR_SCALE = 1.8814, 1.4746


def _to_ycbcr(rgb_prime: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = rgb_prime @ LUMA_REC2020.astype(rgb_prime.dtype)
    return y, (rgb_prime[..., 2] - y) / _CB_SCALE, (rgb_prime[..., 0] - y) / _CR_SCALE


def _from_ycbcr(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    r = y + _CR_SCALE * cr
    b = y + _CB_SCALE * cb
    g = (y - _KR * r - _KB * b) / (1.0 - _KR - _KB)
    return np.stack([r, g, b], axis=-1)


def tonemap_BT2446A(hdr: np.ndarray, peak_nits: float = 1000.0, sdr_nits: float = 100.0):
    """BT.2446 Method A HDR -> SDR (Report ITU-R BT.2446-1 §4.1).

    Args:
        hdr: (..., 3) display-linear BT.2020 RGB, 1.0 = ``peak_nits``.
        peak_nits: HDR peak luminance L_HDR, cd/m².
        sdr_nits: SDR peak luminance L_SDR, cd/m².

    Returns:
        (..., 3) display-linear BT.2020 SDR RGB, 1.0 = ``sdr_nits``.
    """
    rgb_p = np.clip(_float(hdr), 0.0, 1.0) ** (1.0 / 2.4)
    y, cb, cr = _to_ycbcr(rgb_p)
    rho_hdr = 1.0 + 32.0 * (peak_nits / 10000.0) ** (1.0 / 2.4)
    rho_sdr = 1.0 + 32.0 * (sdr_nits / 10000.0) ** (1.0 / 2.4)
    yp = np.log1p((rho_hdr - 1.0) * y) / np.log(rho_hdr)
    yc = np.where(
        yp <= 0.7399,
        1.0770 * yp,
        np.where(yp < 0.9909, -1.1510 * yp * yp + 2.7811 * yp - 0.6302, 0.5 * yp + 0.5),
    )
    y_sdr = (rho_sdr**yc - 1.0) / (rho_sdr - 1.0)
    scale = np.where(y > 0, y_sdr / np.maximum(1.1 * y, _EPS), 1.0)
    cb_t, cr_t = cb * scale, cr * scale
    y_t = y_sdr - np.maximum(0.1 * cr_t, 0.0)
    return np.clip(_from_ycbcr(y_t, cb_t, cr_t), 0.0, 1.0) ** 2.4


def tonemap_inverse_BT2446A(sdr: np.ndarray) -> np.ndarray:
    """BT.2446 Method A SDR -> HDR (Report ITU-R BT.2446-1 §4.2, Table 4).

    The published inverse is fitted for a 100 cd/m² SDR and a 1000 cd/m² HDR display.

    Args:
        sdr: (..., 3) display-linear BT.2020 RGB, 1.0 = 100 cd/m².

    Returns:
        (..., 3) display-linear BT.2020 RGB in cd/m² (0 to 1000).
    """
    rgb_p = np.clip(_float(sdr), 0.0, 1.0) ** (1.0 / 2.4)
    y, cb, cr = _to_ycbcr(rgb_p)
    y255 = 255.0 * y
    exponent = np.where(
        y255 <= 70.0,
        1.8712e-5 * y255 * y255 - 2.7334e-3 * y255 + 1.3141,
        2.8305e-6 * y255 * y255 - 7.4622e-4 * y255 + 1.2528,
    )
    y_hdr = np.power(y255, exponent)
    scale = np.where(y > 0, 1.075 * y_hdr / np.maximum(y, _EPS), 1.0)
    rgb_hdr = np.clip(_from_ycbcr(y_hdr, cb * scale, cr * scale), 0.0, 1000.0)
    return 1000.0 * (rgb_hdr / 1000.0) ** 2.4


# --- Report ITU-R BT.2446-1, Method C -------------------------------------------------------

BT2446C = {"k1": 0.83802, "k3": 0.74204, "y_sdr_ip": 0.58535}


def _bt2446c_constants() -> tuple[float, float, float, float, float]:
    k1, k3, y_sdr_ip = BT2446C["k1"], BT2446C["k3"], BT2446C["y_sdr_ip"]
    y_hdr_ip = y_sdr_ip / k1
    k2 = k1 * y_hdr_ip * (1.0 - k3)
    k4 = k1 * y_hdr_ip - k2 * np.log(1.0 - k3)
    return k1, k2, k3, k4, y_hdr_ip


def _crosstalk(rgb: np.ndarray, alpha: float) -> np.ndarray:
    matrix = np.full((3, 3), alpha) + np.eye(3) * (1.0 - 3.0 * alpha)
    return rgb @ matrix.T.astype(rgb.dtype)


def _crosstalk_inverse(rgb: np.ndarray, alpha: float) -> np.ndarray:
    matrix = (np.eye(3) - np.full((3, 3), alpha)) / (1.0 - 3.0 * alpha)
    return rgb @ matrix.T.astype(rgb.dtype)


def tonemap_BT2446C(hdr: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """BT.2446 Method C HDR -> SDR (Report ITU-R BT.2446-1 §6.1, without §6.1.8).

    Crosstalk matrix, then a linear-plus-log curve on luminance Y with chromaticity kept,
    then the inverse crosstalk matrix.

    Args:
        hdr: (..., 3) linear BT.2020 RGB relative to HDR reference white (1.0 = 203 cd/m²).
        alpha: crosstalk amount, [0, 0.33].

    Returns:
        (..., 3) display-linear BT.2020 SDR RGB, 1.0 = 100 %.
    """
    k1, k2, k3, k4, y_hdr_ip = _bt2446c_constants()
    rgb = _crosstalk(np.maximum(_float(hdr), 0.0), alpha)
    y = rgb @ LUMA_REC2020.astype(rgb.dtype)
    y_sdr = np.where(y < y_hdr_ip, k1 * y, k2 * np.log(np.maximum(y / y_hdr_ip - k3, _EPS)) + k4)
    return _crosstalk_inverse(ratio_scale(rgb, y, y_sdr), alpha)


def tonemap_inverse_BT2446C(sdr: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """BT.2446 Method C SDR -> HDR (Report ITU-R BT.2446-1 §6.2): the exact inverse of §6.1.

    Args:
        sdr: (..., 3) display-linear BT.2020 SDR RGB, 1.0 = 100 %.
        alpha: crosstalk amount used by the forward conversion.

    Returns:
        (..., 3) linear BT.2020 RGB relative to HDR reference white (1.0 = 203 cd/m²).
    """
    k1, k2, k3, k4, y_hdr_ip = _bt2446c_constants()
    rgb = _crosstalk(np.maximum(_float(sdr), 0.0), alpha)
    y = rgb @ LUMA_REC2020.astype(rgb.dtype)
    y_hdr = np.where(y < k1 * y_hdr_ip, y / k1, y_hdr_ip * (np.exp((y - k4) / k2) + k3))
    return _crosstalk_inverse(ratio_scale(rgb, y, y_hdr), alpha)
