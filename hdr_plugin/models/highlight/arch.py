"""``highlight-expand``: learned gains for the clipped pixels of an OCIO-linearised plate.

Below the clip an sRGB plate linearised by OCIO is already the scene (up to quantisation),
so this model changes nothing there. At a clipped pixel (any channel at code value
254/255 or above) a small per-pixel network maps context features to a log gain per
channel, in the spirit of HDRCNN's gated blend (Eilertsen et al., SIGGRAPH Asia 2017) and
of the brightness enhancement maps of reverse tone mapping (Rempel et al., SIGGRAPH 2007),
with hand-built multi-scale context instead of a convolutional encoder so that it trains
on 2 CPU cores:

* how deep inside the clipped area the pixel lies (distance to the nearest unclipped
  pixel) and how much of its surroundings clip (mask density at three scales);
* how bright, how steep and how far the unclipped surround is (normalised convolutions
  of log max(R,G,B) and of its gradient over unclipped pixels at three scales);
* the colour of the unclipped surround (log channel minus log max at two scales), which
  says which channels a partly clipped highlight is missing and how much;
* the pixel's own code values and number of clipped channels.

Further networks of the same kind then refine these gains in turn (auto-context, Tu and
Bai, TPAMI 2010): each also sees the gains so far and their averages over the clipped area
around the pixel at three scales, so the gain of a pixel can follow the rest of its
highlight instead of its own neighbourhood alone.

Features are computed on a proxy whose short edge is :data:`PROXY_EDGE` pixels (the
training view size), so the distances mean the same at 1080p and 4K; the gains are
upsampled to the frame and applied to its clipped pixels only.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt, gaussian_filter, map_coordinates
from torch import nn

from hdr_plugin.constants import CLIP_CODE
from hdr_plugin.masks import max_rgb
from hdr_plugin.models.engine.networks import network

#: Short edge of the proxy the features are computed on, pixels.
PROXY_EDGE = 384
DENSITY_SIGMAS = (2.0, 8.0, 32.0)
SURROUND_SIGMAS = (4.0, 16.0, 64.0)
COLOUR_SIGMAS = (4.0, 16.0)
FEATURES = 1 + len(DENSITY_SIGMAS) + 3 * len(SURROUND_SIGMAS) + 3 * len(COLOUR_SIGMAS) + 4
#: Scales (proxy pixels) at which a refining stage sees the gains so far.
CONTEXT_SIGMAS = (2.0, 8.0, 32.0)
#: Inputs of a refining stage: the features, the gains so far, their context.
CONTEXT_FEATURES = FEATURES + 3 + 3 * len(CONTEXT_SIGMAS)
_LOG_FLOOR = 1e-4


def clip_mask(code: np.ndarray) -> np.ndarray:
    """(H, W) pixels of a display-encoded plate with any channel at the clip."""
    return max_rgb(code) >= CLIP_CODE


def _blurred_at(stack: np.ndarray, sigma: float, where: tuple[np.ndarray, ...]) -> np.ndarray:
    """Gaussian blur (``sigma`` px) of an (H, W, K) stack, sampled at pixels ``where``: (N, K).

    Wide blurs run on a 4x coarser grid and are sampled bilinearly (they are smooth anyway).
    """
    if sigma < 8.0 or min(stack.shape[:2]) < 32:
        blurred = gaussian_filter(stack, (sigma, sigma, 0), mode="nearest", truncate=3.0)
        return blurred[where]
    h, w, k = stack.shape
    padded = np.pad(stack, ((0, -h % 4), (0, -w % 4), (0, 0)), mode="edge")
    coarse = padded.reshape(padded.shape[0] // 4, 4, padded.shape[1] // 4, 4, k).mean(axis=(1, 3))
    coarse = gaussian_filter(coarse, (sigma / 4.0, sigma / 4.0, 0), mode="nearest", truncate=3.0)
    rows, cols = ((index + 0.5) / 4.0 - 0.5 for index in where)
    return np.stack(
        [map_coordinates(coarse[..., j], (rows, cols), order=1, mode="nearest") for j in range(k)],
        axis=-1,
    )


def clip_features(code: np.ndarray, linear: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features of the clipped pixels of one frame (at its own resolution).

    Args:
        code: (H, W, 3) display-encoded Rec.709 code values in [0, 1].
        linear: (H, W, 3) the same plate, display-linear Rec.709 (1.0 = SDR peak).

    Returns:
        ``(features, mask)``: (N, :data:`FEATURES`) float32 for the N pixels where
        ``mask`` ((H, W) bool, :func:`clip_mask`) is set. Columns: log(1 + distance to an
        unclipped pixel); clipped density per :data:`DENSITY_SIGMAS`; per
        :data:`SURROUND_SIGMAS` the unclipped surround's mean log max(R,G,B), mean log
        gradient and log coverage; per :data:`COLOUR_SIGMAS` its mean log R, G, B minus its
        mean log max; the three code values; the number of clipped channels.
    """
    mask = clip_mask(code)
    if not mask.any():
        return np.zeros((0, FEATURES), np.float32), mask
    where = np.nonzero(mask)
    log_peak = np.log(np.maximum(max_rgb(linear), _LOG_FLOOR)).astype(np.float32)
    gy, gx = np.gradient(log_peak)
    unclipped = (~mask).astype(np.float32)[..., None]
    # Everything the surround features average, weighted by "unclipped".
    surround = unclipped * np.concatenate(
        [
            np.ones_like(log_peak)[..., None],
            log_peak[..., None],
            np.hypot(gx, gy)[..., None],
            np.log(np.maximum(linear, _LOG_FLOOR)),
        ],
        axis=-1,
    ).astype(np.float32)
    inside = mask.astype(np.float32)[..., None]
    columns = [np.log1p(distance_transform_edt(mask)[where])[:, None]]
    columns += [_blurred_at(inside, s, where) for s in DENSITY_SIGMAS]
    means = {}
    for s in sorted(set(SURROUND_SIGMAS) | set(COLOUR_SIGMAS)):
        sums = _blurred_at(surround if s in COLOUR_SIGMAS else surround[..., :3], s, where)
        coverage = sums[:, :1]
        means[s] = (sums[:, 1:] / np.maximum(coverage, 1e-6), np.log(coverage + _LOG_FLOOR))
    for s in SURROUND_SIGMAS:
        mean, log_coverage = means[s]
        columns += [mean[:, :2], log_coverage]
    for s in COLOUR_SIGMAS:
        mean = means[s][0]
        columns.append(mean[:, 2:] - mean[:, :1])
    columns += [code[where], (code[where] >= CLIP_CODE).sum(axis=-1, keepdims=True)]
    return np.concatenate(columns, axis=-1).astype(np.float32), mask


