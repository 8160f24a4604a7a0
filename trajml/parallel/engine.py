"""The one engine: run any analysis over a Source, partitioned over frames or over particles.

Frame-partitioned featurizers (:class:`~trajml.features.base.Featurizer`) are mapped over
chunks of frames and their states folded in chunk order; particle-partitioned analyses
(:class:`~trajml.parallel.analysis.ParticleAnalysis`: MSD, conductivity, residence times) stream each
trajectory once, map their tasks over blocks of particles and fold them in block order. Both
share one validation of the frame slice (:mod:`trajml.parallel.options`), one progress policy,
one scheduler vocabulary and one provenance record (library versions, parameters, files, per
chunk or task timings).

Several trajectories in a Source are replicas. A featurizer pools them (its state is additive)
and also returns each replica's own result in ``result.replicas``; a particle analysis
computes each replica alone and combines them (per-replica results plus their mean and
spread), or refuses naming the trajectories. Nothing is dropped silently.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from typing import Any

from trajml.chunk import ChunkSpec
from trajml.errors import MissingBoxError, WrongCallError
from trajml.io import open_source
from trajml.io.frame_checks import check_frame_selection
from trajml.io.universe import is_universe
from trajml.parallel.options import check_run_options, show_progress
from trajml.parallel.provenance import provenance_record
from trajml.parallel.schedulers import imap_ordered

__all__ = ["run", "stream", "process_chunk"]


def process_chunk(featurizer: Any, source: Any, spec: ChunkSpec) -> tuple[Any, dict[str, Any]]:
    """Read one chunk and fold it into a fresh state (runs on a worker).

    Parameters
    ----------
    featurizer : Featurizer
        Bound to ``source``.
    source : Source
    spec : ChunkSpec
        The frames to read.

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
    return state, _timing((spec.traj_id, spec.start, spec.stop, spec.step), t1 - t0, t2 - t1)


def _timing(spec: Any, read_s: float, compute_s: float) -> dict[str, Any]:
    return {"spec": spec, "read_s": read_s, "compute_s": compute_s,
            "worker": f"{os.getpid()}:{threading.get_ident()}"}


def _partition(obj: Any) -> str:
    """How an analysis is partitioned (:mod:`trajml.parallel.analysis`, read without importing it)."""
    kind = getattr(obj, "partition", "") if not isinstance(obj, type) else ""
    return kind if kind in ("frames", "particles") else ""


def _check_analysis(analysis: Any, source: Any) -> None:
    """Name the right call when an analysis is called the wrong way."""
    if _partition(source) and not _partition(analysis):
        raise WrongCallError(f"trajml.parallel.run takes the analysis first: run({type(source).__name__}(...), "
                             "source).")
    if hasattr(analysis, "fetch_model") and not _partition(analysis):
        name = type(analysis).__name__
        raise WrongCallError(f"{name} is an estimator, not an analysis of a trajectory: call "
                             f"{name}(...).fit(data).fetch_model().")
    if isinstance(analysis, type) and getattr(analysis, "partition", "") in ("frames", "particles"):
        raise WrongCallError(f"trajml.parallel.run needs an instance: run({analysis.__name__}(...), source).")
    if not _partition(analysis):
        raise WrongCallError(f"trajml.parallel.run runs a trajml analysis (RDF, MSD, Conductivity, ...); got "
                             f"{type(analysis).__name__}.")


