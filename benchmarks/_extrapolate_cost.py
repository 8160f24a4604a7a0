"""The CG extrapolation benchmark's cost estimate: two full-size timing runs (the design's cheapest and
dearest corners) and the CPU hours of the full run's simulations interpolated from them.

Part of ``bench_extrapolate.py`` (run by hand, not in CI); its docstring describes the method.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from _extrapolate_runs import KNOBS, STEM, _done, _simulate_one, design, run_parameters


def _yukawa_load(params: Any) -> float:
    """Cube of the Yukawa cut-off in Å³: the neighbour pairs per bead, up to a constant, which set how
    the cost per bead-step varies across the design (timings vary much less with the salt ratio)."""
    from trajml.sim.parameters import SIGMA

    return max(3.0 * params.debye_length, 2.5 * SIGMA) ** 3


def calibrate(full: argparse.Namespace, args: argparse.Namespace) -> dict[str, Any]:
    """Time two full-size runs, ``--calibrate-steps`` each: the cheapest corner of the design (shortest
    Debye length, least salt) and the dearest (longest Debye length, most salt).

    Tiny smoke-test boxes clamp the Yukawa cut-off and misstate the cost per bead-step, so the
    estimate is calibrated at the full run's system size. Cached in ``WORKDIR/calibration``.
    """
    from trajml.sim import SimulationParameters

    rng = {name: (lo, hi) for name, lo, hi, _ in KNOBS}
    corners = {"cheap": (rng["debye_length"][0], rng["eo_li_ratio"][1]),
               "dear": (rng["debye_length"][1], rng["eo_li_ratio"][0])}
    folder = os.path.join(args.workdir, "calibration")
    os.makedirs(folder, exist_ok=True)
    jobs = {}
    for k, (debye, ratio) in corners.items():
        p = SimulationParameters(n_chains=full.n_chains, chain_length=full.chain_length,
                                 n_steps=args.calibrate_steps, n_equilibration=0, save_interval=args.calibrate_steps,
                                 seed=args.seed, threads=args.threads_per_sim, debye_length=float(debye),
                                 eo_li_ratio=float(ratio))
        jobs[f"{k}_{args.calibrate_steps}"] = p.to_dict()
    todo = {k: v for k, v in jobs.items() if not _done(os.path.join(folder, k))}
    if todo:
        print(f"calibration: {len(todo)} full-size run(s) of {args.calibrate_steps} steps ...")
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            for fut in [pool.submit(_simulate_one, p, os.path.join(folder, k)) for k, p in todo.items()]:
                res = fut.result()
                if not res["ok"]:
                    print(f"  calibration run failed: {res['error'][:200]}")
    points = []
    for k, p in jobs.items():
        meta_path = os.path.join(folder, k, f"{STEM}.json")
        if os.path.isfile(meta_path):
            with open(meta_path, encoding="utf-8") as fh:
                meta = json.load(fh)
            t = meta["timings_s"]
            points.append({"debye_length": p["debye_length"], "eo_li_ratio": p["eo_li_ratio"],
                           "load": _yukawa_load(SimulationParameters.from_dict(p)),
                           "n_beads": meta["derived"]["n_beads"],
                           "steps": p["n_steps"], "production_s": t["production_s"],
                           "setup_s": t["total_s"] - t["production_s"] - t["equilibration_s"],
                           "cpu_s_per_bead_step": t["production_s"] * args.threads_per_sim
                           / (meta["derived"]["n_beads"] * p["n_steps"])})
    return {"steps": args.calibrate_steps, "points": points}


def cost_estimate(sims: dict[str, Any], calib: dict[str, Any], args: argparse.Namespace,
                  full: argparse.Namespace) -> dict[str, Any]:
    """CPU hours of the full run's simulations.

    With calibration points, the cost per bead-step of each run is interpolated linearly in its
    :func:`_yukawa_load` between the two calibration corners; otherwise it is this run's mean (which
    errs low: small boxes clamp the Yukawa cut-off). Threads per run count as CPUs.
    """
    ok = [r for r in sims["runs"].values() if r["ok"]]
    steps = np.array([r["n_beads"] * (r["n_steps"] + r["n_equilibration"]) for r in ok], dtype=float)
    secs = np.array([r["timings_s"]["total_s"] for r in ok])
    here = float(secs.sum() / steps.sum()) * args.threads_per_sim if ok else math.nan
    pts = calib.get("points", [])
    if len(pts) == 2:
        x = [q["load"] for q in pts]
        y = [q["cpu_s_per_bead_step"] for q in pts]
        slope = (y[1] - y[0]) / (x[1] - x[0])
        rate = lambda prm: y[0] + slope * (_yukawa_load(prm) - x[0])  # noqa: E731
        setup = float(np.mean([q["setup_s"] for q in pts])) * args.threads_per_sim
        basis = "full-size calibration"
    else:
        rate, setup, basis = (lambda prm: here), 0.0, "this run's systems"  # noqa: E731
    chems = design(full)
    cpu_s, bead_steps, n_runs = 0.0, 0.0, 0
    for c in chems:
        for kind in ("short", "long") if c["long"] else ("short",):
            p = run_parameters(c, kind, full)
            n = p.n_beads * (p.n_steps + p.n_equilibration)
            bead_steps += n
            cpu_s += n * rate(p) + setup
            n_runs += 1
    return {"basis": basis, "cpu_s_per_bead_step_this_run": here, "calibration": calib,
            "full_bead_steps": bead_steps, "full_simulation_cpu_hours": cpu_s / 3600.0, "n_runs": n_runs,
            "mean_cpu_s_per_bead_step": cpu_s / bead_steps}
