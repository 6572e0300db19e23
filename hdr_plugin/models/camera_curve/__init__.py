"""Estimating the camera curve of a plate whose colourspace nobody can name.

``--input-colorspace auto`` hands the plate's code values to a small classifier over the
documented family of camera curves (:func:`hdr_plugin.models.crf.camera_curves`), in the
spirit of SingleHDR's linearisation net (Liu et al., CVPR 2020), which reads the image,
its edges and its histogram. Here an MLP reads statistics of a proxy of
:data:`PROXY_EDGE` pixels (:mod:`~hdr_plugin.models.camera_curve.statistics`): per-channel
code histograms and slope profiles, and what the plate's shading edges say about the
curve's log-slope (on shading, the channels' log-gradients agree in linear light, as in
Lin et al.'s radiometric calibration from one image, CVPR 2004). It gives one logit per
family curve and one that the curve is tone-mapped.

The decision is deliberately conservative, because a plate decoded with a slightly wrong
display curve loses far more below the clip than any highlight model can win above it (an
sRGB plate decoded as gamma 2.2 loses about 11 dB of PU21-PSNR): unless the classifier is
more than :data:`TONE_MAPPED_CONFIDENCE` sure that the curve is tone-mapped (filmic,
Reinhard, log and S-curves), the plate is taken as sRGB and decoded by OCIO, exactly as
without ``auto``. Otherwise the inverse curve is the probability-weighted
mean of the tone-mapped curves' inverses.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from hdr_plugin.errors import ModelError
from hdr_plugin.models.camera_curve.decision import (
    PROXY_EDGE,
    TONE_MAPPED_CONFIDENCE,
    CurveEstimate,
    curve_names,
    decide,
    is_display_curve,
)
from hdr_plugin.models.engine.networks import register_package
from hdr_plugin.models.engine.weights import WEIGHTS_ENV, weights_dir

__all__ = [
    "NAME",
    "PROXY_EDGE",
    "TONE_MAPPED_CONFIDENCE",
    "WEIGHTS_FILE",
    "CurveEstimate",
    "curve_names",
    "decide",
    "is_display_curve",
    "load_estimator",
    "require_weights",
]

WEIGHTS_FILE = "camera-curve.safetensors"
NAME = "camera-curve"
register_package(NAME, __name__)


class Estimator(Protocol):
    """What :func:`load_estimator` returns (the torch classifier behind ``auto``)."""

    weights_hash: str | None

    def probabilities(self, code: np.ndarray) -> tuple[np.ndarray, float]: ...

    def estimate(self, code: np.ndarray) -> CurveEstimate: ...


@lru_cache(maxsize=2)
def load_estimator(path: Path | None = None) -> Estimator:
    """The estimator of a weights file (default: the shipped ``camera-curve.safetensors``).

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

    path = path or require_weights()
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
