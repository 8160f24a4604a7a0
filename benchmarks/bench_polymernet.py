"""Long-run transport from 5-ns runs on the published polymernet data (Xie et al., Nat. Commun. 2022).

Run by hand (not in CI). The data are not part of trajml (they carry no licence): clone the
authors' repository (``git clone https://github.com/txie-93/polymernet``) and give its ``data``
folder::

    python benchmarks/bench_polymernet.py --data polymernet/data                      # the full grid
    python benchmarks/bench_polymernet.py --data polymernet/data --properties conductivity li_diff \\
        --seeds 0 1 2 --layouts 50ns                                                  # a part of it

Protocol, as in the authors' ``multi_task_train.py`` (split 0): for each property folder
(conductivity, li_diff, tfsi_diff, poly_diff) and each long-run layout (``50ns``: random folds;
``50ns_extrapolate``: the test set is the 10 highest 50-ns values), ``cv_0`` validates (early
stopping and the weight of the measured short run), the other ``cv_*`` train,
``test.csv`` scores; the 5-ns folder is split the same way
(:func:`trajml.extrapolation.splits.read_polymernet`). One property at a time (the published splits
differ per property; joint training would leak). Scored on the test polymers with a 50-ns label,
MAE of log10 (σ in S/m, D in Å²/ps; the same as the published log10 MAE):

- ``raw``: the measured 5-ns value itself;
- ``linear``: least-squares line 50 ns ≈ a · 5 ns + b on the training polymers; ``linear_all_folds``:
  on the training and validation polymers (every ``cv_*``: the published linear correction);
- ``forest``: :class:`~trajml.extrapolation.baselines.RandomForestBaseline` (Morgan fingerprint ‖
  5-ns value), per seed;
- ``model_input``: :class:`~trajml.extrapolation.deep.MultitaskExtrapolator` fed the measured 5-ns
  value, weighed by its noise (the fitted weight); ``model_no_input``: the same networks without
  the measured value (the low-fidelity head's prediction is fed); ``model_input_full``: the same
  networks trusting the measured value fully (weight 1: the behaviour before the noise-aware step);
  ``model_input_replicate`` (conductivity): the weight from the noise of one 5-ns run, estimated from
  the authors' second 5-ns run of 86 polymers (``conductivity/cond_5ns_new_config.csv``), std of the
  paired difference / √2;
- z-rms of the predicted std on the test polymers, with and without the measured value: calibrated
  (``--calibration``, default ``cross-fit-refit``: cross-fitted members, each without the 50-ns labels
  of one fold of the training polymers, calibrate the std on their out-of-member residuals; the
  members are then refit on every label) and the raw ensemble spread (``z_rms_*_raw``); the
  calibration (scale, floor, rows) per input;
- with ``cross-fit-refit``, the same scores of the cross-fitted members themselves (``*_crossfit``:
  the accuracy ``calibration='cross-fit'`` would give, at half the training), and the training time
  of each half (``calibration.seconds``).

The authors' GNN numbers (their paper, split 0) are printed beside: σ 0.106, D_Li 0.089,
D_TFSI 0.109, D_polymer 0.070 (``50ns``); σ 0.143, linear 0.275 (``50ns_extrapolate``).

The results (``--output``, JSON) are written after each fit, so a long run can be stopped and resumed
(finished fits are kept). Paths are not written.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402
from _common import format_table  # noqa: E402

from trajml.extrapolation.multitask_parameters import MULTITASK_PARAMETERS, SHORT_RUN_WEIGHTS  # noqa: E402

PROPERTIES = ("conductivity", "li_diff", "tfsi_diff", "poly_diff")
LAYOUTS = ("50ns", "50ns_extrapolate")
#: The authors' published MAE (log10) on split 0: their multitask GNN, and the linear correction where given.
PUBLISHED = {"50ns": {"conductivity": {"gnn": 0.106}, "li_diff": {"gnn": 0.089}, "tfsi_diff": {"gnn": 0.109},
                      "poly_diff": {"gnn": 0.070}},
             "50ns_extrapolate": {"conductivity": {"gnn": 0.143, "linear": 0.275}}}
#: The second 5-ns run of some polymers (conductivity only): replicate noise of one short run.
REPLICATES = {"conductivity": "cond_5ns_new_config.csv"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="the 'data' folder of the authors' repository")
    ap.add_argument("--report", nargs="+", default=None, metavar="JSON",
                    help="print the table of finished results files and exit (no --data needed)")
    ap.add_argument("--properties", nargs="+", default=list(PROPERTIES), choices=PROPERTIES)
    ap.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=LAYOUTS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--split", type=int, default=0, help="validation fold (default 0, as published)")
    ap.add_argument("--n-models", type=int, default=3, help="ensemble members per fit (default 3)")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--patience", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--correction-prior", type=float, default=10.0,
                    help="fixed correction prior (pseudo-rows; 'auto' costs 15 extra fits per property)")
    ap.add_argument("--calibration", default="cross-fit-refit",
                    choices=("cross-fit", "cross-fit-refit", "validation", "none"),
                    help="std calibration of the model (default cross-fit-refit: the cross-fitted members are "
                         "scored too, so one run gives both designs)")
    ap.add_argument("--short-run-weight", default=MULTITASK_PARAMETERS["short_run_weight"].default,
                    choices=SHORT_RUN_WEIGHTS, help="weight of the measured 5-ns value from the validation "
                    "polymers (the model's short_run_weight and its default)")
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                     "bench_polymernet.json"))
    return ap.parse_args(argv)


def mae(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - truth)))


def replicate_noise(data: str, prop: str) -> dict[str, Any] | None:
    """Std (log10) of one 5-ns run from the authors' second run of some polymers: std(a - b) / √2."""
    from trajml.extrapolation.readers import read_property_csv
    from trajml.extrapolation.splits import POLYMERNET_PROPERTIES

    if prop not in REPLICATES:
        return None
    task, unit = POLYMERNET_PROPERTIES[prop]
    second = os.path.join(data, prop, REPLICATES[prop])
    if not os.path.isfile(second):
        return None
    ids_b, _, vb = read_property_csv(second, task=task, units=unit)
    first: dict[str, float] = {}
    folder = os.path.join(data, prop, "5ns")
    for name in sorted(os.listdir(folder)):
        if name.startswith("cv_") or name == "test.csv":
            ids, _, v = read_property_csv(os.path.join(folder, name), task=task, units=unit)
            first.update(zip(ids, v))
    pairs = np.array([(first[i], b) for i, b in zip(ids_b, vb) if i in first and np.isfinite(b)])
    if len(pairs) < 3:
        return None
    diff = pairs[:, 0] - pairs[:, 1]
    return {"std_log10": float(np.std(diff, ddof=1) / math.sqrt(2.0)), "n_pairs": int(len(pairs)),
            "mean_difference_log10": float(diff.mean())}


