"""Image I/O through OpenImageIO: read any plate, write OpenEXR atomically.

Arrays at this boundary are float32 (H, W, C). A write goes to a temporary file in the
destination folder and is renamed over the final name only once OIIO has closed it, so a
crash or a full disk never leaves a half-written EXR under a final name.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio

from hdr_plugin.errors import OutputError, PlateError

EXR_COMPRESSIONS = ("zip", "zips", "piz", "dwaa", "dwab", "rle", "none")
PIXEL_TYPES = ("half", "float")
#: Largest plate read by default, pixels (64 MP: 8K square); callers pass their own cap
#: (``hdr-plugin --max-pixels``, or ``$HDR_PLUGIN_MAX_PIXELS`` read by the command line). A
#: frame costs about 60 bytes per pixel on its way through a render, so without a cap a
#: stray 16K x 16K file exhausts memory.
MAX_PIXELS_ENV = "HDR_PLUGIN_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 64 * 2**20


#: Suffix of the temporary file an EXR is written to before it is renamed.
TEMPORARY_SUFFIX = ".tmp.exr"
#: A temporary file untouched this long belongs to a writer that was killed.
STALE_TEMPORARY_SECONDS = 60.0
#: This machine, in temporary names ("~" and "." would confuse their parsing).
_HOST = socket.gethostname().replace("~", "-").replace(".", "-") or "host"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, suffix: str = ".tmp") -> Iterator[Path]:
    """Write ``path`` all at once: yield a temporary name beside it, rename it on success.

    Every file the project writes (EXR, TOML, JSON, TorchScript, weights, checkpoints)
    goes through here, so a full disk or a crash never leaves a half-written file under a
    final name (nor deletes the previous one); the temporary is removed on any failure.

    Args:
        path: the final file name; its folder is created if missing.
        suffix: of the temporary (writers that choose a format by extension need it).

    Raises:
        OutputError: the folder cannot be created, or the write or rename fails.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{final}: cannot write: cannot create folder {final.parent}: {exc.strerror}"
        ) from exc
    writer = f"{_HOST}~{os.getpid()}~{uuid.uuid4().hex[:8]}"  # who: see remove_stale_temporaries
    temporary = final.with_name(f".{final.name}.{writer}{suffix}")
    try:
        yield temporary
        os.replace(temporary, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise OutputError(f"{final}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def check_not_an_input(
    outputs: Iterable[str | os.PathLike[str]],
    inputs: Iterable[str | os.PathLike[str]],
    *,
    flag: str = "output",
) -> None:
    """Refuse to write any of ``outputs`` over one of ``inputs`` (a link or another spelling).

    Raises:
        OutputError: naming the output and the input it would replace.
    """
    sources = {os.path.realpath(source): source for source in inputs}
    for output in outputs:
        source = sources.get(os.path.realpath(output))
        if source is not None:
            raise OutputError(
                f"{flag} {output} is the input {source}: writing it would replace the "
                "source; choose another file"
            )


def remove_stale_temporaries(output: str | os.PathLike[str]) -> int:
    """Delete temporary files a killed writer of ``output`` left beside it; returns how many.

    Only ``output``'s own temporaries (``.<name>.<host>~<pid>~<id>.tmp.exr``) go, and
    only those no live process is writing: at once when their writer was a process of
    this machine that has ended, else (another machine of a farm, a name without a
    writer) once untouched for :data:`STALE_TEMPORARY_SECONDS`.
    """
    final = Path(output)
    removed = 0
    now = time.time()
    for path in final.parent.glob(f".{glob.escape(final.name)}.*{TEMPORARY_SUFFIX}"):
        writer = path.name[len(final.name) + 2 : -len(TEMPORARY_SUFFIX)].split("~")
        with contextlib.suppress(OSError):
            if _writer_ended(writer) or now - path.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                path.unlink()
                removed += 1
    return removed


def _writer_ended(writer: list[str]) -> bool:
    """Whether ``[host, pid, id]`` names a process of this machine that no longer runs."""
    if len(writer) != 3 or writer[0] != _HOST or not writer[1].isdigit():
        return False
    try:
        os.kill(int(writer[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


@dataclass
class Image:
    """A decoded image.

    Attributes:
        pixels: (H, W, C) float32. 8/16-bit and 10-bit files are scaled to [0, 1].
        channels: the C channel names as stored in the file.
        colorspace: the file's ``oiio:ColorSpace`` tag, or ``None`` when it has none.
        path: the file read.
        metadata: header attributes an output carries over (:data:`CARRIED_METADATA`),
            name -> (OIIO type, value), for :func:`carried_attributes`.
        window: where the pixels sit in the frame (an EXR's data and display windows),
            or ``None`` when they are the frame at the origin.
    """

    pixels: np.ndarray
    channels: tuple[str, ...]
    colorspace: str | None
    path: str
    metadata: dict[str, tuple[str, Any]] = field(default_factory=dict)
    window: Window | None = None

    @property
    def rgb(self) -> np.ndarray:
        """(H, W, 3) colour channels; grey images (``Y``) are repeated into R, G, B.

        Raises:
            PlateError: the image has neither R, G and B nor Y (a depth or data pass),
                naming its channels.
        """
        names = self._short_names
        colour = [names.index(c) for c in "RGB" if c in names]
        if colour == [0, 1, 2]:
            return self.pixels[..., :3]
        if len(colour) == 3:
            return self.pixels[..., colour]
        if "Y" in names:
            return np.repeat(self.pixels[..., names.index("Y") : names.index("Y") + 1], 3, -1)
        raise PlateError(
            f"{self.path}: no colour channels (R, G, B or Y) to read as a plate; it has "
            f"{', '.join(self.channels)}"
        )

    @property
    def straight_rgb(self) -> np.ndarray:
        """(H, W, 3) colour with premultiplied alpha divided out (:func:`unpremultiply`).

        OIIO hands every file over premultiplied (it associates a PNG's straight alpha on
        read), and a premultiplied code value is not a code value of the plate's curve:
        colour conversions must see the straight colour.
        """
        alpha = self.alpha
        return self.rgb if alpha is None else unpremultiply(self.rgb, alpha)

    @property
    def alpha(self) -> np.ndarray | None:
        """(H, W, 1) alpha channel, or ``None``."""
        names = self._short_names
        if "A" in names:
            index = names.index("A")
            return self.pixels[..., index : index + 1]
        return None

    @property
    def _short_names(self) -> list[str]:
        names = [name.split(".")[-1].upper() for name in self.channels]
        named = Path(self.path).suffix.lower() == ".exr"  # an EXR names its channels itself
        if len(names) == 2 and not (named and {"R", "G", "B"} & set(names)):  # grey + alpha
            return ["Y", "A"]
        if {"RY", "BY"} & set(names):
            raise PlateError(
                f"{self.path}: a luminance/chroma (Y, RY, BY) image; convert it to RGB first "
                "(oiiotool IN --ch R,G,B -o OUT, or write RGB from the host)"
            )
        if {"R", "G", "B"} & set(names) and not {"R", "G", "B"} <= set(names):
            raise PlateError(
                f"{self.path}: colour channels {', '.join(c for c in names if c in 'RGB')} "
                "without the rest of R, G and B; it has " + ", ".join(self.channels)
            )
        return names


def unpremultiply(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Straight colour of premultiplied ``rgb`` ((H, W, 3)) with ``alpha`` ((H, W, 1)).

    Where alpha is 0 the colour is 0 (nothing to recover); alpha above 1 is taken as 1.
    """
    a = np.clip(alpha, 0.0, 1.0)
    out = np.divide(rgb, a, out=np.zeros_like(rgb), where=a > 0)
    return out.astype(np.float32, copy=False)


def _oiio_error(handle: Any = None) -> str:
    message = ""
    if handle is not None and hasattr(handle, "geterror"):
        message = handle.geterror()
    return (message or oiio.geterror() or "unknown OpenImageIO error").strip().splitlines()[0]


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """Drop what C libraries (libpng, libjpeg, libtiff) print on stderr meanwhile.

    Their lines would appear before the one-line error, and OpenImageIO's error, which
    the message quotes, already says the same.
    """
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def read_image(
    path: str | os.PathLike[str],
    *,
    frame: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image:
    """Read the first subimage, full resolution, of any file OIIO reads.

    Args:
        path: image file.
        frame: frame number, used only in error messages.
        max_pixels: refuse larger images (before reading their pixels).

    Raises:
        PlateError: missing, empty, unreadable, truncated or corrupt file (the message
            names the file and frame).
    """
    path, where = _image_file(path, frame)
    with _quiet_libraries():
        return _read(path, where, max_pixels)


def _image_file(path: str | os.PathLike[str], frame: int | None) -> tuple[str, str]:
    """``path`` as a string and as messages name it, once it is a non-empty file."""
    path = os.fspath(path)
    where = f"{path}" + (f" (frame {frame})" if frame is not None else "")
    if not os.path.exists(path):
        raise PlateError(f"{where}: file not found")
    if not os.path.isfile(path):
        raise PlateError(f"{where}: not a file (a folder?)")
    if os.path.getsize(path) == 0:
        raise PlateError(f"{where}: file is empty (0 bytes)")
    return path, where


def check_header(path: str | os.PathLike[str], *, frame: int | None = None) -> None:
    """Fail now, not mid-render, when ``path`` is not an image OIIO can open.

    Raises:
        PlateError: not a file, empty, or an unreadable or deep header (file and frame).
    """
    path, where = _image_file(path, frame)
    with _quiet_libraries():
        image_input = oiio.ImageInput.open(path)
        if image_input is None:
            raise PlateError(f"{where}: cannot read: {_oiio_error()}")
        deep = image_input.spec().deep
        image_input.close()
    if deep:
        raise PlateError(f"{where}: a deep image; flatten it first (oiiotool --flatten)")


def _colour_part(image_input) -> int:
    """The part (subimage) of a file that holds its colour, the input left seeked to it.

    The first with R, G and B (or Y), so that a multi-part EXR whose beauty is not part 0
    reads; else the first part (whose channels the error will name).
    """
    count = max(1, image_input.spec().get_int_attribute("oiio:subimages", 1))
    for index in range(count):
        if index and not image_input.seek_subimage(index, 0):
            break
        names = {name.split(".")[-1].upper() for name in image_input.spec().channelnames}
        if {"R", "G", "B"} <= names or "Y" in names:
            return index
    if count > 1:
        image_input.seek_subimage(0, 0)
    return 0


def _read(path: str, where: str, max_pixels: int) -> Image:
    try:
        image_input = oiio.ImageInput.open(path)
        if image_input is None:
            raise PlateError(f"{where}: cannot read: {_oiio_error()}")
        try:
            subimage = _colour_part(image_input)
            spec = image_input.spec()
            if spec.deep:
                raise PlateError(f"{where}: a deep image; flatten it first (oiiotool --flatten)")
            if spec.width * spec.height > max_pixels:
                raise PlateError(
                    f"{where}: {spec.width}x{spec.height} is "
                    f"{_pixel_count(spec.width * spec.height)}, above the "
                    f"{_pixel_count(max_pixels)} limit; raise it with "
                    f"hdr-plugin --max-pixels N (or ${MAX_PIXELS_ENV})"
                )
            pixels = image_input.read_image(subimage, 0, 0, spec.nchannels, oiio.FLOAT)
            if pixels is None or image_input.has_error:
                raise PlateError(
                    f"{where}: cannot read pixels (truncated or corrupt?): "
                    f"{_oiio_error(image_input)}"
                )
            shape = (spec.height, spec.width, spec.nchannels)
            channels = tuple(spec.channelnames)
            colorspace = spec.getattribute("oiio:ColorSpace") or None
            orientation = int(spec.get_int_attribute("Orientation", 1))
            window = Window.of(spec) if orientation == 1 else None
            metadata = {
                a.name: (str(a.type), a.value)
                for a in spec.extra_attribs
                if a.name in CARRIED_METADATA
            }
        finally:
            image_input.close()
        pixels = _upright(np.asarray(pixels, dtype=np.float32).reshape(shape), orientation)
    except (UnicodeDecodeError, ValueError, RuntimeError, MemoryError) as exc:
        # Corrupt headers surface as decoding, shape or allocation errors in the binding.
        raise PlateError(f"{where}: corrupt file ({type(exc).__name__}: {exc})") from exc
    return Image(pixels, channels, colorspace, path, metadata, window)


def _upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Pixels as they are shown: the EXIF/TIFF ``Orientation`` (1-8) applied, a copy."""
    turns = {3: 2, 6: -1, 8: 1}  # quarter turns counter-clockwise (np.rot90)
    if orientation in (2, 4):
        pixels = pixels[:, ::-1] if orientation == 2 else pixels[::-1]
    elif orientation in (5, 7):  # transpose, transverse
        pixels = np.swapaxes(pixels, 0, 1)
        pixels = pixels if orientation == 5 else pixels[::-1, ::-1]
    elif orientation in turns:
        pixels = np.rot90(pixels, turns[orientation])
    return np.ascontiguousarray(pixels)


#: Plate header attributes a render carries to its EXR: the shooting date, pixel aspect,
#: frame rate and SMPTE time and key codes (what Nuke and an editorial pipeline read).
CARRIED_METADATA = (
    "DateTime",
    "PixelAspectRatio",
    "FramesPerSecond",
    "dpx:FrameRate",
    "smpte:TimeCode",
    "smpte:KeyCode",
)


def _pixel_count(pixels: int) -> str:
    """``67108864`` -> ``64 MP``; below a megapixel, the count (``129,600 pixels``)."""
    return f"{pixels / 2**20:.0f} MP" if pixels >= 2**20 else f"{pixels:,} pixels"


#: Frame rates a header may claim (fps); others are taken as unknown and not carried.
_FRAME_RATES = (0.1, 1000.0)


def carried_attributes(metadata: Mapping[str, tuple[str, Any]]) -> dict[str, Any]:
    """An image's :data:`CARRIED_METADATA` as attributes for :func:`write_exr`.

    DPX's float frame rate becomes the EXR's rational ``FramesPerSecond``. What a header
    writes for "unknown" is not carried: a pixel aspect of 0 (ffmpeg's DPX), a frame rate
    of 0, infinity or 1e30.
    """
    carried = {name: typed for name, typed in metadata.items() if name != "dpx:FrameRate"}
    aspect = carried.get("PixelAspectRatio")
    if aspect is not None and not (
        isinstance(aspect[1], int | float) and math.isfinite(aspect[1]) and aspect[1] > 0
    ):
        del carried["PixelAspectRatio"]
    rate = metadata.get("dpx:FrameRate")
    if (
        rate is not None
        and "FramesPerSecond" not in metadata
        and isinstance(rate[1], int | float)
        and _FRAME_RATES[0] <= rate[1] <= _FRAME_RATES[1]
    ):
        carried["FramesPerSecond"] = ("rational", frame_rate_fraction(float(rate[1])))
    return {name: TypedValue(*typed) for name, typed in carried.items()}


def frame_rate_fraction(rate: float) -> tuple[int, int]:
    """A frame rate as a fraction: the NTSC rates (23.976 ...) as N*1000/1001, exactly."""
    nominal = round(rate * 1001 / 1000)
    if abs(rate - nominal * 1000 / 1001) < 5e-3 and abs(rate - round(rate)) > 1e-3:
        return nominal * 1000, 1001
    fps = Fraction(rate).limit_denominator(1000)
    return fps.numerator, fps.denominator


@dataclass(frozen=True)
class Window:
    """An image's data window origin and display window (OpenEXR's, as OIIO names them).

    Attributes:
        x, y: the data window's top-left pixel in the frame.
        full: the display window, (x, y, width, height).
    """

    x: int
    y: int
    full: tuple[int, int, int, int]

    @classmethod
    def of(cls, spec) -> Window | None:
        """The window of an OIIO spec, or ``None`` for pixels that are the frame."""
        full = (spec.full_x, spec.full_y, spec.full_width, spec.full_height)
        if (spec.x, spec.y) == (0, 0) and full == (0, 0, spec.width, spec.height):
            return None
        return cls(spec.x, spec.y, full)


@dataclass(frozen=True)
class TypedValue:
    """An attribute value with its OIIO type (``rational``, ``timecode``, ``float`` ...)."""

    type: str
    value: Any


def _attribute(spec: oiio.ImageSpec, name: str, value: Any) -> None:
    if isinstance(value, TypedValue):
        spec.attribute(name, oiio.TypeDesc(value.type), value.value)
        return
    if isinstance(value, bool):
        spec.attribute(name, int(value))
    elif isinstance(value, (int, float, str)):
        spec.attribute(name, value)
    elif isinstance(value, Sequence) and all(isinstance(v, (int, float)) for v in value):
        spec.attribute(name, oiio.TypeDesc(f"float[{len(value)}]"), tuple(float(v) for v in value))
    else:
        raise TypeError(f"attribute {name!r}: cannot store {type(value).__name__}")


def write_exr(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    channels: Sequence[str],
    attributes: Mapping[str, Any] | None = None,
    *,
    pixel_type: str = "half",
    compression: str = "zip",
    window: Window | None = None,
) -> Path:
    """Write an OpenEXR atomically (temporary file in the same folder, then rename).

    Args:
        path: final file name; its folder is created if missing.
        pixels: (H, W, C) float32.
        channels: the C channel names (``R``, ``G``, ``B``, ``A``, ``mask.highlight`` ...).
        attributes: header attributes; strings, numbers, or float tuples (e.g.
            ``chromaticities``).
        pixel_type: ``half`` or ``float``.
        compression: one of :data:`EXR_COMPRESSIONS`.
        window: the data window's origin and the display window (an overscan plate's),
            else the pixels are the frame.

    Returns:
        The path written.

    Raises:
        OutputError: the folder cannot be created or written, or OIIO fails (disk full);
            the final name is then untouched.
    """
    final = Path(path)
    if pixel_type not in PIXEL_TYPES:
        raise OutputError(f"pixel type {pixel_type!r}; choose one of {PIXEL_TYPES}")
    if compression not in EXR_COMPRESSIONS:
        raise OutputError(f"EXR compression {compression!r}; choose one of {EXR_COMPRESSIONS}")
    if pixels.ndim != 3 or pixels.shape[-1] != len(channels):
        raise OutputError(f"{final}: {pixels.shape} pixels for channels {list(channels)}")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{final}: cannot create folder {final.parent}: {exc.strerror}") from exc
    if not os.access(final.parent, os.W_OK):
        raise OutputError(f"{final}: folder {final.parent} is not writable")

    height, width, nchannels = pixels.shape
    spec = oiio.ImageSpec(
        width, height, nchannels, oiio.HALF if pixel_type == "half" else oiio.FLOAT
    )
    spec.channelnames = tuple(channels)
    if window is not None:
        spec.x, spec.y = window.x, window.y
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = window.full
    if "A" in channels:
        spec.alpha_channel = list(channels).index("A")
    spec.attribute("compression", compression)
    # OIIO stamps the clock time unless told a DateTime; an empty one writes none, so the
    # same pixels and attributes give the same bytes (a plate's own date is carried over)
    spec.attribute("DateTime", "")
    for name, value in (attributes or {}).items():
        _attribute(spec, name, value)

    with atomic_write(final, suffix=TEMPORARY_SUFFIX) as temporary:
        output = oiio.ImageOutput.create(str(temporary))
        if output is None:
            raise OutputError(f"{final}: OpenImageIO has no EXR writer: {_oiio_error()}")
        if not output.open(str(temporary), spec):
            raise OutputError(f"{final}: cannot open for writing: {_oiio_error(output)}")
        ok = output.write_image(np.ascontiguousarray(pixels, dtype=np.float32))
        ok = output.close() and ok
        if not ok:
            raise OutputError(f"{final}: write failed (disk full?): {_oiio_error(output)}")
    return final
