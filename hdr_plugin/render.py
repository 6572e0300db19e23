"""Frame loops: one plate (``render``) and whole shot lists (``plan`` + executors).

Every input frame is checked before the first one is processed, so a missing frame or an
unreadable output folder fails at once rather than half-way through a shot. Each frame
is one task: read plate (and matte), reconstruct, write the EXR atomically. A task whose
output already exists with the same provenance (model, weights hash, knobs, input file
and frame in its header) is skipped, which is how an interrupted batch resumes.

Executors run the same task function serially, in local processes, or on a Dask
cluster; a failed frame is retried once and then reported with its shot and frame.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from hdr_plugin.color import ColorContext, resolve_config_path
from hdr_plugin.errors import ConfigError, HdrPluginError, OutputError
from hdr_plugin.io import Image, read_image, write_exr
from hdr_plugin.masks import matte_from_pixels
from hdr_plugin.node import NodeOutput, ReconstructNode, ReconstructSettings
from hdr_plugin.sequence import FrameFile, expand_input, has_padding, output_files, parse_frames

if TYPE_CHECKING:
    from hdr_plugin.shots import Shot


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


@dataclass(frozen=True)
class FrameTask:
    """Everything one frame needs, picklable for process and Dask workers."""

    shot: str
    frame: int | None
    plate: str
    matte: str | None
    output: str
    settings: ReconstructSettings
    reference: str
    pixel_type: str
    compression: str
    write_masks: bool
    ocio_config: str

    @property
    def label(self) -> str:
        """``shot frame N`` for messages."""
        return f"{self.shot} frame {self.frame}" if self.frame is not None else self.shot


@dataclass
class TaskResult:
    """The outcome of one task."""

    task: FrameTask
    output: str | None = None
    skipped: bool = False
    seconds: float = 0.0
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


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


def _file_datetime(path: str) -> str:
    """The plate file's modification time as an EXR DateTime: outputs stay reproducible."""
    stamp = datetime.fromtimestamp(os.stat(path).st_mtime, tz=UTC)
    return stamp.strftime("%Y:%m:%d %H:%M:%S")


def frame_attributes(node: ReconstructNode, plate: str, frame: int | None) -> dict[str, Any]:
    """Header attributes of one output frame (provenance, chromaticities, source)."""
    attributes = {
        **node.provenance(),
        "DateTime": _file_datetime(plate),
        "hdr_plugin:inputFile": os.path.basename(plate),
    }
    if frame is not None:
        attributes["hdr_plugin:frame"] = frame
    return attributes


_MATCH_KEYS = (
    "hdr_plugin:model",
    "hdr_plugin:weightsHash",
    "hdr_plugin:knobs",
    "hdr_plugin:inputFile",
)


def is_complete(output: str, expected: dict[str, Any]) -> bool:
    """Whether ``output`` exists, opens, and has the provenance ``expected`` describes."""
    import OpenImageIO as oiio

    if not os.path.isfile(output) or os.path.getsize(output) == 0:
        return False
    image = oiio.ImageInput.open(output)
    if image is None:
        return False
    try:
        spec = image.spec()
        keys = [*_MATCH_KEYS, *(["hdr_plugin:frame"] if "hdr_plugin:frame" in expected else [])]
        return all(spec.getattribute(key) == expected[key] for key in keys)
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
) -> _Frame:
    start = time.perf_counter()
    image = read_image(plate, frame=frame)
    matte = None
    if matte_path is not None:
        matte_image = read_image(matte_path, frame=frame)
        matte = matte_from_pixels(
            matte_image.pixels,
            matte_image.channels,
            node.settings.matte_channel,
            source=matte_image.path,
        )
    timings["read"] += time.perf_counter() - start
    return _Frame(plate, frame, target, image, matte)


