"""Estimating the camera curve of a plate whose colourspace nobody can name.

``--input-colorspace auto`` hands the plate's code values to a small classifier over the
documented family of camera curves (:func:`hdr_plugin.models.crf.camera_curves`), in the
spirit of SingleHDR's linearisation net (Liu et al., CVPR 2020), which regresses the
inverse curve from the image, its edges and its histogram. Here the image (on a proxy of
:data:`PROXY_EDGE` pixels) goes through a strided CNN and its per-channel code histograms
through an MLP; the joined features give one logit per family curve.

The decision is deliberately conservative, because a plate decoded with a slightly wrong
display curve loses far more below the clip than any highlight model can win above it (an
sRGB plate decoded as gamma 2.2 loses about 11 dB of PU21-PSNR): unless the classifier
puts more than :data:`TONE_MAPPED_CONFIDENCE` of its probability on the tone-mapped
curves (filmic, Reinhard, log and S-curves), the plate is taken as sRGB and decoded by
OCIO, exactly as without ``auto``. Otherwise the inverse curve is the probability-weighted
mean of the tone-mapped curves' inverses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from hdr_plugin.errors import ModelError
from hdr_plugin.models.crf import SAMPLES, camera_curves, invert_curve
from hdr_plugin.models.engine.networks import register_package
from hdr_plugin.models.engine.weights import WEIGHTS_ENV, weights_dir

#: Short edge of the proxy the classifier sees, pixels.
PROXY_EDGE = 192
HISTOGRAM_BINS = 64
#: Probability on the tone-mapped curves above which a plate is decoded by the estimate.
TONE_MAPPED_CONFIDENCE = 0.5
#: Curves the classifier maps to plain sRGB: display encodings (power laws and the named
#: OCIO encodings), which image statistics cannot tell apart reliably.
DISPLAY_PREFIXES = ("gamma", "srgb", "bt1886")
WEIGHTS_FILE = "camera-curve.safetensors"
NAME = "camera-curve"
register_package(NAME, __name__)


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


def decide(probabilities: np.ndarray) -> CurveEstimate:
    """Turn class probabilities (classes,) into a :class:`CurveEstimate`."""
    names = curve_names()
    tone = np.array([not is_display_curve(n) for n in names])
    tone_mapped = float(probabilities[tone].sum())
    if tone_mapped <= TONE_MAPPED_CONFIDENCE:
        return CurveEstimate("srgb", tone_mapped)
    weights = np.where(tone, probabilities, 0.0)
    weights = weights / weights.sum()
    inverse = (weights[:, None] * inverse_curves()).sum(axis=0).astype(np.float32)
    top = np.argsort(weights)[::-1][:3]
    name = "mixture of " + ", ".join(f"{names[i]} ({weights[i]:.2f})" for i in top)
    return CurveEstimate(name, tone_mapped, inverse)


class Estimator(Protocol):
    """What :func:`load_estimator` returns (the torch classifier behind ``auto``)."""

    weights_hash: str | None

    def estimate(self, code: np.ndarray) -> CurveEstimate: ...


@lru_cache(maxsize=1)
def load_estimator() -> Estimator:
    """The shipped estimator (``camera-curve.safetensors`` beside the models' weights).

    Raises:
        ModelError: the weights are missing (``auto`` then cannot be used).
    """
    from hdr_plugin.inference import select_device
    from hdr_plugin.models.camera_curve.arch import CameraCurveEstimator, CurveNet
    from hdr_plugin.models.engine.weights import (
        apply_state_dict,
        file_hash,
        load_state_dict,
        read_card,
    )

    path = require_weights()
    card = read_card(path)
    net = CurveNet(**card.get("architecture", {}))
    apply_state_dict(net, load_state_dict(path), source=str(path))
    return CameraCurveEstimator(net, weights_hash=file_hash(path), device=select_device(None))


def require_weights() -> Path:
    """The estimator's weights file.

    Raises:
        ModelError: it is missing (``auto`` then cannot be used).
    """
    path = weights_dir() / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(
            f"--input-colorspace auto needs the camera-curve estimator ({path} is missing); "
            f"name the plate's colourspace instead, or point ${WEIGHTS_ENV} at a folder "
            "holding the weights"
        )
    return path
