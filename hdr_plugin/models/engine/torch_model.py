"""Machinery shared by the learned models: whole-frame statistics and the frame wrapper.

:class:`TorchModel` runs an ``nn.Module`` on NumPy frames through
:mod:`hdr_plugin.inference`.

Whole-frame statistics. Some layers look at the whole frame (squeeze-excite pooling,
instance normalisation, a CRF estimate, an edge-preserving base layer). When a frame is
processed in tiles, those statistics are computed once on a downscaled copy of the full
frame ("record"), then every tile reuses them ("replay"), so tiles agree with each other
and a shot does not flicker with the tiling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.color import WORKING_SPACE, ColorContext
from hdr_plugin.errors import ModelError
from hdr_plugin.inference import (
    Tile,
    inference_dtype,
    pad_to_multiple,
    run_tiled,
    select_device,
)
from hdr_plugin.models.engine.gate import LinearGate
from hdr_plugin.models.engine.registry import ModelSpec
from hdr_plugin.models.engine.weights import (
    WEIGHTS_ENV,
    apply_state_dict,
    check_state_dict,
    file_hash,
    load_state_dict,
    read_card,
    weights_path,
)


class FrameStatistic(nn.Module):
    """A layer whose output depends on a statistic of the whole frame.

    Subclasses implement :meth:`statistic` and call :meth:`frame_statistic` in
    ``forward``. Mode ``live`` computes from the input, ``record`` computes and stores,
    ``replay`` returns what was stored.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mode = "live"
        self._stored: Any = None

    def statistic(self, x: torch.Tensor) -> Any:
        raise NotImplementedError

    def frame_statistic(self, x: torch.Tensor) -> Any:
        if self.mode == "replay":
            if self._stored is None:
                raise ModelError(f"{type(self).__name__}: replay before record")
            return self._stored
        value = self.statistic(x)
        if self.mode == "record":
            self._stored = value
        return value


@contextmanager
def statistics_mode(net: nn.Module, mode: str) -> Iterator[None]:
    """Set every :class:`FrameStatistic` of ``net`` to ``mode`` for the block."""
    layers = [m for m in net.modules() if isinstance(m, FrameStatistic)]
    for layer in layers:
        layer.mode = mode
    try:
        yield
    finally:
        for layer in layers:
            layer.mode = "live"
            if mode == "replay":
                layer._stored = None


