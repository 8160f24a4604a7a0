"""Cross-validation of the CG extrapolation benchmark (``bench_extrapolate.py``): repeated k-fold CV by
chemistry of the multitask model against the raw short run, the linear correction and a random forest,
the pooled MAEs, the paired fold differences and the parity plot.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from typing import Any

import numpy as np


def folds_ok(table: Any, n_splits: int, seed: int) -> bool:
    """Every training fold has >= 2 rows with both labels (distinct short values) per task, every
    test fold >= 1 scored row per task: the linear correction and the scores are then defined."""
    from trajml.extrapolation.tables import kfold_indices

    both = np.isfinite(table.low) & np.isfinite(table.high)
    for train, test in kfold_indices(len(table), n_splits, seed, table.groups):
        for j in range(len(table.tasks)):
            tr = train[both[train, j]]
            hi = table.high[train, j][np.isfinite(table.high[train, j])]
            if len(tr) < 2 or np.ptp(table.low[tr, j]) == 0 or len(hi) < 2 or np.ptp(hi) == 0:
                return False
            if not both[test, j].any():
                return False
    return True


def cross_validate_all(table: Any, args: argparse.Namespace) -> list[tuple[int, Any]]:
    """Repeated k-fold cross-validation by chemistry of model, short run, linear correction and forest.

    Each of the ``--cv-repeats`` repeats uses the next fold seed (from ``--cv-seed``) that passes
    :func:`folds_ok`. Returns (fold seed, :class:`CrossValidation`) per repeat.
    """
    import torch

    from trajml.extrapolation.baselines import RandomForestBaseline, cross_validate
    from trajml.extrapolation.deep import MultitaskExtrapolator

    torch.set_num_threads(args.torch_threads)

    candidates = (s for s in range(args.cv_seed, args.cv_seed + 1000) if folds_ok(table, args.folds, s))
    seeds = list(itertools.islice(candidates, args.cv_repeats))  # stop at the first cv_repeats that pass
    if len(seeds) < args.cv_repeats:
        raise RuntimeError(f"Only {len(seeds)} fold seed(s) in [{args.cv_seed}, {args.cv_seed + 1000}) give "
                           f"{args.folds} folds with 2+ long runs in every training fold and 1+ in every test "
                           f"fold; {args.cv_repeats} wanted. Add long runs or lower --folds / --cv-repeats.")

    def model() -> Any:
        return MultitaskExtrapolator(hidden=args.hidden, epochs=args.epochs, n_models=args.n_models,
                                     patience=args.patience, correction_prior=args.correction_prior, seed=args.seed)

    def forest() -> Any:
        return RandomForestBaseline(n_estimators=args.trees, seed=args.seed)

    out = []
    for seed in seeds:
        t0 = time.perf_counter()
        out.append((seed, cross_validate(model, table, n_splits=args.folds, seed=seed, by_group=True,
                                         baselines={"forest": forest})))
        print(f"  cross-validation with fold seed {seed}: {time.perf_counter() - t0:.1f} s")
    return out


def pooled_mae(repeats: list[tuple[int, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per method and task: mean and std of the fold MAEs pooled over every repeat and fold, and the
    std of the per-repeat means (how much the choice of folds moves the result)."""
    cv0 = repeats[0][1]
    mae = np.concatenate([cv.mae for _, cv in repeats], axis=1)  # (methods, repeats * folds, tasks)
    per_repeat = np.array([np.nanmean(cv.mae, axis=1) for _, cv in repeats])  # (repeats, methods, tasks)
    return {m: {t: {"mean": float(np.nanmean(mae[i, :, j])), "std_over_folds": float(np.nanstd(mae[i, :, j])),
                    "std_over_repeats": float(np.std(per_repeat[:, i, j]))}
                for j, t in enumerate(cv0.tasks)} for i, m in enumerate(cv0.methods)}


