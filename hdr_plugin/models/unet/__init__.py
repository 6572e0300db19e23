"""``unet-native``: U-Net, SDR Rec.709 -> PQ Rec.2020.

Trained with an SSIM loss on native pairs (an SDR grade and an HDR grade of the same
frames) or on synthetic pairs.
"""

from hdr_plugin.color import DEFAULT_INPUT_SPACE, WORKING_SPACE
from hdr_plugin.models.engine.networks import NEURAL_PARAMETERS, register_neural
from hdr_plugin.models.engine.registry import ModelSpec

SPEC = ModelSpec(
    name="unet-native",
    family="unet",
    kind="neural",
    description="U-Net, SDR Rec.709 -> PQ Rec.2020 (range and gamut), SSIM-trained",
    input_encoding=DEFAULT_INPUT_SPACE,
    weights="unet-native.safetensors",
    tile_multiple=16,
    receptive_field=230,
    licence="Apache-2.0 (weights trained by hdr_plugin)",
    paper="Ronneberger et al., U-Net, MICCAI 2015; SSIM: Wang et al., IEEE TIP 2004",
    parameters=NEURAL_PARAMETERS,
)
register_neural(SPEC, WORKING_SPACE, package=__name__)
