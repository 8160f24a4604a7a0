"""Calibration of the multitask ensemble's predicted std on out-of-member (cross-fitted) residuals.

The spread of a few networks trained on the same tens of long runs is several times smaller than their
error, so :class:`~trajml.extrapolation.deep.MultitaskExtrapolator` calibrates it. With
``calibration='cross-fit'`` the rows of the training table that carry a long-run label are dealt into
``n_models`` folds (whole groups together); ensemble member ``m`` is trained without the long-run
labels of fold ``m`` (it keeps their short-run labels: a system to predict has its short run too), so
every long-run label of the training table gets a prediction from a member that never saw it. Per task
and per input (rows fed a measured short-run value, and rows fed the low-fidelity prediction), the
calibrated std of a row is

    std = sqrt((a · s)² + b²),

with ``s`` the ensemble's raw std of the row (the spread of the members, plus the mean predicted
variance of a heteroscedastic head), ``b`` a constant aleatoric floor (task units) and ``a`` a scale,
fitted so that the out-of-member z-scores have rms 1: ``a = 1`` and ``b`` solves ``mean(r² / (s² + b²))
= 1`` when the raw spread alone is too small (the usual case), ``b = 0`` and ``a = rms(r / s)``
otherwise. ``r`` is the residual of the member that did not see the label; a single member errs a
little more than the ensemble mean, so the calibration errs on the safe side (on the published
polymer data the test z-rms came out 0.86, pooled over four properties). What the members share is
not cross-fitted: the label standardisation and, with ``correction_prior='auto'``, the prior chosen
on every training label (one number per task).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from trajml.extrapolation.tables import ExtrapolationTable, kfold_indices
from trajml.results import read_only as _ro

if TYPE_CHECKING:  # pragma: no cover
    from trajml.extrapolation.deep.model import MultitaskModel

__all__ = ["INPUT_KINDS", "fit_scale_and_floor", "long_label_folds", "calibration_rows", "calibration_text",
           "cross_fit_calibrated", "validation_calibrated"]

#: The two kinds of rows whose std is calibrated apart (index 0 and 1 of the calibration arrays).
INPUT_KINDS = ("measured short run", "predicted short run")
#: Fewest out-of-member residuals a task needs for a fitted calibration (else a = 1, b = 0).
MIN_ROWS = 3


def long_label_folds(table: ExtrapolationTable, n_train: int, n_folds: int, seed: int) -> list[np.ndarray]:
    """The training rows with a long-run label, dealt into ``n_folds`` folds by group.

    Parameters
    ----------
    table : ExtrapolationTable
        The table being trained on; its first ``n_train`` rows are the training rows.
    n_train : int
        Training rows (the rest, a predefined validation set, are never dealt).
    n_folds : int
        Folds (the ensemble members).
    seed : int
        Shuffles the groups.

    Returns
    -------
    list of ndarray
        Row indices of each fold (sorted, int64); every training row with a long-run label is in one.

    Raises
    ------
    ValueError
        Fewer groups with a long-run label than folds.
    """
    has_long = np.flatnonzero(np.isfinite(table.high[:n_train]).any(axis=1))
    groups = [table.groups[i] for i in has_long]
    n_groups = len({str(g) for g in groups})
    if n_groups < n_folds:
        raise ValueError(f"calibration='cross-fit' deals the systems with a long-run label into n_models = {n_folds} "
                         f"folds, but there are only {n_groups}; lower 'n_models' (--ensemble) or give "
                         f"calibration='none'.")
    return [has_long[test] for _, test in kfold_indices(len(has_long), n_folds, seed, groups)]


def fit_scale_and_floor(residual: np.ndarray, spread: np.ndarray) -> tuple[float, float, int]:
    """Scale ``a`` and floor ``b`` of ``std = sqrt((a s)² + b²)`` whose z-scores have rms 1.

    Parameters
    ----------
    residual : ndarray, shape (n,)
        Out-of-member residuals (prediction - label), task units; NaN rows are skipped.
    spread : ndarray, shape (n,)
        The ensemble's raw std ``s`` of the same rows, task units (NaN or 0 where there is none).

    Returns
    -------
    a, b : float
        ``a = 1`` and ``b >= 0`` when the raw spread under-states the residuals, else ``b = 0`` and
        ``a = rms(r / s)``; ``(1, 0)`` with fewer than :data:`MIN_ROWS` residuals.
    n : int
        Residuals used.
    """
    r = np.asarray(residual, dtype=np.float64)
    s = np.nan_to_num(np.asarray(spread, dtype=np.float64), nan=0.0)
    ok = np.isfinite(r)
    r, s = r[ok], s[ok]
    if r.size < MIN_ROWS or not np.any(r != 0):
        return 1.0, 0.0, int(r.size)
    s2, r2 = s ** 2, r ** 2

    def excess(b2: float) -> float:  # mean z² - 1, decreasing in b²
        with np.errstate(divide="ignore", invalid="ignore"):
            z2 = np.where(s2 + b2 > 0, r2 / (s2 + b2), np.where(r2 > 0, np.inf, 0.0))
        return float(np.mean(z2)) - 1.0

    if np.all(s2 > 0) and excess(0.0) <= 0.0:  # the spread alone is too wide: shrink it
        return float(math.sqrt(np.mean(r2 / s2))), 0.0, int(r.size)
    lo, hi = 0.0, float(np.mean(r2)) + 1e-300  # excess(mean r²) <= 0: every z² <= r² / mean r²
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if excess(mid) > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return 1.0, float(math.sqrt(hi)), int(r.size)


def calibration_rows(residuals: np.ndarray, spreads: np.ndarray, tasks: tuple[str, ...]
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Fit :func:`fit_scale_and_floor` per input kind and task.

    Parameters
    ----------
    residuals, spreads : ndarray, shape (2, n_rows, n_tasks)
        Out-of-member residuals and raw ensemble std of the calibration rows, for rows fed a measured
        short-run value (index 0; NaN where the row has none) and fed the prediction (index 1).
    tasks : tuple of str
        Task names (for the provenance).

    Returns
    -------
    scale, floor : ndarray, shape (2, n_tasks)
    summary : dict
        Per input kind and task: ``a``, ``b``, the rows used and the rms z-score of the raw spread there.
    """
    n_tasks = len(tasks)
    scale, floor = np.ones((2, n_tasks)), np.zeros((2, n_tasks))
    summary: dict[str, Any] = {}
    for i, kind in enumerate(INPUT_KINDS):
        summary[kind] = {}
        for j, t in enumerate(tasks):
            a, b, n = fit_scale_and_floor(residuals[i, :, j], spreads[i, :, j])
            scale[i, j], floor[i, j] = a, b
            r, s = residuals[i, :, j], spreads[i, :, j]
            ok = np.isfinite(r) & np.isfinite(s) & (s > 0)
            raw = float(np.sqrt(np.mean((r[ok] / s[ok]) ** 2))) if ok.sum() else math.nan
            summary[kind][t] = {"scale": a, "floor": b, "n_rows": n, "z_rms_raw_spread": raw}
    return scale, floor, summary


