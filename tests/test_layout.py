"""The layout rules of the subject packages, read from the source (AST, function-level imports included):
no package imports a sibling's private modules, the packages of the model layer form no import cycle,
and their modules stay under ~600 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "trajml"

#: The subject packages split out of ``trajml.models`` (plus the shim that keeps its old paths).
MODEL_LAYER = ("kinetics", "fes", "extrapolation", "store", "workflows", "plotting", "models")

#: Private modules that packages may still share, with the reason. ``features._selection`` holds the selection
#: and parameter checks every analysis uses (transport, kinetics, graph datasets, workflows); it moves to the
#: core when ``trajml.features`` is rewritten.
SHARED_PRIVATE = {"trajml.features._selection"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ("trajml",) + path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every trajml module ``name`` imports, at any level of the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            candidates = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for cand in candidates:
            while cand and cand not in MODULES:
                cand = cand.rpartition(".")[0]
            if cand and cand != name:
                found.add(cand)
    return found


def _subject(module: str) -> str | None:
    """The first-level package of trajml a module belongs to (None for the core modules)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (ROOT / parts[1]).is_dir()) else None


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_no_subject_package_imports_a_siblings_private_modules():
    bad = []
    for name, targets in GRAPH.items():
        own = _subject(name)
        if own is None or own == "models":  # the core, and the shim that names the old private paths
            continue
        for target in targets:
            other = _subject(target)
            private = any(p.startswith("_") for p in target.split(".")[2:])
            if other is not None and other != own and private and target not in SHARED_PRIVATE:
                bad.append(f"{name} imports {target}")
    assert not bad, "\n".join(sorted(bad))


def test_the_model_layer_has_no_import_cycles():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 and any(_subject(m) in MODEL_LAYER for m in comp):
                cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, cycles


@pytest.mark.parametrize("package", MODEL_LAYER)
def test_modules_of_the_model_layer_stay_under_600_lines(package):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / package).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert not long, long


def test_torch_is_imported_only_under_deep_packages_at_module_level():
    """torch at the top of a module only under ``*.deep``; elsewhere it is imported where it is needed."""
    bad = []
    for name, path in MODULES.items():
        if _subject(name) not in MODEL_LAYER or ".deep" in name:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("torch", "torch_geometric") for n in names):
                bad.append(name)
    assert not bad, bad
