"""``layered``: WLS base/detail, partial-conv highlight inpainting, refinement (PQ)."""

from hdr_plugin.color import DEFAULT_INPUT_SPACE, WORKING_SPACE
from hdr_plugin.models.engine.networks import NEURAL_PARAMETERS, build_learned
from hdr_plugin.models.engine.registry import ModelSpec, Parameter, register_model

SPEC = ModelSpec(
    name="layered",
    family="layered",
    kind="neural",
    description="WLS base/detail, partial-conv highlight inpainting + attention, PQ-trained",
    input_encoding=DEFAULT_INPUT_SPACE,
    weights="layered.safetensors",
    architecture="hdr_plugin.models.layered.arch:Layered",
    output_space=WORKING_SPACE,
    gated=True,
    global_parts=True,
    licence="Apache-2.0 (weights trained by hdr_plugin)",
    paper="Farbman et al., WLS, SIGGRAPH 2008; Liu et al., Partial Convolutions, ECCV 2018; "
    "Yu et al., Contextual Attention, CVPR 2018",
    parameters=(
        *NEURAL_PARAMETERS,
        Parameter(
            "mask_threshold",
            float,
            0.95,
            "τ of the per-channel highlight mask (the node's mask threshold), [0.75, 0.995]",
            minimum=0.75,
            maximum=0.995,
        ),
    ),
)
register_model(SPEC, build_learned)
