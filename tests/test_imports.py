"""The package's structure: imports point one way, and every module imports on its own.

The graph is read from the source (every ``import`` and ``from ... import`` anywhere in a
module, inside functions and ``if TYPE_CHECKING:`` blocks too), so a cycle cannot hide behind
a lazy import.  Two levels are checked: modules, and the subpackages they live in (a cycle
between ``engine`` and ``content`` is a tangle even when no two modules import each other).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

PACKAGE = REPO / "sitegen"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The sitegen modules ``name`` imports (a ``from pkg import sub`` names the submodule)."""
    deps = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            deps.update(a.name for a in node.names if a.name.split(".")[0] == "sitegen")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "sitegen":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                deps.add(sub if sub in MODULES else base)
    deps.discard(name)
    return deps


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None
    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _unit(name: str) -> str:
    """The subpackage a module belongs to (``sitegen.engine``), or the module itself at the top."""
    parts = name.split(".")
    return ".".join(parts[:2])


def test_the_graph_is_read():
    assert "sitegen.engine.pipeline" in GRAPH and "sitegen.model.site" in GRAPH["sitegen.engine.pipeline"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_modules():
    cycle = _cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_import_cycle_between_subpackages():
    units: dict[str, set[str]] = {}
    for name, deps in GRAPH.items():
        if name == "sitegen":          # the package root re-exports the library API: it is the top
            continue
        units.setdefault(_unit(name), set()).update(
            _unit(d) for d in deps if _unit(d) != _unit(name) and d != "sitegen")
    cycle = _cycle(units)
    assert cycle is None, "subpackage cycle: " + " -> ".join(cycle)


def test_nothing_imports_the_package_root():
    """Modules import what they need from where it lives; the root only re-exports the API."""
    offenders = sorted(n for n, deps in GRAPH.items() if "sitegen" in deps and n != "sitegen")
    assert offenders == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_on_its_own(module):
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