def baselines(splits: Any, test: Any, seeds: list[int], trees: int) -> dict[str, Any]:
    from trajml.extrapolation.baselines import LinearCorrection, RandomForestBaseline
    from trajml.extrapolation.tables import ExtrapolationTable

    y = test.high[:, 0]
    out: dict[str, Any] = {"raw": mae(test.low[:, 0], y)}
    out["linear"] = mae(LinearCorrection().fit(splits.train).fetch_model().predict(test).high[:, 0], y)
    # the published linear correction is fitted on every cv_* fold (training and validation polymers)
    both = splits.train.subset(np.arange(len(splits.train)))
    v = splits.validation
    both = ExtrapolationTable(both.ids + v.ids, both.graphs + v.graphs, both.graph_kind, both.feature_names,
                              np.concatenate([both.features, v.features]), both.tasks,
                              np.concatenate([both.low, v.low]), np.concatenate([both.high, v.high]))
    out["linear_all_folds"] = mae(LinearCorrection().fit(both).fetch_model().predict(test).high[:, 0], y)
    out["forest"] = [mae(RandomForestBaseline(n_estimators=trees, seed=s).fit(splits.train).fetch_model()
                         .predict(test).high[:, 0], y) for s in seeds]
    return out


def _z_rms(pred: Any, y: np.ndarray) -> float:
    z = (pred.high[:, 0] - y) / pred.high_std[:, 0]
    return float(np.sqrt(np.mean(z ** 2)))


