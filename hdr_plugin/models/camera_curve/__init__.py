"""Estimating the camera curve of a plate whose colourspace nobody can name.

``--input-colorspace auto`` hands the plate's code values to a small classifier over the
documented family of camera curves (:func:`hdr_plugin.crf.camera_curves`), in the
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

from hdr_plugin.color import DEFAULT_INPUT_SPACE, ColorContext
from hdr_plugin.crf import curve_names
from hdr_plugin.errors import ModelError
from hdr_plugin.models.camera_curve.decision import (
    PROXY_EDGE,
    TONE_MAPPED_CONFIDENCE,
    CurveEstimate,
    decide,
    is_display_curve,
)
from hdr_plugin.models.engine.registry import ModelSpec, register_model
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
SPEC = ModelSpec(
    name=NAME,
    family="camera_curve",
    kind="estimator",
    description="camera curve of a plate whose curve has no name (--input-colorspace auto)",
    input_encoding=DEFAULT_INPUT_SPACE,
    weights=WEIGHTS_FILE,
    architecture="hdr_plugin.models.camera_curve.arch:CurveNet",
    licence="Apache-2.0 (weights trained by hdr_plugin)",
    paper="Liu et al., CVPR 2020 (CRF estimation from image and histogram); Lin et al., "
    "Radiometric calibration from a single image, CVPR 2004 (edge cue)",
)


class Estimator(Protocol):
    """What :func:`load_estimator` returns (the torch classifier behind ``auto``)."""

    weights_hash: str | None

    def probabilities(self, code: np.ndarray) -> tuple[np.ndarray, float]: ...

    def estimate(self, code: np.ndarray) -> CurveEstimate: ...


def load_estimator(color: ColorContext, path: Path | None = None) -> Estimator:
    """The estimator of a weights file (default: the shipped ``camera-curve.safetensors``).

    Args:
        color: the OCIO config the family's display encodings are sampled through.
        path: weights file.

    Raises:
        ModelError: the weights are missing (``auto`` then cannot be used).
    """
    return _load_estimator(color.config_path, path or require_weights())


@register_model(SPEC)
def _estimator(spec: ModelSpec, color: ColorContext) -> Estimator:
    return load_estimator(color)


@lru_cache(maxsize=2)
def _load_estimator(config_path: str, path: Path) -> Estimator:
    from hdr_plugin.inference import select_device
    from hdr_plugin.models.camera_curve.arch import CameraCurveEstimator, CurveNet
    from hdr_plugin.models.engine.weights import (
        apply_state_dict,
        file_hash,
        load_state_dict,
        read_card,
    )

    color = ColorContext(config_path)
    card = read_card(path)
    try:
        net = CurveNet(**card.get("architecture", {}), color=color)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{path}: model card architecture does not fit {NAME}: {exc}") from exc
    apply_state_dict(net, load_state_dict(path), source=str(path))
    return CameraCurveEstimator(
        net, color, weights_hash=file_hash(path), device=select_device(None)
    )


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
