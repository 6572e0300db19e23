"""The Krita host: layer bytes <-> arrays, the installer, and the plugin inside real Krita.

The last tests run ``kritarunner`` (Krita without a window) on tests/krita_driver.py:
the installed plugin is imported as Krita imports it, its dialog is filled and run, and
what Krita then holds is compared with the CLI's render of the same plate.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hdr_plugin.cli import main as cli
from hdr_plugin.errors import OutputError, PlateError
from hdr_plugin.host_adapters.bootstrap import without_virtualenv
from hdr_plugin.host_adapters.krita.install import enable_in_kritarc, install_krita
from hdr_plugin.host_adapters.krita.layers import (
    PROFILE_COLORSPACES,
    document_bytes,
    layer_pixels,
    reconstruct_layer,
    selection_matte,
)
from hdr_plugin.node import ReconstructSettings
from tests.conftest import read_exr, write_image

ROOT = Path(__file__).resolve().parents[1]
PLATE = ROOT / "samples" / "plates" / "pan.1012.png"


# -- layers --------------------------------------------------------------------------------


def test_integer_layers_are_read_from_kritas_bgra_order():
    bgra = np.array([[[10, 20, 30, 255], [0, 0, 255, 128]]], np.uint8)
    rgba = layer_pixels(bgra.tobytes(), 2, 1, "RGBA", "U8")
    np.testing.assert_allclose(rgba * 255, [[[30, 20, 10, 255], [255, 0, 0, 128]]], atol=1e-4)
    rgba16 = layer_pixels((bgra.astype("<u2") * 257).tobytes(), 2, 1, "RGBA", "U16")
    np.testing.assert_allclose(rgba16, rgba, atol=1e-7)


@pytest.mark.parametrize("depth", ["F16", "F32"])
def test_float_layers_are_rgba_and_keep_values_above_one(depth):
    values = np.array([[[2.5, 0.5, 0.25, 1.0]]], {"F16": "<f2", "F32": "<f4"}[depth])
    np.testing.assert_array_equal(layer_pixels(values.tobytes(), 1, 1, "RGBA", depth), values)


def test_grey_layers_become_rgb():
    grey = np.array([[[51, 255]]], np.uint8)
    np.testing.assert_allclose(
        layer_pixels(grey.tobytes(), 1, 1, "GRAYA", "U8"), [[[0.2] * 3 + [1]]]
    )


def test_other_colour_models_and_bad_sizes_are_one_line_errors():
    with pytest.raises(PlateError, match="CMYKA layer; convert the image to RGB"):
        layer_pixels(b"\0" * 5, 1, 1, "CMYKA", "U8")
    with pytest.raises(PlateError, match="3 bytes for 1x1 RGBA U8 .4 expected"):
        layer_pixels(b"\0" * 3, 1, 1, "RGBA", "U8")


def test_documents_receive_float32_rgba_bytes():
    rgba = np.random.default_rng(0).random((3, 2, 4), np.float32) * 4
    back = np.frombuffer(document_bytes(rgba), "<f4").reshape(3, 2, 4)
    np.testing.assert_array_equal(back, rgba)


def test_a_selection_is_a_matte_in_0_1():
    np.testing.assert_allclose(selection_matte(bytes([0, 255, 51, 0]), 2, 2), [[0, 1], [0.2, 0]])


def test_every_known_profile_is_a_colourspace_of_the_bundled_config(color):
    assert {color.canonical(v) for v in PROFILE_COLORSPACES.values()} <= set(color.colorspaces())


def test_the_layers_profile_names_its_encoding(color):
    rgba = np.ones((8, 8, 4), np.float32) * 0.5
    srgb = reconstruct_layer(rgba, ReconstructSettings(), color, profile="sRGB-elle-V2-srgbtrc.icc")
    linear = reconstruct_layer(rgba, ReconstructSettings(), color, profile="sRGB-elle-V2-g10.icc")
    assert srgb.input_colorspace == "sRGB Encoded Rec.709 (sRGB)"
    assert linear.input_colorspace == "Linear Rec.709 (sRGB)"
    assert linear.rgba[0, 0, 0] > srgb.rgba[0, 0, 0] * 2  # 0.5 linear vs 0.5 sRGB (0.214)
    named = ReconstructSettings(input_colorspace="Linear Rec.709 (sRGB)")
    assert reconstruct_layer(rgba, named, color, profile="sRGB built-in").input_colorspace == (
        "Linear Rec.709 (sRGB)"
    )  # the knob wins over the profile


def test_a_4k_layer_is_reconstructed_in_tiles_like_a_cli_frame(color):
    ramp = np.linspace(0, 1, 3840, dtype=np.float32)
    rgba = np.ones((2160, 3840, 4), np.float32)
    rgba[..., :3] = ramp[None, :, None]
    result = reconstruct_layer(rgba, ReconstructSettings(), color)
    assert result.rgba.shape == (2160, 3840, 4)
    assert np.isfinite(result.rgba).all()
    np.testing.assert_array_equal(result.rgba[..., 3], 1.0)  # the layer's alpha is kept


# -- installer -----------------------------------------------------------------------------


def test_enabling_touches_only_the_plugins_line():
    assert enable_in_kritarc("") == "[python]\nenable_hdr_reconstruct=true\n"
    text = "[General]\nx=1\n\n[python]\nenable_other=true\nenable_hdr_reconstruct=false\n[Z]\n"
    assert enable_in_kritarc(text) == text.replace("reconstruct=false", "reconstruct=true")
    added = enable_in_kritarc("[python]\nenable_other=true\n")
    assert added == "[python]\nenable_hdr_reconstruct=true\nenable_other=true\n"


def test_install_copies_the_plugin_and_records_this_environment(tmp_path):
    assert cli(["install-krita", "--resources", str(tmp_path / "krita"),
                "--kritarc", str(tmp_path / "kritarc")]) == 0  # fmt: skip
    pykrita = tmp_path / "krita" / "pykrita"
    desktop = (pykrita / "hdr_reconstruct.desktop").read_text()
    assert "X-KDE-Library=hdr_reconstruct" in desktop
    assert "ServiceTypes=Krita/PythonPlugin" in desktop
    record = json.loads((pykrita / "hdr_reconstruct" / "environment.json").read_text())
    import torch

    # where this environment's packages (torch, and hdr_plugin's install record) live
    assert str(Path(torch.__file__).parents[1]) in record["site_packages"]
    assert (tmp_path / "kritarc").read_text() == "[python]\nenable_hdr_reconstruct=true\n"


def test_install_where_no_folder_can_be_made_is_one_line(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutputError, match="file/krita/pykrita: cannot install the Krita plugin"):
        install_krita(tmp_path / "file" / "krita", enable=False)


# -- inside Krita ----------------------------------------------------------------------------

KRITARUNNER = shutil.which("kritarunner")
needs_krita = pytest.mark.skipif(
    KRITARUNNER is None, reason="kritarunner not installed (apt-get install krita python3-pyqt5)"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    resources = tmp_path_factory.mktemp("krita-resources")
    return install_krita(resources, enable=False).package.parent


def run_in_krita(case: str, pykrita: Path, out: Path, **extra: str) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **extra,
        "HDR_KRITA_CASE": case,
        "HDR_KRITA_OUT": str(out),
        "HDR_KRITA_PYKRITA": str(pykrita),
        "HDR_KRITA_PLATE": str(PLATE),
        "PYTHONPATH": str(ROOT / "tests"),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_DATA_HOME": str(out / "data"),
        "XDG_CONFIG_HOME": str(out / "config"),
        "XDG_RUNTIME_DIR": str(out),
    }
    # As a user must start Krita: not from a shell with this venv active.
    run = subprocess.run(
        [KRITARUNNER, "-s", "krita_driver", "-f", "main"],
        env=without_virtualenv(env), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    result = out / "result.json"
    assert result.exists(), (
        f"kritarunner (rc {run.returncode}) wrote nothing:\n{(run.stdout + run.stderr)[-3000:]}"
    )
    return json.loads(result.read_text())


@pytest.fixture(scope="module")
def cli_render(tmp_path_factory) -> tuple[np.ndarray, object]:
    out = tmp_path_factory.mktemp("cli") / "pan.exr"
    assert cli(["render", str(PLATE), "-o", str(out), "--write-masks", "--no-progress"]) == 0
    return read_exr(out)


@needs_krita
def test_the_plugin_in_krita_makes_a_linear_rec2020_document_equal_to_the_cli(
    installed, tmp_path, cli_render
):
    result = run_in_krita("default", installed, tmp_path)
    assert result["extensions"] == 1  # importing the installed package registered it
    assert result["messages"] == []
    assert result["plate"] == ["RGBA", "U8", "sRGB-elle-V2-srgbtrc.icc"]
    assert (result["model"], result["depth"]) == ("RGBA", "F32")
    assert result["profile"] == "Rec2020-elle-V4-g10.icc"
    assert result["layers"] == [["highlight-unet (Linear Rec.2020)", "paintlayer", True]]
    document = np.load(tmp_path / "layer0.npy")
    expected, _ = cli_render
    np.testing.assert_allclose(document[..., :3], expected[..., :3], rtol=2**-10, atol=1e-6)
    assert expected[..., :3].max() > 1.5  # the comparison covers reconstructed highlights
    np.testing.assert_array_equal(document[..., 3], 1.0)


@needs_krita
def test_a_16_bit_layer_gives_the_cli_render_of_the_same_16_bits(installed, tmp_path):
    result = run_in_krita("u16", installed, tmp_path)
    assert result["plate"][:2] == ["RGBA", "U16"]
    width, height = result["size"]
    held = layer_pixels((tmp_path / "plate.u16").read_bytes(), width, height, "RGBA", "U16")
    eight_bit, _ = read_exr(PLATE)
    # Krita's own 8 -> 16-bit conversion (lcms) moves code values by a few 16-bit steps...
    np.testing.assert_allclose(held[..., :3], eight_bit[..., :3], atol=0.25 / 255)
    # ...which the model may amplify above the clip: compare with the CLI on those 16 bits
    plate16 = tmp_path / "plate16.png"
    write_image(plate16, held[..., :3], "uint16")
    exr = tmp_path / "cli16.exr"
    assert cli(["render", str(plate16), "-o", str(exr), "--no-progress"]) == 0
    expected, _ = read_exr(exr)
    document = np.load(tmp_path / "layer0.npy")
    np.testing.assert_allclose(document[..., :3], expected[..., :3], rtol=2**-10, atol=1e-6)


@needs_krita
def test_the_mask_layer_is_hidden_and_the_exr_goes_through_the_core_writer(
    installed, tmp_path, cli_render
):
    result = run_in_krita("mask", installed, tmp_path)
    assert result["layers"][1] == ["highlight mask", "paintlayer", False]
    expected, _ = cli_render
    mask = np.load(tmp_path / "layer1.npy")
    np.testing.assert_allclose(mask[..., 0], expected[..., 3], atol=1e-3)
    assert mask[..., 0].max() > 0.5
    pixels, spec = read_exr(tmp_path / "krita.exr")
    assert list(spec.channelnames) == ["R", "G", "B", "A", "mask.highlight"]
    assert spec.getattribute("hdr_plugin:model") == "highlight-unet"
    assert spec.getattribute("hdr_plugin:host") == "Krita"
    assert spec.getattribute("hdr_plugin:inputFile") == PLATE.name
    assert spec.getattribute("hdr_plugin:outputColorspace") == "Linear Rec.2020"
    np.testing.assert_allclose(
        spec.getattribute("chromaticities"),
        (0.708, 0.292, 0.170, 0.797, 0.131, 0.046, 0.3127, 0.3290),
        atol=1e-4,
    )
    np.testing.assert_allclose(pixels[..., :3], expected[..., :3], rtol=2**-10, atol=1e-6)


@needs_krita
def test_the_selection_limits_where_the_model_applies(installed, tmp_path, cli_render):
    result = run_in_krita("selection", installed, tmp_path)
    assert result["messages"] == []
    document = np.load(tmp_path / "layer0.npy")[..., :3]
    expected, _ = cli_render
    plain = tmp_path / "plain.exr"
    assert cli(["render", str(PLATE), "-o", str(plain), "--mix", "0"]) == 0
    plain_pixels, _ = read_exr(plain)
    half = document.shape[1] // 2  # the sun is left of it, outside the selection
    inside, outside = np.s_[:, half:], np.s_[:, :half]
    np.testing.assert_allclose(document[inside], expected[inside][..., :3], rtol=2**-10, atol=1e-6)
    np.testing.assert_allclose(
        document[outside], plain_pixels[outside][..., :3], rtol=2**-10, atol=1e-6
    )
    assert np.abs(expected[outside][..., :3] - plain_pixels[outside][..., :3]).max() > 0.5


@needs_krita
def test_a_bad_knob_is_one_line_in_krita_and_creates_nothing(installed, tmp_path):
    result = run_in_krita("bad", installed, tmp_path)
    assert result["created"] == 0
    (message,) = result["messages"]
    assert message.startswith("HDR Reconstruct: ")
    assert "Not A Colourspace" in message
    assert "\n" not in message


@needs_krita
def test_under_a_show_config_the_plugin_decodes_by_the_show_s_view(installed, tmp_path):
    config = "ocio://studio-config-v1.0.0_aces-v1.3_ocio-v2.1"
    view = "sRGB - Display/ACES 1.0 - SDR Video"
    result = run_in_krita(
        "show-view", installed, tmp_path / "krita", OCIO=config, HDR_KRITA_VIEW=view
    )
    assert result["messages"] == [] and result["profile"] == "Rec2020-elle-V4-g10.icc"
    assert result["layers"] == [["highlight-unet (Linear Rec.2020)", "paintlayer", True]]
    out = tmp_path / "cli.exr"
    argv = ["--ocio", config, "render", str(PLATE), "-o", str(out), "--input-view", view]
    assert cli([*argv, "--no-progress"]) == 0
    expected, _ = read_exr(out)
    document = np.load(tmp_path / "krita" / "layer0.npy")
    np.testing.assert_allclose(document[..., :3], expected[..., :3], rtol=2**-10, atol=1e-5)
    assert expected[..., :3].max() > 10.0  # the inverse ACES view, not an sRGB decode


def test_krita_is_started_without_an_active_venv(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    environ = {"VIRTUAL_ENV": str(venv), "PATH": f"{venv}/bin:/usr/bin", "HOME": "/h"}
    env = without_virtualenv(environ)
    assert env == {"PATH": "/usr/bin", "HOME": "/h"}
