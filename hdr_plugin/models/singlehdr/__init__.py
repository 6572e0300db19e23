"""``singlehdr``: Liu et al. (CVPR 2020) camera-pipeline reversal."""

from hdr_plugin.color import DEFAULT_INPUT_SPACE, LINEAR_REC709
from hdr_plugin.models.engine.networks import NEURAL_PARAMETERS, build_learned
from hdr_plugin.models.engine.registry import ModelSpec, Parameter, register_model

SPEC = ModelSpec(
    name="singlehdr",
    family="singlehdr",
    kind="neural",
    description="camera-pipeline reversal: dequantise, linearise (CRF), hallucinate, refine",
    input_encoding=DEFAULT_INPUT_SPACE,
    weights="singlehdr.safetensors",
    architecture="hdr_plugin.models.singlehdr.arch:SingleHDR",
    output_space=LINEAR_REC709,
    gated=True,
    global_parts=True,
    licence="Apache-2.0 (weights trained by hdr_plugin)",
    paper="Liu et al., Single-Image HDR Reconstruction by Learning to Reverse the Camera "
    "Pipeline, CVPR 2020",
    parameters=(
        *NEURAL_PARAMETERS,
        Parameter(
            "mask_threshold",
            float,
            0.95,
            "code value where hallucinated highlights blend in (the node's mask threshold)",
            minimum=0.5,
            maximum=0.995,
        ),
    ),
)
register_model(SPEC, build_learned)
