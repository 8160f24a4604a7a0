"""CPU-time breakdown of one rdf or msd unit: which part of its work the unit's tasks can share out.

Run by :mod:`bench_unit_parallel` in a child process (``NUMBA_NUM_THREADS=1``, as a worker of the
``local`` cluster runs), or by hand::

    NUMBA_NUM_THREADS=1 python benchmarks/unit_parallel_breakdown.py rdf TOPOLOGY TRAJECTORY --chunk 50

The unit's analysis runs on the ``"serial"`` scheduler with the very task functions a cluster runs
(:func:`trajml.parallel.engine.process_chunk` for rdf; the read, unwrap and particle-block tasks of
msd's parallel stream), each wrapped to record its thread CPU seconds (``time.thread_time``: robust to
the machine's load, unlike wall time). Everything else the unit does (binding selections, the
driver's sums between phases, merging, finalising, and drawing the stage's figure as a fresh worker
does, importing matplotlib: ``figure_s``) is the serial remainder; opening the files (``open_s``) is
not, a pipeline's worker has them open from the system's whole-file check.

From these it prints and returns (JSON on standard output with ``--json``):

- ``serial_s`` and each phase's task CPU seconds (``tasks``: one list per phase; phases are
  separated by a barrier: msd's read, unwrap and block phases);
- ``parallel_fraction`` p = task seconds / all seconds;
- ``amdahl`` 1 / ((1 - p) + p / N) for N = 2, 4: the bound with perfectly divisible tasks;
- ``list_bound``: the same with the real task sizes, each phase's tasks given in order to the
  first free of N workers (what Dask's scheduler does for ready tasks of equal priority);
- msd: ``estimated_s`` (:func:`trajml.pipelines.unit_parallel.estimated_seconds`) and ``kept_in_unit``:
  whether a pipeline runs this unit alone instead of sharing it out (then N workers = 1 worker).

Dask's own costs (scheduling, moving task arguments and results, a new worker's imports) are not in
it: they are the difference between this bound and the measured speed-up.
"""

from __future__ import annotations

import argparse
import functools
import heapq
import json
import os
import sys
import time
from typing import Any, Callable

#: Worker counts the bounds are given for.
BOUND_WORKERS = (2, 4)