def _reconstruct(node: ReconstructNode, item: _Frame) -> _Frame:
    try:
        item.result = node.process_frame(
            item.image.rgb, item.matte, input_colorspace=item.image.colorspace
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
    if item.image.alpha is not None:
        channels.append("A")
        layers.append(item.image.alpha)
    if job.write_masks:
        channels.append("mask.highlight")
        layers.append(result.highlight_mask[..., None])
        if item.matte is not None:
            channels.append("mask.matte")
            layers.append(item.matte[..., None])
    attributes = {
        **frame_attributes(node, item.plate, item.frame),
        "hdr_plugin:inputColorspace": result.input_colorspace,
    }
    path = write_exr(
        item.target,
        np.concatenate(layers, axis=-1),
        channels,
        attributes,
        pixel_type=job.pixel_type,
        compression=job.compression,
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
    timings: Counter[str] | None = None,
) -> Path:
    """Read, reconstruct and atomically write one frame.

    Raises:
        HdrPluginError: of the failing family, naming the plate file and frame.
    """
    timings = timings if timings is not None else Counter()
    job = RenderJob(plate, target, None, pixel_type, compression, write_masks)
    item = _read_frame(node, plate, frame, target, matte_path, timings)
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
    _check_output_folder(outputs[0])
    mattes = _matte_files(node.settings.matte, plate) if node.settings.matte else None
    _hold_shot_statistics(node, plate[len(plate) // 2])
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
        return _read_frame(node, item.path, item.frame, outputs[index], matte, timings)

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

    with bar, reader, writer:
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


def _hold_shot_statistics(node: ReconstructNode, reference: FrameFile) -> None:
    """Hold whole-frame statistics (camera curve, model) at the shot's reference frame."""
    if node.holds_statistics:
        image = read_image(reference.path, frame=reference.frame)
        node.hold_statistics(image.rgb, input_colorspace=image.colorspace)


# --- batches of shots -------------------------------------------------------------------


def _parse_chunk(chunk: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in chunk.split("/"))
    except ValueError:
        raise ConfigError(f"--chunk {chunk!r} must look like I/N, e.g. 2/10") from None
    if not 1 <= index <= count:
        raise ConfigError(f"--chunk {chunk!r}: I must be between 1 and N")
    return index, count


def plan(
    shots: Iterable[Shot],
    *,
    frames: str | None = None,
    chunk: str | None = None,
    ocio_config: str | None = None,
) -> list[FrameTask]:
    """Expand shots into frame tasks, checking that every input exists.

    Args:
        shots: the shots to render.
        frames: only these frames (intersected with each shot's own range).
        chunk: ``I/N``: only the I-th of N contiguous chunks of each shot's frames (for
            render-farm tasks).
        ocio_config: OCIO config path the workers resolve (default: as :func:`resolve_config_path`).
    """
    config = resolve_config_path(ocio_config)
    wanted = set(parse_frames(frames)) if frames else None
    tasks = []
    for shot in shots:
        try:
            plate = full = expand_input(shot.job.input, shot.job.frames)
            if wanted is not None:
                plate = [f for f in plate if f.frame in wanted]
            if chunk:
                index, count = _parse_chunk(chunk)
                size = -(-len(plate) // count)
                plate = plate[(index - 1) * size : index * size]
            if not plate:
                continue
            outputs = output_files(shot.job.output, plate)
            _check_output_folder(outputs[0])
            mattes = _matte_files(shot.settings.matte, plate) if shot.settings.matte else None
        except HdrPluginError as exc:
            raise type(exc)(f"shot {shot.name!r}: {exc}") from exc
        for index, (item, target) in enumerate(zip(plate, outputs, strict=True)):
            tasks.append(
                FrameTask(
                    shot=shot.name,
                    frame=item.frame,
                    plate=item.path,
                    matte=mattes[index].path if mattes else None,
                    output=target,
                    settings=shot.settings,
                    reference=full[len(full) // 2].path,
                    pixel_type=shot.job.pixel_type,
                    compression=shot.job.compression,
                    write_masks=shot.job.write_masks,
                    ocio_config=config,
                )
            )
    return tasks


_NODES: dict[str, ReconstructNode] = {}


def _node_for(task: FrameTask) -> ReconstructNode:
    """This process's node for the task's knobs, statistics held at the shot's reference."""
    key = json.dumps([task.settings.to_dict(), task.ocio_config, task.reference], sort_keys=True)
    node = _NODES.get(key)
    if node is None:
        node = ReconstructNode(task.settings, ColorContext(task.ocio_config))
        _hold_shot_statistics(node, FrameFile(None, task.reference))
        _NODES[key] = node
    return node


def run_task(task: FrameTask, force: bool = False) -> TaskResult:
    """Render one frame task (skipping it when its output is complete and matches).

    Never raises: failures come back in ``TaskResult.error`` as one line.
    """
    start = time.perf_counter()
    try:
        node = _node_for(task)
        expected = frame_attributes(node, task.plate, task.frame)
        if not force and is_complete(task.output, expected):
            return TaskResult(task, task.output, skipped=True)
        timings: Counter[str] = Counter()
        before = Counter(node.timings)
        path = render_frame(
            node,
            task.plate,
            task.frame,
            task.output,
            matte_path=task.matte,
            pixel_type=task.pixel_type,
            compression=task.compression,
            write_masks=task.write_masks,
            timings=timings,
        )
        timings.update(node.timings - before)
        return TaskResult(
            task, str(path), seconds=time.perf_counter() - start, timings=dict(timings)
        )
    except Exception as exc:  # reported per frame, never dropped
        message = " ".join(str(exc).split()) or type(exc).__name__
        return TaskResult(
            task, error=f"{task.label}: {message}", seconds=time.perf_counter() - start
        )


def _run_with_retry(task: FrameTask, force: bool = False) -> TaskResult:
    result = run_task(task, force)
    if result.error is not None:
        result = run_task(task, force)
    return result


def execute(
    tasks: list[FrameTask],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    local_cluster: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[TaskResult]:
    """Run tasks serially, in ``workers`` local processes, or on Dask; results in task order.

    Args:
        tasks: from :func:`plan`.
        workers: local processes (1 = this process).
        scheduler: address of a Dask scheduler (``tcp://host:8786``).
        local_cluster: start a Dask LocalCluster with this many worker processes.
        force: re-render outputs that are already complete.
        progress: progress bars per shot on stderr.
    """
    bars: dict[str, tqdm] = {}
    totals = Counter(task.shot for task in tasks)
    for shot, total in totals.items():
        bars[shot] = tqdm(total=total, desc=shot, unit="frame", disable=not progress, leave=True)
    results: dict[int, TaskResult] = {}

    def done(index: int, result: TaskResult) -> None:
        results[index] = result
        bars[result.task.shot].update()

    try:
        if scheduler or local_cluster:
            _execute_dask(tasks, scheduler, local_cluster, force, done)
        elif workers > 1:
            # spawn, not fork: forking a process that holds OIIO/OCIO/torch threads can hang.
            spawn = multiprocessing.get_context("spawn")
            threads = max(1, (os.cpu_count() or 1) // workers)
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=spawn,
                initializer=_limit_threads,
                initargs=(threads,),
            ) as pool:
                futures = {pool.submit(_run_with_retry, t, force): i for i, t in enumerate(tasks)}
                for future in as_completed(futures):
                    done(futures[future], future.result())
        else:
            for index, task in enumerate(tasks):
                done(index, _run_with_retry(task, force))
    finally:
        for bar in bars.values():
            bar.close()
    return [results[i] for i in range(len(tasks))]


def _limit_threads(threads: int) -> None:
    """Share the cores between worker processes instead of oversubscribing them."""
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch when a model imports it
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _execute_dask(tasks, scheduler, local_cluster, force, done) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ConfigError("the Dask executor needs: pip install 'hdr-plugin[dask]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=local_cluster, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
        client.run(_limit_threads, max(1, (os.cpu_count() or 1) // local_cluster))
    try:
        futures = client.map(run_task, tasks, force=[force] * len(tasks), pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures):
            result = future.result()
            if result.error is not None:  # run_task reports instead of raising: retry here
                result = client.submit(
                    run_task, tasks[index[future.key]], force, pure=False
                ).result()
            done(index[future.key], result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
