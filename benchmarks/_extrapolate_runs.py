"""The CG extrapolation benchmark's runs: the Latin-hypercube design of chemistries, their short and long
simulations, the trajml pipelines over them and the table of short- and long-run labels.

Part of ``bench_extrapolate.py`` (run by hand, not in CI); its docstring describes the method.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

#: Latin-hypercube knobs: (name, low, high, log scale).
KNOBS = (
    ("eps_li_o", 4.0, 30.0, True),      # kJ/mol, 1.6-12 ε: from nearly free Li+ to Li+ caged by ether O
    ("k_angle", 0.0, 5.0, False),       # kJ/mol, 0-2 ε
    ("anion_sigma", 5.0, 8.0, False),   # Å; larger anions with much salt often blow up in the minimisation
    ("eo_li_ratio", 10.0, 30.0, True),  # ether O per Li+
    ("debye_length", 4.0, 11.0, False),  # Å; 3 λ_D stays within half the default box (no clamped cut-off)
)
#: Pipeline column of each task (stage id ``msd`` is Li+, ``msd_anion`` the anion).
TARGETS = {"log10_D_Li": "msd.D", "log10_D_anion": "msd_anion.D", "log10_sigma": "transport.sigma",
           "transference": "transport.transference"}
DEFAULT_TASKS = ("log10_D_Li", "log10_D_anion", "log10_sigma")
#: Short-run descriptor columns that --descriptors may name (offered to the models when finite in every
#: row). None by default: measured on the same short run, they carry its noise, and the low-fidelity
#: head then reproduces a short run's noise instead of averaging it out over the chemistries.
DESCRIPTORS = ("msd.loglog_slope", "msd_anion.loglog_slope")
STEM = "spe"


# ----------------------------------------------------------------------------------------------
# design
# ----------------------------------------------------------------------------------------------

def latin_hypercube(n: int, seed: int) -> list[dict[str, float]]:
    """``n`` points of a seeded Latin hypercube over :data:`KNOBS` (one stratum per point and knob)."""
    rng = np.random.default_rng(seed)
    out: list[dict[str, float]] = [{} for _ in range(n)]
    for name, lo, hi, log in KNOBS:
        u = (rng.permutation(n) + rng.uniform(size=n)) / n
        v = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))) if log else lo + u * (hi - lo)
        for k in range(n):
            out[k][name] = round(float(v[k]), 4)
    return out


#: Chemistries per Latin-hypercube block: a design of more chemistries adds blocks (each its own
#: seeded hypercube, with its own quarter of long runs), so it extends a finished design rather than
#: replacing it; the runs of earlier blocks are reused.
BLOCK = 48


def design(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Chemistries: id, knob values, and whether a long run is made."""
    chems: list[dict[str, Any]] = []
    for b, start in enumerate(range(0, args.n_chem, BLOCK)):
        n = min(BLOCK, args.n_chem - start)
        seed = args.seed + 7919 * b
        points = latin_hypercube(n, seed)
        n_long = max(2, int(math.floor(args.long_fraction * n)))
        long_ids = set(np.random.default_rng(seed + 1).choice(n, size=n_long, replace=False).tolist())
        chems += [{"id": f"c{start + k:03d}", "knobs": p, "long": k in long_ids, "seed": args.seed * 1000 + start + k}
                  for k, p in enumerate(points)]
    return chems


def run_parameters(chem: dict[str, Any], kind: str, args: argparse.Namespace) -> Any:
    """The :class:`SimulationParameters` of one run (``kind`` is 'short' or 'long')."""
    from trajml.sim import SimulationParameters

    scale = args.long_factor if kind == "long" else 1  # same frame count: long runs save less often
    return SimulationParameters(
        n_chains=args.n_chains, chain_length=args.chain_length, n_steps=args.short_steps * scale,
        n_equilibration=args.equilibration, save_interval=args.save_interval * scale,
        seed=chem["seed"] + (100_000 if kind == "long" else 0), threads=args.threads_per_sim, **chem["knobs"])


# ----------------------------------------------------------------------------------------------
# simulations
# ----------------------------------------------------------------------------------------------

def _done(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, f"{STEM}.json"))


#: Seeds tried per run (seed, seed + 1, ...): dense systems with large anions and much salt sometimes
#: blow up in the energy minimisation of a given start; another start usually works.
SEED_TRIES = 3