def _timed(record: list[float], func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` that appends each call's thread CPU seconds to ``record``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            record.append(time.thread_time() - t0)

    return wrapper


def makespan(tasks: list[float], n_workers: int) -> float:
    """Finish time of ``tasks`` handed out in order to the first free of ``n_workers`` workers."""
    free = [0.0] * n_workers
    for t in tasks:
        heapq.heappush(free, heapq.heappop(free) + t)
    return max(free)


def bounds(serial_s: float, phases: list[list[float]]) -> dict[str, Any]:
    """Parallel fraction, Amdahl bound and list-scheduling bound of a unit's CPU seconds."""
    task_s = sum(sum(p) for p in phases)
    total = serial_s + task_s
    p = task_s / total if total else 0.0
    return {"serial_s": serial_s, "task_s": task_s, "total_s": total, "parallel_fraction": p,
            "amdahl": {n: 1.0 / ((1.0 - p) + p / n) for n in BOUND_WORKERS},
            "list_bound": {n: total / (serial_s + sum(makespan(ph, n) for ph in phases)) for n in BOUND_WORKERS}}


def rdf_breakdown(topology: str, trajectory: str, chunk: int) -> dict[str, Any]:
    """CPU seconds of an rdf unit (Li–EO, r_max 12 Å): open, bind, chunk tasks, merge and finalise."""
    import trajml.parallel.engine as engine
    from trajml.features import RDF
    from trajml.io import open_source

    t0 = time.thread_time()
    source = open_source(topology, trajectory)
    open_s = time.thread_time() - t0
    tasks: list[float] = []
    original = engine.process_chunk
    engine.process_chunk = _timed(tasks, original)
    try:
        t0 = time.thread_time()
        res = engine.run(RDF(select_a="name LI", select_b="name EO", r_max=12.0, n_bins=120), source,
                         chunk_size=chunk, progress=False)
        run_s = time.thread_time() - t0
    finally:
        engine.process_chunk = original
    figure_s = _figure_seconds("rdf", res)
    return {"open_s": open_s, "figure_s": figure_s, "phases": {"chunks": tasks},
            **bounds(run_s - sum(tasks) + figure_s, [tasks])}


def _figure_seconds(name: str, res: Any) -> float:
    """CPU seconds of the stage's figure as a fresh worker draws it (importing matplotlib included)."""
    t0 = time.thread_time()
    import trajml.plotting as plotting

    plotting.use_offscreen_backend()
    extra = ()
    if name == "msd":
        from trajml.transport import Diffusion

        extra = (Diffusion(fit_start=200.0, fit_stop=min(2000.0, 0.9 * float(res.lag_ps[-1]))).fit(res).fetch_model(),)
    fig = getattr(plotting, f"plot_{name}")(res, *extra)
    fig.canvas.draw()
    plotting_seconds = time.thread_time() - t0
    import matplotlib.pyplot as plt

    plt.close(fig)
    return plotting_seconds


def msd_breakdown(topology: str, trajectory: str, chunk: int, select: str) -> dict[str, Any]:
    """CPU seconds of an msd unit streamed as on a cluster: read, unwrap and particle-block tasks."""
    import trajml.parallel.engine as engine
    import trajml.transport.msd as msd_module
    import trajml.transport.stream_parallel as sp
    from trajml.io import open_source
    from trajml.parallel.schedulers import scheduler_name

    t0 = time.thread_time()
    source = open_source(topology, trajectory)
    open_s = time.thread_time() - t0
    phases: dict[str, list[float]] = {"read": [], "unwrap": [], "blocks": []}
    saved = (sp._read_task, sp._unwrap_task, engine._particle_task)
    sp._read_task = _timed(phases["read"], saved[0])
    sp._unwrap_task = _timed(phases["unwrap"], saved[1])
    engine._particle_task = _timed(phases["blocks"], saved[2])
    # the file-backed parallel stream, run serially: the MSD sees a scheduler name other than "serial"
    import trajml.parallel as parallel

    real_name = parallel.scheduler_name
    parallel.scheduler_name = lambda s: "local" if s == "serial" else scheduler_name(s)
    try:
        t0 = time.thread_time()
        res = engine.run(msd_module.MSD(select=select), source, chunk_size=chunk, progress=False)
        run_s = time.thread_time() - t0
    finally:
        sp._read_task, sp._unwrap_task, engine._particle_task = saved
        parallel.scheduler_name = real_name
    task_s = sum(sum(v) for v in phases.values())
    from trajml.pipelines.unit_parallel import SPLIT_MIN_SECONDS, estimated_seconds

    estimate = estimated_seconds(msd_module.MSD(select=select), source)
    figure_s = _figure_seconds("msd", res)
    return {"open_s": open_s, "figure_s": figure_s, "phases": phases,
            **bounds(run_s - task_s + figure_s, list(phases.values())),
            "estimated_s": estimate, "kept_in_unit": bool(estimate is not None and estimate < SPLIT_MIN_SECONDS)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("stage", choices=["rdf", "msd"])
    p.add_argument("topology")
    p.add_argument("trajectory")
    p.add_argument("--chunk", type=int, default=50)
    p.add_argument("--msd-select", default="name LI")
    p.add_argument("--json", action="store_true", help="print the breakdown as JSON")
    args = p.parse_args(argv)
    if os.environ.get("NUMBA_NUM_THREADS") != "1":
        print("note: NUMBA_NUM_THREADS is not 1; a local cluster's workers run numba on one thread", file=sys.stderr)
    if args.stage == "rdf":
        out = rdf_breakdown(args.topology, args.trajectory, args.chunk)
    else:
        out = msd_breakdown(args.topology, args.trajectory, args.chunk, args.msd_select)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{args.stage}: open {out['open_s']:.2f} s (not in the unit when the worker has the system open); "
              f"serial {out['serial_s']:.2f} s (figure {out['figure_s']:.2f} s), "
              f"tasks {out['task_s']:.2f} s CPU; parallel fraction "
              f"{out['parallel_fraction']:.3f}; bound on 2 workers: Amdahl {out['amdahl'][2]:.2f}x, "
              f"with these tasks {out['list_bound'][2]:.2f}x")
        for name, tasks in out["phases"].items():
            print(f"  {name}: {len(tasks)} tasks, " + " ".join(f"{t:.2f}" for t in tasks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
