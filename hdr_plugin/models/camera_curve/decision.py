"""The classes of the camera-curve classifier and the decision ``auto`` makes from them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hdr_plugin.color import ColorContext
from hdr_plugin.crf import SAMPLES, camera_curves, curve_names, invert_curve

#: Short edge of the proxy the classifier sees, pixels.
PROXY_EDGE = 192
#: Probability that the curve is tone-mapped above which a plate is decoded by the estimate.
#: Calibrated on the validation split (``scripts/calibrate_auto.py --views 30``) for the
#: shipped weights: halfway between the highest P of any of 557 display plates there
#: (0.9825; the sRGB 2 % / 8 % and 10-bit gamma 2.4 cameras on 167 views, and display
#: encodings close to sRGB) and 1, because a display plate decoded by a tone-mapped inverse
#: loses 15-20 dB while a missed filmic plate only keeps what OCIO's sRGB decoding gives.
TONE_MAPPED_CONFIDENCE = 0.991
#: Curves the classifier maps to plain sRGB: display encodings (power laws and the named
#: OCIO encodings), which image statistics cannot tell apart reliably.
DISPLAY_PREFIXES = ("gamma", "srgb", "bt1886")


def inverse_curves(color: ColorContext) -> np.ndarray:
    """(classes, :data:`~hdr_plugin.crf.SAMPLES`) inverse curves, code -> linear.

    The classes are :func:`~hdr_plugin.crf.curve_names`; the display encodings among them
    are sampled through ``color``'s config.
    """
    return _inverse_curves(color.config_path)


@lru_cache(maxsize=4)
def _inverse_curves(config_path: str) -> np.ndarray:
    curves = camera_curves(ColorContext(config_path)).values()
    inverses = np.stack([invert_curve(c) for c in curves]).astype(np.float32)
    inverses.flags.writeable = False
    return inverses


def is_display_curve(name: str) -> bool:
    """Whether a family curve is a display encoding (decoded as sRGB under ``auto``)."""
    return name.startswith(DISPLAY_PREFIXES)


def srgb_distances(color: ColorContext) -> np.ndarray:
    """(classes,) how far each curve's inverse is from sRGB's: RMS of log2 ratio, codes 0.05-0.99.

    1.0 means that decoding the plate as sRGB is off by a factor of 2 on average; an sRGB
    plate decoded as BT.1886 is 0.54 away, a Hable W=8 delivery 0.68.
    """
    inverses = inverse_curves(color).astype(np.float64)
    codes = np.linspace(0.0, 1.0, SAMPLES)
    keep = (codes > 0.05) & (codes < 0.99)
    log = np.log2(inverses[:, keep] + 1e-4)
    srgb = log[curve_names().index("srgb")]
    return np.sqrt(np.mean((log - srgb) ** 2, axis=1))


#: What the tone-mapped logit learns: a display encoding within this distance of sRGB is
#: "keep sRGB" (0), a tone-mapped curve beyond it "decode by the estimate" (1)
#: (:func:`srgb_distances`); curves on the wrong side (a tone-mapped curve that is nearly
#: sRGB, an unusual gamma far from it) teach the curve head only, as either decision
#: costs little for the first and neither class fits the second.
DISPLAY_DISTANCE, TONE_MAPPED_DISTANCE = 0.6, 0.5


def tone_mapped_targets(color: ColorContext) -> np.ndarray:
    """(classes,) 1 tone-mapped, 0 display, NaN neither (see :data:`DISPLAY_DISTANCE`)."""
    distance = srgb_distances(color)
    display = np.array([is_display_curve(n) for n in curve_names()])
    return np.where(
        display & (distance < DISPLAY_DISTANCE),
        0.0,
        np.where(~display & (distance > TONE_MAPPED_DISTANCE), 1.0, np.nan),
    )


@dataclass(frozen=True)
class CurveEstimate:
    """What ``auto`` decided for a plate.

    Attributes:
        name: ``srgb`` (decode with OCIO) or a description of the estimated curve.
        tone_mapped: the classifier's probability that the curve is tone-mapped.
        inverse: (:data:`~hdr_plugin.crf.SAMPLES`,) code -> display-linear, or
            ``None`` when the plate is decoded as sRGB by OCIO.
    """

    name: str
    tone_mapped: float
    inverse: np.ndarray | None = None

    def linearise(self, code: np.ndarray) -> np.ndarray:
        """(H, W, 3) code values in [0, 1] -> display-linear Rec.709 through the estimate."""
        if self.inverse is None:
            raise ValueError("an sRGB estimate is decoded by OCIO, not by a curve")
        grid = np.linspace(0.0, 1.0, SAMPLES, dtype=np.float32)
        return np.interp(np.clip(code, 0.0, 1.0), grid, self.inverse).astype(np.float32)


def decide(probabilities: np.ndarray, tone_mapped: float, color: ColorContext) -> CurveEstimate:
    """Turn curve probabilities (classes,) and P(tone-mapped) into a :class:`CurveEstimate`.

    ``color`` is the config the family's display encodings are sampled through.
    """
    names = curve_names()
    tone = np.array([not is_display_curve(n) for n in names])
    if tone_mapped <= TONE_MAPPED_CONFIDENCE:
        return CurveEstimate("srgb", tone_mapped)
    weights = np.where(tone, probabilities, 0.0)
    weights = weights / weights.sum()
    inverse = (weights[:, None] * inverse_curves(color)).sum(axis=0).astype(np.float32)
    top = np.argsort(weights)[::-1][:3]
    name = "mixture of " + ", ".join(f"{names[i]} ({weights[i]:.2f})" for i in top)
    return CurveEstimate(name, tone_mapped, inverse)
