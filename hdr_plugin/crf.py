"""Camera response functions: a documented family of curves and its PCA basis of inverses.

Liu et al. (CVPR 2020) represent the inverse camera response g (code value -> linear
irradiance) in the PCA basis of the EMoR/DoRF database. That database is not available
offline, so the basis here is built from a documented family of camera curves, each
sampled at 1024 points and normalised so that f(0) = 0 and f(1) = 1:

* power laws x^(1/γ), γ in [1.0, 3.0];
* sRGB, Gamma 2.2 and BT.1886 (Gamma 2.4) encodings, sampled through OCIO;
* Hable filmic and extended Reinhard curves over a range of exposures / white points;
* log curves log(1 + a x) / log(1 + a), a in [2, 2000];
* S-curves: a logistic contrast curve applied after a gamma 2.2 encoding.

``python -m hdr_plugin.crf`` regenerates ``crf_basis.safetensors``; training uses
:func:`camera_curves` to draw random camera curves for synthetic pairs, and the ``auto``
estimator classifies a plate over the same family. The display encodings are sampled
through the OCIO config the caller passes, never one found in the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from hdr_plugin.color import (
    BT1886_REC709,
    GAMMA22_REC709,
    LINEAR_REC709,
    SRGB_REC709,
    ColorContext,
)
from hdr_plugin.tone_curves import tonemap_Hable, tonemap_Mobius, tonemap_Reinhard

SAMPLES = 1024
COMPONENTS = 11
BASIS_FILE = Path(__file__).with_name("crf_basis.safetensors")


def _normalise(curve: np.ndarray) -> np.ndarray:
    curve = curve - curve[0]
    return curve / curve[-1]


#: Display encodings of the family: their curve names, and the colourspaces (interop IDs)
#: OCIO samples them through.
DISPLAY_ENCODINGS = ("srgb", "gamma22", "bt1886")
_ENCODING_SPACES = {"srgb": SRGB_REC709, "gamma22": GAMMA22_REC709, "bt1886": BT1886_REC709}


def _family() -> dict[str, np.ndarray | str]:
    """Every curve in class order: samples, or the OCIO name of a display encoding."""
    x = np.linspace(0.0, 1.0, SAMPLES)
    curves: dict[str, np.ndarray | str] = {}
    for gamma in np.linspace(1.0, 3.0, 21):
        curves[f"gamma {gamma:.1f}"] = x ** (1.0 / gamma)
    for name in DISPLAY_ENCODINGS:
        curves[name] = _ENCODING_SPACES[name]
    for white in (2.0, 4.0, 8.0, 16.0, 32.0):
        curves[f"hable W={white:g}"] = tonemap_Hable(x * white, white=white)
        curves[f"reinhard W={white:g}"] = tonemap_Reinhard(x * white, white)
    for a in np.geomspace(2.0, 2000.0, 12):
        curves[f"log a={a:.3g}"] = np.log1p(a * x) / np.log1p(a)
    for k in (4.0, 6.0, 8.0, 10.0):
        for gamma in (1.8, 2.2, 2.6):
            s = 1.0 / (1.0 + np.exp(-k * (x ** (1.0 / gamma) - 0.5)))
            curves[f"s-curve k={k:g} gamma={gamma:g}"] = s
    return curves


@lru_cache(maxsize=1)
def curve_names() -> tuple[str, ...]:
    """Names of the family's curves, in class order (no OCIO needed)."""
    return tuple(_family())


def camera_curves(color: ColorContext) -> dict[str, np.ndarray]:
    """The family of forward camera curves f: linear [0, 1] -> code [0, 1], 1024 samples each.

    Args:
        color: the OCIO config whose sRGB, gamma 2.2 and BT.1886 encodings are
            sampled (the caller's, so that ``--ocio`` is honoured; cached per config).
    """
    return dict(_camera_curves(color.config_path))


