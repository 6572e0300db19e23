"""``unet-native``: U-Net predicting a positive residual over the exact linearisation.

It sees Rec.709 code values and predicts a gain for each clipped channel, trained with
SSIM and L1 on PQ Rec.2020; wherever a channel is below the clip it is the plain
linearisation (OCIO's, with its 709 -> 2020 matrix).
"""

from hdr_plugin.color import DEFAULT_INPUT_SPACE, WORKING_SPACE
from hdr_plugin.models.engine.networks import NEURAL_PARAMETERS, build_learned
from hdr_plugin.models.engine.registry import ModelSpec, register_model

SPEC = ModelSpec(
    name="unet-native",
    family="unet",
    kind="neural",
    description="U-Net residual over the linearisation inside highlights, SSIM-trained on PQ",
    input_encoding=DEFAULT_INPUT_SPACE,
    weights="unet-native.safetensors",
    architecture="hdr_plugin.models.unet.arch:UNetNative",
    output_space=WORKING_SPACE,
    gated=True,
    predicts="log_gain",
    licence="Apache-2.0 (weights trained by hdr_plugin)",
    paper="Ronneberger et al., U-Net, MICCAI 2015; SSIM: Wang et al., IEEE TIP 2004",
    parameters=NEURAL_PARAMETERS,
)
register_model(SPEC, build_learned)
