"""One provenance record for every run: what was computed, from what, with which versions, how fast."""

from __future__ import annotations

import functools
import platform
from importlib import metadata
from typing import Any

from trajml._version import __version__
from trajml.parallel.schedulers import scheduler_name

__all__ = ["provenance_record", "library_versions", "parameters_of"]

_LIBRARIES = ("trajml", "numpy", "scipy", "numba", "MDAnalysis", "mdtraj", "dask", "deeptime", "torch")


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a result may depend on (those installed)."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def parameters_of(analysis: Any) -> dict[str, Any]:
    """An analysis' parameters: the declared ones, or its public attributes for undeclared classes."""
    from trajml.selection import AtomGroupSelection

    declared = getattr(type(analysis), "_parameters", None)
    values = analysis.get_params() if declared else {k: v for k, v in vars(analysis).items() if not k.startswith("_")}
    # AtomGroups are described ("AtomGroup of 20 atoms [0-19]"), also as labelled selections (a mapping's
    # values), keeping the record JSON-friendly.
    def plain(v: Any) -> Any:
        return v.describe() if isinstance(v, AtomGroupSelection) else v

    return {k: {kk: plain(vv) for kk, vv in v.items()} if isinstance(v, dict) else plain(v)
            for k, v in values.items()}


def provenance_record(analysis: Any, source: Any, options: dict[str, Any], *, chunk_size: int, n_tasks: int,
                      wall_s: float, bind_s: float, timings: list[dict[str, Any]],
                      extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance dict every result carries.

    Keys: ``analysis`` (and ``featurizer``, its former name), ``parameters``, ``versions`` (and
    ``trajml_version``), ``files``, ``backend``, ``frames``, ``traj_ids``, ``chunk_size``,
    ``n_chunks``/``n_tasks``, ``scheduler``, ``wall_s``, ``bind_s``, ``read_s``, ``compute_s`` and
    ``chunks`` (per chunk or task: spec, read and compute seconds, worker), plus ``extra``.

    Parameters
    ----------
    analysis : Analysis
        The bound analysis.
    source : Source
    options : dict
        The run options.
    chunk_size : int
        Frames per chunk.
    n_tasks : int
        Chunks or particle blocks run.
    wall_s, bind_s : float
        Seconds of the whole run and of binding the analysis.
    timings : list of dict
        Per chunk or task: spec, read and compute seconds, worker.
    extra : dict, optional
        Further keys.
    """
    record = {
        "analysis": type(analysis).__name__,
        "featurizer": type(analysis).__name__,
        "parameters": parameters_of(analysis),
        "trajml_version": __version__,
        "versions": library_versions(),
        "files": [[m.topology, *m.parts] for m in source.members],
        "backend": getattr(source, "backend", None),
        "frames": {"start": options.get("start", 0), "stop": options.get("stop"), "step": options.get("step", 1)},
        "traj_ids": options.get("traj_ids"),
        "chunk_size": chunk_size,
        "n_chunks": n_tasks,
        "n_tasks": n_tasks,
        "scheduler": scheduler_name(options.get("scheduler", "serial")),
        "wall_s": wall_s,
        "bind_s": bind_s,
        "read_s": sum(t["read_s"] for t in timings),
        "compute_s": sum(t["compute_s"] for t in timings),
        "chunks": timings,
    }
    notes = getattr(source, "notes", ())
    if notes:  # e.g. restart overlaps dropped while joining parts
        record["notes"] = list(notes)
    record.update(extra or {})
    return record
