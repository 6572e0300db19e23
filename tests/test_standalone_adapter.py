"""The standalone host implements the same adapter protocol as Nuke."""

from hdr_plugin.host_adapters.base import HostAdapter
from hdr_plugin.host_adapters.standalone import StandaloneAdapter
from hdr_plugin.node import ReconstructSettings
from tests.conftest import SAMPLE_PLATES


def test_standalone_renders_through_the_shared_protocol(tmp_path):
    shown, errors = [], []
    adapter = StandaloneAdapter(
        plate_pattern=str(SAMPLE_PLATES / "pan.####.png"),
        output_pattern=str(tmp_path / "hdr.####.exr"),
        frames="1001-1003",
        on_error=errors.append,
        on_result=lambda pattern, frames: shown.append((pattern, frames)),
    )
    assert isinstance(adapter, HostAdapter)
    assert adapter.validate() is None
    result = adapter.render()
    assert len(result.outputs) == 3
    assert shown == [(str(tmp_path / "hdr.####.exr"), [1001, 1002, 1003])]
    assert errors == []


def test_standalone_reports_bad_knobs_its_way(tmp_path):
    errors = []
    adapter = StandaloneAdapter(
        plate_pattern="x.png",
        output_pattern=str(tmp_path / "o.exr"),
        knobs=ReconstructSettings(output_colorspace="nope"),
        on_error=errors.append,
    )
    assert "unknown output colorspace 'nope'" in adapter.validate()
    assert errors and errors[0].startswith("standalone: ")
