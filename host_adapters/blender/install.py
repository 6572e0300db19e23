"""Install the HDR Reconstruct add-on into Blender's user scripts (no Blender needed).

Blender loads add-ons from ``<user scripts>/addons``. The package installed there is a
small bootstrap (:mod:`hdr_plugin.host_adapters.bootstrap`) that imports :mod:`.addon`
from this environment. Blender keeps the enabled add-ons in its preferences, which only
Blender writes: given a Blender (or a Python with the ``bpy`` module), the add-on is
enabled by running it once with ``addon_enable`` and ``save_userpref``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hdr_plugin.errors import ConfigError, OutputError
from hdr_plugin.host_adapters.bootstrap import install_package

ADDON = "hdr_reconstruct"
_SOURCE = Path(__file__).with_name("blender_addon") / ADDON
#: The Blender whose folder is used when none is installed yet (the LTS the add-on needs).
DEFAULT_VERSION = "4.2"
#: Run by the Blender given: enable, save the preferences, and leave at once (Blender as a
#: Python module crashes tearing down the classes an add-on registered).
_ENABLE = f"""
import os, sys, bpy
bpy.ops.preferences.addon_enable(module={ADDON!r})
bpy.ops.wm.save_userpref()
sys.stdout.flush(); sys.stderr.flush(); os._exit(0)
"""


def default_scripts() -> Path:
    """Blender's user scripts folder: ``$BLENDER_USER_SCRIPTS``, else the newest version's."""
    if os.environ.get("BLENDER_USER_SCRIPTS"):
        return Path(os.environ["BLENDER_USER_SCRIPTS"])
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
        root = base / "Blender Foundation" / "Blender"
    elif sys.platform == "darwin":
        root = Path.home() / "Library" / "Application Support" / "Blender"
    else:
        root = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "blender"
    versions = [p.name for p in root.glob("*") if re.fullmatch(r"\d+\.\d+", p.name)]
    newest = max(versions, key=lambda v: tuple(map(int, v.split("."))), default=DEFAULT_VERSION)
    return root / newest / "scripts"


@dataclass(frozen=True)
class Installed:
    """What :func:`install_blender` wrote, and whether a Blender enabled it."""

    package: Path
    enabled_by: str | None


def install_blender(scripts: Path | None = None, *, blender: str | None = None) -> Installed:
    """Copy the add-on into ``scripts/addons`` and, given a Blender, enable it there.

    Args:
        scripts: Blender's user scripts folder (default :func:`default_scripts`).
        blender: a Blender executable, or a Python with the ``bpy`` module, run once
            (headless) to enable the add-on and save Blender's preferences.

    Raises:
        OutputError: a folder or file cannot be written (one line, nothing half-copied).
        ConfigError: the Blender given could not enable the add-on (its last line said).
    """
    scripts = Path(scripts) if scripts is not None else default_scripts()
    package = scripts / "addons" / ADDON
    try:
        install_package(_SOURCE, package)
    except OSError as exc:
        where = exc.filename or package
        raise OutputError(f"{where}: cannot install the Blender add-on: {exc.strerror}") from exc
    if blender is None:
        return Installed(package, None)
    is_python = Path(blender).name.startswith("python")
    command = (
        [blender, "-c", _ENABLE]
        if is_python
        else [blender, "-b", "--python-exit-code", "1", "--python-expr", _ENABLE]
    )
    env = {**os.environ, "BLENDER_USER_SCRIPTS": str(scripts)}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{blender}: cannot run it to enable the add-on: {exc}") from exc
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise ConfigError(f"{blender} could not enable the add-on: {last}")
    return Installed(package, blender)