def _scores(model: Any, test: Any, suffix: str = "") -> dict[str, Any]:
    """MAE with and without the measured 5-ns value, z-rms of the calibrated and of the raw std."""
    import dataclasses

    y = test.high[:, 0]
    raw = dataclasses.replace(model, std_scale=None, std_floor=None)
    rec = {}
    for name, table in (("input", test), ("no_input", test.without_labels("low"))):
        pred = model.predict(table)
        rec[f"model_{name}{suffix}"] = mae(pred.high[:, 0], y)
        rec[f"z_rms_{name}{suffix}"] = _z_rms(pred, y)
        rec[f"z_rms_{name}_raw{suffix}"] = _z_rms(raw.predict(table), y)
        rec[f"mean_std_{name}{suffix}"] = float(np.mean(pred.high_std[:, 0]))
        if pred.beyond_range is not None:  # the flag for predictions beyond the training long-run labels
            out = pred.beyond_range[:, 0] > 0
            rec[f"n_beyond_range_{name}{suffix}"] = int(out.sum())
            for part, rows in (("beyond", out), ("within", ~out)):
                if rows.any():
                    z = (pred.high[rows, 0] - y[rows]) / pred.high_std[rows, 0]
                    rec[f"z_rms_{name}_{part}{suffix}"] = float(np.sqrt(np.mean(z ** 2)))
    return rec


def model_run(splits: Any, test: Any, seed: int, args: argparse.Namespace,
              noise: dict[str, Any] | None) -> dict[str, Any]:
    from trajml.extrapolation.deep import MultitaskExtrapolator

    est = MultitaskExtrapolator(hidden=args.hidden, epochs=args.epochs, n_models=args.n_models,
                                correction_prior=args.correction_prior, patience=args.patience, seed=seed,
                                calibration=args.calibration, short_run_weight=args.short_run_weight)
    t0 = time.perf_counter()
    model = est.fit(splits.train, splits.validation).fetch_model()
    seconds = time.perf_counter() - t0
    y = test.high[:, 0]
    full = model.with_measured_weight(1.0).predict(test)
    cal = model.provenance.get("calibration", {})
    rec: dict[str, Any] = {
        "seed": seed, "train_seconds": seconds, "best_epochs": model.best_epochs.tolist(),
        **_scores(model, test), "model_input_full": mae(full.high[:, 0], y),
        "measured_weight": model.measured_weight[:, 0].tolist(),
        "calibration": {"method": cal.get("method"), "n_folds": cal.get("n_folds"),
                        "seconds": cal.get("seconds"),
                        "scale": None if model.std_scale is None else model.std_scale[:, 0].tolist(),
                        "floor": None if model.std_floor is None else model.std_floor[:, 0].tolist(),
                        "by_input": {k: v.get(model.tasks[0]) for k, v in cal.get("by_input", {}).items()}}}
    if est._cross_fitted is not None:  # cross-fit-refit: the calibrating (cross-fitted) members scored too
        rec.update(_scores(est._cross_fitted, test, "_crossfit"))
    if noise is not None:
        # k = 1 - noise² / r², r² the low head's mean square residual on the validation polymers (each member)
        val = splits.validation
        has = np.isfinite(val.low[:, 0])
        weights = []
        for k in range(model.n_models):
            r2 = float(np.mean((model.member(k).predict(val).low[has, 0] - val.low[has, 0]) ** 2))
            weights.append(min(1.0, max(0.0, 1.0 - noise["std_log10"] ** 2 / r2)))
        rep = model.with_measured_weight(np.array(weights)[:, None]).predict(test)
        rec.update(model_input_replicate=mae(rep.high[:, 0], y), measured_weight_replicate=weights)
    return rec


HEADERS = ["layout", "property", "seeds", "raw", "linear", "linear, all folds [published]", "forest", "model (input)",
           "model (no input)", "model (weight 1)", "model (replicate weight)", "cross-fitted (input)",
           "cross-fitted (no input)", "authors' GNN", "z-rms (input)", "z-rms (no input)", "z-rms raw spread (input)",
           "train s (median)"]


