"""One large system in a pipeline: ``--workers 2`` against ``--workers 1`` for the rdf and msd stages.

Run by hand (not in CI), on an idle machine for figures to report::

    python benchmarks/bench_unit_parallel.py                 # 51 200 beads, 400 frames, 3 repeats (a few minutes)
    python benchmarks/bench_unit_parallel.py --quick         # 20 480 beads, 100 frames, 1 repeat: a smoke test
    python benchmarks/bench_unit_parallel.py --workers 1 2 4 --atoms 102400

The system is a synthetic coarse-grained PEO/LiTFSI trajectory
(:func:`_common.generate_spe_trajectory`, cached in ``--workdir``; nothing is committed). Each
pipeline has one system and one stage, ``rdf`` (Li–EO, r_max 12 Å) or ``msd`` (Li, D fitted over
200–2000 ps), and runs with
``run_pipeline(scheduler="local", n_workers=N)`` into an empty outputs folder, the N values
interleaved within each repeat so a drifting load hits them alike. Numba kernels are compiled
and cached by a serial warm-up run first.

Reported per stage and N: the unit's own seconds (``Outcome.seconds``: the stage's work, as the
pipeline's summary shows it) and the whole run's wall time (cluster start, store, report-less),
their medians, the speed-up ``t(N=first) / t(N)``, the CPU seconds of the whole run (this process
and its reaped workers: what sharing out costs on top of the work), each worker process's CPU
seconds (sampled every 50 ms while it lives: its start, its share of the unit and its tasks), the
same while the unit computed (between ``Outcome.started`` and its end), and the ratios of the
busiest worker's, which a loaded machine does not move as it moves wall times (on an idle
machine a unit takes at least its busiest worker's CPU seconds; with the tasks back to back, as
Dask's task stream shows them, about that), and whether the stored results
(result.json, arrays.nc, CSV tables) are byte-identical to a ``scheduler="serial"`` run. The
machine's load (``os.getloadavg``) before, after and at every run goes into the JSON, which is
written to ``benchmarks/results/bench_unit_parallel.json`` (``--out`` to change).

On a loaded machine wall times cannot show a speed-up; the CPU-time breakdown of each unit
(:mod:`unit_parallel_breakdown`, in a child process with ``NUMBA_NUM_THREADS=1``: the task
functions' thread CPU seconds, the serial remainder, the parallel fraction and its Amdahl and
list-scheduling bounds on N workers) does not depend on the load, and goes into the JSON too
(``--no-breakdown`` to skip it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402

STAGES = {
    "rdf": "{{stage: rdf, select_a: name LI, select_b: name EO, r_max: 12.0, n_bins: 120, chunk_size: {c}}}",
    # a fixed D window (ps): polymer beads (--msd-select all) are subdiffusive, and the automatic window refuses them
    "msd": "{{stage: msd, select: {sel}, chunk_size: {c}, fit_start: 200.0, fit_stop: {fs}}}",
}


def fit_stop(frames: int) -> float:
    """End of the D window (ps): 2000 ps, or 90 % of a shorter run (frames 10 ps apart)."""
    return min(2000.0, 0.9 * (frames - 1) * 10.0)


def write_pipeline(folder: Path, stage: str, topology: str, trajectory: str, chunk: int, msd_select: str,
                   frames: int) -> Path:
    """A one-system, one-stage pipeline file; return its path."""
    body = STAGES[stage].format(c=chunk, sel=msd_select, fs=fit_stop(frames))
    path = folder / f"{stage}.yaml"
    path.write_text(f"version: 1\nname: unitpar_{stage}\ninputs:\n  - name: big\n    topology: {topology}\n"
                    f"    trajectory: {trajectory}\nstages:\n  - {body}\noutputs: {folder / 'out'}\n")
    return path


def stored(outputs: Path) -> dict[str, bytes]:
    """Bytes of every stored entry's result.json, arrays.nc and CSV tables."""
    out = {}
    for entry in sorted((outputs / "store" / "objects").glob("*/*")):
        for f in sorted(entry.iterdir()):
            if f.name in ("result.json", "arrays.nc") or f.suffix == ".csv":
                out[f"{entry.name}/{f.name}"] = f.read_bytes()
    return out


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its children that have ended."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class WorkerCPU:
    """CPU seconds of each worker process (a child that ``multiprocessing`` spawned) while it lives, sampled."""

    def __init__(self, every: float = 0.05) -> None:
        import threading

        self.every, self.seen, self._stop = every, {}, threading.Event()
        self.samples: list[tuple[float, dict[int, float]]] = []  # (epoch seconds, CPU seconds of each worker)
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            for child in me.children(recursive=True):
                try:
                    if child.pid in self.seen or "spawn_main" in " ".join(child.cmdline()):  # not its resource tracker
                        t = child.cpu_times()
                        self.seen[child.pid] = t.user + t.system
                except psutil.Error:  # ended meanwhile: its last sample stands
                    pass
            self.samples.append((time.time(), dict(self.seen)))
            self._stop.wait(self.every)

    def during(self, start: float, stop: float) -> list[float]:
        """CPU seconds each worker spent between epoch times ``start`` and ``stop`` (samples around them),
        largest first."""
        before = [cpu for t, cpu in self.samples if t <= start]
        after = [cpu for t, cpu in self.samples if t >= stop]
        first, last = (before[-1] if before else {}), (after[0] if after else self.seen)
        return sorted((last[pid] - first.get(pid, 0.0) for pid in last), reverse=True)

    def __enter__(self) -> "WorkerCPU":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(path: Path, outputs: Path, **kw: object) -> tuple[float, float, float, list[float], list[float]]:
    """Run the pipeline into an empty ``outputs``.

    Returns (unit seconds, run wall seconds, run CPU seconds, each worker's CPU seconds, each worker's
    CPU seconds while the unit computed; the lists largest first).
    """
    from trajml.pipelines import run_pipeline

    shutil.rmtree(outputs, ignore_errors=True)
    c0, t0 = _cpu_seconds(), time.perf_counter()
    with WorkerCPU() as workers:
        summary = run_pipeline(path, progress=False, outputs=str(outputs), report=False, **kw)
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    if summary.computed != 1 or summary.failures:
        raise RuntimeError(summary.text())
    unit = summary.outcomes[0]
    return (unit.seconds, wall, cpu, sorted(workers.seen.values(), reverse=True),
            workers.during(unit.started, unit.started + unit.seconds))


