"""The HDRReconstruct node for Nuke-style hosts.

A Group with two inputs (``plate``, ``mask``) and knobs mirroring the core settings. Knob
changes are validated through the core at once and reported with ``nuke.message``. Two
real render paths:

* **Render** (Python): reads the frames of the Read feeding the ``plate`` input (or the
  script's frame range), runs :class:`hdr_plugin.node.ReconstructNode` through the core,
  writes EXRs and wires a Read of them into the Group's output.
* **Set up Inference** (TorchScript): exports the learned model, builds its ``.cat`` with
  CatFileCreator and puts OCIOColorSpace -> Inference -> OCIOColorSpace inside the Group.

Every Nuke API call the adapter makes is listed in :data:`NUKE_API`.
"""

from __future__ import annotations

import os
from pathlib import Path

import nuke

from hdr_plugin.color import (
    DEFAULT_INPUT_SPACE,
    WORKING_SPACE,
    ColorContext,
    resolve_config_path,
)
from hdr_plugin.errors import ConfigError, HdrPluginError, ModelError
from hdr_plugin.host_adapters.base import HostAdapter
from hdr_plugin.models import network_models
from hdr_plugin.node import AUTO, ReconstructSettings, node_parameters

#: The Nuke Python API this adapter uses (name here -> Nuke documentation name).
NUKE_API = {
    "nuke.createNode": "nuke.createNode(node, args='', inpanel=True)",
    "nuke.nodes.<Class>": "nuke.nodes.Input/Output/Read/OCIOColorSpace/CatFileCreator/Inference",
    "nuke.root": "nuke.root() -> the Root node (first_frame, last_frame, customOCIOConfigPath)",
    "nuke.thisNode / nuke.thisKnob": "nuke.thisNode(), nuke.thisKnob() in knobChanged",
    "nuke.message": "nuke.message(prompt)",
    "nuke.menu": "nuke.menu(name).addMenu(name).addCommand(name, command, icon=...)",
    "nuke.pluginAddPath": "nuke.pluginAddPath(path)",
    "Knob classes": "nuke.Tab_Knob, Enumeration_Knob, Double_Knob, Boolean_Knob, Channel_Knob, "
    "File_Knob, String_Knob, PyScript_Knob, Text_Knob",
    "Node methods": "Node.addKnob, Node.knob, Node[name], Node.input, Node.setInput, "
    "Node.setName, "
    "Node.Class, Node.name, Node.begin/end (Group context), Node.nodes (Group), Knob.value, "
    "Knob.setValue, Knob.setValues, Knob.execute",
}
NODE_CLASS = "HDRReconstruct"
_CHANNELS = {"rgba.alpha": "A", "rgba.red": "R", "rgba.green": "G", "rgba.blue": "B"}
#: Node knobs this host spells otherwise; ``None``: not a knob here (the matte is the
#: node's mask input). Every other knob keeps its own name.
_SPELLINGS = {
    "input_colorspace": "in_colorspace",
    "output_colorspace": "out_colorspace",
    "matte": None,
    "matte_channel": "maskChannelInput",
    "matte_invert": "invert_mask",
}


def host_knob(name: str) -> str | None:
    """This host's knob for node knob ``name``, or ``None`` when it has none."""
    return _SPELLINGS.get(name, name)


#: knob name -> this host's knob, for every node knob the host shows (not the matte: that is
#: the node's mask input).
_KNOBS = {p.name: host_knob(p.name) for p in node_parameters() if host_knob(p.name)}
_TYPES = {p.name: p.type for p in node_parameters()}


def _to_host(name: str, value):
    """A knob value as the host knob holds it (Nuke channel names for the matte channel)."""
    if name == "matte_channel":
        return {v: k for k, v in _CHANNELS.items()}.get(value, "rgba.alpha")
    return value


def _from_host(name: str, value):
    """A host knob value as the core's knob (``float`` for Double_Knobs, channel letters)."""
    if name == "matte_channel":
        return _CHANNELS.get(value, "A")
    if value == "" and _TYPES[name] is str:  # an unset enumeration
        return None
    return _TYPES[name](value)