def summary_rows(results: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for layout, props in results["runs"].items():
        for prop, r in props.items():
            fits = r.get("fits", [])
            if not fits:
                continue

            def stat(key: str) -> str:
                v = [f[key] for f in fits if key in f]
                return "" if not v else (f"{np.mean(v):.3f}" + (f" ({min(v):.3f}-{max(v):.3f})" if len(v) > 1 else ""))

            forest = r["baselines"]["forest"]
            pub = PUBLISHED.get(layout, {}).get(prop, {})
            published = f" [{pub['linear']:.3f}]" if "linear" in pub else ""
            rows.append([layout, prop, len(fits), f"{r['baselines']['raw']:.3f}", f"{r['baselines']['linear']:.3f}",
                         f"{r['baselines']['linear_all_folds']:.3f}" + published, f"{np.mean(forest):.3f}",
                         stat("model_input"), stat("model_no_input"), stat("model_input_full"),
                         stat("model_input_replicate"), stat("model_input_crossfit"), stat("model_no_input_crossfit"),
                         f"{pub['gnn']:.3f}" if "gnn" in pub else "", stat("z_rms_input"), stat("z_rms_no_input"),
                         stat("z_rms_input_raw"), f"{np.median([f['train_seconds'] for f in fits]):.0f}"])
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        merged: dict[str, Any] = {"runs": {}}
        for path in args.report:
            with open(path, encoding="utf-8") as fh:
                merged["runs"].update(json.load(fh)["runs"])
        print(format_table(HEADERS, summary_rows(merged)))
        return 0
    if not args.data:
        raise SystemExit("give --data (the 'data' folder of the authors' repository) or --report JSON ...")
    import torch

    from trajml.extrapolation.splits import read_polymernet

    torch.set_num_threads(args.threads)
    results: dict[str, Any] = {"runs": {}}
    if os.path.isfile(args.output):
        with open(args.output, encoding="utf-8") as fh:
            old = json.load(fh)
        if old.get("config", {}).get("model") == _model_config(args):
            results["runs"] = old.get("runs", {})
    results.update(
        command="python benchmarks/bench_polymernet.py --data DATA " + " ".join(a for a in (argv or sys.argv[1:])
                                                                                 if not a.startswith("--data")
                                                                                 and a != args.data),
        environment=_common.environment(("numpy", "torch", "torch_geometric", "sklearn", "rdkit", "trajml")),
        config={"model": _model_config(args), "split": args.split, "trees": args.trees, "threads": args.threads},
        published=PUBLISHED, units="MAE of log10 (σ in S/m, D in Å²/ps; the same as log10 S/cm, cm²/s)")

    def save() -> None:
        results["load_average_at_save"] = os.getloadavg()
        tmp = args.output + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, args.output)

    # seed by seed over every property, so that a run stopped early still covers the properties
    prepared: dict[tuple[str, str], Any] = {}
    for seed, layout, prop in itertools.product(args.seeds, args.layouts, args.properties):
        if (layout, prop) not in prepared:
            splits = read_polymernet(args.data, prop, args.split, high=layout)
            keep = np.flatnonzero(np.isfinite(splits.test.high[:, 0]))
            test = splits.test.subset(keep)
            run = results["runs"].setdefault(layout, {}).setdefault(prop, {})
            run.update(n_train_long=int(np.isfinite(splits.train.high).sum()), n_train_short=int(
                np.isfinite(splits.train.low).sum()), n_validation_long=int(np.isfinite(splits.validation.high).sum()),
                n_test=len(test))
            if "baselines" not in run or len(run["baselines"]["forest"]) != len(args.seeds):
                run["baselines"] = baselines(splits, test, args.seeds, args.trees)
            noise = replicate_noise(args.data, prop)
            if noise is not None:
                run["replicate_noise"] = noise
            prepared[layout, prop] = (splits, test, noise)
            save()
        splits, test, noise = prepared[layout, prop]
        run = results["runs"][layout][prop]
        fits = run.setdefault("fits", [])
        if any(f["seed"] == seed for f in fits):
            continue
        print(f"[{time.strftime('%H:%M:%S')}] {layout} {prop} seed {seed} (load {os.getloadavg()[0]:.1f})", flush=True)
        fits.append(model_run(splits, test, seed, args, noise))
        f = fits[-1]
        print(f"  {f['train_seconds']:.0f} s; MAE with input {f['model_input']:.3f}, without "
              f"{f['model_no_input']:.3f}, full weight {f['model_input_full']:.3f}; raw "
              f"{run['baselines']['raw']:.3f}, linear {run['baselines']['linear']:.3f}; weight "
              f"{np.round(f['measured_weight'], 2).tolist()}", flush=True)
        save()
    print(format_table(HEADERS, summary_rows(results)))
    return 0


def _model_config(args: argparse.Namespace) -> dict[str, Any]:
    return {"n_models": args.n_models, "epochs": args.epochs, "patience": args.patience, "hidden": args.hidden,
            "correction_prior": args.correction_prior, "calibration": args.calibration,
            "short_run_weight": args.short_run_weight}


if __name__ == "__main__":
    raise SystemExit(main())
