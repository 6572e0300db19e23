"""HDR quality metrics: PU21-PSNR (whole and clipped), log-PSNR, PU21-SSIM, HDR-FLIP.

HDR-FLIP is scored when the ``flip-evaluator`` package is installed.

Conventions. Scene-linear values are in the model contract's units (SDR reference white
1.0) and are mapped to absolute luminance with reference white at 203 cd/m² before PU21
encoding (Mantiuk & Azimi, PCS 2021, ``banding_glare`` parameters), applied per RGB
channel. PSNR uses the PU21 value of 10000 cd/m² as peak. Before scoring, each prediction
is scaled by one factor fitted on well-exposed pixels, because the absolute scale of an
SDR -> HDR reconstruction is ambiguous.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from hdr_plugin.constants import CLIP_CODE, LUMA_REC2020, REFERENCE_WHITE_NITS
from hdr_plugin.masks import max_rgb

if TYPE_CHECKING:
    import torch

PU21_BANDING_GLARE = (
    0.353487901,
    0.3734658629,
    8.277049286e-05,
    0.9062562627,
    0.09150303166,
    0.9099517204,
    596.3148142,
)
PU21_MIN_NITS, PU21_MAX_NITS = 0.005, 10000.0


def pu21_encode(nits: np.ndarray) -> np.ndarray:
    """PU21 encoding of absolute luminance (cd/m²), clamped to [0.005, 10000]."""
    p0, p1, p2, p3, p4, p5, p6 = PU21_BANDING_GLARE
    y = np.power(np.clip(np.asarray(nits, dtype=np.float64), PU21_MIN_NITS, PU21_MAX_NITS), p3)
    return p6 * (np.power((p0 + p1 * y) / (1.0 + p2 * y), p4) - p5)


PU21_PEAK = float(pu21_encode(np.array(PU21_MAX_NITS)))


def psnr(test: np.ndarray, reference: np.ndarray, peak: float) -> float:
    """PSNR in dB; ``inf`` for identical inputs."""
    mse = float(np.mean((np.asarray(test, np.float64) - np.asarray(reference, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak**2 / mse)


def well_exposed(sdr: np.ndarray, low: float = 0.1, high: float = 0.9) -> np.ndarray:
    """(H, W) pixels of an SDR plate whose every channel is between ``low`` and ``high``."""
    return (sdr.min(axis=-1) > low) & (max_rgb(sdr) < high)


def clipped_region(sdr: np.ndarray, threshold: float = CLIP_CODE) -> np.ndarray:
    """(H, W) pixels of an SDR plate with any channel at the clipping level."""
    return max_rgb(sdr) >= threshold


def fit_scale(prediction: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """Scale s minimising the log error of s·prediction on ``mask`` (geometric mean ratio)."""
    p = prediction[mask].ravel()
    r = reference[mask].ravel()
    keep = (p > 1e-6) & (r > 1e-6)
    if keep.sum() < 16:
        return 1.0
    return float(np.exp(np.median(np.log(r[keep]) - np.log(p[keep]))))


def pu21_psnr(test: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PU21-PSNR of scene-linear images (reference white 1.0 -> 203 cd/m²), optionally masked."""
    a = pu21_encode(np.maximum(test, 0) * REFERENCE_WHITE_NITS)
    b = pu21_encode(np.maximum(reference, 0) * REFERENCE_WHITE_NITS)
    if mask is not None:
        a, b = a[mask], b[mask]
    return psnr(a, b, PU21_PEAK)


def log_psnr(test: np.ndarray, reference: np.ndarray, eps: float = 1e-5) -> float:
    """PSNR of log10 values, peak = the reference's log10 dynamic range."""
    a = np.log10(np.maximum(test, 0) + eps)
    b = np.log10(np.maximum(reference, 0) + eps)
    return psnr(a, b, float(b.max() - b.min()))


