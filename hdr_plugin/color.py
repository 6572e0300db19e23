"""OCIO config resolution and colour conversion.

Every colour conversion in the project goes through an OCIO processor between two named
colourspaces of the active config; nothing outside the analytic operators hand-writes a
transfer function.

Config resolution order: an explicit path > ``$OCIO`` > the bundled
``ocio_configs/config.ocio``.

The project names the encodings it works in by their Color Interop Forum IDs (the names
OIIO 3 tags files with and OCIO 2.5 configs give as ``interop_id``), never by a name or alias
of one config: :meth:`ColorContext.canonical` finds each in whatever config a show runs
(a name, alias or role; an interop ID; else OCIO's identification against a built-in
config through the config's interchange roles).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache, lru_cache

import numpy as np
import PyOpenColorIO as ocio

from hdr_plugin.constants import DISPLAY_REFERENCE_NITS, REFERENCE_WHITE_NITS
from hdr_plugin.errors import ColorError
from hdr_plugin.ocio_configs import BUNDLED_CONFIG

#: Colourspace every model writes and every blend happens in: scene-linear Rec.2020.
WORKING_SPACE = "lin_rec2020_scene"
#: Display-linear Rec.709, where SDR operators undo their tone curves.
LINEAR_REC709 = "lin_rec709_scene"
#: The display encodings of Rec.709 plates: sRGB (IEC 61966-2-1), BT.1886 (a pure 2.4
#: power, black at 0), gamma 2.2.
SRGB_REC709 = "srgb_rec709_scene"
BT1886_REC709 = "g24_rec709_scene"
GAMMA22_REC709 = "g22_rec709_scene"
#: Plates are sRGB-encoded Rec.709 unless the user or the file says otherwise.
DEFAULT_INPUT_SPACE = SRGB_REC709
DEFAULT_OUTPUT_SPACE = WORKING_SPACE
#: The built-in config whose colourspaces define the interop IDs above for a config that
#: has neither those IDs nor aliases for them (OCIO identifies its own colourspaces against
#: this one through their interchange roles).
REFERENCE_CONFIG = "ocio://studio-config-v4.0.0_aces-v2.0_ocio-v2.5"
#: The scene-referred encoding of each Rec.709 display colourspace (same primaries, same
#: transfer function): what the models read a plate shown on that display as. (Wider
#: displays are not here: their saturated colours leave Rec.709, and the models would
#: take them for clipped highlights.)
DISPLAY_PLATE_ENCODINGS = {
    "srgb_rec709_display": SRGB_REC709,
    "g24_rec709_display": BT1886_REC709,
    "g22_rec709_display": GAMMA22_REC709,
}
#: Conversions of at least this many pixels run in row bands on several threads (OCIO
#: releases the GIL while it applies a processor); below it a thread hand-off costs more.
PARALLEL_PIXELS = 1 << 18

# CIE 1931 xy of the red, green, blue primaries and white point, in the order of the
# OpenEXR ``chromaticities`` attribute. Sources: ITU-R BT.2020, ITU-R BT.709,
# SMPTE ST 2065-1 (AP0), S-2014-004 (AP1), SMPTE EG 432-1 (P3-D65).
_D65 = (0.3127, 0.3290)
_ACES_WHITE = (0.32168, 0.33767)
PRIMARIES = {
    "rec2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), _D65),
    "rec709": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060), _D65),
    "ap0": ((0.7347, 0.2653), (0.0, 1.0), (0.0001, -0.0770), _ACES_WHITE),
    "ap1": ((0.713, 0.293), (0.165, 0.830), (0.128, 0.044), _ACES_WHITE),
    "p3d65": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), _D65),
}
# Which primaries a colourspace's OCIO interop id (e.g. ``lin_rec2020_scene``) names.
_INTEROP_PRIMARIES = {
    "rec2020": "rec2020",
    "rec709": "rec709",
    "ap0": "ap0",
    "ap1": "ap1",
    "p3d65": "p3d65",
}


def light_levels(
    rgb: np.ndarray, nits_per_unit: float = REFERENCE_WHITE_NITS
) -> tuple[float, float]:
    """A frame's content light levels, cd/m² (CTA-861.3, of one frame).

    Args:
        rgb: (H, W, 3) linear Rec.2020.
        nits_per_unit: cd/m² of 1.0 (reference white, ITU-R BT.2408).

    Returns:
        ``(max_cll, fall)``: the brightest pixel's max(R, G, B), and the frame average of
        max(R, G, B). A shot's MaxFALL is the largest FALL of its frames.
    """
    brightest = np.nan_to_num(np.clip(rgb, 0.0, None)).max(axis=-1) * np.float32(nits_per_unit)
    return float(brightest.max()), float(brightest.mean())


#: A limit :func:`limit_conversion_threads` set in this thread (or task), if any.
_THREAD_LIMIT: ContextVar[int | None] = ContextVar("hdr_plugin_conversion_threads", default=None)


def conversion_threads() -> int:
    """Threads a conversion may use in this thread.

    A limit set by :func:`limit_conversion_threads`, else ``$OMP_NUM_THREADS`` (set per
    farm worker), else the cores.
    """
    limit = _THREAD_LIMIT.get()
    if limit is not None:
        return limit
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )


@contextmanager
def limit_conversion_threads(count: int) -> Iterator[None]:
    """Conversions made by this thread use at most ``count`` threads (at least one) meanwhile."""
    token = _THREAD_LIMIT.set(max(1, count))
    try:
        yield
    finally:
        _THREAD_LIMIT.reset(token)


@cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hdr-ocio")


def apply_processor(cpu: ocio.CPUProcessor, rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (..., 3) through ``cpu``: a new float32 array, or ``rgb`` for a no-op."""
    if rgb.shape[-1] != 3:
        raise ColorError(f"expected RGB values (..., 3), got shape {rgb.shape}")
    if cpu.isNoOp():
        return np.ascontiguousarray(rgb, dtype=np.float32)
    out = np.array(rgb, dtype=np.float32, order="C", copy=True)
    # Rows of an image (OCIO converts a long single row several times slower).
    image = out if out.ndim == 3 else out.reshape(1, -1, 3)
    threads = conversion_threads()
    if image.shape[0] * image.shape[1] >= PARALLEL_PIXELS and threads > 1 and len(image) > 1:
        # A CPU processor is immutable once built, so threads may share it; each band of
        # rows is a contiguous view that OCIO converts in place.
        bands = np.array_split(image, min(threads, len(image)))
        list(_pool(threads).map(lambda band: _apply_rows(cpu, band), bands))
    elif image.size:
        _apply_rows(cpu, image)
    return out


