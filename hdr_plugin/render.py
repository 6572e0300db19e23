"""Rendering one plate: read (plate and matte), reconstruct, write the EXR atomically.

Every input frame is checked before the first one is processed, so a missing frame or an
unreadable output folder fails at once rather than half-way through a shot. Whole shot
lists (plan, tasks, executors, resume) are :mod:`hdr_plugin.batch`.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from hdr_plugin.color import conversion_threads, limit_conversion_threads
from hdr_plugin.errors import ConfigError, HdrPluginError, OutputError, PlateError, PlateWarning
from hdr_plugin.io import (
    DEFAULT_MAX_PIXELS,
    Image,
    carried_attributes,
    check_header,
    check_not_an_input,
    read_image,
    remove_stale_temporaries,
    write_exr,
)
from hdr_plugin.masks import matte_from_pixels
from hdr_plugin.models import file_hash
from hdr_plugin.node import NodeOutput, ReconstructNode
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
        max_pixels: largest plate (and matte) frame read, pixels.
    """

    input: str
    output: str
    frames: str | None = None
    pixel_type: str = "half"
    compression: str = "zip"
    write_masks: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass
class RenderResult:
    """What a render wrote and where its time went (seconds per stage, summed)."""

    outputs: list[Path]
    timings: Counter[str]


def check_outputs(
    pattern: str, outputs: list[str], plate: list[FrameFile], mattes: list[FrameFile] | None
) -> None:
    """Fail before any frame renders when the outputs cannot or must not be written.

    An output must be an ``.exr`` in a writable folder, and never one of the files read
    (the plate or the matte, also through a symlink or another spelling of the path).

    Raises:
        OutputError: naming the output, and the input it would overwrite.
    """
    if not pattern.strip():
        raise OutputError("output path is empty; give -o an EXR file or pattern (out.####.exr)")
    if Path(pattern).suffix.lower() != ".exr":
        raise OutputError(f"output {pattern!r} must be an .exr file or pattern (out.####.exr)")
    check_output_folder(outputs[0])
    for output in outputs:  # what a killed render left behind
        remove_stale_temporaries(output)
    check_not_an_input(outputs, [f.path for f in [*plate, *(mattes or [])]])


def check_inputs(plate: list[FrameFile], mattes: list[FrameFile] | None) -> None:
    """Open the header of every plate and matte frame before the first frame renders.

    Raises:
        PlateError: naming the first file (and frame) that is not a readable image.
    """
    for item in [*plate, *(mattes or [])]:
        check_header(item.path, frame=item.frame)


def check_output_folder(path: str) -> None:
    """Fail before any frame renders when ``path``'s folder cannot be created or written.

    Raises:
        OutputError: naming the file and the folder.
    """
    folder = Path(path).parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise OutputError(f"{path}: cannot write into {folder} (no such folder or permission)")


def matte_files(pattern: str, plate: list[FrameFile]) -> list[FrameFile]:
    """One matte file per plate frame: a still matte is reused for every frame."""
    if not has_padding(pattern):
        return expand_input(pattern) * len(plate)
    if plate[0].frame is None:
        raise ConfigError(f"matte {pattern} is a sequence but the plate is a single image")
    return expand_input(pattern, ",".join(str(item.frame) for item in plate))


def frame_attributes(
    node: ReconstructNode, plate: str, frame: int | None, matte: str | None = None
) -> dict[str, Any]:
    """Header attributes of one output frame (provenance, chromaticities, source).

    The SHA-256 of the plate file (and of the matte file) is recorded, so that a resumed
    batch re-renders a frame whose input pixels changed under the same name.
    """
    attributes = {
        **node.provenance(),
        "hdr_plugin:inputFile": os.path.basename(plate),
        "hdr_plugin:inputHash": file_hash(plate),
    }
    if matte is not None:
        attributes["hdr_plugin:matteHash"] = file_hash(matte)
    if frame is not None:
        attributes["hdr_plugin:frame"] = frame
    return attributes


_MATCH_KEYS = (
    "hdr_plugin:model",
    "hdr_plugin:weightsHash",
    "hdr_plugin:knobs",
    "hdr_plugin:inputFile",
    "hdr_plugin:inputHash",
)
_OPTIONAL_KEYS = ("hdr_plugin:frame", "hdr_plugin:matteHash")


def is_complete(
    output: str,
    expected: dict[str, Any],
    *,
    pixel_type: str = "half",
    compression: str = "zip",
    write_masks: bool = False,
) -> bool:
    """Whether ``output`` is a whole EXR with the provenance ``expected`` describes.

    Whole: every pixel reads back (a truncated file from a killed render does not count).
    It must also be written as asked now: its pixel type, compression and mask channels.
    """
    import OpenImageIO as oiio

    if not os.path.isfile(output) or os.path.getsize(output) == 0:
        return False
    image = oiio.ImageInput.open(output)
    if image is None:
        return False
    try:
        spec = image.spec()
        keys = [*_MATCH_KEYS, *(k for k in _OPTIONAL_KEYS if k in expected)]
        if not all(spec.getattribute(key) == expected[key] for key in keys):
            return False
        stored = str(spec.format)  # "half" or "float"
        masks = "mask.highlight" in spec.channelnames
        if (stored, spec.getattribute("compression"), masks) != (
            pixel_type,
            compression,
            write_masks,
        ):
            return False
        pixels = image.read_image(0, 0, 0, spec.nchannels, oiio.HALF)
        return pixels is not None and not image.has_error
    finally:
        image.close()


