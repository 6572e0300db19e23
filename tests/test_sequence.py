"""Sequence patterns, frame ranges and missing frames."""

import time

import pytest

from hdr_plugin.errors import ConfigError, PlateError
from hdr_plugin.sequence import expand_input, frame_path, has_padding, output_files, parse_frames


@pytest.fixture
def frames_on_disk(tmp_path):
    for frame in (1001, 1002, 1003, 1004):
        (tmp_path / f"plate.{frame:04d}.png").write_bytes(b"x")
    return tmp_path


def test_frame_ranges():
    assert parse_frames("1001-1010x2") == [1001, 1003, 1005, 1007, 1009]
    assert parse_frames("1,5,9-11") == [1, 5, 9, 10, 11]
    assert parse_frames("1001") == [1001]


@pytest.mark.parametrize("bad", ["abc", "1-", "1001-1100x"])
def test_bad_frame_range(bad):
    with pytest.raises(ConfigError, match="frame range"):
        parse_frames(bad)


@pytest.mark.parametrize(
    "pattern", ["plate.####.png", "plate.%04d.png", "plate.@@@@.png", "plate.1001-1004#.png"]
)
def test_padding_styles_name_the_same_files(pattern):
    assert has_padding(pattern)
    assert frame_path(pattern.replace("1001-1004", ""), 1002) == "plate.1002.png"


def test_hash_is_one_digit_per_character():
    assert frame_path("plate.#####.exr", 7) == "plate.00007.exr"


def test_single_image_is_not_a_sequence(tmp_path):
    still = tmp_path / "still.1001.png"
    still.write_bytes(b"x")
    assert not has_padding(str(still))
    assert [f.frame for f in expand_input(str(still))] == [None]


def test_discovers_frames_on_disk(frames_on_disk):
    files = expand_input(str(frames_on_disk / "plate.####.png"))
    assert [f.frame for f in files] == [1001, 1002, 1003, 1004]
    assert files[0].path.endswith("plate.1001.png")


def test_explicit_and_embedded_ranges(frames_on_disk):
    assert [
        f.frame for f in expand_input(str(frames_on_disk / "plate.%04d.png"), "1002-1004x2")
    ] == [
        1002,
        1004,
    ]
    embedded = expand_input(str(frames_on_disk / "plate.1002-1003#.png"))
    assert [f.frame for f in embedded] == [1002, 1003]


def test_missing_frames_are_named(frames_on_disk):
    with pytest.raises(PlateError, match=r"2 missing frame\(s\): 1005-1006.*plate\.1005\.png"):
        expand_input(str(frames_on_disk / "plate.####.png"), "1003-1006")


def test_a_huge_range_of_missing_frames_fails_at_once(frames_on_disk):
    start = time.perf_counter()
    with pytest.raises(PlateError, match=r"8999996 missing frame\(s\): 1-1000, 1005-9000000"):
        expand_input(str(frames_on_disk / "plate.####.png"), "1-9000000")
    assert time.perf_counter() - start < 60  # was half an hour: one stat per frame


def test_gap_in_a_discovered_sequence_is_a_missing_frame(frames_on_disk):
    (frames_on_disk / "plate.1002.png").unlink()
    with pytest.raises(PlateError, match=r"missing frame\(s\): 1002 "):
        expand_input(str(frames_on_disk / "plate.####.png"))


def test_no_frames_at_all(tmp_path):
    with pytest.raises(PlateError, match="no frames found"):
        expand_input(str(tmp_path / "none.####.png"))


def test_frames_for_a_single_image_is_an_error(frames_on_disk):
    with pytest.raises(ConfigError, match="single image"):
        expand_input(str(frames_on_disk / "plate.1001.png"), "1-2")


def test_outputs_keep_frame_numbers(frames_on_disk):
    inputs = expand_input(str(frames_on_disk / "plate.####.png"), "1003-1004")
    assert output_files("/out/hdr.####.exr", inputs) == ["/out/hdr.1003.exr", "/out/hdr.1004.exr"]


def test_sequence_output_needs_padding(frames_on_disk):
    inputs = expand_input(str(frames_on_disk / "plate.####.png"))
    with pytest.raises(ConfigError, match=r"no frame padding.*out\.####\.exr"):
        output_files("out.exr", inputs)
