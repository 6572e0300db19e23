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
        "for name in ('PySide6', 'PyQt5', 'nuke', 'krita', 'bpy', 'hdr_plugin.ui',\n"
        "             'hdr_plugin.host_adapters'):\n"
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
            if {"pykrita", "blender_addon"} & set(parts):  # package data: host bootstraps
                continue
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


#: The layers of the core, lowest first. A module may import its own layer and those below,
#: never one above: models know nothing of training, evaluation sits above the node, and
#: the UI and hosts sit above the core (the command line, which opens the viewer, on top).
LAYERS = (
    ("constants", "errors", "validation", "ocio_configs"),
    ("color", "io", "sequence", "masks", "inference"),
    ("tone_curves",),
    ("crf",),
    ("models",),
    ("node", "export"),
    ("render", "shots"),
    ("batch",),
    ("train", "publish"),
    ("ui", "host_adapters"),
    ("cli",),
    ("__main__",),
)


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:  # the package itself (hdr_plugin/__init__.py: version only)
        return 0
    return next(i for i, names in enumerate(LAYERS) if parts[1] in names)


def test_imports_go_down_the_layers_only():
    modules = _modules()
    upward = []
    for name, path in modules.items():
        for target in _imports(path, modules):
            if _layer(target) > _layer(name):
                upward.append(f"{name} -> {target}")
    assert not upward, "imports from a lower layer to a higher one: " + "; ".join(upward)


def test_no_package_level_cycles():
    """Packages (models, train, ...) as nodes: no two reach each other."""
    modules = _modules()
    edges = {
        (name.split(".")[1], target.split(".")[1])
        for name, path in modules.items()
        if name.count(".") >= 1
        for target in _imports(path, modules)
        if target.count(".") >= 1 and target.split(".")[1] != name.split(".")[1]
    }
    mutual = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b)
    assert not mutual, f"packages import each other: {mutual}"


def test_the_architecture_page_states_these_layers():
    page = (ROOT / "docs" / "architecture.md").read_text()
    rows = [
        tuple(name.strip(" `") for name in line.split("|")[2].split(","))
        for line in page.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip().isdigit()
    ]
    assert tuple(rows) == LAYERS


def test_the_docs_name_only_files_of_this_repository():
    import re

    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = page.read_text()
        assert "../shared" not in text and "ARCHITECTURE.md" not in text, page.name
        for path in re.findall(
            r"`((?:hdr_plugin|docs|scripts|configs|tests)/[\w/.-]+\.\w+)`", text
        ):
            assert (ROOT / path).exists(), f"{page.name} names {path}, which does not exist"
