"""Per-shot settings: a TOML shot config, validated, and optional OpenTimelineIO import.

A shot config has ``[defaults]`` and one ``[[shot]]`` table per shot; a shot's keys
override the defaults (``model_options`` merge). Paths are relative to the config file.
``{shot}`` in ``output`` is replaced by the shot name::

    [defaults]
    model = "bt2446c-inverse"
    output = "renders/{shot}/{shot}.####.exr"

    [[shot]]
    name = "sh010"
    plate = "plates/sh010.####.png"
    frames = "1001-1048"
    model = "layered"
    model_options = { device = "cpu" }
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ConfigError, HdrPluginError
from hdr_plugin.io import EXR_COMPRESSIONS, PIXEL_TYPES, atomic_write
from hdr_plugin.node import ReconstructSettings
from hdr_plugin.render import RenderJob
from hdr_plugin.sequence import expand_input, has_padding, parse_frames
from hdr_plugin.validation import check_values, field_types

_SETTINGS_KEYS = {f.name for f in dataclasses.fields(ReconstructSettings)}
_JOB_KEYS = {"plate", "frames", "output", "pixel_type", "compression", "write_masks"}
KNOWN_KEYS = frozenset({"name"} | _SETTINGS_KEYS | _JOB_KEYS)
#: Each key's type: the annotation of the field it fills (``plate`` fills RenderJob.input).
_KEY_TYPES = {
    **{k: v for k, v in field_types(RenderJob).items() if k in _JOB_KEYS},
    "plate": str,
    "frames": str,
    "matte": str,
    **{k: v for k, v in field_types(ReconstructSettings).items() if k != "matte"},
}
#: Knobs that name a file: relative to the shot config, as plates are.
_PATH_KNOBS = ("matte", "input_lut")
#: A shot name is one path component: no separators, no leading dot, no "..", no newline.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Shot:
    """One shot: what to read, what to write, and the knobs to use.

    Attributes:
        name: shot name (letters, digits, ``_ . -``).
        job: plate, output pattern, frames and EXR options.
        settings: the node's knobs for this shot.
    """

    name: str
    job: RenderJob
    settings: ReconstructSettings


@dataclass(frozen=True)
class ShotConfig:
    """A loaded, validated shot config."""

    path: Path
    shots: tuple[Shot, ...]

    def select(self, names: list[str] | None) -> list[Shot]:
        """The shots named (all when ``names`` is empty); unknown names are an error."""
        if not names:
            return list(self.shots)
        known = {shot.name: shot for shot in self.shots}
        missing = [n for n in names if n not in known]
        if missing:
            raise ConfigError(f"{self.path}: no shot {missing[0]!r}; shots: {', '.join(known)}")
        return [known[n] for n in names]


def _resolve(base: Path, value: str) -> str:
    path = Path(value)
    return str(path if path.is_absolute() else base / path)


def _shot(where: str, entry: Mapping[str, Any], defaults: Mapping[str, Any], base: Path) -> Shot:
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise ConfigError(f"{where}: key 'name' must be a shot name like 'sh010', got {name!r}")
    where = f"{where} ({name!r})"
    unknown = sorted(set(entry) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {sorted(KNOWN_KEYS)}")
    check_values(where, entry, _KEY_TYPES)
    merged = {**defaults, **entry}
    merged["model_options"] = {
        **defaults.get("model_options", {}),
        **entry.get("model_options", {}),
    }
    for key in ("plate", "output"):
        if key not in merged:
            raise ConfigError(f"{where}: missing key {key!r}")
    if "frames" in merged:
        try:
            parse_frames(merged["frames"])
        except ConfigError as exc:
            raise ConfigError(f"{where}: key 'frames': {exc}") from None
    if merged.get("pixel_type", "half") not in PIXEL_TYPES:
        raise ConfigError(f"{where}: key 'pixel_type' must be one of {PIXEL_TYPES}")
    if merged.get("compression", "zip") not in EXR_COMPRESSIONS:
        raise ConfigError(f"{where}: key 'compression' must be one of {EXR_COMPRESSIONS}")
    settings = ReconstructSettings(
        **{k: v for k, v in merged.items() if k in _SETTINGS_KEYS and k not in _PATH_KNOBS},
        **{k: _resolve(base, merged[k]) for k in _PATH_KNOBS if merged.get(k)},
    )
    job = RenderJob(
        input=_resolve(base, merged["plate"]),
        output=_resolve(base, merged["output"].replace("{shot}", name)),
        frames=merged.get("frames"),
        pixel_type=merged.get("pixel_type", "half"),
        compression=merged.get("compression", "zip"),
        write_masks=bool(merged.get("write_masks", False)),
    )
    return Shot(name, job, settings)


def parse_shots(
    text: str, path: str | Path = "<shots>", color: ColorContext | None = None
) -> ShotConfig:
    """Parse and validate a shot config.

    Every shot's knobs are checked as a node would check them (model, colourspaces,
    ranges), so a typo fails before any frame is rendered.

    Raises:
        ConfigError: malformed TOML, or a bad shot (the message names the shot and key).
    """
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"defaults", "shot"})
    if unknown:
        raise ConfigError(f"{path}: unknown table {unknown[0]!r}; use [defaults] and [[shot]]")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"{path}: [defaults] must be a table")
    bad_defaults = sorted(set(defaults) - (KNOWN_KEYS - {"name", "plate"}))
    if bad_defaults:
        raise ConfigError(f"{path}: [defaults]: unknown key {bad_defaults[0]!r}")
    check_values(f"{path}: [defaults]", defaults, _KEY_TYPES)
    entries = data.get("shot", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[shot]] entries")
    base = path.parent
    shots = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: shot #{index} must be a table")
        shots.append(_shot(f"{path}: shot #{index}", entry, defaults, base))
    names = [s.name for s in shots]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: shot {duplicates[0]!r} is defined twice")
    outputs = [s.job.output for s in shots]
    clashes = sorted({o for o in outputs if outputs.count(o) > 1})
    if clashes:
        raise ConfigError(f"{path}: two shots write {clashes[0]!r}; put {{shot}} in 'output'")
    color = color or ColorContext.resolve()
    for shot in shots:
        try:
            shot.settings.validate(color)
        except HdrPluginError as exc:
            raise type(exc)(f"{path}: shot {shot.name!r}: {exc}") from exc
    return ShotConfig(path, tuple(shots))


def load_shots(path: str | Path, color: ColorContext | None = None) -> ShotConfig:
    """Read and validate a shot config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is not TOML
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read shot config: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    return parse_shots(text, path, color)


