"""Discovery for the contract suites: import every module of trajml, and make bad values from a declaration."""

from __future__ import annotations

import importlib
import math
import pkgutil
import warnings
from typing import Any

import numpy as np

import trajml

#: Modules not imported: the entry point (it runs the command line) and the deprecated ``trajml.models`` paths.
SKIP_MODULES = ("trajml.__main__", "trajml.models")

#: Packages installed under ``trajml`` from other folders (``package-dir`` in pyproject.toml).
EXTRA_ROOTS = ("trajml.kernels", "trajml.pipelines")


def import_everything() -> list[str]:
    """Import every module of trajml (and of the packages installed under it); return their names."""
    names = []
    roots = [(trajml.__path__, "trajml.")]
    for root in EXTRA_ROOTS:
        roots.append((importlib.import_module(root).__path__, root + "."))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path, prefix in roots:
            for info in pkgutil.walk_packages(path, prefix):
                if any(info.name == s or info.name.startswith(s + ".") for s in SKIP_MODULES):
                    continue
                importlib.import_module(info.name)  # an import error fails the whole suite, as it should
                names.append(info.name)
    return names


#: Every module of trajml, imported (classes register themselves on import: :func:`trajml.base.registered`).
MODULES = import_everything()


def bad_values(p: Any) -> list[Any]:
    """Values outside a declaration, made from the declaration itself."""
    if p.choices:
        return ["__not_one_of_the_choices__", 12345]
    kind = p.kind
    if kind in ("float", "int"):
        out: list[Any] = ["not a number", True]
        if p.low is not None:
            low = math.floor(p.low) - 1 if kind == "int" else p.low - 1.0
            out.append(low)
            if kind == "float" and not p.low_closed:
                out.append(p.low)
        if p.high is not None:
            out.append(math.ceil(p.high) + 1 if kind == "int" else p.high + 1.0)
        if kind == "float":
            out.append(math.nan)
        return out
    if kind == "bool":
        return ["yes", 1]
    if kind in ("str", "selection", "path") or kind.startswith("stage:"):
        return [12345] + ([""] if kind != "path" else [])
    if kind in ("floats", "ints", "mapping"):
        return [object()] + (["abc"] if kind != "mapping" else [5])
    if kind == "any":
        return [object()] if p.check is not None else []  # without a check nothing is outside it
    raise AssertionError(f"no bad value for a {kind!r} parameter: teach bad_values this kind")


def equal(x: Any, y: Any) -> bool:
    """Exact structural equality of plain values (NaN equal to NaN)."""
    if isinstance(x, dict):
        return isinstance(y, dict) and list(x) == list(y) and all(equal(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(equal(a, b) for a, b in zip(x, y))
    if isinstance(x, float) and isinstance(y, float) and x != x and y != y:
        return True
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return np.array_equal(x, y, equal_nan=np.asarray(x).dtype.kind in "fc")
    return type(x) is type(y) and x == y
