"""``highlight-unet``: a convolutional hallucination net for the clipped channels of a plate.

The plate arrives display-linear Rec.709 (OCIO's linearisation, 1.0 = SDR peak). Below the
clip that is already the scene, so the output is the input there, bit for bit. A channel
at the clip (linear >= :data:`CLIP_LINEAR`) is multiplied by ``exp(g)``, ``g >= 0`` a log
gain per channel predicted by a small U-Net (Ronneberger et al., MICCAI 2015) that runs on
a proxy of the frame whose short edge is :attr:`HighlightUNet.proxy_edge` pixels: the
gated positive residual of HDRCNN (Eilertsen et al., SIGGRAPH Asia 2017) over an exact
linearisation, with the context a clipped pixel needs (how large and how deep its
highlight is, how bright and how coloured its surround, what else in the frame is bright)
within the U-Net's receptive field (about 200 proxy pixels) and its global pooling.

The whole model is torch: it runs on the GPU when there is one and scripts to TorchScript
(``hdr-plugin export``) with any frame size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.models.engine.gate import start_at_the_linearisation

#: Display-linear value at which a channel counts as clipped: between the linear values of
#: 8-bit codes 253 and 254 for sRGB, gamma 2.2 and BT.1886 plates.
CLIP_LINEAR = 0.99
#: Linear values are floored here before the log the network sees (about 1/1000 of peak).
LOG_FLOOR = 1e-3
#: Inputs per proxy pixel: log linear RGB, the clipped share of each channel.
IN_CHANNELS = 6


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.LeakyReLU(0.1),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.LeakyReLU(0.1),
    )


class HighlightUNet(nn.Module):
    """Display-linear Rec.709 (N, 3, H, W) in [0, 1] -> display-linear Rec.709 with highlights.

    Args:
        widths: channels per U-Net level, full proxy resolution first; each further level
            halves the resolution.
        proxy_edge: short edge of the proxy the U-Net runs on, pixels.
    """

    tile_multiple = 1
    receptive_field = 1

    def __init__(self, widths: tuple[int, ...] = (16, 32, 48, 64, 96), proxy_edge: int = 256):
        super().__init__()
        widths = tuple(widths)
        self.proxy_edge = proxy_edge
        # Attributes, not globals, so that TorchScript sees them.
        self.clip_linear = CLIP_LINEAR
        self.log_floor = LOG_FLOOR
        self.down = nn.ModuleList()
        cin = IN_CHANNELS
        for width in widths:
            self.down.append(_block(cin, width))
            cin = width
        # The coarsest level also sees the frame's mean features (what else is bright).
        self.glob = nn.Sequential(nn.Linear(widths[-1], widths[-1]), nn.LeakyReLU(0.1))
        self.up = nn.ModuleList(
            _block(widths[k + 1] + widths[k], widths[k]) for k in reversed(range(len(widths) - 1))
        )
        self.head = nn.Conv2d(widths[0], 3, 1)
        start_at_the_linearisation(self.head)

    def proxy_size(self, height: int, width: int) -> list[int]:
        """(h, w) of the proxy of a frame: short edge ``proxy_edge`` (never upscaled)."""
        scale = min(1.0, self.proxy_edge / min(height, width))
        # int(round()) rather than round(): TorchScript's round returns a float.
        return [max(1, int(round(height * scale))), max(1, int(round(width * scale)))]  # noqa: RUF046

    def log_gains(self, linear: torch.Tensor) -> torch.Tensor:
        """(N, 3, h, w) log gains >= 0 on the proxy of ``linear`` (N, 3, H, W)."""
        size = self.proxy_size(linear.shape[2], linear.shape[3])
        clipped = (linear >= self.clip_linear).to(linear.dtype)
        x = torch.cat([linear, clipped], dim=1)
        if size[0] != linear.shape[2] or size[1] != linear.shape[3]:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        x = torch.cat([torch.log(x[:, :3].clamp(min=self.log_floor)), x[:, 3:]], dim=1)
        skips: list[torch.Tensor] = []
        for index, block in enumerate(self.down):
            if index > 0:
                skips.append(x)
                x = F.avg_pool2d(x, 2, ceil_mode=True)
            x = block(x)
        x = x + self.glob(x.mean(dim=(2, 3)))[:, :, None, None]
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return F.softplus(self.head(x).float())

    def forward(self, linear: torch.Tensor) -> torch.Tensor:
        """Expand the clipped channels of ``linear`` ((N, 3, H, W) display-linear Rec.709)."""
        linear = linear.float()
        clipped = linear >= self.clip_linear
        if not bool(clipped.any()):
            return linear
        gains = self.log_gains(linear)
        if gains.shape[2] != linear.shape[2] or gains.shape[3] != linear.shape[3]:
            gains = F.interpolate(
                gains, size=linear.shape[2:], mode="bilinear", align_corners=False
            )
        return torch.where(clipped, linear * torch.exp(gains), linear)