def run(
    analysis: Any,
    source: Any,
    *,
    chunk_size: int | None = None,
    start: int = 0,
    stop: int | None = None,
    step: int = 1,
    traj_ids: list[int] | None = None,
    traj_id: int | None = None,
    scheduler: Any = "serial",
    n_workers: int | None = None,
    progress: bool | None = None,
) -> Any:
    """Run ``analysis`` over the frames of ``source`` and return its results.

    Parameters
    ----------
    analysis : Analysis
        A featurizer (RDF, Coordination, ...) or a particle analysis (MSD, Conductivity,
        ResidenceTime); bound to ``source`` here (selections resolved once).
    source : trajml.io.Source or MDAnalysis.Universe
        Trajectories to read; workers reopen its files. A Universe becomes ``open_source(universe)``.
    chunk_size : int, optional
        Frames per read (and per task for featurizers); memory per worker is bounded by it.
        Default: the analysis' own (100 unless it says otherwise).
    start, stop, step : int
        Frame slice of every trajectory.
    traj_ids : list of int, optional
        Trajectories to include (default: all). Several trajectories are replicas.
    traj_id : int, optional
        One trajectory: the same as ``traj_ids=[traj_id]``.
    scheduler : str or dask.distributed.Client
        "serial", "threads", "processes", "local" (a LocalCluster), a Client or an
        address (see :mod:`trajml.parallel.schedulers`). Results are identical on all.
    n_workers : int, optional
        Workers for the local schedulers (default: all cores).
    progress : bool, optional
        Show progress bars; None (default) shows them when standard error is a terminal.

    Returns
    -------
    Results
        Whatever the analysis returns; ``provenance`` holds the library versions, parameters,
        files, scheduler and per-chunk (or per-task) read and compute times. With several
        trajectories ``replicas`` holds each one's result.

    Raises
    ------
    WrongCallError
        ``analysis`` is not an analysis (an estimator, a class, swapped arguments); the message
        names the right call.
    """
    source = open_source(source) if is_universe(source) else source  # MDAnalysis interop
    _check_analysis(analysis, source)
    if traj_id is not None:
        if traj_ids is not None:
            raise WrongCallError("trajml.parallel.run takes traj_ids or traj_id, not both.")
        traj_ids = [traj_id] if not isinstance(traj_id, (list, tuple)) else list(traj_id)
    opts = check_run_options(start=start, stop=stop, step=step, chunk_size=chunk_size, traj_ids=traj_ids,
                             scheduler=scheduler, n_workers=n_workers, progress=progress)
    _check_frames(source, opts)
    opts["progress"] = show_progress(progress)
    if _partition(analysis) == "particles":
        return _run_particles(analysis, source, opts)
    return _run_frames(analysis, source, opts)


def _check_frames(source: Any, opts: dict[str, Any]) -> None:
    """Refuse trajectory ids beyond the source and empty frame ranges before any reading."""
    if hasattr(source, "members") and hasattr(source, "n_frames_of"):
        check_frame_selection(source, opts["start"], opts["stop"], opts["step"], opts["traj_ids"])


def _run_frames(featurizer: Any, source: Any, opts: dict[str, Any]) -> Any:
    t0 = time.perf_counter()
    bound = featurizer.bind(source)
    chunk_size = opts["chunk_size"] or 100
    specs = source.partition(chunk_size, opts["start"], opts["stop"], opts["step"], opts["traj_ids"])
    task = functools.partial(process_chunk, bound, source)
    per_traj: dict[int, Any] = {}
    timings = []
    t_map = time.perf_counter()
    # Left fold in spec order within each trajectory: the same merges on every scheduler.
    for spec, (chunk_state, timing) in zip(specs, imap_ordered(
            task, specs, scheduler=opts["scheduler"], n_workers=opts["n_workers"], progress=opts["progress"],
            desc=type(featurizer).__name__)):
        t = spec.traj_id
        per_traj[t] = bound.merge(per_traj[t] if t in per_traj else bound.init_state(), chunk_state)
        timings.append(timing)
    state = bound.init_state()
    for t in sorted(per_traj):
        state = bound.merge(state, per_traj[t])
    wall = time.perf_counter() - t0
    record = provenance_record(featurizer, source, opts, chunk_size=chunk_size, n_tasks=len(specs),
                               wall_s=wall, bind_s=t_map - t0, timings=timings)
    result = bound.finalize(state, record)
    if len(per_traj) > 1 and getattr(featurizer, "replica_results", True):
        replicas = tuple(bound.finalize(per_traj[t], {**record, "traj_ids": [t]}) for t in sorted(per_traj))
        result = result.with_replicas(replicas)
    return result


