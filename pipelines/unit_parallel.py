"""Parallel inside a unit: where a pipeline unit's analysis runs its chunks of frames or blocks of particles.

The runner parallelises over units (one stage on one system); a stage's analysis splits its own
work into chunks of frames (RDF, coordination, solvation, ...) or blocks of particles and an
unwrapping pass (MSD), and these run on the unit's scheduler:

- pipeline ``scheduler="serial"``: one after another inside the unit, as always;
- a Dask cluster (``"local"``, the default of ``trajml run``; an address; ``--scheduler-file``;
  a ``cluster:`` mapping; a Client): as tasks on the same cluster, submitted from the unit.
  While the unit waits for them it leaves its worker's thread pool (:func:`distributed.secede`)
  and takes a thread back to fold their results (:func:`distributed.rejoin`), so its chunks run
  even on one single-threaded worker (``--workers 1``). The chunks outrank the units that have
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
folder, which every worker sees (the run checks that at start), unless the stage sets ``tmpdir``. A run with a ``unit_timeout`` keeps its units' analyses serial
on a cluster: the limit runs a unit's work in a helper thread, which cannot leave the worker's
thread pool while it waits for the unit's own chunks.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["plan_unit_scheduler", "unit_scheduler", "unit_scratch"]


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
        from trajml.parallel.schedulers import _in_worker_task

        if _in_worker_task():  # not a cluster's worker (a unit called directly): serial
            from distributed import get_client

            client = get_client()
            return client, max(1, sum(client.nthreads().values()))
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
