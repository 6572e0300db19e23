"""U-Net encoder-decoder with skip connections (Ronneberger et al., MICCAI 2015).

Used as is by ``unet-native`` and as a building block by ``singlehdr`` (dequantisation
and refinement nets: 6 levels, leaky ReLU 0.1) and ``layered`` (base and refinement).
Upsampling is resize-convolution (bilinear x2 then 3x3 conv), which avoids the
checkerboard artefacts of transposed convolutions.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.inference import Tile
from hdr_plugin.models.engine.gate import start_at_the_linearisation
from hdr_plugin.models.engine.torch_model import HDRNetwork


def _act(negative_slope: float) -> nn.Module:
    return nn.LeakyReLU(negative_slope) if negative_slope > 0 else nn.ReLU()


class ConvBlock(nn.Sequential):
    """Two 3x3 convolutions, each followed by the activation."""

    def __init__(self, in_channels: int, out_channels: int, *, negative_slope: float = 0.0):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            _act(negative_slope),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            _act(negative_slope),
        )


class ResizeConv(nn.Module):
    """Bilinear x2 upsampling followed by a 3x3 convolution."""

    def __init__(self, in_channels: int, out_channels: int, *, negative_slope: float = 0.0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.act = _act(negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.act(self.conv(x))


class UNet(nn.Module):
    """U-Net with ``levels`` resolutions (``levels - 1`` poolings).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        width: channels at full resolution; doubled at each level, capped at 16 x width.
        levels: number of resolutions (>= 2).
        negative_slope: leaky ReLU slope (0 = ReLU).

    Input (N, in_channels, H, W) with H and W multiples of :attr:`tile_multiple`;
    output (N, out_channels, H, W), no final activation.
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        width: int = 16,
        levels: int = 4,
        negative_slope: float = 0.0,
    ) -> None:
        super().__init__()
        if levels < 2:
            raise ValueError("a U-Net needs at least 2 levels")
        widths = [min(width * 2**i, width * 16) for i in range(levels)]
        self.encoders = nn.ModuleList()
        channels = in_channels
        for w in widths:
            self.encoders.append(ConvBlock(channels, w, negative_slope=negative_slope))
            channels = w
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.ups.append(ResizeConv(channels, w, negative_slope=negative_slope))
            self.decoders.append(ConvBlock(2 * w, w, negative_slope=negative_slope))
            channels = w
        self.head = nn.Conv2d(channels, out_channels, 1)
        self.tile_multiple = 2 ** (levels - 1)
        # Per level: 2 encoder + 2 decoder convs (+2 each) and pooling/upsampling (+~3),
        # at stride 2**i; the bottleneck adds 2 convs at the coarsest stride.
        self.receptive_field = 1 + sum(11 * 2**i for i in range(levels - 1)) + 4 * 2 ** (levels - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for index, encoder in enumerate(self.encoders):
            if index:
                x = F.max_pool2d(x, 2)
            x = encoder(x)
            skips.append(x)
        skips.pop()
        for up, decoder in zip(self.ups, self.decoders, strict=True):
            x = decoder(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)


class UNetNative(HDRNetwork):
    """``unet-native``: U-Net predicting a log gain over the linearisation of the plate.

    The network sees display-encoded Rec.709 and predicts, per channel of the plate, the log
    gain that the gate (:meth:`~hdr_plugin.models.engine.gate.LinearGate.expand`) applies
    where that channel clipped: a positive residual over the exact linearisation. It is
    trained with SSIM and L1 on the PQ encoding of the result (in Rec.2020).

    Args:
        width: channels at full resolution.
        levels: U-Net resolutions.
    """

    def __init__(self, *, width: int = 16, levels: int = 5) -> None:
        super().__init__()
        self.unet = UNet(in_channels=3, out_channels=3, width=width, levels=levels)
        self.tile_multiple = self.unet.tile_multiple
        self.receptive_field = self.unet.receptive_field
        start_at_the_linearisation(self.unet.head)

    def forward(
        self, x: torch.Tensor, context: Any = None, window: Tile | None = None
    ) -> torch.Tensor:
        """(N, 3, H, W) log gains before softplus (the gate makes them >= 0)."""
        return self.unet(x).float()
