"""Numbers every part of the plugin must agree on, defined once."""

import numpy as np

#: ITU-R BT.2408 HDR reference white, cd/m²: scene-linear 1.0 in the model contract.
REFERENCE_WHITE_NITS = 203.0
#: cd/m² of 1.0 in an OCIO config's display-referred reference space (the studio configs).
DISPLAY_REFERENCE_NITS = 100.0
#: Luma weights of ITU-R BT.709 and BT.2020 (Y from linear R, G, B).
LUMA_REC709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
LUMA_REC2020 = np.array([0.2627, 0.6780, 0.0593], dtype=np.float32)
#: Code value at which a display-encoded channel counts as clipped (one 8-bit step below 1).
CLIP_CODE = 254.0 / 255.0
