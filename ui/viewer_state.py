"""Qt-free viewer state and image composition (what the viewer shows, testable without Qt).

The viewer shows a frame of the SDR plate (A) and its HDR reconstruction (B) through an
OCIO display/view, with exposure in stops applied in scene-linear before the view, a
gamma after it, an A/B wipe, highlight-mask and matte overlays, false-colour stops and a
clipping indicator. :func:`compose` returns 8-bit display RGB; :func:`probe` the values
under a pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import PyOpenColorIO as ocio

from hdr_plugin.color import WORKING_SPACE, ColorContext, apply_processor
from hdr_plugin.constants import LUMA_REC2020

#: False-colour stops relative to 18 % grey: (upper bound in stops, RGB colour).
FALSE_COLOUR = (
    (-6.0, (0.05, 0.0, 0.2)),
    (-4.0, (0.0, 0.0, 0.8)),
    (-2.0, (0.0, 0.6, 0.9)),
    (-0.5, (0.2, 0.6, 0.2)),
    (0.5, (0.5, 0.5, 0.5)),
    (2.0, (0.9, 0.9, 0.0)),
    (4.0, (1.0, 0.5, 0.0)),
    (6.0, (1.0, 0.0, 0.0)),
    (np.inf, (1.0, 1.0, 1.0)),
)
CLIP_COLOUR = np.array([1.0, 0.0, 1.0], np.float32)


@dataclass(frozen=True)
class ViewerState:
    """Everything the viewer shows, as plain data.

    Attributes:
        display: OCIO display (``sRGB - Display``, ``Rec.2100-PQ - Display`` ...).
        view: OCIO view of that display.
        exposure: stops applied to scene-linear before the view.
        gamma: power applied to display values after the view.
        wipe: x position of the A/B split as a fraction of the width (0 = all B).
        show_mask: overlay the highlight mask.
        show_matte: overlay the matte.
        overlay_colour: RGB of the overlays.
        overlay_opacity: 0-1.
        false_colour: show stops of luminance relative to 18 % grey instead of the image.
        clipping: mark pixels the display clips.
        frame: index into the sequence.
        zoom: display pixels per image pixel.
        pan: image offset in display pixels.
    """

    display: str = "sRGB - Display"
    view: str = "ACES 2.0 - SDR 100 nits (Rec.709)"
    exposure: float = 0.0
    gamma: float = 1.0
    wipe: float = 0.5
    show_mask: bool = False
    show_matte: bool = False
    overlay_colour: tuple[float, float, float] = (1.0, 0.3, 0.0)
    overlay_opacity: float = 0.5
    false_colour: bool = False
    clipping: bool = False
    frame: int = 0
    zoom: float = 1.0
    pan: tuple[float, float] = field(default=(0.0, 0.0))

    def replace(self, **changes) -> ViewerState:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)


def _display_processor(color: ColorContext, state: ViewerState, source: str):
    transform = ocio.DisplayViewTransform(src=source, display=state.display, view=state.view)
    return color.config.getProcessor(transform).getDefaultCPUProcessor()


def to_display(rgb: np.ndarray, color: ColorContext, state: ViewerState, source: str) -> np.ndarray:
    """Scene values in ``source`` -> display code values in [0, 1] (exposure, view, gamma)."""
    scaled = rgb * np.float32(2.0**state.exposure)
    out = apply_processor(_display_processor(color, state, source), scaled)
    if state.gamma != 1.0:
        out = np.power(np.clip(out, 0.0, None), 1.0 / state.gamma)
    return out


def false_colour(hdr: np.ndarray, exposure: float = 0.0) -> np.ndarray:
    """(H, W, 3) false-colour image of scene-linear Rec.2020 luminance stops around 18 %."""
    luminance = hdr @ LUMA_REC2020 * 2.0**exposure
    stops = np.log2(np.maximum(luminance, 1e-6) / 0.18)
    out = np.zeros((*hdr.shape[:2], 3), np.float32)
    lower = -np.inf
    for upper, rgb in FALSE_COLOUR:
        out[(stops >= lower) & (stops < upper)] = rgb
        lower = upper
    return out


def compose(
    plate: np.ndarray,
    hdr: np.ndarray,
    state: ViewerState,
    color: ColorContext,
    *,
    plate_space: str,
    mask: np.ndarray | None = None,
    matte: np.ndarray | None = None,
) -> np.ndarray:
    """The viewer image: (H, W, 3) uint8 display RGB.

    Args:
        plate: (H, W, 3) SDR plate in ``plate_space`` (side A, left of the wipe).
        hdr: (H, W, 3) scene-linear Rec.2020 reconstruction (side B).
        state: what to show.
        color: the OCIO config.
        plate_space: colourspace of the plate.
        mask: (H, W) highlight mask for the overlay.
        matte: (H, W) matte for the overlay.
    """
    if state.false_colour:
        b = false_colour(hdr, state.exposure)
    else:
        b = to_display(hdr, color, state, WORKING_SPACE)
    if state.clipping and not state.false_colour:
        b[(b >= 0.999).any(axis=-1)] = CLIP_COLOUR
    a = to_display(plate, color, state.replace(exposure=0.0, gamma=state.gamma), plate_space)
    split = round(state.wipe * plate.shape[1])
    image = np.concatenate([a[:, :split], b[:, split:]], axis=1)
    tint = np.array(state.overlay_colour, np.float32)
    for layer, shown in ((mask, state.show_mask), (matte, state.show_matte)):
        if shown and layer is not None:
            weight = (np.clip(layer, 0, 1) * state.overlay_opacity)[..., None]
            image = image * (1 - weight) + tint * weight
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


@dataclass(frozen=True)
class Probe:
    """Values under one pixel."""

    x: int
    y: int
    plate: tuple[float, float, float]
    scene_linear: tuple[float, float, float]
    nits: float


def probe(plate: np.ndarray, hdr: np.ndarray, x: int, y: int) -> Probe | None:
    """Plate code values, scene-linear Rec.2020 values and luminance (cd/m²) at (x, y)."""
    height, width = plate.shape[:2]
    if not (0 <= x < width and 0 <= y < height):
        return None
    linear = hdr[y, x]
    luminance = float(linear @ LUMA_REC2020)
    return Probe(
        x,
        y,
        tuple(float(v) for v in plate[y, x, :3]),
        tuple(float(v) for v in linear),
        luminance * 203.0,
    )
