"""HDR Reconstruct inside Krita: the action, its dialog and the worker that keeps Krita live.

Runs only inside Krita (``krita`` and Krita's PyQt5). Krita's API is used from the main
thread only (reading the layer, creating the document); the reconstruction itself runs
in a ``QThread`` while a progress dialog is shown, so Krita's UI never waits on torch.
Every failure reaches the user as one line in a message box (:func:`message_box`).

Krita API used: ``Krita.instance()``, ``activeDocument``, ``activeWindow``,
``createDocument``, ``addExtension``; ``Extension.setup/createActions``,
``Window.createAction/addView/qwindow``; ``Document.activeNode/topLevelNodes/nodeByName/
selection/createNode/rootNode/width/height/resolution/fileName/name/refreshProjection``;
``Node.pixelData/setPixelData/colorModel/colorDepth/colorProfile/type/name/setVisible/
addChildNode``; ``Selection.pixelData``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from krita import Extension, Krita
from PyQt5.QtCore import QEventLoop, Qt, QThread, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QWidget,
)

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ConfigError, HdrPluginError, PlateError
from hdr_plugin.host_adapters.krita.layers import (
    OUTPUT_COLORSPACE,
    OUTPUT_PROFILE,
    Reconstruction,
    document_bytes,
    export_exr,
    grey_layer,
    layer_matte,
    layer_pixels,
    reconstruct_layer,
    selection_matte,
)
from hdr_plugin.node import ReconstructSettings, node_parameters, parse_options

TITLE = "HDR Reconstruct"
#: Knobs this host sets itself: the new document's profile fixes the output colourspace,
#: and the matte is a layer or the selection (picked in :class:`ReconstructDialog`).
HOST_SET = ("output_colorspace", "matte")
NO_MATTE, SELECTION = "none", "selection"
#: Shown for an unset colourspace knob.
FROM_PROFILE = "(the layer's profile, else sRGB)"


def _window_widget() -> QWidget | None:
    window = Krita.instance().activeWindow()
    return window.qwindow() if window is not None else None


def message_box(text: str) -> None:
    """Tell the user one line, the Krita way."""
    QMessageBox.critical(_window_widget(), TITLE, text)


@dataclass(frozen=True)
class Request:
    """What the dialog asks for.

    Attributes:
        settings: the node's knobs.
        matte: :data:`NO_MATTE`, :data:`SELECTION`, or the name of a layer.
        mask_layer: add the highlight mask to the new document as a hidden layer.
        exr: also write an OpenEXR there (empty: none).
    """

    settings: ReconstructSettings
    matte: str = NO_MATTE
    mask_layer: bool = False
    exr: str = ""


def _plate_node(document):
    """The active layer, else the top-most paint layer."""
    node = document.activeNode()
    if node is not None and node.type() == "paintlayer":
        return node
    layers = [n for n in document.topLevelNodes() if n.type() == "paintlayer"]
    if not layers:
        raise PlateError(f"{document.name()}: no paint layer to reconstruct")
    return layers[-1]


def _matte(document, request: Request):
    width, height = document.width(), document.height()
    if request.matte == NO_MATTE:
        return None
    if request.matte == SELECTION:
        selection = document.selection()
        if selection is None:
            raise ConfigError("matte from the selection, but nothing is selected")
        return selection_matte(bytes(selection.pixelData(0, 0, width, height)), width, height)
    layer = document.nodeByName(request.matte)
    if layer is None:
        raise ConfigError(f"no layer {request.matte!r} for the matte")
    data = bytes(layer.pixelData(0, 0, width, height))
    rgba = layer_pixels(data, width, height, layer.colorModel(), layer.colorDepth())
    return layer_matte(rgba, request.settings.matte_channel, name=request.matte)


class _Worker(QThread):
    """Runs :func:`reconstruct_layer` off Krita's main thread."""

    done = pyqtSignal(object, str)

    def __init__(self, job: Callable[[], Reconstruction]) -> None:
        super().__init__()
        self.job = job

    def run(self) -> None:
        try:
            self.done.emit(self.job(), "")
        except HdrPluginError as exc:
            self.done.emit(None, str(exc))
        except Exception as exc:
            self.done.emit(None, f"unexpected {type(exc).__name__}: {exc}")


#: Workers still running (a QThread must outlive its run).
_RUNNING: list[_Worker] = []


