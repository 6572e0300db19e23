"""Put the Python environment hdr_plugin is installed in on a host's ``sys.path``.

Standard library only: :func:`hdr_plugin.host_adapters.bootstrap.install_package` copies
this file into a host's bootstrap package as ``_environment.py`` (beside
``environment.json``), where it runs before hdr_plugin can be imported.
"""

import json
import site
import sys
from pathlib import Path


def use_environment(package: Path, host: str, installer: str) -> None:
    """Add the site-packages that ``package/environment.json`` records, first on the path.

    Raises:
        ImportError: the host's Python is not the minor version hdr_plugin was installed
            for (compiled packages such as torch and NumPy are built for one); the message
            names ``installer``, the command to run from a matching environment.
    """
    record = json.loads((Path(package) / "environment.json").read_text())
    wanted = tuple(record["python"][:2])
    if sys.version_info[:2] != wanted:
        raise ImportError(
            f"hdr_plugin was installed for Python {wanted[0]}.{wanted[1]}, {host} runs Python "
            f"{sys.version_info[0]}.{sys.version_info[1]}; run `{installer}` from an "
            f"environment of {host}'s Python version"
        )
    before = list(sys.path)
    for folder in record["site_packages"]:
        site.addsitedir(folder)  # also runs the .pth files of an editable install
    added = [p for p in sys.path if p not in before]
    sys.path[:] = [*added, *(p for p in sys.path if p not in added)]
