"""Krita's entry point for HDR Reconstruct: find hdr_plugin, then register the extension.

``hdr-plugin install-krita`` copies this package into Krita's ``pykrita`` folder and
writes ``environment.json`` beside it: the site-packages of the Python environment
hdr_plugin is installed in, and that Python's version. Krita's embedded Python must be
the same minor version (compiled packages such as torch and NumPy are built for it).
"""

import json
import site
import sys
from pathlib import Path


def _use_environment() -> None:
    record = json.loads(Path(__file__).with_name("environment.json").read_text())
    wanted = tuple(record["python"][:2])
    if sys.version_info[:2] != wanted:
        raise ImportError(
            f"hdr_plugin was installed for Python {wanted[0]}.{wanted[1]}, Krita runs Python "
            f"{sys.version_info[0]}.{sys.version_info[1]}; run `hdr-plugin install-krita` "
            "from an environment of Krita's Python version"
        )
    before = list(sys.path)
    for folder in record["site_packages"]:
        site.addsitedir(folder)  # also runs the .pth files of an editable install
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + [p for p in sys.path if p not in added]


def _register() -> None:
    from krita import Krita

    try:
        _use_environment()
        from hdr_plugin.host_adapters.krita.plugin import HdrReconstructExtension
    except Exception as exc:
        from PyQt5.QtWidgets import QMessageBox

        QMessageBox.critical(None, "HDR Reconstruct", f"HDR Reconstruct is not available: {exc}")
        return
    Krita.instance().addExtension(HdrReconstructExtension(Krita.instance()))


_register()
