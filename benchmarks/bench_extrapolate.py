"""Long-run transport from short runs: the multitask model against the raw short run and a linear correction.

Run by hand (not in CI)::

    python benchmarks/bench_extrapolate.py --quick --workdir bx              # smoke test, ~3 min
    python benchmarks/bench_extrapolate.py --workdir bx --workers 2          # the benchmark (resumable)
    python benchmarks/bench_extrapolate.py --from-table results/extrapolate_table.csv --workdir results \
        --out results/bench_extrapolate_nernst_einstein.json \
        --out-figure results/bench_extrapolate_nernst_einstein_parity.png   # only the cross-validation

The defaults are the recorded run (``results/bench_extrapolate.json``): 144 chemistries (three
Latin-hypercube blocks of 48) of 30 chains × 40 beads plus salt (~1 300 beads), short runs of 20 ps
for all, 200 ps runs for a quarter of them (12 per block). The
time scales are chosen so the short runs sit in the sub-diffusive regime of Li⁺ in a strongly
binding matrix (apparent D inflated up to ~3×, more the deeper the Li–O well), while the long runs
are close to the diffusive regime (log-log MSD slope of Li⁺ near 1 over their fit window).

Steps, each resumable (rerun the same command after a crash; finished parts are reused):

1. Design a family of coarse-grained SPE chemistries: seeded Latin hypercubes (blocks of
   :data:`BLOCK`) over the Li–O well depth ``eps_li_o`` (kJ/mol, log scale), the chain stiffness
   ``k_angle`` (kJ/mol), the anion diameter ``anion_sigma`` (Å), the salt ratio ``eo_li_ratio``
   (ether O per Li⁺, log scale) and the Debye screening length ``debye_length`` (Å). Every
   chemistry gets a short run; a seeded random quarter (``--long-fraction``) also gets a long run
   ``--long-factor`` times longer (independent seed).
2. Simulate with :func:`trajml.sim.simulate` into ``WORKDIR/sims/<id>_{short,long}/`` (each run is
   written into a temporary folder and renamed when complete), ``--workers`` runs in parallel.
3. Run a trajml pipeline (stages ``msd`` of Li⁺ and of the anion, and ``transport``) over the
   short runs and over the long runs (``WORKDIR/pipeline_{short,long}.yaml``; the pipeline store
   reuses finished units).
4. Build the table with :func:`trajml.extrapolation.readers.table_from_pipeline` (CG repeat
   unit from the topology, CG parameters as global features via
   :func:`trajml.extrapolation.polymer_rings.cg_descriptors`, one chemistry per parameter set) and write it
   to ``--out-table`` (CSV) with ``<out-table>.provenance.json`` next to it.
5. Cross-validate by chemistry (:func:`trajml.extrapolation.baselines.cross_validate`): the
   multitask graph network, the raw short-run value, the linear correction and a random forest;
   MAE against the long-run value (log10 for D and σ), pooled over ``--cv-repeats`` repeats of
   ``--folds``-fold cross-validation with different folds: mean ± std over all folds, and the std of
   the repeat means.

σ labels (``--sigma-label``, the same kind for both fidelities). The default, ``nernst-einstein``, is
``α σ_NE`` with ``σ_NE = e²/(V k_B T) (N_Li q_Li² D_Li + N_anion q_anion² D_anion)`` in S/m, from each
run's own ``log10_D_Li`` and ``log10_D_anion`` labels (Å²/ps), the ion counts, charges (e, ±1) and box
volume (Å³, NVT) that :func:`trajml.sim.builder.build_topology` builds from the run's parameters, and
its temperature (K); constants of ``trajml.units`` through
:func:`trajml.transport.nernst_einstein_conductivity`. ``α`` is one ionicity for the family, fixed
before any test fold was scored: ``log10 α`` is the median over the long runs with a finite
Einstein–Helfand σ of ``log10(σ_EH/σ_NE)``. A constant shift of a task's labels moves no score (see
``_extrapolate_labels.py``), so α is fitted over all long runs. Why: the Einstein–Helfand σ of one
200-ps run of ~50 ion pairs is one collective displacement per box, about as noisy as the spread of
σ over the family, while each D averages over every ion; the price is that the chemistry-dependent
part of the ion–ion correlations is no longer in the label. ``einstein-helfand`` is the pipeline's
collective σ (``transport.sigma``), as in ``results/bench_extrapolate.json``. The relabelled table is
written to ``--out-sigma-table`` with a provenance (formula, units, sources, α, every run's N, q, V,
T, σ_EH and σ_NE); ``--from-table`` reruns only the cross-validation from a recorded table and the
run parameters in its provenance.

Only rows with a long run are scored; rows with only a short run still train the model's
low-fidelity head (and are held out with their chemistry). Paths written to the outputs are
relative to the work folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402
from _common import format_table  # noqa: E402
from _extrapolate_cost import calibrate, cost_estimate  # noqa: E402
from _extrapolate_cv import cross_validate_all, paired_differences, plot_parity, pooled_mae  # noqa: E402
from _extrapolate_labels import DEFAULT_SIGMA_LABEL, SIGMA_LABELS  # noqa: E402
from _extrapolate_runs import (  # noqa: E402
    DEFAULT_TASKS,
    DESCRIPTORS,
    KNOBS,
    TARGETS,
    build_table,
    design,
    repeat_unit_of,
    run_pipelines,
    simulate_all,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from trajml.cli.extrapolate import correction_prior_arg

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-chem", type=int, default=None, help="chemistries (default 144: three blocks of 48; --quick 8)")
    p.add_argument("--long-fraction", type=float, default=None,
                   help="share of chemistries with a long run (default 0.25; --quick 0.5, the 2-fold CV needs 4)")
    p.add_argument("--short-steps", type=int, default=None, help="production steps of a short run "
                   "(default 2000 = 20 ps; --quick 1000)")
    p.add_argument("--long-factor", type=int, default=10, help="long run = this many short runs (>= 10)")
    p.add_argument("--equilibration", type=int, default=None, help="equilibration steps (default 10000; --quick 1000)")
    p.add_argument("--save-interval", type=int, default=None,
                   help="steps between frames of a short run; long runs save --long-factor times less often, so both "
                   "have the same frame count (default 10)")
    p.add_argument("--n-chains", type=int, default=None, help="chains per box (default 30; --quick 8)")
    p.add_argument("--chain-length", type=int, default=None, help="beads per chain (default 40; --quick 20)")
    p.add_argument("--fit-window", type=float, nargs=2, default=(0.1, 0.4), metavar=("START", "STOP"),
                   help="MSD and conductivity fit window as fractions of each run's production time (default 0.1 0.4)")
    p.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS), choices=list(TARGETS))
    p.add_argument("--folds", type=int, default=None, help="cross-validation folds (default 5; --quick 2)")
    p.add_argument("--cv-seed", type=int, default=0, help="first fold seed tried")
    p.add_argument("--cv-repeats", type=int, default=None,
                   help="cross-validation repeats, each with other folds (default 5; --quick 1)")
    p.add_argument("--epochs", type=int, default=None, help="model epochs (default 300; --quick 20)")
    p.add_argument("--n-models", type=int, default=None, help="ensemble members (default 5; --quick 1)")
    p.add_argument("--hidden", type=int, default=None, help="model width (default 64; --quick 16)")
    p.add_argument("--patience", type=int, default=50, help="early-stopping patience (epochs)")
    p.add_argument("--descriptors", nargs="*", default=[], choices=list(DESCRIPTORS),
                   help="short-run descriptor columns fed to the models beside the CG parameters (default none)")
    p.add_argument("--correction-prior", type=correction_prior_arg, default="auto",
                   help="the model's correction prior in pseudo-rows, or 'auto' (default: inner cross-validation)")
    p.add_argument("--trees", type=int, default=None, help="random-forest trees (default 200; --quick 50)")
    p.add_argument("--workers", type=int, default=2, help="parallel simulations and pipeline workers (default 2)")
    p.add_argument("--threads-per-sim", type=int, default=1, help="OpenMM CPU threads of each simulation")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch threads of the cross-validation (default 1: the networks are tiny, and on a busy "
                   "2-core machine two threads made a fit ~20x slower)")
    p.add_argument("--calibrate-steps", type=int, default=None,
                   help="steps of two full-size timing runs behind the cost estimate (default 0 = none; --quick 1000)")
    p.add_argument("--seed", type=int, default=2024, help="seed of the design, the simulations and the models")
    p.add_argument("--workdir", default=os.path.join(os.getcwd(), "bench-out", "extrapolate"),
                   help="folder of the simulations, pipelines and outputs (reused on rerun)")
    p.add_argument("--quick", action="store_true", help="tiny systems and runs, for a smoke test")
    p.add_argument("--out", default=None,
                   help="write the results as JSON here (default WORKDIR/bench_extrapolate.json)")
    p.add_argument("--out-figure", default=None,
                   help="parity plot PNG (default WORKDIR/bench_extrapolate_parity.png)")
    p.add_argument("--out-table", default=None, help="training table CSV (default WORKDIR/extrapolate_table.csv)")
    p.add_argument("--sigma-label", choices=SIGMA_LABELS, default=DEFAULT_SIGMA_LABEL,
                   help="σ label of both fidelities: 'nernst-einstein' (default: α σ_NE from the run's D's, see the "
                   "module docstring) or 'einstein-helfand' (the pipeline's collective σ, as recorded before)")
    p.add_argument("--from-table", default=None, metavar="CSV",
                   help="cross-validate this recorded table (with its .provenance.json next to it) instead of "
                   "simulating: no simulations, no pipelines")
    p.add_argument("--out-sigma-table", default=None,
                   help="the table with the Nernst-Einstein σ labels, as scored (default "
                   "WORKDIR/extrapolate_table_nernst_einstein.csv)")
    args = p.parse_args(argv)
    q = args.quick
    for name, full, quick in (("n_chem", 144, 8), ("long_fraction", 0.25, 0.5), ("short_steps", 2000, 1000),
                              ("equilibration", 10_000, 1000), ("save_interval", 10, 10), ("n_chains", 30, 8),
                              ("chain_length", 40, 20), ("folds", 5, 2), ("cv_repeats", 5, 1), ("epochs", 300, 20),
                              ("n_models", 5, 1), ("hidden", 64, 16), ("trees", 200, 50), ("calibrate_steps", 0, 1000)):
        if getattr(args, name) is None:
            setattr(args, name, quick if q else full)
    if args.torch_threads < 1:
        p.error("--torch-threads must be >= 1")
    if args.long_factor < 10:
        p.error("--long-factor must be >= 10 (short runs are at most 1/10 of the long length)")
    if not 0.0 <= args.fit_window[0] < args.fit_window[1] <= 0.5:
        p.error("--fit-window needs 0 <= START < STOP <= 0.5 (the conductivity's block errors need two blocks)")
    if args.short_steps % args.save_interval:
        p.error("--short-steps must be a multiple of --save-interval")
    args.workdir = os.path.abspath(args.workdir)
    args.out = args.out or os.path.join(args.workdir, "bench_extrapolate.json")
    args.out_table = args.out_table or os.path.join(args.workdir, "extrapolate_table.csv")
    args.out_figure = args.out_figure or os.path.join(args.workdir, "bench_extrapolate_parity.png")
    args.out_sigma_table = args.out_sigma_table or os.path.join(args.workdir, "extrapolate_table_nernst_einstein.csv")
    if args.from_table:
        args.from_table = os.path.abspath(args.from_table)
    sources = {os.path.abspath(x) for x in (args.from_table or args.out_table,)}
    if args.sigma_label == "nernst-einstein" and os.path.abspath(args.out_sigma_table) in sources:
        p.error("--out-sigma-table must differ from the Einstein-Helfand table it is derived from "
                "(--from-table / --out-table)")
    return args


def _rel(path: str, workdir: str, mark: str = "") -> str:
    """``path`` relative to the work folder (prefixed with ``mark``) when inside it, else its file name.

    Keeps machine paths out of the outputs; ``mark="W"`` writes the work folder itself as ``W``.
    """
    rel = os.path.relpath(os.path.abspath(path), workdir)
    if rel.startswith(".."):
        return os.path.basename(path)
    if not mark:
        return rel
    return mark if rel == "." else os.path.join(mark, rel)


def simulate_and_tabulate(args: argparse.Namespace, command: str, env: dict[str, Any]) -> dict[str, Any]:
    """Steps 1-4: design, simulations, pipelines, and the Einstein-Helfand table with its provenance.

    Returns the table, each row's run parameters (``{"short": ..., "long": ...}``), the runs, the
    pipelines, the failed runs and the timings.
    """
    chems = design(args)
    n_long = sum(c["long"] for c in chems)
    print(f"bench_extrapolate: {len(chems)} chemistries ({n_long} with a long run), short {args.short_steps} steps, "
          f"long {args.short_steps * args.long_factor} steps, {args.n_chains} chains x {args.chain_length} beads, "
          f"{env['cpu_count']} CPUs, " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    units = {tuple(repeat_unit_of(c, args)) for c in chems}
    if units != {("C", "O")}:
        raise RuntimeError(f"Unexpected CG repeat units {sorted(units)}; the pipeline metadata assumes 'C O'.")

    t0 = time.perf_counter()
    sims = simulate_all(chems, args)
    t_sim = time.perf_counter() - t0
    failed = {k: r["error"] for k, r in sims["runs"].items() if not r["ok"]}
    if failed:
        print(f"{len(failed)} run(s) failed and are left out (rerun to retry): {sorted(failed)}")

    t0 = time.perf_counter()
    pipes = run_pipelines(chems, sims, args)
    t_pipe = time.perf_counter() - t0

    table = build_table(pipes, args)
    from trajml.extrapolation.readers import write_table_csv

    os.makedirs(os.path.dirname(os.path.abspath(args.out_table)), exist_ok=True)
    write_table_csv(table, args.out_table)
    n_both = _rows_with_both(table)
    print(f"table: {len(table)} rows, tasks {list(table.tasks)}, features {list(table.feature_names)}; "
          f"rows with short and long labels: {n_both} -> {_rel(args.out_table, args.workdir)}")
    provenance = {
        "description": "Short- and long-run transport labels of coarse-grained PEO/LiTFSI chemistries made with "
                       "'trajml simulate'; labels from trajml pipelines (stages msd, msd_anion, transport).",
        "command": command, "command_note": "W stands for the work folder", "environment": env,
        "design": {"knobs": [{"name": n, "low": lo, "high": hi, "log_scale": lg} for n, lo, hi, lg in KNOBS],
                   "sampling": "Latin hypercube", "seed": args.seed, "n_chemistries": len(chems),
                   "n_long": n_long, "long_factor": args.long_factor},
        "run_lengths": {"short_steps": args.short_steps, "long_steps": args.short_steps * args.long_factor,
                        "equilibration_steps": args.equilibration, "save_interval": args.save_interval},
        "chemistries": [{**c, "short_parameters": sims["parameters"].get(f"{c['id']}_short"),
                         "long_parameters": sims["parameters"].get(f"{c['id']}_long")} for c in chems],
        "runs": {k: {kk: vv for kk, vv in r.items() if kk != "timings_s"} for k, r in sims["runs"].items()},
        "pipelines": pipes, "targets": {t: TARGETS[t] for t in table.tasks},
        "table": {"rows": len(table), "tasks": list(table.tasks), "features": list(table.feature_names),
                  "groups": "one per parameter set (id)", "rows_with_both_labels": n_both},
    }
    with open(args.out_table + ".provenance.json", "w", encoding="utf-8") as fh:
        json.dump(provenance, fh, indent=1, allow_nan=True)
    return {"table": table, "parameters": run_parameters_of(provenance), "sims": sims, "pipes": pipes,
            "failed": failed, "timings": {"simulations_s": t_sim, "pipelines_s": t_pipe}}


def run_parameters_of(provenance: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each chemistry's run parameters, ``{id: {"short": dict, "long": dict or None}}``, from a table's provenance."""
    return {c["id"]: {"short": c.get("short_parameters"), "long": c.get("long_parameters")}
            for c in provenance["chemistries"]}


