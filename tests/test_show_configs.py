"""Every command under a show's own OCIO config.

The configs are those a show runs: every built-in studio and CG config of OCIO (ACES 1.3
and 2.x), the bundled one, and a config file on disk whose look reads a LUT by a relative
path, used from another working directory. None of them needs the bundled config's short
aliases: names are resolved by OCIO's own means (names, aliases, roles, interop IDs, and
identification through the interchange roles).
"""

from __future__ import annotations

import json

import numpy as np
import OpenImageIO as oiio
import PyOpenColorIO as ocio
import pytest

from hdr_plugin.cli import main
from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ColorError
from hdr_plugin.node import ReconstructNode, ReconstructSettings, node_parameters
from hdr_plugin.ocio_configs import BUNDLED_CONFIG
from tests.conftest import SAMPLE_PLATES, gradient_plate, read_exr, write_image

BUILTIN = [f"ocio://{name}" for name in ocio.BuiltinConfigRegistry()]
CONFIGS = [str(BUNDLED_CONFIG), *BUILTIN]
ACES_13 = "ocio://studio-config-v1.0.0_aces-v1.3_ocio-v2.1"
PLATE = SAMPLE_PLATES / "pan.1012.png"
#: Displays whose plates every config must decode through any of their views.
REC709_DISPLAYS = ("sRGB - Display", "Rec.1886 Rec.709 - Display", "Gamma 2.2 Rec.709 - Display")


def _short(config: str) -> str:
    return "bundled" if config == str(BUNDLED_CONFIG) else config.removeprefix("ocio://")[:30]


configs = pytest.mark.parametrize("config", CONFIGS, ids=_short)


def _own_name(config: str, alias: str) -> str:
    """The config's name for a colourspace every ACES config aliases so (``srgb_texture``)."""
    return ocio.Config.CreateFromFile(config).getColorSpace(alias).getName()


@pytest.fixture(scope="module")
def jpeg_plate(tmp_path_factory):
    """The sample plate as a camera JPEG (OIIO tags it ``srgb_rec709_scene``)."""
    path = tmp_path_factory.mktemp("jpeg") / "pan.jpg"
    buf = oiio.ImageBuf(str(PLATE))
    buf.specmod().attribute("Compression", "jpeg:90")
    assert buf.write(str(path)), buf.geterror()
    assert oiio.ImageInput.open(str(path)).spec()["oiio:ColorSpace"] == "srgb_rec709_scene"
    return path