def calibration_text(tasks: tuple[str, ...], scale: np.ndarray | None, floor: np.ndarray | None,
                     info: dict[str, Any]) -> str:
    """One line that states a model's std calibration (printed by training and ``trajml extrapolate train``).

    Parameters
    ----------
    tasks : tuple of str
        Task names.
    scale, floor : ndarray, shape (2, n_tasks), or None
        The calibration (:attr:`~trajml.extrapolation.deep.MultitaskModel.std_scale`, ``std_floor``);
        None: not calibrated.
    info : dict
        The model's ``provenance['calibration']``.

    Returns
    -------
    str
    """
    method = info.get("method", "none") if scale is not None else "none"
    if method == "validation" or (method == "none" and scale is not None):  # files written before the floor
        return ("predicted std scaled on the validation systems (rms z = 1 there): "
                + ", ".join(f"{t} x{v:.3g}" for t, v in zip(tasks, scale[0])))
    if method != "cross-fit" or floor is None:
        return "predicted std: the raw ensemble spread (not calibrated)"
    parts = []
    for i, kind in enumerate(INPUT_KINDS):
        rows = info.get("by_input", {}).get(kind, {})
        text = ", ".join(f"{t} a={scale[i, j]:.3g} b={floor[i, j]:.3g} "
                         f"({rows.get(t, {}).get('n_rows', 0)} rows, raw z-rms "
                         f"{rows.get(t, {}).get('z_rms_raw_spread', math.nan):.2g})" for j, t in enumerate(tasks))
        parts.append(f"{kind}: {text}")
    return (f"predicted std calibrated on out-of-member residuals ({info.get('n_folds')} folds), "
            "std = sqrt((a · spread)² + b²), task units; " + "; ".join(parts))


