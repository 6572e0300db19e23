"""hdr_plugin: SDR Rec.709 plates in, scene-linear Rec.2020 OpenEXR out.

The core is host-agnostic: nothing here imports Qt or a compositing host.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hdr-plugin")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
