"""The camera-curve classifier: a strided CNN on a proxy plus an MLP on code histograms."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.models.camera_curve.decision import (
    HISTOGRAM_BINS,
    PROXY_EDGE,
    CurveEstimate,
    decide,
)
from hdr_plugin.models.engine.networks import network


def code_histograms(code: torch.Tensor, bins: int = HISTOGRAM_BINS) -> torch.Tensor:
    """(N, 6 * bins): per channel, the histogram of code values and their slope profile.

    The histogram sums to 1 per channel (soft, linear binning, so 8-bit codes do not
    alias). The slope profile is the mean gradient magnitude of the pixels in each bin,
    over the image's mean gradient (log): a curve's local slope scales every gradient at
    that code value, so a filmic shoulder shows as gradients fading towards white, where
    a display encoding keeps them up to the clip.
    """
    n, c = code.shape[:2]
    x = code.clamp(0.0, 1.0)
    gy, gx = torch.gradient(x, dim=(2, 3))
    slope = torch.sqrt(gx * gx + gy * gy).reshape(n, c, -1)
    position = x.reshape(n, c, -1) * (bins - 1)
    low = position.floor().clamp(max=bins - 2)
    frac = position - low
    index = low.long()
    weights = torch.zeros(n, c, bins, dtype=code.dtype, device=code.device)
    weights.scatter_add_(2, index, 1.0 - frac)
    weights.scatter_add_(2, index + 1, frac)
    slopes = torch.zeros_like(weights)
    slopes.scatter_add_(2, index, (1.0 - frac) * slope)
    slopes.scatter_add_(2, index + 1, frac * slope)
    mean_slope = slope.mean(dim=2, keepdim=True) + 1e-6
    profile = torch.log((slopes / weights.clamp(min=1e-3)) / mean_slope + 1e-3)
    profile = profile * (weights > 1e-3)  # empty bins say nothing
    histogram = weights / position.shape[-1]
    return torch.cat([histogram, profile], dim=1).reshape(n, 2 * c * bins)


@network("camera-curve")
class CurveNet(nn.Module):
    """Display-encoded plate (N, 3, H, W) -> logits: whether tone-mapped, and which curve.

    Args:
        classes: number of family curves.
        width: channels of the first convolutions (full resolution, then doubling at each
            of four strides).
    """

    def __init__(self, classes: int = 58, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(3, width, 3, padding=1),
            nn.LeakyReLU(0.1),
        ]
        cin = width
        for k in range(4):
            cout = width * 2**k
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
            layers += [nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.histogram = nn.Sequential(nn.Linear(6 * HISTOGRAM_BINS, 128), nn.LeakyReLU(0.1))
        self.trunk = nn.Sequential(nn.Linear(2 * cin + 128, 128), nn.LeakyReLU(0.1))
        self.curve = nn.Linear(128, classes)
        self.tone_mapped = nn.Linear(128, 1)

    def forward(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, classes) curve logits and (N,) logit that the curve is tone-mapped."""
        features = self.features(code * 2.0 - 1.0)
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        joined = self.trunk(torch.cat([pooled, self.histogram(code_histograms(code))], dim=1))
        return self.curve(joined), self.tone_mapped(joined)[:, 0]


def proxy(code: np.ndarray) -> torch.Tensor:
    """(1, 3, h, w) proxy of an (H, W, 3) plate: short edge :data:`PROXY_EDGE` (area)."""
    x = torch.from_numpy(np.ascontiguousarray(code, dtype=np.float32)).permute(2, 0, 1)[None]
    scale = PROXY_EDGE / min(code.shape[:2])
    if scale < 1.0:
        size = (max(1, round(code.shape[0] * scale)), max(1, round(code.shape[1] * scale)))
        x = F.interpolate(x, size=size, mode="area")
    return x


class CameraCurveEstimator:
    """Loads the shipped :class:`CurveNet` and estimates the curve of display-encoded plates.

    Args:
        net: a trained :class:`CurveNet`.
        weights_hash: hash of its weights file, for provenance.
        device: torch device to run on.
    """

    def __init__(self, net: CurveNet, *, weights_hash: str | None, device: torch.device):
        self.net = net.float().to(device).eval()
        self.weights_hash = weights_hash
        self.device = device

    @torch.inference_mode()
    def probabilities(self, code: np.ndarray) -> tuple[np.ndarray, float]:
        """(classes,) curve probabilities and P(tone-mapped) for an (H, W, 3) plate."""
        logits, tone = self.net(proxy(np.clip(code, 0.0, 1.0)).to(self.device))
        curves = torch.softmax(logits.float(), dim=1)[0].cpu().numpy().astype(np.float64)
        return curves, float(torch.sigmoid(tone.float())[0])

    def estimate(self, code: np.ndarray) -> CurveEstimate:
        """The decision for one plate (the render loop asks once per shot)."""
        return decide(*self.probabilities(code))
