"""Install the HDR Reconstruct plugin into Krita's resource folder (no Krita needed).

Krita loads Python plugins from ``<resources>/pykrita``: a ``.desktop`` file naming a
package, and the package. The package installed here is a small bootstrap
(:mod:`hdr_plugin.host_adapters.bootstrap`) that imports :mod:`.plugin` from this
environment.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from hdr_plugin.errors import ConfigError, OutputError
from hdr_plugin.host_adapters.bootstrap import install_package
from hdr_plugin.io import atomic_write

PLUGIN = "hdr_reconstruct"
_SOURCE = Path(__file__).with_name("pykrita")


def default_resources() -> Path:
    """Krita's resource folder on this platform (where ``pykrita`` lives)."""
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "krita"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "krita"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "krita"


def default_kritarc() -> Path:
    """Krita's settings file on this platform."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "kritarc"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Preferences" / "kritarc"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kritarc"


def enable_in_kritarc(text: str, plugin: str = PLUGIN) -> str:
    """``kritarc`` text with ``enable_<plugin>=true`` in its ``[python]`` group.

    Only that one line is added or changed; every other line is kept as Krita wrote it.
    """
    key = f"enable_{plugin}"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "[python]"), None)
    if start is None:
        return "\n".join([*lines, *([""] if lines else []), "[python]", f"{key}=true"]) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    for i in range(start + 1, end):
        if lines[i].split("=", 1)[0].strip() == key:
            lines[i] = f"{key}=true"
            return "\n".join(lines) + "\n"
    lines.insert(start + 1, f"{key}=true")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Installed:
    """What :func:`install_krita` wrote."""

    package: Path
    desktop: Path
    kritarc: Path | None


def install_krita(
    resources: Path | None = None, kritarc: Path | None = None, *, enable: bool = True
) -> Installed:
    """Copy the plugin into ``resources/pykrita``, record this environment, enable it.

    Args:
        resources: Krita's resource folder (default :func:`default_resources`).
        kritarc: Krita's settings file to enable the plugin in (default
            :func:`default_kritarc`).
        enable: enable the plugin in ``kritarc`` (else Krita's Python Plugin Manager does).

    Raises:
        OutputError: a folder or file cannot be written (one line, nothing half-copied).
    """
    resources = Path(resources) if resources is not None else default_resources()
    kritarc = Path(kritarc) if kritarc is not None else default_kritarc()
    target = resources / "pykrita"
    package, desktop = target / PLUGIN, target / f"{PLUGIN}.desktop"
    try:
        install_package(_SOURCE / PLUGIN, package)
        with atomic_write(desktop) as temporary:
            shutil.copyfile(_SOURCE / desktop.name, temporary)
        if enable:
            try:
                current = kritarc.read_text(encoding="utf-8") if kritarc.exists() else ""
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"{kritarc}: not UTF-8 text (byte {exc.start}), so not Krita's settings "
                    "file; pass --kritarc with Krita's kritarc"
                ) from None
            kritarc.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(kritarc) as temporary:
                temporary.write_text(enable_in_kritarc(current))
    except OSError as exc:
        where = exc.filename or target
        raise OutputError(f"{where}: cannot install the Krita plugin: {exc.strerror}") from exc
    return Installed(package, desktop, kritarc if enable else None)