def gain_context(mask: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Mean of per-pixel ``gains`` over the clipped area around each clipped pixel.

    Args:
        mask: (H, W) bool, the clipped pixels (:func:`clip_mask`).
        gains: (N, 3) values at the N pixels of ``mask`` (in ``np.nonzero`` order).

    Returns:
        (N, 3 * len(:data:`CONTEXT_SIGMAS`)) float32: per scale, the Gaussian-weighted mean
        of ``gains`` over clipped pixels only (a normalised convolution).
    """
    where = np.nonzero(mask)
    stack = np.zeros((*mask.shape, 4), np.float32)
    stack[where] = np.concatenate([gains, np.ones((len(gains), 1), np.float32)], axis=-1)
    columns = []
    for sigma in CONTEXT_SIGMAS:
        sums = _blurred_at(stack, sigma, where)
        columns.append(sums[:, :3] / np.maximum(sums[:, 3:], 1e-6))
    return np.concatenate(columns, axis=-1).astype(np.float32)


class HighlightMLP(nn.Module):
    """Per-pixel MLP: standardised features -> log gain per channel (0 = unchanged).

    Args:
        features: input features (:data:`FEATURES`).
        width: hidden units per layer.
        depth: hidden layers.
    """

    def __init__(self, features: int = FEATURES, width: int = 32, depth: int = 2) -> None:
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(features))
        self.register_buffer("feature_std", torch.ones(features))
        layers: list[nn.Module] = []
        channels = features
        for _ in range(depth):
            layers += [nn.Linear(channels, width), nn.SiLU()]
            channels = width
        layers.append(nn.Linear(channels, 3))
        self.layers = nn.Sequential(*layers)
        # Start as the identity: every gain 1 (the OCIO linearisation).
        nn.init.zeros_(self.layers[-1].weight)
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(N, F) features -> (N, 3) natural-log gains."""
        return self.layers((features - self.feature_mean) / self.feature_std)


@network("highlight-expand")
class HighlightNet(nn.Module):
    """Per-pixel stages: gains from the features, then refined with their context.

    Stage 0 maps the features to log gains; each later stage adds a correction computed
    from the features, the gains so far and their :func:`gain_context`.

    Args:
        width: hidden units per layer of each stage.
        depth: hidden layers of each stage.
        stages: number of stages (1 = no refinement).
    """

    def __init__(self, width: int = 32, depth: int = 2, stages: int = 3) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            [HighlightMLP(FEATURES, width, depth)]
            + [HighlightMLP(CONTEXT_FEATURES, width, depth) for _ in range(stages - 1)]
        )

    def forward(
        self,
        features: torch.Tensor,
        previous: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
        stage: int = 0,
    ) -> torch.Tensor:
        """Log gains (N, 3) after ``stage``, given the gains before it and their context.

        Args:
            features: (N, :data:`FEATURES`) of clipped pixels.
            previous: (N, 3) log gains after stage ``stage - 1`` (not for stage 0).
            context: (N, 9) :func:`gain_context` of ``previous`` (not for stage 0).
            stage: which stage to apply.
        """
        if stage == 0:
            return self.stages[0](features)
        inputs = torch.cat([features, previous, context], dim=-1)
        return previous + self.stages[stage](inputs)

    @torch.no_grad()
    def gains(
        self, features: np.ndarray, mask: np.ndarray, stages: int | None = None
    ) -> np.ndarray:
        """(N, 3) float32 log gains of ``mask``'s clipped pixels after ``stages`` stages (all)."""
        parameter = next(self.parameters())
        x = torch.from_numpy(features).to(parameter)
        gains = self(x)
        for stage in range(1, stages or len(self.stages)):
            context = gain_context(mask, gains.float().cpu().numpy())
            gains = self(x, gains, torch.from_numpy(context).to(parameter), stage)
        return gains.float().cpu().numpy()


