"""Registering learned models without importing torch.

Specs of the learned families are plain data; their factories import torch and the
architecture only when a model is built, so listing models or rendering with an analytic
operator stays light.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ModelError
from hdr_plugin.models._registry import Model, ModelSpec, Parameter, register_model

WEIGHTS_ENV = "HDR_PLUGIN_WEIGHTS"
BUNDLED_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"

#: Knobs every learned model has (they configure the wrapper, not the network).
NEURAL_PARAMETERS = (
    Parameter(
        "device",
        str,
        "auto",
        "where to run: auto (CUDA > MPS > CPU), cpu, cuda or mps",
        choices=("auto", "cpu", "cuda", "mps"),
    ),
    Parameter(
        "precision",
        str,
        "auto",
        "compute precision of convolutions: auto (bf16 on GPUs and on CPUs with native bf16 "
        "units, else float32), float32 (bit-exact reference) or bfloat16",
        choices=("auto", "float32", "bfloat16"),
    ),
    Parameter(
        "tile",
        int,
        512,
        "tile edge in pixels for frames above tile_budget pixels (raised to twice the overlap)",
        minimum=64,
        maximum=8192,
    ),
    Parameter(
        "tile_budget",
        int,
        0,
        "largest frame (pixels) run whole, larger ones in tiles; 0 = auto (2.1 MP on the "
        "CPU, free GPU memory / 2 kB per pixel on CUDA)",
        minimum=0,
        maximum=1_000_000_000,
    ),
)
_WRAPPER_OPTIONS = {p.name for p in NEURAL_PARAMETERS}

#: ``model name -> "module:Class"`` of every registered learned model's architecture.
ARCHITECTURES: dict[str, str] = {}
#: Learned models whose network maps whole images (run by ``TorchModel``, tiled, exported).
IMAGE_NETWORKS: list[str] = []


def weights_dir() -> Path:
    """Folder of ``<model>.safetensors`` files: ``$HDR_PLUGIN_WEIGHTS``, else the bundled one."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env) if env else BUNDLED_WEIGHTS


def weights_path(spec: ModelSpec) -> Path:
    """Where the weights of ``spec`` are looked for."""
    if spec.weights is None:
        raise ModelError(f"model {spec.name!r} has no weights file (it is analytic)")
    return weights_dir() / spec.weights


def has_weights(spec: ModelSpec) -> bool:
    """Whether a model can render: analytic, or its weights file exists."""
    return spec.weights is None or weights_path(spec).is_file()


def register_neural(spec: ModelSpec, architecture: str, output_space: str) -> None:
    """Register a learned model built from ``architecture`` (``"module:Class"``).

    Model options that are not wrapper options (e.g. ``mask_threshold``) are set as
    attributes of the built network. The network's output is in ``output_space``.
    """
    ARCHITECTURES[spec.name] = architecture
    IMAGE_NETWORKS.append(spec.name)

    @register_model(spec)
    def factory(color: ColorContext, **options: Any) -> Model:
        from hdr_plugin.models._torch import TorchModel, load_network

        module_name, class_name = architecture.split(":")
        build = getattr(importlib.import_module(module_name), class_name)
        net, digest = load_network(spec, build)
        for name in [n for n in options if n not in _WRAPPER_OPTIONS]:
            setattr(net, name, options.pop(name))
        return TorchModel(
            spec, color, net, weights_hash=digest, output_space=output_space, **options
        )
