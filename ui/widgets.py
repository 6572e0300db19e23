"""PySide6 widgets: the knob panel, the image viewer, the viewer window, review stills.

Widgets only draw and forward events; state lives in :class:`ViewerState` and
:class:`ViewerController`. Frame reconstruction runs on a worker thread; a new request
supersedes the previous one, and a sequence render can be cancelled between frames.
:func:`review_still` and :func:`contact_sheet` draw what ``hdr-plugin view --screenshot``
and ``--contact-sheet`` write.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from hdr_plugin.errors import HdrPluginError
from hdr_plugin.models import has_weights, list_models
from hdr_plugin.node import ReconstructSettings, node_parameters, parse_options
from hdr_plugin.ui.controller import Cancelled, Frame, ViewerController
from hdr_plugin.ui.viewer_state import (
    SCOPE_MARKS,
    ViewerState,
    fit,
    probe,
    scope_image,
    scope_x,
)

#: Shown for an unset input colourspace knob: the file's tag decides.
FROM_FILE = "(the file's tag, else sRGB)"


class PanelWidget(QtWidgets.QWidget):
    """Every knob of :class:`ReconstructSettings`, built from ``node_parameters``."""

    settingsChanged = QtCore.Signal(object)

    def __init__(self, controller: ViewerController, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.editors: dict[str, QtWidgets.QWidget] = {}
        layout = QtWidgets.QFormLayout(self)
        settings = controller.settings
        descriptions = {spec.name: spec for spec in list_models()}
        for param in node_parameters(controller.color):
            value = getattr(settings, param.name)
            if param.choices is not None:
                editor = QtWidgets.QComboBox()
                if param.name == "input_view":  # unset: the plate is decoded as a colourspace
                    editor.addItem("")
                elif param.default is None:  # unset: the file's tag, as a render reads it
                    editor.addItem(FROM_FILE)
                for choice in param.choices:
                    spec = descriptions.get(choice)
                    editor.addItem(choice)
                    if spec is not None and param.name == "model":
                        ready = has_weights(spec)
                        tip = spec.description + ("" if ready else " (no trained weights)")
                        editor.setItemData(editor.count() - 1, tip, QtCore.Qt.ToolTipRole)
                        if not ready:  # cannot render: listed, but not selectable
                            editor.model().item(editor.count() - 1).setEnabled(False)
                if param.name == "input_view":
                    editor.setCurrentText(value or "")
                elif param.default is None:
                    editor.setCurrentText(value or FROM_FILE)
                else:
                    editor.setCurrentText(value)
                editor.currentTextChanged.connect(self._changed)
            elif param.type is bool:
                editor = QtWidgets.QCheckBox()
                editor.setChecked(bool(value))
                editor.toggled.connect(self._changed)
            elif param.type is str:  # a path (the matte): applied when editing finishes
                editor = QtWidgets.QLineEdit(value or "")
                editor.setPlaceholderText("none")
                editor.editingFinished.connect(self._changed)
            else:
                editor = QtWidgets.QDoubleSpinBox()
                editor.setRange(param.minimum or 0.0, param.maximum or 1e6)
                editor.setDecimals(3)
                editor.setSingleStep(0.05)
                editor.setValue(float(value))
                editor.valueChanged.connect(self._changed)
            editor.setToolTip(param.description)
            self.editors[param.name] = editor
            layout.addRow(param.name.replace("_", " "), editor)
        self.options = QtWidgets.QLineEdit(_format_options(settings.model_options))
        self.options.setPlaceholderText("NAME=VALUE, ... (see hdr-plugin models)")
        metrics = self.options.fontMetrics()
        self.options.setMinimumWidth(metrics.horizontalAdvance(self.options.placeholderText()) + 16)
        self.options.setToolTip("model options, e.g. peak_nits=1000 or device=cpu")
        self.options.editingFinished.connect(self._changed)
        layout.addRow("model options", self.options)
        if controller.shot is not None:
            self.save_button = QtWidgets.QPushButton(f"Save to shot {controller.shot}")
            self.save_button.clicked.connect(self.save_to_shot)
            layout.addRow(self.save_button)
        self.error = QtWidgets.QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #e04040")
        layout.addRow(self.error)

    def save_to_shot(self) -> None:
        """Assign the current model and knobs to the open shot in its shot config."""
        try:
            self.controller.save_to_shot()
        except HdrPluginError as exc:
            self.error.setText(str(exc))

    def current_settings(self) -> ReconstructSettings:
        values = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QtWidgets.QComboBox):
                text = editor.currentText()  # "" or "(from the file ...)": unset
                values[name] = None if not text or text.startswith("(") else text
            elif isinstance(editor, QtWidgets.QCheckBox):
                values[name] = editor.isChecked()
            elif isinstance(editor, QtWidgets.QLineEdit):
                values[name] = editor.text().strip() or None
            else:
                values[name] = editor.value()
        if values.get("input_view"):  # the view says how the plate is encoded
            values["input_colorspace"] = None
        values["model_options"] = parse_options(self.options.text())
        return self.controller.settings.replace(**values)

    def _changed(self, *_args) -> None:
        try:
            settings = self.current_settings()
            self.controller.set_settings(settings)
        except HdrPluginError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        self.settingsChanged.emit(settings)


def _format_options(options: dict) -> str:
    return ", ".join(f"{name}={value}" for name, value in options.items())


class ViewerWidget(QtWidgets.QWidget):
    """Draws the composed frame, fitted and centred (F) or at a zoom (1 = 1:1, wheel, drag).

    Reports the pixel under the mouse.
    """

    probed = QtCore.Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(QtCore.Qt.StrongFocus)
        self.setMinimumSize(320, 180)
        self.state = ViewerState()
        self.frame: Frame | None = None
        self.controller: ViewerController | None = None
        #: the composed frame drawn: (H, W, 3) uint8 display RGB
        self.shown: np.ndarray | None = None
        self._image: QtGui.QImage | None = None
        self._drag: QtCore.QPointF | None = None

    def show_frame(self, frame: Frame, controller: ViewerController) -> None:
        self.frame, self.controller = frame, controller
        self._recompose()

    def set_state(self, state: ViewerState) -> None:
        self.state = state
        self._recompose()

    def _recompose(self) -> None:
        if self.frame is None:
            return
        self.shown = self.controller.composed(self.frame, self.state)
        self._image = to_qimage(self.shown)
        self.update()

    def image_to_widget(self) -> QtGui.QTransform:
        """Image pixels -> widget pixels: fitted and centred, or the state's zoom and pan."""
        transform = QtGui.QTransform()
        if self._image is None:
            return transform
        if self.state.fit:
            size = (self._image.width(), self._image.height())
            zoom, x, y = fit(size, (self.width(), self.height()))
        else:
            zoom, (x, y) = self.state.zoom, self.state.pan
        transform.translate(x, y)
        transform.scale(zoom, zoom)
        return transform

    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtGui.QColor(30, 30, 30))
        if self._image is not None:
            transform = self.image_to_widget()
            # shrinking is filtered; enlarging shows pixels as they are (no soft upscale)
            painter.setRenderHint(QtGui.QPainter.SmoothPixmapTransform, transform.m11() < 1.0)
            painter.setTransform(transform)
            painter.drawImage(0, 0, self._image)
            if 0.0 < self.state.wipe < 1.0:
                x = int(self.state.wipe * self._image.width())
                painter.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255), 0))
                painter.drawLine(x, 0, x, self._image.height())
        painter.end()

    def widget_to_image(self, point: QtCore.QPointF) -> tuple[int, int]:
        inverse, _ = self.image_to_widget().inverted()
        mapped = inverse.map(point)
        return int(mapped.x()), int(mapped.y())

    def _unfitted(self) -> ViewerState:
        """The state with the current fit made explicit (zoom and pan from here on)."""
        transform = self.image_to_widget()
        return self.state.replace(
            fit=False, zoom=transform.m11(), pan=(transform.dx(), transform.dy())
        )

    def one_to_one(self) -> None:
        """Show image pixels 1:1, centred."""
        if self._image is None:
            return
        x = (self.width() - self._image.width()) / 2
        y = (self.height() - self._image.height()) / 2
        self.set_state(self.state.replace(fit=False, zoom=1.0, pan=(x, y)))

    def keyPressEvent(self, event) -> None:
        if event.key() == QtCore.Qt.Key_F:
            self.set_state(self.state.replace(fit=True))
        elif event.key() == QtCore.Qt.Key_1:
            self.one_to_one()
        else:
            super().keyPressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None:
            delta = event.position() - self._drag
            self._drag = event.position()
            state = self._unfitted()
            pan = (state.pan[0] + delta.x(), state.pan[1] + delta.y())
            self.set_state(state.replace(pan=pan))
        if self.frame is not None:
            x, y = self.widget_to_image(event.position())
            self.probed.emit(probe(self.frame.plate, self.frame.result.rgb, x, y))

    def mousePressEvent(self, event) -> None:
        self._drag = event.position()

    def mouseReleaseEvent(self, event) -> None:
        self._drag = None

    def wheelEvent(self, event) -> None:
        """Zoom about the point under the mouse."""
        state = self._unfitted()
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        zoom = min(32.0, max(0.05, state.zoom * factor))
        at = event.position()
        scale = zoom / state.zoom
        pan = (at.x() - (at.x() - state.pan[0]) * scale, at.y() - (at.y() - state.pan[1]) * scale)
        self.set_state(state.replace(zoom=zoom, pan=pan))


def to_qimage(rgb: np.ndarray) -> QtGui.QImage:
    """(H, W, 3) uint8 RGB as a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QtGui.QImage(rgb.data, width, height, 3 * width, QtGui.QImage.Format_RGB888).copy()


def _side_labels(controller: ViewerController, state: ViewerState) -> tuple[str, str, str]:
    """Side A, side B, and how B (and a compared model) is shown."""
    if controller.compare:
        a = f"A: {controller.compare}"
    elif state.plate_in_view:
        a = "A: plate, through the view"
    else:
        a = "A: plate as delivered"
    exposure = f", {state.exposure:+g} EV" if state.exposure else ""
    state = state.for_config(controller.color)
    return a, f"B: {controller.settings.model}", f"{state.display} / {state.view}{exposure}"


def _scope_line(scope) -> str:
    return f"cd/m² (log) · MaxCLL {scope.max_cll:.0f} · FALL {scope.fall:.1f}"


def draw_scope(painter: QtGui.QPainter, scope, rect: QtCore.QRect) -> None:
    """The scope image in ``rect`` with its decade and mark labels and light levels."""
    bars = scope_image(scope, rect.width(), rect.height() - 18)
    painter.drawImage(rect.topLeft(), to_qimage(bars))
    painter.setPen(QtGui.QColor(200, 200, 200))
    font = painter.font()
    font.setPixelSize(11)
    painter.setFont(font)
    bottom = rect.top() + rect.height() - 4
    for decade in (0, 1, 2):
        x = rect.left() + scope_x(10.0**decade, rect.width())
        painter.drawText(x + 2, rect.top() + 12, f"{10**decade:g}")
    for nits, colour in SCOPE_MARKS:
        painter.setPen(QtGui.QColor(*colour))
        painter.drawText(
            rect.left() + scope_x(nits, rect.width()) + 2, rect.top() + 26, f"{nits:g}"
        )
    painter.setPen(QtGui.QColor(200, 200, 200))
    painter.drawText(rect.left() + 4, bottom, _scope_line(scope))


#: Heights of a review still's label strip and scope strip, pixels.
LABEL_HEIGHT, SCOPE_HEIGHT = 34, 120


def review_still(controller: ViewerController, frame: Frame, state: ViewerState) -> QtGui.QImage:
    """A review still: side labels, the frame at its own resolution, the scope under it.

    The frame's pixels are exactly :meth:`ViewerController.composed` (the wipe line and
    labels are drawn outside it or only strictly inside the wipe).
    """
    picture = to_qimage(controller.composed(frame, state))
    width, height = picture.width(), picture.height()
    width = max(width, 480)
    still = QtGui.QImage(width, LABEL_HEIGHT + height + SCOPE_HEIGHT, QtGui.QImage.Format_RGB888)
    still.fill(QtGui.QColor(24, 24, 24))
    painter = QtGui.QPainter(still)
    painter.drawImage(0, LABEL_HEIGHT, picture)
    if 0.0 < state.wipe < 1.0:
        x = int(state.wipe * picture.width())
        painter.setPen(QtGui.QColor(255, 255, 255))
        painter.drawLine(x, LABEL_HEIGHT, x, LABEL_HEIGHT + height - 1)
    font = painter.font()
    font.setPixelSize(12)
    painter.setFont(font)
    painter.setPen(QtGui.QColor(230, 230, 230))
    a, b, shown = _side_labels(controller, state)
    align_left = QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter
    top = QtCore.QRect(4, 1, width - 8, 16)
    painter.drawText(top, align_left, a if state.wipe > 0 else "")
    painter.drawText(
        top, QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter, b if state.wipe < 1 else ""
    )
    painter.setPen(QtGui.QColor(160, 160, 160))
    painter.drawText(QtCore.QRect(4, 17, width - 8, 16), align_left, shown)
    draw_scope(
        painter,
        controller.scope(frame),
        QtCore.QRect(0, LABEL_HEIGHT + height, width, SCOPE_HEIGHT),
    )
    painter.end()
    return still


def contact_sheet(
    controller: ViewerController,
    indices: list[int],
    state: ViewerState,
    *,
    columns: int = 4,
    tile_width: int = 320,
) -> QtGui.QImage:
    """Frames ``indices`` as a labelled grid.

    The header names the sides and the view and gives MaxCLL and MaxFALL over these
    frames; each tile, its frame number and MaxCLL.
    """
    tiles = []
    for index in indices:
        frame = controller.frame(index)
        picture = to_qimage(controller.composed(frame, state))
        scaled = picture.scaledToWidth(tile_width, QtCore.Qt.SmoothTransformation)
        tiles.append((index, controller.scope(frame), scaled))
    tile_height = max(t.height() for _, _, t in tiles)
    rows = -(-len(tiles) // columns)
    cell = (tile_width + 8, tile_height + LABEL_HEIGHT + 8)
    sheet = QtGui.QImage(
        min(columns, len(tiles)) * cell[0] + 8,
        rows * cell[1] + 8 + LABEL_HEIGHT,
        QtGui.QImage.Format_RGB888,
    )
    sheet.fill(QtGui.QColor(24, 24, 24))
    painter = QtGui.QPainter(sheet)
    font = painter.font()
    font.setPixelSize(12)
    painter.setFont(font)
    painter.setPen(QtGui.QColor(230, 230, 230))
    a, b, shown = _side_labels(controller, state)
    header = a if state.wipe >= 1 else b if state.wipe <= 0 else f"{a} | {b}"
    max_cll = max(scope.max_cll for _, scope, _ in tiles)
    max_fall = max(scope.fall for _, scope, _ in tiles)
    painter.drawText(8, 15, f"{controller.pattern}: {header} ({shown})")
    painter.drawText(
        8, 31, f"MaxCLL {max_cll:.0f} cd/m² · MaxFALL {max_fall:.1f} cd/m² (these frames)"
    )
    numbers = controller.frame_numbers()
    for position, (index, scope, tile) in enumerate(tiles):
        x = 8 + position % columns * cell[0]
        y = 8 + LABEL_HEIGHT + position // columns * cell[1]
        painter.drawImage(x, y, tile)
        number = numbers[index]
        painter.drawText(
            x,
            y + tile.height() + 14,
            f"{number if number is not None else 'still'}  MaxCLL {scope.max_cll:.0f} cd/m²",
        )
    painter.end()
    return sheet


class _Signals(QtCore.QObject):
    done = QtCore.Signal(int, int, object)  # request, frame index, frame
    failed = QtCore.Signal(str)
    progress = QtCore.Signal(int, int)
    finished = QtCore.Signal(str)


class _FrameJob(QtCore.QRunnable):
    def __init__(
        self, controller: ViewerController, index: int, signals: _Signals, request: int
    ) -> None:
        super().__init__()
        self.controller, self.index, self.signals = controller, index, signals
        self.request = request

    def run(self) -> None:
        try:
            self.signals.done.emit(self.request, self.index, self.controller.frame(self.index))
        except HdrPluginError as exc:
            self.signals.failed.emit(str(exc))


class _SequenceJob(QtCore.QRunnable):
    def __init__(self, controller, output, signals, cancel_flag) -> None:
        super().__init__()
        self.controller, self.output, self.signals, self.cancel = (
            controller,
            output,
            signals,
            cancel_flag,
        )

    def run(self) -> None:
        try:
            self.controller.render_sequence(
                self.output,
                cancelled=lambda: self.cancel["cancelled"],
                progress=self.signals.progress.emit,
            )
            self.signals.finished.emit("done")
        except Cancelled as exc:
            self.signals.finished.emit(str(exc))
        except HdrPluginError as exc:
            self.signals.failed.emit(str(exc))


class ViewerWindow(QtWidgets.QMainWindow):
    """Panel + viewer + frame scrubber + display controls, for one plate or sequence."""

    def __init__(self, controller: ViewerController, state: ViewerState | None = None) -> None:
        super().__init__()
        self.controller = controller
        state = (state or ViewerState()).for_config(controller.color)
        self.setWindowTitle(f"hdr-plugin view: {controller.pattern}")
        self.pool = QtCore.QThreadPool()
        self.signals = _Signals()
        self.signals.done.connect(self._frame_ready)
        self.signals.failed.connect(lambda message: self.panel.error.setText(message))
        self.signals.progress.connect(self._progress)
        self.signals.finished.connect(lambda message: self.status.setText(message))
        self._wanted = 0
        #: The newest frame request; an older one that finishes later is not shown.
        self._request = 0
        self._cancel = {"cancelled": False}

        self.panel = PanelWidget(controller)
        self.panel.settingsChanged.connect(lambda _s: self.request_frame(self.frame_slider.value()))
        self.viewer = ViewerWidget()
        self.viewer.state = state
        self.viewer.probed.connect(self._probed)
        self.scope = QtWidgets.QLabel()
        self.scope.setFixedHeight(SCOPE_HEIGHT)
        self.scope.setMinimumWidth(320)
        self.frame_slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.frame_slider.setRange(0, len(controller.files) - 1)
        self.frame_slider.valueChanged.connect(self.request_frame)
        self.exposure = QtWidgets.QDoubleSpinBox(minimum=-10, maximum=10, singleStep=0.5)
        self.exposure.setValue(state.exposure)
        self.exposure.valueChanged.connect(lambda v: self._state(exposure=v))
        self.wipe = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.wipe.setRange(0, 1000)
        self.wipe.setValue(round(state.wipe * 1000))
        self.wipe.valueChanged.connect(lambda v: self._state(wipe=v / 1000))
        self.mask_overlay = QtWidgets.QCheckBox("highlight mask")
        self.mask_overlay.toggled.connect(lambda v: self._state(show_mask=v))
        self.false_colour = QtWidgets.QCheckBox("false colour")
        self.false_colour.toggled.connect(lambda v: self._state(false_colour=v))
        self.clipping = QtWidgets.QCheckBox("clipping")
        self.clipping.toggled.connect(lambda v: self._state(clipping=v))
        self.gamma = QtWidgets.QDoubleSpinBox(minimum=0.2, maximum=5.0, singleStep=0.1, value=1.0)
        self.gamma.valueChanged.connect(lambda v: self._state(gamma=v))
        self.matte_overlay = QtWidgets.QCheckBox("matte")
        self.matte_overlay.toggled.connect(lambda v: self._state(show_matte=v))
        self.opacity = QtWidgets.QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.1, value=0.5)
        self.opacity.valueChanged.connect(lambda v: self._state(overlay_opacity=v))
        self.overlay_colour = QtWidgets.QPushButton("overlay colour")
        self.overlay_colour.clicked.connect(self._pick_colour)
        self.display = QtWidgets.QComboBox()
        config = controller.color.config
        for display in config.getDisplays():
            for view in config.getViews(display):
                self.display.addItem(f"{display} / {view}", (display, view))
        self.display.setCurrentText(f"{state.display} / {state.view}")
        self.display.currentIndexChanged.connect(self._display_changed)
        self.as_delivered = QtWidgets.QCheckBox("plate as delivered")
        self.as_delivered.setToolTip("A shows the plate's code values; off: through B's view")
        self.as_delivered.setChecked(not state.plate_in_view)
        self.as_delivered.toggled.connect(lambda v: self._state(plate_in_view=not v))
        self.compare = QtWidgets.QComboBox()
        self.compare.addItem("A: plate")
        self.compare.addItems([f"A: {spec.name}" for spec in list_models() if has_weights(spec)])
        self.compare.setCurrentText(
            f"A: {controller.compare}" if controller.compare else "A: plate"
        )
        self.compare.currentTextChanged.connect(self._compare_changed)
        self.fit_button = QtWidgets.QPushButton("Fit (F)")
        self.fit_button.clicked.connect(lambda: self._state(fit=True))
        self.one_button = QtWidgets.QPushButton("1:1 (1)")
        self.one_button.clicked.connect(self.viewer.one_to_one)
        self.render_button = QtWidgets.QPushButton("Render sequence…")
        self.render_button.clicked.connect(self._ask_render)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QtWidgets.QProgressBar()
        self.status = QtWidgets.QLabel("")
        self.probe_label = QtWidgets.QLabel("")

        controls = QtWidgets.QHBoxLayout()
        for label, widget in (
            ("exposure", self.exposure),
            ("gamma", self.gamma),
            ("opacity", self.opacity),
        ):
            controls.addWidget(QtWidgets.QLabel(label))
            controls.addWidget(widget)
        for widget in (
            self.mask_overlay,
            self.matte_overlay,
            self.overlay_colour,
            self.false_colour,
            self.clipping,
            self.display,
        ):
            controls.addWidget(widget)
        review = QtWidgets.QHBoxLayout()
        for widget in (self.as_delivered, self.compare, self.fit_button, self.one_button):
            review.addWidget(widget)
        review.addStretch(1)
        centre = QtWidgets.QVBoxLayout()
        centre.addWidget(self.viewer, 1)
        centre.addWidget(self.scope)
        centre.addLayout(controls)
        centre.addLayout(review)
        for label, slider in (("A | B wipe", self.wipe), ("frame", self.frame_slider)):
            row = QtWidgets.QHBoxLayout()
            row.addWidget(QtWidgets.QLabel(label))
            row.addWidget(slider, 1)
            centre.addLayout(row)
        bottom = QtWidgets.QHBoxLayout()
        for widget in (
            self.render_button,
            self.cancel_button,
            self.progress,
            self.status,
            self.probe_label,
        ):
            bottom.addWidget(widget)
        centre.addLayout(bottom)
        root = QtWidgets.QWidget()
        layout = QtWidgets.QHBoxLayout(root)
        layout.addLayout(centre, 1)
        layout.addWidget(self.panel)
        self.setCentralWidget(root)
        self.request_frame(0)

    def _state(self, **changes) -> None:
        self.viewer.set_state(self.viewer.state.replace(**changes))

    def _pick_colour(self) -> None:
        current = QtGui.QColor.fromRgbF(*self.viewer.state.overlay_colour)
        chosen = QtWidgets.QColorDialog.getColor(current, self, "Overlay colour")
        if chosen.isValid():
            self.set_overlay_colour((chosen.redF(), chosen.greenF(), chosen.blueF()))

    def set_overlay_colour(self, rgb: tuple[float, float, float]) -> None:
        self._state(overlay_colour=tuple(rgb))

    def _compare_changed(self, text: str) -> None:
        model = text.removeprefix("A: ")
        try:
            self.controller.set_compare(None if model == "plate" else model)
        except HdrPluginError as exc:
            self.panel.error.setText(str(exc))
            return
        self.request_frame(self.frame_slider.value())

    def _display_changed(self, _index: int) -> None:
        display, view = self.display.currentData()
        self._state(display=display, view=view)

    def request_frame(self, index: int) -> None:
        """Reconstruct frame ``index`` off the GUI thread (the newest request wins).

        A request made before a knob changed may finish after the newest one: its frame
        is not shown.
        """
        self._wanted = index
        self._request += 1
        self.pool.start(_FrameJob(self.controller, index, self.signals, self._request))

    def _frame_ready(self, request: int, index: int, frame: Frame) -> None:
        if request == self._request and index == self._wanted:
            self.viewer.state = self.viewer.state.replace(frame=index)
            self.viewer.show_frame(frame, self.controller)
            self.show_scope(frame)
            tag = self.panel.editors.get("input_colorspace")
            if tag is not None and self.controller.settings.input_colorspace is None:
                tag.setItemText(0, f"(from the file: {frame.plate_space})")

    def show_scope(self, frame: Frame) -> None:
        """Draw the frame's luminance scope, MaxCLL and FALL under the viewer."""
        width = max(self.scope.width(), 320)
        image = QtGui.QImage(width, SCOPE_HEIGHT, QtGui.QImage.Format_RGB888)
        image.fill(QtGui.QColor(24, 24, 24))
        painter = QtGui.QPainter(image)
        draw_scope(painter, self.controller.scope(frame), QtCore.QRect(0, 0, width, SCOPE_HEIGHT))
        painter.end()
        self.scope.setPixmap(QtGui.QPixmap.fromImage(image))

    def _probed(self, value) -> None:
        if value is None:
            self.probe_label.setText("")
            return
        plate = " ".join(f"{v:.3f}" for v in value.plate)
        linear = " ".join(f"{v:.3f}" for v in value.scene_linear)
        self.probe_label.setText(
            f"({value.x}, {value.y}) plate {plate} | linear {linear} | {value.nits:.0f} cd/m²"
        )

    def _ask_render(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Render to", "hdr.####.exr")
        if path:
            self.render_sequence(path)

    def render_sequence(self, output: str | Path) -> None:
        """Render every frame to EXR on a worker thread, with progress and cancel."""
        self._cancel["cancelled"] = False
        self.progress.setRange(0, len(self.controller.files))
        self.pool.start(_SequenceJob(self.controller, output, self.signals, self._cancel))

    def cancel(self) -> None:
        self._cancel["cancelled"] = True

    def _progress(self, done: int, total: int) -> None:
        self.progress.setValue(done)
        self.status.setText(f"{done}/{total}")