class GlobalInstanceNorm2d(FrameStatistic):
    """Instance normalisation (affine) whose mean/variance can come from the full frame.

    Args:
        channels: number of channels.
        eps: added to the variance.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def statistic(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        return mean, var

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, var = self.frame_statistic(x)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


def in_float32(module: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
    """Run ``module`` in float32 even under autocast.

    For the few layers whose output precision is the image's precision: a head producing
    log values (bf16 keeps 8 bits, a 3-6 % step at log values of 5-10) or a camera curve
    shared by every pixel.
    """
    with torch.autocast(inputs[0].device.type, enabled=False):
        return module(*(x.float() for x in inputs))


class HDRNetwork(nn.Module):
    """Base of every architecture: display-encoded (N, 3, H, W) in, HDR (N, 3, H, W) out.

    What the engine does with the output (gate, log gain, whole frame) is the model's
    :class:`~hdr_plugin.models.engine.registry.ModelSpec`; the network states only what
    depends on its configuration.

    Attributes:
        tile_multiple: H and W (and tile origins) must be multiples of this.
        receptive_field: context each output pixel needs, in pixels.
    """

    tile_multiple = 1
    receptive_field = 1

    def global_context(self, x: torch.Tensor) -> Any:
        """Whole-frame context (e.g. a CRF) from a downscaled full frame; ``None`` if none."""
        return None

    def forward(
        self, x: torch.Tensor, context: Any = None, window: Tile | None = None
    ) -> torch.Tensor:
        raise NotImplementedError


def load_network(spec: ModelSpec, build: Callable[..., HDRNetwork]) -> tuple[HDRNetwork, str]:
    """Build the network from the model card's ``architecture`` and load its weights.

    Raises:
        ModelError: no weights (the model refuses to render rather than render noise), a
            pickle, or weights of another shape (naming the layer).
    """
    path = weights_path(spec)
    if not path.is_file():
        raise ModelError(
            f"model {spec.name!r} has no trained weights ({path} is missing) and will not "
            f"render untrained noise; train it (hdr-plugin train) or point ${WEIGHTS_ENV} "
            "at a folder holding the weights"
        )
    card = read_card(path)
    architecture = card.get("architecture", {})
    state = load_state_dict(path)
    try:
        # Shapes first, on the meta device: a card asking for a huge width must fail on
        # its mismatch with the file, not by allocating the network.
        with torch.device("meta"):
            check_state_dict(build(**architecture), state, source=str(path))
        net = build(**architecture)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{path}: model card architecture does not fit {spec.name}: {exc}"
        ) from exc
    apply_state_dict(net, state, source=str(path))
    return net.eval(), file_hash(path)


#: Conservative activation memory per pixel of the default-size networks (measured peak
#: is 470-620 bytes per pixel in float32), used to size frames run without tiling.
_GPU_BYTES_PER_PIXEL = 2000
_CPU_TILE_BUDGET = 2_100_000


def _auto_tile_budget(device: torch.device) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return max(_CPU_TILE_BUDGET, free // _GPU_BYTES_PER_PIXEL)
    return _CPU_TILE_BUDGET


class TorchModel:
    """Run an :class:`HDRNetwork` on (H, W, 3) NumPy frames, whole or in tiles.

    Args:
        spec: registry spec (tile multiple, receptive field, global parts).
        color: OCIO context, to bring the network's output space to Rec.2020.
        net: the network, in eval mode.
        weights_hash: hash of the weights file, for provenance.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        precision: ``auto``, ``float32`` or ``bfloat16`` (see :func:`inference_dtype`).
        tile: tile edge for large frames, pixels.
        tile_budget: frames with more pixels than this run in tiles; 0 = auto.
        global_size: long side of the downscaled frame for whole-frame statistics.
    """

    def __init__(
        self,
        spec: ModelSpec,
        color: ColorContext,
        net: HDRNetwork,
        *,
        weights_hash: str | None,
        device: str = "auto",
        precision: str = "auto",
        tile: int = 512,
        tile_budget: int = 0,
        global_size: int = 1024,
    ) -> None:
        self.spec = spec
        self.weights_hash = weights_hash
        self._color = color
        self._output_space = spec.output_space or WORKING_SPACE
        self.device = select_device(None if device == "auto" else device)
        self.dtype = inference_dtype(self.device, precision)
        multiple = net.tile_multiple
        # Tiles at least twice the blending overlap, so that no more than half of each
        # tile is recomputed context.
        overlap = -(-(net.receptive_field + 2 * multiple) // multiple) * multiple
        self.tile = max(2 * overlap, tile // multiple * multiple)
        self.tile_budget = tile_budget or _auto_tile_budget(self.device)
        self.global_size = global_size
        # Weights stay float32; autocast runs convolutions in bf16/fp16 and keeps
        # reductions (normalisation, softmax, the output head's decode) in float32.
        self.net = net.to(self.device).to(memory_format=torch.channels_last)
        self.gate = LinearGate.for_spec(color, spec).to(self.device) if spec.gated else None
        self._held: tuple[Any, dict[FrameStatistic, Any]] | None = None
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # frames of a shot share one size

    def _downscaled(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        scale = min(1.0, self.global_size / max(height, width))
        small = F.interpolate(x, scale_factor=scale, mode="area") if scale < 1.0 else x
        return pad_to_multiple(small, self.net.tile_multiple)[0]

    @torch.inference_mode()
    def hold_statistics(self, image: np.ndarray) -> None:
        """Compute whole-frame statistics once, from ``image``, and reuse them for every frame.

        For a shot, pass a representative frame (the render loop uses the middle one):
        normalisation statistics, CRF estimates and base layers then stay fixed across
        the shot instead of following each frame, so the shot cannot flicker.

        Args:
            image: (H, W, 3) display-encoded frame in [0, 1].
        """
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)
        x = x[None].to(self.device).contiguous(memory_format=torch.channels_last)
        small = self._downscaled(pad_to_multiple(x, self.net.tile_multiple)[0])
        layers = [m for m in self.net.modules() if isinstance(m, FrameStatistic)]
        with self._autocast(), statistics_mode(self.net, "record"):
            context = self.net.global_context(small)
            self.net(small, context)
            stored = {layer: layer._stored for layer in layers}
        self._held = (context, stored)

    def release_statistics(self) -> None:
        """Go back to per-frame statistics."""
        self._held = None

    def _autocast(self):
        return torch.autocast(
            self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32
        )

    @torch.inference_mode()
    def run_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) display-encoded in [0, 1] -> (N, 3, H, W) float32 in the output space."""
        x = x.to(self.device, torch.float32).contiguous(memory_format=torch.channels_last)
        padded, (height, width) = pad_to_multiple(x, self.net.tile_multiple)
        with self._autocast():
            out = self._run_padded(padded)
        out = out[..., :height, :width].float()
        return out if self.gate is None else self.gate(x, out)

    def _run_padded(self, padded: torch.Tensor) -> torch.Tensor:
        whole = self.spec.whole_frame or padded.shape[-1] * padded.shape[-2] <= self.tile_budget
        if self._held is None:
            if whole:
                return self.net(padded)
            small = self._downscaled(padded)
            with statistics_mode(self.net, "record"):
                context = self.net.global_context(small)
                self.net(small, context)
            with statistics_mode(self.net, "replay"):
                return self._tiled(padded, context)
        if padded.shape[0] > 1:  # held statistics are one frame's: replay frame by frame
            return torch.cat([self._run_padded(padded[i : i + 1]) for i in range(padded.shape[0])])
        context, stored = self._held
        for layer, value in stored.items():
            layer._stored = value
        with statistics_mode(self.net, "replay"):
            return self.net(padded, context) if whole else self._tiled(padded, context)

    def _tiled(self, padded: torch.Tensor, context: Any) -> torch.Tensor:
        return run_tiled(
            lambda tile, window: self.net(tile, context, window),
            padded,
            tile=self.tile,
            receptive_field=self.net.receptive_field,
            multiple=self.net.tile_multiple,
        )

    def run_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Reconstruct frames of one size, as many per batch as the tile budget allows.

        Every statistic is per frame, so a frame's result does not depend on its batch.
        """
        if not images:
            return []
        height, width = images[0].shape[:2]
        if any(image.shape[:2] != (height, width) for image in images):
            raise ModelError("run_batch needs frames of one size")
        per_batch = max(1, self.tile_budget // (height * width))
        results: list[np.ndarray] = []
        for start in range(0, len(images), per_batch):
            chunk = np.stack(images[start : start + per_batch]).astype(np.float32)
            x = torch.from_numpy(chunk).permute(0, 3, 1, 2)
            out = self.run_tensor(x).permute(0, 2, 3, 1).cpu().numpy()
            results.extend(
                self._color.convert(np.ascontiguousarray(o), self._output_space, WORKING_SPACE)
                for o in out
            )
        return results

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) display-encoded in [0, 1] -> (H, W, 3) scene-linear Rec.2020."""
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)
        out = self.run_tensor(x[None])[0].permute(1, 2, 0).cpu().numpy()
        return self._color.convert(np.ascontiguousarray(out), self._output_space, WORKING_SPACE)
