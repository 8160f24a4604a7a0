"""Parallel inside a unit: where a pipeline unit's analysis runs its chunks of frames or blocks of particles.

The runner parallelises over units (one stage on one system); a stage's analysis splits its own
work into chunks of frames (RDF, coordination, solvation, ...) or blocks of particles and an
unwrapping pass (MSD), and these run on the unit's scheduler:

- pipeline ``scheduler="serial"``: one after another inside the unit, as always;
- a Dask cluster (``"local"``, the default of ``trajml run``; an address; ``--scheduler-file``;
  a ``cluster:`` mapping; a Client): as tasks on the same cluster, submitted from the unit.
  While they run the unit leaves its worker's thread pool (:func:`distributed.secede`), folding
  their results on its own thread as they come back in order, and takes a thread back when they
  are done (:func:`distributed.rejoin`), so its chunks run even on one single-threaded worker
  (``--n-workers 1``). A few chunks per worker are in flight, the next submitted as soon as one is
  handed back (no batch waits for its slowest chunk). The chunks outrank the units that have
  not started (:data:`trajml.parallel.schedulers.NESTED_PRIORITY`): one large system uses every
  worker, and a batch of small systems still runs about one unit per worker, each unit's chunks
  filling the workers the other units leave free;
- ``"threads"`` and ``"processes"``: each unit gets ``n_workers // units`` threads for its chunks
  (its analysis runs on the ``"threads"`` scheduler inside the unit's process); with at least as
  many units as workers that is one thread, and the unit runs serially.

Results do not depend on this: the engine folds chunk states in chunk order and blocks in block
order on every scheduler (:func:`trajml.parallel.imap_ordered`), so a unit stores the same numbers
as under ``scheduler="serial"``. On a cluster that may span machines (anything but ``"local"``),
temporary files that a unit's tasks share (msd's series file) go to the results store's ``tmp/``
folder, which every worker sees (the run checks that at start), unless the stage sets ``tmpdir``.
A run with a ``unit_timeout`` keeps its units' analyses serial on a cluster: the limit runs a unit's
work in a helper thread, which cannot leave the worker's thread pool while it waits for the unit's own chunks.

Too small to share out: a unit whose analysis is estimated at under :data:`SPLIT_MIN_SECONDS` of
one core's work (:func:`estimated_seconds`; today only particle analyses such as msd have an
estimate) runs it alone on one thread of its worker (:func:`analysis_scheduler`), with the
series in memory: spreading a second of work over workers costs more than it saves (task
round trips, each new worker's first calls), so ``--workers 2`` is then as fast as ``--workers 1``.
Frame-partitioned analyses (rdf, coordination, ...) always share out their chunks: their kernels
cost far more than a chunk's task.

Opened ahead: a worker's first open of a large system costs a second or more (imports, the topology,
the kernels' first calls), which a unit's chunks on a worker that has not opened it paid inside the
unit while the other workers waited at its end. When a run has fewer systems than the cluster has
workers (so units share out), :func:`open_ahead_on_workers` has every worker open them first, while
one of them checks the files.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["plan_unit_scheduler", "unit_scheduler", "unit_scratch", "analysis_scheduler", "estimated_seconds",
           "open_ahead", "open_ahead_on_workers", "SPLIT_MIN_SECONDS"]

#: A unit's analysis estimated below this many seconds of one core runs alone in the unit (s).
SPLIT_MIN_SECONDS = 2.0
#: Reading: seconds per atom and frame of one core; an XTC frame decodes every atom, whatever is selected.
READ_S_PER_ATOM_FRAME = 25e-9
#: A particle analysis' series: seconds per selected atom and frame (unwrap, series file, FFT moments).
SERIES_S_PER_ATOM_FRAME = 200e-9


def estimated_seconds(analysis: Any, source: Any, start: int = 0, stop: int | None = None,
                      step: int = 1) -> float | None:
    """Rough seconds of one core that ``analysis`` needs on frames ``start:stop:step`` of ``source``.

    From :data:`READ_S_PER_ATOM_FRAME` and :data:`SERIES_S_PER_ATOM_FRAME`, measured on a 2-core
    x86-64 machine (msd on 51 200 beads: 0.8 s for 2 844 Li, 4.3 s for every bead, 400 frames).

    Parameters
    ----------
    analysis : Analysis
        The unit's analysis, not bound.
    source : trajml.io.Source
        The unit's trajectories.
    start, stop, step : int
        The unit's frames of every trajectory (``stop`` None: to the end).

    Returns
    -------
    float or None
        None where there is no estimate (frame-partitioned analyses: they always share out).
    """
    if getattr(analysis, "partition", "") != "particles" or not hasattr(analysis, "select"):
        return None
    from trajml.selection import resolve_atoms

    n_atoms = resolve_atoms(source, analysis.select, "select", type(analysis).__name__).size
    frames = sum(source.frames_in_range(start, stop, step))
    return frames * (source.n_atoms * READ_S_PER_ATOM_FRAME + n_atoms * SERIES_S_PER_ATOM_FRAME)


def analysis_scheduler(analysis: Any, source: Any, scheduler: Any, n_workers: int | None,
                       frames: tuple[int, int | None, int] = (0, None, 1)) -> tuple[Any, int | None]:
    """Where a unit runs ``analysis``: the unit's scheduler, or one thread in the unit when it is small.

    Parameters
    ----------
    analysis : Analysis
        The unit's analysis.
    source : trajml.io.Source
        The unit's trajectories.
    scheduler : str or dask.distributed.Client
        What :func:`unit_scheduler` gave the unit.
    n_workers : int or None
        Its workers.
    frames : tuple of (int, int or None, int)
        The unit's ``start``, ``stop`` and ``step``.

    Returns
    -------
    scheduler : str or dask.distributed.Client
        ``scheduler``, or ``"threads"`` (one thread, series in memory) below :data:`SPLIT_MIN_SECONDS`.
    n_workers : int or None
    """
    if scheduler == "serial":
        return scheduler, n_workers
    seconds = estimated_seconds(analysis, source, *frames)
    if seconds is not None and seconds < SPLIT_MIN_SECONDS:
        return "threads", 1
    return scheduler, n_workers


def plan_unit_scheduler(scheduler: Any, n_workers: int | None, n_units: int, timeout: float | None) -> str:
    """How the units of a run execute their analyses, decided on the driver.

    Parameters
    ----------
    scheduler : str or dask.distributed.Client
        The pipeline's scheduler (see :mod:`trajml.pipelines.executors`).
    n_workers : int or None
        Workers of "threads" and "processes" (None: all cores).
    n_units : int
        Units this run executes.
    timeout : float or None
        The run's ``unit_timeout`` in s.

    Returns
    -------
    str
        ``"serial"``, ``"threads:K"``, ``"cluster"`` (tasks on the cluster the unit runs on, here) or
        ``"cluster:store"`` (on a cluster that may span machines: temporary files in the results store).
    """
    if scheduler == "serial":
        return "serial"
    if scheduler in ("threads", "processes"):
        workers = n_workers or os.cpu_count() or 1
        share = workers // max(1, min(n_units, workers))
        return f"threads:{share}" if share > 1 else "serial"
    if timeout is not None:
        return "serial"
    return "cluster" if scheduler == "local" else "cluster:store"


def unit_scheduler(plan: str) -> tuple[Any, int | None]:
    """The ``scheduler`` and ``n_workers`` a unit's analysis runs with; call it on the unit's own thread.

    Parameters
    ----------
    plan : str
        What :func:`plan_unit_scheduler` decided.

    Returns
    -------
    scheduler : str or dask.distributed.Client
        "serial", "threads", or the Client of the worker running this unit.
    n_workers : int or None
        Threads for "threads"; the cluster's threads for a Client (its submission window).
    """
    if plan.startswith("threads:"):
        return "threads", int(plan.split(":", 1)[1])
    if plan.startswith("cluster"):
        from trajml.parallel.schedulers import _in_worker_task, task_slots

        if _in_worker_task():  # not a cluster's worker (a unit called directly): serial
            from distributed import get_client

            client = get_client()
            return client, task_slots(client)
    return "serial", None


def unit_scratch(plan: str, store_root: str) -> str | None:
    """Folder for temporary files a unit's tasks share: the store's ``tmp/`` on a cluster that may span machines.

    Parameters
    ----------
    plan : str
        What :func:`plan_unit_scheduler` decided.
    store_root : str
        The results store's folder.

    Returns
    -------
    str or None
        None: the system's temporary folder (every task runs on this machine).
    """
    return os.path.join(store_root, "tmp") if plan == "cluster:store" else None


def open_ahead(systems: list[Any]) -> None:
    """Open ``systems`` in this worker's cache of open systems; never raises.

    A system that cannot be opened is left to its units, whose whole-file check names the file and the
    problem (:mod:`trajml.pipelines.system_check`).
    """
    from trajml.pipelines.system_check import OPENED_KEPT, open_system

    for system in systems[:OPENED_KEPT]:
        try:
            open_system(system)
        except Exception:  # reported by the units, with the run's wording
            pass


def open_ahead_on_workers(client: Any, systems: list[Any], tag: str) -> list[Any]:
    """Have every worker of ``client`` open ``systems`` before it runs their units or chunks.

    Only when there are fewer systems than workers: then a unit shares its chunks out over workers that
    have no unit of their own to open the files for. The tasks outrank units and chunks, and nobody waits
    for them (fire and forget).

    Parameters
    ----------
    client : dask.distributed.Client
        The run's cluster.
    systems : list of SystemSpec
        The systems of the units the run computes.
    tag : str
        The run id (unique task keys on a shared cluster).

    Returns
    -------
    list of Future
        One per worker; empty when nothing is opened ahead.
    """
    from distributed import fire_and_forget

    from trajml.parallel.schedulers import NESTED_PRIORITY

    workers = sorted(client.nthreads())
    if not systems or len(systems) >= len(workers):
        return []
    futures = [client.submit(open_ahead, list(systems), key=f"trajml-{tag}-open-ahead-{i}", workers=[address],
                             allow_other_workers=False, pure=False, priority=NESTED_PRIORITY + 1)
               for i, address in enumerate(workers)]
    fire_and_forget(futures)
    return futures
