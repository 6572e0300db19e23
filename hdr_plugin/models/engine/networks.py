"""Building learned models from their spec, without importing torch until then.

A learned model's :class:`~hdr_plugin.models.engine.registry.ModelSpec` names its
network (``architecture = "module:Class"``); :func:`architecture` imports that module only
when a model is built or trained, so listing models or rendering with an analytic operator
stays light. :func:`build_learned` is the registry factory of every image network.
"""

from __future__ import annotations

import importlib
from typing import Any

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ModelError
from hdr_plugin.models.engine.registry import Model, ModelSpec, Parameter, get_spec

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


def architecture(name: str) -> type:
    """The network class of learned model ``name`` (imports its module).

    Raises:
        ModelError: ``name`` has no architecture, or its spec names a missing class.
    """
    spec = get_spec(name)
    if not spec.architecture:
        raise ModelError(f"{name!r} is not a learned model")
    module, _, cls = spec.architecture.partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise ModelError(f"{name!r}: architecture {spec.architecture!r} not found: {exc}") from exc


def build_learned(spec: ModelSpec, color: ColorContext, **options: Any) -> Model:
    """Registry factory of an image network: weights and card -> :class:`TorchModel`.

    Model options that are not wrapper options (e.g. ``mask_threshold``) are set as
    attributes of the built network.
    """
    from hdr_plugin.models.engine.torch_model import TorchModel, load_network

    net, digest = load_network(spec, architecture(spec.name))
    for name in [n for n in options if n not in _WRAPPER_OPTIONS]:
        setattr(net, name, options.pop(name))
    return TorchModel(spec, color, net, weights_hash=digest, **options)