def proxy_size(shape: tuple[int, ...]) -> tuple[int, int]:
    """(h, w) of the proxy of a frame of ``shape``: short edge :data:`PROXY_EDGE`."""
    scale = PROXY_EDGE / min(shape[:2])
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, C) float32 resized to ``size`` (h, w): antialiased bilinear."""
    if image.shape[:2] == size:
        return image
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    down = size[0] < image.shape[0]
    y = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=down)
    return y[0].permute(1, 2, 0).numpy()


@torch.no_grad()
def log_gains(
    net: HighlightNet,
    code: np.ndarray,
    linear: np.ndarray,
    where: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Natural-log gains of a frame: (N, 3) at pixels ``where``, else (H, W, 3).

    Features and gains are computed on the proxy; each proxy gain is spread to its
    unclipped neighbours (nearest clipped pixel) before it is interpolated to the frame,
    so clipped pixels at the edge of a highlight get the gain of the highlight, not a
    blend with zero.
    """
    size = proxy_size(code.shape)
    proxy_code, proxy_linear = resize(code, size), resize(linear, size)
    features, mask = clip_features(proxy_code, proxy_linear)
    gains = np.zeros((*size, 3), np.float32)
    if mask.any():
        gains[mask] = net.gains(features, mask)
        nearest = distance_transform_edt(~mask, return_distances=False, return_indices=True)
        gains = gains[nearest[0], nearest[1]]
    if where is None:
        return resize(gains, code.shape[:2])
    # Bilinear at the frame's pixel centres, as resize() would, but only where asked.
    rows = (where[0] + 0.5) * (size[0] / code.shape[0]) - 0.5
    cols = (where[1] + 0.5) * (size[1] / code.shape[1]) - 0.5
    return np.stack(
        [map_coordinates(gains[..., c], (rows, cols), order=1, mode="nearest") for c in range(3)],
        axis=-1,
    )


def expand_highlights(net: HighlightNet, code: np.ndarray, linear: np.ndarray) -> np.ndarray:
    """``linear`` with its clipped pixels multiplied by the network's gains.

    Args:
        net: the trained network.
        code: (H, W, 3) display-encoded Rec.709 code values in [0, 1].
        linear: (H, W, 3) the same plate, display-linear Rec.709 (1.0 = SDR peak).

    Returns:
        (H, W, 3) float32 display-linear Rec.709, > 1.0 in expanded highlights.
    """
    out = np.array(linear, dtype=np.float32)
    where = np.nonzero(clip_mask(code))
    if len(where[0]):
        out[where] *= np.exp(log_gains(net, code, linear, where))
    return out
