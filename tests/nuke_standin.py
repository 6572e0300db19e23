"""A stand-in for Nuke's ``nuke`` module: only the calls the adapter makes.

Each name implements the Nuke Python API entry of the same name (see
``hdr_plugin.host_adapters.nuke.node.NUKE_API``) closely enough to test the adapter:
nodes with knobs and inputs, Groups as contexts, a Root with a frame range and a custom
OCIO config knob, knobChanged via thisNode()/thisKnob(), messages and menus recorded.
"""

from __future__ import annotations

import sys
import types

messages: list[str] = []
menu_commands: list[tuple[str, str]] = []
plugin_paths: list[str] = []
executed: list[str] = []
_this: dict = {}


class Knob:
    def __init__(self, name, label="", value=None):
        self._name, self.label, self._value = name, label, value
        self.node = None

    def name(self):
        return self._name

    def value(self):
        return self._value

    def setValue(self, value):
        self._value = value
        return True

    def execute(self):
        executed.append(self._name)
        if callable(self._value):
            self._value()


class Tab_Knob(Knob):
    pass


class Text_Knob(Knob):
    def __init__(self, name, label="", text=""):
        super().__init__(name, label, text)


class String_Knob(Knob):
    def __init__(self, name, label=""):
        super().__init__(name, label, "")


class File_Knob(String_Knob):
    pass


class Double_Knob(Knob):
    def __init__(self, name, label=""):
        super().__init__(name, label, 0.0)


class Boolean_Knob(Knob):
    def __init__(self, name, label=""):
        super().__init__(name, label, False)


class Channel_Knob(Knob):
    def __init__(self, name, label=""):
        super().__init__(name, label, "none")


class Enumeration_Knob(Knob):
    def __init__(self, name, label, values):
        super().__init__(name, label, values[0] if values else "")
        self.values = list(values)

    def setValue(self, value):
        if value not in self.values:
            raise ValueError(f"{self._name}: {value!r} is not one of the enumeration's values")
        self._value = value
        return True


class PyScript_Knob(Knob):
    def __init__(self, name, label="", command=""):
        super().__init__(name, label, command)


class Node:
    _CLASS_KNOBS = {  # noqa: RUF012
        "Read": {"file": "", "first": 1, "last": 1, "colorspace": "default"},
        "CatFileCreator": {"torchScriptFile": "", "catFile": "", "channelsIn": "",
                           "channelsOut": "", "modelId": "", "outputScale": 1},
        "Inference": {"modelFile": ""},
        "OCIOColorSpace": {"in_colorspace": "", "out_colorspace": ""},
        "Root": {"first_frame": 1, "last_frame": 100, "customOCIOConfigPath": ""},
    }  # fmt: skip

    def __init__(self, cls, **knobs):
        self._class, self._name, self._inputs, self._children = cls, cls, {}, []
        self._knobs = {"knobChanged": Knob("knobChanged", value="")}
        for name, value in self._CLASS_KNOBS.get(cls, {}).items():
            self._knobs[name] = Knob(name, value=value)
        if cls == "CatFileCreator":
            self._knobs["createCatFile"] = Knob("createCatFile", value=self._create_cat)
        for name, value in knobs.items():
            if name == "name":
                self._name = value
            else:
                self._knobs.setdefault(name, Knob(name)).setValue(value)

    def _create_cat(self):
        with open(self["catFile"].value(), "wb") as handle:  # a .cat wraps the .pt
            handle.write(open(self["torchScriptFile"].value(), "rb").read())

    def Class(self):
        return self._class

    def name(self):
        return self._name

    def setName(self, name):
        self._name = name

    def knob(self, name):
        return self._knobs.get(name)

    def knobs(self):
        return dict(self._knobs)

    def __getitem__(self, name):
        return self._knobs[name]

    def addKnob(self, knob):
        knob.node = self
        self._knobs[knob.name()] = knob

    def input(self, index):
        return self._inputs.get(index)

    def setInput(self, index, node):
        self._inputs[index] = node
        return True

    def nodes(self):
        return list(self._children)

    def begin(self):
        _context.append(self)

    def end(self):
        _context.pop()


_root = Node("Root")
_context: list[Node] = [_root]


def root():
    return _root


def _add(node):
    _context[-1]._children.append(node)
    return node


def createNode(cls, args="", inpanel=True):
    return _add(Node(cls))


def _factory(cls):
    return lambda **knobs: _add(Node(cls, **knobs))


nodes = types.SimpleNamespace(
    **{cls: _factory(cls) for cls in ("Input", "Output", "Read", "OCIOColorSpace",
                                      "CatFileCreator", "Inference", "Group", "Blur")}
)  # fmt: skip


def allNodes(cls=None):
    return [n for n in _context[-1]._children if cls is None or n.Class() == cls]


def thisNode():
    return _this["node"]


def thisKnob():
    return _this["knob"]


def message(prompt):
    messages.append(prompt)


def pluginAddPath(path):
    plugin_paths.append(path)


class _Menu:
    def __init__(self, path):
        self.path = path

    def addMenu(self, name):
        return _Menu(f"{self.path}/{name}")

    def addCommand(self, name, command, icon=""):
        menu_commands.append((f"{self.path}/{name}", command))


def menu(name):
    return _Menu(name)


# --- test helpers (not Nuke API) ---


def change_knob(node, name, value):
    """Set a knob and run the node's knobChanged script as Nuke would."""
    node[name].setValue(value)
    _this.update(node=node, knob=node[name])
    exec(node["knobChanged"].value(), {"nuke": sys.modules[__name__]})


def press(node, name):
    """Press a PyScript_Knob button as Nuke would."""
    _this.update(node=node, knob=node[name])
    exec(node[name].value(), {"nuke": sys.modules[__name__]})


def reset():
    global _root
    _root = Node("Root")
    _context[:] = [_root]
    messages.clear()
    menu_commands.clear()
    plugin_paths.clear()
    executed.clear()
