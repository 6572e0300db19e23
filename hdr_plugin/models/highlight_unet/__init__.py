"""``highlight-unet``: the exact OCIO linearisation below the clip, a U-Net above it.

A convolutional hallucination net on a proxy of the frame predicts a positive log gain for
every clipped channel (:mod:`hdr_plugin.models.highlight_unet.arch`); everything below the
clip is the plain linearisation.
"""

from hdr_plugin.color import LINEAR_REC709
from hdr_plugin.models.engine.networks import NEURAL_PARAMETERS, build_learned
from hdr_plugin.models.engine.registry import ModelSpec, register_model

SPEC = ModelSpec(
    name="highlight-unet",
    family="highlight_unet",
    kind="neural",
    description="OCIO linearisation; clipped channels get gains from a U-Net on a proxy",
    input_encoding=LINEAR_REC709,
    weights="highlight-unet.safetensors",
    architecture="hdr_plugin.models.highlight_unet.arch:HighlightUNet",
    output_space=LINEAR_REC709,
    whole_frame=True,
    licence="Apache-2.0 (weights trained by hdr_plugin)",
    paper="Eilertsen et al., HDR image reconstruction from a single exposure using deep CNNs, "
    "SIGGRAPH Asia 2017 (gated positive residual); Ronneberger et al., U-Net, MICCAI 2015",
    parameters=tuple(p for p in NEURAL_PARAMETERS if p.name in ("device", "precision")),
)
register_model(SPEC, build_learned)
