"""``layered``: base/detail reconstruction with highlight inpainting, trained in PQ space.

* Decomposition: an edge-preserving weighted-least-squares filter (Farbman et al.,
  SIGGRAPH 2008) gives the base layer; detail = SDR / base.
* Base network: a U-Net remapping the base's range and gamut to PQ-encoded Rec.2020.
* Detail network: partial convolutions (Liu et al., ECCV 2018) driven by the per-channel
  3-layer highlight mask (τ in [0.75, 0.995]), with a contextual-attention stage (Yu et
  al., CVPR 2018) at the coarsest scale that fills clipped regions from valid ones.
* Refinement: a U-Net combining base, inpainted detail and the plate into the final PQ
  Rec.2020 image.

The WLS base is computed on a downscaled full frame (it needs the whole frame and is
smooth by construction) and upsampled; tiles crop it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.inference import Tile
from hdr_plugin.models.engine.encodings import pq_decode
from hdr_plugin.models.engine.torch_model import HDRNetwork
from hdr_plugin.models.unet.arch import UNet

_EPS = 1e-4


def _gradients(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    gx = F.pad(u[..., :, 1:] - u[..., :, :-1], (0, 1))
    gy = F.pad(u[..., 1:, :] - u[..., :-1, :], (0, 0, 0, 1))
    return gx, gy


def _gradients_adjoint(px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Dᵀ p, the adjoint of :func:`_gradients` (forward differences, zero at the far edge)."""
    dx = F.pad(px[..., :, :-1], (1, 0)) - F.pad(px[..., :, :-1], (0, 1))
    dy = F.pad(py[..., :-1, :], (0, 0, 1, 0)) - F.pad(py[..., :-1, :], (0, 0, 0, 1))
    return dx + dy


def wls_filter(
    image: torch.Tensor,
    *,
    smoothness: float = 1.0,
    alpha: float = 1.2,
    iterations: int = 100,
) -> torch.Tensor:
    """Edge-preserving WLS smoothing of (N, C, H, W) values in [0, 1].

    Solves (I + λ Dᵀ A D) u = g per channel by conjugate gradients, with smoothness
    weights a = λ / (|∇ log L|^α + ε) from the log luminance L of the image.

    Args:
        image: input, display-encoded or linear, >= 0.
        smoothness: λ.
        alpha: α, how sharply edges stop the smoothing.
        iterations: conjugate-gradient steps.
    """
    log_lum = torch.log(image.mean(dim=1, keepdim=True) + _EPS)
    gx, gy = _gradients(log_lum)
    ax = smoothness / (gx.abs() ** alpha + _EPS)
    ay = smoothness / (gy.abs() ** alpha + _EPS)
    ax[..., :, -1] = 0.0
    ay[..., -1, :] = 0.0

    def operator(u: torch.Tensor) -> torch.Tensor:
        ux, uy = _gradients(u)
        return u + _gradients_adjoint(ax * ux, ay * uy)

    u = image.clone()
    r = image - operator(u)
    p = r.clone()
    rs = (r * r).sum(dim=(2, 3), keepdim=True)
    for _ in range(iterations):
        ap = operator(p)
        step = rs / (p * ap).sum(dim=(2, 3), keepdim=True).clamp(min=1e-12)
        u = u + step * p
        r = r - step * ap
        rs_new = (r * r).sum(dim=(2, 3), keepdim=True)
        p = r + (rs_new / rs.clamp(min=1e-12)) * p
        rs = rs_new
    return u.clamp(min=0.0)


def highlight_mask_per_channel(x: torch.Tensor, threshold: float) -> torch.Tensor:
    """3-layer mask α_c = max(0, I_c - τ) / (1 - τ), (N, 3, H, W)."""
    return ((x - threshold) / (1.0 - threshold)).clamp(0.0, 1.0)