def breakdown(stage: str, topology: str, trajectory: str, chunk: int, msd_select: str) -> dict[str, object]:
    """The unit's CPU-time breakdown (:mod:`unit_parallel_breakdown`), from a child process."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unit_parallel_breakdown.py")
    done = subprocess.run([sys.executable, script, stage, topology, trajectory, "--chunk", str(chunk),
                           "--msd-select", msd_select, "--json"], capture_output=True, text=True, check=True,
                          env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--atoms", type=int, default=51200, help="beads of the synthetic system (>= 50 000 for the issue)")
    p.add_argument("--frames", type=int, default=400)
    p.add_argument("--chunk", type=int, default=50, help="chunk_size of the stages (frames per task)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--stages", nargs="+", default=["rdf", "msd"], choices=sorted(STAGES))
    p.add_argument("--msd-select", default="name LI", help="selection of the msd stage")
    p.add_argument("--quick", action="store_true", help="20 480 beads, 100 frames, one repeat")
    p.add_argument("--no-breakdown", action="store_true", help="skip the CPU-time breakdown of each unit")
    p.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "trajml-bench-data"),
                   help="cache of the generated trajectory")
    p.add_argument("--out", default=os.path.join(_common.BENCH_DIR, "results", "bench_unit_parallel.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.atoms, args.frames, args.repeats = 20480, 100, 1
    gen = _common.generate_spe_trajectory(args.workdir, args.atoms, [args.frames])
    topology, trajectory = gen["topology"], gen["files"]["xtc"][args.frames]
    load_before = os.getloadavg()
    report: dict[str, object] = {"atoms": args.atoms, "frames": args.frames, "chunk_size": args.chunk,
                                 "workers": args.workers, "repeats": args.repeats, "msd_select": args.msd_select,
                                 "pipelines": {k: v.format(c=args.chunk, sel=args.msd_select, fs=fit_stop(args.frames))
                                               for k, v in STAGES.items()},
                                 "cpu_count": os.cpu_count(), "environment": _common.environment(),
                                 "loadavg_before": load_before, "stages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for stage in args.stages:
            folder = work / stage
            folder.mkdir()
            path = write_pipeline(folder, stage, topology, trajectory, args.chunk, args.msd_select, args.frames)
            serial_s = timed(path, folder / "serial", scheduler="serial")[0]  # also the numba warm-up
            reference = stored(folder / "serial")
            units: dict[int, list[float]] = {n: [] for n in args.workers}
            walls: dict[int, list[float]] = {n: [] for n in args.workers}
            cpus: dict[int, list[float]] = {n: [] for n in args.workers}
            busiest: dict[int, list[float]] = {n: [] for n in args.workers}
            per_worker: dict[int, list[list[float]]] = {n: [] for n in args.workers}
            in_unit: dict[int, list[list[float]]] = {n: [] for n in args.workers}
            loads: list[float] = []
            identical = True
            differences: list[dict[str, object]] = []
            for rep in range(args.repeats):
                for n in args.workers:
                    loads.append(os.getloadavg()[0])
                    u, w, c, each, during = timed(path, folder / f"local{n}", scheduler="local", n_workers=n)
                    per_worker[n].append(each)
                    in_unit[n].append(during)
                    busiest[n].append(each[0])
                    units[n].append(u)
                    walls[n].append(w)
                    cpus[n].append(c)
                    got = stored(folder / f"local{n}")
                    if got != reference:  # kept: which run, which files
                        identical = False
                        differences.append({"repeat": rep, "workers": n, "files": sorted(
                            k for k in set(got) | set(reference) if got.get(k) != reference.get(k))})
            med_u = {n: statistics.median(v) for n, v in units.items()}
            med_w = {n: statistics.median(v) for n, v in walls.items()}
            med_c = {n: statistics.median(v) for n, v in cpus.items()}
            med_b = {n: statistics.median(v) for n, v in busiest.items()}
            med_i = {n: statistics.median(v[0] for v in runs) for n, runs in in_unit.items()}
            base = args.workers[0]
            entry: dict[str, object] = {
                "serial_unit_s": serial_s, "unit_s": units, "wall_s": walls, "cpu_s": cpus, "loadavg_1min": loads,
                "median_unit_s": med_u, "median_wall_s": med_w, "median_cpu_s": med_c,
                "speedup_unit": {n: med_u[base] / med_u[n] for n in args.workers},
                "speedup_wall": {n: med_w[base] / med_w[n] for n in args.workers},
                "worker_cpu_s": per_worker, "median_busiest_worker_cpu_s": med_b,
                "speedup_busiest_worker_cpu": {n: med_b[base] / med_b[n] for n in args.workers},
                "worker_cpu_in_unit_s": in_unit, "median_busiest_worker_cpu_in_unit_s": med_i,
                "speedup_busiest_worker_cpu_in_unit": {n: med_i[base] / med_i[n] for n in args.workers},
                "identical_to_serial": identical, "differences": differences}
            print(f"{stage}: serial unit {serial_s:.2f} s; " + "; ".join(
                f"workers {n}: unit {med_u[n]:.2f} s (x{med_u[base] / med_u[n]:.2f}), run {med_w[n]:.2f} s "
                f"(x{med_w[base] / med_w[n]:.2f}), run CPU {med_c[n]:.2f} s, busiest worker CPU {med_b[n]:.2f} s "
                f"(x{med_b[base] / med_b[n]:.2f}), in the unit {med_i[n]:.2f} s (x{med_i[base] / med_i[n]:.2f})"
                for n in args.workers)
                + f"; identical to serial: {identical}; load {min(loads):.1f}-{max(loads):.1f}", flush=True)
            if not args.no_breakdown:
                parts = breakdown(stage, topology, trajectory, args.chunk, args.msd_select)
                entry["breakdown"] = parts
                print(f"  CPU breakdown: tasks {parts['task_s']:.2f} s, serial {parts['serial_s']:.2f} s (figure "
                      f"{parts['figure_s']:.2f} s), parallel "
                      f"fraction {parts['parallel_fraction']:.3f}; bound on 2 workers {parts['list_bound']['2']:.2f}x "
                      f"(Amdahl {parts['amdahl']['2']:.2f}x)", flush=True)
            report["stages"][stage] = entry  # type: ignore[index]
    report["loadavg_after"] = os.getloadavg()
    print(f"{args.atoms} beads, {args.frames} frames, {os.cpu_count()} cores; load average before "
          f"{load_before[0]:.2f}, after {report['loadavg_after'][0]:.2f}")  # type: ignore[index]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