def cross_fit_calibrated(model: "MultitaskModel", train: ExtrapolationTable,
                         folds: list[np.ndarray]) -> "MultitaskModel":
    """``model`` with its std calibrated on the out-of-member residuals of ``train``'s long-run labels.

    Parameters
    ----------
    model : MultitaskModel
        Cross-fitted members: member ``k`` was trained without the long-run labels of ``folds[k]``.
    train : ExtrapolationTable
        The training rows (row indices of ``folds`` refer to it).
    folds : list of ndarray
        The rows each member left out (:func:`long_label_folds`).

    Returns
    -------
    MultitaskModel
        With ``std_scale`` and ``std_floor`` set and ``provenance['calibration']`` describing them.
    """
    n_tasks = len(model.tasks)
    residuals = np.full((2, len(train), n_tasks), np.nan)
    spreads = np.full((2, len(train), n_tasks), np.nan)
    views = (train, train.without_labels("low"))  # index 0: measured short run fed; 1: the prediction fed
    for k, fold in enumerate(folds):
        member = model.member(k)
        for i, view in enumerate(views):
            sub = view.subset(fold)
            pred = member.predict(sub).high
            if i == 0:  # only the rows that were fed a measured short run
                pred = np.where(np.isfinite(sub.low), pred, np.nan)
            residuals[i, fold] = pred - train.high[fold]
    for i, view in enumerate(views):
        # the raw spread of every member; those that saw a row's label agree a little more there than on
        # new rows, so b comes out a little larger: on the safe side
        spreads[i] = model.predict(view).high_std
    scale, floor, summary = calibration_rows(residuals, spreads, model.tasks)
    info = {"method": "cross-fit", "n_folds": len(folds), "by_input": summary}
    return dataclasses.replace(model, std_scale=_ro(scale), std_floor=_ro(floor),
                               units={**model.units, "std_scale": "", "std_floor": "task units"},
                               provenance={**model.provenance, "calibration": info})


def validation_calibrated(model: "MultitaskModel", validation: ExtrapolationTable) -> "MultitaskModel":
    """``model`` with its std scaled per task so that the validation rows' z-scores have rms 1.

    Parameters
    ----------
    model : MultitaskModel
        Uncalibrated.
    validation : ExtrapolationTable
        The predefined validation set (it also chose the stopping epoch, so the scale is optimistic;
        with a dozen rows it is unstable). Tasks with fewer than :data:`MIN_ROWS` long-run labels
        there, or no spread, keep a scale of 1.

    Returns
    -------
    MultitaskModel
        The same scale for both inputs, floor 0.
    """
    pred = model.predict(validation)  # the raw std (no calibration yet)
    scale = np.ones(len(model.tasks))
    for j in range(len(model.tasks)):
        ok = np.isfinite(validation.high[:, j]) & np.isfinite(pred.high_std[:, j]) & (pred.high_std[:, j] > 0)
        if ok.sum() >= MIN_ROWS:
            z = (pred.high[ok, j] - validation.high[ok, j]) / pred.high_std[ok, j]
            scale[j] = float(np.sqrt(np.mean(z ** 2)))
    prov = {**model.provenance, "std_scale": {t: float(v) for t, v in zip(model.tasks, scale)},
            "calibration": {"method": "validation", "n_rows": len(validation)}}
    return dataclasses.replace(model, std_scale=_ro(np.broadcast_to(scale, (2, len(scale)))),
                               std_floor=_ro(np.zeros((2, len(scale)))), provenance=prov)
