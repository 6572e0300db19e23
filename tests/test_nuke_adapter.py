"""The Nuke adapter against a stand-in ``nuke`` module (tests/nuke_standin.py)."""

import importlib
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import nuke_standin
from tests.conftest import read_exr, write_image

ADAPTER = Path(__file__).resolve().parents[1] / "host_adapters" / "nuke"


@pytest.fixture
def nuke(monkeypatch):
    nuke_standin.reset()
    monkeypatch.setitem(sys.modules, "nuke", nuke_standin)
    sys.modules.pop("hdr_plugin.host_adapters.nuke.node", None)
    return nuke_standin


@pytest.fixture
def adapter_module(nuke):
    return importlib.import_module("hdr_plugin.host_adapters.nuke.node")


@pytest.fixture
def graph(nuke, adapter_module, plate_sequence, tmp_path):
    read = nuke.nodes.Read(file=str(plate_sequence), first=1001, last=1005)
    hdr = adapter_module.create()
    hdr.setInput(0, read)
    hdr["output"].setValue(str(tmp_path / "out" / "hdr.####.exr"))
    return read, hdr


def test_init_and_menu_register_the_node(nuke, monkeypatch):
    monkeypatch.setenv("HDR_PLUGIN_SITE", "/studio/python")
    runpy.run_path(str(ADAPTER / "init.py"))
    runpy.run_path(str(ADAPTER / "menu.py"))
    assert nuke.plugin_paths == ["/studio/python"]
    ((path, command),) = nuke.menu_commands
    assert path == "Nodes/HDR/HDRReconstruct" and "n.create()" in command


def test_created_node_has_inputs_and_knobs(graph):
    _, hdr = graph
    assert hdr.name() == "HDRReconstruct"
    inputs = [n.name() for n in hdr.nodes() if n.Class() == "Input"]
    assert inputs == ["plate", "mask"]
    knobs = ["model", "in_colorspace", "out_colorspace", "white_level", "mask_threshold"]
    knobs += ["maskChannelInput", "invert_mask", "mix", "shot", "shot_config", "render"]
    for knob in knobs:
        assert hdr.knob(knob) is not None, knob
    assert "bt2446c-inverse" in hdr["model"].values
    assert "Linear Rec.2020" in hdr["out_colorspace"].values
    assert hdr["in_colorspace"].value() == "sRGB Encoded Rec.709 (sRGB)"


def test_knob_changes_are_validated_with_host_error_reporting(nuke, graph, tmp_path, monkeypatch):
    _, hdr = graph
    nuke.change_knob(hdr, "mix", 1.5)
    assert "mix=1.5 is outside" in nuke.messages[-1]
    assert hdr["status"].value().startswith("ERROR")
    nuke.change_knob(hdr, "mix", 0.5)
    assert hdr["status"].value() == "ok"
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(tmp_path / "no-weights"))
    nuke.change_knob(hdr, "model", "layered")
    assert "layered" in nuke.messages[-1] and "no trained weights" in nuke.messages[-1]


def test_host_ocio_config_feeds_the_colourspace_knobs(nuke, adapter_module, color):
    nuke.root()["customOCIOConfigPath"].setValue("ocio://studio-config-latest")
    hdr = adapter_module.create()
    assert hdr["out_colorspace"].values[:1] == ["sRGB - Display"]  # the custom config's order
    assert adapter_module.host_ocio_config() == "ocio://studio-config-latest"


def test_python_render_reads_the_plate_frames_and_wires_a_read(nuke, graph, tmp_path):
    _, hdr = graph
    nuke.change_knob(hdr, "model", "linear")
    nuke.press(hdr, "render")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [f"hdr.{f}.exr" for f in range(1001, 1006)]
    (result,) = [n for n in hdr.nodes() if n.Class() == "Read"]
    output = next(n for n in hdr.nodes() if n.Class() == "Output")
    assert output.input(0) is result
    assert result["file"].value() == str(out / "hdr.####.exr")
    assert (result["first"].value(), result["last"].value()) == (1001, 1005)
    assert result["colorspace"].value() == "Linear Rec.2020"
    assert "rendered 5 frame(s)" in hdr["status"].value()


def test_graph_frame_range_when_the_read_has_none(nuke, graph, tmp_path):
    read, hdr = graph
    read["first"].setValue(1)
    read["last"].setValue(0)
    nuke.root()["first_frame"].setValue(1002)
    nuke.root()["last_frame"].setValue(1003)
    nuke.press(hdr, "render")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hdr.1002.exr", "hdr.1003.exr"]