@lru_cache(maxsize=4)
def _camera_curves(config_path: str) -> tuple[tuple[str, np.ndarray], ...]:
    color = ColorContext(config_path)
    ramp = np.repeat(np.linspace(0.0, 1.0, SAMPLES)[:, None], 3, axis=1).astype(np.float32)
    curves = []
    for name, curve in _family().items():
        if isinstance(curve, str):
            curve = color.convert(ramp, LINEAR_REC709, curve)[:, 0].astype(np.float64)
        curve = _normalise(np.asarray(curve, dtype=np.float64))
        curve.flags.writeable = False
        curves.append((name, curve))
    return tuple(curves)


def inverse_curves(color: ColorContext, names: tuple[str, ...]) -> np.ndarray:
    """(len(names), SAMPLES) inverses (code -> linear) of named curves of the family."""
    return _inverse_curves(color.config_path, tuple(names))


@lru_cache(maxsize=8)
def _inverse_curves(config_path: str, names: tuple[str, ...]) -> np.ndarray:
    curves = camera_curves(ColorContext(config_path))
    inverses = np.stack([invert_curve(curves[name]) for name in names]).astype(np.float32)
    inverses.flags.writeable = False
    return inverses


# --- Random curves by family (the ``auto`` estimator's training and test cameras) ---------

#: Families the test split holds out: the curve estimator never trains or calibrates on
#: them, so the test measures curves it never saw (as the split holds out scenes).
TEST_FAMILIES = ("hable", "mobius", "aces-view", "aces-1-view")
#: Display encodings: the decision ``auto`` must get right (OCIO decodes them exactly).
DISPLAY_FAMILY = "display"


def _encode_srgb(color: ColorContext, display_linear: np.ndarray) -> np.ndarray:
    """Display-linear [0, 1] samples -> sRGB code values, through OCIO."""
    ramp = np.repeat(np.clip(display_linear, 0.0, 1.0)[:, None], 3, axis=1).astype(np.float32)
    return color.convert(ramp, LINEAR_REC709, SRGB_REC709)[:, 0].astype(np.float64)


def _uchimura(x: np.ndarray, a: float, m: float, length: float, c: float) -> np.ndarray:
    """Uchimura's Gran Turismo curve (CEDEC 2017) with peak 1: toe, linear section, shoulder."""
    l0 = (1.0 - m) * length / a
    s0, s1 = m + l0, m + a * l0
    c2 = a / (1.0 - s1)
    w0 = 1.0 - np.clip(x / m, 0.0, 1.0) ** 2 * (3.0 - 2.0 * np.clip(x / m, 0.0, 1.0))
    w2 = (x >= s0).astype(np.float64)
    w1 = 1.0 - w0 - w2
    toe = m * np.power(np.maximum(x, 0.0) / m, c)
    linear = m + a * (x - m)
    shoulder = 1.0 - (1.0 - s1) * np.exp(-c2 * (x - s0))
    return toe * w0 + linear * w1 + shoulder * w2


def _lottes(x: np.ndarray, contrast: float, shoulder: float, peak: float) -> np.ndarray:
    """Lottes' curve (GDC 2016): x^a / ((x^a)^d b + c), mid-grey 0.18 kept, ``peak`` -> 1."""
    a, d, mid = contrast, shoulder, 0.18
    b = (-(mid**a) + peak**a * mid) / ((peak ** (a * d) - mid ** (a * d)) * mid)
    c = (peak ** (a * d) * mid**a - peak**a * mid ** (a * d) * mid) / (
        (peak ** (a * d) - mid ** (a * d)) * mid
    )
    xa = np.power(np.maximum(x, 0.0), a)
    return xa / (np.power(xa, d) * b + c)


