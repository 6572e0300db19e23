"""One registry for every reconstruction model, analytic or learned.

Every model, analytic or learned, is one frozen :class:`ModelSpec` record that the CLI,
the panel, hosts, the render engine, export and training all read. An analytic model
registers it with its factory::

    @register_model(ModelSpec(name="inverse-reinhard", family="analytic", ...))
    def _make(spec, color, **options): ...

a learned one with the engine's factory, which builds ``spec.architecture`` from its model
card and weights (:func:`hdr_plugin.models.engine.networks.build_learned`)::

    register_model(ModelSpec(name="unet-native", kind="neural", architecture=..., ...),
                   build_learned)

Third-party packages add models through the ``hdr_plugin.models`` entry-point group:
each entry point names a module (or callable) that registers its models when loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from hdr_plugin.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from hdr_plugin.color import ColorContext

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "hdr_plugin.models"


@dataclass(frozen=True)
class Parameter:
    """A typed knob, described as data so that CLI, panel and hosts can build widgets.

    Args:
        name: identifier (snake_case), used as CLI ``--option name=value`` and knob name.
        type: ``float``, ``int``, ``bool`` or ``str``.
        default: value used when the knob is not set.
        description: one line, stating the unit.
        minimum: inclusive lower bound for numbers.
        maximum: inclusive upper bound for numbers.
        choices: allowed values for strings.
    """

    name: str
    type: type
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def coerce(self, value: Any, *, owner: str = "") -> Any:
        """Convert ``value`` (possibly a string from a command line) and check its range.

        Raises:
            ConfigError: naming the knob, the value and the allowed range.
        """
        where = f"{owner} option " if owner else "knob "
        try:
            if self.type is bool and isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                    raise ValueError(value)
                result = lowered in {"1", "true", "yes", "on"}
            else:
                result = self.type(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{where}{self.name}={value!r} is not a valid {self.type.__name__}"
            ) from None
        if isinstance(result, float) and not np.isfinite(result):
            raise ConfigError(f"{where}{self.name}={value!r} must be finite")
        too_low = self.minimum is not None and result < self.minimum
        too_high = self.maximum is not None and result > self.maximum
        if too_low or too_high:
            raise ConfigError(
                f"{where}{self.name}={result} is outside [{self.minimum}, {self.maximum}]"
            )
        if self.choices is not None and result not in self.choices:
            raise ConfigError(f"{where}{self.name}={result!r}; choose one of {self.choices}")
        return result


#: What a model is: a closed-form operator, an image network the render engine runs, or
#: an estimator that other models rely on (``auto``'s camera curve; not listed for rendering).
KINDS = ("analytic", "neural", "estimator")


@dataclass(frozen=True)
class ModelSpec:
    """Everything the rest of the system needs to know about a model, without building it.

    Args:
        name: registry name (``hdr-plugin render --model NAME``).
        family: module family (``analytic``, ``unet``, ``hybrid``, ``singlehdr``, ...); a
            learned family's trainer is ``hdr_plugin.train.<family>``.
        kind: one of :data:`KINDS`.
        description: one line for ``hdr-plugin models`` and the panel.
        input_encoding: OCIO colourspace the model reads (display-encoded Rec.709).
        weights: weights file name for learned models, ``None`` for analytic ones.
        architecture: ``"module:Class"`` of a learned model's network, imported (with
            torch) only when the model is built or trained.
        output_space: OCIO colourspace of the network's output (scene- or display-linear).
        gated: the engine blends the network's output over the exact linearisation of the
            plate (:class:`~hdr_plugin.models.engine.gate.LinearGate`): only clipped
            channels change, and only upwards.
        predicts: ``"hdr"`` (an HDR image) or ``"log_gain"`` (a log gain over the
            linearisation), for the gate.
        whole_frame: the network runs on the whole frame (a proxy of it), never in tiles.
        global_parts: part of the model needs statistics of the whole frame (held once
            per shot by render loops).
        licence: licence of the method or its weights.
        paper: citation of the published work.
        parameters: model-specific knobs.
    """

    name: str
    family: str
    kind: str
    description: str
    input_encoding: str
    weights: str | None = None
    architecture: str | None = None
    output_space: str | None = None
    gated: bool = False
    predicts: str = "hdr"
    whole_frame: bool = False
    global_parts: bool = False
    licence: str = ""
    paper: str = ""
    parameters: tuple[Parameter, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ModelError(f"model {self.name!r}: kind {self.kind!r}; one of {KINDS}")
        if self.predicts not in ("hdr", "log_gain"):
            raise ModelError(f"model {self.name!r}: predicts {self.predicts!r}; hdr or log_gain")
        if self.kind != "analytic" and not (self.architecture and self.weights):
            raise ModelError(f"learned model {self.name!r} needs an architecture and weights")

    def resolve_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Fill defaults and validate ``options`` against :attr:`parameters`.

        Raises:
            ConfigError: an unknown option (the message lists the known ones) or a bad
                value.
        """
        options = dict(options or {})
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(options) - set(known))
        if unknown:
            names = ", ".join(known) or "none"
            raise ConfigError(
                f"model {self.name!r} has no option {unknown[0]!r}; its options: {names}"
            )
        return {
            name: param.coerce(options.get(name, param.default), owner=self.name)
            for name, param in known.items()
        }