class PartialConv2d(nn.Module):
    """Partial convolution with a multi-channel mask (Liu et al., ECCV 2018).

    out = W·(X ⊙ M) · (|window| / sum(M)) + b where the window sees any valid pixel, else 0;
    the updated mask is 1 wherever the window saw a valid pixel.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=True)
        self.register_buffer("ones", torch.ones(1, cin, kernel, kernel), persistent=False)
        self.window = cin * kernel * kernel

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            coverage = F.conv2d(
                mask, self.ones.to(mask.dtype), stride=self.conv.stride, padding=self.conv.padding
            )
            valid = (coverage > 0).to(x.dtype)
            ratio = self.window / coverage.clamp(min=1.0) * valid
        raw = F.conv2d(x * mask, self.conv.weight, None, self.conv.stride, self.conv.padding)
        out = (raw * ratio + self.conv.bias[None, :, None, None]) * valid
        return out, valid.expand(-1, out.shape[1], -1, -1)


class ContextualAttention(nn.Module):
    """Fill hole features from valid ones by cosine-similarity attention (Yu et al. 2018).

    Each hole position takes a softmax-weighted (scale 10) sum of the features of valid
    positions; valid positions keep their own features. Keys are average-pooled to at most
    ``max_keys_side``² positions and queries processed in chunks, so memory stays bounded
    whatever the frame size.
    """

    def __init__(self, scale: float = 10.0, max_keys_side: int = 48, chunk: int = 4096) -> None:
        super().__init__()
        self.scale = scale
        self.max_keys_side = max_keys_side
        self.chunk = chunk

    def forward(self, features: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        n, c, h, w = features.shape
        hole = 1.0 - valid[:, :1]
        side = (min(h, self.max_keys_side), min(w, self.max_keys_side))
        keys = F.adaptive_avg_pool2d(features, side).flatten(2)  # N, C, K
        key_hole = F.adaptive_max_pool2d(hole, side).flatten(2)  # N, 1, K
        keys_normed = F.normalize(keys, dim=1)
        queries = F.normalize(features.flatten(2), dim=1)  # N, C, Q
        filled = torch.empty_like(features.flatten(2))
        for start in range(0, h * w, self.chunk):
            q = queries[..., start : start + self.chunk]
            scores = torch.einsum("ncq,nck->nqk", q, keys_normed) * self.scale
            scores = scores.masked_fill(key_hole > 0.5, float("-inf"))
            attention = torch.softmax(scores, dim=-1).nan_to_num(0.0)
            filled[..., start : start + self.chunk] = torch.einsum("nqk,nck->ncq", attention, keys)
        filled = filled.view(n, c, h, w)
        no_valid_key = (key_hole.amin(dim=2) > 0.5).view(n, 1, 1, 1)
        filled = torch.where(no_valid_key, features, filled)
        return features * (1.0 - hole) + filled * hole


class DetailNet(nn.Module):
    """Partial-conv encoder, contextual attention, decoder with skips.

    Args:
        width: channels of the first level.
        levels: partial-conv downsamplings.
    """

    def __init__(self, *, width: int = 16, levels: int = 3) -> None:
        super().__init__()
        self.encoders = nn.ModuleList()
        cin = 3
        widths = [width * 2**i for i in range(levels)]
        for i, w in enumerate(widths):
            self.encoders.append(PartialConv2d(cin, w, 5 if i == 0 else 3, stride=2))
            cin = w
        self.attention = ContextualAttention()
        self.decoders = nn.ModuleList()
        for w_skip in reversed([3, *widths[:-1]]):
            self.decoders.append(PartialConv2d(cin + w_skip, max(w_skip, width), 3))
            cin = max(w_skip, width)
        self.head = nn.Conv2d(cin, 3, 1)
        self.tile_multiple = 2**levels

    def forward(self, detail: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        skips = [(detail, valid)]
        x, m = detail, valid
        for index, encoder in enumerate(self.encoders):
            x, m = encoder(x, m)
            x = F.leaky_relu(x, 0.2)
            if index < len(self.encoders) - 1:
                skips.append((x, m))
        x = self.attention(x, m)
        m = torch.ones_like(m)  # the attention filled every hole at this scale
        for decoder in self.decoders:
            skip_x, skip_m = skips.pop()
            x = F.interpolate(x, size=skip_x.shape[-2:], mode="nearest")
            m = F.interpolate(m, size=skip_x.shape[-2:], mode="nearest")
            x, m = decoder(torch.cat([x, skip_x], dim=1), torch.cat([m, skip_m], dim=1))
            x = F.leaky_relu(x, 0.2)
        return self.head(x)


class Layered(HDRNetwork):
    """Base/detail HDR reconstruction; output PQ-decoded, scene-linear Rec.2020.

    Args:
        width: channels of the U-Nets and the detail net.
        levels: U-Net resolutions.
        mask_threshold: τ of the per-channel highlight mask, [0.75, 0.995].
        base_size: long side of the frame the WLS base is computed on.
    """

    def __init__(
        self,
        *,
        width: int = 16,
        levels: int = 4,
        mask_threshold: float = 0.95,
        base_size: int = 256,
    ) -> None:
        super().__init__()
        self.base_net = UNet(in_channels=3, out_channels=3, width=width, levels=levels)
        self.detail_net = DetailNet(width=width)
        self.refine_net = UNet(in_channels=9 + 3, out_channels=3, width=width, levels=levels)
        self.mask_threshold = mask_threshold
        self.base_size = base_size
        self.tile_multiple = max(self.base_net.tile_multiple, self.detail_net.tile_multiple)
        self.receptive_field = self.base_net.receptive_field

    def global_context(self, x: torch.Tensor) -> torch.Tensor:
        """WLS base of the (downscaled) full frame, at ``base_size``."""
        height, width = x.shape[-2:]
        scale = min(1.0, self.base_size / max(height, width))
        small = F.interpolate(x.float(), scale_factor=scale, mode="area") if scale < 1 else x
        return wls_filter(small.float())

    def _base(self, x: torch.Tensor, context: Any, window: Tile | None) -> torch.Tensor:
        if context is None:
            context = self.global_context(x)
        if window is None:  # whole frame; same values as resample_window over the frame
            return F.interpolate(
                context.float(), size=x.shape[-2:], mode="bilinear", align_corners=False
            )
        return resample_window(context.float(), window)

    def stages(
        self, x: torch.Tensor, context: Any = None, window: Tile | None = None
    ) -> dict[str, torch.Tensor]:
        """Every intermediate result, for training losses (PQ values)."""
        base = self._base(x, context, window).to(x.dtype)
        detail = x / (base + 1e-3)
        mask = highlight_mask_per_channel(x, self.mask_threshold)
        valid = (mask < 1.0).to(x.dtype)  # clipped channels are holes to inpaint
        detail_filled = self.detail_net(detail.clamp(0.0, 4.0), valid)
        # Sigmoids keep PQ in (0, 1) with gradients everywhere; refinement adds in logit space.
        base_logit = self.base_net(base)
        base_pq = torch.sigmoid(base_logit)
        refined = self.refine_net(torch.cat([base_pq, detail_filled, x, mask], dim=1))
        pq = torch.sigmoid(base_logit + refined)
        return {
            "base": base,
            "detail": detail,
            "mask": mask,
            "detail_filled": detail_filled,
            "base_pq": base_pq,
            "pq": pq,
        }

    def forward(
        self, x: torch.Tensor, context: Any = None, window: Tile | None = None
    ) -> torch.Tensor:
        """Scene-linear Rec.2020, reference white 1.0."""
        return pq_decode(self.stages(x, context, window)["pq"].float())


def resample_window(image: torch.Tensor, window: Tile) -> torch.Tensor:
    """Bilinear upsampling of ``image`` to the full frame, evaluated only inside ``window``.

    Gives the same values as ``F.interpolate(..., align_corners=False)`` to the full frame
    size followed by a crop, without building the full-size image.
    """
    device = image.device
    ys = (torch.arange(window.y0, window.y1, device=device) + 0.5) / window.frame_height * 2 - 1
    xs = (torch.arange(window.x0, window.x1, device=device) + 0.5) / window.frame_width * 2 - 1
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None]
    grid = grid.expand(image.shape[0], -1, -1, -1).to(image.dtype)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)
