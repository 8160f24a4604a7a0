"""The import graph of trajml read from its source files (AST), shared by the layout tests.

Every ``import`` and ``from … import`` counts, also inside functions: a lazy import closes a cycle
just the same. ``from X import name`` counts as importing ``X`` and, when ``X.name`` is a module,
``X.name``; a dotted name that is not a module counts as its longest prefix that is one.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Installed package name -> its folder in the repository.
ROOTS = {"trajml": REPO / "trajml", "trajml.kernels": REPO / "kernels", "trajml.pipelines": REPO / "pipelines"}


def module_files(roots: dict[str, Path] | None = None) -> dict[str, Path]:
    """Dotted module name -> file of every ``.py`` file under the roots (``package -> folder``)."""
    out = {}
    for package, folder in (roots or ROOTS).items():
        for path in sorted(folder.rglob("*.py")):
            rel = list(path.relative_to(folder).with_suffix("").parts)
            if rel[-1] == "__init__":
                rel.pop()
            out[".".join([package, *rel])] = path
    return out


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Edges ``importer -> imported`` between ``modules``."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = here.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found
