"""Statistics of a display-encoded plate that reveal its camera curve.

All take code values (N, 3, H, W) in [0, 1] (a proxy of the plate) and return one row of
numbers per plate; the classifier (:class:`~hdr_plugin.models.camera_curve.arch.CurveNet`)
reads their concatenation, :func:`plate_statistics`.

* :func:`code_histograms`: per channel, the histogram of code values and the slope profile
  (mean gradient per code value), Liu et al.'s histogram input.
* :func:`log_slope_profile` and :func:`shading_inconsistency`: the edge cue. Shading
  scales the three channels of a surface alike, so in linear light their log-gradients
  agree there. A curve f with log-slope s(x) = x f'(x) / f(x) turns the ratio of two
  channels' log-gradients into s(x_a) / s(x_b): 1 for any power law (every display
  encoding is close to one), but away from 1, and correlated with how the channels'
  levels differ, where the log-slope changes along the curve (a filmic toe and shoulder,
  log and S-curves). These are scene-independent, unlike the histogram: a sunset sky and
  a Hable shoulder can have the same histogram but not the same edges.
"""

from __future__ import annotations

import torch

#: Bins of the code histograms and slope profiles.
HISTOGRAM_BINS = 64
#: Code-value bins of the log-slope profile.
LEVELS = 8
#: Codes outside this range are quantised (near black) or may be clipped: no edge cue.
EDGE_CODES = (0.02, 0.97)
#: Channel pairs compared by the edge statistics.
PAIRS = ((0, 1), (2, 1), (0, 2))
#: Smallest log-gradient, and agreement of direction (cosine), of an edge counted as
#: shading: weaker gradients are quantisation noise, crossing ones material edges.
MIN_LOG_GRADIENT = 0.03
MIN_COSINE = 0.9
#: Curves the plate is decoded with by :func:`shading_inconsistency` (the first is sRGB,
#: the reference the others are compared against): display gammas, and Reinhard, log and
#: S-curves of :func:`hdr_plugin.crf.camera_curves`. None is of a family the test split
#: holds out (:data:`hdr_plugin.crf.TEST_FAMILIES`).
REFERENCE_CURVES = (
    "srgb",
    "gamma 1.0",
    "gamma 1.5",
    "gamma 2.4",
    "gamma 3.0",
    "reinhard W=2",
    "reinhard W=4",
    "reinhard W=8",
    "reinhard W=16",
    "reinhard W=32",
    "log a=2",
    "log a=13.2",
    "log a=86.6",
    "log a=570",
    "s-curve k=6 gamma=2.2",
    "s-curve k=10 gamma=2.2",
)
#: Length of a row of :func:`plate_statistics`.
FEATURES = 6 * HISTOGRAM_BINS + 2 * LEVELS + len(REFERENCE_CURVES)


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


def _edge_pairs(log_values: torch.Tensor, usable: torch.Tensor):
    """Per channel pair (a, b): the log-gradient ratio and the shading-edge mask.

    ``usable`` marks codes within :data:`EDGE_CODES` (:func:`_usable`).
    """
    gy, gx = torch.gradient(log_values, dim=(-2, -1))
    norm = torch.sqrt(gx * gx + gy * gy)
    log_norm = torch.log(norm + 1e-9)
    strong = usable & (norm > MIN_LOG_GRADIENT)
    for a, b in PAIRS:
        cosine = (gx[..., a, :, :] * gx[..., b, :, :] + gy[..., a, :, :] * gy[..., b, :, :]) / (
            norm[..., a, :, :] * norm[..., b, :, :] + 1e-9
        )
        mask = strong[..., a, :, :] & strong[..., b, :, :] & (cosine > MIN_COSINE)
        yield a, b, log_norm[..., a, :, :] - log_norm[..., b, :, :], mask


def _usable(code: torch.Tensor) -> torch.Tensor:
    """Codes that are neither quantised near black nor possibly clipped."""
    low, high = EDGE_CODES
    return (code > low) & (code < high)


