"""Viewer and panel: composition rules (no Qt) and the widgets driven offscreen (pytest-qt)."""

import shutil

import numpy as np
import pytest

from hdr_plugin.cli import main
from hdr_plugin.models import BUNDLED_WEIGHTS, DEFAULT_MODEL
from hdr_plugin.ui.controller import ViewerController
from hdr_plugin.ui.viewer_state import ViewerState, compose, false_colour, probe
from tests.conftest import SAMPLE_PLATES, write_image

try:  # the still's layout constants live with the Qt widgets
    from hdr_plugin.ui.widgets import LABEL_HEIGHT, SCOPE_HEIGHT
except ImportError:  # pragma: no cover - PySide6 is a dev dependency
    LABEL_HEIGHT, SCOPE_HEIGHT = 0, 0

PLATES = str(SAMPLE_PLATES / "pan.####.png")


def images():
    plate = np.full((4, 6, 3), 0.5, np.float32)
    hdr = np.full((4, 6, 3), 0.18, np.float32)
    hdr[0, 5] = 50.0
    return plate, hdr


def test_wipe_shows_plate_left_and_reconstruction_right(color):
    plate, hdr = images()
    state = ViewerState(view="Un-tone-mapped")
    all_b = compose(plate, hdr, state.replace(wipe=0.0), color, plate_space="srgb")
    all_a = compose(plate, hdr, state.replace(wipe=1.0), color, plate_space="srgb")
    half = compose(plate, hdr, state.replace(wipe=0.5), color, plate_space="srgb")
    np.testing.assert_array_equal(half[:, :3], all_a[:, :3])
    np.testing.assert_array_equal(half[:, 3:], all_b[:, 3:])
    assert abs(int(all_a[1, 1, 0]) - 128) <= 1  # sRGB 0.5 shown as is, un-tone-mapped


def test_exposure_in_stops_and_clipping_indicator(color):
    plate, hdr = images()
    state = ViewerState(view="Un-tone-mapped", wipe=0.0)
    base = compose(plate, hdr, state, color, plate_space="srgb").astype(int)
    brighter = compose(plate, hdr, state.replace(exposure=1.0), color, plate_space="srgb")
    assert brighter[1, 1, 0] > base[1, 1, 0]
    clipped = compose(plate, hdr, state.replace(clipping=True), color, plate_space="srgb")
    assert tuple(clipped[0, 5]) == (255, 0, 255) and tuple(clipped[1, 1]) != (255, 0, 255)


def test_mask_overlay_tints_only_masked_pixels(color):
    plate, hdr = images()
    mask = np.zeros((4, 6), np.float32)
    mask[2, 2] = 1.0
    state = ViewerState(view="Un-tone-mapped", wipe=0.0, show_mask=True, overlay_opacity=1.0)
    out = compose(plate, hdr, state, color, plate_space="srgb", mask=mask)
    assert tuple(out[2, 2]) == (255, 77, 0)
    assert tuple(out[1, 1]) != (255, 77, 0)


def test_false_colour_marks_stops_around_middle_grey():
    _, hdr = images()
    colours = false_colour(hdr)
    assert tuple(colours[1, 1]) == (0.5, 0.5, 0.5)  # 18 % grey: the neutral band
    assert tuple(colours[0, 5]) == (1.0, 1.0, 1.0)  # > 6 stops over


def test_probe_reads_plate_and_scene_linear_values():
    plate, hdr = images()
    value = probe(plate, hdr, 5, 0)
    assert value.plate == (0.5, 0.5, 0.5)
    assert value.scene_linear == (50.0, 50.0, 50.0)
    assert value.nits == pytest.approx(50 * 203, rel=1e-4)
    assert probe(plate, hdr, 6, 0) is None


@pytest.fixture
def window(qtbot, color):
    from hdr_plugin.ui.widgets import ViewerWindow

    window = ViewerWindow(ViewerController(PLATES, color=color))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.viewer.frame is not None, timeout=20_000)
    return window


def test_switching_model_re_renders_the_frame(qtbot, window):
    assert window.viewer.frame.result.rgb.max() > 1.5  # the default reconstructs the sun
    window.panel.editors["model"].setCurrentText("linear")
    assert window.controller.settings.model == "linear"
    # A render of the old model still in flight may land first: wait for the new one.
    qtbot.waitUntil(
        lambda: abs(float(window.viewer.frame.result.rgb.max()) - 1.0) <= 0.02, timeout=20_000
    )


