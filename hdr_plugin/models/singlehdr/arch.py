"""``singlehdr``: reversing the camera pipeline.

Liu et al., "Single-Image HDR Reconstruction by Learning to Reverse the Camera Pipeline",
CVPR 2020.

Four stages, each a plain module:

1. :class:`DequantizationNet` — 6-level U-Net, leaky ReLU 0.1; a tanh residual is added
   to the 8-bit input to remove quantisation.
2. :class:`LinearizationNet` — ResNet-18 on the image, 6 Sobel edge maps and
   spatial-aware soft-histogram maps; global pooling and two FC layers predict K = 11
   weights of a PCA basis of inverse CRFs sampled at 1024 points (:mod:`crf`); the
   curve is made monotonic by shifting its derivatives to be non-negative and
   renormalised so that g(0) = 0 and g(1) = 1.
3. :class:`HallucinationNet` — encoder-decoder with skips and resize-convolutions, final
   ReLU so that the predicted residual is positive; added where the soft mask
   α = max(0, max_c I - τ) / (1 - τ) (τ = 0.95) says the plate clipped.
4. Optional refinement — the same U-Net as dequantisation, predicting a residual in
   log space from the hallucinated HDR and the input.

Output: linear in the plate's own primaries (Rec.709), with the clipping level at 1.0.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.crf import COMPONENTS, SAMPLES, load_basis
from hdr_plugin.inference import Tile
from hdr_plugin.models.engine.torch_model import HDRNetwork, in_float32
from hdr_plugin.models.unet.arch import UNet

HISTOGRAM_BINS = 8


class DequantizationNet(nn.Module):
    """Input + tanh(U-Net(input)), clamped to [0, 1]."""

    def __init__(self, *, width: int = 16, levels: int = 6) -> None:
        super().__init__()
        self.unet = UNet(width=width, levels=levels, negative_slope=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + torch.tanh(self.unet(x))).clamp(0.0, 1.0)


def sobel_edges(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 6, H, W): horizontal and vertical Sobel responses per channel."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device)
    kernels = torch.stack([kx, kx.t()])[:, None].repeat(3, 1, 1, 1).to(x.dtype)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernels, groups=3)


def soft_histogram(x: torch.Tensor, bins: int = HISTOGRAM_BINS) -> torch.Tensor:
    """Spatial-aware soft histogram: (N, 3, H, W) -> (N, 3 * bins, H, W).

    Each map holds a pixel's triangular-kernel membership of one intensity bin, so the
    histogram keeps where the intensities are (pooling it would give the global
    histogram).
    """
    centres = (torch.arange(bins, device=x.device, dtype=x.dtype) + 0.5) / bins
    member = (1.0 - (x[:, :, None] - centres[None, None, :, None, None]).abs() * bins).clamp(min=0)
    return member.flatten(1, 2)


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs with BatchNorm, identity or 1x1 shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """ResNet-18 feature extractor (He et al., CVPR 2016): [2, 2, 2, 2] basic blocks.

    Args:
        in_channels: input channels.
        width: channels of the first stage (64 in the published network).
    """

    def __init__(self, *, in_channels: int, width: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers = []
        cin = width
        for stage in range(4):
            cout = width * 2**stage
            stride = 1 if stage == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.out_channels = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.layers(x)


def monotonic_curve(curve: torch.Tensor) -> torch.Tensor:
    """Make (N, S) curves monotonic with g(0) = 0, g(1) = 1 (Liu et al. §3.2).

    Derivatives are shifted up by their most negative value, integrated from 0, and the
    result divided by its last sample.
    """
    derivative = torch.diff(curve, dim=-1)
    derivative = derivative - derivative.min(dim=-1, keepdim=True).values.clamp(max=0.0)
    integral = F.pad(torch.cumsum(derivative, dim=-1), (1, 0))
    return integral / integral[..., -1:].clamp(min=1e-6)


def apply_curve(x: torch.Tensor, curve: torch.Tensor) -> torch.Tensor:
    """Look up (N, C, H, W) values in [0, 1] in per-image (N, S) curves, linearly interpolated."""
    # In float32: bf16 cannot even represent every index up to 1023 (spacing 4 above 512).
    dtype = x.dtype
    x, curve = x.float(), curve.float()
    samples = curve.shape[-1]
    position = x.clamp(0.0, 1.0) * (samples - 1)
    low = position.floor().clamp(max=samples - 2)
    frac = position - low
    table = curve[:, None, :].expand(-1, x.shape[1], -1)
    index = low.long().flatten(2)
    lo = torch.gather(table, 2, index).view_as(x)
    hi = torch.gather(table, 2, index + 1).view_as(x)
    return (lo + (hi - lo) * frac).to(dtype)


class LinearizationNet(nn.Module):
    """Predicts a monotonic inverse CRF (N, 1024) from a dequantised image."""

    def __init__(self, *, width: int = 64, hidden: int = 512, bins: int = HISTOGRAM_BINS) -> None:
        super().__init__()
        self.bins = bins
        self.backbone = ResNet18(in_channels=3 + 6 + 3 * bins, width=width)
        self.fc1 = nn.Linear(self.backbone.out_channels, hidden)
        self.fc2 = nn.Linear(hidden, COMPONENTS)
        mean, basis = load_basis()
        self.register_buffer("crf_mean", torch.from_numpy(mean.copy()), persistent=False)
        self.register_buffer("crf_basis", torch.from_numpy(basis.copy()), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return in_float32(self._curve, x)  # one curve for every pixel: never in bf16

    def _curve(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.cat([x, sobel_edges(x), soft_histogram(x, self.bins)], dim=1)
        pooled = F.adaptive_avg_pool2d(self.backbone(features), 1).flatten(1)
        weights = self.fc2(F.relu(self.fc1(pooled)))
        curve = self.crf_mean.to(weights.dtype) + weights @ self.crf_basis.to(weights.dtype)
        return monotonic_curve(curve)


def highlight_alpha(x: torch.Tensor, threshold: float) -> torch.Tensor:
    """Soft mask α = max(0, max_c I - τ) / (1 - τ), (N, 1, H, W)."""
    return ((x.amax(dim=1, keepdim=True) - threshold) / (1.0 - threshold)).clamp(0.0, 1.0)


class HallucinationNet(nn.Module):
    """Encoder-decoder with skips and resize-convs; ReLU output = positive residual."""

    def __init__(self, *, width: int = 16, levels: int = 5) -> None:
        super().__init__()
        self.unet = UNet(in_channels=3, out_channels=3, width=width, levels=levels)

    def forward(self, linear: torch.Tensor) -> torch.Tensor:
        return F.relu(self.unet(linear))


class SingleHDR(HDRNetwork):
    """Dequantisation -> linearisation -> hallucination -> optional refinement.

    Args:
        width: U-Net widths (dequantisation, hallucination, refinement).
        resnet_width: first-stage channels of the linearisation ResNet-18.
        refine: include the refinement net.
        mask_threshold: τ of the hallucination blending mask.
    """

    def __init__(
        self,
        *,
        width: int = 16,
        resnet_width: int = 64,
        refine: bool = True,
        mask_threshold: float = 0.95,
    ) -> None:
        super().__init__()
        self.dequantization = DequantizationNet(width=width, levels=6)
        self.linearization = LinearizationNet(width=resnet_width)
        self.hallucination = HallucinationNet(width=width, levels=6)
        self.refinement = (
            UNet(in_channels=6, out_channels=3, width=width, levels=6, negative_slope=0.1)
            if refine
            else None
        )
        self.mask_threshold = mask_threshold
        self.tile_multiple = self.dequantization.unet.tile_multiple
        # The stages are sequential U-Nets; their summed theoretical field (~1400 px) far
        # exceeds what they use. One U-Net's field is the tiling margin; the tiled-vs-whole
        # difference this leaves is measured in tests/test_neural.py.
        self.receptive_field = self.dequantization.unet.receptive_field

    def global_context(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse CRF, estimated once on a (downscaled) full frame."""
        return self.linearization(self.dequantization(x))

    def stages(self, x: torch.Tensor, curve: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Every intermediate result, for training losses on each stage."""
        dequantized = self.dequantization(x)
        if curve is None:
            curve = self.linearization(dequantized)
        linear = apply_curve(dequantized, curve)
        alpha = highlight_alpha(x, self.mask_threshold)
        residual = self.hallucination(linear)
        hdr = linear + alpha * residual
        result = {
            "dequantized": dequantized,
            "curve": curve,
            "linear": linear,
            "alpha": alpha,
            "residual": residual,
            "hallucinated": hdr,
        }
        if self.refinement is not None:
            log_hdr = torch.log1p(hdr)
            hdr = torch.expm1(log_hdr + self.refinement(torch.cat([log_hdr, x], dim=1)))
            hdr = hdr.clamp(min=0.0)
        result["hdr"] = hdr
        return result

    def forward(
        self, x: torch.Tensor, context: Any = None, window: Tile | None = None
    ) -> torch.Tensor:
        """Linear Rec.709 (the plate's primaries), clipping level 1.0."""
        return self.stages(x, context)["hdr"]


__all__ = ["SAMPLES", "SingleHDR", "apply_curve", "monotonic_curve", "sobel_edges"]
