"""Registering learned models without importing torch.

Specs of the learned families are plain data. A family's package registers its spec with
:func:`register_neural`; its ``arch`` module registers the architecture class with the
:func:`network` decorator, and is imported (with torch) only when a model is built or
trained, so listing models or rendering with an analytic operator stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ModelError
from hdr_plugin.models.engine.registry import Model, ModelSpec, Parameter, register_model

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

#: model name -> the package whose ``arch`` module defines its architecture (``train`` its trainer).
_PACKAGES: dict[str, str] = {}
#: model name -> architecture class, filled by :func:`network` when an ``arch`` module loads.
_ARCHITECTURES: dict[str, type] = {}
#: Models whose network is run by ``TorchModel`` (tiled where needed, exportable), and the
#: OCIO colourspace of each one's network output.
_NETWORK_MODELS: dict[str, str] = {}

T = TypeVar("T", bound=type)


def network(*names: str) -> Callable[[T], T]:
    """Class decorator: the architecture of the learned models ``names``."""

    def decorator(cls: T) -> T:
        for name in names:
            _ARCHITECTURES[name] = cls
        return cls

    return decorator


def register_package(name: str, package: str) -> None:
    """Say where the ``arch`` (and ``train``) modules of learned model ``name`` live."""
    _PACKAGES[name] = package


def learned_models() -> list[str]:
    """Names of everything with an architecture: learned models and the curve estimator."""
    return list(_PACKAGES)


def network_models() -> list[str]:
    """Learned models run by ``TorchModel`` on whole frames (these export to TorchScript)."""
    return list(_NETWORK_MODELS)


def output_space(name: str) -> str:
    """OCIO colourspace of the network output of learned model ``name``."""
    return _NETWORK_MODELS[name]


def package_of(name: str) -> str:
    """The package of learned model ``name``.

    Raises:
        ModelError: ``name`` has no architecture; the message lists those that do.
    """
    try:
        return _PACKAGES[name]
    except KeyError:
        known = ", ".join(_PACKAGES)
        raise ModelError(f"{name!r} is not a learned model; learned models: {known}") from None


def architecture(name: str) -> type:
    """The architecture class of learned model ``name`` (imports its ``arch`` module)."""
    module = f"{package_of(name)}.arch"
    importlib.import_module(module)
    if name not in _ARCHITECTURES:
        raise ModelError(f"{module} defines no @network({name!r}) architecture")
    return _ARCHITECTURES[name]


def register_neural(spec: ModelSpec, output_space: str, *, package: str) -> None:
    """Register a learned model whose network (``package.arch``) runs through ``TorchModel``.

    Model options that are not wrapper options (e.g. ``mask_threshold``) are set as
    attributes of the built network. The network's output is in ``output_space``.
    """
    register_package(spec.name, package)
    _NETWORK_MODELS[spec.name] = output_space

    @register_model(spec)
    def factory(color: ColorContext, **options: Any) -> Model:
        from hdr_plugin.models.engine.torch_model import TorchModel, load_network

        net, digest = load_network(spec, architecture(spec.name))
        for name in [n for n in options if n not in _WRAPPER_OPTIONS]:
            setattr(net, name, options.pop(name))
        return TorchModel(
            spec, color, net, weights_hash=digest, output_space=output_space, **options
        )