_KNOB_CHANGED = "import hdr_plugin.host_adapters.nuke.node as n; n.knob_changed()"
_RENDER = "import hdr_plugin.host_adapters.nuke.node as n; n.NukeAdapter(nuke.thisNode()).render()"
_INFERENCE = (
    "import hdr_plugin.host_adapters.nuke.node as n; "
    "n.NukeAdapter(nuke.thisNode()).setup_inference()"
)


def host_ocio_config() -> str:
    """The script's custom OCIO config when set, else $OCIO, else the bundled config."""
    root = nuke.root()
    knob = root.knob("customOCIOConfigPath")
    custom = knob.value() if knob is not None else ""
    return resolve_config_path(custom or None)


def create() -> nuke.Node:
    """Create an HDRReconstruct Group in the current graph (the menu command)."""
    color = ColorContext(host_ocio_config())
    group = nuke.createNode("Group", inpanel=False)
    group.setName(NODE_CLASS)
    group.begin()
    plate = nuke.nodes.Input(name="plate")
    nuke.nodes.Input(name="mask")
    output = nuke.nodes.Output()
    output.setInput(0, plate)
    group.end()

    knobs = [nuke.Tab_Knob("hdr", "HDR Reconstruct")]
    for param in node_parameters(color):
        name, label = host_knob(param.name), param.name.replace("_", " ")
        if name is None:
            continue
        if param.name == "matte_channel":  # Nuke picks a channel of the mask input
            knob = nuke.Channel_Knob(name, "mask")
        elif param.choices is not None:  # an empty entry stands for an unset knob
            unset = [""] if param.default is None else []
            knob = nuke.Enumeration_Knob(name, label, unset + list(param.choices))
        elif param.type is bool:
            knob = nuke.Boolean_Knob(name, label)
        elif param.type is str:  # a file (the input LUT)
            knob = nuke.File_Knob(name, label)
        else:
            knob = nuke.Double_Knob(name, label)
        if param.default is not None:
            knob.setValue(_to_host(param.name, param.default))
        knobs.append(knob)
    knobs += [
        nuke.File_Knob("shot_config", "shot config"),
        nuke.String_Knob("shot", "shot"),
        nuke.File_Knob("output", "output"),
        nuke.PyScript_Knob("render", "Render", _RENDER),
        nuke.PyScript_Knob("setup_inference", "Set up Inference", _INFERENCE),
        nuke.Text_Knob("status", "", ""),
    ]
    for knob in knobs:
        group.addKnob(knob)
    group["in_colorspace"].setValue(color.canonical(DEFAULT_INPUT_SPACE))
    group["output"].setValue("renders/hdr/hdr.####.exr")
    group["knobChanged"].setValue(_KNOB_CHANGED)
    return group


def knob_changed() -> None:
    """Nuke's knobChanged callback: apply a shot override, then validate through the core."""
    node, knob = nuke.thisNode(), nuke.thisKnob()
    adapter = NukeAdapter(node)
    if knob.name() in {"shot", "shot_config"}:
        adapter.apply_shot()
    if knob.name() in {*_KNOBS.values(), "shot", "shot_config"}:
        adapter.validate()


def _upstream_read(node: nuke.Node, index: int) -> nuke.Node | None:
    current = node.input(index)
    while current is not None and current.Class() != "Read":
        current = current.input(0)
    return current


