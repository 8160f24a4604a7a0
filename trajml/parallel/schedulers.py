"""Mapping a function over items on Dask schedulers, in order, with a progress bar.

``scheduler`` is one of

- ``"serial"``: a plain loop in this thread; Dask is not imported.
- ``"threads"``: Dask's threaded scheduler (kernels release the GIL).
- ``"processes"``: Dask's multiprocessing scheduler (spawned workers reopen files).
- ``"local"``: a temporary ``dask.distributed.LocalCluster`` (one single-threaded process per core,
  whose numba kernels use one thread unless ``NUMBA_NUM_THREADS`` is set: ``n_workers`` cores in all).
- a ``dask.distributed.Client``: an existing cluster, e.g. from dask-jobqueue (SLURM/PBS).
- a string address such as ``"tcp://10.0.0.5:8786"``: connect to a running scheduler.

Results always come back in input order, whatever order tasks finish in, so
reductions fold in a fixed order and give identical numbers on every scheduler.
Items are submitted in a sliding window (a few per worker), so at most about two
windows of results are held at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["map_specs", "imap_ordered", "scheduler_name", "task_slots", "SCHEDULERS"]

from trajml.parallel.options import SCHEDULERS

#: Dask priority of the tasks :func:`imap_ordered` submits: above the default (0) of a pipeline's
#: units, so that a unit's chunks run before units that have not started.
NESTED_PRIORITY = 1


def scheduler_name(scheduler: Any) -> str:
    """A printable name for a scheduler argument (for provenance).

    Parameters
    ----------
    scheduler : str or dask.distributed.Client
    """
    if isinstance(scheduler, str):
        return scheduler
    address = getattr(getattr(scheduler, "scheduler", None), "address", None)
    return f"distributed:{address}" if address else type(scheduler).__name__


def task_slots(scheduler: Any, n_workers: int | None = None) -> int:
    """How many tasks ``scheduler`` runs at once.

    Parameters
    ----------
    scheduler : str or dask.distributed.Client
    n_workers : int, optional
        Workers of the local schedulers (default: the machine's cores, as :func:`imap_ordered`).

    Returns
    -------
    int
        1 for ``"serial"``; a Client's worker threads; else ``n_workers`` or the cores.
    """
    if scheduler == "serial":
        return 1
    nthreads = getattr(scheduler, "nthreads", None)
    if callable(nthreads):  # a dask.distributed Client
        return max(1, sum(nthreads().values()))
    return n_workers or os.cpu_count() or 1


def _validate(scheduler: Any) -> None:
    from trajml.parallel.options import check_scheduler

    check_scheduler(scheduler)


def _progress(total: int, desc: str | None, enabled: bool) -> Any:
    from trajml._progress import progress_bar

    return progress_bar(total, desc or "chunks", "chunk", enabled)


@contextmanager
def _client_for(scheduler: Any, n_workers: int | None) -> Iterator[Any]:
    """Yield a distributed Client for 'local', an address, or a given Client (not closed)."""
    from dask.distributed import Client, LocalCluster

    if scheduler == "local":
        from trajml.parallel.follow_plugin import FollowDriver

        workers = n_workers or os.cpu_count() or 1
        # One core per single-threaded worker: numba's parallel kernels would otherwise start a thread
        # per core in every worker, so N workers used all cores (and oversubscribed them N times).
        env = {} if "NUMBA_NUM_THREADS" in os.environ else {"NUMBA_NUM_THREADS": "1"}
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          env=env) as cluster, Client(cluster) as client:
            client.register_plugin(FollowDriver())  # workers end when this driver is killed
            yield client
    elif isinstance(scheduler, str):
        from trajml.parallel.connect import connect

        with connect(scheduler, flag="scheduler") as client:
            yield client
    else:
        yield scheduler


def imap_ordered(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    scheduler: Any = "serial",
    n_workers: int | None = None,
    progress: bool = False,
    desc: str | None = None,
    window: int | None = None,
) -> Iterator[Any]:
    """Apply ``func`` to each item and yield results in input order.

    Parameters
    ----------
    func : callable
        Picklable (a module-level function or a ``functools.partial`` of one).
    items : sequence
        Small picklable values (e.g. ChunkSpecs).
    scheduler : str or dask.distributed.Client
        See the module documentation.
    n_workers : int, optional
        Workers for "threads", "processes" and "local" (default: all cores).
    progress : bool
        Show a progress bar.
    desc : str, optional
        Progress bar label.
    window : int, optional
        Items submitted at once (default: 4 per worker); bounds memory held by results.
    """
    _validate(scheduler)
    items = list(items)
    bar = _progress(len(items), desc, progress)
    try:
        if scheduler == "serial":
            for item in items:
                result = func(item)
                bar.update(1)  # before the yield: a consumer that stops at the last item never resumes us
                yield result
            return
        workers = n_workers or os.cpu_count() or 1
        size = window or 4 * workers
        if scheduler in ("threads", "processes"):
            yield from _dask_local(func, items, scheduler, workers, size, bar)
        else:
            with _client_for(scheduler, n_workers) as client:
                yield from _distributed(func, items, client, size, bar)
    finally:
        bar.close()


def _dask_local(func: Callable, items: list, scheduler: str, workers: int, size: int, bar: Any) -> Iterator[Any]:
    import concurrent.futures
    import multiprocessing

    import dask
    from dask.callbacks import Callback

    from trajml.parallel.orphans import follow_parent

    class _Tick(Callback):
        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, id: Any) -> None:
            bar.update(1)

    if scheduler == "threads":
        pool: concurrent.futures.Executor = concurrent.futures.ThreadPoolExecutor(workers)
    else:
        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                      initializer=follow_parent)  # no orphans after a kill
    task = dask.delayed(func, pure=False)
    with pool:
        for lo in range(0, len(items), size):
            batch = [task(item) for item in items[lo:lo + size]]
            with _Tick():
                results = dask.compute(*batch, scheduler=scheduler, pool=pool)
            yield from results


def _in_worker_task() -> bool:
    """True on the thread of a task a dask worker is running (a map from there is nested)."""
    try:
        from distributed.worker import get_worker
    except ImportError:  # pragma: no cover - distributed is a dependency of every non-serial path
        return False
    try:
        get_worker()
    except ValueError:
        return False
    return True


def _distributed(func: Callable, items: list, client: Any, size: int, bar: Any) -> Iterator[Any]:
    from dask.distributed import as_completed, rejoin, secede

    # A map from inside a task (a pipeline unit's chunks) is nested: the task leaves its worker's
    # thread pool until the map ends, so its own chunks run there even with one single-threaded
    # worker; folding their results is light next to them. Its chunks outrank tasks submitted at
    # the default priority (the units not started yet), so a started unit finishes first.
    # The window slides: an item is submitted as soon as one before it is handed out, so workers
    # never wait at the end of a batch for its slowest task (at most ``size`` tasks in flight and
    # ``size`` results held).
    nested = _in_worker_task()
    futures: dict[int, Any] = {}
    position: dict[Any, int] = {}
    finished: set[int] = set()
    waiting = as_completed()
    submitted = handed = 0

    def top_up() -> None:
        nonlocal submitted
        while submitted < len(items) and submitted - handed < size:
            future = client.submit(func, items[submitted], pure=False, priority=NESTED_PRIORITY)
            futures[submitted], position[future.key] = future, submitted
            waiting.add(future)
            submitted += 1

    if nested:
        secede()
    try:
        top_up()
        while handed < len(items):
            while handed not in finished:
                finished.add(position.pop(next(waiting).key))
                bar.update(1)
            ready = []
            while handed + len(ready) in finished:
                ready.append(handed + len(ready))
            results = client.gather([futures.pop(i) for i in ready])
            finished.difference_update(ready)
            handed += len(ready)
            top_up()  # before folding: the workers go on while this thread folds
            yield from results
            del results
    finally:
        if futures:  # the consumer stopped early or a task failed: drop what is still queued
            client.cancel(list(futures.values()))
        if nested:
            rejoin()


def map_specs(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    scheduler: Any = "serial",
    n_workers: int | None = None,
    progress: bool = False,
    desc: str | None = None,
) -> list[Any]:
    """Apply ``func`` to every item on a scheduler; return the results in input order.

    See :func:`imap_ordered` for the parameters.

    Parameters
    ----------
    func : callable
        Applied to each item.
    items : iterable
    scheduler, n_workers, progress, desc
        As for :func:`imap_ordered`.
    """
    return list(imap_ordered(func, list(items), scheduler=scheduler, n_workers=n_workers,
                             progress=progress, desc=desc))
