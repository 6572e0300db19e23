"""Blender's image sources as the core's plates, without Blender (testable anywhere).

Blender names an image sequence by one of its files (``//plates/pan.1001.png``) and finds
the frame number as the last run of digits of the file's stem; an Image node shows file
frame ``frame_offset + 1 + i`` at scene frame ``frame_start + i`` for ``frame_duration``
frames. The core names a sequence with one ``#`` per digit (``pan.####.png``) and a range.
"""

from __future__ import annotations

import re
import shutil
import subprocess
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


def plate_of(
    source: str, path: str, *, offset: int = 0, duration: int = 1, frames_folder: str = ""
) -> Plate:
    """The core's plate for a Blender image ``source`` at ``path``.

    Args:
        source: ``Image.source``: ``FILE``, ``SEQUENCE`` or ``MOVIE``.
        path: the image's absolute file path.
        offset: the Image node's ``frame_offset`` (file frame ``offset + 1`` comes first).
        duration: the node's ``frame_duration``.
        frames_folder: for a movie, where its frames are pulled to (:func:`pull_frames`).

    Raises:
        ConfigError: a source the core cannot read (a generated or packed image), or a
            movie ffmpeg cannot decode.
    """
    if source == "MOVIE":
        if not frames_folder:
            raise ConfigError(f"{path}: a movie's frames need a folder to be pulled into")
        return pull_frames(path, frames_folder, first=offset + 1, count=max(1, duration))
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


def pull_frames(movie: str, folder: str, *, first: int, count: int) -> Plate:
    """Frames ``first .. first + count - 1`` of a movie (1 = its first) as a 16-bit PNG plate.

    ffmpeg decodes them as a host does (the stream's YUV matrix and range to RGB code
    values); the PNGs keep the frame numbers, so the EXRs are numbered as the movie's
    frames. Frames already pulled are pulled again (the movie may have changed).

    Raises:
        ConfigError: ffmpeg is missing, or cannot decode the movie (its last line said).
    """
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ConfigError(f"{movie}: a movie's frames are pulled with ffmpeg; install ffmpeg")
    stem = Path(movie).stem
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    pattern = target / f"{stem}.####.png"
    last = first + count - 1
    command = [
        ffmpeg, "-v", "error", "-y", "-i", movie,
        "-vf", f"select=between(n\\,{first - 1}\\,{last - 1})", "-fps_mode", "passthrough",
        "-pix_fmt", "rgb48be", "-start_number", str(first),
        str(target / f"{stem}.%04d.png"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigError(f"{movie}: ffmpeg cannot decode it: {last_line}")
    return Plate(str(pattern), f"{first}-{last}" if count > 1 else str(first), stem)
