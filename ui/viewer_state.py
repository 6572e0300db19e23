"""Qt-free viewer state and image composition (what the viewer shows, testable without Qt).

The viewer shows a frame of the SDR plate (A) and its HDR reconstruction (B) with an A/B
wipe. The plate is shown as delivered (its code values, no view transform), or through the
same view as B; or A is a second model's reconstruction (compare). B goes through an OCIO
display/view, with exposure in stops applied in scene-linear before the view and a gamma
after it; highlight-mask and matte overlays, false-colour stops and a clipping indicator.
:func:`compose` returns 8-bit display RGB, :func:`probe` the values under a pixel,
:func:`luminance_scope` the frame's luminance histogram in cd/m² with MaxCLL and FALL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import PyOpenColorIO as ocio

from hdr_plugin.color import WORKING_SPACE, ColorContext, apply_processor, light_levels
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
        display: OCIO display (``sRGB - Display``, ``Rec.2100-PQ - Display`` ...); ``None``:
            the config's default display.
        view: OCIO view of that display; ``None``: the display's default view.
        exposure: stops applied to scene-linear before the view.
        gamma: power applied to display values after the view.
        wipe: x position of the A/B split as a fraction of the width (0 = all B).
        plate_in_view: show the plate through the same view as B instead of as delivered.
        show_mask: overlay the highlight mask.
        show_matte: overlay the matte.
        overlay_colour: RGB of the overlays.
        overlay_opacity: 0-1.
        false_colour: show stops of luminance relative to 18 % grey instead of the image.
        clipping: mark pixels the display clips.
        frame: index into the sequence.
        fit: fit the frame to the viewer, centred (else ``zoom`` and ``pan``).
        zoom: display pixels per image pixel (1 = 1:1).
        pan: image offset in display pixels.
    """

    display: str | None = None
    view: str | None = None
    exposure: float = 0.0
    gamma: float = 1.0
    wipe: float = 0.5
    plate_in_view: bool = False
    show_mask: bool = False
    show_matte: bool = False
    overlay_colour: tuple[float, float, float] = (1.0, 0.3, 0.0)
    overlay_opacity: float = 0.5
    false_colour: bool = False
    clipping: bool = False
    frame: int = 0
    fit: bool = True
    zoom: float = 1.0
    pan: tuple[float, float] = field(default=(0.0, 0.0))

    def replace(self, **changes) -> ViewerState:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def for_config(self, color: ColorContext) -> ViewerState:
        """A copy whose unset display and view are the config's defaults."""
        display = self.display or color.config.getDefaultDisplay()
        return self.replace(display=display, view=self.view or color.config.getDefaultView(display))


def _display_processor(color: ColorContext, state: ViewerState, source: str):
    state = state.for_config(color)
    transform = ocio.DisplayViewTransform(
        src=color.canonical(source), display=state.display, view=state.view
    )
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
    hdr_space: str = WORKING_SPACE,
    mask: np.ndarray | None = None,
    matte: np.ndarray | None = None,
    other: np.ndarray | None = None,
) -> np.ndarray:
    """The viewer image: (H, W, 3) uint8 display RGB.

    Args:
        plate: (H, W, 3) SDR plate code values in ``plate_space`` (side A, left of the
            wipe): shown as delivered unless ``state.plate_in_view``.
        hdr: (H, W, 3) reconstruction in ``hdr_space`` (side B).
        state: what to show.
        color: the OCIO config.
        plate_space: colourspace of the plate.
        hdr_space: colourspace of ``hdr`` and ``other`` (the node's output colourspace).
        mask: (H, W) highlight mask for the overlay.
        matte: (H, W) matte for the overlay.
        other: (H, W, 3) a second model's reconstruction, shown as side A instead of the
            plate, through the same view as B (compare two models).
    """
    if state.false_colour:
        b = false_colour(color.convert(hdr, hdr_space, WORKING_SPACE), state.exposure)
    else:
        b = to_display(hdr, color, state, hdr_space)
    if state.clipping and not state.false_colour:
        b[(b >= 0.999).any(axis=-1)] = CLIP_COLOUR
    if other is not None:
        a = to_display(other, color, state, hdr_space)
    elif state.plate_in_view:
        a = to_display(plate, color, state.replace(exposure=0.0), plate_space)
    else:  # as delivered: the file's code values on the display, untouched
        a = np.clip(plate, 0.0, 1.0)
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


