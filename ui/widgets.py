"""PySide6 widgets: the knob panel, the image viewer, and the viewer window.

Widgets only draw and forward events; state lives in :class:`ViewerState` and
:class:`ViewerController`. Frame reconstruction runs on a worker thread; a new request
supersedes the previous one, and a sequence render can be cancelled between frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from hdr_plugin.errors import HdrPluginError
from hdr_plugin.models import has_weights, list_models
from hdr_plugin.node import ReconstructSettings, node_parameters, parse_options
from hdr_plugin.ui.controller import Cancelled, Frame, ViewerController
from hdr_plugin.ui.viewer_state import ViewerState, compose, probe


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
                else:
                    editor.setCurrentText(value or controller.node.resolve_input_colorspace())
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
                values[name] = editor.currentText() or None
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
    """Draws the composed image with zoom and pan; reports the pixel under the mouse."""

    probed = QtCore.Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(320, 180)
        self.state = ViewerState()
        self.frame: Frame | None = None
        self._image: QtGui.QImage | None = None
        self._drag: QtCore.QPointF | None = None
        self.color = None

    def show_frame(self, frame: Frame, color) -> None:
        first = self.frame is None
        self.frame, self.color = frame, color
        if first:  # fit the first frame to the widget
            height, width = frame.plate.shape[:2]
            zoom = min(self.width() / width, self.height() / height)
            self.state = self.state.replace(zoom=max(0.05, zoom))
        self._recompose()

    def set_state(self, state: ViewerState) -> None:
        self.state = state
        self._recompose()

    def _recompose(self) -> None:
        if self.frame is None:
            return
        result = self.frame.result
        rgb = compose(
            self.frame.plate,
            result.rgb,
            self.state,
            self.color,
            plate_space=self.frame.plate_space,
            mask=result.highlight_mask,
            matte=self.frame.matte,
        )
        self._rgb = np.ascontiguousarray(rgb)  # QImage borrows this buffer
        height, width = rgb.shape[:2]
        self._image = QtGui.QImage(
            self._rgb.data, width, height, 3 * width, QtGui.QImage.Format_RGB888
        )
        self.update()

    def image_to_widget(self) -> QtGui.QTransform:
        transform = QtGui.QTransform()
        transform.translate(*self.state.pan)
        transform.scale(self.state.zoom, self.state.zoom)
        return transform

    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtGui.QColor(30, 30, 30))
        if self._image is not None:
            painter.setTransform(self.image_to_widget())
            painter.drawImage(0, 0, self._image)
            x = int(self.state.wipe * self._image.width())
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255), 0))
            painter.drawLine(x, 0, x, self._image.height())
        painter.end()

    def widget_to_image(self, point: QtCore.QPointF) -> tuple[int, int]:
        inverse, _ = self.image_to_widget().inverted()
        mapped = inverse.map(point)
        return int(mapped.x()), int(mapped.y())

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None:
            delta = event.position() - self._drag
            self._drag = event.position()
            pan = (self.state.pan[0] + delta.x(), self.state.pan[1] + delta.y())
            self.set_state(self.state.replace(pan=pan))
        if self.frame is not None:
            x, y = self.widget_to_image(event.position())
            self.probed.emit(probe(self.frame.plate, self.frame.result.rgb, x, y))

    def mousePressEvent(self, event) -> None:
        self._drag = event.position()

    def mouseReleaseEvent(self, event) -> None:
        self._drag = None

    def wheelEvent(self, event) -> None:
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.set_state(self.state.replace(zoom=min(32.0, max(0.05, self.state.zoom * factor))))


class _Signals(QtCore.QObject):
    done = QtCore.Signal(int, object)
    failed = QtCore.Signal(str)
    progress = QtCore.Signal(int, int)
    finished = QtCore.Signal(str)


class _FrameJob(QtCore.QRunnable):
    def __init__(self, controller: ViewerController, index: int, signals: _Signals) -> None:
        super().__init__()
        self.controller, self.index, self.signals = controller, index, signals

    def run(self) -> None:
        try:
            self.signals.done.emit(self.index, self.controller.frame(self.index))
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

    def __init__(self, controller: ViewerController) -> None:
        super().__init__()
        self.controller = controller
        self.setWindowTitle(f"hdr-plugin view: {controller.pattern}")
        self.pool = QtCore.QThreadPool()
        self.signals = _Signals()
        self.signals.done.connect(self._frame_ready)
        self.signals.failed.connect(lambda message: self.panel.error.setText(message))
        self.signals.progress.connect(self._progress)
        self.signals.finished.connect(lambda message: self.status.setText(message))
        self._wanted = 0
        self._cancel = {"cancelled": False}

        self.panel = PanelWidget(controller)
        self.panel.settingsChanged.connect(lambda _s: self.request_frame(self.frame_slider.value()))
        self.viewer = ViewerWidget()
        self.viewer.probed.connect(self._probed)
        self.frame_slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.frame_slider.setRange(0, len(controller.files) - 1)
        self.frame_slider.valueChanged.connect(self.request_frame)
        self.exposure = QtWidgets.QDoubleSpinBox(minimum=-10, maximum=10, singleStep=0.5)
        self.exposure.valueChanged.connect(lambda v: self._state(exposure=v))
        self.wipe = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.wipe.setRange(0, 1000)
        self.wipe.setValue(500)
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
        self.display.setCurrentText(f"{ViewerState().display} / {ViewerState().view}")
        self.display.currentIndexChanged.connect(self._display_changed)
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
        centre = QtWidgets.QVBoxLayout()
        centre.addWidget(self.viewer, 1)
        centre.addLayout(controls)
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

    def _display_changed(self, _index: int) -> None:
        display, view = self.display.currentData()
        self._state(display=display, view=view)

    def request_frame(self, index: int) -> None:
        """Reconstruct frame ``index`` off the GUI thread (the newest request wins)."""
        self._wanted = index
        self.pool.start(_FrameJob(self.controller, index, self.signals))

    def _frame_ready(self, index: int, frame: Frame) -> None:
        if index == self._wanted:
            self.viewer.set_state(self.viewer.state.replace(frame=index))
            self.viewer.show_frame(frame, self.controller.color)

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