def load_table(args: argparse.Namespace) -> dict[str, Any]:
    """``--from-table``: the recorded Einstein-Helfand table and its provenance (no simulations, no pipelines)."""
    from trajml.extrapolation.readers import read_table_csv

    prov_path = args.from_table + ".provenance.json"
    if not os.path.isfile(args.from_table):
        raise SystemExit(f"bench_extrapolate: --from-table {args.from_table!r}: no such file.")
    if not os.path.isfile(prov_path):
        raise SystemExit(f"bench_extrapolate: --from-table needs the provenance next to the table, "
                         f"{os.path.basename(prov_path)!r} (it holds every run's parameters); not found.")
    with open(prov_path, encoding="utf-8") as fh:
        provenance = json.load(fh)
    table = read_table_csv(args.from_table, require_labels=True)
    missing = [t for t in args.tasks if t not in table.tasks]
    if missing:
        raise SystemExit(f"bench_extrapolate: --from-table {os.path.basename(args.from_table)!r} has no labels of "
                         f"the --tasks {missing}; it has {list(table.tasks)}.")
    if set(args.tasks) != set(table.tasks):  # keep the table's task order (the recorded runs' order)
        from trajml.extrapolation.tables import ExtrapolationTable

        cols = [j for j, t in enumerate(table.tasks) if t in args.tasks]
        table = ExtrapolationTable(table.ids, table.graphs, table.graph_kind, table.feature_names, table.features,
                                   tuple(table.tasks[j] for j in cols), table.low[:, cols], table.high[:, cols],
                                   groups=table.groups)
    from trajml.sim import SimulationParameters

    parameters = run_parameters_of(provenance)
    for key, run in provenance.get("runs", {}).items():  # the simulator still builds the recorded systems
        cid, kind = key.rsplit("_", 1)
        p = parameters.get(cid, {}).get(kind)
        if run.get("ok") and p is not None and SimulationParameters.from_dict(p).n_beads != run["n_beads"]:
            raise SystemExit(f"bench_extrapolate: run {key} of {os.path.basename(prov_path)!r} has {run['n_beads']} "
                             f"beads; trajml.sim builds {SimulationParameters.from_dict(p).n_beads} from its "
                             "parameters, so its N and V cannot be derived. Rerun the simulations.")
    print(f"bench_extrapolate: table {os.path.basename(args.from_table)} ({len(table)} rows, tasks "
          f"{list(table.tasks)}; rows with short and long labels {_rows_with_both(table)}), no simulations")
    return {"table": table, "parameters": parameters, "source_command": provenance.get("command"),
            "failed": {}, "timings": {}}