def _apply_rows(cpu: ocio.CPUProcessor, rows: np.ndarray) -> None:
    """Convert contiguous (H, W, 3) float32 ``rows`` in place.

    Through a packed image description: OCIO then runs its vectorised path over the
    buffer, about 3x faster than ``applyRGB`` on a NumPy array.
    """
    height, width = rows.shape[:2]
    cpu.apply(ocio.PackedImageDesc(rows, width, height, 3))


def resolve_config_path(explicit: str | os.PathLike[str] | None = None) -> str:
    """Return the OCIO config to use: ``explicit`` > ``$OCIO`` > the bundled config."""
    if explicit:
        return os.fspath(explicit)
    env = os.environ.get("OCIO")
    if env:
        return env
    return os.fspath(BUNDLED_CONFIG)


@lru_cache(maxsize=8)
def _load_config(path: str) -> ocio.Config:
    try:
        config = ocio.Config.CreateFromFile(path)
        config.validate()
    except (ocio.Exception, ocio.ExceptionMissingFile) as exc:
        source = " (from $OCIO)" if path == os.environ.get("OCIO") else ""
        raise ColorError(f"cannot load OCIO config {path!r}{source}: {exc}") from exc
    except UnicodeDecodeError as exc:  # OCIO's own message quotes the undecodable bytes
        source = " (from $OCIO)" if path == os.environ.get("OCIO") else ""
        raise ColorError(f"cannot load OCIO config {path!r}{source}: not UTF-8 text") from exc
    return config


def _bare(name: str) -> str:
    """An interop ID without the ``ocio:`` namespace OCIO's own IDs carry."""
    return name.removeprefix("ocio:")


