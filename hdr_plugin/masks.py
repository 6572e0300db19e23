"""Highlight masks, user mattes and the mix, as pure functions on arrays."""

from __future__ import annotations

import numpy as np

from hdr_plugin.constants import LUMA_REC709
from hdr_plugin.errors import ConfigError, PlateError

#: Threshold τ of the soft highlight mask (display-encoded code value).
DEFAULT_THRESHOLD = 0.95
#: Matte channels a user may pick; ``Y`` is Rec.709 luma of R, G, B.
MATTE_CHANNELS = ("A", "R", "G", "B", "Y")


def max_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W) per-pixel max(R, G, B) of an (H, W, >=3) image.

    Written as two ``np.maximum`` calls: a reduction over a trailing axis of length 3 is
    several times slower in NumPy.
    """
    return np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2])


def _check_threshold(threshold: float) -> float:
    if not 0.0 <= threshold < 1.0:
        raise ConfigError(f"mask threshold {threshold} must be in [0, 1)")
    return float(threshold)


def highlight_mask(image: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Soft highlight mask α = max(0, max_c(I) - τ) / (1 - τ).

    Args:
        image: (H, W, 3) display-encoded Rec.709 code values in [0, 1].
        threshold: τ in [0, 1); code values at or below it get α = 0.

    Returns:
        (H, W) float32 in [0, 1]; 1 where any channel is clipped at 1.0.
    """
    tau = _check_threshold(threshold)
    return np.clip((max_rgb(image) - tau) / (1.0 - tau), 0.0, 1.0).astype(np.float32)


def highlight_mask_per_channel(
    image: np.ndarray, threshold: float = DEFAULT_THRESHOLD
) -> np.ndarray:
    """Per-channel (3-layer) highlight mask α_c = max(0, I_c - τ) / (1 - τ).

    Each colour channel saturates on its own (a red sky clips R long before G and B), so
    this mask tells a model which channels need hallucinating at each pixel.

    Args:
        image: (H, W, 3) display-encoded Rec.709 code values in [0, 1].
        threshold: τ in [0, 1).

    Returns:
        (H, W, 3) float32 in [0, 1].
    """
    tau = _check_threshold(threshold)
    return np.clip((image[..., :3] - tau) / (1.0 - tau), 0.0, 1.0).astype(np.float32)


def matte_from_pixels(
    pixels: np.ndarray, channels: tuple[str, ...], channel: str = "A", *, source: str = ""
) -> np.ndarray:
    """Pick one channel of an image as a matte.

    Args:
        pixels: (H, W, C) float32 image.
        channels: the C channel names (``R``, ``G``, ``B``, ``A`` ...).
        channel: ``A``, ``R``, ``G``, ``B`` or ``Y`` (Rec.709 luma). A single-channel image
            is its own matte whatever is asked.
        source: file name for error messages.

    Returns:
        (H, W) float32 matte clipped to [0, 1].

    Raises:
        PlateError: the image has no such channel.
    """
    if channel not in MATTE_CHANNELS:
        raise ConfigError(f"matte channel {channel!r}; choose one of {MATTE_CHANNELS}")
    if pixels.shape[-1] == 1:
        matte = pixels[..., 0]
    elif channel == "Y":
        if pixels.shape[-1] < 3:
            raise PlateError(f"matte {source}: channel Y needs R, G, B; it has {channels}")
        matte = pixels[..., :3] @ LUMA_REC709
    else:
        names = [name.split(".")[-1].upper() for name in channels]
        if channel not in names:
            raise PlateError(
                f"matte {source} has no {channel} channel (channels: {', '.join(channels)}); "
                "pick another with --matte-channel"
            )
        matte = pixels[..., names.index(channel)]
    return np.clip(np.nan_to_num(matte, nan=0.0), 0.0, 1.0).astype(np.float32)


def mix(
    base: np.ndarray, result: np.ndarray, amount: float, matte: np.ndarray | None = None
) -> np.ndarray:
    """Blend ``result`` over ``base``: base + (result - base) * amount * matte.

    Args:
        base: (H, W, 3) the plain linearisation (what ``mix = 0`` returns).
        result: (H, W, 3) the reconstruction, same colourspace as ``base``.
        amount: the ``mix`` knob in [0, 1].
        matte: optional (H, W) weights in [0, 1]; outside the matte ``base`` is kept.

    Returns:
        (H, W, 3) float32.
    """
    if not 0.0 <= amount <= 1.0:
        raise ConfigError(f"mix {amount} must be in [0, 1]")
    weight = np.float32(amount)
    if matte is not None:
        if matte.shape != base.shape[:2]:
            raise PlateError(
                f"matte is {matte.shape[1]}x{matte.shape[0]} but the plate is "
                f"{base.shape[1]}x{base.shape[0]}"
            )
        weight = (matte * weight)[..., None]
    return (base + (result - base) * weight).astype(np.float32)
