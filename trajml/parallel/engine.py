"""Run a featurizer over a source: partition, map, merge in order, finalize once."""

from __future__ import annotations

import functools
import os
import threading
import time
from typing import Any

from trajml.chunk import ChunkSpec
from trajml.errors import MissingBoxError
from trajml.features.base import Featurizer
from trajml.parallel.schedulers import imap_ordered, scheduler_name

__all__ = ["run", "process_chunk"]


def process_chunk(featurizer: Featurizer, source: Any, spec: ChunkSpec) -> tuple[Any, dict[str, Any]]:
    """Read one chunk and fold it into a fresh state (runs on a worker).

    Returns
    -------
    state
        The featurizer state for this chunk alone.
    timing : dict
        ``spec`` (traj_id, start, stop, step), ``read_s`` and ``compute_s`` (seconds), ``worker``.
    """
    t0 = time.perf_counter()
    chunk = source.read(spec, featurizer.atoms)
    t1 = time.perf_counter()
    if featurizer.needs_box and chunk.boxes is None:
        parts = ", ".join(f"'{p}'" for p in source.members[spec.traj_id].parts)
        raise MissingBoxError(
            f"{type(featurizer).__name__} needs periodic boxes, but trajectory {spec.traj_id} ({parts}) "
            f"has no box at frame {spec.start}."
        )
    state = featurizer.update(featurizer.init_state(), chunk)
    t2 = time.perf_counter()
    timing = {
        "spec": (spec.traj_id, spec.start, spec.stop, spec.step),
        "read_s": t1 - t0,
        "compute_s": t2 - t1,
        "worker": f"{os.getpid()}:{threading.get_ident()}",
    }
    return state, timing


def run(
    featurizer: Featurizer,
    source: Any,
    *,
    chunk_size: int = 100,
    start: int = 0,
    stop: int | None = None,
    step: int = 1,
    traj_ids: list[int] | None = None,
    scheduler: Any = "serial",
    n_workers: int | None = None,
    progress: bool = True,
) -> Any:
    """Run ``featurizer`` over the frames of ``source`` and return its results.

    Parameters
    ----------
    featurizer : Featurizer
        The analysis; bound to ``source`` here (selections resolved once).
    source : trajml.io.Source
        Trajectories to read; workers reopen its files.
    chunk_size : int
        Frames per task; memory per worker is bounded by it. Default 100.
    start, stop, step : int
        Frame slice of every trajectory.
    traj_ids : list of int, optional
        Trajectories to include (default: all).
    scheduler : str or dask.distributed.Client
        "serial", "threads", "processes", "local" (a LocalCluster), a Client or an
        address (see :mod:`trajml.parallel.schedulers`). Results are identical on all.
    n_workers : int, optional
        Workers for the local schedulers (default: all cores).
    progress : bool
        Show a progress bar.

    Returns
    -------
    Results
        Whatever ``featurizer.finalize`` returns; its ``provenance`` holds the
        source files, parameters, scheduler and per-chunk read and compute times.
    """
    bound = featurizer.bind(source)
    specs = source.partition(chunk_size, start, stop, step, traj_ids)
    task = functools.partial(process_chunk, bound, source)
    t0 = time.perf_counter()
    state = bound.init_state()
    timings = []
    # Left fold in spec order: the same sequence of merges on every scheduler.
    for chunk_state, timing in imap_ordered(task, specs, scheduler=scheduler, n_workers=n_workers,
                                            progress=progress, desc=type(featurizer).__name__):
        state = bound.merge(state, chunk_state)
        timings.append(timing)
    wall = time.perf_counter() - t0
    from trajml import __version__

    provenance = {
        "trajml_version": __version__,
        "featurizer": type(featurizer).__name__,
        "parameters": {k: v for k, v in vars(featurizer).items() if not k.startswith("_")},
        "files": [[m.topology, *m.parts] for m in source.members],
        "backend": source.backend,
        "chunk_size": chunk_size,
        "frames": {"start": start, "stop": stop, "step": step},
        "n_chunks": len(specs),
        "scheduler": scheduler_name(scheduler),
        "wall_s": wall,
        "read_s": sum(t["read_s"] for t in timings),
        "compute_s": sum(t["compute_s"] for t in timings),
        "chunks": timings,
    }
    return bound.finalize(state, provenance)
