"""Batches of shots: frame tasks, executors (serial, processes, Dask) and resume.

Each frame is one task: read plate (and matte), reconstruct, write the EXR atomically. A
task whose output already exists with the same provenance (model, weights hash, knobs,
input file and frame in its header) is skipped, which is how an interrupted batch
resumes. Executors run the same task function serially, in local processes, or on a Dask
cluster; a failed frame is retried once and then reported with its shot and frame.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

from tqdm import tqdm

from hdr_plugin.color import ColorContext, resolve_config_path
from hdr_plugin.errors import ConfigError, HdrPluginError, OutputError
from hdr_plugin.node import ReconstructNode, ReconstructSettings
from hdr_plugin.render import (
    check_inputs,
    check_outputs,
    frame_attributes,
    hold_shot_statistics,
    is_complete,
    matte_files,
    render_frame,
)
from hdr_plugin.sequence import FrameFile, expand_input, output_files, parse_frames
from hdr_plugin.shots import Shot


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
    max_pixels: int

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
    max_pixels: int | None = None,
) -> list[FrameTask]:
    """Expand shots into frame tasks, checking that every input exists.

    Args:
        shots: the shots to render.
        frames: only these frames (intersected with each shot's own range).
        chunk: ``I/N``: only the I-th of N contiguous chunks of each shot's frames (for
            render-farm tasks).
        ocio_config: OCIO config path the workers resolve (default: as :func:`resolve_config_path`).
        max_pixels: largest frame read, pixels (default: each shot's own).
    """
    config = resolve_config_path(ocio_config)
    wanted = set(parse_frames(frames)) if frames is not None else None
    tasks = []
    read_by: dict[str, tuple[str, str]] = {}  # real path -> (shot, file) of every input
    for shot in shots:
        try:
            plate = full = expand_input(shot.job.input, shot.job.frames)
            # every frame of the plate, not only this chunk's, is kept from other shots
            for item in full:
                read_by.setdefault(os.path.realpath(item.path), (shot.name, item.path))
            if wanted is not None:
                plate = [f for f in plate if f.frame in wanted]
            if chunk:
                index, count = _parse_chunk(chunk)
                size = -(-len(plate) // count)
                plate = plate[(index - 1) * size : index * size]
            if not plate:
                continue
            outputs = output_files(shot.job.output, plate)
            mattes = matte_files(shot.settings.matte, plate) if shot.settings.matte else None
            check_inputs(plate, mattes)
            check_outputs(shot.job.output, outputs, plate, mattes)
            for item in mattes or []:
                read_by.setdefault(os.path.realpath(item.path), (shot.name, item.path))
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
                    max_pixels=max_pixels or shot.job.max_pixels,
                )
            )
    _check_across_shots(tasks, read_by)
    return tasks


def _check_across_shots(tasks: list[FrameTask], read_by: dict[str, tuple[str, str]]) -> None:
    """No shot writes another shot's input, and no two shots write the same file.

    Paths compare by their real location (``out/{shot}/../x`` is ``out/x``).

    Raises:
        OutputError: naming both shots and the file.
    """
    written_by: dict[str, FrameTask] = {}
    for task in tasks:
        real = os.path.realpath(task.output)
        if real in read_by:
            shot, source = read_by[real]
            raise OutputError(
                f"shot {task.shot!r}: output {task.output} is the input {source} of shot "
                f"{shot!r}; rendering would overwrite it, so nothing was rendered"
            )
        other = written_by.setdefault(real, task)
        if other is not task:
            raise OutputError(
                f"shots {other.shot!r} and {task.shot!r} both write {task.output}; give each "
                "shot its own output (use {shot} in the pattern)"
            )


_NODES: dict[str, ReconstructNode] = {}


def _node_for(task: FrameTask) -> ReconstructNode:
    """This process's node for the task's knobs, statistics held at the shot's reference."""
    key = json.dumps([task.settings.to_dict(), task.ocio_config, task.reference], sort_keys=True)
    node = _NODES.get(key)
    if node is None:
        node = ReconstructNode(task.settings, ColorContext(task.ocio_config))
        hold_shot_statistics(node, FrameFile(None, task.reference), max_pixels=task.max_pixels)
        _NODES[key] = node
    return node


def run_task(task: FrameTask, force: bool = False) -> TaskResult:
    """Render one frame task (skipping it when its output is complete and matches).

    Never raises: failures come back in ``TaskResult.error`` as one line.
    """
    start = time.perf_counter()
    try:
        node = _node_for(task)
        expected = frame_attributes(node, task.plate, task.frame, task.matte)
        written_as = {
            "pixel_type": task.pixel_type,
            "compression": task.compression,
            "write_masks": task.write_masks,
        }
        if not force and is_complete(task.output, expected, **written_as):
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
            max_pixels=task.max_pixels,
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
                initializer=_start_worker,
                initargs=(threads, os.getpid()),
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


def _start_worker(threads: int, parent: int) -> None:
    """Initialise a local worker process: die with the batch, share the cores."""
    _die_with_parent(parent)
    _limit_threads(threads)


def _die_with_parent(parent: int) -> None:
    """End this worker when the batch process ``parent`` ends, even by ``kill -9``.

    Linux delivers SIGKILL to the worker when its parent dies (``PR_SET_PDEATHSIG``);
    elsewhere a watchdog thread notices that the parent changed. A worker whose batch
    died while it was still starting ends at once.
    """
    if os.getppid() != parent:
        os._exit(1)
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0 and os.getppid() == parent:
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="hdr-parent-watch", daemon=True).start()


_PR_SET_PDEATHSIG = 1


def _limit_threads(threads: int) -> None:
    """Share the cores between worker processes instead of oversubscribing them."""
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch when a model imports it
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def check_scheduler(address: str) -> None:
    """Refuse a Dask scheduler address that is not ``tcp://HOST:PORT`` (one line).

    Raises:
        ConfigError: naming what is wrong with the address.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls", "ucx") or not parts.hostname or port is None:
        raise ConfigError(
            f"--scheduler {address!r}: give the Dask scheduler as tcp://HOST:PORT "
            "(e.g. tcp://127.0.0.1:8786)"
        )


def _execute_dask(tasks, scheduler, local_cluster, force, done) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ConfigError("the Dask executor needs: pip install 'hdr-plugin[dask]'") from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})"
            ) from None
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
