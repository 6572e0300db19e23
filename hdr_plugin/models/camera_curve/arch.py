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
    """(N, 3 * bins) per-channel histograms of code values in [0, 1], each summing to 1.

    Soft (linear) binning, so that it is differentiable and does not alias 8-bit codes.
    """
    n, c = code.shape[:2]
    x = code.clamp(0.0, 1.0).reshape(n, c, -1) * (bins - 1)
    low = x.floor().clamp(max=bins - 2)
    frac = x - low
    hist = torch.zeros(n, c, bins, dtype=code.dtype, device=code.device)
    hist.scatter_add_(2, low.long(), 1.0 - frac)
    hist.scatter_add_(2, low.long() + 1, frac)
    return (hist / x.shape[-1]).reshape(n, c * bins)


@network("camera-curve")
class CurveNet(nn.Module):
    """Display-encoded plate (N, 3, H, W) -> (N, classes) logits over the curve family.

    Args:
        classes: number of family curves.
        width: channels of the first convolution (doubling at each of four strides).
    """

    def __init__(self, classes: int = 58, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for k in range(4):
            cout = width * 2**k
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
            layers += [nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.histogram = nn.Sequential(nn.Linear(3 * HISTOGRAM_BINS, 128), nn.LeakyReLU(0.1))
        self.classify = nn.Sequential(
            nn.Linear(2 * cin + 128, 128), nn.LeakyReLU(0.1), nn.Linear(128, classes)
        )

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        features = self.features(code * 2.0 - 1.0)
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        return self.classify(torch.cat([pooled, self.histogram(code_histograms(code))], dim=1))


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
    def probabilities(self, code: np.ndarray) -> np.ndarray:
        """(classes,) probabilities for an (H, W, 3) plate of code values in [0, 1]."""
        logits = self.net(proxy(np.clip(code, 0.0, 1.0)).to(self.device))
        return torch.softmax(logits.float(), dim=1)[0].cpu().numpy().astype(np.float64)

    def estimate(self, code: np.ndarray) -> CurveEstimate:
        """The decision for one plate (the render loop asks once per shot)."""
        return decide(self.probabilities(code))