class Model(Protocol):
    """What a factory returns.

    ``model(image)`` takes (H, W, 3) float32 display-encoded values in the spec's
    ``input_encoding``, clipped to [0, 1], and returns (H, W, 3) float32 scene-linear
    Rec.2020 where SDR reference white is 1.0 (the node scales by ``white_level``).
    """

    spec: ModelSpec
    weights_hash: str | None

    def __call__(self, image: np.ndarray) -> np.ndarray: ...


Factory = Callable[..., Model]
_REGISTRY: dict[str, tuple[ModelSpec, Factory]] = {}
_entry_points_loaded = False


def register_model(spec: ModelSpec, factory: Factory | None = None) -> Any:
    """Register ``factory(spec, color: ColorContext, **options) -> Model`` under ``spec.name``.

    With ``factory`` given, registers it and returns it; without, returns a decorator
    (for analytic factories defined under their spec).

    Raises:
        ModelError: the name is already registered.
    """

    def decorator(factory: Factory) -> Factory:
        if spec.name in _REGISTRY:
            raise ModelError(f"model {spec.name!r} is registered twice")
        _REGISTRY[spec.name] = (spec, factory)
        return factory

    return decorator if factory is None else decorator(factory)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
            if callable(loaded):
                loaded()
        except Exception as exc:  # a broken plug-in must not break the built-in models
            log.warning("model plug-in %s failed to load: %s", entry.value, exc)


def list_models(*kinds: str) -> list[ModelSpec]:
    """Specs of the registered models of ``kinds`` (default: those that render), in order."""
    _load_entry_points()
    kinds = kinds or ("analytic", "neural")
    return [spec for spec, _ in _REGISTRY.values() if spec.kind in kinds]


def learned_models() -> list[str]:
    """Names of every model with an architecture (trainable): networks and estimators."""
    return [spec.name for spec in list_models("neural", "estimator")]


def network_models() -> list[str]:
    """Learned models the render engine runs on frames (these export to TorchScript)."""
    return [spec.name for spec in list_models("neural")]


def get_spec(name: str) -> ModelSpec:
    """Return the spec registered as ``name``.

    Raises:
        ModelError: unknown name; the message lists the registered ones.
    """
    _load_entry_points()
    try:
        return _REGISTRY[name][0]
    except KeyError:
        names = ", ".join(spec.name for spec in list_models())
        raise ModelError(f"unknown model {name!r}; registered models: {names}") from None


def create_model(name: str, color: ColorContext, options: Mapping[str, Any] | None = None) -> Model:
    """Build model ``name`` with validated ``options`` for the given OCIO context."""
    spec = get_spec(name)
    resolved = spec.resolve_options(options)
    return _REGISTRY[name][1](spec, color, **resolved)
