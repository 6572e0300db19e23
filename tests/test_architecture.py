"""The direction of imports: the core never imports Qt or a host."""

import subprocess
import sys


def test_core_imports_without_qt_or_hosts():
    code = (
        "import sys\n"
        "for name in ('PySide6', 'nuke', 'hdr_plugin.ui', 'hdr_plugin.host_adapters'):\n"
        "    sys.modules[name] = None\n"
        "import hdr_plugin.cli, hdr_plugin.node, hdr_plugin.render, hdr_plugin.models\n"
        "assert 'torch' not in sys.modules, 'analytic rendering must not pay for torch'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