def _find(config: ocio.Config, name: str) -> ocio.ColorSpace | None:
    """A colourspace of ``config`` by name, alias, role or interop ID (``ocio:`` or not)."""
    for candidate in dict.fromkeys((name, f"ocio:{_bare(name)}", _bare(name))):
        colorspace = config.getColorSpace(candidate)
        if colorspace is not None:
            return colorspace
    for colorspace in config.getColorSpaces(ocio.SEARCH_REFERENCE_SPACE_ALL, ocio.COLORSPACE_ALL):
        if _bare(colorspace.getInteropID()) == _bare(name):
            return colorspace
    return None


@cache
def _reference_config() -> ocio.Config:
    return ocio.Config.CreateFromFile(REFERENCE_CONFIG)


#: Largest difference on [0, 1] of two configs' renderings of one colourspace: their
#: matrices differ by a few 1e-4 (Blender's against OCIO's ACES configs); distinct common
#: colourspaces differ by 3e-2 or more (Rec.2020 and ACEScg, sRGB and gamma 2.2).
_SAME = 2e-3
#: Values compared by :func:`_equivalent`: a 9x9x9 cube of [0, 1].
_PROBE = np.stack(
    np.meshgrid(*[np.linspace(0.0, 1.0, 9, dtype=np.float32)] * 3, indexing="ij"), axis=-1
).reshape(1, -1, 3)


def _equivalent(
    config: ocio.Config, reference: ocio.ColorSpace, other: ocio.Config | None = None
) -> str | None:
    """The colourspace of ``config`` that converts to ``reference`` as an identity.

    ``reference`` is a colourspace of ``other`` (default :data:`REFERENCE_CONFIG`).
    Compared through the two configs' interchange roles (OCIO's
    ``GetProcessorFromConfigs``), on colourspaces of the same reference (scene or
    display); ``None`` when none matches or the config has no interchange roles.
    """
    other = other or _reference_config()
    kind = reference.getReferenceSpaceType()
    # Inactive ones too: OCIO 2.1 configs list their display colourspaces as inactive.
    spaces = [
        colorspace
        for colorspace in config.getColorSpaces(
            ocio.SEARCH_REFERENCE_SPACE_ALL, ocio.COLORSPACE_ALL
        )
        if colorspace.getReferenceSpaceType() == kind and not colorspace.isData()
    ]
    # The same name or alias first: one conversion to confirm it, not one per colourspace.
    names = {reference.getName(), *reference.getAliases()}
    spaces.sort(key=lambda c: not names & {c.getName(), *c.getAliases()})
    best, error = None, _SAME
    for colorspace in spaces:
        try:
            cpu = ocio.Config.GetProcessorFromConfigs(
                config, colorspace.getName(), other, reference.getName()
            ).getDefaultCPUProcessor()
        except (ocio.Exception, ocio.ExceptionMissingFile):
            continue
        converted = _PROBE.copy()
        cpu.apply(ocio.PackedImageDesc(converted, converted.shape[1], 1, 3))
        difference = float(np.abs(converted - _PROBE).max())
        if difference < error:
            best, error = colorspace.getName(), difference
        if error < _SAME / 4:  # as close as two configs' matrices get: no need to go on
            break
    return best


@lru_cache(maxsize=512)
def _identify(config_path: str, name: str) -> str | None:
    """The name in config ``config_path`` of colourspace ``name``, or ``None``.

    ``name`` is a name, alias or role of the config, an interop ID (its own, or one of
    :data:`REFERENCE_CONFIG`), or the name of a colourspace of :data:`REFERENCE_CONFIG`;
    one the config does not name is identified by OCIO (``IdentifyBuiltinColorSpace``,
    then an identity test through the interchange roles).
    """
    config = _load_config(config_path)
    found = _find(config, name)
    if found is not None:
        return found.getName()
    reference = _find(_reference_config(), name)
    if reference is None:
        return None
    if reference.getReferenceSpaceType() == ocio.REFERENCE_SPACE_SCENE:
        try:
            return ocio.Config.IdentifyBuiltinColorSpace(
                config, _reference_config(), reference.getName()
            )
        except (ocio.Exception, ocio.ExceptionMissingFile):
            pass
    return _equivalent(config, reference)