def _check_json_depth(path: Path) -> None:
    """Refuse a ``.otio`` (JSON) file nested too deeply for OTIO's parser (it crashes)."""
    if path.suffix.lower() != ".otio":
        return
    try:
        json.loads(path.read_bytes())
    except RecursionError:
        raise ConfigError(f"{path}: JSON nested too deeply to be a timeline") from None
    except (ValueError, OSError):
        return  # not JSON, or unreadable: OTIO's own error names it


def shots_from_otio(timeline_path: str | Path, *, output: str, model: str | None = None) -> str:
    """A shot config (TOML text) from the image-sequence clips of an OpenTimelineIO timeline.

    Each clip whose media reference is an ``ImageSequenceReference`` becomes a shot named
    after the clip, with its plate pattern (``####`` padding; a relative URL is relative
    to the timeline's folder, written absolute) and the frame range the clip uses.

    Raises:
        ConfigError: opentimelineio is not installed, the timeline has no such clips, or
            ``output`` is not a pattern of one sequence per shot.
    """
    if "{shot}" not in output or not has_padding(output):
        raise ConfigError(
            f"--render-pattern {output!r}: each shot is a sequence, so the pattern needs "
            "{shot} and a frame padding (e.g. renders/{shot}/{shot}.####.exr)"
        )
    try:
        import opentimelineio as otio
    except ImportError:
        raise ConfigError("OpenTimelineIO import needs: pip install 'hdr-plugin[otio]'") from None
    import tomli_w

    _check_json_depth(Path(timeline_path))
    try:
        timeline = otio.adapters.read_from_file(str(timeline_path))
        clips = list(timeline.find_clips())
    except Exception as exc:  # OTIO adapters raise their own and parser errors, per format
        first = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(
            f"{timeline_path}: not a timeline OpenTimelineIO reads ({first})"
        ) from exc
    shots = []
    for clip in clips:
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ImageSequenceReference):
            continue
        folder = ref.target_url_base.removeprefix("file://").rstrip("/")
        folder = str(Path(timeline_path).resolve().parent / folder)  # absolute stays absolute
        padding = "#" * max(1, ref.frame_zero_padding)
        pattern = f"{folder}/{ref.name_prefix}{padding}{ref.name_suffix}"
        source = clip.source_range or clip.available_range()
        first = ref.frame_for_time(source.start_time)
        last = ref.frame_for_time(source.end_time_inclusive())
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", clip.name) or f"clip{len(shots) + 1}"
        shots.append({"name": name, "plate": pattern, "frames": f"{first}-{last}"})
    if not shots:
        raise ConfigError(f"{timeline_path}: no clips with image-sequence media references")
    defaults: dict[str, Any] = {"output": output}
    if model:
        defaults["model"] = model
    return tomli_w.dumps({"defaults": defaults, "shot": shots})


def shot_missing_frames(shot: Shot) -> str | None:
    """Why a shot's plate frames are not all on disk (one line), or ``None``."""
    try:
        expand_input(shot.job.input, shot.job.frames)
    except HdrPluginError as exc:
        return str(exc)
    return None


#: Knobs a shot saves: every setting but the files (matte, LUT), whose paths are the shot's.
_SAVED_KNOBS = tuple(sorted(_SETTINGS_KEYS - set(_PATH_KNOBS)))


def save_shot_settings(path: str | Path, name: str, settings: ReconstructSettings) -> None:
    """Write ``settings`` into shot ``name`` of the shot config at ``path`` (atomically).

    The knobs are written on the shot's own table, so they override the defaults. The
    result is validated before it replaces the file. TOML comments are not preserved.

    Raises:
        ConfigError: no such shot, or the updated config does not validate.
    """
    import tomli_w

    path = Path(path)
    data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    tables = [t for t in data.get("shot", []) if isinstance(t, dict) and t.get("name") == name]
    if not tables:
        raise ConfigError(f"{path}: no shot {name!r} to save into")
    for key in _SAVED_KNOBS:
        value = getattr(settings, key)
        if value is None:
            tables[0].pop(key, None)
        else:
            tables[0][key] = dict(value) if isinstance(value, dict) else value
    text = tomli_w.dumps(data)
    parse_shots(text, path)
    with atomic_write(path) as temporary:
        temporary.write_text(text)