def paired_differences(repeats: list[tuple[int, Any]], against: tuple[str, ...] = ("short_run", "linear")
                       ) -> dict[str, dict[str, dict[str, float]]]:
    """Model MAE minus baseline MAE on the same test fold, per baseline and task: the mean over all
    folds and repeats, its standard error (over folds of one repeat, averaged: folds of different
    repeats share rows) and the share of folds where the model is better."""
    methods = list(repeats[0][1].methods)
    i_model = methods.index("model")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for base in against:
        i_base = methods.index(base)
        out[base] = {}
        for j, t in enumerate(repeats[0][1].tasks):
            d = [cv.mae[i_model, :, j] - cv.mae[i_base, :, j] for _, cv in repeats]
            d = [x[np.isfinite(x)] for x in d]
            flat = np.concatenate(d)
            se = float(np.mean([x.std(ddof=1) / np.sqrt(len(x)) for x in d if len(x) > 1]))
            out[base][t] = {"mean": float(flat.mean()), "standard_error": se,
                            "model_better_share": float(np.mean(flat < 0))}
    return out


#: Axis names of the tasks in the parity plot (with units).
_AXIS = {"log10_sigma": "log$_{10}$ σ (σ in S/m)", "log10_D_Li": "log$_{10}$ $D_{Li^+}$ ($D$ in Å²/ps)",
         "log10_D_anion": "log$_{10}$ $D_{anion}$ ($D$ in Å²/ps)", "transference": "$t_+$"}


def plot_parity(table: Any, repeats: list[tuple[int, Any]], path: str, sigma_label: str | None = None) -> None:
    """Out-of-fold predictions against the long-run value, one panel per task, for the model, the raw
    short run and the linear correction (mean over the repeats), on the rows with both labels."""
    from trajml.plotting import use_offscreen_backend

    use_offscreen_backend()
    import matplotlib.pyplot as plt

    cv0 = repeats[0][1]
    pred = np.mean([cv.predictions for _, cv in repeats], axis=0)  # (methods, rows, tasks)
    styles = {"short_run": ("raw short run", "#999999", "s"), "linear": ("linear correction", "#1f77b4", "^"),
              "model": ("multitask model", "#d62728", "o")}
    axis = dict(_AXIS)
    if sigma_label == "nernst-einstein":
        axis["log10_sigma"] = "log$_{10}$ α·σ$_{NE}$ (σ in S/m)"
    elif sigma_label == "einstein-helfand":
        axis["log10_sigma"] = "log$_{10}$ σ$_{EH}$ (σ in S/m)"
    fig, axes = plt.subplots(1, len(cv0.tasks), figsize=(4.3 * len(cv0.tasks), 4.5), squeeze=False)
    for j, (task, ax) in enumerate(zip(cv0.tasks, axes[0])):
        ok = np.isfinite(table.high[:, j]) & np.isfinite(table.low[:, j])
        truth = table.high[ok, j]
        for m, (label, colour, marker) in styles.items():
            y = pred[cv0.methods.index(m), ok, j]
            mae = float(np.mean(np.abs(y - truth)))
            ax.scatter(truth, y, c=colour, marker=marker, s=26, alpha=0.8, edgecolors="none",
                       label=f"{label} (MAE {mae:.3f})")
        lo = min(truth.min(), np.nanmin(pred[:, ok, j])) - 0.05
        hi = max(truth.max(), np.nanmax(pred[:, ok, j])) + 0.05
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        name = axis.get(task, task)
        ax.set_xlabel(f"long run: {name}", fontsize=9)
        ax.set_ylabel(f"predicted, chemistry held out: {name}", fontsize=9)
        ax.set_title(f"{name.split(' (')[0]}  ({int(ok.sum())} chemistries)", fontsize=10)
        ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
    fig.suptitle(f"Long-run transport from short runs: {len(repeats)} × {cv0.mae.shape[1]}-fold cross-validation by "
                 "chemistry, out-of-fold predictions averaged over the repeats", fontsize=10)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=150)
    plt.close(fig)
    os.replace(tmp, path)
