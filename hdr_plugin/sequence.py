"""Frame sequences and frame ranges, through fileseq.

Patterns follow compositing conventions: ``plate.####.png`` (one ``#`` per digit, as in
Nuke), ``plate.%04d.png``, ``plate.@@@@.png``, or an embedded range
``plate.1001-1100#.png``. Frame ranges use fileseq syntax: ``1001-1100``,
``1001-1100x2``, ``1,5,9-12``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import fileseq

from hdr_plugin.errors import ConfigError, PlateError

_PADDING = re.compile(r"#+|@+|%0?\d*d|\$F\d*")
_MAX_LISTED = 8


@dataclass(frozen=True)
class FrameFile:
    """One frame of a plate: its number (``None`` for a single image) and its file."""

    frame: int | None
    path: str


def has_padding(pattern: str) -> bool:
    """Whether ``pattern`` names a sequence (``####``, ``@@@@``, ``%04d``)."""
    return bool(_PADDING.search(os.path.basename(pattern)))


def parse_frames(frames: str) -> list[int]:
    """Parse a frame range such as ``1001-1100x2`` into sorted unique frame numbers.

    Items are separated by commas or, as in Nuke's frame ranges, spaces (``1001 1005``,
    ``1001-1010 1020``); spaces around ``-``, ``x`` and ``:`` join a range's parts.

    Raises:
        ConfigError: the text is empty or not a frame range.
    """
    if not frames.strip():
        raise ConfigError("frame range is empty (examples: 1001-1100, 1001-1100x2, 1,5,9-12)")
    joined = re.sub(r"\s*([-x:])\s*", r"\1", frames.strip())
    try:
        frame_set = fileseq.FrameSet(",".join(re.split(r"[\s,]+", joined)))
    except fileseq.MaxSizeException:
        raise ConfigError(
            f"frame range {frames!r} holds more than {fileseq.constants.MAX_FRAME_SIZE:,} "
            "frames; render it in parts"
        ) from None
    except (fileseq.ParseException, ValueError) as exc:
        raise ConfigError(
            f"frame range {frames!r} is not valid (examples: 1001-1100, 1001-1100x2, 1,5,9-12)"
        ) from exc
    if frame_set.hasSubFrames():
        raise ConfigError(f"frame range {frames!r}: subframes are not supported")
    return sorted({int(f) for f in frame_set})


def _sequence(pattern: str) -> fileseq.FileSequence:
    try:
        return fileseq.FileSequence(pattern, pad_style=fileseq.PAD_STYLE_HASH1)
    except fileseq.ParseException as exc:
        raise ConfigError(f"cannot parse sequence pattern {pattern!r}: {exc}") from exc


def frame_path(pattern: str, frame: int | None) -> str:
    """The file name of ``frame`` in ``pattern`` (``pattern`` itself for a single image)."""
    if frame is None:
        if has_padding(pattern):
            raise ConfigError(f"{pattern!r} is a sequence pattern; a frame number is needed")
        return pattern
    if not has_padding(pattern):
        return pattern
    return _sequence(pattern).frame(frame)


def _ranges(frames: list[int]) -> list[str]:
    """Sorted frame numbers as ``a-b`` runs: [1, 2, 3, 7] -> ["1-3", "7"]."""
    runs: list[list[int]] = []
    for frame in frames:
        if runs and frame == runs[-1][1] + 1:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame])
    return [f"{a}-{b}" if a != b else str(a) for a, b in runs]


def _missing_message(pattern: str, missing: list[int]) -> str:
    runs = _ranges(missing)
    shown = ", ".join(runs[:_MAX_LISTED]) + (" ..." if len(runs) > _MAX_LISTED else "")
    first = frame_path(pattern, missing[0])
    return f"{pattern}: {len(missing)} missing frame(s): {shown} (e.g. {first} does not exist)"