def log_slope_profile(code: torch.Tensor) -> torch.Tensor:
    """(N, 2 * LEVELS): per code level, how the log-slope of the curve changes, and support.

    On shading edges, the log-gradient ratio of two channels is regressed on their
    log-chroma within each of :data:`LEVELS` bins of their mean code value: the slope is
    about 0 for a power law and negative where the curve's log-slope falls with level (a
    shoulder). The second half is log(1 + edges in the bin) / 5.
    """
    x = code.clamp(0.0, 1.0)
    log_code = torch.log(x.clamp(min=1e-3))
    n = code.shape[0]
    sums = torch.zeros(n, LEVELS, 3, dtype=code.dtype, device=code.device)
    for a, b, ratio, mask in _edge_pairs(log_code, _usable(x)):
        chroma = log_code[..., a, :, :] - log_code[..., b, :, :]
        level = 0.5 * (x[..., a, :, :] + x[..., b, :, :])
        index = (level * LEVELS).long().clamp(0, LEVELS - 1)
        for k in range(LEVELS):
            m = (mask & (index == k)).to(code.dtype)
            count = m.sum(dim=(1, 2))
            mean_chroma = (chroma * m).sum(dim=(1, 2)) / count.clamp(min=1)
            mean_ratio = (ratio * m).sum(dim=(1, 2)) / count.clamp(min=1)
            dc = chroma - mean_chroma[:, None, None]
            dr = ratio - mean_ratio[:, None, None]
            sums[:, k, 0] += (dc * dr * m).sum(dim=(1, 2))
            sums[:, k, 1] += (dc * dc * m).sum(dim=(1, 2))
            sums[:, k, 2] += count
    slope = (sums[..., 0] / (sums[..., 1] + 1e-3)).clamp(-5.0, 5.0)
    return torch.cat([slope, torch.log1p(sums[..., 2]) / 5.0], dim=1)


def shading_inconsistency(code: torch.Tensor, inverses: torch.Tensor) -> torch.Tensor:
    """(N, K): how much worse than sRGB each of K inverse curves explains the plate's edges.

    The plate is decoded by each inverse curve (K, S) (code -> linear, S samples over
    [0, 1]; the first is the reference); the score of a curve is the median |log-gradient
    ratio| over shading edges of the decoded plate (0 where the channels' log-gradients
    agree, as shading makes them in linear light). Returned as 10 * log(score / score of
    the first curve), clamped to +-20; 0 where a plate has too few edges to tell.
    """
    samples = inverses.shape[1]
    x = code.clamp(0.0, 1.0)
    position = x * (samples - 1)
    low = position.floor().long().clamp(max=samples - 2)
    frac = position - low
    rows = []
    for plate, below, weight in zip(x, low, frac, strict=True):
        decoded = inverses[:, below] * (1 - weight) + inverses[:, below + 1] * weight
        log_linear = torch.log(decoded.clamp(min=1e-5))
        scores = torch.zeros(inverses.shape[0], dtype=code.dtype, device=code.device)
        pairs = [(r, m) for _, _, r, m in _edge_pairs(log_linear, _usable(plate))]
        for k in range(inverses.shape[0]):
            ratios = torch.cat([r[k][m[k]] for r, m in pairs]).abs()
            scores[k] = ratios.median() if ratios.numel() >= 20 else torch.nan
        relative = 10.0 * torch.log(scores.clamp(min=1e-4) / scores[0].clamp(min=1e-4))
        rows.append(torch.nan_to_num(relative, nan=0.0).clamp(-20.0, 20.0))
    return torch.stack(rows)


def plate_statistics(code: torch.Tensor, inverses: torch.Tensor) -> torch.Tensor:
    """(N, :data:`FEATURES`): histograms, log-slope profile and shading inconsistency."""
    return torch.cat(
        [code_histograms(code), log_slope_profile(code), shading_inconsistency(code, inverses)],
        dim=1,
    )
