"""Scaling with system size and trajectory length: trajml against MDAnalysis, freud, kinisi and scipy.

Run by hand (not in CI)::

    python benchmarks/bench_scaling.py --workdir bench-out/scaling           # default grid, ~20 min on 2 cores
    python benchmarks/bench_scaling.py --workdir W --sizes 1,2 --frames 200 --repeats 1   # a few minutes
    python benchmarks/bench_scaling.py --workdir W --peers mdanalysis --analyses rdf,msd  # fewer peers

Inputs
------
Tiled copies of the bundled coarse-grained sample (``trajml.data``: 2 040 beads, 300 frames 5 ps
apart, cubic box of 66.9 Å). ``--sizes`` gives the tiles per box edge: n = 1, 2, 3, 4 give 2 040,
16 320, 55 080 and 130 560 beads in a box n times as wide. The sample is first unwrapped (no-jump,
molecules whole in frame 0); copy ``c`` of the n³ copies is that trajectory shifted by ``c`` box
lengths and wrapped into the big box, so at every frame the beads are exactly the periodic images
of the sample (g(r), neighbour shells and each bead's displacements are the sample's) and every
molecule of the topology is one connected copy. Frames beyond the sample's 300 are a forward-backward
replay (0 … 299, 298 … 0, 1 …): every frame is a real configuration and every step a real step, but
an MSD at lags past ~300 frames folds back, and averages over origins that straddle a turning point
are biased low; D and σ of replayed runs measure cost only. The copies move in lock step, so the
collective (Einstein–Helfand) conductivity of n³ copies is n³ times the sample's (σ is not intensive
here); D is unchanged. Inputs (PSF + XTC) are written to ``--workdir`` and reused; never commit them.

Analyses and methods (``--analyses``, ``--peers``)
-------------------------------------------------
- ``rdf``: Li–O partial g(r), 15 Å, 150 bins. trajml ``RDF`` (serial engine); MDAnalysis
  ``InterRDF``; ``freud.density.RDF`` (one ``compute(..., reset=False)`` per frame).
- ``msd``: MSD of every bead (``--msd-select``) over all time origins, and D = slope / 6 of a
  least-squares line over ``--fit-window`` ps. trajml ``MSD`` + ``Diffusion``; MDAnalysis
  ``EinsteinMSD(fft=True)`` with the ``NoJump`` transformation; ``freud.msd.MSD`` (window mode) on
  positions read with MDAnalysis and no-jump unwrapped in NumPy; kinisi ``DiffusionAnalyzer`` on an
  ``MDAnalysisParser`` (no drift correction, as the others) with its Bayesian ``diffusion`` from the
  window's start (its own estimator; the least-squares D of its MSD is stored beside it).
- ``conductivity``: Einstein–Helfand σ of Li and TFSI, 300 K, same window. trajml ``Conductivity``;
  kinisi ``ConductivityAnalyzer`` (Bayesian). kinisi 2.1.0 sums the ions' displacements before it
  applies ``ionic_charge`` (``calculate_mstd``), which cannot express a salt of +1 and −1 ions, so it
  is given displacements already weighted by each ion's charge (``ionic_charge=None``): its mean
  squared charge displacement is then ``|Σ qΔr|² / N`` and its σ the Einstein–Helfand one.
- ``graphs``: the 12 nearest neighbours within 7 Å of every bead, every frame. trajml
  ``NeighborGraphs.iter_graphs``; a ``scipy.spatial.cKDTree(boxsize=L)`` build + query per frame
  (``workers=2``); ``freud.locality.AABBQuery`` k-NN per frame.

Measurements
------------
Every measurement runs in its own fresh interpreter (:func:`_common.run_python_child`) with a
``--timeout``; inside it the method opens the files, reads every frame and computes. Recorded: wall
time and CPU time (user + system, all threads) of that part, the child's whole-process CPU time
(``getrusage(RUSAGE_CHILDREN)`` in the driver: interpreter start and imports included) and its peak
resident memory (``VmHWM``). Medians over ``--repeats`` (methods interleaved within a repeat). An
untimed warm-up of every method at the smallest point compiles numba kernels and fills caches.

The grid is every ``--sizes`` × ``--frames`` pair with at most ``--max-atom-frames`` beads × frames,
run from the smallest work up. A method is skipped, and recorded as skipped with the reason, where
its time predicted from its largest smaller run (scaled by its cost model: beads × frames, or beads ×
frames² for kinisi, whose MSD loops over every lag) exceeds ``--timeout``, where its peak memory
predicted the same way exceeds ``--max-memory``, or where it already timed out at a smaller point.

Outputs: ``--out`` (JSON: configuration, machine load, every measurement, skips, the agreement
check, the ratios at the largest point) and ``--figure`` (log-log wall time, CPU time and peak memory
against beads × frames, one column per analysis; on a loaded machine CPU time is the steadier one).
The agreement check (``--check``, a point without replayed frames) compares each peer's numbers with
trajml's on the same input: g(r) max |Δg|, the MSD's max relative difference, D and σ relative
differences, neighbour-graph edge counts and distance sums.
Threads: numba, freud and cKDTree use every core (2 here); MDAnalysis and kinisi are serial apart
from NumPy's BLAS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
from _scaling_inputs import SAMPLE_FRAMES_USED, make_inputs, unwrapped_sample  # noqa: E402
from _scaling_methods import ANALYSES, METHODS, PEERS, TITLES  # noqa: E402
from _scaling_report import agreement, figure, ratios, report  # noqa: E402
from _scaling_runs import grid, measure, run_point  # noqa: E402


def _ints(text: str) -> list[int]:
    return sorted({int(x) for x in text.split(",") if x.strip()})


def _names(text: str, allowed: tuple[str, ...], flag: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [n for n in names if n not in allowed]
    if bad:
        raise SystemExit(f"{flag}: unknown {bad}; choose from {', '.join(allowed)}.")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1,2,4",
                   help="tiles per box edge, comma-separated (n³ copies of 2 040 beads; default 1,2,4: "
                        "2 040, 16 320, 130 560 beads)")
    p.add_argument("--frames", default="200,600,2000", help="frame counts, comma-separated (default 200,600,2000)")
    p.add_argument("--max-atom-frames", type=float, default=2.7e7,
                   help="largest beads × frames of a grid point (default 2.7e7: 130 560 beads × 200 frames)")
    p.add_argument("--repeats", type=int, default=3, help="runs per method and point; medians reported (default 3)")
    p.add_argument("--analyses", default=",".join(ANALYSES), help=f"comma-separated subset of {', '.join(ANALYSES)}")
    p.add_argument("--peers", default=",".join(PEERS),
                   help=f"comma-separated subset of {', '.join(PEERS)} (empty: trajml alone)")
    p.add_argument("--timeout", type=float, default=240.0,
                   help="seconds one measurement may take, whole process (default 240)")
    p.add_argument("--max-memory", type=float, default=6.0, help="largest predicted peak memory in GiB (default 6)")
    p.add_argument("--msd-select", default="all", help="MSD selection, MDAnalysis syntax (default: all beads)")
    p.add_argument("--fit-window", default="25,250", help="D and σ fit window in ps, START,STOP (default 25,250)")
    p.add_argument("--check", default="2x200",
                   help="TILESxFRAMES point of the agreement check (default 2x200: 16 320 beads, no replay)")
    p.add_argument("--workers", type=int, default=2, help="cKDTree workers (default 2)")
    p.add_argument("--workdir", default=os.path.join(os.getcwd(), "bench-out", "scaling"),
                   help="folder for the generated inputs (default bench-out/scaling)")
    p.add_argument("--out", default=os.path.join(BENCH_DIR, "results", "bench_scaling.json"),
                   help="JSON results (default benchmarks/results/bench_scaling.json)")
    p.add_argument("--figure", default=os.path.join(BENCH_DIR, "results", "bench_scaling.png"),
                   help="figure (default benchmarks/results/bench_scaling.png; empty: none)")
    args = p.parse_args(argv)
    args.sizes, args.frames = _ints(args.sizes), _ints(args.frames)
    args.analyses = _names(args.analyses, ANALYSES, "--analyses")
    args.peers = _names(args.peers, PEERS, "--peers")
    try:
        start, stop = (float(x) for x in args.fit_window.split(","))
        tiles, frames = (int(x) for x in args.check.lower().split("x"))
    except ValueError:
        p.error("--fit-window takes START,STOP in ps (e.g. 25,250) and --check TILESxFRAMES (e.g. 2x200)")
    if not 0 <= start < stop:
        p.error(f"--fit-window: need 0 <= START < STOP; got {args.fit_window}")
    if frames > SAMPLE_FRAMES_USED:
        p.error(f"--check: the agreement check needs unreplayed frames (at most {SAMPLE_FRAMES_USED}); got {frames}")
    args.fit_window, args.check = [start, stop], (tiles, frames)
    if args.repeats < 1 or not args.sizes or not args.frames:
        p.error("--repeats must be >= 1 and --sizes/--frames non-empty")
    return args



def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    import _common

    command = _common.command_line("bench_scaling.py", argv)
    env = _common.environment(("numpy", "scipy", "numba", "MDAnalysis", "freud", "kinisi", "trajml"))
    load_start = os.getloadavg()
    print(f"bench_scaling: {env['cpu_count']} CPUs, load {load_start[0]:.2f}; " +
          ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    cache: dict[str, Any] = {}

    def sample() -> dict[str, Any]:
        if not cache:
            cache.update(unwrapped_sample())
        return cache

    from trajml import data

    n0 = int(data.sample_parameters()["derived"]["n_beads"])
    points = grid(args, n0)
    print("points (beads x frames): " + ", ".join(f"{n ** 3 * n0}x{f}" for n, f in points))
    methods = {a: [m for m in METHODS[a] if m[1] == "trajml" or m[1] in args.peers] for a in args.analyses}
    inputs = {pt: make_inputs(args.workdir, *pt, sample) for pt in points}

    print("warm-up (untimed): every method once at the smallest point")
    small = inputs[points[0]]
    for a, ms in methods.items():
        for label, lib, _, _ in ms:
            base = {"analysis": a, "lib": lib, "topology": small["topology"], "trajectory": small["trajectory"],
                    "n_frames": small["n_frames"], "msd_select": args.msd_select, "fit_window": args.fit_window,
                    "workers": args.workers}
            w = measure(base, args.timeout)
            if w["status"] != "ok":
                print(f"  warm-up of {label} {w['status']}: {w.get('error', '')[-600:]}")

    results: dict[str, Any] = {
        "command": command, "environment": env,
        "config": {k: v for k, v in vars(args).items() if k not in ("workdir", "out", "figure")},
        "inputs": {f"{n}x{f}": {k: v for k, v in inputs[(n, f)].items() if k not in ("topology", "trajectory")}
                   for n, f in points},
        "analyses": {}}
    t_start = time.perf_counter()
    for a, ms in methods.items():
        history: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in ms}
        pts_out = []
        for pt in points:
            inp = inputs[pt]
            print(f"\n== {a}: {inp['n_atoms']} beads x {inp['n_frames']} frames"
                  f"{' (replayed)' if inp['replayed'] else ''} ==")
            rows = run_point(inp, ms, a, history, args)
            pts_out.append({"tiles": pt[0], "n_atoms": inp["n_atoms"], "n_frames": inp["n_frames"],
                            "replayed": inp["replayed"], "rows": rows})
        check = next(p for p in pts_out if (p["tiles"], p["n_frames"]) == args.check)
        results["analyses"][a] = {"title": TITLES[a], "points": pts_out,
                                  "agreement": {"n_atoms": check["n_atoms"], "n_frames": check["n_frames"],
                                                "vs_trajml": agreement(a, check["rows"])},
                                  "ratios_at_largest": ratios(a, pts_out)}
        # Large arrays stay only at the check point; elsewhere keep the scalars.
        for p in pts_out:
            if p is check:
                continue
            for row in p["rows"].values():
                for key in ("g", "msd", "charge_msd_per_ion"):
                    row.get("result", {}).pop(key, None)
        if args.out:  # what is done so far survives an interrupted run
            with open(args.out, "w") as fh:
                json.dump({**results, "partial": True}, fh, indent=1)
    results["total_s"] = time.perf_counter() - t_start
    results["machine_load"] = {"start": load_start, "end": os.getloadavg()}
    report(results)
    print(f"\ntotal {results['total_s']:.0f} s; load {load_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    print(f"command: {command}")
    _common.write_results(args.out, results)
    if args.figure:
        figure(results, args.figure, args.timeout)
        print(f"figure written to {args.figure}")
    return results



if __name__ == "__main__":
    main()