def _frames_on_disk(template: str) -> dict[int, os.DirEntry]:
    """The entries of ``template``'s frames, from one listing of its folder.

    Only names written with the template's padding count (``p.0001.png`` for
    ``p.####.png``; more digits only for frames that need them), so a stray ``p.1.png``
    beside the sequence is neither a frame nor a reason to miss one.
    """
    sequence = _sequence(template)
    width = sequence.zfill()
    # printf's padding (as Nuke and :func:`frame_path` write): the sign takes a digit's
    # place, so frame -2 of ``####`` is ``-002``.
    digits = (
        rf"(?:\d{{{width}}}|[1-9]\d{{{width},}}|-\d{{{width - 1}}}|-[1-9]\d{{{width - 1},}})"
        if width > 1
        else r"-?\d+"
    )
    name = re.compile(
        f"{re.escape(sequence.basename())}({digits}){re.escape(sequence.extension())}"
    )
    try:
        with os.scandir(sequence.dirname() or ".") as entries:
            found = [(name.fullmatch(e.name), e) for e in entries]
    except OSError:
        return {}
    return {int(m.group(1)): entry for m, entry in found if m}


def sequence_files(path: str) -> list[str]:
    """Every file on disk of the sequence ``path`` is, or is a frame of, whatever the range.

    A pattern: its frames on disk. A single file: itself, and its siblings that differ
    from it only in the frame number (``pan.1020.png`` beside ``pan.1012.png``). What a
    write must not replace when a command reads ``path``.
    """
    if has_padding(path):
        sequence = _sequence(path)
        template = path if sequence.frameSet() is None else _strip_range(sequence)
        return sorted(entry.path for entry in _frames_on_disk(template).values())
    sequence = fileseq.FileSequence(path, pad_style=fileseq.PAD_STYLE_HASH1)
    if sequence.frameSet() is None:
        return [path]
    template = (
        f"{sequence.dirname()}{sequence.basename()}{'#' * sequence.zfill()}{sequence.extension()}"
    )
    return sorted({path, *(entry.path for entry in _frames_on_disk(template).values())})


def expand_input(pattern: str, frames: str | None = None) -> list[FrameFile]:
    """List the files of a plate, checking that every requested frame exists.

    Args:
        pattern: a single image, or a sequence pattern (optionally with an embedded range).
        frames: frame range to render; defaults to the embedded range, else every frame
            found on disk (a gap in what is found counts as missing frames).

    Raises:
        ConfigError: ``frames`` given for a single image, or a bad range.
        PlateError: no file matches, or frames are missing (the message lists them).
    """
    if not has_padding(pattern):
        if frames is not None:
            raise ConfigError(f"--frames {frames!r} given, but {pattern} is a single image")
        if not os.path.isfile(pattern):
            raise PlateError(f"{pattern}: file not found")
        return [FrameFile(None, pattern)]

    sequence = _sequence(pattern)
    template = pattern if sequence.frameSet() is None else _strip_range(sequence)
    wanted: list[int] = []
    if frames is not None:
        wanted = parse_frames(frames)
    elif sequence.frameSet() is not None:
        wanted = sorted(int(f) for f in sequence.frameSet())
    present = _frames_on_disk(template)
    if frames is None and sequence.frameSet() is None:
        if not present:
            raise PlateError(f"{pattern}: no frames found on disk")
        wanted = list(range(min(present), max(present) + 1))
    # One folder listing, not a file check per frame: a range of millions of frames that
    # are not there fails at once.
    missing = [f for f in wanted if f not in present]
    if missing:
        raise PlateError(_missing_message(template, missing))
    for f in wanted:
        if not present[f].is_file():
            raise PlateError(f"{present[f].path} (frame {f}): not a file (a folder?)")
    return [FrameFile(f, frame_path(template, f)) for f in wanted]


def _strip_range(sequence: fileseq.FileSequence) -> str:
    """``plate.1001-1100#.png`` -> ``plate.#.png`` (the pattern without its range)."""
    return f"{sequence.dirname()}{sequence.basename()}{sequence.padding()}{sequence.extension()}"


def output_files(pattern: str, inputs: list[FrameFile]) -> list[str]:
    """Output file per input frame: frame N of the plate is written as frame N.

    Raises:
        ConfigError: a sequence written to a name without frame padding, or a single
            image written to a pattern.
    """
    is_sequence = inputs and inputs[0].frame is not None
    if is_sequence and not has_padding(pattern):
        raise ConfigError(
            f"output {pattern!r} has no frame padding; a sequence needs one, e.g. "
            f"{os.path.splitext(pattern)[0]}.####.exr"
        )
    if not is_sequence and has_padding(pattern):
        raise ConfigError(f"output {pattern!r} is a sequence pattern but the input is one image")
    return [frame_path(pattern, item.frame) for item in inputs]
