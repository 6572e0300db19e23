"""ReconstructNode: the one entry point that the CLI, the panel and host adapters call.

The node owns no files: hosts hand it pixels and get pixels back. Its settings are a
frozen dataclass; :func:`node_parameters` describes the knobs as data so that each host
can build its own widgets.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
import typing
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hdr_plugin import __version__
from hdr_plugin.color import (
    DEFAULT_INPUT_SPACE,
    DEFAULT_OUTPUT_SPACE,
    LINEAR_REC709,
    WORKING_SPACE,
    ColorContext,
    light_levels,
)
from hdr_plugin.constants import CLIP_CODE
from hdr_plugin.errors import ConfigError, ModelError
from hdr_plugin.io import unpremultiply
from hdr_plugin.masks import DEFAULT_THRESHOLD, MATTE_CHANNELS, highlight_mask, mix
from hdr_plugin.models import (
    DEFAULT_MODEL,
    WEIGHTS_ENV,
    Parameter,
    create_model,
    get_spec,
    has_weights,
    list_models,
    weights_path,
)

if TYPE_CHECKING:
    from hdr_plugin.models.camera_curve import CurveEstimate


#: ``input_colorspace`` value that estimates the camera curve of a plate nobody can name.
AUTO = "auto"
#: The registered estimator behind :data:`AUTO`.
CURVE_ESTIMATOR = "camera-curve"


def knob(
    default: Any,
    description: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | str | None = None,
) -> Any:
    """A settings field that is also a knob: its one declaration (see :func:`node_parameters`).

    ``choices`` is a tuple, or where the choices come from: ``"models"`` (the registry),
    ``"colorspaces"`` (the OCIO config), ``"input colorspaces"`` (the config and :data:`AUTO`),
    ``"views"`` (the config's ``DISPLAY/VIEW`` pairs).
    """
    limits = {"description": description, "minimum": minimum, "maximum": maximum}
    return field(default=default, metadata={"knob": {**limits, "choices": choices}})


@dataclass(frozen=True)
class ReconstructSettings:
    """Every knob of a reconstruction, each declared once (with its description and range).

    Attributes:
        model: registry name of the model.
        input_colorspace: OCIO colourspace of the plate; ``None`` means the file's
            ``oiio:ColorSpace`` tag, else sRGB-encoded Rec.709; :data:`AUTO` estimates
            the plate's camera curve (:mod:`hdr_plugin.models.camera_curve`).
        input_view: ``"DISPLAY/VIEW"`` of the OCIO config the plate was rendered through;
            set, the plate is decoded by OCIO's inverse of that view to scene-linear, and
            the model's gain over the plain linearisation lifts the channels at the
            view's white.
        input_lut: a LUT file the plate went through instead (a show that hands over a
            LUT, not a config): decoded by OCIO's inverse of it, as a view is. The LUT
            reads ``input_colorspace`` (default: the config's ``color_timing`` role).
        output_colorspace: OCIO colourspace written (default Linear Rec.2020).
        white_level: scene-linear value of SDR reference white in the output (1.0 <->
            203 cd/m² per ITU-R BT.2408).
        mask_threshold: τ of the highlight mask, display-encoded code value in [0, 1).
        mix: 0 = plain linearisation, 1 = full reconstruction.
        matte: file or sequence whose channel limits where the reconstruction applies.
        matte_channel: ``A``, ``R``, ``G``, ``B`` or ``Y``.
        matte_invert: use 1 - matte (reconstruct outside the matte).
        model_options: model-specific knobs (see ``hdr-plugin models``).
    """

    model: str = knob(
        DEFAULT_MODEL, "reconstruction model (see `hdr-plugin models`)", choices="models"
    )
    input_colorspace: str | None = knob(
        None,
        "OCIO colourspace of the plate (default: the file's tag, else sRGB); "
        f"{AUTO} estimates the camera curve of a plate whose curve has no name",
        choices="input colorspaces",
    )
    input_view: str | None = knob(
        None,
        "OCIO DISPLAY/VIEW the plate was rendered through (a show's view transform): "
        "decoded by the inverse view, reconstructed above the view's white",
        choices="views",
    )
    input_lut: str | None = knob(
        None,
        "LUT file the plate went through (.cube, .spi3d, .3dl, .csp: a show's LUT): decoded "
        "by OCIO's inverse of it, reconstructed above its white; the LUT reads the input "
        "colorspace, else the config's color_timing role",
    )
    output_colorspace: str = knob(
        DEFAULT_OUTPUT_SPACE, "OCIO colourspace written", choices="colorspaces"
    )
    white_level: float = knob(
        1.0,
        "output value of SDR reference white (1.0 = 203 cd/m², ITU-R BT.2408)",
        minimum=0.01,
        maximum=100.0,
    )
    mask_threshold: float = knob(
        DEFAULT_THRESHOLD,
        "code value where the highlight mask starts, [0, 1)",
        minimum=0.0,
        maximum=0.999,
    )
    mix: float = knob(1.0, "0 = plain linearisation, 1 = full model", minimum=0.0, maximum=1.0)
    matte: str | None = knob(None, "matte file or sequence limiting where the model applies")
    matte_channel: str = knob("A", "matte channel used as mask", choices=MATTE_CHANNELS)
    matte_invert: bool = knob(False, "reconstruct outside the matte instead")
    model_options: dict[str, Any] = field(default_factory=dict)

    def validate(self, color: ColorContext) -> dict[str, Any]:
        """Check every knob without building the model (no weights read, no torch).

        Returns:
            The model's options, validated and with defaults filled.

        Raises:
            ModelError: unknown model, or a learned one (or ``auto``'s estimator) without
                weights.
            ColorError: a colourspace the OCIO config does not know.
            ConfigError: a value out of range or of the wrong type, naming the knob.
        """
        spec = get_spec(self.model)
        if spec.kind == "estimator":
            raise ConfigError(f"model {self.model!r} is an estimator, not a reconstruction model")
        options = dict(self.model_options)
        if any(p.name == "mask_threshold" for p in spec.parameters):
            # Models that blend by the highlight mask share the node's threshold knob.
            options.setdefault("mask_threshold", self.mask_threshold)
        for param in node_parameters(color):
            value = getattr(self, param.name)
            if param.name.endswith("colorspace"):
                if value is not None and not (param.name == "input_colorspace" and value == AUTO):
                    color.canonical(value, knob=param.name.replace("_", " "))
            elif param.name == "input_view":
                if value is not None:
                    color.display_encoding(value)
            elif param.name != "model" and value is not None:
                param.coerce(value)
        if self.input_view is not None and self.input_colorspace is not None:
            raise ConfigError(
                f"input view {self.input_view!r} and input colorspace "
                f"{self.input_colorspace!r}: the view says how the plate is encoded; give one"
            )
        if self.input_lut is not None:
            if self.input_view is not None or self.input_colorspace == AUTO:
                raise ConfigError(
                    f"input LUT {self.input_lut!r} with "
                    + (f"input view {self.input_view!r}" if self.input_view else "auto")
                    + ": the LUT says how the plate is encoded; give one"
                )
            # Builds the inverse now, so that a missing or unreadable LUT fails here.
            source = color.lut_source(self.input_colorspace)
            color.convert_lut(np.zeros((1, 3), np.float32), WORKING_SPACE, self.input_lut, source)
        resolved = spec.resolve_options(options)
        if not has_weights(spec):
            raise ModelError(
                f"model {spec.name!r} has no trained weights ({weights_path(spec)} is missing) "
                f"and will not render; train it or point ${WEIGHTS_ENV} at its weights"
            )
        if self.input_colorspace == AUTO:
            require_curve_estimator()
        return resolved

    def replace(self, **changes: Any) -> ReconstructSettings:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable knob values (for EXR provenance and shot configs)."""
        return dataclasses.asdict(self)


def node_parameters(color: ColorContext | None = None) -> tuple[Parameter, ...]:
    """The knobs of :class:`ReconstructSettings` as data, for the CLI, the panel and hosts.

    Args:
        color: fills the colourspace knobs' choices from its config, and gives their
            defaults by the config's names (without one, as for command-line parsing before
            ``--ocio`` is known, they are free text checked by
            :meth:`ReconstructSettings.validate`, and defaults are interop IDs).
    """
    spaces = tuple(color.colorspaces()) if color is not None else None
    dynamic = {
        "models": tuple(spec.name for spec in list_models()),
        "colorspaces": spaces,
        "input colorspaces": (*spaces, AUTO) if spaces else None,
        "views": color.views() if color is not None else None,
    }
    types = typing.get_type_hints(ReconstructSettings)
    parameters = []
    for f in dataclasses.fields(ReconstructSettings):
        if "knob" not in f.metadata:
            continue
        declared = dict(f.metadata["knob"])
        choices = declared.pop("choices")
        kind = next(
            t for t in typing.get_args(types[f.name]) or (types[f.name],) if t is not type(None)
        )
        default = f.default
        if color is not None and choices == "colorspaces":
            default = color.canonical(default)  # the config's own name, as in its menu
        parameters.append(
            Parameter(
                f.name,
                kind,
                default,
                choices=dynamic[choices] if isinstance(choices, str) else choices,
                **declared,
            )
        )
    return tuple(parameters)


def parse_options(text: str | tuple[str, ...] | list[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs (a sequence, or one comma-separated string) as model options.

    Values stay strings; the model's :class:`Parameter` converts and checks them.

    Raises:
        ConfigError: a pair without ``=`` or without a name.
    """
    pairs = [p for p in text.split(",") if p.strip()] if isinstance(text, str) else list(text)
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"model option {pair!r} must look like NAME=VALUE (e.g. peak_nits=1000)"
            )
        options[key.strip()] = value.strip()
    return options


@dataclass
class NodeOutput:
    """What one call of :meth:`ReconstructNode.process_frame` produces.

    Attributes:
        rgb: (H, W, 3) float32 in the output colourspace.
        highlight_mask: (H, W) float32 soft highlight mask of the plate (computed when
            first read: a render that writes no masks never pays for it).
        input_colorspace: colourspace the plate was decoded from (for ``auto``, the one
            it is displayed in).
        light_levels: for a PQ or HLG output, the frame's (MaxCLL, FALL) in cd/m²
            (:func:`~hdr_plugin.color.light_levels`).
        input_curve: for ``auto``, what the estimate decided (the display encoding OCIO
            decoded, or the estimated inverse curve, with its confidence); else ``None``.
    """

    rgb: np.ndarray
    mask_of: Callable[[], np.ndarray] = field(repr=False)
    input_colorspace: str
    input_curve: CurveEstimate | None = None
    light_levels: tuple[float, float] | None = None

    @functools.cached_property
    def highlight_mask(self) -> np.ndarray:
        return self.mask_of()


class ReconstructNode:
    """SDR plate -> scene-linear HDR (the data path of ``docs/architecture.md``).

    Building a node validates every knob (colourspaces, model and its options, ranges)
    so that a render fails before its first frame, not in the middle.

    Args:
        settings: the knobs.
        color: OCIO context; defaults to :meth:`ColorContext.resolve`.
    """

    def __init__(
        self, settings: ReconstructSettings | None = None, color: ColorContext | None = None
    ) -> None:
        self.settings = settings or ReconstructSettings()
        self.color = color or ColorContext.resolve()
        s = self.settings
        self.model_options = s.validate(self.color)
        self.spec = get_spec(s.model)
        self.model = create_model(s.model, self.color, self.model_options)
        self._linear = self.model if s.model == "linear" else create_model("linear", self.color)
        self.output_colorspace = self.color.canonical(s.output_colorspace)
        #: PQ and HLG place scene-linear 1.0 at 203 cd/m² (:meth:`ColorContext.display_scale`)
        self._display_scale = self.color.display_scale(self.output_colorspace)
        self._curves = load_curve_estimator(self.color) if s.input_colorspace == AUTO else None
        self._held_curve: CurveEstimate | None = None
        #: Display-linear Rec.709 of the input view's (LUT's) white, once computed.
        self._white: np.ndarray | None = None
        #: Seconds spent per stage since the node was built (``colour``, ``model``).
        self.timings: Counter[str] = Counter()

    @property
    def holds_statistics(self) -> bool:
        """Whether render loops should call :meth:`hold_statistics` once per shot."""
        return self.spec.global_parts or self._curves is not None

    def resolve_input_colorspace(self, tag: str | None = None, *, source: str = "") -> str:
        """The plate's colourspace: the knob, else the file's tag, else sRGB Rec.709.

        Under ``auto`` this is the colourspace the plate is shown in (sRGB); under an input
        view, the display's encoding (what the models see; the inverse view decodes).
        """
        if self.settings.input_colorspace == AUTO:
            return self.color.canonical(DEFAULT_INPUT_SPACE)
        if self.settings.input_view is not None:
            return self.color.canonical(self.color.display_encoding(self.settings.input_view))
        if self.settings.input_lut is not None:  # a LUT names no display: read as sRGB
            return self.color.canonical(DEFAULT_INPUT_SPACE)
        if self.settings.input_colorspace:
            return self.color.canonical(self.settings.input_colorspace, knob="input colorspace")
        if tag:
            return self.color.canonical(
                tag,
                knob="colourspace tag (oiio:ColorSpace)",
                source=f"{source}; set --input-colorspace to override" if source else "",
            )
        return self.color.canonical(DEFAULT_INPUT_SPACE)

    def process_frame(
        self,
        rgb: np.ndarray,
        matte: np.ndarray | None = None,
        *,
        input_colorspace: str | None = None,
    ) -> NodeOutput:
        """Reconstruct one frame.

        Args:
            rgb: (H, W, 3) float32 plate in ``input_colorspace``.
            matte: optional (H, W) weights in [0, 1] limiting where the model applies.
            input_colorspace: colourspace of ``rgb`` when the settings name none.

        Returns:
            The output frame, its highlight mask and the input colourspace used.
        """
        if rgb.ndim != 3 or rgb.shape[-1] != 3:
            raise ConfigError(f"expected an (H, W, 3) plate, got shape {rgb.shape}")
        s = self.settings
        source_space = self.resolve_input_colorspace(input_colorspace)

        start = time.perf_counter()
        estimate = None if self._curves is None else self._curve_of(rgb)
        plain = self._inverse_rendering(rgb)
        decode = self._model_decoder(rgb, source_space, estimate, plain)
        encoded = decode(self.spec.input_encoding)
        threshold = s.mask_threshold
        mask_of = lambda: highlight_mask(decode(DEFAULT_INPUT_SPACE), threshold)  # noqa: E731
        colour_time = time.perf_counter() - start

        start = time.perf_counter()
        result = self.model(encoded)
        self.timings["model"] += time.perf_counter() - start
        if _is_grey(rgb):  # a greyscale plate stays neutral: the channels' mean gain
            result = np.repeat(result.mean(axis=-1, keepdims=True), 3, axis=-1)
        if not np.isfinite(result).all():
            bad = int(np.count_nonzero(~np.isfinite(result)))
            raise ModelError(
                f"model {self.spec.name!r} produced {bad} non-finite value(s) (NaN or "
                "infinity); nothing was written"
            )

        start = time.perf_counter()
        if plain is not None:
            # Below the view's (LUT's) white the inverse is exact; above it, the channels
            # get the model's gain over the plain decode of the values it saw (the inverse
            # view relative to its white, as a linear plate clipped at 1.0).
            if self.model is not self._linear:
                linear = self._linear(decode(self._linear.spec.input_encoding))
                gain = np.divide(result, linear, out=np.ones_like(result), where=linear > 1e-6)
                # Only pixels at the view's white are lifted (a saturated colour below it can
                # leave Rec.709 when inverted), only lifted (a ratio a hair under 1 is the
                # conversions' rounding), and a negative (out-of-gamut) value stays.
                at_white = (_code_values(rgb) >= np.float32(CLIP_CODE)).any(axis=-1)
                lift = at_white[..., None] & (plain > 0.0)
                result = np.where(lift, plain * np.maximum(gain, 1.0), plain)
            else:
                result = plain
        if matte is not None and s.matte_invert:
            matte = 1.0 - matte
        if self.model is not self._linear and (s.mix < 1.0 or matte is not None):
            if plain is None:
                plain = self._linear(decode(self._linear.spec.input_encoding))
            result = mix(plain, result, s.mix, matte)
        if s.white_level != 1.0:
            result = result * np.float32(s.white_level)
        levels = None
        if self._display_scale != 1.0:
            levels = light_levels(result)
            result = result * np.float32(self._display_scale)
        out = self.color.convert(result, WORKING_SPACE, self.output_colorspace)
        self.timings["colour"] += colour_time + time.perf_counter() - start
        return NodeOutput(out, mask_of, source_space, estimate, levels)

    def _inverse_rendering(self, rgb: np.ndarray) -> np.ndarray | None:
        """The plate through the inverse of its input view or LUT (scene-linear), or ``None``."""
        s = self.settings
        if s.input_view is not None:
            return self.color.convert_view(
                _code_values(rgb), WORKING_SPACE, s.input_view, inverse=True
            )
        if s.input_lut is not None:
            source = self.color.lut_source(s.input_colorspace)
            return self.color.convert_lut(
                _code_values(rgb), WORKING_SPACE, s.input_lut, source, inverse=True
            )
        return None

    def _model_decoder(
        self,
        rgb: np.ndarray,
        source_space: str,
        estimate: CurveEstimate | None,
        plain: np.ndarray | None,
    ) -> Callable[[str], np.ndarray]:
        """What the models read, as :meth:`_decoder` hands it out.

        The plate; or, under an input view (LUT), its inverse (``plain``, from
        :meth:`_inverse_rendering`) relative to the view's white.
        """
        if plain is not None:
            return self._decoder(self._below_white(plain), LINEAR_REC709)
        return self._decoder(rgb, source_space, estimate)

    def _below_white(self, plain: np.ndarray) -> np.ndarray:
        """The inverse-rendered plate as display-linear Rec.709 relative to the view's white.

        What the models were trained on: linear light clipped at 1.0, the white the view
        (or LUT) maps to its brightest code.
        """
        if self._white is None:
            white = self._inverse_rendering(np.ones((1, 1, 3), np.float32))
            self._white = np.maximum(self.color.convert(white, WORKING_SPACE, LINEAR_REC709), 1e-6)
        linear = self.color.convert(plain, WORKING_SPACE, LINEAR_REC709)
        return _code_values(linear / self._white)

    def _curve_of(self, rgb: np.ndarray) -> CurveEstimate:
        """The ``auto`` estimate for a frame: the shot's held one, else the frame's own."""
        return self._held_curve or self._curves.estimate(_code_values(rgb))

    def _decoder(
        self, rgb: np.ndarray, source_space: str, estimate: CurveEstimate | None = None
    ) -> Callable[[str], np.ndarray]:
        """``decode(encoding)``: the plate in a model's input encoding, clipped to [0, 1].

        NaN pixels become black, +Inf peak. A tone-mapped ``auto`` estimate decodes the
        code values to display-linear Rec.709 first; a display one names the OCIO
        colourspace; everything else is OCIO from ``source_space``.
        """
        if estimate is not None and estimate.inverse is not None:
            rgb, source_space = estimate.linearise(_code_values(rgb)), LINEAR_REC709
        elif estimate is not None:  # a display encoding: OCIO decodes it exactly
            source_space = self.color.canonical(estimate.name)
        cache: dict[str, np.ndarray] = {}

        def decode(encoding: str) -> np.ndarray:
            if encoding not in cache:
                cache[encoding] = _code_values(self.color.convert(rgb, source_space, encoding))
            return cache[encoding]

        return decode

    def hold_statistics(self, rgb: np.ndarray, *, input_colorspace: str | None = None) -> bool:
        """Fix the whole-frame statistics to those of ``rgb`` for every later frame.

        The ``auto`` camera-curve estimate and models with whole-frame parts (instance
        normalisation, CRF estimate, base layer) would otherwise re-estimate them on each
        frame; render loops call this once per shot, with the middle frame, so that a
        shot cannot flicker. Returns whether anything was held.
        """
        held = False
        if self._curves is not None:
            self._held_curve = self._curves.estimate(_code_values(rgb))
            held = True
        hold = getattr(self.model, "hold_statistics", None)
        if hold is not None and self.spec.global_parts:
            source_space = self.resolve_input_colorspace(input_colorspace)
            plain = self._inverse_rendering(rgb)
            decode = self._model_decoder(rgb, source_space, self._held_curve, plain)
            hold(decode(self.spec.input_encoding))
            held = True
        return held

    def process(self, image: np.ndarray, matte: np.ndarray | None = None) -> np.ndarray:
        """Reconstruct an (H, W, 3) or premultiplied (H, W, 4) image.

        RGBA: the colour is unpremultiplied before decoding (premultiplied code values are
        not code values of the plate's curve), reconstructed, and premultiplied again;
        alpha passes through untouched.
        """
        if image.ndim != 3 or image.shape[-1] not in (3, 4):
            raise ConfigError(f"expected an (H, W, 3|4) image, got shape {image.shape}")
        if image.shape[-1] == 3:
            return self.process_frame(image, matte).rgb
        alpha = image[..., 3:4].astype(np.float32)
        out = self.process_frame(unpremultiply(image[..., :3], alpha), matte).rgb
        return np.concatenate([out * np.clip(alpha, 0.0, 1.0), alpha], axis=-1)

    def provenance(self) -> dict[str, Any]:
        """EXR header attributes recording how the output was made."""
        attributes: dict[str, Any] = {
            "oiio:ColorSpace": self.output_colorspace,
            "Software": f"hdr_plugin {__version__}",
            "hdr_plugin:version": __version__,
            "hdr_plugin:model": self.spec.name,
            "hdr_plugin:modelKind": self.spec.kind,
            "hdr_plugin:modelOptions": json.dumps(self.model_options, sort_keys=True),
            "hdr_plugin:weightsHash": self.model.weights_hash or "none (analytic)",
            "hdr_plugin:outputColorspace": self.output_colorspace,
            "hdr_plugin:ocioConfig": self.color.config_path,
            "hdr_plugin:knobs": json.dumps(self.settings.to_dict(), sort_keys=True),
        }
        chromaticities = self.color.chromaticities(self.output_colorspace)
        if chromaticities is not None:
            attributes["chromaticities"] = chromaticities
        return attributes


def _is_grey(rgb: np.ndarray, tolerance: float = 1.0 / 1024.0) -> bool:
    """Whether every pixel has R = G = B (within ``tolerance``): a greyscale plate.

    A strided sample first, so that a colour plate (nearly every plate) is told at once.
    """
    flat = rgb.reshape(-1, 3)
    for pixels in (flat[::101], flat):
        if (np.abs(pixels - pixels[:, 1:2]) > tolerance).any():
            return False
    return True


def _code_values(rgb: np.ndarray) -> np.ndarray:
    """Values clamped to [0, 1] as float32, NaN as 0 and +Inf as 1.

    ``fmax``/``fmin`` ignore NaN, so two passes clamp and clean (``clip`` keeps NaN).
    (Asking ``fmax`` for ``dtype=float32`` instead of converting first is 4x slower.)
    """
    clamped = np.fmax(np.asarray(rgb, dtype=np.float32), np.float32(0.0))
    return np.fmin(clamped, np.float32(1.0), out=clamped)


def load_curve_estimator(color: ColorContext):
    """The shipped camera-curve estimator (``auto``) for ``color``'s config; torch loads here."""
    return create_model(CURVE_ESTIMATOR, color)


def require_curve_estimator() -> None:
    """Raise :class:`ModelError` when ``auto``'s estimator has no weights (no torch needed)."""
    from hdr_plugin.models.camera_curve import require_weights

    require_weights()
