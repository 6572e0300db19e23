"""Losses used by the published models, on (N, C, H, W) tensors.

Function + Module twins are not needed here: the trainer calls the functions.
"""

from __future__ import annotations

import torch

from hdr_plugin.constants import REFERENCE_WHITE_NITS
from hdr_plugin.train.metrics import PU21_BANDING_GLARE, PU21_MAX_NITS, PU21_MIN_NITS, ssim


def ssim_loss(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """1 - SSIM (:func:`hdr_plugin.train.metrics.ssim`, the metric's own SSIM)."""
    return 1.0 - ssim(x, y, data_range=data_range)


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute error."""
    return (x - y).abs().mean()


def log_l2(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Mean squared error of log(x + eps) and log(y + eps) (HDR radiance)."""
    return (torch.log(x.clamp(min=0) + eps) - torch.log(y.clamp(min=0) + eps)).pow(2).mean()


def pu21(x: torch.Tensor) -> torch.Tensor:
    """PU21 encoding of scene-linear values (reference white 1.0 = 203 cd/m²), per element.

    The torch twin of :func:`hdr_plugin.train.metrics.pu21_encode` (same clamp to
    [0.005, 10000] cd/m²), so that a loss can be the metric's squared error.
    """
    p0, p1, p2, p3, p4, p5, p6 = PU21_BANDING_GLARE
    nits = (x * REFERENCE_WHITE_NITS).clamp(PU21_MIN_NITS, PU21_MAX_NITS)
    y = nits.pow(p3)
    return p6 * (((p0 + p1 * y) / (1.0 + p2 * y)).pow(p4) - p5)


#: PU21 units² added to each view's clipped-region error before its log (a view already
#: within about 0.1 PU21 units of its target stops pulling the batch).
CLIPPED_ERROR_FLOOR = 1e-2


def log_clipped_pu21_error(
    prediction: torch.Tensor, target: torch.Tensor, clipped: torch.Tensor
) -> torch.Tensor:
    """Mean over views of log(mean squared PU21 error over each view's clipped pixels).

    The evaluation's clipped-region PU21-PSNR as a loss: minus its mean over the batch / 10,
    up to a constant, so each view counts by how much it can still improve, not by how
    bright it is. Views without a clipped pixel do not count.

    Args:
        prediction: (N, 3, H, W) scene-linear, reference white 1.0.
        target: the same for the reference.
        clipped: (N, 1, H, W) 1 where the plate had a clipped channel.
    """
    error = (pu21(prediction) - pu21(target)).pow(2).mean(dim=1, keepdim=True)
    count = clipped.sum(dim=(1, 2, 3))
    per_view = (error * clipped).sum(dim=(1, 2, 3)) / count.clamp(min=1.0)
    if not bool((count > 0).any()):
        return prediction.sum() * 0.0
    return torch.log(per_view[count > 0] + CLIPPED_ERROR_FLOOR).mean()


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between horizontal and vertical neighbours."""
    return (x[..., :, 1:] - x[..., :, :-1]).abs().mean() + (
        x[..., 1:, :] - x[..., :-1, :]
    ).abs().mean()


def hole_valid_l1(
    x: torch.Tensor, y: torch.Tensor, valid: torch.Tensor, *, hole_weight: float = 6.0
) -> torch.Tensor:
    """Partial-convolution inpainting loss (Liu et al. 2018): L_valid + 6 L_hole.

    Args:
        x: prediction.
        y: target.
        valid: 1 where the input was known, 0 in holes (broadcastable to ``x``).
        hole_weight: weight of the hole term (6 in the paper).
    """
    valid = valid.expand_as(x)
    difference = (x - y).abs()
    return (difference * valid).mean() + hole_weight * (difference * (1 - valid)).mean()


class PerceptualLoss(torch.nn.Module):
    """L1 between MobileNetV3-Large features of two images (ImageNet weights from disk).

    Only built when the user gives a local file with an ImageNet state dict in
    torchvision's layout; nothing is downloaded.

    Args:
        encoder: a feature extractor with ``features`` (a sequence of layers) and the
            ``mean`` / ``std`` it normalises by (hybrid-mnv3's encoder with the backbone
            loaded).
        layers: ``features`` indices whose outputs are compared.
    """

    def __init__(self, encoder: torch.nn.Module, layers: tuple[int, ...] = (3, 6, 12)):
        super().__init__()
        self.encoder = encoder.eval()
        self.layers = set(layers)
        self.last = max(layers)

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.encoder.mean) / self.encoder.std
        out = []
        for index, layer in enumerate(self.encoder.features):
            x = layer(x)
            if index in self.layers:
                out.append(x)
            if index == self.last:
                break
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x, y: (N, 3, H, W) display-referred values in [0, 1] (e.g. PQ or tone-mapped)."""
        return sum(
            (a - b).abs().mean() for a, b in zip(self._features(x), self._features(y), strict=True)
        )