@pytest.fixture(scope="module")
def bundled_render(jpeg_plate, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundled") / "pan.exr"
    assert main(["render", str(jpeg_plate), "-o", str(out), "--no-progress"]) == 0
    return read_exr(out)[0]


@pytest.fixture(scope="module")
def on_disk_config(tmp_path_factory):
    """ACES 1.3 written to a folder, with a look whose 1D LUT is found by a relative path."""
    folder = tmp_path_factory.mktemp("show")
    (folder / "luts").mkdir()
    codes = np.linspace(0.0, 1.0, 256)
    rows = "\n".join(f"{v:.6f} {v:.6f} {v:.6f}" for v in codes**0.9)
    (folder / "luts" / "grade.cube").write_text(f"LUT_1D_SIZE 256\n{rows}\n")
    config = ocio.Config.CreateFromFile(ACES_13)
    config.setSearchPath("luts")
    look = ocio.Look(name="Show Grade", processSpace="ACEScct")
    look.setTransform(ocio.FileTransform(src="grade.cube", interpolation=ocio.INTERP_LINEAR))
    config.addLook(look)
    config.addDisplayView(
        "sRGB - Display", "Show Graded", "ACES 1.0 - SDR Video", "sRGB - Display", "Show Grade"
    )
    active = list(config.getActiveViews())
    if active:  # a config that lists its active views must list the new one
        config.setActiveViews(", ".join([*active, "Show Graded"]))
    path = folder / "config.ocio"
    path.write_text(config.serialize())
    return path


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Commands run from a folder that holds none of the inputs."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@configs
def test_a_tagged_jpeg_with_nothing_named_renders_as_under_the_bundled_config(
    config, jpeg_plate, bundled_render, tmp_path
):
    out = tmp_path / "pan.exr"
    assert main(["--ocio", config, "render", str(jpeg_plate), "-o", str(out), "--no-progress"]) == 0
    rgb, spec = read_exr(out)
    np.testing.assert_allclose(rgb, bundled_render, rtol=2**-9, atol=1e-4)
    assert rgb.max() > 1.2  # the sun was reconstructed above the plate's 1.0
    assert spec["hdr_plugin:outputColorspace"] == _own_name(config, "lin_rec2020")
    assert spec["hdr_plugin:ocioConfig"] == config


@configs
def test_the_config_s_own_name_of_the_plate_encoding_gives_the_same_render(
    config, jpeg_plate, bundled_render, tmp_path
):
    out = tmp_path / "pan.exr"
    named = _own_name(config, "srgb_texture")  # "sRGB - Texture" in ACES 1.3 v1 configs
    argv = ["--ocio", config, "render", str(jpeg_plate), "-o", str(out), "--no-progress"]
    assert main([*argv, "--input-colorspace", named]) == 0
    np.testing.assert_allclose(read_exr(out)[0], bundled_render, rtol=2**-9, atol=1e-4)


@configs
def test_auto_estimates_the_curve_under_every_config(config, jpeg_plate, tmp_path):
    out = tmp_path / "pan.exr"
    argv = ["--ocio", config, "render", str(jpeg_plate), "-o", str(out), "--no-progress"]
    assert main([*argv, "--input-colorspace", "auto"]) == 0
    _, spec = read_exr(out)
    assert spec["hdr_plugin:inputCurve"] in ("srgb_rec709_scene", "estimated")


def _sdr_views(color: ColorContext) -> list[str]:
    config = color.config
    return [
        f"{display}/{view}"
        for display in config.getDisplays()
        if config.getColorSpace(display) is not None
        and config.getColorSpace(display).getEncoding() == "sdr-video"
        for view in config.getViews(display)
    ]


@configs
def test_input_view_decodes_by_the_inverse_of_every_sdr_view(config):
    color = ColorContext(config)
    plate = gradient_plate(24, 32)
    clipped = (plate >= 0.99).any(axis=-1)
    decoded = []
    for view in _sdr_views(color):
        try:
            node = ReconstructNode(ReconstructSettings(input_view=view), color)
        except ColorError as exc:  # a display no plate encoding matches (P3-DCI, Rec.2020)
            assert view.partition("/")[0] not in REC709_DISPLAYS, exc
            assert repr(view) in str(exc)
            continue
        out = node.process_frame(plate).rgb
        plain = color.convert_view(plate, "lin_rec2020_scene", view, inverse=True)
        np.testing.assert_allclose(out[~clipped], plain[~clipped], rtol=1e-4, atol=1e-6)
        assert (out[clipped] >= plain[clipped] - 1e-5).all()  # the model only lifts light
        decoded.append(view)
    for display in REC709_DISPLAYS:
        if display in color.config.getDisplays():
            assert any(v.startswith(f"{display}/") for v in decoded), display
    assert decoded


def test_the_aces_1_sdr_view_gains_above_its_white(tmp_path):
    color = ColorContext(ACES_13)
    view = "sRGB - Display/ACES 1.0 - SDR Video"
    node = ReconstructNode(ReconstructSettings(input_view=view), color)
    plate = color.convert_view(
        gradient_plate(48, 64) * np.float32(64.0), "lin_rec2020_scene", view
    )  # the gradient's blob clips at the view's white (scene-linear 16.3)
    out = node.process_frame(np.clip(plate, 0.0, 1.0)).rgb
    plain = color.convert_view(np.clip(plate, 0, 1), "lin_rec2020_scene", view, inverse=True)
    white = (plate >= 0.995).all(axis=-1)
    assert white.sum() > 100 and (out[white] > plain[white] * 1.2).any()
    below = (plate < 0.99).all(axis=-1)
    np.testing.assert_allclose(out[below], plain[below], rtol=1e-4, atol=1e-6)


def test_an_on_disk_config_with_a_relative_lut_and_a_look(on_disk_config, elsewhere, jpeg_plate):
    view = "sRGB - Display/Show Graded"
    out = elsewhere / "graded.exr"
    argv = ["--ocio", str(on_disk_config), "render", str(jpeg_plate), "-o", str(out)]
    assert main([*argv, "--input-view", view, "--no-progress"]) == 0
    color = ColorContext(str(on_disk_config))
    code = oiio.ImageBuf(str(jpeg_plate)).get_pixels(oiio.FLOAT)
    plain = color.convert_view(code, "lin_rec2020_scene", view, inverse=True)
    without_look = color.convert_view(
        code, "lin_rec2020_scene", "sRGB - Display/ACES 1.0 - SDR Video", inverse=True
    )
    rgb = read_exr(out)[0]
    below = (code < 0.99).all(axis=-1)
    np.testing.assert_allclose(rgb[below], plain[below], rtol=2**-9, atol=1e-4)
    assert np.abs(plain - without_look)[below].mean() > 1e-3  # the look was undone too


@configs
def test_batch_renders_every_frame_under_the_config(config, tmp_path, elsewhere):
    shots = tmp_path / "shots.toml"
    shots.write_text(
        f'[defaults]\noutput = "{tmp_path}/renders/{{shot}}.####.exr"\n'
        f'[[shot]]\nname = "sh010"\nplate = "{SAMPLE_PLATES}/pan.####.png"\n'
        'frames = "1011-1012"\n'
    )
    assert main(["--ocio", config, "batch", str(shots), "--no-progress"]) == 0
    assert len(list((tmp_path / "renders").glob("sh010.*.exr"))) == 2


@configs
def test_view_takes_its_defaults_from_the_config_and_an_input_colorspace(config, tmp_path):
    from hdr_plugin.ui.viewer_state import ViewerState

    color = ColorContext(config)
    state = ViewerState().for_config(color)
    display = color.config.getDefaultDisplay()
    assert (state.display, state.view) == (display, color.config.getDefaultView(display))
    still = tmp_path / "still.png"
    named = _own_name(config, "srgb_texture")
    argv = ["--ocio", config, "view", str(PLATE), "--screenshot", str(still)]
    assert main([*argv, "--input-colorspace", named]) == 0
    assert still.stat().st_size > 0


@configs
def test_pq_output_puts_reference_white_at_203_nits(config):
    color = ColorContext(config)
    pq = _own_name(config, "rec2100_pq_display")
    white = np.ones((2, 2, 3), np.float32)  # scene-linear 1.0 under the linear model
    for name in (pq, "pq_rec2020_display"):
        settings = ReconstructSettings(
            model="linear", input_colorspace="lin_rec2020_scene", output_colorspace=name
        )
        out = ReconstructNode(settings, color).process_frame(white)
        # ST 2084 code of 203 cd/m²
        np.testing.assert_allclose(out.rgb, 0.58069, atol=2e-4)
        assert out.light_levels[0] == pytest.approx(203.0, rel=1e-3)


@configs
def test_node_menus_hold_their_defaults(config):
    color = ColorContext(config)
    for param in node_parameters(color):
        if param.choices is not None and param.default is not None:
            assert param.default in param.choices, (param.name, param.default)
    output = next(p for p in node_parameters(color) if p.name == "output_colorspace")
    assert output.default == _own_name(config, "lin_rec2020")


@configs
def test_export_sidecar_names_the_config_s_colourspaces(config, tmp_path):
    out = tmp_path / "hu.pt"
    assert main(["--ocio", config, "export", "highlight-unet", "-o", str(out)]) == 0
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["input_colorspace"] == _own_name(config, "lin_rec709")
    assert sidecar["output_colorspace"] == _own_name(config, "lin_rec2020")
    assert sidecar["input_interop_id"] == "lin_rec709_scene"


def test_the_nuke_node_builds_its_menus_from_a_show_config(monkeypatch):
    import importlib
    import sys

    from tests import nuke_standin

    nuke_standin.reset()
    monkeypatch.setitem(sys.modules, "nuke", nuke_standin)
    sys.modules.pop("hdr_plugin.host_adapters.nuke.node", None)
    adapter = importlib.import_module("hdr_plugin.host_adapters.nuke.node")
    nuke_standin.root()["customOCIOConfigPath"].setValue(ACES_13)
    hdr = adapter.create()
    assert hdr["in_colorspace"].value() == "sRGB - Texture"
    assert hdr["out_colorspace"].value() == "Linear Rec.2020"
    assert "sRGB - Display/ACES 1.0 - SDR Video" in hdr["input_view"].values


def test_a_config_without_the_working_space_says_what_to_add(tmp_path):
    config = ocio.Config.CreateRaw()
    path = tmp_path / "bare.ocio"
    path.write_text(config.serialize())
    with pytest.raises(ColorError, match="lin_rec2020_scene") as error:
        ColorContext(str(path))
    assert "interchange roles" in str(error.value) and "bare.ocio" in str(error.value)


def test_an_unknown_colourspace_is_one_line_that_says_what_to_pass(tmp_path, capsys):
    out = tmp_path / "out.exr"
    argv = ["--ocio", ACES_13, "render", str(PLATE), "-o", str(out), "--no-progress"]
    assert main([*argv, "--input-colorspace", "Show LogC"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "'Show LogC'" in error and ACES_13 in error
    assert "interop ID" in error and "sRGB - Texture" in error and not out.exists()


def test_the_configs_cover_aces_1_and_2_studio_and_cg():
    names = " ".join(BUILTIN)
    for kind in ("studio-config", "cg-config"):
        assert f"{kind}-v1.0.0_aces-v1.3" in names and f"{kind}-v4.0.0_aces-v2.0" in names


def _show_lut(folder, size: int = 4096):
    """A show's 1D ``.cube`` from ACEScct (ACES configs' color_timing) to display code."""
    folder.mkdir(parents=True, exist_ok=True)
    codes = np.clip((np.linspace(0.0, 1.0, size) - 0.1) * 1.6, 0.0, 1.0)
    rows = "\n".join(f"{v:.7f} {v:.7f} {v:.7f}" for v in codes)
    path = folder / "show.cube"
    path.write_text(f'TITLE "show"\nLUT_1D_SIZE {size}\n{rows}\n')
    return path


def test_input_lut_decodes_a_plate_that_went_through_a_show_lut(tmp_path, elsewhere):
    lut = _show_lut(tmp_path / "luts")
    color = ColorContext(ACES_13)
    scene = np.maximum(
        color.convert(gradient_plate(48, 64), "srgb_rec709_scene", "lin_rec2020_scene"), 0
    ) * np.float32(16.0)  # the LUT reaches its white at ACEScct 0.725 (linear 7.9)
    through = color.convert_lut(scene, "lin_rec2020_scene", str(lut), "ACEScct")
    plate = write_image(tmp_path / "plate.exr", np.clip(through, 0.0, 1.0), "float")
    out = tmp_path / "out.exr"
    argv = ["--ocio", ACES_13, "render", str(plate), "-o", str(out), "--no-progress"]
    assert main([*argv, "--input-lut", str(lut.relative_to(tmp_path).as_posix())]) == 1
    assert main([*argv, "--input-lut", str(lut)]) == 0
    rgb = read_exr(out)[0]
    below = (through < 0.98).all(axis=-1) & (through > 0.02).all(axis=-1)
    np.testing.assert_allclose(rgb[below], scene[below], rtol=2e-3, atol=1e-4)  # half floats
    clipped = (through >= 1.0).any(axis=-1)
    assert clipped.any() and rgb[clipped].max() > scene[below].max()
    # The LUT reads what --input-colorspace names (here the same ACEScct, by its alias).
    again = tmp_path / "again.exr"
    argv = ["--ocio", ACES_13, "render", str(plate), "-o", str(again), "--no-progress"]
    assert main([*argv, "--input-lut", str(lut), "--input-colorspace", "acescct_ap1"]) == 0
    np.testing.assert_array_equal(read_exr(again)[0], rgb)


def test_input_lut_in_a_shot_config_is_relative_to_it(tmp_path, elsewhere):
    _show_lut(tmp_path / "show" / "luts")
    shots = tmp_path / "show" / "shots.toml"
    shots.write_text(
        '[defaults]\noutput = "renders/{shot}.####.exr"\ninput_lut = "luts/show.cube"\n'
        f'[[shot]]\nname = "sh010"\nplate = "{SAMPLE_PLATES}/pan.####.png"\n'
        'frames = "1012"\n'
    )
    assert main(["--ocio", ACES_13, "batch", str(shots), "--no-progress"]) == 0
    (render,) = (tmp_path / "show" / "renders").glob("sh010.*.exr")
    knobs = json.loads(read_exr(render)[1]["hdr_plugin:knobs"])
    assert knobs["input_lut"] == str(tmp_path / "show" / "luts" / "show.cube")


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--input-lut", "missing.cube"], "input LUT missing.cube: no such file"),
        (["--input-lut", "x.cube", "--input-view", "sRGB - Display/Raw"], "give one"),
        (["--input-lut", "x.cube", "--input-colorspace", "auto"], "give one"),
    ],
)
def test_a_bad_input_lut_is_one_line(extra, message, tmp_path, elsewhere, capsys):
    (elsewhere / "x.cube").write_text("LUT_1D_SIZE 2\n0 0 0\n1 1 1\n")
    out = tmp_path / "out.exr"
    argv = ["--ocio", ACES_13, "render", str(PLATE), "-o", str(out), "--no-progress", *extra]
    assert main(argv) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and message in error and not out.exists()


def test_the_cli_process_says_nothing_of_ocio_s_info_lines(tmp_path):
    """An OCIO 2.1 built-in config makes OCIO print info lines on load; the CLI shows none."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OCIO_LOGGING_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-m", "hdr_plugin", "--ocio", "ocio://cg-config-v1.0.0_aces-v1.3_ocio-v2.1",
         "render", str(PLATE), "-o", str(tmp_path / "o.exr"), "-m", "linear", "--no-progress"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "[OpenColorIO Info]" not in done.stderr and done.stderr.strip() == "", done.stderr
