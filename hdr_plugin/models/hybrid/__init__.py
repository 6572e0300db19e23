"""``hybrid-mnv3``: MobileNetV3-Large autoencoder predicting a log gain inside highlights."""

from hdr_plugin.color import DEFAULT_INPUT_SPACE, WORKING_SPACE
from hdr_plugin.models.engine.networks import NEURAL_PARAMETERS, build_learned
from hdr_plugin.models.engine.registry import ModelSpec, register_model

SPEC = ModelSpec(
    name="hybrid-mnv3",
    family="hybrid",
    kind="neural",
    description="MobileNetV3 encoder + PixelShuffle decoder, log residual over the linearisation",
    input_encoding=DEFAULT_INPUT_SPACE,
    weights="hybrid-mnv3.safetensors",
    architecture="hdr_plugin.models.hybrid.arch:HybridMNV3",
    output_space=WORKING_SPACE,
    gated=True,
    predicts="log_gain",
    global_parts=True,
    licence="Apache-2.0 (weights trained by hdr_plugin)",
    paper="Howard et al., Searching for MobileNetV3, ICCV 2019; Shi et al., PixelShuffle, "
    "CVPR 2016",
    parameters=NEURAL_PARAMETERS,
)
register_model(SPEC, build_learned)