def random_curve(family: str, rng: np.random.Generator, color: ColorContext) -> np.ndarray:
    """A random forward curve (linear [0, 1] -> code [0, 1], 1024 samples) of ``family``.

    Tone curves see the exposed scene times a white point W (so linear 1.0, the camera's
    clip, maps to code 1.0); most are then display-encoded by sRGB, as a render to an sRGB
    display is. The families are listed by :func:`curve_families`; view transforms
    (``aces-view``) are not 1D curves and are rendered by the camera pipeline itself.

    Raises:
        ValueError: an unknown family, or ``aces-view``.
    """
    x = np.linspace(0.0, 1.0, SAMPLES)
    white = float(np.exp(rng.uniform(np.log(2.0), np.log(32.0))))
    then_srgb = rng.random() < 0.7
    if family == DISPLAY_FAMILY:
        choice = int(rng.integers(4))
        if choice == 3:
            curve = x ** (1.0 / rng.uniform(1.6, 2.8))
        else:
            curve = (
                _encode_srgb(color, x)
                if choice == 0
                else dict(camera_curves(color))[DISPLAY_ENCODINGS[choice]]
            )
        return _normalise(np.asarray(curve, dtype=np.float64))
    if family == "reinhard":
        curve = tonemap_Reinhard(x * white, white)
    elif family == "log":
        a = float(np.exp(rng.uniform(np.log(2.0), np.log(2000.0))))
        curve = np.log1p(a * x) / np.log1p(a)
        then_srgb = then_srgb and a < 50.0
    elif family == "s-curve":
        k, gamma = rng.uniform(3.0, 10.0), rng.uniform(1.8, 2.6)
        curve = 1.0 / (1.0 + np.exp(-k * (x ** (1.0 / gamma) - 0.5)))
        then_srgb = False
    elif family == "exp-shoulder":
        k = rng.uniform(1.0, 8.0)
        curve = -np.expm1(-k * x)
    elif family == "uchimura":
        curve = _uchimura(
            x * white / 4.0,
            a=rng.uniform(0.6, 1.4),
            m=rng.uniform(0.1, 0.4),
            length=rng.uniform(0.2, 0.6),
            c=rng.uniform(1.0, 1.6),
        )
    elif family == "lottes":
        curve = _lottes(x * white, rng.uniform(1.1, 1.6), rng.uniform(0.9, 1.0), white)
    elif family == "hable":
        curve = tonemap_Hable(x * white, white=white)
        then_srgb = False
    elif family == "mobius":
        curve = tonemap_Mobius(x * white, white, knee=rng.uniform(0.2, 0.5))
    else:
        raise ValueError(f"no 1D curves in family {family!r}; families: {curve_families()}")
    curve = _normalise(np.maximum.accumulate(np.asarray(curve, dtype=np.float64)))
    if then_srgb:
        curve = _normalise(np.maximum.accumulate(_encode_srgb(color, curve)))
    return curve


def curve_families(split: str = "train") -> tuple[str, ...]:
    """The families the estimator trains on (``train``) or the test holds out (``test``)."""
    if split == "test":
        return TEST_FAMILIES
    return (DISPLAY_FAMILY, "reinhard", "log", "s-curve", "exp-shoulder", "uchimura", "lottes")


def invert_curve(curve: np.ndarray) -> np.ndarray:
    """Sample the inverse g = f^-1 of a monotonic curve at 1024 code values."""
    x = np.linspace(0.0, 1.0, SAMPLES)
    increasing = np.maximum.accumulate(curve + np.linspace(0, 1e-9, SAMPLES))
    return np.interp(x, increasing, x)


def build_basis(color: ColorContext, components: int = COMPONENTS) -> dict[str, np.ndarray]:
    """PCA of the inverse curves: ``mean`` (1024,), ``basis`` (components, 1024)."""
    inverses = np.stack([invert_curve(c) for c in camera_curves(color).values()])
    mean = inverses.mean(axis=0)
    _, singular, vt = np.linalg.svd(inverses - mean, full_matrices=False)
    explained = (singular**2)[:components].sum() / (singular**2).sum()
    return {
        "mean": mean.astype(np.float32),
        "basis": vt[:components].astype(np.float32),
        "explained_variance": np.array([explained], dtype=np.float32),
    }


@lru_cache(maxsize=1)
def load_basis() -> tuple[np.ndarray, np.ndarray]:
    """The committed (mean, basis) arrays."""
    data = load_file(str(BASIS_FILE))
    return data["mean"], data["basis"]


def main() -> int:
    """Regenerate the committed basis file."""
    color = ColorContext.resolve()
    basis = build_basis(color)
    save_file(basis, str(BASIS_FILE))
    explained = basis["explained_variance"][0]
    print(
        f"wrote {BASIS_FILE}: {COMPONENTS} components explain {explained:.4%} of the variance "
        f"of {len(curve_names())} curves"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