@dataclass
class _Frame:
    """One frame on its way through a render: read, reconstructed, then written."""

    plate: str
    frame: int | None
    target: str
    image: Image
    matte: np.ndarray | None = None
    matte_path: str | None = None
    result: NodeOutput | None = None

    @property
    def where(self) -> str:
        return f"frame {self.frame}" if self.frame is not None else "single image"


def _read_frame(
    node: ReconstructNode,
    plate: str,
    frame: int | None,
    target: str,
    matte_path: str | None,
    timings: Counter[str],
    max_pixels: int,
) -> _Frame:
    start = time.perf_counter()
    image, matte = read_plate_frame(
        plate, frame, matte_path, node.settings.matte_channel, max_pixels=max_pixels
    )
    timings["read"] += time.perf_counter() - start
    return _Frame(plate, frame, target, image, matte, matte_path)


#: A plate value above this is HDR, not an SDR code value a little over 1.0 (the ringing
#: of a float resize): an already scene-linear image is refused, not decoded again.
HDR_PEAK = 1.5


def _check_plate(image: Image, frame: int | None) -> None:
    """Refuse an already-HDR plate, and say how many NaN pixels a plate has (read as black).

    HDR: 0.1 % of its pixels (16 or more) above :data:`HDR_PEAK`; a few hot or infinite
    pixels of a damaged plate are clamped instead. One pass over an ordinary plate.

    Raises:
        PlateError: an HDR plate, naming the file and frame.
    """
    rgb = image.rgb
    peak = rgb.max()  # NaN if any pixel is NaN; then both checks look closer
    if peak <= HDR_PEAK:
        return
    where = image.path if frame is None else f"{image.path} (frame {frame})"
    if np.isnan(peak):
        nan = int(np.count_nonzero(np.isnan(rgb).any(axis=-1)))
        warnings.warn(PlateWarning(f"{where}: {nan} NaN pixel(s) read as black"), stacklevel=3)
    finite = np.isfinite(rgb).all(axis=-1)
    bright = int(np.count_nonzero((rgb.max(axis=-1) > HDR_PEAK) & finite))
    if bright >= max(16, rgb.shape[0] * rgb.shape[1] // 1000):
        peak = float(rgb[finite].max())
        raise PlateError(
            f"{where}: values up to {peak:.3g}, above an SDR plate's 1.0: this is already "
            "an HDR (scene-linear) image, with nothing clipped to reconstruct"
        )


def read_plate_frame(
    plate: str,
    frame: int | None,
    matte_path: str | None = None,
    matte_channel: str = "A",
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[Image, np.ndarray | None]:
    """One frame of a plate and, given its file, the matte's weights: what a node takes.

    Every frame loop (render, batch, viewer) reads through here.

    Returns:
        The plate image and the (H, W) float32 matte in [0, 1], or ``None``.
    """
    image = read_image(plate, frame=frame, max_pixels=max_pixels)
    _check_plate(image, frame)
    if matte_path is None:
        return image, None
    matte_image = read_image(matte_path, frame=frame, max_pixels=max_pixels)
    matte = matte_from_pixels(
        matte_image.pixels, matte_image.channels, matte_channel, source=matte_image.path
    )
    return image, matte


def _reconstruct(node: ReconstructNode, item: _Frame) -> _Frame:
    try:
        item.result = node.process_frame(
            item.image.straight_rgb, item.matte, input_colorspace=item.image.colorspace
        )
    except HdrPluginError as exc:
        raise type(exc)(f"{item.plate} ({item.where}): {exc}") from exc
    return item


def _write_frame(
    node: ReconstructNode, item: _Frame, job: RenderJob, timings: Counter[str]
) -> Path:
    start = time.perf_counter()
    result = item.result
    channels = ["R", "G", "B"]
    layers = [result.rgb]
    if item.image.alpha is not None:  # EXR colour is premultiplied by its alpha
        channels.append("A")
        layers = [result.rgb * np.clip(item.image.alpha, 0.0, 1.0), item.image.alpha]
    if job.write_masks:
        channels.append("mask.highlight")
        layers.append(result.highlight_mask[..., None])
        if item.matte is not None:
            channels.append("mask.matte")
            layers.append(item.matte[..., None])
    attributes = {
        # the plate's date, pixel aspect, frame rate and timecode; no clock time, so the
        # same pixels give the same bytes
        **carried_attributes(item.image.metadata),
        **frame_attributes(node, item.plate, item.frame, item.matte_path),
        "hdr_plugin:inputColorspace": result.input_colorspace,
    }
    if result.light_levels is not None:  # PQ / HLG: CTA-861.3 levels of this frame, cd/m²
        attributes["MaxCLL"] = round(result.light_levels[0], 1)
        attributes["MaxFALL"] = round(result.light_levels[1], 1)
    estimate = result.input_curve
    if estimate is not None:  # --input-colorspace auto: what it decided, and how sure
        attributes["hdr_plugin:inputCurve"] = estimate.name
        attributes["hdr_plugin:inputCurveToneMapped"] = round(estimate.tone_mapped, 4)
        attributes["hdr_plugin:inputCurveDistance"] = round(estimate.distance, 4)
    path = write_exr(
        item.target,
        layers[0] if len(layers) == 1 else np.concatenate(layers, axis=-1),
        channels,
        attributes,
        pixel_type=job.pixel_type,
        compression=job.compression,
        window=item.image.window,
    )
    timings["write"] += time.perf_counter() - start
    return path


def render_frame(
    node: ReconstructNode,
    plate: str,
    frame: int | None,
    target: str,
    *,
    matte_path: str | None = None,
    pixel_type: str = "half",
    compression: str = "zip",
    write_masks: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    timings: Counter[str] | None = None,
) -> Path:
    """Read, reconstruct and atomically write one frame.

    Raises:
        HdrPluginError: of the failing family, naming the plate file and frame.
    """
    timings = timings if timings is not None else Counter()
    job = RenderJob(plate, target, None, pixel_type, compression, write_masks, max_pixels)
    item = _read_frame(node, plate, frame, target, matte_path, timings, max_pixels)
    return _write_frame(node, _reconstruct(node, item), job, timings)


def render(
    job: RenderJob,
    node: ReconstructNode,
    *,
    progress: bool = True,
    on_frame: Callable[[int, Path], None] | None = None,
) -> RenderResult:
    """Render ``job`` with ``node`` in this process, reading and writing in the background.

    While frame N is reconstructed, frame N+1 is read and frame N-1 written on I/O threads
    (OIIO and OpenEXR release the GIL), so a frame costs about its slowest stage rather
    than the sum of all three. Frames are still written one at a time and in order.

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
    mattes = matte_files(node.settings.matte, plate) if node.settings.matte else None
    check_inputs(plate, mattes)
    check_outputs(job.output, outputs, plate, mattes)
    hold_shot_statistics(node, plate[len(plate) // 2], max_pixels=job.max_pixels)
    timings: Counter[str] = Counter()
    written: list[Path] = []
    bar = tqdm(
        total=len(plate),
        desc=os.path.basename(job.input),
        unit="frame",
        disable=not progress or len(plate) < 2,
    )

    def read(index: int) -> _Frame:
        item = plate[index]
        matte = mattes[index].path if mattes else None
        return _read_frame(
            node, item.path, item.frame, outputs[index], matte, timings, job.max_pixels
        )

    # One thread each keeps reads in order and writes in order.
    reader = ThreadPoolExecutor(1, "hdr-read")
    writer = ThreadPoolExecutor(1, "hdr-write")
    writing: Future[Path] | None = None

    def finish() -> None:
        nonlocal writing
        if writing is not None:
            done, writing = writing, None
            written.append(done.result())
            bar.update()
            if on_frame is not None:
                on_frame(len(written) - 1, written[-1])

    with bar, reader, writer, _cores_beside_io():
        try:
            reading = reader.submit(read, 0)
            for index in range(len(plate)):
                item = reading.result()
                if index + 1 < len(plate):
                    reading = reader.submit(read, index + 1)
                _reconstruct(node, item)
                finish()
                writing = writer.submit(_write_frame, node, item, job, timings)
            finish()
        except BaseException:
            # A frame still being written when another fails completes and counts.
            if writing is not None and writing.exception() is None:
                finish()
            raise
    timings.update(node.timings)
    return RenderResult(written, timings)


@contextmanager
def _cores_beside_io() -> Iterator[None]:
    """Torch and OCIO compute on one core fewer meanwhile: the reader and writer get it.

    Decoding plates and compressing EXRs run beside the frame's computation; thread teams
    on every core contend with them and spend CPU handing work over. On two cores, one
    thread each renders the same frames with about 10 % less CPU and no later (8 frames of
    1080p, default model). A thread count the user chose (``$OMP_NUM_THREADS``, as farm
    workers are given) stands; a model that does not use torch never imports it here.
    """
    if "OMP_NUM_THREADS" in os.environ:
        yield
        return
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else 0
    with limit_conversion_threads(conversion_threads() - 1):
        if torch is not None:
            torch.set_num_threads(max(1, before - 1))
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


def hold_shot_statistics(
    node: ReconstructNode, reference: FrameFile, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> None:
    """Hold whole-frame statistics (camera curve, model) at the shot's reference frame."""
    if node.holds_statistics:
        image = read_image(reference.path, frame=reference.frame, max_pixels=max_pixels)
        node.hold_statistics(image.straight_rgb, input_colorspace=image.colorspace)
