"""Blender's image sources as the core's plates, without Blender (testable anywhere).

Blender names an image sequence by one of its files (``//plates/pan.1001.png``) and finds
the frame number as the last run of digits of the file's stem; an Image node shows file
frame ``frame_offset + 1 + i`` at scene frame ``frame_start + i`` for ``frame_duration``
frames. The core names a sequence with one ``#`` per digit (``pan.####.png``) and a range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hdr_plugin.errors import ConfigError

_NUMBERED = re.compile(r"^(?P<head>.*?)(?P<digits>\d+)(?P<tail>\D*)$")


@dataclass(frozen=True)
class Plate:
    """A Blender image source as the core reads it.

    Attributes:
        pattern: a file, or a ``#``-padded sequence pattern.
        frames: the core's frame range (``1001-1024``), or ``None`` for a still.
        stem: a name for the outputs (``pan`` for ``pan.####.png``).
    """

    pattern: str
    frames: str | None
    stem: str


def sequence_pattern(path: str) -> tuple[str, int]:
    """``/p/pan.1001.png`` -> (``/p/pan.####.png``, 1001): Blender's numbering of a file.

    Raises:
        ConfigError: the file name holds no frame number.
    """
    file = Path(path)
    match = _NUMBERED.match(file.stem)
    if match is None:
        raise ConfigError(f"{path}: an image sequence's file names end in a frame number")
    digits = match["digits"]
    name = f"{match['head']}{'#' * len(digits)}{match['tail']}{file.suffix}"
    return str(file.with_name(name)), int(digits)


def plate_of(source: str, path: str, *, offset: int = 0, duration: int = 1) -> Plate:
    """The core's plate for a Blender image ``source`` (``FILE``, ``SEQUENCE``) at ``path``.

    Args:
        source: ``Image.source``.
        path: the image's absolute file path.
        offset: the Image node's ``frame_offset`` (file frame ``offset + 1`` comes first).
        duration: the node's ``frame_duration``.

    Raises:
        ConfigError: a source the core cannot read (a movie, a generated or packed image).
    """
    if source == "FILE":
        return Plate(path, None, Path(path).stem)
    if source == "SEQUENCE":
        pattern, _ = sequence_pattern(path)
        first = offset + 1
        frames = f"{first}-{first + max(1, duration) - 1}" if duration > 1 else str(first)
        stem = Path(pattern).name.split("#")[0].rstrip("._-") or "plate"
        return Plate(pattern, frames, stem)
    raise ConfigError(
        f"{path or 'image'}: a {source.lower()} source is not supported; "
        "use an image file or an image sequence"
    )


def output_pattern(folder: str, plate: Plate) -> str:
    """Where the EXRs of ``plate`` go in ``folder``: ``<stem>.####.exr`` or ``<stem>.exr``."""
    name = f"{plate.stem}_hdr.exr" if plate.frames is None else f"{plate.stem}_hdr.####.exr"
    return str(Path(folder) / name)
