"""Krita's entry point for HDR Reconstruct: find hdr_plugin, then register the extension.

``hdr-plugin install-krita`` copies this package into Krita's ``pykrita`` folder and
writes ``environment.json`` beside it: the site-packages of the Python environment
hdr_plugin is installed in, and that Python's version. Krita's embedded Python must be
the same minor version (compiled packages such as torch and NumPy are built for it).
"""

from pathlib import Path


def _use_environment() -> None:
    from ._environment import use_environment  # installed beside this file

    use_environment(Path(__file__).parent, "Krita", "hdr-plugin install-krita")


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
