"""Published analytic SDR -> HDR operators.

Each operator inverts a published tone curve (:mod:`hdr_plugin.tone_curves`, pure
functions on arrays) and is a registered model. The model decodes the plate to
display-linear light through OCIO, applies the inverse curve, and converts to
scene-linear Rec.2020 through OCIO.

Units. Display-linear SDR is 1.0 at SDR peak (100 cd/m²). The scene-linear output has SDR
reference white at 1.0, which ITU-R BT.2408 places at 203 cd/m²; a peak of ``P`` cd/m² is
therefore the value ``P / 203``. Knobs named ``peak_nits`` are in cd/m² on that scale.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hdr_plugin.color import DEFAULT_INPUT_SPACE, LINEAR_REC709, WORKING_SPACE, ColorContext
from hdr_plugin.constants import LUMA_REC709, REFERENCE_WHITE_NITS
from hdr_plugin.masks import max_rgb
from hdr_plugin.models.engine.registry import ModelSpec, Parameter, register_model
from hdr_plugin.tone_curves import (
    HABLE_WHITE,
    ratio_scale,
    tonemap_inverse_BT2446A,
    tonemap_inverse_BT2446C,
    tonemap_inverse_Hable,
    tonemap_inverse_Mobius,
    tonemap_inverse_Reinhard,
)


class AnalyticOperator:
    """Display-encoded plate -> scene-linear Rec.2020 through one published curve.

    Args:
        spec: the registered spec.
        color: OCIO context used to decode to ``working_space`` and to reach Rec.2020.
        working_space: display-linear OCIO colourspace the curve is defined in.
        expand: (H, W, 3) display-linear -> (H, W, 3) scene-linear (reference white 1.0),
            both in ``working_space``.
    """

    weights_hash = None

    def __init__(
        self,
        spec: ModelSpec,
        color: ColorContext,
        working_space: str,
        expand: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        self.spec = spec
        self._color = color
        self._working = working_space
        self._expand = expand

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) display-encoded in [0, 1] -> (H, W, 3) scene-linear Rec.2020."""
        linear = self._color.convert(image, self.spec.input_encoding, self._working)
        expanded = self._expand(np.clip(linear, 0.0, 1.0)).astype(np.float32)
        return self._color.convert(expanded, self._working, WORKING_SPACE)


PEAK_NITS = Parameter(
    "peak_nits",
    float,
    1000.0,
    "luminance the SDR peak (code value 1.0) expands to, cd/m² (203 cd/m² = 1.0)",
    minimum=REFERENCE_WHITE_NITS * 1.01,
    maximum=10000.0,
)


def _spec(name: str, description: str, paper: str, **kwargs) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="analytic",
        kind="analytic",
        description=description,
        input_encoding=DEFAULT_INPUT_SPACE,
        paper=paper,
        licence="published formula",
        **kwargs,
    )


LINEAR = _spec(
    "linear",
    "plain OCIO linearisation to Rec.2020, no expansion (SDR peak = reference white)",
    "",
)


@register_model(LINEAR)
def _linear(spec: ModelSpec, color: ColorContext) -> AnalyticOperator:
    return AnalyticOperator(spec, color, WORKING_SPACE, lambda rgb: rgb)


INVERSE_REINHARD = _spec(
    "inverse-reinhard",
    "inverse extended Reinhard curve on luminance, hue kept",
    "Reinhard et al., Photographic Tone Reproduction for Digital Images, SIGGRAPH 2002",
    parameters=(PEAK_NITS,),
)


@register_model(INVERSE_REINHARD)
def _inverse_reinhard(
    spec: ModelSpec, color: ColorContext, *, peak_nits: float
) -> AnalyticOperator:
    white = peak_nits / REFERENCE_WHITE_NITS

    def expand(rgb: np.ndarray) -> np.ndarray:
        lum = rgb @ LUMA_REC709
        return ratio_scale(rgb, lum, tonemap_inverse_Reinhard(lum, white))

    return AnalyticOperator(spec, color, LINEAR_REC709, expand)


INVERSE_HABLE = _spec(
    "inverse-hable",
    "inverse Hable filmic curve per channel (Uncharted 2 constants)",
    "J. Hable, Filmic Tonemapping Operators / Uncharted 2 HDR Lighting, GDC 2010",
    parameters=(PEAK_NITS,),
)


@register_model(INVERSE_HABLE)
def _inverse_hable(spec: ModelSpec, color: ColorContext, *, peak_nits: float) -> AnalyticOperator:
    peak = peak_nits / REFERENCE_WHITE_NITS

    def expand(rgb: np.ndarray) -> np.ndarray:
        return tonemap_inverse_Hable(rgb) * (peak / HABLE_WHITE)

    return AnalyticOperator(spec, color, LINEAR_REC709, expand)


INVERSE_MOBIUS = _spec(
    "inverse-mobius",
    "inverse Möbius curve on max(R,G,B): identity below the knee, expands highlights only",
    "N. Haas, mpv/libplacebo 'mobius' tone mapping (Möbius transformation)",
    parameters=(
        PEAK_NITS,
        Parameter(
            "knee",
            float,
            0.3,
            "display-linear level below which the plate is left linear, [0.05, 0.9]",
            minimum=0.05,
            maximum=0.9,
        ),
    ),
)


@register_model(INVERSE_MOBIUS)
def _inverse_mobius(
    spec: ModelSpec, color: ColorContext, *, peak_nits: float, knee: float
) -> AnalyticOperator:
    peak = peak_nits / REFERENCE_WHITE_NITS

    def expand(rgb: np.ndarray) -> np.ndarray:
        norm = max_rgb(rgb)
        return ratio_scale(rgb, norm, tonemap_inverse_Mobius(norm, peak, knee))

    return AnalyticOperator(spec, color, LINEAR_REC709, expand)


BT2446A_INVERSE = _spec(
    "bt2446a-inverse",
    "ITU-R BT.2446 Method A SDR->HDR (fixed 100 -> 1000 cd/m² polynomial)",
    "Report ITU-R BT.2446-1 (2021) §4.2, Table 4",
)


@register_model(BT2446A_INVERSE)
def _bt2446a_inverse(spec: ModelSpec, color: ColorContext) -> AnalyticOperator:
    def expand(rgb: np.ndarray) -> np.ndarray:
        return tonemap_inverse_BT2446A(rgb) / REFERENCE_WHITE_NITS

    return AnalyticOperator(spec, color, WORKING_SPACE, expand)


BT2446C_INVERSE = _spec(
    "bt2446c-inverse",
    "ITU-R BT.2446 Method C SDR->HDR: exact inverse of its linear+log luminance curve",
    "Report ITU-R BT.2446-1 (2021) §6.2",
    parameters=(
        Parameter(
            "alpha",
            float,
            0.05,
            "crosstalk matrix amount (desaturates highlights before expansion), [0, 0.33]",
            minimum=0.0,
            maximum=0.33,
        ),
    ),
)


@register_model(BT2446C_INVERSE)
def _bt2446c_inverse(spec: ModelSpec, color: ColorContext, *, alpha: float) -> AnalyticOperator:
    def expand(rgb: np.ndarray) -> np.ndarray:
        return tonemap_inverse_BT2446C(rgb, alpha)

    return AnalyticOperator(spec, color, WORKING_SPACE, expand)