def test_mask_input_channel_invert_and_mix(nuke, adapter_module, tmp_path):
    plate = write_image(tmp_path / "white.png", np.ones((8, 8, 3), np.float32))
    matte = np.zeros((8, 8, 4), np.float32)
    matte[:, 4:, 0] = 1.0  # red channel: right half
    matte[..., 3] = 1.0  # opaque (OIIO premultiplies PNG colour by alpha)
    mask = write_image(tmp_path / "roto.png", matte)
    hdr = adapter_module.create()
    hdr.setInput(0, nuke.nodes.Read(file=str(plate)))
    hdr.setInput(1, nuke.nodes.Blur())
    hdr.input(1).setInput(0, nuke.nodes.Read(file=str(mask)))  # Read -> Blur -> mask input
    hdr["model"].setValue("inverse-reinhard")
    hdr["maskChannelInput"].setValue("rgba.red")
    hdr["output"].setValue(str(tmp_path / "o.exr"))
    nuke.press(hdr, "render")
    pixels, _ = read_exr(tmp_path / "o.exr")
    np.testing.assert_allclose(pixels[:, :4], 1.0, rtol=2e-3)
    assert pixels[:, 4:].min() > 4.0
    hdr["invert_mask"].setValue(True)
    hdr["mix"].setValue(0.5)
    nuke.press(hdr, "render")
    pixels, _ = read_exr(tmp_path / "o.exr")
    expected = 1.0 + 0.5 * (1000 / 203 - 1.0)
    np.testing.assert_allclose(pixels[:, :4], expected, rtol=3e-3)
    np.testing.assert_allclose(pixels[:, 4:], 1.0, rtol=2e-3)


def test_render_without_a_plate_reports_it(nuke, adapter_module):
    hdr = adapter_module.create()
    with pytest.raises(Exception, match="connect a Read"):
        nuke.press(hdr, "render")
    assert "connect a Read" in nuke.messages[-1]


def test_shot_override_from_the_shot_config(nuke, graph, tmp_path):
    _, hdr = graph
    (tmp_path / "shots.toml").write_text(
        '[[shot]]\nname = "sh010"\nplate = "p.####.png"\noutput = "renders/sh010.####.exr"\n'
        'model = "inverse-hable"\nmix = 0.25\nwhite_level = 2.0\n'
    )
    hdr["shot_config"].setValue(str(tmp_path / "shots.toml"))
    nuke.change_knob(hdr, "shot", "sh010")
    assert hdr["model"].value() == "inverse-hable"
    assert hdr["mix"].value() == 0.25 and hdr["white_level"].value() == 2.0
    assert hdr["output"].value() == str(tmp_path / "renders" / "sh010.####.exr")
    nuke.change_knob(hdr, "shot", "sh999")
    assert "no shot 'sh999'" in nuke.messages[-1]


def test_torchscript_inference_route(nuke, graph, tmp_path, monkeypatch):
    from hdr_plugin.models import get_spec
    from hdr_plugin.models.engine.weights import save_weights
    from tests.test_neural import TINY, build  # tiny random weights, as in the neural tests

    net, config = build("unet-native")
    save_weights(net, tmp_path / get_spec("unet-native").weights, {"architecture": config})
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(tmp_path))
    assert TINY
    _, hdr = graph
    hdr["model"].setValue("unet-native")
    nuke.press(hdr, "setup_inference")
    creator = next(n for n in hdr.nodes() if n.Class() == "CatFileCreator")
    assert creator["torchScriptFile"].value().endswith("unet-native.pt")
    assert creator["channelsIn"].value() == "rgba.red,rgba.green,rgba.blue"
    assert "createCatFile" in nuke.executed
    inference = next(n for n in hdr.nodes() if n.Class() == "Inference")
    assert Path(inference["modelFile"].value()).is_file()
    output = next(n for n in hdr.nodes() if n.Class() == "Output")
    to_output = output.input(0)
    assert to_output.Class() == "OCIOColorSpace" and to_output.input(0) is inference
    assert inference.input(0)["out_colorspace"].value() == "sRGB Encoded Rec.709 (sRGB)"


def test_analytic_models_cannot_take_the_inference_route(nuke, graph):
    _, hdr = graph
    hdr["model"].setValue("inverse-hable")
    with pytest.raises(Exception, match="analytic"):
        nuke.press(hdr, "setup_inference")
    assert "analytic" in nuke.messages[-1]


def test_host_spellings_live_in_the_adapter(adapter_module):
    from hdr_plugin.node import node_parameters

    knobs = {p.name: adapter_module.host_knob(p.name) for p in node_parameters()}
    assert knobs["input_colorspace"] == "in_colorspace"
    assert knobs["matte"] is None  # the matte is the node's mask input
    assert knobs["white_level"] == "white_level"