class NukeAdapter(HostAdapter):
    """A :class:`HostAdapter` over one HDRReconstruct Group."""

    host = NODE_CLASS

    def __init__(self, node: nuke.Node) -> None:
        self.node = node

    def settings(self) -> ReconstructSettings:
        n = self.node
        mask = _upstream_read(n, 1)
        values = {name: _from_host(name, n[knob].value()) for name, knob in _KNOBS.items()}
        return ReconstructSettings(**values, matte=mask["file"].value() if mask else None)

    def color(self) -> ColorContext:
        return ColorContext(host_ocio_config())

    def plate(self) -> tuple[str, str | None]:
        read = _upstream_read(self.node, 0)
        if read is None:
            raise ConfigError(f"{self.node.name()}: connect a Read (the plate) to input 'plate'")
        pattern = read["file"].value()
        first, last = int(read["first"].value()), int(read["last"].value())
        if "#" not in pattern and "%" not in pattern:
            return pattern, None
        if first > last:
            root = nuke.root()
            first, last = int(root["first_frame"].value()), int(root["last_frame"].value())
        return pattern, f"{first}-{last}"

    def output(self) -> str:
        return self.node["output"].value()

    def report_error(self, message: str) -> None:
        self.node["status"].setValue(f"ERROR: {message}")
        nuke.message(message)

    def validate(self) -> str | None:
        message = super().validate()
        if message is None:
            self.node["status"].setValue("ok")
        return message

    def apply_shot(self) -> None:
        """Copy the knobs of the named shot from the shot config onto the node."""
        path, name = self.node["shot_config"].value(), self.node["shot"].value()
        if not path or not name:
            return
        from hdr_plugin.shots import load_shots

        try:
            (shot,) = load_shots(path, self.color()).select([name])
        except HdrPluginError as exc:
            self.report_error(f"{NODE_CLASS}: {exc}")
            return
        for name, knob in _KNOBS.items():
            value = getattr(shot.settings, name)
            if name.endswith("colorspace") and value not in (None, AUTO):
                value = self.color().canonical(value)
            if value is not None:
                self.node[knob].setValue(_to_host(name, value))
        self.node["output"].setValue(shot.job.output)

    def show_result(self, pattern: str, frames: list[int | None]) -> None:
        """Put a Read of the rendered EXRs inside the Group, feeding its Output."""
        numbers = [f for f in frames if f is not None]
        group = self.node
        group.begin()
        try:
            output = next(n for n in group.nodes() if n.Class() == "Output")
            read = nuke.nodes.Read(file=pattern, name="HDRResult")
            if numbers:
                read["first"].setValue(min(numbers))
                read["last"].setValue(max(numbers))
            read["colorspace"].setValue(group["out_colorspace"].value())
            output.setInput(0, read)
        finally:
            group.end()
        group["status"].setValue(f"rendered {len(frames)} frame(s) to {pattern}")

    def setup_inference(self) -> Path:
        """Export the model to TorchScript, build its .cat, wire an Inference node."""
        from hdr_plugin.export import export_torchscript
        from hdr_plugin.models import create_model, get_spec

        settings = self.settings()
        try:
            spec = get_spec(settings.model)
            if spec.name not in network_models():
                raise ModelError(
                    f"{spec.name!r} is analytic or per-pixel, not an image network; "
                    "only image networks export to TorchScript"
                )
            model = create_model(settings.model, self.color(), {"device": "cpu"})
            folder = Path(self.output()).parent
            torchscript = export_torchscript(model, folder / f"{settings.model}.pt")
        except HdrPluginError as exc:
            self.report_error(f"{NODE_CLASS}: {exc}")
            raise
        cat = torchscript.with_suffix(".cat")
        group = self.node
        group.begin()
        try:
            plate = next(n for n in group.nodes() if n.Class() == "Input" and n.name() == "plate")
            output = next(n for n in group.nodes() if n.Class() == "Output")
            creator = nuke.nodes.CatFileCreator()
            creator["torchScriptFile"].setValue(str(torchscript))
            creator["catFile"].setValue(str(cat))
            creator["channelsIn"].setValue("rgba.red,rgba.green,rgba.blue")
            creator["channelsOut"].setValue("rgba.red,rgba.green,rgba.blue")
            creator["modelId"].setValue(settings.model)
            creator["outputScale"].setValue(1)
            creator["createCatFile"].execute()
            color = self.color()
            to_model = nuke.nodes.OCIOColorSpace(
                in_colorspace=settings.input_colorspace,
                out_colorspace=color.canonical(spec.input_encoding),
            )
            to_model.setInput(0, plate)
            inference = nuke.nodes.Inference(modelFile=str(cat))
            inference.setInput(0, to_model)
            to_output = nuke.nodes.OCIOColorSpace(
                in_colorspace=color.canonical(WORKING_SPACE),
                out_colorspace=settings.output_colorspace,
            )
            to_output.setInput(0, inference)
            output.setInput(0, to_output)
        finally:
            group.end()
        group["status"].setValue(f"Inference set up with {os.path.basename(cat)}")
        return cat