@dataclass
class ColorContext:
    """An OCIO config plus cached CPU processors between named colourspaces.

    Args:
        config_path: path (or ``ocio://`` URI) of the OCIO config; see
            :func:`resolve_config_path`.
    """

    config_path: str
    config: ocio.Config = field(init=False, repr=False)
    _processors: dict[tuple, ocio.CPUProcessor] = field(
        init=False, repr=False, default_factory=dict
    )
    _encodings: dict[str, str] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.config = _load_config(self.config_path)
        self.working_space = self.canonical(WORKING_SPACE, knob="working space")

    @classmethod
    def resolve(cls, explicit: str | os.PathLike[str] | None = None) -> ColorContext:
        """Build the context for the config chosen by :func:`resolve_config_path`."""
        return cls(resolve_config_path(explicit))

    def colorspaces(self) -> list[str]:
        """Names of the active colourspaces of the config, in config order."""
        return [cs.getName() for cs in self.config.getColorSpaces()]

    def canonical(self, name: str, *, knob: str = "colourspace", source: str = "") -> str:
        """Return the config's own name for ``name``.

        ``name`` may be a name, alias or role of the config, a Color Interop Forum ID (as
        OIIO tags files: ``srgb_rec709_scene``), or a colourspace of the built-in
        :data:`REFERENCE_CONFIG`, which OCIO identifies in this config through its
        interchange roles.

        Raises:
            ColorError: the config has no such colourspace; the message lists the valid
                names.
        """
        found = _identify(self.config_path, name) if name else None
        if found is None:
            where = f" (from {source})" if source else ""
            valid = ", ".join(self.colorspaces())
            raise ColorError(
                f"unknown {knob} {name!r}{where} in OCIO config {self.config_path!r} (not a "
                "colourspace, alias, role or interop ID of it, and not identifiable through "
                f"its interchange roles); valid names: {valid}"
            )
        return found

    def processor(self, src: str, dst: str) -> ocio.CPUProcessor:
        """Return the (cached) float32 CPU processor from ``src`` to ``dst``."""
        key = (self.canonical(src), self.canonical(dst))
        cpu = self._processors.get(key)
        if cpu is None:
            try:
                proc = self.config.getProcessor(*key)
                # GOOD keeps the exact matrices and the transfer functions to within
                # 3e-5 relative (below half-float precision) and is ~35 % faster.
                cpu = proc.getOptimizedCPUProcessor(
                    ocio.BIT_DEPTH_F32, ocio.BIT_DEPTH_F32, ocio.OPTIMIZATION_GOOD
                )
            except (ocio.Exception, ocio.ExceptionMissingFile) as exc:
                raise ColorError(f"OCIO cannot convert {key[0]!r} -> {key[1]!r}: {exc}") from exc
            self._processors[key] = cpu
        return cpu

    def is_identity(self, src: str, dst: str) -> bool:
        """Whether converting ``src`` to ``dst`` leaves values unchanged."""
        return self.processor(src, dst).isNoOp()

    def convert(self, rgb: np.ndarray, src: str, dst: str) -> np.ndarray:
        """Convert RGB values from colourspace ``src`` to ``dst``.

        Args:
            rgb: (..., 3) array in ``src``.
            src: source colourspace name, alias or role.
            dst: destination colourspace name, alias or role.

        Returns:
            (..., 3) float32 C-contiguous values in ``dst``: a new array, or ``rgb`` itself
            when the conversion is an identity and ``rgb`` is already float32 and
            C-contiguous (callers must not modify the result in place).
        """
        return apply_processor(self.processor(src, dst), rgb)

    def is_hdr_display(self, name: str) -> bool:
        """Whether ``name`` is an HDR video display encoding (PQ, HLG: ``hdr-video``)."""
        space = self.config.getColorSpace(self.canonical(name))
        return (
            space.getReferenceSpaceType() == ocio.REFERENCE_SPACE_DISPLAY
            and space.getEncoding() == "hdr-video"
        )

    def display_scale(self, name: str) -> float:
        """Factor applied to scene-linear values before converting them to ``name``.

        The config's display reference puts 1.0 at 100 cd/m²; an HDR video deliverable
        puts scene-linear 1.0 at reference white, 203 cd/m² (ITU-R BT.2408), so PQ and
        HLG get 2.03. Every other colourspace, 1.
        """
        if self.is_hdr_display(name):
            return REFERENCE_WHITE_NITS / DISPLAY_REFERENCE_NITS
        return 1.0

    def counterpart(self, other: ColorContext, name: str) -> str:
        """This config's colourspace for colourspace ``name`` of another config (a host's).

        By a name, alias or interop ID the two share, else by an identity test through
        both configs' interchange roles.

        Raises:
            ColorError: ``other`` has no such colourspace, or this config no equivalent.
        """
        theirs = other.config.getColorSpace(other.canonical(name))
        for key in (theirs.getInteropID(), theirs.getName(), *theirs.getAliases()):
            found = _find(self.config, key) if key else None
            if found is not None:
                return found.getName()
        found = _equivalent(self.config, theirs, other.config)
        if found is None:
            raise ColorError(
                f"{theirs.getName()!r} of OCIO config {other.config_path!r} has no equivalent "
                f"in OCIO config {self.config_path!r}"
            )
        return found

    def display_encoding(self, view: str) -> str:
        """The plate encoding (an interop ID) of the display that ``view`` renders to.

        The scene-referred encoding with the display colourspace's primaries and transfer
        function (``sRGB - Display`` -> ``srgb_rec709_scene``): what the models read a
        plate rendered through ``view`` as.

        Raises:
            ColorError: the display is not one of :data:`DISPLAY_PLATE_ENCODINGS`.
        """
        if view in self._encodings:  # asked once per frame
            return self._encodings[view]
        display, name = self.display_view(view)
        candidates = [self.config.getDisplayViewColorSpaceName(display, name)]
        candidates += [
            self.config.getDisplayViewColorSpaceName(display, v)
            for v in self.config.getViews(display)
        ]
        spaces = [
            self.config.getColorSpace(display if c == "<USE_DISPLAY_NAME>" else c)
            for c in candidates
        ]
        screen = next(
            (
                s
                for s in spaces
                if s is not None and s.getReferenceSpaceType() == ocio.REFERENCE_SPACE_DISPLAY
            ),
            None,
        )
        for display_id, encoding in DISPLAY_PLATE_ENCODINGS.items():
            if screen is not None and _identify(self.config_path, display_id) == screen.getName():
                self._encodings[view] = encoding
                return encoding
        shown = screen.getName() if screen is not None else "none"
        raise ColorError(
            f"input view {view!r}: its display colourspace ({shown}) is not an sRGB, "
            f"BT.1886 or gamma 2.2 Rec.709 display of OCIO config {self.config_path!r}; "
            "name a view of such a display"
        )

    def views(self) -> tuple[str, ...]:
        """Every ``"DISPLAY/VIEW"`` pair of the config, displays in config order."""
        return tuple(
            f"{display}/{view}"
            for display in self.config.getDisplays()
            for view in self.config.getViews(display)
        )

    def display_view(self, text: str, *, knob: str = "input view") -> tuple[str, str]:
        """Split and check ``"DISPLAY/VIEW"`` (a display and one of its views in the config).

        ``knob`` names what was given, for the message.

        Raises:
            ColorError: no such display, or no such view on it; the message lists them.
        """
        display, sep, view = text.partition("/")
        displays = list(self.config.getDisplays())
        if not sep or display not in displays:
            raise ColorError(
                f"{knob} {text!r}: give DISPLAY/VIEW with a display of OCIO config "
                f"{self.config_path!r}: {', '.join(displays)}"
            )
        views = list(self.config.getViews(display))
        if view not in views:
            raise ColorError(f"{knob} {text!r}: display {display!r} has views {', '.join(views)}")
        return display, view

    def convert_view(
        self, rgb: np.ndarray, src: str, view: str, *, inverse: bool = False
    ) -> np.ndarray:
        """Render ``rgb`` (in colourspace ``src``) through display/view ``view``, or undo it.

        Args:
            rgb: (..., 3) values: in ``src`` (forward), or display code values (inverse).
            src: the scene colourspace on the other side of the view.
            view: ``"DISPLAY/VIEW"`` of the config.
            inverse: from display code values back to ``src`` (OCIO's inverse direction).
        """
        key = (self.canonical(src), *self.display_view(view), inverse)
        transform = lambda: ocio.DisplayViewTransform(  # noqa: E731
            src=key[0], display=key[1], view=key[2]
        )
        cpu = self._transform_processor(key, transform, f"OCIO cannot apply view {view!r}")
        return apply_processor(cpu, rgb)

    def _transform_processor(self, key: tuple, make, failure: str) -> ocio.CPUProcessor:
        """The cached CPU processor of transform ``make()``, inverted when ``key[-1]``."""
        cpu = self._processors.get(key)
        if cpu is None:
            transform = make()
            if key[-1]:
                transform.setDirection(ocio.TRANSFORM_DIR_INVERSE)
            try:
                cpu = self.config.getProcessor(transform).getDefaultCPUProcessor()
            except (ocio.Exception, ocio.ExceptionMissingFile) as exc:
                raise ColorError(f"{failure}: {exc}") from exc
            self._processors[key] = cpu
        return cpu

    def lut_source(self, name: str | None = None) -> str:
        """The colourspace a show's LUT reads: ``name``, else the config's ``color_timing``.

        Raises:
            ColorError: no ``name`` and no ``color_timing`` role in the config.
        """
        if name:
            return self.canonical(name, knob="input colorspace (what the input LUT reads)")
        timing = self.config.getColorSpace("color_timing")
        if timing is None:
            raise ColorError(
                f"input LUT: OCIO config {self.config_path!r} has no color_timing role; "
                "name the colourspace the LUT reads with --input-colorspace"
            )
        return timing.getName()

    def convert_lut(
        self, rgb: np.ndarray, src: str, lut: str, lut_source: str, *, inverse: bool = False
    ) -> np.ndarray:
        """Render ``rgb`` (in ``src``) through a LUT file that reads ``lut_source``, or undo it.

        Args:
            rgb: (..., 3) values: in ``src`` (forward), or the LUT's output (inverse).
            src: the scene colourspace on the other side.
            lut: a LUT file OCIO reads (``.cube``, ``.spi3d``, ``.3dl``, ``.csp``, ...).
            lut_source: the colourspace the LUT's input is in (:meth:`lut_source`).
            inverse: from the LUT's output back to ``src`` (OCIO inverts the LUT).

        Raises:
            ColorError: the file is missing, or OCIO cannot read or invert it.
        """
        path = os.path.abspath(lut)
        if not os.path.isfile(path):
            raise ColorError(f"input LUT {lut}: no such file")
        key = (self.canonical(src), path, self.canonical(lut_source), inverse)
        transform = lambda: ocio.GroupTransform(  # noqa: E731
            [
                ocio.ColorSpaceTransform(src=key[0], dst=key[2]),
                ocio.FileTransform(src=path, interpolation=ocio.INTERP_BEST),
            ]
        )
        cpu = self._transform_processor(key, transform, f"input LUT {lut}: OCIO cannot use it")
        return apply_processor(cpu, rgb)

    def chromaticities(self, name: str) -> tuple[float, ...] | None:
        """OpenEXR ``chromaticities`` (Rx Ry Gx Gy Bx By Wx Wy) of a colourspace.

        Looked up from the primaries the colourspace's OCIO interop id names
        (e.g. ``lin_rec2020_scene`` -> ITU-R BT.2020). Returns ``None`` for a colourspace
        whose primaries the config does not state (data, camera log spaces without an
        interop id), so that no wrong attribute is ever written.
        """
        colorspace = self.config.getColorSpace(self.canonical(name))
        interop = colorspace.getInteropID() if hasattr(colorspace, "getInteropID") else ""
        candidates = [interop, *colorspace.getAliases()]
        for candidate in candidates:
            parts = candidate.lower().replace("ocio:", "").split("_")
            for part in parts:
                key = _INTEROP_PRIMARIES.get(part)
                if key:
                    return tuple(v for xy in PRIMARIES[key] for v in xy)
        return None
