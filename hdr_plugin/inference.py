"""Running torch models on frames: device, precision, padding and overlapping tiles.

Tiles overlap by at least the model's receptive field. Each tile's output is weighted by a
ramp that is exactly zero within half a receptive field of an inner tile edge (where the
tile lacked context) and rises linearly to one; across any overlap the two ramps sum to
one, so for a model without global parts the tiled result equals the whole-frame result
up to floating-point rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from hdr_plugin.errors import ModelError


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run torch's CPU ops on ``count`` threads (at least one) meanwhile, as before after."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, count))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def select_device(prefer: str | None = None) -> torch.device:
    """CUDA if present, else Apple MPS, else CPU; ``prefer`` (``cpu``/``cuda``) overrides.

    Raises:
        ModelError: ``prefer`` names a device this machine does not have.
    """
    if prefer:
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": getattr(torch.backends, "mps", None) is not None
            and torch.backends.mps.is_available(),
        }
        kind = prefer.split(":")[0]
        if not available.get(kind, False):
            raise ModelError(
                f"device={prefer} was asked for, but this machine has no {kind.upper()} device "
                "(or this torch build cannot use it); use device=auto or device=cpu"
            )
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX tiles).

    Not oneDNN's ``_is_mkldnn_bf16_supported``: that is true on any AVX512 CPU, where
    oneDNN emulates bf16 convolutions at about a third of fp32's speed.
    """
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without the probes: fp32 is never the slow choice
        return False


def inference_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """Compute dtype of convolutions under autocast (weights and reductions stay fp32).

    ``auto``: bf16 on GPUs that support it (fp16 on other GPUs and MPS), bf16 on CPUs with
    native bf16 units, fp32 elsewhere -- bf16 where it is fast, never where it is emulated.
    """
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Edge-pad an (N, C, H, W) tensor on the bottom/right to multiples of ``multiple``.

    Replicate padding, as the exported TorchScript module does, so that both give the same
    whole-frame statistics.

    Returns:
        The padded tensor and the original (H, W), for :func:`crop`.
    """
    height, width = x.shape[-2:]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x, (height, width)


@dataclass(frozen=True)
class Tile:
    """A tile's window: rows [y0, y1), columns [x0, x1) of a frame_height x frame_width frame."""

    y0: int
    y1: int
    x0: int
    x1: int
    frame_height: int
    frame_width: int


def _starts(length: int, tile: int, overlap: int, multiple: int) -> list[int]:
    if length <= tile:
        return [0]
    step = max(multiple, (tile - overlap) // multiple * multiple)
    starts = list(range(0, length - tile, step))
    last = (length - tile) // multiple * multiple
    if last > starts[-1]:
        starts.append(last)
    return starts


def tile_grid(height: int, width: int, tile: int, overlap: int, multiple: int = 1) -> list[Tile]:
    """Tiles of size ``tile`` covering the frame, origins on multiples of ``multiple``.

    The last tile in each direction is shifted back to end at the frame edge rounded down
    to ``multiple``; frames whose size is not a multiple must be padded first.
    """
    if tile % multiple or height % multiple or width % multiple:
        raise ValueError(f"tile {tile} and frame {width}x{height} must be multiples of {multiple}")
    if overlap >= tile:
        raise ValueError(f"overlap {overlap} must be smaller than the tile {tile}")
    return [
        Tile(y, min(y + tile, height), x, min(x + tile, width), height, width)
        for y in _starts(height, tile, overlap, multiple)
        for x in _starts(width, tile, overlap, multiple)
    ]


def _ramp(length: int, start_inner: bool, end_inner: bool, margin: int, ramp: int) -> torch.Tensor:
    position = torch.arange(length, dtype=torch.float32)
    weight = torch.ones(length)
    if start_inner:
        weight = torch.minimum(weight, ((position - margin + 1) / (ramp + 1)).clamp(0, 1))
    if end_inner:
        distance = length - 1 - position
        weight = torch.minimum(weight, ((distance - margin + 1) / (ramp + 1)).clamp(0, 1))
    return weight


def run_tiled(
    fn: Callable[[torch.Tensor, Tile], torch.Tensor],
    x: torch.Tensor,
    *,
    tile: int,
    receptive_field: int,
    multiple: int = 1,
) -> torch.Tensor:
    """Apply a fully convolutional ``fn`` to (N, C, H, W) ``x`` tile by tile.

    Args:
        fn: maps an (N, C, h, w) tile and its window to (N, C_out, h, w).
        x: input already padded to ``multiple``.
        tile: tile edge in pixels (a multiple of ``multiple``).
        receptive_field: context each output pixel depends on, in pixels.
        multiple: tiles start on multiples of this.

    Returns:
        (N, C_out, H, W) float32 on ``x``'s device.
    """
    height, width = x.shape[-2:]
    margin = receptive_field // 2
    overlap = -(-(2 * margin + 2 * multiple) // multiple) * multiple
    grid = tile_grid(height, width, tile, overlap, multiple)
    if len(grid) == 1:
        return fn(x, grid[0]).float()
    out = None
    total = torch.zeros(height, width, device=x.device)
    for t in grid:
        result = fn(x[..., t.y0 : t.y1, t.x0 : t.x1], t).float()
        ramp = max(overlap - 2 * margin - 1, 0)
        wy = _ramp(t.y1 - t.y0, t.y0 > 0, t.y1 < height, margin, ramp)
        wx = _ramp(t.x1 - t.x0, t.x0 > 0, t.x1 < width, margin, ramp)
        weight = (wy[:, None] * wx[None, :]).to(x.device)
        if out is None:
            out = torch.zeros(*result.shape[:2], height, width, device=x.device)
        out[..., t.y0 : t.y1, t.x0 : t.x1] += result * weight
        total[t.y0 : t.y1, t.x0 : t.x1] += weight
    return out / total
