"""Estimating the camera curve of a plate whose colourspace nobody can name.

``--input-colorspace auto`` estimates the plate's inverse camera curve (code value ->
display-linear light, toe and shoulder included) from the plate itself: the
camera-response step of Liu et al. (CVPR 2020), which reads the image, its edges and its
histogram. Here an MLP reads statistics of a proxy of :data:`PROXY_EDGE` pixels
(:mod:`~hdr_plugin.models.camera_curve.statistics`): per-channel code histograms and slope
profiles, and what the plate's shading edges say about the curve's log-slope (on shading,
the channels' log-gradients agree in linear light: Lin et al., radiometric calibration
from one image, CVPR 2004), and regresses the inverse curve at :data:`KNOTS` code values.
It trains on random curves of several families (display encodings, Reinhard, log,
S-curves, exponential, Uchimura and Lottes shoulders) and never on the families the test
split holds out (:data:`hdr_plugin.crf.TEST_FAMILIES`).

The decision (:func:`decide`) keeps OCIO's exact decoding for display plates: an estimate
near a display encoding decodes the plate as sRGB, or as BT.1886 when its values are on
a 10-bit grid; anything else is decoded by the estimate.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from hdr_plugin.color import DEFAULT_INPUT_SPACE, ColorContext
from hdr_plugin.errors import ModelError
from hdr_plugin.models.camera_curve.decision import (
    DISPLAY_DISTANCE,
    KNOTS,
    PROXY_EDGE,
    CurveEstimate,
    decide,
)
from hdr_plugin.models.engine.registry import ModelSpec, register_model
from hdr_plugin.models.engine.weights import WEIGHTS_ENV, weights_dir

__all__ = [
    "DISPLAY_DISTANCE",
    "KNOTS",
    "NAME",
    "PROXY_EDGE",
    "WEIGHTS_FILE",
    "CurveEstimate",
    "decide",
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

    def inverse_at_knots(self, code: np.ndarray) -> np.ndarray: ...

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