def test_the_model_options_placeholder_is_shown_whole(window):
    options = window.panel.options
    text = options.placeholderText()
    assert options.width() >= options.fontMetrics().horizontalAdvance(text)


def test_bad_knob_is_shown_in_the_panel(qtbot, window):
    window.panel.editors["output_colorspace"].setCurrentText("Raw")
    window.panel.editors["mask_threshold"].setValue(0.999)
    assert window.panel.error.text() == ""  # valid values pass
    before = window.controller.settings
    window.panel.editors["model"].setCurrentText("inverse-mobius")
    window.panel.options.setText("knee=7")  # outside the model's range
    window.panel.options.editingFinished.emit()
    assert "knee" in window.panel.error.text()
    assert window.controller.settings.model_options == before.model_options  # not applied
    window.panel.options.setText("knee=0.5")
    window.panel.options.editingFinished.emit()
    assert window.panel.error.text() == ""
    assert window.controller.settings.model_options == {"knee": "0.5"}


def test_panel_sets_the_matte_path(qtbot, window, tmp_path):
    window.panel.editors["matte"].setText(str(tmp_path / "missing.####.png"))
    window.panel.editors["matte"].editingFinished.emit()
    assert "missing" in window.panel.error.text()


def test_wipe_overlays_and_display_controls(window):
    window.wipe.setValue(250)
    assert window.viewer.state.wipe == pytest.approx(0.25)
    window.mask_overlay.setChecked(True)
    window.false_colour.setChecked(True)
    window.clipping.setChecked(True)
    state = window.viewer.state
    assert state.show_mask and state.false_colour and state.clipping
    window.exposure.setValue(-2.0)
    assert window.viewer.state.exposure == -2.0
    index = window.display.findText("Rec.2100-PQ - Display / HDR Reference (203 nits)")
    window.display.setCurrentIndex(index)
    assert window.viewer.state.display == "Rec.2100-PQ - Display"


def test_probe_under_the_mouse(qtbot, window):
    from PySide6 import QtCore

    frame = window.viewer.frame
    height, width = frame.plate.shape[:2]
    # A point over the image, whatever the window's size; the cursor is moved there from
    # elsewhere so that Qt sends a move event even if an earlier test left it on that point.
    point = window.viewer.image_to_widget().map(QtCore.QPointF(width / 3, height / 3)).toPoint()
    qtbot.mouseMove(window.viewer, point + QtCore.QPoint(7, 5))
    qtbot.mouseMove(window.viewer, point)
    x, y = window.viewer.widget_to_image(QtCore.QPointF(point))
    qtbot.waitUntil(lambda: f"({x}, {y}) plate" in window.probe_label.text(), timeout=20_000)
    expected = " ".join(f"{v:.3f}" for v in frame.plate[y, x])
    assert f"plate {expected}" in window.probe_label.text()


def test_scrubbing_frames(qtbot, window):
    window.frame_slider.setValue(10)
    qtbot.waitUntil(lambda: window.viewer.state.frame == 10, timeout=20_000)
    assert window.viewer.frame is window.controller.frame(10)


def test_cancel_a_sequence_render(qtbot, window, tmp_path):
    window.render_sequence(tmp_path / "hdr.####.exr")
    window.cancel()
    qtbot.waitUntil(lambda: window.status.text().startswith(("cancelled", "done")), timeout=60_000)
    written = sorted(tmp_path.glob("hdr.*.exr"))
    assert window.status.text().startswith("cancelled") and 0 < len(written) < 24


def test_screenshot_command_writes_the_viewer_with_an_overlay(tmp_path, capsys):
    from hdr_plugin.io import read_image

    plain, overlay = tmp_path / "plain.png", tmp_path / "overlay.png"
    assert main(["view", PLATES, "--screenshot", str(plain)]) == 0
    assert main(["view", PLATES, "--screenshot", str(overlay), "--mask-overlay"]) == 0
    a, b = read_image(plain).rgb, read_image(overlay).rgb
    assert a.shape == (LABEL_HEIGHT + 270 + SCOPE_HEIGHT, 480, 3)  # the plate's own size
    changed = np.abs(b - a).sum(axis=-1) > 0.05
    assert changed.sum() > 1000  # the clipped sun and sky are tinted
    warmer = (b[..., 0] - b[..., 2]) - (a[..., 0] - a[..., 2])
    assert np.median(warmer[changed]) > 0  # towards the orange overlay colour