def ssim(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM of (N, C, H, W) tensors (Wang et al., IEEE TIP 2004), differentiable.

    ``pytorch_msssim``'s implementation: an 11x11 Gaussian window (sigma 1.5) over valid
    windows, averaged over channels and images. The loss (``1 - ssim``) and the metric are
    this one function.
    """
    from pytorch_msssim import ssim as _ssim

    return _ssim(x, y, data_range=data_range, size_average=True)


def pu21_ssim(test: np.ndarray, reference: np.ndarray) -> float:
    """SSIM on PU21-encoded values, averaged over the RGB channels."""
    import torch

    a, b = (
        torch.from_numpy(pu21_encode(np.maximum(image, 0) * REFERENCE_WHITE_NITS))
        .permute(2, 0, 1)[None]
        .contiguous()
        for image in (test, reference)
    )
    return float(ssim(a, b, data_range=PU21_PEAK))


def has_flip() -> bool:
    """Whether HDR-FLIP can be computed (``pip install 'hdr-plugin[flip]'``)."""
    return importlib.util.find_spec("flip_evaluator") is not None


def hdr_flip(test: np.ndarray, reference: np.ndarray) -> float:
    """Mean HDR-FLIP error (Andersson et al., HPG 2021): 0 = identical, 1 = worst.

    Args:
        test: (H, W, 3) scene-linear Rec.709 (FLIP's assumption), SDR reference white
            1.0; negative values (outside the gamut) count as 0.
        reference: the same for the reference.
    """
    import flip_evaluator

    _, mean, _ = flip_evaluator.evaluate(
        np.ascontiguousarray(np.maximum(reference, 0), dtype=np.float32),
        np.ascontiguousarray(np.maximum(test, 0), dtype=np.float32),
        "HDR",
        applyMagma=False,
    )
    return float(mean)


def boundary_step(linear709: np.ndarray, sdr: np.ndarray, threshold: float = CLIP_CODE) -> float:
    """Mean step, in stops, across the clip boundary of each channel of the plate.

    For every pair of 4-neighbours where one pixel's channel clipped in the plate and the
    other's did not, the absolute log2 ratio of that channel's two values in
    ``linear709`` (scene-linear Rec.709, where the plate's channels clipped). A
    reconstruction that meets the decoded plate continuously at the boundary steps no more
    than the truth does there; one that multiplies a clipped region by one gain shows a
    hard edge (a larger step). ``nan`` when nothing clipped.
    """
    clipped = sdr >= threshold
    log = np.log2(np.maximum(linear709, 1e-6).astype(np.float64))
    steps = []
    for axis in (0, 1):
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        a[axis], b[axis] = slice(1, None), slice(None, -1)
        crossing = clipped[tuple(a)] != clipped[tuple(b)]
        steps.append(np.abs(log[tuple(a)] - log[tuple(b)])[crossing])
    joined = np.concatenate(steps)
    return float(joined.mean()) if joined.size else float("nan")


def speckle_share(linear709: np.ndarray, reference709: np.ndarray, sdr: np.ndarray) -> float:
    """Share of the truly clipped channels that a reconstruction left at the clip.

    A channel is truly clipped where the plate clipped it (code at the clip) and the scene
    is clearly above the clip level (the reference's channel above 1.05, 0.07 stops); it is
    left at the clip where the reconstruction is within 1 % of 1.0 or below. Speckle on a
    compressed plate is a highlight lifted in some pixels and left in their neighbours: a
    share well above a lossless plate's. For plates whose decoding puts the clip at 1.0
    (not a view's, whose white lies far above). ``nan`` when nothing truly clipped.
    """
    truly = (sdr >= CLIP_CODE) & (reference709 > 1.05)
    return float(np.mean(linear709[truly] <= 1.01)) if truly.any() else float("nan")


def speckle_roughness(linear709: np.ndarray, reference709: np.ndarray, sdr: np.ndarray) -> float:
    """Pixel-to-pixel spread of the log gain inside clipped regions, minus the truth's (stops).

    The mean absolute log2 step between 4-neighbours that are both clipped (any channel at
    the clip), of the reconstruction's max channel, minus the same of the
    reference. Above 0: rougher than the scene (speckle); ``nan`` when nothing clipped.
    """
    clipped = max_rgb(sdr) >= CLIP_CODE

    def roughness(image: np.ndarray) -> float:
        log = np.log2(np.maximum(max_rgb(image), 1e-6).astype(np.float64))
        steps = []
        for axis in (0, 1):
            a = [slice(None)] * 2
            b = [slice(None)] * 2
            a[axis], b[axis] = slice(1, None), slice(None, -1)
            both = clipped[tuple(a)] & clipped[tuple(b)]
            steps.append(np.abs(log[tuple(a)] - log[tuple(b)])[both])
        joined = np.concatenate(steps)
        return float(joined.mean()) if joined.size else float("nan")

    return roughness(linear709) - roughness(reference709)


def _pan_between(previous: np.ndarray, current: np.ndarray, search: int = 8) -> float:
    """Horizontal shift (pixels, sub-pixel) that best maps ``current`` onto ``previous``."""
    width = previous.shape[1]
    costs = []
    for shift in range(-search, search + 1):
        a = previous[:, max(0, shift) : width + min(0, shift)]
        b = current[:, max(0, -shift) : width + min(0, -shift)]
        costs.append(float(np.mean(np.abs(a - b))))
    best = int(np.argmin(costs))
    if 0 < best < len(costs) - 1:  # parabola through the minimum and its neighbours
        left, middle, right = costs[best - 1 : best + 2]
        offset = 0.5 * (left - right) / max(left - 2 * middle + right, 1e-12)
    else:
        offset = 0.0
    return best - search + offset


def _resample_columns(image: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``image`` (H, W, C) sampled at fractional ``columns`` (linear interpolation)."""
    image = image.astype(np.float64)
    low = np.clip(np.floor(columns).astype(int), 0, image.shape[1] - 2)
    frac = (columns - low)[None, :, None]
    return image[:, low] * (1 - frac) + image[:, low + 1] * frac


def shot_stability(plates: list[np.ndarray], outputs: list[np.ndarray]) -> float:
    """Mean frame-to-frame change of clipped pixels, in stops, after undoing a horizontal pan.

    For each pair of consecutive frames, the pan is estimated from the plates (sub-pixel),
    the previous output is resampled onto the current frame, and the mean absolute log2
    ratio of the outputs is taken over pixels clipped in both plates. A reconstruction that
    follows the scene, not the frame, changes little; one that re-decides its highlights on
    every frame flickers.
    """
    changes = []
    for index in range(1, len(plates)):
        shift = _pan_between(plates[index - 1].mean(axis=-1), plates[index].mean(axis=-1))
        columns = np.arange(plates[index].shape[1], dtype=np.float64) + shift
        valid = (columns >= 0) & (columns <= plates[index].shape[1] - 1)
        clipped = max_rgb(plates[index]) >= CLIP_CODE
        clipped &= max_rgb(_resample_columns(plates[index - 1], columns)) >= CLIP_CODE
        clipped &= valid[None, :]
        previous = np.maximum(_resample_columns(outputs[index - 1], columns), 1e-6)
        current = np.maximum(outputs[index].astype(np.float64), 1e-6)
        ratio = np.abs(np.log2(current / previous)).mean(axis=-1)
        if clipped.any():
            changes.append(float(ratio[clipped].mean()))
    return float(np.mean(changes)) if changes else float("nan")


def flicker(outputs: list[np.ndarray], references: list[np.ndarray]) -> float:
    """Largest frame-to-frame change of mean luminance that the references do not have.

    Natural log of the mean Rec.2020 luminance of each frame (scene-linear Rec.2020 in
    both lists); the references are the same shot's plain linearisation, whose changes are
    the camera's own (a pan, an exposure change). 0.005 is about 0.007 stops.
    """

    def log_means(frames: list[np.ndarray]) -> np.ndarray:
        return np.log([float((frame @ LUMA_REC2020).mean()) for frame in frames])

    return float(np.abs(np.diff(log_means(outputs)) - np.diff(log_means(references))).max())


def score(
    prediction: np.ndarray,
    reference: np.ndarray,
    sdr: np.ndarray,
    *,
    to_rec709: Callable[[np.ndarray], np.ndarray] | None = None,
    stored: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric for one image, after fitting the scale on well-exposed pixels.

    Args:
        prediction: (H, W, 3) scene-linear Rec.2020, reference white 1.0.
        reference: the same for the reference.
        sdr: (H, W, 3) the plate the prediction was made from (code values).
        to_rec709: converts scene-linear Rec.2020 to Rec.709 (an OCIO processor); given,
            the clip boundary's step (prediction's minus the reference's, stops) and the
            speckle measures (:func:`speckle_share`, :func:`speckle_roughness`) are scored,
            and with ``flip-evaluator`` installed, HDR-FLIP too.
        stored: the same plate stored losslessly, when ``sdr`` went through a codec: the
            clipped region, its boundary and the speckle measures are where the scene
            clipped (this plate's clip), not where the codec left values at the clip, so a
            compressed camera is scored on the same pixels as its lossless twin.
    """
    exposed = well_exposed(sdr)
    scaled = prediction * fit_scale(prediction, reference, exposed)
    clip_plate = sdr if stored is None else stored
    clipped = clipped_region(clip_plate)
    scores = {
        "pu21_psnr": pu21_psnr(scaled, reference),
        "pu21_psnr_clipped": pu21_psnr(scaled, reference, clipped) if clipped.any() else np.nan,
        "log_psnr": log_psnr(scaled, reference),
        "pu21_ssim": pu21_ssim(scaled, reference),
    }
    if to_rec709 is not None:
        scaled709, reference709 = to_rec709(scaled), to_rec709(reference)
        scores["boundary_step"] = boundary_step(scaled709, clip_plate) - boundary_step(
            reference709, clip_plate
        )
        # Against the plate's own clip: the prediction before the fitted scale, whose plain
        # decode of a clipped channel is at most 1.0.
        scores["speckle_share"] = speckle_share(to_rec709(prediction), reference709, clip_plate)
        scores["speckle_roughness"] = speckle_roughness(scaled709, reference709, clip_plate)
        if has_flip():
            scores["hdr_flip"] = hdr_flip(scaled709, reference709)
    return scores
