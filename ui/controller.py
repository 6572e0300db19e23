"""Qt-free controller of the viewer app: plate frames, node settings, cached results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hdr_plugin.color import WORKING_SPACE, ColorContext
from hdr_plugin.constants import REFERENCE_WHITE_NITS
from hdr_plugin.errors import ConfigError
from hdr_plugin.node import NodeOutput, ReconstructNode, ReconstructSettings
from hdr_plugin.render import (
    RenderJob,
    hold_shot_statistics,
    matte_files,
    read_plate_frame,
    render,
)
from hdr_plugin.sequence import FrameFile, expand_input
from hdr_plugin.ui.viewer_state import Scope, ViewerState, compose, luminance_scope


class Cancelled(Exception):
    """A long operation was cancelled by the user."""


@dataclass
class Frame:
    """One displayed frame: the plate and what the node made of it."""

    plate: np.ndarray
    plate_space: str
    result: NodeOutput
    matte: np.ndarray | None = None
    #: the compared model's reconstruction of the same frame (``--compare``)
    other: NodeOutput | None = None


class ViewerController:
    """Holds the plate, the node and the current frame; widgets only draw and forward.

    Args:
        plate: image or sequence pattern.
        settings: initial node knobs.
        color: OCIO context.
        frames: the frame range shown and rendered (a shot's own range); ``None`` = every
            frame of the plate.
        shot_config: the shot config the plate comes from (for **Save to shot**).
        shot: that shot's name.
        compare: a second model, shown as side A (A/B of two models).
    """

    def __init__(
        self,
        plate: str,
        settings: ReconstructSettings | None = None,
        color: ColorContext | None = None,
        *,
        frames: str | None = None,
        shot_config: str | Path | None = None,
        shot: str | None = None,
        compare: str | None = None,
    ) -> None:
        self.color = color or ColorContext.resolve()
        self.compare = compare
        self.shot_config, self.shot = shot_config, shot
        self.pattern, self.frames = plate, frames
        self.files: list[FrameFile] = expand_input(plate, frames)
        self._cache: dict[int, Frame] = {}
        self.set_settings(settings or ReconstructSettings())

    def set_settings(self, settings: ReconstructSettings) -> None:
        """New knobs: validated by building the node; cached frames are dropped.

        Whole-frame statistics (the ``auto`` camera curve, models' global parts) are held
        at the middle frame, as a render holds them, so scrubbing does not flicker.
        """
        node = ReconstructNode(settings, self.color)
        mattes = matte_files(settings.matte, self.files) if settings.matte else None
        hold_shot_statistics(node, self.files[len(self.files) // 2])
        other = None
        if self.compare:
            other = ReconstructNode(settings.replace(model=self.compare), self.color)
            hold_shot_statistics(other, self.files[len(self.files) // 2])
        self.settings, self.node, self._mattes, self._other = settings, node, mattes, other
        self._cache.clear()

    def set_compare(self, model: str | None) -> None:
        """Show ``model``'s reconstruction as side A (``None``: the plate)."""
        self.compare = model or None
        self.set_settings(self.settings)

    @classmethod
    def for_shot(
        cls,
        config_path: str | Path,
        shot: str | None = None,
        color=None,
        *,
        overrides: dict | None = None,
        compare: str | None = None,
    ):
        """A controller on one shot of a shot config (the first when ``shot`` is None).

        Only the shot's frames are shown and rendered. ``overrides`` (knob -> value, e.g.
        a model given on the command line) replace the shot's own knobs.
        """
        from hdr_plugin.shots import load_shots

        color = color or ColorContext.resolve()
        config = load_shots(config_path, color)
        chosen = config.select([shot] if shot else None)[0]
        settings = chosen.settings.replace(**(overrides or {}))
        return cls(
            chosen.job.input,
            settings,
            color,
            frames=chosen.job.frames,
            shot_config=config_path,
            shot=chosen.name,
            compare=compare,
        )

    def save_to_shot(self) -> None:
        """Write the current knobs into the shot config (per-shot model assignment)."""
        from hdr_plugin.shots import save_shot_settings

        if self.shot_config is None or self.shot is None:
            raise ConfigError("no shot config is open; open one with hdr-plugin view shots.toml")
        save_shot_settings(self.shot_config, self.shot, self.settings)

    def frame_numbers(self) -> list[int | None]:
        """Frame numbers of the plate (``[None]`` for a single image)."""
        return [f.frame for f in self.files]

    def frame_index(self, number: int) -> int:
        """Index of frame ``number``.

        Raises:
            ConfigError: the plate has no such frame (naming its range).
        """
        numbers = self.frame_numbers()
        if number not in numbers:
            shown = f"{numbers[0]}-{numbers[-1]}" if numbers[0] is not None else "none"
            raise ConfigError(f"{self.pattern}: no frame {number} (frames: {shown})")
        return numbers.index(number)

    @property
    def nits_per_unit(self) -> float:
        """cd/m² of an output value of 1.0 (reference white x white level, ITU-R BT.2408)."""
        return REFERENCE_WHITE_NITS / self.settings.white_level

    def composed(self, frame: Frame, state: ViewerState) -> np.ndarray:
        """What the viewer shows of ``frame``: (H, W, 3) uint8 display RGB."""
        return compose(
            frame.plate,
            frame.result.rgb,
            state,
            self.color,
            plate_space=frame.plate_space,
            hdr_space=self.node.output_colorspace,
            mask=frame.result.highlight_mask,
            matte=frame.matte,
            other=frame.other.rgb if frame.other is not None else None,
        )

    def scope(self, frame: Frame) -> Scope:
        """The frame's luminance scope (cd/m²), MaxCLL and FALL."""
        linear = self.color.convert(frame.result.rgb, self.node.output_colorspace, WORKING_SPACE)
        return luminance_scope(linear, self.nits_per_unit)

    def frame(self, index: int) -> Frame:
        """Read and reconstruct frame ``index`` (cached until the knobs change).

        A frame whose knobs changed while it was made (a worker thread's) is returned but
        not cached: the next request makes it with the new knobs.
        """
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        node, other_node, mattes, settings = self.node, self._other, self._mattes, self.settings
        item = self.files[index]
        matte = mattes[index].path if mattes else None
        image, weights = read_plate_frame(item.path, item.frame, matte, settings.matte_channel)
        rgb, tag = image.straight_rgb, image.colorspace
        result = node.process_frame(rgb, weights, input_colorspace=tag)
        other = None
        if other_node is not None:  # the compared model, on the same decoded frame
            other = other_node.process_frame(rgb, weights, input_colorspace=tag)
        frame = Frame(image.rgb, result.input_colorspace, result, weights, other)
        if self.node is node and self._other is other_node:
            self._cache[index] = frame
        return frame

    def render_sequence(self, output: str | Path, *, cancelled=lambda: False, progress=None):
        """Render the frames shown to EXR through the core; ``cancelled()`` is checked per frame.

        Raises:
            Cancelled: the user cancelled; frames written so far are complete files.
        """
        total = len(self.files)

        def on_frame(index: int, _path) -> None:
            if progress is not None:
                progress(index + 1, total)
            if cancelled():
                raise Cancelled(f"cancelled after {index + 1} of {total} frames")

        job = RenderJob(self.pattern, str(output), frames=self.frames)
        return render(job, self.node, progress=False, on_frame=on_frame)