def test_per_shot_model_assignment_reads_and_writes_the_shot_config(qtbot, tmp_path, color):
    from hdr_plugin.shots import load_shots
    from hdr_plugin.ui.widgets import ViewerWindow

    config = tmp_path / "shots.toml"
    config.write_text(
        f'[defaults]\noutput = "r/{{shot}}.####.exr"\n'
        f'[[shot]]\nname = "sh010"\nplate = "{PLATES}"\nmodel = "inverse-hable"\n'
        f'[[shot]]\nname = "sh020"\nplate = "{PLATES}"\n'
    )
    controller = ViewerController.for_shot(config, "sh010", color)
    assert controller.settings.model == "inverse-hable"
    window = ViewerWindow(controller)
    qtbot.addWidget(window)
    assert window.panel.editors["model"].currentText() == "inverse-hable"
    window.panel.editors["model"].setCurrentText("linear")
    window.panel.editors["mix"].setValue(0.5)
    window.panel.save_button.click()
    shots = {s.name: s for s in load_shots(config, color).shots}
    assert shots["sh010"].settings.model == "linear" and shots["sh010"].settings.mix == 0.5
    assert shots["sh020"].settings.model == DEFAULT_MODEL  # other shots untouched


def test_matte_overlay_colour_opacity_and_gamma(qtbot, tmp_path, color):
    from hdr_plugin.node import ReconstructSettings
    from hdr_plugin.ui.widgets import ViewerWindow
    from tests.conftest import write_image

    matte = np.zeros((270, 480, 1), np.float32)
    matte[:, :240] = 1.0
    write_image(tmp_path / "roto.png", matte)
    settings = ReconstructSettings(matte=str(tmp_path / "roto.png"))
    window = ViewerWindow(ViewerController(PLATES, settings, color))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.viewer.frame is not None, timeout=20_000)
    assert window.viewer.frame.matte[:, :240].min() == 1.0
    window.wipe.setValue(0)
    window.matte_overlay.setChecked(True)
    window.opacity.setValue(1.0)
    window.set_overlay_colour((0.0, 0.0, 1.0))
    window.gamma.setValue(2.0)
    state = window.viewer.state
    assert state.show_matte and state.overlay_opacity == 1.0 and state.gamma == 2.0
    rgb = window.viewer.shown
    assert tuple(rgb[10, 10]) == (0, 0, 255) and tuple(rgb[10, 400]) != (0, 0, 255)


def test_model_selector_shows_descriptions_and_disables_models_without_weights(
    qtbot, tmp_path, color, monkeypatch
):
    from PySide6 import QtCore

    from hdr_plugin.ui.widgets import PanelWidget

    # Only the default model's weights there.
    for suffix in (".safetensors", ".json"):
        shutil.copy(BUNDLED_WEIGHTS / f"{DEFAULT_MODEL}{suffix}", tmp_path)
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(tmp_path))
    panel = PanelWidget(ViewerController(PLATES, color=color))
    qtbot.addWidget(panel)
    combo = panel.editors["model"]
    index = combo.findText("layered")
    assert "no trained weights" in combo.itemData(index, QtCore.Qt.ToolTipRole)
    assert not combo.model().item(index).isEnabled()
    assert combo.model().item(combo.findText("linear")).isEnabled()


# -- shot review: the picture as a supervisor reads it (issue: viewer review) ------------


def still(tmp_path, name, *flags):
    """``hdr-plugin view`` of frame 1012 as a review still: (whole image, frame region)."""
    from hdr_plugin.io import read_image

    out = tmp_path / name
    assert main(["view", PLATES, "--frame", "1012", "--screenshot", str(out), *flags]) == 0
    pixels = np.round(read_image(out).rgb * 255).astype(int)
    return pixels, pixels[LABEL_HEIGHT : LABEL_HEIGHT + 270]


