"""trajml: structure, transport and kinetics from MD trajectories of solid polymer electrolytes.

``import trajml`` is light: submodules (and heavy dependencies such as torch,
dask.distributed and MDAnalysis) load on first use.

Units inside trajml: lengths in Å, time in ps, energies in kJ/mol, charges in e,
temperatures in K, masses in amu.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from trajml._version import __version__

_LAZY = {
    "Box": "trajml.box",
    "Chunk": "trajml.chunk",
    "ChunkSpec": "trajml.chunk",
    "Source": "trajml.io",
    "open_source": "trajml.io",
    "run": "trajml.parallel",
    "TrajectorySummary": "trajml.features",
    "RDF": "trajml.features",
    "Coordination": "trajml.features",
    "Solvation": "trajml.features",
    "SolvationShells": "trajml.features",
    "Species": "trajml.species",
    "NeighborGraphs": "trajml.features",
}
_SUBMODULES = {"base", "box", "chunk", "errors", "units", "selection", "species", "periodic", "accumulators", "results",
               "unwrap", "io", "parallel", "features", "store", "transport", "kinetics", "fes", "extrapolation",
               "workflows", "mda", "sim", "data", "plotting", "kernels", "pipelines", "cli"}

__all__ = sorted(_LAZY) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from trajml.box import Box
    from trajml.chunk import Chunk, ChunkSpec
    from trajml.features import RDF, Coordination, NeighborGraphs, Solvation, SolvationShells, TrajectorySummary
    from trajml.io import Source, open_source
    from trajml.parallel import run
    from trajml.species import Species


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"trajml.{name}")
    raise AttributeError(f"module 'trajml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
