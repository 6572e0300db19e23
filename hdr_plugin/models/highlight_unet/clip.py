"""Where a plate clipped: its top code, or where a codec subsampled chroma, a learned guess.

A lossless plate clipped exactly where a channel sits at its top code
(:data:`CLIP_LINEAR`), and nowhere else. A plate that went through a codec (camera JPEG,
H.264/H.265 at 4:2:0, ProRes at 4:2:2) keeps only part of a clipped highlight at the top
code: ringing, blocks and chroma averaged over 2x2 (or 2x1) pixels leave 30-70 % of the
clipped channel values below it, at 0.8-0.99 of the clip. On such a plate each channel's
probability of having clipped in the scene is predicted by :class:`ClipDetector`, a small
CNN over the plate's neighbourhood, and used from :data:`NEAR_CLIP` up.

Which plates count as compressed is read from the plate itself
(:func:`chroma_subsampled`): chroma stored at half resolution and upsampled varies less
between the two pixels of a chroma sample than between neighbouring samples, a phase
structure a plate with full chroma does not have. A plate with full chroma is taken as
lossless, so its decoding below the top code stays exact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Display-linear value from which a channel is at its top code: above the linear value of
#: code 254 of 8 bits (0.991) and of code 1022 of 10 bits (0.998) for sRGB and gamma
#: 2.2/2.4 encodings, so only the top code counts.
CLIP_LINEAR = 0.999
#: On a compressed plate, channels below this display-linear value never count as clipped
#: (below the 1st percentile of truly clipped values after JPEG q85 and H.264 CRF 18).
NEAR_CLIP = 0.75
#: Chroma-phase ratio (:func:`chroma_phase_ratio`) under which chroma was subsampled: on
#: validation plates, full chroma measures 0.95-1.0, JPEG q85 4:2:0 0.32-0.83, H.264 CRF 18
#: 4:2:0 0.12-0.24.
SUBSAMPLED_RATIO = 0.9
#: Mean absolute chroma step (code values) under which a plate is too grey to tell.
MIN_CHROMA_STEP = 1e-4
#: Chroma steps (code values) are counted up to this (about 5 8-bit codes).
STEP_CAP = 0.02
#: Context the detector reads on each side of a pixel (its receptive field), pixels.
DETECTOR_REACH = 24


def _encoded(linear: torch.Tensor) -> torch.Tensor:
    """Display-linear values warped by x^(1/2.2), where a codec's errors are about even.

    A feature of the statistics and of the detector's input, not a decoding (OCIO's comes
    before the model).
    """
    return linear.clamp(0.0, 1.0).pow(1.0 / 2.2)


def _phase_ratio(
    chroma: torch.Tensor, dim: int, cap: float = STEP_CAP
) -> tuple[torch.Tensor, torch.Tensor]:
    """Along ``dim``: (min / max of the two phases' mean steps, the larger step), per image.

    ``cap`` is a default argument because TorchScript reads no float globals.
    """
    length = chroma.shape[dim] - 2 - chroma.shape[dim] % 2
    # Steps capped, so that a few strong edges (which sit at one phase or the other) do
    # not outweigh the texture everywhere else.
    even = (chroma.narrow(dim, 0, length) - chroma.narrow(dim, 1, length)).abs().clamp(max=cap)
    odd = (chroma.narrow(dim, 1, length) - chroma.narrow(dim, 2, length)).abs().clamp(max=cap)
    # Steps between pixels 2k|2k+1 (even phase) and 2k+1|2k+2 (odd), whichever grid.
    even_step = even.narrow(dim, 0, length // 2 * 2).unflatten(dim, [-1, 2]).select(dim + 1, 0)
    odd_step = odd.narrow(dim, 0, length // 2 * 2).unflatten(dim, [-1, 2]).select(dim + 1, 0)
    a = even_step.mean(dim=(1, 2, 3))
    b = odd_step.mean(dim=(1, 2, 3))
    return torch.minimum(a, b) / torch.maximum(a, b).clamp(min=1e-12), torch.maximum(a, b)


def _chroma(linear: torch.Tensor) -> torch.Tensor:
    """BT.709 Cb and Cr (N, 2, H, W) of display-linear Rec.709, encoded by :func:`_encoded`."""
    code = _encoded(linear.float())
    r, g, b = code[:, 0:1], code[:, 1:2], code[:, 2:3]
    return torch.cat([-0.1146 * r - 0.3854 * g + 0.5 * b, 0.5 * r - 0.4542 * g - 0.0458 * b], 1)


def chroma_phase_ratio(linear: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) chroma-phase ratio of display-linear Rec.709 frames (N, 3, H, W), and their chroma step.

    The mean absolute step of BT.709 Cb and Cr between horizontal (then vertical)
    neighbours, taken separately at even and at odd positions; the ratio of the smaller to
    the larger, the smaller of the two directions. About 1 for a plate with full chroma;
    well under 1 where chroma was stored at half resolution in a direction (4:2:0 both,
    4:2:2 horizontally), whichever the grid's phase (a crop by an odd offset). Rows (and
    columns) are sampled about every 1/128 of the short edge: steps along a row need only
    that row, and a frame has plenty.
    """
    stride = max(1, min(linear.shape[2], linear.shape[3]) // 128)
    across, step_w = _phase_ratio(_chroma(linear[:, :, ::stride]), 3)
    down, step_h = _phase_ratio(_chroma(linear[:, :, :, ::stride]), 2)
    return torch.minimum(across, down), torch.minimum(step_w, step_h)


def chroma_subsampled(
    linear: torch.Tensor, below: float = SUBSAMPLED_RATIO, min_step: float = MIN_CHROMA_STEP
) -> torch.Tensor:
    """(N,) bool: the frame's chroma was subsampled by a codec (see :func:`chroma_phase_ratio`).

    Frames too small (under 8 pixels a side) or too grey to tell count as not subsampled.
    The thresholds are default arguments because TorchScript reads no float globals.
    """
    if linear.shape[2] < 8 or linear.shape[3] < 8:
        return torch.zeros(linear.shape[0], dtype=torch.bool, device=linear.device)
    ratio, step = chroma_phase_ratio(linear)
    return (ratio < below) & (step > min_step)


class ClipDetector(nn.Module):
    """Display-linear Rec.709 (N, 3, H, W) -> logit (N, 3, H, W) that each channel clipped.

    Full resolution for the pixel's own neighbourhood (ringing, chroma averaged over 2x2),
    half resolution with dilated convolutions for the block and macroblock around it; its
    reach is :data:`DETECTOR_REACH` pixels.
    """

    def __init__(self, width: int = 16):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.down = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.context = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=2, dilation=2),
            nn.LeakyReLU(0.1),
            nn.Conv2d(width, width, 3, padding=4, dilation=4),
            nn.LeakyReLU(0.1),
        )
        self.head = nn.Conv2d(2 * width, 3, 1)

    def forward(self, linear: torch.Tensor) -> torch.Tensor:
        # Code values centred on the top of the range, where the decision lies.
        x = (_encoded(linear) - 0.9) * 10.0
        fine = F.leaky_relu(self.stem(x), 0.1)
        coarse = self.context(F.leaky_relu(self.down(fine), 0.1))
        coarse = F.interpolate(coarse, size=[x.shape[2], x.shape[3]], mode="bilinear")
        return self.head(torch.cat([fine, coarse], dim=1))
