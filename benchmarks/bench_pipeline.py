"""Batch pipelines: scaling from 1 to N workers, and the pipeline's overhead over direct calls.

Run by hand (not in CI)::

    python benchmarks/bench_pipeline.py                       # 8 systems, 300 frames each, 1 vs 2 workers
    python benchmarks/bench_pipeline.py --systems 16 --frames 100 --workers 1 2 4
    python benchmarks/bench_pipeline.py --quick               # 8 systems, 40 frames: a smoke test

Systems are copies of the bundled sample SPE (2040 beads, up to 300 frames),
each in its own folder, so every system has its own fingerprint and every unit
really runs. The pipeline has the stages of ``spe_demo`` (info, Li–O and
Li–TFSI RDFs, coordination and solvation with cut-offs from the RDFs), read for
``--frames`` frames.

Reported
--------
direct
    The same analyses called one after another in this process
    (``open_source`` + ``trajml.parallel.run`` per stage, serial), with no
    store, no figures, no report: the floor.
pipeline serial
    ``run_pipeline(scheduler="serial")`` into an empty store: overhead of keying,
    storing JSON/CSV/PNG and writing the report, as a ratio to *direct*.
pipeline local xN
    ``run_pipeline(scheduler="local", n_workers=N)`` (a LocalCluster, started and
    stopped inside the timing), into an empty store; scaling = t(1 worker) / t(N).
rerun
    The same pipeline again: everything reused (cost of planning and the report).

Numba kernels are compiled and cached once (a warm-up run) before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import sample_systems  # noqa: E402

STAGES = """stages:
  - {{stage: info, stop: {f}}}
  - {{stage: rdf, id: rdf_li_o, select_a: name Li, select_b: name O, r_max: 12.0, n_bins: 120, stop: {f}}}
  - {{stage: rdf, id: rdf_li_tfsi, select_a: name Li, select_b: name TFSI, r_max: 15.0, n_bins: 150, stop: {f}}}
  - {{stage: coordination, cutoff_from: rdf_li_o, stop: {f}}}
  - {{stage: solvation, cutoff_o_from: rdf_li_o, cutoff_anion_from: rdf_li_tfsi, stop: {f}}}
"""


def make_batch(folder: Path, n: int, frames: int, outputs: Path) -> Path:
    """Copy the sample into ``n`` folders and write a pipeline over them; return its path."""
    sample_systems(folder, n, digits=2)
    path = folder / "bench.yaml"
    path.write_text(f"version: 1\nname: bench\ninputs:\n  - glob: sims/sys*\n{STAGES.format(f=frames)}"
                    f"outputs: {outputs}\n")
    return path


def direct(spec: object) -> float:
    """Time the same analyses called directly, serially, without store or figures."""
    from trajml.features import RDF, Coordination, Solvation, TrajectorySummary
    from trajml.io import open_source
    from trajml.parallel import run

    t0 = time.perf_counter()
    for s in spec.systems:  # type: ignore[attr-defined]
        src = open_source(s.topology, list(s.trajectories))
        stop = spec.stages[0].params["stop"]  # type: ignore[attr-defined]
        kw = {"stop": stop, "progress": False}
        run(TrajectorySummary(), src, **kw)
        lio = run(RDF("name Li", "name O", r_max=12.0, n_bins=120), src, **kw)
        lit = run(RDF("name Li", "name TFSI", r_max=15.0, n_bins=150), src, **kw)
        run(Coordination("name Li", "name O", cutoff=lio.first_min_r), src, **kw)
        run(Solvation(cutoff_o=lio.first_min_r, cutoff_anion=lit.first_min_r), src, **kw)
    return time.perf_counter() - t0


def timed_run(path: Path, outputs: Path, **kw: object) -> tuple[float, object]:
    from trajml.pipelines import run_pipeline

    shutil.rmtree(outputs, ignore_errors=True)
    t0 = time.perf_counter()
    summary = run_pipeline(path, progress=False, outputs=str(outputs), **kw)
    return time.perf_counter() - t0, summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--systems", type=int, default=8)
    p.add_argument("--frames", type=int, default=300, help="frames read per system (at most 300)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--quick", action="store_true", help="40 frames per system")
    p.add_argument("--out", default=None, help="also write the numbers as JSON here")
    args = p.parse_args(argv)
    frames = 40 if args.quick else args.frames
    from trajml.pipelines import load_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = make_batch(work, args.systems, frames, work / "out")
        spec = load_pipeline(path)
        timed_run(path, work / "warm", scheduler="serial", report=False)  # compile/cache numba kernels
        rows: dict[str, float] = {"direct": direct(spec)}
        rows["pipeline serial"], summary = timed_run(path, work / "serial", scheduler="serial")
        units = len(summary.outcomes)  # type: ignore[attr-defined]
        for n in args.workers:
            rows[f"pipeline local x{n}"], s = timed_run(path, work / f"local{n}", scheduler="local", n_workers=n)
            assert s.computed == units, s.text()  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        from trajml.pipelines import run_pipeline

        run_pipeline(path, progress=False, outputs=str(work / "serial"), scheduler="serial")
        rows["rerun (all reused)"] = time.perf_counter() - t0
    print(f"{args.systems} systems x {len(spec.stages)} stages = {units} units, {frames} frames per system, "
          f"{os.cpu_count()} cores")
    for name, t in rows.items():
        print(f"  {name:<22} {t:8.2f} s   {t / rows['direct']:6.2f} x direct")
    base = rows.get(f"pipeline local x{args.workers[0]}")
    for n in args.workers[1:]:
        print(f"  scaling {args.workers[0]} -> {n} workers: {base / rows[f'pipeline local x{n}']:.2f}x")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump({"systems": args.systems, "frames": frames, "units": units, "seconds": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
