"""What ``auto`` decides from the estimated inverse curve of a plate.

The estimator regresses the plate's inverse curve g (code -> display-linear, g(0) = 0,
g(1) = 1) at :data:`KNOTS` code values. A curve within :data:`DISPLAY_DISTANCE` of a display
encoding is a display encoding, and then OCIO decodes the plate exactly: BT.1886 when the
plate's values sit on a 10-bit grid (10-bit Rec.709 video and DPX are BT.1886 by
convention), sRGB otherwise. Any other curve is tone-mapped, and the plate is decoded by
the estimate itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hdr_plugin.color import BT1886_REC709, SRGB_REC709, ColorContext
from hdr_plugin.crf import DISPLAY_ENCODINGS, SAMPLES, inverse_curves

#: Short edge of the proxy the estimator sees, pixels.
PROXY_EDGE = 192
#: Code values at which the inverse curve is estimated: denser towards white, where
#: shoulders differ most.
KNOTS = 1.0 - np.linspace(1.0, 0.0, 41) ** 1.5
#: Codes over which distances from the display encodings (``crf.DISPLAY_ENCODINGS``) count.
DISTANCE_CODES = (0.05, 0.99)
#: RMS log2 distance from the nearest display encoding below which a plate keeps its
#: default decode: ``auto`` moves off it only when sure the curve is not a display one.
#: Calibrated for the shipped weights (``scripts/calibrate_auto.py --views 10``) on display
#: plates as they are handed over (:mod:`hdr_plugin.train.display_set`: sRGB, gamma
#: 2.2-2.6, BT.1886 with a black level, 8-16-bit values in PNG, TIFF, DPX and half EXR,
#: JPEG and video frames, 0.5-15 % clipped, noise) of the training and validation scenes:
#: their 98th percentile (0.547), so that 1.9 % of those 880 plates move (1.4 % of 210 of
#: the test scenes; H.264 frames 6.4 % and gamma 2.6 6.0 %, the estimator's weak spots).
#: 62 % of tone-mapped plates of the training families lie beyond it.
DISPLAY_DISTANCE = 0.55


@dataclass(frozen=True)
class CurveEstimate:
    """What ``auto`` decided for a plate.

    Attributes:
        name: the OCIO colourspace decoding the plate (an interop ID:
            ``srgb_rec709_scene``, ``g24_rec709_scene``), or
            ``estimated`` for a tone-mapped curve decoded by the estimate.
        tone_mapped: confidence that the curve is tone-mapped, in [0, 1] (0.5 at the
            decision's distance).
        distance: RMS log2 distance of the estimate from the nearest display encoding.
        inverse: (:data:`~hdr_plugin.crf.SAMPLES`,) code -> display-linear, or ``None``
            when OCIO decodes the plate.
    """

    name: str
    tone_mapped: float
    distance: float
    inverse: np.ndarray | None = None

    def linearise(self, code: np.ndarray) -> np.ndarray:
        """(H, W, 3) code values in [0, 1] -> display-linear Rec.709 through the estimate."""
        if self.inverse is None:
            raise ValueError("a display estimate is decoded by OCIO, not by a curve")
        grid = np.linspace(0.0, 1.0, SAMPLES, dtype=np.float32)
        return np.interp(np.clip(code, 0.0, 1.0), grid, self.inverse).astype(np.float32)


def display_inverses(color: ColorContext) -> np.ndarray:
    """(len(DISPLAY_ENCODINGS), SAMPLES) inverses of the display encodings, through OCIO."""
    return inverse_curves(color, DISPLAY_ENCODINGS)


def at_knots(inverse: np.ndarray) -> np.ndarray:
    """A (..., SAMPLES) inverse curve sampled at :data:`KNOTS`."""
    grid = np.linspace(0.0, 1.0, inverse.shape[-1])
    return np.apply_along_axis(lambda row: np.interp(KNOTS, grid, row), -1, inverse)


def display_distance(inverse_at_knots: np.ndarray, color: ColorContext) -> float:
    """RMS log2 distance of an inverse curve (at :data:`KNOTS`) from the nearest display one."""
    keep = (KNOTS > DISTANCE_CODES[0]) & (KNOTS < DISTANCE_CODES[1])
    log = np.log2(np.maximum(inverse_at_knots[keep], 1e-4))
    displays = np.log2(np.maximum(at_knots(display_inverses(color))[:, keep], 1e-4))
    return float(np.sqrt(np.mean((displays - log) ** 2, axis=1)).min())


def ten_bit(code: np.ndarray) -> bool:
    """Whether a plate's values sit on a 10-bit grid and not on an 8-bit one.

    Whatever the container: 10-bit values in a 10-bit DPX, a 16-bit TIFF or PNG, or a
    float EXR. (A half-float EXR cannot hold them: near white its steps are half a 10-bit
    step.)
    """
    values = np.unique(np.clip(code, 0.0, 1.0).ravel()[:: max(1, code.size // 20000)])
    inner = values[(values > 0.0) & (values < 1.0)]
    if inner.size < 16:
        return False

    def on_grid(levels: int) -> float:
        # Within 2 % of a step: a 10-bit value stored in 16 bits is up to 0.8 % of a step
        # off its level when rounded (TIFF, PNG), 1.4 % when its bits are replicated (as
        # OIIO reads a 10-bit DPX); 8-bit values land that close to 4 % of 10-bit levels.
        return float(np.mean(np.abs(inner * levels - np.round(inner * levels)) < 2e-2))

    return on_grid(1023) > 0.95 and on_grid(255) < 0.5


def decide(inverse_at_knots: np.ndarray, code: np.ndarray, color: ColorContext) -> CurveEstimate:
    """Turn an estimated inverse curve into a :class:`CurveEstimate` for the plate ``code``."""
    distance = display_distance(inverse_at_knots, color)
    confidence = float(1.0 / (1.0 + np.exp(-(distance - DISPLAY_DISTANCE) / 0.03)))
    if distance < DISPLAY_DISTANCE:
        return CurveEstimate(BT1886_REC709 if ten_bit(code) else SRGB_REC709, confidence, distance)
    grid = np.linspace(0.0, 1.0, SAMPLES)
    inverse = np.interp(grid, KNOTS, np.maximum.accumulate(inverse_at_knots))
    return CurveEstimate("estimated", confidence, distance, inverse.astype(np.float32))