def fit(image: tuple[int, int], viewport: tuple[int, int]) -> tuple[float, float, float]:
    """Zoom and offset (display pixels) that fit an image into a viewport, centred.

    Args:
        image: (width, height) of the frame, pixels.
        viewport: (width, height) of the viewer, display pixels.

    Returns:
        ``(zoom, x, y)``: the frame fills one dimension of the viewport and is centred in
        the other.
    """
    zoom = min(viewport[0] / image[0], viewport[1] / image[1])
    return zoom, (viewport[0] - image[0] * zoom) / 2, (viewport[1] - image[1] * zoom) / 2


#: Luminance scope range, cd/m² (log scale), and its marks: ITU-R BT.2408 reference white
#: and a 1000 cd/m² mastering peak, with their colours.
SCOPE_RANGE = (0.01, 10_000.0)
SCOPE_MARKS = ((203.0, (255, 200, 0)), (1000.0, (255, 60, 60)))
SCOPE_BARS = (170, 170, 170)
SCOPE_BACKGROUND = (24, 24, 24)


@dataclass(frozen=True)
class Scope:
    """A frame's light levels.

    Attributes:
        counts: pixels per luminance bin.
        edges: bin edges, cd/m² (log-spaced over :data:`SCOPE_RANGE`).
        max_cll: brightest pixel's max(R, G, B), cd/m² (CTA-861.3 MaxCLL of this frame).
        fall: frame average of max(R, G, B), cd/m² (the frame's FALL; MaxFALL of a shot
            is the largest over its frames).
    """

    counts: np.ndarray
    edges: np.ndarray
    max_cll: float
    fall: float


def luminance_scope(hdr: np.ndarray, nits_per_unit: float = 203.0, bins: int = 240) -> Scope:
    """Histogram of luminance (cd/m²) and light levels of a scene-linear Rec.2020 frame.

    Args:
        hdr: (H, W, 3) linear Rec.2020.
        nits_per_unit: cd/m² of a value of 1.0 (203 / white level, per ITU-R BT.2408).
        bins: histogram bins over :data:`SCOPE_RANGE`.
    """
    luminance = np.nan_to_num(np.clip(hdr, 0.0, None)) @ LUMA_REC2020 * np.float32(nits_per_unit)
    edges = np.geomspace(*SCOPE_RANGE, bins + 1)
    counts, _ = np.histogram(np.clip(luminance, edges[0], edges[-1]), bins=edges)
    return Scope(counts, edges, *light_levels(hdr, nits_per_unit))


def scope_x(nits: float, width: int) -> int:
    """Column of ``nits`` in a scope image ``width`` pixels wide (log scale)."""
    low, high = np.log10(SCOPE_RANGE)
    return int(np.clip((np.log10(nits) - low) / (high - low) * (width - 1) + 0.5, 0, width - 1))


def scope_image(scope: Scope, width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 histogram: bars (log count) over log cd/m², marks at 203/1000.

    Decade gridlines are dark grey; labels are the host's to draw.
    """
    image = np.empty((height, width, 3), np.uint8)
    image[:] = SCOPE_BACKGROUND
    for decade in range(-2, 5):
        image[:, scope_x(10.0**decade, width)] = (60, 60, 60)
    low, high = np.log10(SCOPE_RANGE)
    column_nits = 10.0 ** np.linspace(low, high, width)
    bins = np.clip(np.searchsorted(scope.edges, column_nits) - 1, 0, len(scope.counts) - 1)
    heights = np.log1p(scope.counts) / max(np.log1p(scope.counts.max()), 1e-6)
    per_column = heights[bins]
    for x in np.flatnonzero(per_column):
        top = height - max(1, round(per_column[x] * (height - 2)))
        image[top:, x] = SCOPE_BARS
    for nits, colour in SCOPE_MARKS:
        image[:, scope_x(nits, width)] = colour
    return image