def _new_document(document, result: Reconstruction, request: Request):
    """The new F32 linear Rec.2020 document holding ``result`` (main thread)."""
    width, height = document.width(), document.height()
    app = Krita.instance()
    name = f"{document.name() or 'plate'} HDR"
    hdr = app.createDocument(
        width, height, name, "RGBA", "F32", OUTPUT_PROFILE, document.resolution()
    )
    layer = hdr.topLevelNodes()[0]
    layer.setName(f"{request.settings.model} ({result.node.output_colorspace})")
    layer.setPixelData(document_bytes(result.rgba), 0, 0, width, height)
    if request.mask_layer:
        mask = hdr.createNode("highlight mask", "paintlayer")
        mask.setPixelData(document_bytes(grey_layer(result.highlight_mask)), 0, 0, width, height)
        mask.setVisible(False)
        hdr.rootNode().addChildNode(mask, None)
    hdr.refreshProjection()
    if request.exr:
        export_exr(request.exr, result, source=document.fileName(), with_mask=request.mask_layer)
    window = app.activeWindow()
    if window is not None:
        window.addView(hdr)
    return hdr


def reconstruct_document(
    document,
    request: Request,
    color: ColorContext | None = None,
    *,
    report: Callable[[str], None] = message_box,
    on_done: Callable[[object], None] | None = None,
    wait: bool = False,
):
    """Reconstruct the active layer of ``document`` into a new document.

    The layer is read and the knobs are checked here, before any work starts; the model
    runs in a worker thread behind a progress dialog. Nothing is created on failure.

    Args:
        document: the Krita document holding the plate layer.
        request: the knobs and what to create.
        color: the OCIO config (default: $OCIO, else the bundled one).
        report: receives the one-line error.
        on_done: receives the new document when the worker finishes.
        wait: block (running Qt's event loop) until done and return the new document,
            for scripts and tests.

    Returns:
        The new document when ``wait``, else ``None``.
    """
    color = color or ColorContext.resolve()
    created = []
    try:
        request.settings.validate(color)
        node = _plate_node(document)
        width, height = document.width(), document.height()
        data = bytes(node.pixelData(0, 0, width, height))
        rgba = layer_pixels(data, width, height, node.colorModel(), node.colorDepth())
        matte = _matte(document, request)
    except HdrPluginError as exc:
        report(f"{TITLE}: {exc}")
        return None
    profile = node.colorProfile()
    worker = _Worker(
        lambda: reconstruct_layer(rgba, request.settings, color, profile=profile, matte=matte)
    )
    progress = QProgressDialog(
        f"Reconstructing {node.name()} ({width}x{height}) with {request.settings.model}...",
        None,
        0,
        0,
        _window_widget(),
    )
    progress.setWindowTitle(TITLE)
    progress.setWindowModality(Qt.WindowModal)
    progress.setMinimumDuration(500)
    loop = QEventLoop()

    def finished(result, error: str) -> None:
        progress.close()
        _RUNNING.remove(worker)
        try:
            if error:
                raise HdrPluginError(error)
            created.append(_new_document(document, result, request))
        except HdrPluginError as exc:
            report(f"{TITLE}: {exc}")
        except Exception as exc:  # one line in a message box, not a traceback
            report(f"{TITLE}: unexpected {type(exc).__name__}: {exc}")
        else:
            if on_done is not None:
                on_done(created[0])
        finally:
            loop.quit()

    worker.done.connect(finished, Qt.QueuedConnection)
    _RUNNING.append(worker)
    worker.start()
    if not wait:
        return None
    loop.exec_()
    worker.wait()
    return created[0] if created else None