def _rows_with_both(table: Any) -> dict[str, int]:
    return {t: int((np.isfinite(table.low[:, j]) & np.isfinite(table.high[:, j])).sum())
            for j, t in enumerate(table.tasks)}


def apply_sigma_label(table: Any, parameters: dict[str, Any], args: argparse.Namespace,
                      command: str) -> tuple[Any, dict[str, Any]]:
    """The table the cross-validation scores: σ relabelled with ``--sigma-label`` (written with its provenance)."""
    from _extrapolate_labels import relabel_sigma

    if args.sigma_label == "einstein-helfand" or "log10_sigma" not in table.tasks:
        return table, {"sigma_label": args.sigma_label if "log10_sigma" in table.tasks else None}
    from trajml.extrapolation.readers import write_table_csv

    new, prov = relabel_sigma(table, parameters)
    comment = (f"log10_sigma labels (both fidelities) are Nernst-Einstein sigma times alpha = {prov['alpha']:.4f}, "
               "in log10 S/m; see the provenance")
    write_table_csv(new, args.out_sigma_table, comment=comment)
    with open(args.out_sigma_table + ".provenance.json", "w", encoding="utf-8") as fh:
        json.dump({"command": command, "command_note": "W stands for the work folder",
                   "source_table": os.path.basename(args.from_table or args.out_table), **prov}, fh, indent=1)
    spread = prov["log10_ionicity_spread"]
    print(f"sigma label: Nernst-Einstein x alpha = {prov['alpha']:.3f} (log10 {prov['log10_alpha']:+.3f}, median "
          f"over {prov['alpha_fit_runs']} long runs); per-run log10(sigma_EH/sigma_NE) std {spread['long']['std']:.3f} "
          f"(long runs), {spread['short']['std']:.3f} (short runs) -> {_rel(args.out_sigma_table, args.workdir)}")
    return new, {k: v for k, v in prov.items() if k != "rows"}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    warnings.filterwarnings("ignore")
    args = parse_args(argv)
    command = "python benchmarks/bench_extrapolate.py " + " ".join(
        a if not os.path.isabs(a) else _rel(a, args.workdir, "W") for a in (sys.argv[1:] if argv is None else argv))
    env = _common.environment(("numpy", "scipy", "openmm", "torch", "torch_geometric", "sklearn", "MDAnalysis",
                               "trajml"))
    os.makedirs(args.workdir, exist_ok=True)
    t_all = time.perf_counter()
    load_start = _load_average()
    made = load_table(args) if args.from_table else simulate_and_tabulate(args, command, env)
    table, label = apply_sigma_label(made["table"], made["parameters"], args, command)

    t0 = time.perf_counter()
    repeats = cross_validate_all(table, args)
    t_cv = time.perf_counter() - t0
    cv0 = repeats[0][1]
    pooled = pooled_mae(repeats)
    rows = [[m, *(f"{pooled[m][t]['mean']:.3f} ± {pooled[m][t]['std_over_folds']:.3f} "
                  f"({pooled[m][t]['std_over_repeats']:.3f})" for t in cv0.tasks)] for m in cv0.methods]
    print(f"\ncross-validation by chemistry: {args.cv_repeats} x {args.folds} folds (fold seeds "
          f"{[s for s, _ in repeats]}); sigma label {label['sigma_label']}; MAE against the long run (log10 units "
          "for D and σ): mean ± std over all folds (std of the repeat means)")
    print(format_table(["method", *cv0.tasks], rows))
    wins = {t: bool(pooled["model"][t]["mean"] < min(pooled["short_run"][t]["mean"], pooled["linear"][t]["mean"]))
            for t in cv0.tasks}
    print("model beats short run and linear correction: " + ", ".join(f"{t} {'yes' if w else 'no'}"
                                                                       for t, w in wins.items()))
    paired = paired_differences(repeats)
    plot_parity(table, repeats, args.out_figure, label["sigma_label"])
    for base, per in paired.items():
        print(f"model - {base} MAE on the same folds: " + "; ".join(
            f"{t} {v['mean']:+.3f} ± {v['standard_error']:.3f} (model better in {100 * v['model_better_share']:.0f} %)"
            for t, v in per.items()))

    timings = {**made["timings"], "cross_validation_s": t_cv, "total_s": time.perf_counter() - t_all}
    est: dict[str, Any] = {}
    if not args.from_table:
        full = parse_args(["--workdir", args.workdir])
        calib = calibrate(full, args) if args.calibrate_steps else {}
        est = cost_estimate(made["sims"], calib, args, full)
        print(f"\ntimings: simulations {timings['simulations_s']:.1f} s, pipelines {timings['pipelines_s']:.1f} s, "
              f"cross-validation {t_cv:.1f} s, total {timings['total_s']:.1f} s")
        for q in calib.get("points", []):
            print(f"calibration: {q['n_beads']} beads, debye_length {q['debye_length']:g} Å, "
                  f"eo_li_ratio {q['eo_li_ratio']:g}: "
                  f"{q['cpu_s_per_bead_step'] * 1e6:.2f} CPU µs per bead-step, setup {q['setup_s']:.1f} s")
        if est:
            print(f"full-run estimate (defaults: {full.n_chem} chemistries, {est['n_runs']} runs, "
                  f"{full.n_chains}x{full.chain_length}-bead chains, short {full.short_steps} / long "
                  f"{full.short_steps * full.long_factor} steps), from {est['basis']}: "
                  f"{est['mean_cpu_s_per_bead_step'] * 1e6:.2f} CPU µs per bead-step on average "
                  f"(tiny systems of this run: {est['cpu_s_per_bead_step_this_run'] * 1e6:.2f}) -> "
                  f"~{est['full_simulation_cpu_hours']:.0f} CPU hours of simulation "
                  f"(~{est['full_simulation_cpu_hours'] / max(1, args.workers):.0f} h wall on {args.workers} "
                  "workers), plus the pipelines and the cross-validation")
    else:
        print(f"\ntimings: cross-validation {t_cv:.1f} s, total {timings['total_s']:.1f} s")
    scored_table = args.out_sigma_table if label.get("sigma_label") == "nernst-einstein" else (
        args.from_table or args.out_table)
    results = {"command": command, "environment": env, "load_average": {"start": load_start, "end": _load_average()},
               "config": {k: v for k, v in vars(args).items()
                          if k not in ("workdir", "out", "out_table", "out_figure", "from_table", "out_sigma_table")},
               "figure": _rel(args.out_figure, args.workdir),
               "table": _rel(scored_table, args.workdir),
               "provenance": _rel(scored_table + ".provenance.json", args.workdir),
               "source_table": _rel(args.from_table, args.workdir) if args.from_table else None,
               "sigma_label": label,
               "cv": {"tasks": list(cv0.tasks), "methods": list(cv0.methods), "n_splits": args.folds,
                      "ids": list(table.ids), "rows_with_both_labels": _rows_with_both(table), "mae": pooled,
                      "model_beats_both_baselines": wins, "paired_differences": paired,
                      "repeats": [{"fold_seed": seed, "folds": cv.folds.tolist(), "mae_per_fold": cv.mae.tolist(),
                                   "predictions": cv.predictions.tolist()} for seed, cv in repeats]},
               "failed_runs": made["failed"],
               "pipelines": {k: {kk: vv for kk, vv in v.items() if kk != "yaml_text"}
                             for k, v in made.get("pipes", {}).items()},
               "timings_s": timings, "full_run_estimate": est}
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=1, allow_nan=True)
    print(f"\ncommand: {command}")
    print(f"results written to {args.out}; scored table and provenance: {scored_table}(.provenance.json)")
    return results


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


if __name__ == "__main__":
    main()
