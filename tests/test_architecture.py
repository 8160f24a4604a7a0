"""The structure of trajml, drawn from its imports (AST, imports inside functions included).

- no import cycle anywhere in ``trajml``, ``trajml.kernels`` and ``trajml.pipelines``;
- no folder ("room") holds more than 15 % of the lines, no module more than ~600;
- data flow in one direction: each layer imports only the layers below it (kernels → core → io →
  engine → featurizers → stores → subject packages → workflows → pipelines → command line), so a
  reader feeds Results and a pipeline spec feeds its report, never the other way round.

The README's developer section describes the same layers.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Installed package name -> folder in the repository.
ROOTS = {"trajml": REPO / "trajml", "trajml.kernels": REPO / "kernels", "trajml.pipelines": REPO / "pipelines"}

#: Layers, lowest first. A module may import its own package and lower layers only.
LAYERS = {
    "kernels": 0,
    "core": 1,
    "io": 2, "data": 2,
    "parallel": 3,
    "features": 4,
    "store": 5,
    "transport": 6, "kinetics": 6, "fes": 6, "extrapolation": 6, "sim": 6, "plotting": 6,
    "workflows": 7,
    "pipelines": 8,
    "cli": 9,
    "models": 10,  # the deprecated shim of the former paths
    "package": 10,  # trajml/__init__.py: lazy names of every layer
}
MAX_SHARE = 0.15
MAX_LINES = 620


def _modules() -> dict[str, Path]:
    out = {}
    for package, folder in ROOTS.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("").parts
            if rel[-1] == "__init__":
                rel = rel[:-1]
            out[".".join((package,) + rel)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            candidates = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for cand in candidates:
            while cand and cand not in MODULES:
                cand = cand.rpartition(".")[0]
            if cand and cand != name:
                found.add(cand)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    if module == "trajml":
        return "package"
    if parts[1] in ("kernels", "pipelines"):
        return parts[1]
    return parts[1] if (REPO / "trajml" / parts[1]).is_dir() else "core"


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_is_read_from_the_source():
    assert len(MODULES) > 100 and "trajml.parallel.engine" in GRAPH["trajml.features.rdf"] | {
        m for m in GRAPH if m.startswith("trajml.parallel")}
    assert "trajml.kernels.histograms" in GRAPH["trajml.features.rdf"]


def test_no_import_cycles():
    assert _cycles() == []


def test_no_room_holds_more_than_fifteen_percent_of_the_lines():
    lines = {name: sum(1 for _ in path.open(encoding="utf-8")) for name, path in MODULES.items()}
    rooms: Counter[Path] = Counter()
    for name, path in MODULES.items():
        rooms[path.parent] += lines[name]
    total = sum(lines.values())
    worst = max(rooms, key=rooms.__getitem__)
    assert rooms[worst] <= MAX_SHARE * total, (worst, rooms[worst], total)
    too_long = {name: n for name, n in lines.items() if n > MAX_LINES}
    assert not too_long


def test_data_flows_one_way_through_the_layers():
    upward = []
    for name, targets in GRAPH.items():
        if name.endswith("__main__"):
            continue  # entry points call the command line
        here = _layer(name)
        for target in targets:
            there = _layer(target)
            if there != here and LAYERS[there] >= LAYERS[here]:
                upward.append(f"{name} ({here}) imports {target} ({there})")
    assert not upward, "\n".join(sorted(upward))


@pytest.mark.parametrize("layer", sorted({_layer(m) for m in MODULES}))
def test_every_layer_is_placed(layer):
    assert layer in LAYERS, f"new package {layer!r}: give it a layer in tests/test_architecture.py and the README"
