"""The package's rooms: no import cycle between its modules, lazy imports included, and no shim module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "seqgan_gym")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The library modules ``path`` imports anywhere (inside functions too), except under ``TYPE_CHECKING``.

    Lazy imports count: ``importlib.import_module("a.b")`` and a package's table of public names,
    ``_PUBLIC = {"Name": "a.b", ...}`` (imported on first use by its ``__getattr__``).
    """
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    name = f"{child.module}.{alias.name}"
                    found.add(name if name in modules else child.module)
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.Call) and ast.unparse(child.func).endswith("import_module") and child.args:
                if isinstance(child.args[0], ast.Constant):
                    found.add(str(child.args[0].value))
            elif isinstance(child, (ast.Assign, ast.AnnAssign)) and "_PUBLIC" in ast.unparse(child).split("=")[0]:
                if isinstance(child.value, ast.Dict):
                    found.update(str(v.value) for v in child.value.values if isinstance(v, ast.Constant))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {name for name in found if name in modules}


def _graph() -> dict[str, set[str]]:
    files = {_module_name(f): f for package in PACKAGES for f in (ROOT / package).rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, modules) - {name} for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return components


def test_no_import_cycle_in_the_library() -> None:
    graph = _graph()
    assert len(graph) > 50 and "agents.load_model" in graph["agents"]  # the graph is the real one
    assert _cycles(graph) == []
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]  # the check finds one


def test_no_module_only_re_exports_private_names() -> None:
    """A module made of imports alone may re-export public names (a package's front), never private ones."""
    modules = set(_graph())
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            private = [
                f"{node.module}.{alias.name}"
                for node in tree.body
                if isinstance(node, ast.ImportFrom) and node.module
                for alias in node.names
                if alias.name.startswith("_") and f"{node.module}.{alias.name}" not in modules  # a name, not a module
            ]
            defines = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
            assert defines or not private, f"{path.relative_to(ROOT)} re-exports private names: {private}"