def _simulate_one(params_dict: dict[str, Any], folder: str) -> dict[str, Any]:
    """Worker: simulate into ``folder.tmp<pid>`` and rename it to ``folder``; return timings or the error.

    A run that fails is retried from other seeds (:data:`SEED_TRIES`); the seed used is in the run's JSON.
    """
    warnings.simplefilter("ignore")
    from trajml.sim import SimulationParameters, simulate

    tmp = f"{folder}.tmp{os.getpid()}"
    t0 = time.perf_counter()
    errors = []
    for k in range(SEED_TRIES):
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            params = SimulationParameters.from_dict({**params_dict, "seed": params_dict["seed"] + k})
            simulate(params, tmp, STEM, progress=False)
            os.replace(tmp, folder)
            return {"ok": True, "seconds": time.perf_counter() - t0, "tries": k + 1}
        except Exception as exc:  # a failed run is reported, not fatal; rerunning the script retries it
            errors.append(f"seed {params_dict['seed'] + k}: {type(exc).__name__}: {str(exc)[:200]}")
    shutil.rmtree(tmp, ignore_errors=True)
    return {"ok": False, "error": "; ".join(errors), "seconds": time.perf_counter() - t0}


def simulate_all(chems: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Make every missing run; return per-run status and timings (read from each run's JSON)."""
    sims = os.path.join(args.workdir, "sims")
    os.makedirs(sims, exist_ok=True)
    for name in os.listdir(sims):  # leftovers of an interrupted run
        if ".tmp" in name:
            shutil.rmtree(os.path.join(sims, name), ignore_errors=True)
    jobs = {}
    for c in chems:
        for kind in ("short", "long") if c["long"] else ("short",):
            jobs[f"{c['id']}_{kind}"] = run_parameters(c, kind, args).to_dict()
    todo = {k: v for k, v in jobs.items() if not _done(os.path.join(sims, k))}
    print(f"simulations: {len(jobs)} runs, {len(jobs) - len(todo)} already done, {len(todo)} to do "
          f"({args.workers} worker(s))")
    errors: dict[str, str] = {}
    t0 = time.perf_counter()
    if todo:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            futs = {pool.submit(_simulate_one, p, os.path.join(sims, k)): k for k, p in todo.items()}
            for n, fut in enumerate(as_completed(futs), 1):
                k, res = futs[fut], fut.result()
                if not res["ok"]:
                    errors[k] = res["error"]
                tries = f" ({res['tries']} seeds tried)" if res.get("tries", 1) > 1 else ""
                print(f"  [{n}/{len(todo)}] {k:<12s} {'ok' if res['ok'] else 'FAILED'} {res['seconds']:7.1f} s{tries}"
                      + ("" if res["ok"] else f"  {res['error'][:160]}"))
    wall = time.perf_counter() - t0
    runs = {}
    for k, p in jobs.items():
        meta_path = os.path.join(sims, k, f"{STEM}.json")
        if not os.path.isfile(meta_path):
            runs[k] = {"ok": False, "error": errors.get(k, "missing")}
            continue
        with open(meta_path, encoding="utf-8") as fh:
            meta = json.load(fh)
        runs[k] = {"ok": True, "seed": meta["parameters"]["seed"], "n_beads": meta["derived"]["n_beads"],
                   "n_frames": meta["derived"]["n_frames"],
                   "n_steps": p["n_steps"], "n_equilibration": p["n_equilibration"],
                   "production_time_ps": meta["derived"]["production_time_ps"], "timings_s": meta["timings_s"],
                   "path": os.path.join("sims", k)}
    return {"runs": runs, "parameters": jobs, "wall_s_this_call": wall}


# ----------------------------------------------------------------------------------------------
# pipelines
# ----------------------------------------------------------------------------------------------

def write_pipeline(chems: list[dict[str, Any]], kind: str, runs: dict[str, Any], args: argparse.Namespace) -> str:
    """Write ``WORKDIR/pipeline_<kind>.yaml`` over the finished runs of ``kind``; return its path."""
    import yaml

    from trajml.extrapolation.polymer_rings import cg_descriptors

    inputs = []
    for c in chems:
        key = f"{c['id']}_{kind}"
        if key not in runs or not runs[key]["ok"]:
            continue
        params = run_parameters(c, kind, args)
        meta = {**cg_descriptors(params), "beads": "C O"}  # every chain alternates C and O (checked below)
        inputs.append({"name": c["id"], "topology": f"sims/{key}/{STEM}.psf",
                       "trajectory": f"sims/{key}/{STEM}.{params.trajectory_format}", "metadata": meta})
    # Fixed fit window, the same fractions of every run: the automatic window needs a diffusive
    # regime, which short runs of this model do not reach; their apparent D and σ are the short-run labels.
    t_run = run_parameters(chems[0], kind, args)
    t_run = t_run.n_steps * t_run.timestep  # production time in ps
    window = {"fit_start": round(args.fit_window[0] * t_run, 6), "fit_stop": round(args.fit_window[1] * t_run, 6)}
    doc = {"version": 1, "name": f"extrapolate_{kind}", "inputs": inputs,
           "stages": [{"stage": "msd", "id": "msd", "select": "name Li", **window},
                      {"stage": "msd", "id": "msd_anion", "select": "name TFSI", **window},
                      {"stage": "transport", "cation": "name Li", "anion": "name TFSI", **window}],
           "outputs": f"pipeline_{kind}"}
    path = os.path.join(args.workdir, f"pipeline_{kind}.yaml")
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False, allow_unicode=True)
    os.replace(path + ".tmp", path)
    return path


def repeat_unit_of(chem: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """CG repeat unit of a chemistry's chains, from its topology (as the graph builder sees it)."""
    from trajml.extrapolation.polymer_rings import cg_repeat_unit
    from trajml.sim.builder import build_topology

    top = build_topology(run_parameters(chem, "short", args))
    return cg_repeat_unit(list(np.asarray(top.names)[np.asarray(top.resids) == 1]))


def run_pipelines(chems: list[dict[str, Any]], sims: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Run the short- and long-run pipelines; return summary paths (relative) and run counts."""
    from trajml.pipelines import run_pipeline

    out: dict[str, Any] = {}
    scheduler = "processes" if args.workers > 1 else "serial"
    for kind in ("short", "long"):
        yml = write_pipeline(chems, kind, sims["runs"], args)
        t0 = time.perf_counter()
        res = run_pipeline(yml, scheduler=scheduler, n_workers=args.workers, progress=False,
                           outputs=os.path.join(args.workdir, f"pipeline_{kind}"))
        wall = time.perf_counter() - t0
        print(f"pipeline {kind}: {res.text().splitlines()[0]}")
        for line in res.text().splitlines()[1:6]:
            print("   ", line)
        with open(yml, encoding="utf-8") as fh:
            text = fh.read()
        out[kind] = {"yaml": os.path.relpath(yml, args.workdir), "yaml_text": text, "wall_s": wall,
                     "counts": {s: res.count(s) for s in ("computed", "reused", "failed", "skipped")},
                     "failures": [{"unit": o.unit, "status": o.status, "reason": o.reason} for o in res.failures],
                     "summary": os.path.join(f"pipeline_{kind}", "report", "summary.csv")}
    return out


# ----------------------------------------------------------------------------------------------
# table
# ----------------------------------------------------------------------------------------------

def build_table(pipes: dict[str, Any], args: argparse.Namespace) -> Any:
    """Table of the short- and long-run labels; one chemistry (CV group) per parameter set."""
    import csv

    from trajml.extrapolation.polymer_rings import cg_descriptors
    from trajml.extrapolation.readers import table_from_pipeline
    from trajml.extrapolation.tables import ExtrapolationTable

    short = os.path.join(args.workdir, pipes["short"]["summary"])
    long = os.path.join(args.workdir, pipes["long"]["summary"])
    with open(short, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cols = list(rows[0]) if rows else []
    descriptors = [c for c in cols if any(c.startswith(d + " [") or c == d for d in args.descriptors)
                   and all(_finite(r.get(c, "")) for r in rows)]
    features = [k for k in cg_descriptors({k: 0 for k in _CG_KEYS})]
    table = table_from_pipeline(short, long, targets={t: TARGETS[t] for t in args.tasks}, features=features,
                                descriptors=descriptors, beads_column="beads", pair_by="system")
    # Every CG chemistry has the same repeat unit (C O), so the default groups (the graphs) would
    # merge all rows into one chemistry: group by parameter set instead.
    return ExtrapolationTable(table.ids, table.graphs, table.graph_kind, table.feature_names, table.features,
                              table.tasks, table.low, table.high, groups=table.ids)


_CG_KEYS = ("eo_li_ratio", "eps_li_o", "k_angle", "anion_sigma", "debye_length", "relative_permittivity",
            "temperature", "chain_length")


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
