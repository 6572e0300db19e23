"""Blender's entry point for HDR Reconstruct: find hdr_plugin, then register the add-on.

``hdr-plugin install-blender`` copies this package into Blender's add-ons folder and
writes ``environment.json`` beside it: the site-packages of the Python environment
hdr_plugin is installed in, and that Python's version. Blender's Python must be the same
minor version (compiled packages such as torch and NumPy are built for it): Python 3.11
for Blender 4.1 to 4.4.
"""

import json
import site
import sys
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
    record = json.loads(Path(__file__).with_name("environment.json").read_text())
    wanted = tuple(record["python"][:2])
    if sys.version_info[:2] != wanted:
        raise ImportError(
            f"hdr_plugin was installed for Python {wanted[0]}.{wanted[1]}, Blender runs Python "
            f"{sys.version_info[0]}.{sys.version_info[1]}; run `hdr-plugin install-blender` "
            "from an environment of Blender's Python version"
        )
    before = list(sys.path)
    for folder in record["site_packages"]:
        site.addsitedir(folder)  # also runs the .pth files of an editable install
    added = [p for p in sys.path if p not in before]
    sys.path[:] = [*added, *(p for p in sys.path if p not in added)]


def register() -> None:
    """Blender calls this when the add-on is enabled."""
    _use_environment()
    from hdr_plugin.host_adapters.blender import addon

    addon.register()


def unregister() -> None:
    """Blender calls this when the add-on is disabled."""
    from hdr_plugin.host_adapters.blender import addon

    addon.unregister()
