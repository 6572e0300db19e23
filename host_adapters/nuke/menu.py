"""Nuke runs this in GUI sessions: the Nodes > HDR > HDRReconstruct menu entry."""

import os

import nuke

ICON = os.path.join(os.path.dirname(__file__), "HDRReconstruct.png")

nuke.menu("Nodes").addMenu("HDR").addCommand(
    "HDRReconstruct",
    "import hdr_plugin.host_adapters.nuke.node as n; n.create()",
    icon=ICON if os.path.exists(ICON) else "",
)
