"""HDR Reconstruct inside Blender: sidebar panels of the Compositor and the Image Editor.

Runs inside Blender (imports ``bpy``); ``hdr-plugin install-blender`` installs the small
add-on that loads it. The panels hold the node's knobs, declared once in
:func:`hdr_plugin.node.node_parameters` as for the CLI, Nuke and Krita.

* Compositor: with an Image node active (a still, an image sequence, or a movie whose
  frames ffmpeg pulls as a host decodes them), *Reconstruct* renders its frames through
  the core (:func:`hdr_plugin.render.render`) in a background
  job, with Blender's progress and Esc to cancel. The EXRs go next to the .blend (or to a
  chosen folder), and a new Image node reads them, its colourspace Blender's scene-linear
  Rec.2020; it takes the source's place in the graph, so everything downstream is unchanged.
  With *mask output* the EXRs carry ``mask.highlight`` and the node a ``mask`` output.
* Image Editor: *Reconstruct* on the shown image makes a new float image holding the
  reconstruction.

Bad input (no Image node, an unsupported source, a wrong knob) is one report line and
creates nothing.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, FloatProperty, PointerProperty, StringProperty

from hdr_plugin.color import WORKING_SPACE, ColorContext
from hdr_plugin.errors import ConfigError, HdrPluginError
from hdr_plugin.host_adapters.blender.sources import Plate, output_pattern, plate_of
from hdr_plugin.io import read_image
from hdr_plugin.models import DEFAULT_MODEL, list_models
from hdr_plugin.node import ReconstructNode, ReconstructSettings, node_parameters, parse_options
from hdr_plugin.render import RenderJob, RenderResult, render
from hdr_plugin.sequence import expand_input

TITLE = "HDR Reconstruct"
CATEGORY = "HDR"
#: Knobs the panel holds otherwise than by their declaration (the matte is a node).
_MATTE = "matte"
#: The menu entry of an unset choice (the file's tag, no view).
UNSET = "-"


class Cancelled(HdrPluginError):
    """The artist pressed Esc: the frames written so far are complete files."""


# -- knobs --------------------------------------------------------------------------------


def _color() -> ColorContext:
    """The OCIO config the core uses here: ``$OCIO`` (as Blender's own), else the bundled."""
    return ColorContext.resolve()


def _blender_config() -> str:
    """Blender's OCIO config: ``$OCIO``, else the one Blender ships."""
    bundled = Path(bpy.utils.resource_path("LOCAL")) / "datafiles" / "colormanagement"
    return os.environ.get("OCIO") or str(bundled / "config.ocio")


def _knob_properties() -> dict:
    """One Blender property per knob of :func:`node_parameters`, plus the panel's own."""
    properties = {}
    for param in node_parameters(_color()):
        label, tip = param.name.replace("_", " "), param.description
        if param.name == "model":
            items = [
                (s.name, s.name, s.description[:200])
                for s in list_models()
                if s.kind != "estimator"
            ]
            properties[param.name] = EnumProperty(
                name=label, description=tip, items=items, default=DEFAULT_MODEL
            )
        elif param.name == _MATTE:  # drawn as a search of the compositor's nodes
            properties[param.name] = StringProperty(
                name="matte node",
                description="Image node whose image limits where the model applies "
                "(none: everywhere)",
            )
        elif param.choices is not None:
            unset = "(the file's tag, else sRGB)" if "colorspace" in param.name else "(none)"
            items = [(UNSET, unset, "")] if param.default is None else []
            items += [(c, c, "") for c in param.choices]
            properties[param.name] = EnumProperty(
                name=label, description=tip, items=items, default=param.default or UNSET
            )
        elif param.type is bool:
            properties[param.name] = BoolProperty(
                name=label, description=tip, default=param.default
            )
        elif param.type is float:
            properties[param.name] = FloatProperty(
                name=label,
                description=tip,
                default=param.default,
                min=param.minimum if param.minimum is not None else -1e6,
                max=param.maximum if param.maximum is not None else 1e6,
            )
        else:  # a file (the input LUT)
            properties[param.name] = StringProperty(
                name=label, description=tip, subtype="FILE_PATH"
            )
    properties |= {
        "model_options": StringProperty(
            name="model options", description="NAME=VALUE, ... (see hdr-plugin models)"
        ),
        "shot_config": StringProperty(name="shot config", subtype="FILE_PATH"),
        "shot": StringProperty(name="shot", description="Shot name (default: the first)"),
        "output_folder": StringProperty(
            name="output folder",
            subtype="DIR_PATH",
            default="//hdr/",
            description="Where the EXRs go (// is the .blend's folder)",
        ),
        "mask_output": BoolProperty(
            name="mask output", description="Also write the highlight mask (a mask output)"
        ),
    }
    return properties


def settings_of(props, tree=None, folder: str = "") -> ReconstructSettings:
    """The panel's knobs as the core's settings (the matte node's image as the matte).

    Raises:
        ConfigError: a matte that is not an Image node with an image, or bad options.
    """
    values = {}
    for param in node_parameters():
        value = getattr(props, param.name)
        if param.name == _MATTE:
            value = _matte(tree, value, folder) if value else None
        elif param.type is str and value in ("", UNSET):
            value = None
        elif param.type is str and param.choices is None and value:  # a file
            value = bpy.path.abspath(value)
        values[param.name] = value
    return ReconstructSettings(**values, model_options=parse_options(props.model_options))


def _matte(tree, name: str, folder: str = "") -> str:
    node = tree.nodes.get(name) if tree is not None else None
    if node is None or node.bl_idname != "CompositorNodeImage" or node.image is None:
        raise ConfigError(f"matte {name!r} is not an Image node with an image")
    return _plate(node, folder).pattern


def load_shot(props, color: ColorContext) -> None:
    """Fill the knobs from a shot of the shot config the panel names.

    Raises:
        ConfigError: no such shot config or shot (one line).
    """
    from hdr_plugin.shots import load_shots

    path = bpy.path.abspath(props.shot_config)
    (shot,) = load_shots(path, color).select([props.shot] if props.shot else None)[:1]
    for param in node_parameters():
        if param.name == _MATTE:
            continue
        value = getattr(shot.settings, param.name)
        if value is None:
            value = UNSET if param.choices is not None else ""
        elif param.choices is not None:
            value = _color().canonical(value) if "colorspace" in param.name else value
        setattr(props, param.name, value)
    props.model_options = ", ".join(f"{k}={v}" for k, v in shot.settings.model_options.items())
    props.shot = shot.name


# -- the compositor -------------------------------------------------------------------------


def _tree(context):
    scene = context.scene
    return getattr(scene, "node_tree", None) or getattr(scene, "compositing_node_group", None)


def _plate(node, folder: str = "") -> Plate:
    """An Image node's image as the core's plate.

    A movie's frames are pulled into a hidden folder of ``folder`` (beside the EXRs) first.
    """
    image = node.image
    path = os.path.normpath(bpy.path.abspath(image.filepath, library=image.library))
    frames = os.path.join(folder, f".{Path(path).stem}_frames") if folder else ""
    return plate_of(
        image.source,
        path,
        offset=node.frame_offset,
        duration=node.frame_duration,
        frames_folder=frames,
    )


def source_node(context):
    """The active Compositor Image node with an image.

    Raises:
        ConfigError: none.
    """
    tree = _tree(context)
    node = tree.nodes.active if tree is not None else None
    if node is None or node.bl_idname != "CompositorNodeImage" or node.image is None:
        raise ConfigError("select an Image node with an image in the Compositor")
    return node


class ReconstructJob:
    """One reconstruction of a Compositor Image node: validated when built, run once.

    Raises (when built):
        HdrPluginError: bad knobs, an unsupported source, or nowhere to write.
    """

    def __init__(self, context, node) -> None:
        props = context.scene.hdr_reconstruct
        self.source = node
        folder = props.output_folder or "//hdr/"
        if folder.startswith("//") and not bpy.data.filepath:
            raise ConfigError("save the .blend first, or choose an output folder")
        folder = bpy.path.abspath(folder)
        self.color = _color()
        # The knobs first: a wrong one fails before a movie's frames are pulled.
        settings = settings_of(props, _tree(context), folder)
        self.node = ReconstructNode(settings, self.color)
        self.plate = _plate(node, folder)
        self.job = RenderJob(
            input=self.plate.pattern,
            output=output_pattern(folder, self.plate),
            frames=self.plate.frames,
            write_masks=props.mask_output,
        )
        self.total = len(expand_input(self.plate.pattern, self.plate.frames))
        self.done = 0
        self.result: RenderResult | None = None
        self.error: str | None = None
        self._cancel = threading.Event()
        self.thread: threading.Thread | None = None

    def cancel(self) -> None:
        """Stop after the frame being written (it completes)."""
        self._cancel.set()

    def run(self) -> None:
        """Render every frame here; ``error`` says why it stopped early."""
        try:
            self.result = render(self.job, self.node, progress=False, on_frame=self._frame)
        except HdrPluginError as exc:
            self.error = str(exc)

    def start(self) -> None:
        """Render on a thread (Blender's UI stays live)."""
        self.thread = threading.Thread(target=self.run, name="hdr-reconstruct", daemon=True)
        self.thread.start()

    def _frame(self, index: int, _path) -> None:
        self.done = index + 1
        if self._cancel.is_set():
            raise Cancelled(f"cancelled after {self.done} of {self.total} frames")

    def finish(self, context):
        """The new Image node reading the EXRs, in the source's place; ``None`` on error."""
        if self.result is None:
            return None
        tree, source = _tree(context), self.source
        image = bpy.data.images.load(str(self.result.outputs[0]), check_existing=False)
        image.name = f"{self.plate.stem} HDR"
        image.colorspace_settings.name = ColorContext(_blender_config()).canonical(WORKING_SPACE)
        node = tree.nodes.new("CompositorNodeImage")
        node.name = node.label = f"{source.name} HDR"
        node.location = (source.location.x, source.location.y - 300)
        node.image = image
        if self.plate.frames is not None:
            image.source = "SEQUENCE"
            node.frame_duration = source.frame_duration
            node.frame_start = source.frame_start
            node.frame_offset = source.frame_offset
            node.use_auto_refresh = source.use_auto_refresh
        outputs = {o.name: o for o in node.outputs}
        main = node.outputs[0]  # "Image", or "Combined" when the EXR carries the mask layer
        for link in [link for link in tree.links if link.from_node == source]:
            socket = outputs.get(link.from_socket.name, main)
            target = link.to_socket
            tree.links.remove(link)
            tree.links.new(socket, target)
        tree.nodes.active = node
        return node


class HDR_OT_reconstruct_node(bpy.types.Operator):
    """Reconstruct the active Image node's frames to scene-linear Rec.2020 EXRs."""

    bl_idname = "hdr.reconstruct_node"
    bl_label = "Reconstruct"
    bl_options = {"REGISTER", "UNDO"}

    wait: BoolProperty(
        name="wait", description="Render in the foreground (scripts)", options={"SKIP_SAVE"}
    )

    _job: ReconstructJob | None = None
    _timer = None

    def _start(self, context) -> ReconstructJob | None:
        try:
            return ReconstructJob(context, source_node(context))
        except HdrPluginError as exc:
            self.report({"ERROR"}, f"{TITLE}: {exc}")
            return None

    def _end(self, context, job: ReconstructJob) -> set[str]:
        if job.error is not None:
            self.report({"ERROR"}, f"{TITLE}: {job.error}")
            return {"CANCELLED"}
        node = job.finish(context)
        count = len(job.result.outputs)
        self.report({"INFO"}, f"{TITLE}: {count} frame(s) -> {node.image.filepath}")
        return {"FINISHED"}

    def execute(self, context):
        job = self._start(context)
        if job is None:
            return {"CANCELLED"}
        job.run()
        return self._end(context, job)

    def invoke(self, context, event):
        if self.wait or bpy.app.background or context.window is None:
            return self.execute(context)
        job = self._start(context)
        if job is None:
            return {"CANCELLED"}
        self._job = job
        manager = context.window_manager
        manager.progress_begin(0, job.total)
        self._timer = manager.event_timer_add(0.2, window=context.window)
        manager.modal_handler_add(self)
        job.start()
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC":
            job.cancel()
        if event.type != "TIMER":
            return {"RUNNING_MODAL"}
        manager = context.window_manager
        manager.progress_update(job.done)
        context.workspace.status_text_set(f"{TITLE}: {job.done}/{job.total} frames (Esc cancels)")
        if job.thread.is_alive():
            return {"RUNNING_MODAL"}
        manager.event_timer_remove(self._timer)
        manager.progress_end()
        context.workspace.status_text_set(None)
        return self._end(context, job)


class HDR_OT_load_shot(bpy.types.Operator):
    """Fill the knobs from a shot of a shot config."""

    bl_idname = "hdr.load_shot"
    bl_label = "Load shot"

    def execute(self, context):
        try:
            load_shot(context.scene.hdr_reconstruct, _color())
        except HdrPluginError as exc:
            self.report({"ERROR"}, f"{TITLE}: {exc}")
            return {"CANCELLED"}
        return {"FINISHED"}


# -- the image editor -----------------------------------------------------------------------


def image_pixels(image) -> tuple[np.ndarray, str | None]:
    """An image's RGBA, top row first, and the colourspace of its values.

    A file on disk that Blender holds unchanged is read by the core (its own tag); other
    images (generated, painted, packed) are taken from Blender's pixels: float images are
    Blender's scene-linear values, byte images code values in their colourspace.
    """
    path = bpy.path.abspath(image.filepath, library=image.library) if image.filepath else ""
    if image.source == "FILE" and path and os.path.isfile(path) and not image.is_dirty:
        plate = read_image(path)
        alpha = plate.alpha if plate.alpha is not None else np.ones_like(plate.rgb[..., :1])
        return np.concatenate([plate.straight_rgb, alpha], axis=-1), plate.colorspace
    width, height = image.size
    pixels = np.empty(width * height * 4, np.float32)
    image.pixels.foreach_get(pixels)
    rgba = pixels.reshape(height, width, 4)[::-1]
    blender = ColorContext(_blender_config())
    name = "scene_linear" if image.is_float else image.colorspace_settings.name
    return np.ascontiguousarray(rgba), _color().counterpart(blender, name)


def reconstruct_image(image, props) -> bpy.types.Image:
    """A new float image: the reconstruction of ``image`` (scene-linear Rec.2020).

    Raises:
        HdrPluginError: bad knobs, or pixels the core cannot decode.
    """
    color = _color()
    node = ReconstructNode(settings_of(props), color)
    rgba, colorspace = image_pixels(image)
    rgb = rgba[..., :3]
    result = node.process_frame(np.ascontiguousarray(rgb), input_colorspace=colorspace).rgb
    linear = color.convert(result, node.output_colorspace, WORKING_SPACE)
    height, width = linear.shape[:2]
    alpha = rgba[..., 3:4] if rgba.shape[-1] == 4 else np.ones((height, width, 1), np.float32)
    out = bpy.data.images.new(f"{image.name} HDR", width, height, alpha=True, float_buffer=True)
    out.colorspace_settings.name = ColorContext(_blender_config()).canonical(WORKING_SPACE)
    out.pixels.foreach_set(np.concatenate([linear, alpha], axis=-1)[::-1].ravel())
    out.pack()
    return out


class HDR_OT_reconstruct_image(bpy.types.Operator):
    """Reconstruct the shown image into a new float image."""

    bl_idname = "hdr.reconstruct_image"
    bl_label = "Reconstruct image"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        space = context.space_data
        image = getattr(space, "image", None) if space is not None else None
        image = image or getattr(context, "edit_image", None)
        if image is None:
            self.report({"ERROR"}, f"{TITLE}: open an image in the Image Editor first")
            return {"CANCELLED"}
        try:
            out = reconstruct_image(image, context.scene.hdr_reconstruct)
        except HdrPluginError as exc:
            self.report({"ERROR"}, f"{TITLE}: {exc}")
            return {"CANCELLED"}
        if space is not None and hasattr(space, "image"):
            space.image = out
        self.report({"INFO"}, f"{TITLE}: made {out.name}")
        return {"FINISHED"}


# -- panels ---------------------------------------------------------------------------------


def _draw_knobs(layout, props, tree=None) -> None:
    for param in node_parameters():
        if param.name == _MATTE:
            if tree is not None:
                layout.prop_search(props, param.name, tree, "nodes", icon="IMAGE_DATA")
            continue
        layout.prop(props, param.name)
    layout.prop(props, "model_options")
    row = layout.row(align=True)
    row.prop(props, "shot_config", text="shot")
    row.prop(props, "shot", text="")
    row.operator(HDR_OT_load_shot.bl_idname, text="", icon="IMPORT")


class HDR_PT_compositor(bpy.types.Panel):
    """The Compositor sidebar's HDR tab: the knobs and Reconstruct on the active Image node."""

    bl_label = TITLE
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = CATEGORY

    @classmethod
    def poll(cls, context):
        return getattr(context.space_data, "tree_type", "") == "CompositorNodeTree"

    def draw(self, context):
        props, layout = context.scene.hdr_reconstruct, self.layout
        _draw_knobs(layout, props, _tree(context))
        layout.prop(props, "output_folder")
        layout.prop(props, "mask_output")
        layout.operator(HDR_OT_reconstruct_node.bl_idname, icon="IMAGE_DATA")


class HDR_PT_image_editor(bpy.types.Panel):
    """The Image Editor sidebar's HDR tab: the knobs and Reconstruct on the shown image."""

    bl_label = TITLE
    bl_space_type = "IMAGE_EDITOR"
    bl_region_type = "UI"
    bl_category = CATEGORY

    def draw(self, context):
        props, layout = context.scene.hdr_reconstruct, self.layout
        _draw_knobs(layout, props)
        layout.operator(HDR_OT_reconstruct_image.bl_idname, icon="IMAGE_DATA")


# -- registration ---------------------------------------------------------------------------

_CLASSES: list[type] = []


def register() -> None:
    """Register the panels, operators and the scene's knobs."""
    settings = type(
        "HDR_PG_settings", (bpy.types.PropertyGroup,), {"__annotations__": _knob_properties()}
    )
    _CLASSES[:] = [
        settings,
        HDR_OT_reconstruct_node,
        HDR_OT_load_shot,
        HDR_OT_reconstruct_image,
        HDR_PT_compositor,
        HDR_PT_image_editor,
    ]
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.hdr_reconstruct = PointerProperty(type=settings)


def unregister() -> None:
    """Undo :func:`register`."""
    del bpy.types.Scene.hdr_reconstruct
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
    _CLASSES.clear()
