"""``highlight-expand``: OCIO linearisation below the clip, learned gains above it."""

from __future__ import annotations

from typing import Any

import numpy as np

from hdr_plugin.color import DEFAULT_INPUT_SPACE, LINEAR_REC709, WORKING_SPACE, ColorContext
from hdr_plugin.models.engine.networks import register_package
from hdr_plugin.models.engine.registry import ModelSpec, Parameter, register_model

SPEC = ModelSpec(
    name="highlight-expand",
    family="highlight",
    kind="neural",
    description="OCIO linearisation; clipped pixels get per-pixel learned gains (fast, CPU)",
    input_encoding=DEFAULT_INPUT_SPACE,
    weights="highlight-expand.safetensors",
    receptive_field=256,
    licence="Apache-2.0 (weights trained by hdr_plugin)",
    paper="Eilertsen et al., HDR image reconstruction from a single exposure using deep CNNs, "
    "SIGGRAPH Asia 2017 (gated blend); Rempel et al., Ldr2Hdr, SIGGRAPH 2007 (expand map)",
    parameters=(
        Parameter(
            "device",
            str,
            "auto",
            "where the per-pixel network runs: auto (CUDA > MPS > CPU), cpu, cuda or mps",
            choices=("auto", "cpu", "cuda", "mps"),
        ),
    ),
)
register_package(SPEC.name, __name__)


class HighlightExpand:
    """Display-encoded plate -> scene-linear Rec.2020 with learned highlight gains.

    Args:
        spec: the registered spec.
        color: OCIO context (decoding to linear Rec.709, then to Rec.2020).
        net: a trained :class:`~hdr_plugin.models.highlight.arch.HighlightNet`.
        weights_hash: hash of its weights file, for provenance.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
    """

    def __init__(
        self,
        spec: ModelSpec,
        color: ColorContext,
        net: Any,
        *,
        weights_hash: str | None,
        device: str = "auto",
    ) -> None:
        from hdr_plugin.inference import select_device

        self.spec = spec
        self.weights_hash = weights_hash
        self.device = select_device(None if device == "auto" else device)
        self.net = net.float().to(self.device).eval()
        self._color = color

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) display-encoded in [0, 1] -> (H, W, 3) scene-linear Rec.2020."""
        from hdr_plugin.models.highlight.arch import expand_highlights

        linear = linearise(image, self._color, self.spec.input_encoding)
        expanded = expand_highlights(self.net, image, linear)
        return self._color.convert(expanded, LINEAR_REC709, WORKING_SPACE)


def linearise(image: np.ndarray, color: ColorContext, encoding: str) -> np.ndarray:
    """(H, W, 3) display-encoded in ``encoding`` -> display-linear Rec.709 in [0, 1] (OCIO)."""
    return np.clip(color.convert(image, encoding, LINEAR_REC709), 0.0, 1.0)


@register_model(SPEC)
def _highlight_expand(color: ColorContext, *, device: str) -> HighlightExpand:
    from hdr_plugin.models.engine.torch_model import load_network
    from hdr_plugin.models.highlight.arch import HighlightNet

    net, digest = load_network(SPEC, HighlightNet)
    return HighlightExpand(SPEC, color, net, weights_hash=digest, device=device)
