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

from tests.import_graph import REPO, import_cycles, import_graph, module_files

#: Layers, lowest first. A module may import its own package and lower layers only.
LAYERS = {
    "kernels": 0,
    "core": 1,
    "io": 2, "data": 2,
    "parallel": 3,
    "features": 4,
    "store": 5,
    "transport": 6, "kinetics": 6, "fes": 6, "extrapolation": 6, "sim": 6, "plotting": 6,
    "workflows": 7, "mda": 7,  # trajml.mda: the MDAKit-style front end over features and transport
    "pipelines": 8,
    "cli": 9,
    "models": 10,  # the deprecated shim of the former paths
    "package": 10,  # trajml/__init__.py: lazy names of every layer
}
MAX_SHARE = 0.15
MAX_LINES = 620


MODULES = module_files()
GRAPH = import_graph(MODULES)


def _layer(module: str) -> str:
    parts = module.split(".")
    if module == "trajml":
        return "package"
    if parts[1] in ("kernels", "pipelines"):
        return parts[1]
    return parts[1] if (REPO / "trajml" / parts[1]).is_dir() else "core"


def test_the_import_graph_is_read_from_the_source():
    assert len(MODULES) > 100 and "trajml.parallel.engine" in GRAPH["trajml.features.rdf"] | {
        m for m in GRAPH if m.startswith("trajml.parallel")}
    assert "trajml.kernels.histograms" in GRAPH["trajml.features.rdf"]


def test_no_import_cycles():
    assert import_cycles(GRAPH) == []


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


#: Private modules packages may share, with the reason (none today).
# Private modules another package may import, each with its reason.
SHARED_PRIVATE: set[str] = {
    # the CPU kernels of trajml.kinetics.deep.messages' autograd functions: their arrays are those
    # functions' internals, and their oracle (the blocked torch sums) lives in that module
    "trajml.kernels._graph_messages",
}


def _package(module: str) -> str | None:
    """The first-level package of trajml a module belongs to (None for the core modules)."""
    layer = _layer(module)
    return None if layer in ("core", "package") else layer


def test_no_package_imports_a_siblings_private_modules():
    bad = []
    for name, targets in GRAPH.items():
        own = _package(name)
        if own in (None, "models"):  # the core, and the shim that names the former private paths
            continue
        for target in targets:
            other = _package(target)
            private = any(p.startswith("_") for p in target.split(".")[2:])
            if other is not None and other != own and private and target not in SHARED_PRIVATE:
                bad.append(f"{name} imports {target}")
    assert not bad, "\n".join(sorted(bad))


def test_torch_is_imported_at_module_level_only_under_deep_packages():
    """``import trajml`` and every non-deep package stay light: torch only where a network is built."""
    bad = []
    for name, path in MODULES.items():
        if ".deep" in name:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("torch", "torch_geometric") for n in names):
                bad.append(name)
    assert not bad, bad


def test_test_modules_have_unique_names():
    """pytest (rootdir-relative, no __init__ packages) cannot collect two test modules of one basename."""
    names = Counter(p.name for p in (REPO / "tests").rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []
