"""The classes of the camera-curve classifier and the decision ``auto`` makes from them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hdr_plugin.models.crf import SAMPLES, camera_curves, invert_curve

#: Short edge of the proxy the classifier sees, pixels.
PROXY_EDGE = 192
HISTOGRAM_BINS = 64
#: Probability on the tone-mapped curves above which a plate is decoded by the estimate.
#: Calibrated on the validation split so that no display-encoded plate there (sRGB 2 % and
#: 8 % clipped, 10-bit gamma 2.4: highest P 0.90) leaves OCIO's sRGB decoding: a wrong
#: inverse shoulder costs far more than a missed one.
TONE_MAPPED_CONFIDENCE = 0.95
#: Curves the classifier maps to plain sRGB: display encodings (power laws and the named
#: OCIO encodings), which image statistics cannot tell apart reliably.
DISPLAY_PREFIXES = ("gamma", "srgb", "bt1886")


@lru_cache(maxsize=1)
def curve_names() -> tuple[str, ...]:
    """The classes, in order: every curve of the documented family."""
    return tuple(camera_curves())


@lru_cache(maxsize=1)
def inverse_curves() -> np.ndarray:
    """(classes, :data:`~hdr_plugin.models.crf.SAMPLES`) inverse curves, code -> linear."""
    return np.stack([invert_curve(c) for c in camera_curves().values()]).astype(np.float32)


def is_display_curve(name: str) -> bool:
    """Whether a family curve is a display encoding (decoded as sRGB under ``auto``)."""
    return name.startswith(DISPLAY_PREFIXES)


@dataclass(frozen=True)
class CurveEstimate:
    """What ``auto`` decided for a plate.

    Attributes:
        name: ``srgb`` (decode with OCIO) or a description of the estimated curve.
        tone_mapped: the classifier's probability that the curve is tone-mapped.
        inverse: (:data:`~hdr_plugin.models.crf.SAMPLES`,) code -> display-linear, or
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


def decide(probabilities: np.ndarray, tone_mapped: float) -> CurveEstimate:
    """Turn curve probabilities (classes,) and P(tone-mapped) into a :class:`CurveEstimate`."""
    names = curve_names()
    tone = np.array([not is_display_curve(n) for n in names])
    if tone_mapped <= TONE_MAPPED_CONFIDENCE:
        return CurveEstimate("srgb", tone_mapped)
    weights = np.where(tone, probabilities, 0.0)
    weights = weights / weights.sum()
    inverse = (weights[:, None] * inverse_curves()).sum(axis=0).astype(np.float32)
    top = np.argsort(weights)[::-1][:3]
    name = "mixture of " + ", ".join(f"{names[i]} ({weights[i]:.2f})" for i in top)
    return CurveEstimate(name, tone_mapped, inverse)
