"""Running planned units on a scheduler, dependencies first, reporting each outcome as it arrives.

``scheduler`` is

- ``"serial"``: a loop in this process, in plan order (Dask is not imported);
- ``"threads"``: Dask's threaded scheduler in this process (units share its memory;
  the kernels release the GIL);
- ``"processes"``: Dask's multiprocessing scheduler on a pool of spawned processes;
- ``"local"`` (the default of ``trajml run``): a ``dask.distributed.LocalCluster``
  with one single-threaded worker process per core (``n_workers`` to change);
- a scheduler address (``"tcp://host:8786"``) or a ``dask.distributed.Client``:
  an existing cluster. Units run where the workers are; the results store and
  the inputs must be on a file system the workers share with the driver.

Batch clusters (SLURM, PBS) come through dask-jobqueue: a pipeline's ``cluster:`` mapping
(``trajml run --cluster type=slurm ...``, ``run_pipeline(cluster={...})``; see
:mod:`trajml.parallel.jobqueue`) starts one for the run, or hand the Client of a cluster you
started (any dask-jobqueue class) to :func:`trajml.pipelines.run_pipeline`::

    from dask.distributed import Client
    from dask_jobqueue import SLURMCluster        # or PBSCluster

    cluster = SLURMCluster(cores=16, processes=16, memory="64GB", walltime="04:00:00",
                           queue="regular", account="my-project")
    cluster.scale(jobs=4)                         # 4 batch jobs of 16 workers each
    run_pipeline("sweep.yaml", scheduler=Client(cluster))

or start ``dask scheduler --scheduler-file FILE`` and ``dask worker --scheduler-file FILE`` in job
scripts and pass the file: ``trajml run sweep.yaml --scheduler-file FILE``
(:mod:`trajml.parallel.connect`). On every distributed scheduler the driver first checks that
each worker reads and writes the results store (:mod:`trajml.pipelines.store_probe`).
Workers of "processes" and "local" exit when their driver dies (:mod:`trajml.parallel.orphans`).
Each unit runs on one thread of its worker, and its analysis' chunks run as tasks on the same
cluster (:mod:`trajml.pipelines.unit_parallel`), so one large system uses every worker: give
workers one thread.
Scripts that use "local" or "processes" need the usual ``if __name__ == "__main__":``
guard (worker processes are spawned and re-import the main module); the
``trajml run`` command has it.

Every unit function catches its own errors and returns a failed outcome, so a
bad system never stops the others; a worker that dies (out of memory) fails
only the unit it was running.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from trajml.parallel.options import SCHEDULERS, check_scheduler

__all__ = ["execute", "validate_scheduler", "SCHEDULERS"]

def validate_scheduler(scheduler: Any) -> None:
    """Raise :class:`~trajml.errors.InvalidParameterError` for a scheduler the runner cannot use.

    The vocabulary is every trajml entry point's (:func:`trajml.parallel.options.check_scheduler`).
    """
    check_scheduler(scheduler, "run_pipeline")


def execute(func: Callable[..., Any], tasks: Sequence[Any], scheduler: Any, n_workers: int | None,
            on_done: Callable[[Any], None], failed: Callable[[Any, BaseException], Any], tag: str,
            on_client: Callable[[Any], None] | None = None) -> None:
    """Run ``func(task, *outcomes_of_task.after)`` for every task, respecting ``task.after``.

    Parameters
    ----------
    func : callable
        Module-level unit function returning an outcome; it must not raise.
    tasks : sequence
        In an order where every task comes after the tasks named in its ``after`` (unit ids).
    scheduler : str or dask.distributed.Client
        See the module documentation.
    n_workers : int, optional
        Workers of "threads", "processes" and "local" (default: all cores).
    on_done : callable
        Called in this process with each outcome as it arrives.
    failed : callable
        ``failed(task, exc) -> outcome`` for a task whose worker died.
    tag : str
        Unique prefix of task keys on a shared cluster (the run id).
    on_client : callable, optional
        Called with the distributed Client before anything is submitted (the store check).
    """
    validate_scheduler(scheduler)
    if scheduler == "serial":
        done: dict[str, Any] = {}
        for t in tasks:
            done[t.unit] = func(t, *[done[u] for u in t.after])
            on_done(done[t.unit])
    elif scheduler in ("threads", "processes"):
        _local_pool(func, tasks, scheduler, n_workers or os.cpu_count() or 1, on_done)
    else:
        _distributed(func, tasks, scheduler, n_workers, on_done, failed, tag, on_client)


def _local_pool(func: Callable, tasks: Sequence[Any], kind: str, workers: int,
                on_done: Callable[[Any], None]) -> None:
    import concurrent.futures
    import multiprocessing

    import dask
    from dask.callbacks import Callback

    names = {t.unit: f"unit-{i}" for i, t in enumerate(tasks)}

    class _Done(Callback):
        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, id: Any) -> None:
            if key in keys:
                on_done(result)

    graph: dict[str, Any] = {}
    for t in tasks:
        graph[t.unit] = dask.delayed(func, pure=False)(t, *[graph[u] for u in t.after], dask_key_name=names[t.unit])
    keys = set(names.values())
    if kind == "threads":
        pool: concurrent.futures.Executor = concurrent.futures.ThreadPoolExecutor(workers)
    else:
        from trajml.parallel.orphans import follow_parent

        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                      initializer=follow_parent)  # no orphans after a kill
    with pool, _Done():
        # chunksize=1: Dask's process scheduler otherwise hands up to 6 ready units to one worker, in turn.
        extra = {"chunksize": 1} if kind == "processes" else {}
        dask.compute(*graph.values(), scheduler=kind, pool=pool, **extra)


def _distributed(func: Callable, tasks: Sequence[Any], scheduler: Any, n_workers: int | None,
                 on_done: Callable[[Any], None], failed: Callable[[Any, BaseException], Any], tag: str,
                 on_client: Callable[[Any], None] | None) -> None:
    from dask.distributed import as_completed

    from trajml.parallel.schedulers import _client_for

    with _client_for(scheduler, n_workers) as client:
        if on_client is not None:
            on_client(client)
        futures: dict[str, Any] = {}
        owner: dict[str, Any] = {}
        for i, t in enumerate(tasks):
            fut = client.submit(func, t, *[futures[u] for u in t.after], key=f"trajml-{tag}-{i}", pure=False)
            futures[t.unit], owner[fut.key] = fut, t
        for fut in as_completed(list(futures.values())):
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker died (KilledWorker) or a dependency's did
                outcome = failed(owner[fut.key], exc)
            on_done(outcome)
