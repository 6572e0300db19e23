"""The camera-curve estimator: an MLP over statistics of the plate's codes and edges."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.color import SRGB_REC709, ColorContext
from hdr_plugin.crf import inverse_curves
from hdr_plugin.inference import torch_threads
from hdr_plugin.models.camera_curve.decision import (
    KNOTS,
    PROXY_EDGE,
    CurveEstimate,
    at_knots,
    decide,
    display_inverses,
)
from hdr_plugin.models.camera_curve.statistics import (
    FEATURES,
    REFERENCE_CURVES,
    plate_statistics,
)
from hdr_plugin.ocio_configs import BUNDLED_CONFIG

#: The smallest plate edge (pixels) whose shading the estimator can read; smaller plates
#: keep the default decoding.
MIN_EDGE = 8


class CurveNet(nn.Module):
    """Display-encoded plate (N, 3, H, W) -> its inverse curve at :data:`KNOTS` code values.

    An MLP over :func:`~hdr_plugin.models.camera_curve.statistics.plate_statistics`
    (histograms, slope and log-slope profiles, and how well each reference curve explains
    the plate's shading edges) gives one positive increment of the inverse curve per knot
    interval; their normalised cumulative sum is monotonic with g(0) = 0 and g(1) = 1 by
    construction. Untrained, it returns the sRGB inverse.

    Args:
        width: width of the hidden layers.
        color: the config the reference curves' display encodings are sampled through
            (the bundled one when ``None``).
    """

    def __init__(self, width: int = 256, color: ColorContext | None = None) -> None:
        super().__init__()
        color = color or ColorContext.resolve(BUNDLED_CONFIG)
        self.register_buffer("reference_inverses", reference_inverses(color), persistent=False)
        self.trunk = nn.Sequential(
            nn.Linear(FEATURES, width),
            nn.LeakyReLU(0.1),
            nn.Dropout(0.2),
            nn.Linear(width, width // 2),
            nn.LeakyReLU(0.1),
        )
        self.increments = nn.Linear(width // 2, len(KNOTS) - 1)
        srgb = at_knots(display_inverses(color)[0])
        prior = np.log(np.expm1(np.maximum(np.diff(srgb), 1e-6) * (len(KNOTS) - 1)))
        with torch.no_grad():
            self.increments.weight.mul_(0.1)
            self.increments.bias.copy_(torch.from_numpy(prior).float())

    def statistics(self, code: torch.Tensor) -> torch.Tensor:
        """(N, FEATURES): what the MLP reads (training computes them once per plate)."""
        return plate_statistics(code.float(), self.reference_inverses)

    def curve(self, statistics: torch.Tensor) -> torch.Tensor:
        """(N, len(KNOTS)) inverse curve at the knots, from plate statistics."""
        steps = F.softplus(self.increments(self.trunk(statistics)).float()) + 1e-6
        cumulative = torch.cumsum(steps, dim=1)
        zero = torch.zeros_like(cumulative[:, :1])
        return torch.cat([zero, cumulative / cumulative[:, -1:]], dim=1)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        """(N, len(KNOTS)) inverse curve of each plate at the knots."""
        return self.curve(self.statistics(code))


def reference_inverses(color: ColorContext) -> torch.Tensor:
    """(len(REFERENCE_CURVES), SAMPLES) inverses of the curves the edge statistic tries."""
    return torch.from_numpy(inverse_curves(color, REFERENCE_CURVES).copy())


def proxy(code: np.ndarray) -> torch.Tensor:
    """(1, 3, h, w) proxy of an (H, W, 3) plate: short edge :data:`PROXY_EDGE` (area)."""
    x = torch.from_numpy(np.ascontiguousarray(code, dtype=np.float32)).permute(2, 0, 1)[None]
    return _shrink(x, PROXY_EDGE)


def _shrink(x: torch.Tensor, edge: int) -> torch.Tensor:
    """``x`` (1, 3, H, W) area-averaged to short edge ``edge`` (never enlarged)."""
    height, width = x.shape[-2:]
    scale = edge / min(height, width)
    if scale >= 1.0:
        return x
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(x, size=size, mode="area")


def views(code: np.ndarray) -> list[torch.Tensor]:
    """Proxies of an (H, W, 3) plate and of its four quarters.

    The plate is area-averaged once to twice the proxy's edge; the whole plate's proxy is
    that halved, and the quarters' proxies are its quarters: the same averages as
    shrinking each part of the full plate, at a fraction of the cost on a 4K plate.
    """
    x = torch.from_numpy(np.clip(code, 0.0, 1.0).astype(np.float32)).permute(2, 0, 1)[None]
    base = _shrink(x, 2 * PROXY_EDGE)
    whole = _shrink(base, PROXY_EDGE)
    parts = [whole]
    h, w = code.shape[0] // 2, code.shape[1] // 2
    if min(h, w) >= 32:  # smaller quarters have too few edges to say anything
        bh, bw = base.shape[-2] // 2, base.shape[-1] // 2
        quarters = [
            base[..., :bh, :bw],
            base[..., :bh, bw:],
            base[..., bh:, :bw],
            base[..., bh:, bw:],
        ]
        parts += [_shrink(q.contiguous(), PROXY_EDGE) for q in quarters]
    return parts


class CameraCurveEstimator:
    """Estimates the inverse curve of display-encoded plates with a trained :class:`CurveNet`.

    Args:
        net: a trained :class:`CurveNet`.
        color: the node's OCIO config (the display encodings are sampled through it).
        weights_hash: hash of its weights file, for provenance.
        device: torch device to run on.
    """

    def __init__(
        self,
        net: CurveNet,
        color: ColorContext,
        *,
        weights_hash: str | None,
        device: torch.device,
    ):
        self.net = net.float().to(device).eval()
        self.color = color
        self.weights_hash = weights_hash
        self.device = device

    @torch.inference_mode()
    def inverse_at_knots(self, code: np.ndarray) -> np.ndarray:
        """(len(KNOTS),) the inverse curve of an (H, W, 3) plate.

        The mean of the estimates from the whole plate (counted twice) and its four
        quarters: a curve shows everywhere in the frame, while an edge pattern that mimics
        one (a smooth sunset gradient, a saturated light) is usually in one part of it.
        (Twice, as the mean once also held the plate's mirror image, whose statistics are
        the plate's own.)
        """
        parts = views(code)
        # A few hundred small ops on proxies: split over threads they took longer (1.1 s
        # instead of 0.7 s on two cores) and twice the CPU.
        with torch_threads(1):
            curves = torch.cat([self.net(view.to(self.device)) for view in parts]).float()
        weights = torch.ones(len(parts), 1, device=curves.device)
        weights[0] = 2.0
        mean = (curves * weights).sum(dim=0) / weights.sum()
        return mean.cpu().numpy().astype(np.float64)

    def estimate(self, code: np.ndarray) -> CurveEstimate:
        """The decision for one plate (the render loop asks once per shot).

        A plate of fewer than :data:`MIN_EDGE` pixels a side shows no curve: it keeps the
        default decoding (sRGB), with no confidence either way.
        """
        if min(code.shape[:2]) < MIN_EDGE:
            return CurveEstimate(SRGB_REC709, 0.5, float("nan"))
        return decide(self.inverse_at_knots(code), code, self.color)
