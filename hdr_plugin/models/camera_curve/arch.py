"""The camera-curve classifier: an MLP over statistics of the plate's codes and edges."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.color import ColorContext
from hdr_plugin.crf import curve_names
from hdr_plugin.models.camera_curve.decision import (
    PROXY_EDGE,
    CurveEstimate,
    decide,
    inverse_curves,
)
from hdr_plugin.models.camera_curve.statistics import (
    FEATURES,
    REFERENCE_CURVES,
    plate_statistics,
)
from hdr_plugin.ocio_configs import BUNDLED_CONFIG


class CurveNet(nn.Module):
    """Display-encoded plate (N, 3, H, W) -> logits: whether tone-mapped, and which curve.

    An MLP over :func:`~hdr_plugin.models.camera_curve.statistics.plate_statistics`
    (histograms, slope and log-slope profiles, and how well each reference curve explains
    the plate's shading edges).

    Args:
        classes: number of family curves.
        width: width of the hidden layers.
        color: the config the reference curves' display encodings are sampled through
            (the bundled one when ``None``).
    """

    def __init__(
        self, classes: int = 58, width: int = 128, color: ColorContext | None = None
    ) -> None:
        super().__init__()
        color = color or ColorContext.resolve(BUNDLED_CONFIG)
        self.register_buffer("reference_inverses", reference_inverses(color), persistent=False)
        self.trunk = nn.Sequential(
            nn.Linear(FEATURES, width),
            nn.LeakyReLU(0.1),
            nn.Dropout(0.3),
            nn.Linear(width, width // 2),
            nn.LeakyReLU(0.1),
        )
        self.curve = nn.Linear(width // 2, classes)
        self.tone_mapped = nn.Linear(width // 2, 1)

    def statistics(self, code: torch.Tensor) -> torch.Tensor:
        """(N, FEATURES): what the MLP reads (training computes them once per plate)."""
        return plate_statistics(code.float(), self.reference_inverses)

    def classify(self, statistics: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, classes) curve logits and (N,) logit that the curve is tone-mapped."""
        joined = self.trunk(statistics)
        return self.curve(joined), self.tone_mapped(joined)[:, 0]

    def forward(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, classes) curve logits and (N,) logit that the curve is tone-mapped."""
        return self.classify(self.statistics(code))


def reference_inverses(color: ColorContext) -> torch.Tensor:
    """(len(REFERENCE_CURVES), SAMPLES) inverses of the curves the edge statistic tries."""
    names = curve_names()
    rows = [inverse_curves(color)[names.index(name)] for name in REFERENCE_CURVES]
    return torch.from_numpy(np.stack(rows))


def proxy(code: np.ndarray) -> torch.Tensor:
    """(1, 3, h, w) proxy of an (H, W, 3) plate: short edge :data:`PROXY_EDGE` (area)."""
    x = torch.from_numpy(np.ascontiguousarray(code, dtype=np.float32)).permute(2, 0, 1)[None]
    scale = PROXY_EDGE / min(code.shape[:2])
    if scale < 1.0:
        size = (max(1, round(code.shape[0] * scale)), max(1, round(code.shape[1] * scale)))
        x = F.interpolate(x, size=size, mode="area")
    return x


def views(code: np.ndarray) -> list[torch.Tensor]:
    """Proxies of an (H, W, 3) plate, its mirror image and its four quarters."""
    code = np.clip(code, 0.0, 1.0)
    parts = [code, code[:, ::-1]]
    h, w = code.shape[0] // 2, code.shape[1] // 2
    if min(h, w) >= 32:  # smaller quarters have too few edges to say anything
        parts += [code[:h, :w], code[:h, w:], code[h:, :w], code[h:, w:]]
    return [proxy(part) for part in parts]


class CameraCurveEstimator:
    """Loads the shipped :class:`CurveNet` and estimates the curve of display-encoded plates.

    Args:
        net: a trained :class:`CurveNet`.
        color: the node's OCIO config (the family's display encodings are sampled through it).
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
    def probabilities(self, code: np.ndarray) -> tuple[np.ndarray, float]:
        """(classes,) curve probabilities and P(tone-mapped) for an (H, W, 3) plate.

        From the mean logits of the whole plate, its mirror image and its four quarters:
        a curve shows everywhere in the frame, while an edge pattern that mimics one (a
        smooth sunset gradient, a saturated light) is usually in one part of it.
        """
        logits, tone = zip(*(self.net(view.to(self.device)) for view in views(code)), strict=True)
        curves = torch.softmax(torch.cat(logits).float().mean(dim=0), dim=0)
        tone_mapped = torch.sigmoid(torch.cat(tone).float().mean())
        return curves.cpu().numpy().astype(np.float64), float(tone_mapped)

    def estimate(self, code: np.ndarray) -> CurveEstimate:
        """The decision for one plate (the render loop asks once per shot)."""
        return decide(*self.probabilities(code), self.color)
