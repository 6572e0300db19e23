"""``hybrid-mnv3``: MobileNetV3-Large encoder, U-Net-like decoder with PixelShuffle.

Encoder: MobileNetV3-Large (Howard et al., ICCV 2019), written here with torchvision's
parameter names (``features.N.block.M...``) so that an ImageNet state dict saved from
torchvision loads as is from a local file; the encoder is then frozen. Decoder: at each
scale a 3x3 conv to 4C channels and PixelShuffle(2), concatenation with the encoder skip,
3x3 conv, InstanceNorm, ReLU; the head predicts a log gain per Rec.2020 channel, the
residual over the exact linearisation that the gate applies inside highlights.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.inference import Tile
from hdr_plugin.models.engine.gate import start_at_the_linearisation
from hdr_plugin.models.engine.torch_model import (
    FrameStatistic,
    GlobalInstanceNorm2d,
    HDRNetwork,
    in_float32,
)
from hdr_plugin.models.engine.weights import load_state_dict

# (kernel, expanded, out, squeeze-excite, hard-swish, stride) per inverted residual block,
# MobileNetV3-Large, Table 1 of Howard et al. 2019.
LARGE_BLOCKS = (
    (3, 16, 16, False, False, 1),
    (3, 64, 24, False, False, 2),
    (3, 72, 24, False, False, 1),
    (5, 72, 40, True, False, 2),
    (5, 120, 40, True, False, 1),
    (5, 120, 40, True, False, 1),
    (3, 240, 80, False, True, 2),
    (3, 200, 80, False, True, 1),
    (3, 184, 80, False, True, 1),
    (3, 184, 80, False, True, 1),
    (3, 480, 112, True, True, 1),
    (3, 672, 112, True, True, 1),
    (5, 672, 160, True, True, 2),
    (5, 960, 160, True, True, 1),
    (5, 960, 160, True, True, 1),
)
#: ``features`` indices whose outputs feed the decoder (strides 2, 4, 8, 16).
SKIP_INDICES = (1, 3, 6, 12)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor`` without losing more than 10 %."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvNormAct(nn.Sequential):
    """Conv (no bias) + BatchNorm + optional activation, torchvision's layer layout."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act=None
    ):
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout, eps=0.001, momentum=0.01),
        ]
        if act is not None:
            layers.append(act())
        super().__init__(*layers)


class SqueezeExcitation(FrameStatistic):
    """Squeeze-excite with hard-sigmoid gate; the pooled vector is a whole-frame statistic."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def statistic(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.hardsigmoid(self.fc2(F.relu(self.fc1(self.frame_statistic(x)))))
        return x * scale


class InvertedResidual(nn.Module):
    """MobileNetV3 bottleneck: expand 1x1, depthwise kxk, optional SE, project 1x1."""

    def __init__(
        self, cin: int, kernel: int, expanded: int, cout: int, se: bool, hs: bool, stride: int
    ):
        super().__init__()
        act = nn.Hardswish if hs else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(ConvNormAct(cin, expanded, 1, act=act))
        layers.append(ConvNormAct(expanded, expanded, kernel, stride, groups=expanded, act=act))
        if se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4)))
        layers.append(ConvNormAct(expanded, cout, 1))
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return out + x if self.use_residual else out


class MobileNetV3LargeEncoder(nn.Module):
    """The ``features`` part of MobileNetV3-Large; returns the four skips and the bottleneck.

    Args:
        width_mult: channel multiplier (1.0 = the published network).
    """

    def __init__(self, *, width_mult: float = 1.0) -> None:
        super().__init__()
        first = make_divisible(16 * width_mult)
        layers: list[nn.Module] = [ConvNormAct(3, first, 3, 2, act=nn.Hardswish)]
        cin = first
        self.skip_channels = []
        for index, (kernel, expanded, cout, se, hs, stride) in enumerate(LARGE_BLOCKS, start=1):
            expanded, cout = (
                make_divisible(expanded * width_mult),
                make_divisible(cout * width_mult),
            )
            layers.append(InvertedResidual(cin, kernel, expanded, cout, se, hs, stride))
            cin = cout
            if index in SKIP_INDICES:
                self.skip_channels.append(cout)
        last = 6 * cin
        layers.append(ConvNormAct(cin, last, 1, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.out_channels = last
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        x = (x - self.mean) / self.std
        skips = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in SKIP_INDICES:
                skips.append(x)
        return skips, x


class DecoderBlock(nn.Module):
    """PixelShuffle x2 upsampling, concat skip, 3x3 conv, InstanceNorm, ReLU."""

    def __init__(self, cin: int, skip: int, cout: int) -> None:
        super().__init__()
        self.up = nn.Sequential(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.PixelShuffle(2))
        self.fuse = nn.Conv2d(cout + skip, cout, 3, padding=1)
        self.norm = GlobalInstanceNorm2d(cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        x = self.up(x)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return F.relu(self.norm(self.fuse(x)))


class HybridMNV3(HDRNetwork):
    """MobileNetV3-Large encoder + PixelShuffle decoder predicting a log gain (Rec.2020).

    The decoder's log output is a residual over the exact linearisation, which the gate
    applies to the plate's clipped channels; it is trained with L1 on the log of the result
    and the clipped-region PU21 error.

    Args:
        width_mult: encoder channel multiplier.
        decoder_width: decoder channels at stride 2 (doubled per coarser level).
        backbone: optional local file with an ImageNet MobileNetV3-Large state dict in
            torchvision's key layout (``.pth`` loaded tensors-only, or ``.safetensors``);
            when given, the encoder is loaded and frozen.
    """

    tile_multiple = 32
    receptive_field = 224

    def __init__(
        self, *, width_mult: float = 1.0, decoder_width: int = 16, backbone: str | None = None
    ) -> None:
        super().__init__()
        self.encoder = MobileNetV3LargeEncoder(width_mult=width_mult)
        skips = self.encoder.skip_channels
        widths = [decoder_width * 2**i for i in range(4)]
        self.bottleneck = nn.Sequential(
            nn.Conv2d(self.encoder.out_channels, widths[3] * 2, 1),
            GlobalInstanceNorm2d(widths[3] * 2),
            nn.ReLU(),
        )
        self.decoders = nn.ModuleList(
            [
                DecoderBlock(widths[3] * 2, skips[3], widths[3]),
                DecoderBlock(widths[3], skips[2], widths[2]),
                DecoderBlock(widths[2], skips[1], widths[1]),
                DecoderBlock(widths[1], skips[0], widths[0]),
                DecoderBlock(widths[0], 3, widths[0]),
            ]
        )
        self.head = nn.Conv2d(widths[0], 3, 3, padding=1)
        start_at_the_linearisation(self.head)
        if backbone:
            self.load_backbone(backbone)

    def load_backbone(self, path: str | os.PathLike[str]) -> None:
        """Load ImageNet ``features.*`` weights from a local file and freeze the encoder."""
        state = load_state_dict(path, allow_torch_state_dict=True)
        features = {k: v for k, v in state.items() if k.startswith("features.")}
        self.encoder.load_state_dict(features, strict=True)
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)

    def forward(
        self, x: torch.Tensor, context: Any = None, window: Tile | None = None
    ) -> torch.Tensor:
        """(N, 3, H, W) log gains over the linearisation, before softplus (float32)."""
        skips, bottom = self.encoder(x)
        y = self.bottleneck(bottom)
        for decoder, skip in zip(self.decoders, [*reversed(skips), x], strict=True):
            y = decoder(y, skip)
        return in_float32(self.head, y)
