"""The frame loop: read plate (and matte), reconstruct, write EXR.

Every input frame is checked before the first one is processed, so a missing frame or an
unreadable output folder fails at once rather than half-way through a shot.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hdr_plugin.errors import ConfigError, HdrPluginError, OutputError
from hdr_plugin.io import read_image, write_exr
from hdr_plugin.masks import matte_from_pixels
from hdr_plugin.node import ReconstructNode
from hdr_plugin.sequence import FrameFile, expand_input, has_padding, output_files


@dataclass(frozen=True)
class RenderJob:
    """One plate (single image or sequence) to one EXR output.

    Attributes:
        input: plate file or sequence pattern.
        output: EXR file or sequence pattern (frame N of the plate is written as frame N).
        frames: frame range (``1001-1100x2``); ``None`` = every frame of the plate.
        pixel_type: ``half`` or ``float``.
        compression: EXR compression (``zip``, ``piz``, ``dwaa`` ...).
        write_masks: also write the highlight mask (and matte) as EXR channels.
    """

    input: str
    output: str
    frames: str | None = None
    pixel_type: str = "half"
    compression: str = "zip"
    write_masks: bool = False


@dataclass
class RenderResult:
    """What a render wrote and where its time went (seconds per stage, summed)."""

    outputs: list[Path]
    timings: Counter[str]


def _check_output_folder(path: str) -> None:
    folder = Path(path).parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise OutputError(f"{path}: cannot write into {folder} (no such folder or permission)")


def _matte_files(pattern: str, plate: list[FrameFile]) -> list[FrameFile]:
    """One matte file per plate frame: a still matte is reused for every frame."""
    if not has_padding(pattern):
        return expand_input(pattern) * len(plate)
    if plate[0].frame is None:
        raise ConfigError(f"matte {pattern} is a sequence but the plate is a single image")
    return expand_input(pattern, ",".join(str(item.frame) for item in plate))


def render(
    job: RenderJob,
    node: ReconstructNode,
    *,
    progress: bool = True,
    on_frame: Callable[[int, Path], None] | None = None,
) -> RenderResult:
    """Render ``job`` with ``node``.

    Args:
        job: what to read and write.
        node: a configured node (its knobs are already validated).
        progress: show a progress bar on stderr.
        on_frame: called with (index, output path) after each frame is written.

    Raises:
        PlateError, ColorError, ModelError, OutputError, ConfigError: with the file and
            frame named; frames written before the error are complete files.
    """
    plate = expand_input(job.input, job.frames)
    outputs = output_files(job.output, plate)
    _check_output_folder(outputs[0])
    mattes = _matte_files(node.settings.matte, plate) if node.settings.matte else None
    attributes = node.provenance()
    timings: Counter[str] = Counter()
    written: list[Path] = []

    bar = tqdm(
        total=len(plate),
        desc=os.path.basename(job.input),
        unit="frame",
        disable=not progress or len(plate) < 2,
    )
    with bar:
        for index, (item, target) in enumerate(zip(plate, outputs, strict=True)):
            where = f"frame {item.frame}" if item.frame is not None else item.path
            start = time.perf_counter()
            image = read_image(item.path, frame=item.frame)
            matte = None
            if mattes is not None:
                matte_image = read_image(mattes[index].path, frame=mattes[index].frame)
                matte = matte_from_pixels(
                    matte_image.pixels,
                    matte_image.channels,
                    node.settings.matte_channel,
                    source=matte_image.path,
                )
            timings["read"] += time.perf_counter() - start

            try:
                result = node.process_frame(image.rgb, matte, input_colorspace=image.colorspace)
            except HdrPluginError as exc:
                raise type(exc)(f"{item.path} ({where}): {exc}") from exc

            start = time.perf_counter()
            channels = ["R", "G", "B"]
            layers = [result.rgb]
            if image.alpha is not None:
                channels.append("A")
                layers.append(image.alpha)
            if job.write_masks:
                channels.append("mask.highlight")
                layers.append(result.highlight_mask[..., None])
                if matte is not None:
                    channels.append("mask.matte")
                    layers.append(matte[..., None])
            frame_attributes = {
                **attributes,
                "hdr_plugin:inputFile": os.path.basename(item.path),
                "hdr_plugin:inputColorspace": result.input_colorspace,
            }
            if item.frame is not None:
                frame_attributes["hdr_plugin:frame"] = item.frame
            written.append(
                write_exr(
                    target,
                    np.concatenate(layers, axis=-1),
                    channels,
                    frame_attributes,
                    pixel_type=job.pixel_type,
                    compression=job.compression,
                )
            )
            timings["write"] += time.perf_counter() - start
            bar.update()
            if on_frame is not None:
                on_frame(index, written[-1])

    timings.update(node.timings)
    return RenderResult(written, timings)
