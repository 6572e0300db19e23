"""Blender's entry point for HDR Reconstruct: find hdr_plugin, then register the add-on.

``hdr-plugin install-blender`` copies this package into Blender's add-ons folder and
writes ``environment.json`` beside it: the site-packages of the Python environment
hdr_plugin is installed in, and that Python's version. Blender's Python must be the same
minor version (compiled packages such as torch and NumPy are built for it): Python 3.11
for Blender 4.1 to 4.4.
"""

from pathlib import Path

bl_info = {
    "name": "HDR Reconstruct",
    "author": "hdr_plugin",
    "version": (0, 1, 0),
    "blender": (4, 2, 0),
    "location": "Compositor and Image Editor > Sidebar > HDR",
    "description": "SDR plates to scene-linear Rec.2020 EXRs, reconstructed by hdr_plugin",
    "category": "Compositing",
}


def _use_environment() -> None:
    from ._environment import use_environment  # installed beside this file

    use_environment(Path(__file__).parent, "Blender", "hdr-plugin install-blender")


def register() -> None:
    """Blender calls this when the add-on is enabled."""
    _use_environment()
    from hdr_plugin.host_adapters.blender import addon

    addon.register()


def unregister() -> None:
    """Blender calls this when the add-on is disabled."""
    from hdr_plugin.host_adapters.blender import addon

    addon.unregister()
