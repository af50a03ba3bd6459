"""Module structure: no import cycles through the data/predictor stack, and lazy package faces."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import hwpred

ROOT = Path(hwpred.__file__).resolve().parent
#: the packages whose modules must never sit on an import cycle
CHECKED = (
    "hwpred.data",
    "hwpred.predictors",
    "hwpred.encoders",
    "hwpred.spaces",
    "hwpred.tuning",
    "hwpred.metrics",
)


def _module_graph() -> dict[str, set[str]]:
    """Every hwpred module -> the hwpred modules it imports anywhere (top level or inside functions)."""
    files = {}
    for p in ROOT.rglob("*.py"):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        files[".".join(parts[:-1] if is_pkg else parts)] = (p, is_pkg)
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in files.items():
        package = name if is_pkg else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            deps.update(t for t in targets if t in files and t != name)
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_one_that_imports_it_back():
    bad = [c for c in _cycles(_module_graph()) if any(m.startswith(CHECKED) for m in c)]
    assert bad == [], f"import cycles: {bad}"


def test_package_faces_import_nothing_heavy_until_a_name_is_used():
    code = (
        "import sys, hwpred.data, hwpred.predictors\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'pyarrow', 'torch', 'hwpred.data.table', "
        "'hwpred.predictors.base') if m in sys.modules))\n"
        "from hwpred.data import load_dataset\n"
        "from hwpred.predictors import create\n"
        "print('hwpred.data.names' in sys.modules, 'hwpred.predictors.registry' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT.parent
    ).stdout.splitlines()
    assert out == ["[]", "True True"]
