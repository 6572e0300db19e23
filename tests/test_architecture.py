"""The shape of the code: import direction, no cycles, no private modules, packaging."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def _modules() -> dict[str, Path]:
    """Every module of the installed package, by dotted name (ui and hosts included)."""
    roots = {"hdr_plugin": ROOT / "hdr_plugin", "hdr_plugin.ui": ROOT / "ui"}
    roots["hdr_plugin.host_adapters"] = ROOT / "host_adapters"
    modules = {}
    for package, folder in roots.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules ``path`` imports anywhere (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in modules} - {module_name(path, modules)}


def module_name(path: Path, modules: dict[str, Path]) -> str:
    return next(name for name, p in modules.items() if p == path)


def test_no_import_cycles():
    modules = _modules()
    graph = {name: _imports(path, modules) for name, path in modules.items()}
    cycles = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, [*stack, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_nothing_imports_private_modules():
    modules = _modules()
    for name, path in modules.items():
        for target in _imports(path, modules):
            private = any(part.startswith("_") and part != "__init__" for part in target.split("."))
            assert not private, f"{name} imports the private module {target}"


def test_every_package_is_installed():
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    packages = {name for name, path in _modules().items() if path.name == "__init__.py"}
    assert packages <= listed, f"not in pyproject's packages: {sorted(packages - listed)}"
