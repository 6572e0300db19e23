"""Fuzzing the plate reader and the shot-config parser for a bounded time.

Whatever bytes or text they get, they either work or raise the project's own error
types; nothing else escapes.

The examples are the same on every run, so that a run cannot pass or fail by luck; set
``HDR_FUZZ_EXPLORE=1`` to draw new ones, and keep what they find as a regression test.
"""

import os
import string

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import HdrPluginError
from hdr_plugin.io import read_image
from hdr_plugin.shots import parse_shots
from tests.conftest import gradient_plate, write_image

EXPLORE = bool(os.environ.get("HDR_FUZZ_EXPLORE"))
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=not EXPLORE,
    database=settings.default.database if EXPLORE else None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@st.composite
def damaged_files(draw):
    """A real image file of some format, then truncated, bit-flipped or padded."""
    ext = draw(st.sampled_from(["png", "exr", "tif", "jpg", "dpx", "hdr"]))
    mode = draw(st.sampled_from(["truncate", "flip", "garbage", "prefix"]))
    return ext, mode, draw(st.integers(0, 10_000)), draw(st.binary(max_size=64))


@FUZZ
@given(case=damaged_files())
def test_plate_reader_never_crashes(tmp_path_factory, case):
    ext, mode, position, noise = case
    folder = tmp_path_factory.mktemp("fuzz")
    fmt = {"exr": "half", "hdr": "float", "dpx": "uint16"}.get(ext, "uint8")
    path = write_image(folder / f"p.{ext}", gradient_plate(16, 16), fmt)
    data = bytearray(path.read_bytes())
    if mode == "truncate":
        data = data[: position % max(1, len(data))]
    elif mode == "flip" and data:
        for i, byte in enumerate(noise or b"\xff"):
            data[(position + 97 * i) % len(data)] ^= byte or 0xFF
    elif mode == "garbage":
        data = bytearray(noise)
    else:
        data = bytearray(noise) + data
    path.write_bytes(bytes(data))
    try:
        image = read_image(path)
    except HdrPluginError as exc:  # a clear one-line error naming the file
        assert path.name in str(exc) and "\n" not in str(exc)
    else:  # or a well-formed image
        assert image.pixels.ndim == 3 and image.pixels.dtype == np.float32
        assert image.pixels.shape[-1] == len(image.channels)


KEYS = ["name", "plate", "output", "model", "frames", "mix", "white_level", "matte",
        "model_options", "pixel_type", "compression", "modle", "", "[x]"]  # fmt: skip
values = st.one_of(
    st.text(string.printable, max_size=12),
    st.integers(-5, 5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.just("1001-1010x2"),
    st.just("shot.####.png"),
)


@st.composite
def shot_configs(draw):
    if draw(st.booleans()):
        return draw(st.text(string.printable, max_size=200))  # arbitrary text
    lines = []
    for _ in range(draw(st.integers(0, 3))):
        lines.append(draw(st.sampled_from(["[[shot]]", "[defaults]", "[other]"])))
        for key in draw(st.lists(st.sampled_from(KEYS), max_size=6, unique=True)):
            value = draw(values)
            literal = repr(value) if isinstance(value, str) else str(value).lower()
            lines.append(f"{key} = {literal}")
    return "\n".join(lines)


@FUZZ
@given(text=shot_configs())
def test_shot_config_parser_never_crashes(text):
    try:
        config = parse_shots(text, "fuzz.toml")
    except HdrPluginError as exc:  # a clear one-line error naming the file
        assert "fuzz.toml" in str(exc) and "\n" not in str(exc)
    else:  # or shots whose every knob is valid
        assert config.shots
        for shot in config.shots:
            shot.settings.validate(ColorContext.resolve())


def test_regression_exr_header_with_undecodable_error_text(tmp_path):
    # Found by the fuzzer: a flipped EXR header made OIIO's error text invalid UTF-8.
    path = write_image(tmp_path / "p.exr", gradient_plate(16, 16), "half")
    data = bytearray(path.read_bytes())
    data[4260 % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))
    try:
        image = read_image(path)
    except HdrPluginError as exc:
        assert "p.exr" in str(exc)
        str(exc).encode("utf-8")  # the message itself is valid text
    else:
        assert image.pixels.shape == (16, 16, 3)


def test_regression_model_options_must_be_a_table():
    # Found by the fuzzer: a string model_options crashed the merge.
    text = "[[shot]]\nplate = ''\nmodel_options = ''\nname = '0'\noutput = 'o'"
    try:
        parse_shots(text, "fuzz.toml")
    except HdrPluginError as exc:
        assert "model_options" in str(exc)
    else:
        raise AssertionError("accepted a string model_options")