def test_wipe_1_shows_the_plate_as_delivered(tmp_path):
    from hdr_plugin.io import read_image

    _, frame = still(tmp_path, "plate.png", "--wipe", "1")
    delivered = np.round(read_image(SAMPLE_PLATES / "pan.1012.png").rgb * 255).astype(int)
    assert np.abs(frame - delivered).max() <= 1  # the file's code values, no view transform


def test_wipe_0_shows_the_reconstruction_through_the_view(tmp_path, color):
    _, frame = still(tmp_path, "hdr.png", "--wipe", "0")
    controller = ViewerController(PLATES, color=color)
    index = controller.frame_index(1012)
    expected = controller.composed(controller.frame(index), ViewerState(wipe=0.0))
    assert np.abs(frame - expected.astype(int)).max() <= 1
    plate, _ = still(tmp_path, "plate.png", "--wipe", "1")
    assert np.abs(frame - plate[LABEL_HEIGHT : LABEL_HEIGHT + 270]).mean() > 5  # not the plate


def test_plate_in_view_shows_the_plate_through_the_hdr_view(tmp_path):
    _, delivered = still(tmp_path, "a.png", "--wipe", "1")
    _, in_view = still(tmp_path, "b.png", "--wipe", "1", "--plate-in-view")
    assert delivered.mean() - in_view.mean() > 10  # the SDR view darkens mid-grey


def test_compare_shows_a_second_model_as_side_a(tmp_path):
    _, linear_as_a = still(tmp_path, "a.png", "--wipe", "1", "--compare", "linear")
    _, linear_as_b = still(tmp_path, "b.png", "--wipe", "0", "--model", "linear")
    _, default_as_b = still(tmp_path, "c.png", "--wipe", "0")
    np.testing.assert_array_equal(linear_as_a, linear_as_b)
    assert np.abs(linear_as_a - default_as_b).max() > 20  # two models, visibly different


def test_the_still_has_a_luminance_scope_with_reference_white_and_1000_nit_marks(tmp_path):
    from hdr_plugin.ui.viewer_state import SCOPE_MARKS, scope_x

    image, _ = still(tmp_path, "scope.png", "--wipe", "0")
    scope = image[LABEL_HEIGHT + 270 + 30 : LABEL_HEIGHT + 270 + SCOPE_HEIGHT - 18]
    for nits, colour in SCOPE_MARKS:
        column = scope[:, scope_x(nits, image.shape[1])]
        assert (np.abs(column - colour).max(axis=-1) <= 1).mean() > 0.5, nits
    bars = (np.abs(scope - 170) <= 1).all(axis=-1)
    assert bars[:, : scope_x(100, image.shape[1])].any()  # pixels around SDR levels
    assert bars[:, scope_x(203, image.shape[1]) + 1 :].any()  # and reconstructed highlights


def test_luminance_scope_reads_cd_m2_from_the_white_level():
    from hdr_plugin.ui.viewer_state import luminance_scope

    hdr = np.zeros((2, 2, 3), np.float32)
    hdr[0, 0] = 1.0  # reference white
    hdr[0, 1] = (5.0, 0.0, 0.0)
    scope = luminance_scope(hdr)
    assert scope.max_cll == pytest.approx(5 * 203)
    assert scope.fall == pytest.approx((203 + 5 * 203) / 4)
    white = np.searchsorted(scope.edges, 203.0) - 1
    assert scope.counts[white] == 1 and scope.counts.sum() == 4
    assert luminance_scope(hdr, nits_per_unit=101.5).max_cll == pytest.approx(5 * 101.5)


def test_fit_centres_the_frame_and_leaves_no_strip():
    from hdr_plugin.ui.viewer_state import fit

    assert fit((480, 270), (960, 540)) == (2.0, 0.0, 0.0)
    zoom, x, y = fit((480, 270), (960, 700))
    assert (zoom, x) == (2.0, 0.0) and y == pytest.approx(80.0)  # equal bars above and below