class ReconstructDialog(QDialog):
    """The plugin's dialog: every knob of :class:`ReconstructSettings`.

    Built from ``node_parameters``, plus the matte source, the mask layer, an optional
    EXR and a shot config's per-shot knobs.
    """

    def __init__(self, document, color: ColorContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.document, self.color = document, color
        self.editors: dict[str, QWidget] = {}
        form = QFormLayout(self)
        for param in node_parameters(color):
            if param.name in HOST_SET:
                continue
            if param.name == "matte_channel":
                self.matte = QComboBox()
                layers = [n.name() for n in document.topLevelNodes() if n.type() == "paintlayer"]
                self.matte.addItems([NO_MATTE, SELECTION, *layers])
                self.matte.setToolTip("matte limiting where the model applies")
                form.addRow("matte", self.matte)
            if param.choices is not None:
                editor = QComboBox()
                if param.default is None:
                    editor.addItem(FROM_PROFILE if "colorspace" in param.name else "")
                editor.addItems(list(param.choices))
                if param.default is not None:
                    editor.setCurrentText(str(param.default))
            elif param.type is bool:
                editor = QCheckBox()
                editor.setChecked(bool(param.default))
            elif param.type is str:  # a file (the input LUT)
                editor = QLineEdit()
                editor.setPlaceholderText("none")
            else:
                editor = QDoubleSpinBox()
                editor.setRange(param.minimum or 0.0, param.maximum or 1e6)
                editor.setDecimals(3)
                editor.setSingleStep(0.05)
                editor.setValue(float(param.default))
            editor.setToolTip(param.description)
            self.editors[param.name] = editor
            form.addRow(param.name.replace("_", " "), editor)
        self.options = QLineEdit()
        self.options.setPlaceholderText("NAME=VALUE, ...")
        self.options.setToolTip("model options, e.g. peak_nits=1000 (see hdr-plugin models)")
        form.addRow("model options", self.options)
        self.shot_config, self.shot = QLineEdit(), QLineEdit()
        self.shot_config.setPlaceholderText("shots.toml")
        load = QPushButton("Load shot")
        load.clicked.connect(self._load_shot)
        row = QHBoxLayout()
        for widget in (self.shot_config, self.shot, load):
            row.addWidget(widget)
        form.addRow("shot config / shot", row)
        self.mask_layer = QCheckBox()
        form.addRow("add highlight mask layer", self.mask_layer)
        self.exr = QLineEdit()
        self.exr.setPlaceholderText("optional: also write this OpenEXR")
        form.addRow("export EXR", self.exr)
        output = self.color.canonical(OUTPUT_COLORSPACE)
        form.addRow(QLabel(f"new document: 32-bit float, {output} ({OUTPUT_PROFILE})"))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def set_knob(self, name: str, value) -> None:
        """Show ``value`` in the editor of knob ``name`` (a shot's knobs, scripts, tests)."""
        editor = self.editors[name]
        if isinstance(editor, QComboBox):
            text = FROM_PROFILE if value is None and "colorspace" in name else str(value or "")
            if editor.findText(text) < 0:
                editor.addItem(text)  # a config's alias: validated when the dialog is read
            editor.setCurrentText(text)
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QLineEdit):
            editor.setText(value or "")
        else:
            editor.setValue(float(value))

    def request(self) -> Request:
        """The dialog's values as a request.

        Raises:
            ConfigError: model options that do not parse.
        """
        values = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QComboBox):
                text = editor.currentText()
                values[name] = None if text in ("", FROM_PROFILE) else text
            elif isinstance(editor, QCheckBox):
                values[name] = editor.isChecked()
            elif isinstance(editor, QLineEdit):
                values[name] = editor.text().strip() or None
            else:
                values[name] = editor.value()
        values["model_options"] = parse_options(self.options.text())
        settings = ReconstructSettings(**values)
        return Request(
            settings, self.matte.currentText(), self.mask_layer.isChecked(), self.exr.text().strip()
        )

    def _load_shot(self) -> None:
        from hdr_plugin.shots import load_shots

        try:
            (shot,) = load_shots(self.shot_config.text(), self.color).select([self.shot.text()])
        except HdrPluginError as exc:
            message_box(f"{TITLE}: {exc}")
            return
        self.apply_settings(shot.settings)

    def apply_settings(self, settings: ReconstructSettings) -> None:
        """Show every knob of ``settings`` (the host-set ones excepted)."""
        for name in self.editors:
            self.set_knob(name, getattr(settings, name))
        self.options.setText(", ".join(f"{k}={v}" for k, v in settings.model_options.items()))

    def run(self, *, report: Callable[[str], None] = message_box, wait: bool = False):
        """Reconstruct with the dialog's values (see :func:`reconstruct_document`)."""
        try:
            request = self.request()
        except HdrPluginError as exc:
            report(f"{TITLE}: {exc}")
            return None
        return reconstruct_document(self.document, request, self.color, report=report, wait=wait)


class HdrReconstructExtension(Extension):
    """Adds **Tools > Scripts > HDR Reconstruct...** to every Krita window."""

    def setup(self) -> None:
        pass

    def createActions(self, window) -> None:
        action = window.createAction("hdr_reconstruct", "HDR Reconstruct...", "tools/scripts")
        action.triggered.connect(self.show_dialog)

    def show_dialog(self) -> None:
        """Ask for the knobs of the active document's reconstruction, then start it."""
        document = Krita.instance().activeDocument()
        if document is None:
            message_box(f"{TITLE}: open an image first")
            return
        try:
            color = ColorContext.resolve()
        except HdrPluginError as exc:
            message_box(f"{TITLE}: {exc}")
            return
        dialog = ReconstructDialog(document, color, _window_widget())
        if dialog.exec_() == QDialog.Accepted:
            dialog.run()
