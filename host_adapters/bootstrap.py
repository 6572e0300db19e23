"""Install a host's bootstrap package: a copy that runs this environment's hdr_plugin.

A host with its own embedded Python (Krita, Blender) loads a small package from its own
folder. The copy installed here records this environment's site-packages and Python
version in ``environment.json`` beside it, and the package puts them on the host's
``sys.path`` before it imports the adapter, so the host always runs the hdr_plugin the user
installed, with its torch and OpenColorIO.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import sys
from collections.abc import Mapping
from pathlib import Path


def environment() -> dict:
    """This Python's version, its site-packages and executable (``environment.json``)."""
    return {
        "python": list(sys.version_info[:3]),
        "site_packages": [
            *site.getsitepackages(),
            *([site.getusersitepackages()] if site.ENABLE_USER_SITE else []),
        ],
        "executable": sys.executable,
    }


def without_virtualenv(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` as a host with an embedded Python must be started with: no active venv.

    With a venv's ``bin`` first on ``PATH`` (``source .venv/bin/activate``), Krita's embedded
    Python finds the venv's ``python3``, takes the venv's prefix, and loses the system's
    PyQt5 (``from PyKrita.krita import *`` fails). The bootstrap adds this environment's
    site-packages itself, so the host needs none of the venv.
    """
    env = dict(environ)
    venv = env.pop("VIRTUAL_ENV", None) or active_virtualenv()
    if venv:
        root = Path(venv).resolve()
        folders = env.get("PATH", "").split(os.pathsep)
        env["PATH"] = os.pathsep.join(
            f for f in folders if f and not Path(f).resolve().is_relative_to(root)
        )
    env.pop("PYTHONHOME", None)
    return env


def active_virtualenv() -> str | None:
    """The venv of this shell (``$VIRTUAL_ENV``, else this Python's), if any."""
    return os.environ.get("VIRTUAL_ENV") or (sys.prefix if sys.prefix != sys.base_prefix else None)


def install_package(source: Path, target: Path) -> Path:
    """Copy package ``source`` to ``target`` with ``environment.json``, replacing it whole.

    Raises:
        OSError: a folder or file cannot be written (nothing half-copied is left under
            ``target``'s name).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns("__pycache__"))
    (staging / "environment.json").write_text(json.dumps(environment(), indent=2) + "\n")
    shutil.copyfile(Path(__file__).with_name("use_environment.py"), staging / "_environment.py")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