def test_the_viewer_fits_by_default_and_shows_1_to_1(qtbot, window):
    from PySide6 import QtCore

    viewer = window.viewer
    viewer.resize(960, 540)
    viewer.set_state(viewer.state.replace(fit=True))
    shot = viewer.grab().toImage()
    background = [
        (x, y)
        for x in (0, 959)
        for y in (0, 270, 539)
        if shot.pixelColor(x, y).getRgb()[:3] == (30, 30, 30)
    ]
    assert background == []  # the frame reaches every edge: no empty strip
    qtbot.keyClick(viewer, QtCore.Qt.Key_1)
    assert not viewer.state.fit and viewer.state.zoom == 1.0
    assert viewer.image_to_widget().dx() == pytest.approx((960 - 480) / 2)  # centred
    qtbot.keyClick(viewer, QtCore.Qt.Key_F)
    assert viewer.state.fit


def test_contact_sheet_labels_every_nth_frame(tmp_path):
    from hdr_plugin.io import read_image

    out = tmp_path / "sheet.png"
    assert main(["view", PLATES, "--contact-sheet", str(out), "--every", "6", "--wipe", "0"]) == 0
    sheet = np.round(read_image(out).rgb * 255).astype(int)
    tiles = 4  # frames 1001, 1007, 1013, 1019 of 24
    assert sheet.shape[1] == 8 + tiles * (320 + 8)
    for tile in range(tiles):
        x = 8 + tile * 328 + 160
        column = sheet[8 + LABEL_HEIGHT : 8 + LABEL_HEIGHT + 180, x]
        assert np.abs(column - 24).mean() > 20 and column.std() > 10  # a picture


def test_review_stills_print_nothing_from_qt(tmp_path, capfd):
    still(tmp_path, "quiet.png")
    assert main(["view", PLATES, "--contact-sheet", str(tmp_path / "s.png")]) == 0
    assert capfd.readouterr().err == ""


def test_display_and_view_flags_are_checked(tmp_path, capsys):
    code = main(["view", PLATES, "--display", "Nope", "--screenshot", str(tmp_path / "x.png")])
    assert code == 1
    assert "--display/--view 'Nope/" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    _, pq = still(tmp_path, "pq.png", "--wipe", "0", "--display", "Rec.2100-PQ - Display",
                  "--view", "HDR Reference (203 nits)")  # fmt: skip
    _, sdr = still(tmp_path, "sdr.png", "--wipe", "0")
    assert np.abs(pq - sdr).mean() > 5


def test_a_missing_frame_is_one_line(tmp_path, capsys):
    code = main(["view", PLATES, "--frame", "7", "--screenshot", str(tmp_path / "x.png")])
    assert code == 1
    assert "no frame 7 (frames: 1001-1024)" in capsys.readouterr().err


def test_panel_keeps_the_files_colourspace_tag_when_another_knob_changes(qtbot, tmp_path, color):
    from hdr_plugin.ui.widgets import ViewerWindow

    plate = write_image(
        tmp_path / "tagged.exr",
        np.full((8, 8, 3), 0.5, np.float32),
        "half",
        **{"oiio:ColorSpace": "lin_rec709_scene"},
    )
    window = ViewerWindow(ViewerController(str(plate), color=color))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.viewer.frame is not None, timeout=20_000)
    combo = window.panel.editors["input_colorspace"]
    assert "Linear Rec.709" in combo.currentText() and "sRGB Encoded" not in combo.currentText()
    window.panel.editors["mix"].setValue(0.5)
    assert window.controller.settings.input_colorspace is None  # still the file's tag
    window.request_frame(0)
    qtbot.waitUntil(lambda: window.controller.settings.mix == 0.5, timeout=20_000)
    assert window.controller.frame(0).plate_space == "Linear Rec.709 (sRGB)"


def test_a_frame_made_while_the_knobs_changed_is_not_cached(color):
    controller = ViewerController(PLATES, color=color)
    node = controller.node
    process = node.process_frame

    def knobs_change_meanwhile(*args, **kwargs):
        controller.set_settings(controller.settings.replace(model="linear"))
        return process(*args, **kwargs)

    node.process_frame = knobs_change_meanwhile
    stale = controller.frame(0)  # made by the old model, while the knobs changed
    assert stale.result.rgb.max() > 1.5
    fresh = controller.frame(0)
    assert fresh is not stale and fresh.result.rgb.max() == pytest.approx(1.0, abs=0.02)