def _run_particles(analysis: Any, source: Any, opts: dict[str, Any]) -> Any:
    t0 = time.perf_counter()
    bound = analysis.bind(source)
    t_bound = time.perf_counter()
    traj_ids = opts["traj_ids"] if opts["traj_ids"] is not None else list(range(source.n_trajectories))
    chunk_size = opts["chunk_size"] or getattr(analysis, "chunk_size", None) or 100
    results, states = [], []
    for t in traj_ids:
        frames = range(opts["start"], source.n_frames_of(t) if opts["stop"] is None
                       else min(opts["stop"], source.n_frames_of(t)), opts["step"])
        t1 = time.perf_counter()
        timings = []
        with bound.stream(source, t, frames, chunk_size, opts["scheduler"], opts["progress"]) as streamed:
            t2 = time.perf_counter()
            blocks = bound.blocks(streamed, opts["scheduler"], opts["n_workers"])
            task = functools.partial(_particle_task, bound, streamed)
            state = None
            for part, timing in imap_ordered(task, blocks, scheduler=opts["scheduler"], n_workers=opts["n_workers"],
                                             progress=opts["progress"], desc=f"{type(analysis).__name__}: blocks"):
                state = part if state is None else bound.merge(state, part)
                timings.append(timing)
            t3 = time.perf_counter()
            record = provenance_record(
                analysis, source, {**opts, "traj_ids": [t]}, chunk_size=chunk_size, n_tasks=len(blocks),
                wall_s=t3 - t1 + (t_bound - t0), bind_s=t_bound - t0, timings=timings,
                extra={"traj_id": t, "stream_s": t2 - t1, "correlate_s": t3 - t2})
            results.append(bound.finalize(streamed, state, record))
            states.append(state)
    if len(results) == 1:
        return results[0]
    record = provenance_record(analysis, source, opts, chunk_size=chunk_size,
                               n_tasks=sum(r.provenance.get("n_tasks", 0) for r in results),
                               wall_s=time.perf_counter() - t0, bind_s=t_bound - t0, timings=[])
    return bound.combine(results, record, states)


def _map_chunk(featurizer: Any, source: Any, method: str, spec: ChunkSpec) -> Any:
    """Read one chunk and return ``featurizer.<method>(chunk)`` (runs on a worker)."""
    chunk = source.read(spec, featurizer.atoms)
    if featurizer.needs_box and chunk.boxes is None:
        parts = ", ".join(f"'{p}'" for p in source.members[spec.traj_id].parts)
        raise MissingBoxError(f"{type(featurizer).__name__} needs periodic boxes, but trajectory {spec.traj_id} "
                              f"({parts}) has no box at frame {spec.start}.")
    return getattr(featurizer, method)(chunk)


def stream(
    featurizer: Any,
    source: Any,
    method: str,
    *,
    chunk_size: int | None = None,
    start: int = 0,
    stop: int | None = None,
    step: int = 1,
    traj_ids: list[int] | None = None,
    scheduler: Any = "serial",
    n_workers: int | None = None,
    progress: bool | None = None,
) -> Any:
    """Yield ``featurizer.<method>(chunk)`` for every chunk of ``source``, in trajectory then time order.

    The map half of :func:`run`, for outputs that are per-frame data rather than a reduction
    (neighbour graphs written to a dataset, say): the same frame validation, schedulers and
    progress policy, with chunks computed on any scheduler a few windows ahead and yielded in
    order, so memory stays bounded by the chunk size.

    Parameters
    ----------
    featurizer : Featurizer
        Bound here (selections resolved once); ``method`` takes one Chunk.
    source : trajml.io.Source
        Trajectories to read.
    method : str
        Name of the per-chunk method (e.g. ``"graphs"`` of NeighborGraphs).
    chunk_size, start, stop, step, traj_ids, scheduler, n_workers, progress
        As :func:`run`.

    Yields
    ------
    object
        What ``method`` returns for each chunk.
    """
    source = open_source(source) if is_universe(source) else source  # MDAnalysis interop
    _check_analysis(featurizer, source)
    opts = check_run_options(start=start, stop=stop, step=step, chunk_size=chunk_size, traj_ids=traj_ids,
                             scheduler=scheduler, n_workers=n_workers, progress=progress)
    _check_frames(source, opts)
    bound = featurizer.bind(source)
    specs = source.partition(opts["chunk_size"] or 100, opts["start"], opts["stop"], opts["step"], opts["traj_ids"])
    task = functools.partial(_map_chunk, bound, source, method)
    yield from imap_ordered(task, specs, scheduler=opts["scheduler"], n_workers=opts["n_workers"],
                            progress=show_progress(progress), desc=f"{type(featurizer).__name__}: {method}")


def _particle_task(analysis: Any, streamed: Any, block: Any) -> tuple[Any, dict[str, Any]]:
    t0 = time.perf_counter()
    part = analysis.task(streamed, block)
    return part, _timing(block if isinstance(block, (tuple, int)) else repr(block), 0.0, time.perf_counter() - t0)
