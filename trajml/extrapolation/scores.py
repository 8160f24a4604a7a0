"""Scores of predictions against known labels: MAE, RMSE and R² with bootstrap intervals, z-scores of the std.

Predictions (:class:`~trajml.extrapolation.tables.ExtrapolationPrediction`, or the CSV that
``trajml extrapolate predict`` writes) are matched to labels by id; each task and fidelity is scored
on the rows that have both a label and a prediction. Intervals are percentile bootstrap intervals
over rows (``n_boot`` resamples, seeded). Where the prediction carries a standard deviation, the
root mean square of the z-scores ``(pred - label) / std`` says whether it is calibrated (1 is; above
1 the std is too small).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.extrapolation.tables import TASK_UNITS, ExtrapolationPrediction, ExtrapolationTable

__all__ = ["Score", "score_values", "score_prediction", "format_scores", "METRICS"]

#: Metrics of a :class:`Score`, in order.
METRICS = ("mae", "rmse", "r2")


@dataclass(frozen=True)
class Score:
    """Scores of one task at one fidelity.

    Attributes
    ----------
    task, fidelity : str
        ``fidelity`` is ``'high'`` (long run) or ``'low'`` (short run).
    n : int
        Rows scored.
    mae, rmse : float
        In the task's units (log10 of S/m or Å²/ps, or t₊).
    r2 : float
        Coefficient of determination, 1 − SS_res / SS_tot (NaN for fewer than 2 rows or constant labels).
    interval : dict of str to (float, float)
        Bootstrap interval of each metric.
    z_rms : float
        Root mean square of (pred − label) / std; NaN without a std.
    """

    task: str
    fidelity: str
    n: int
    mae: float
    rmse: float
    r2: float
    interval: dict[str, tuple[float, float]]
    z_rms: float = math.nan

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"task": self.task, "fidelity": self.fidelity, "n": self.n, "unit": TASK_UNITS.get(self.task, ""),
                **{m: getattr(self, m) for m in METRICS}, "interval": {k: list(v) for k, v in self.interval.items()},
                "z_rms": self.z_rms}


def _metrics(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MAE, RMSE, R² along the last axis (rows)."""
    err = p - y
    mae = np.abs(err).mean(axis=-1)
    rmse = np.sqrt((err ** 2).mean(axis=-1))
    ss_tot = ((y - y.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - (err ** 2).sum(axis=-1) / ss_tot, np.nan)
    return np.stack([mae, rmse, r2], axis=-1)


def score_values(predicted: np.ndarray, labels: np.ndarray, std: np.ndarray | None = None, *, task: str = "",
                 fidelity: str = "high", n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Score:
    """Score one column of predictions against labels (rows where either is NaN are skipped).

    Parameters
    ----------
    predicted, labels : ndarray, shape (n,)
        In the same units.
    std : ndarray, shape (n,), optional
        Predicted standard deviation (for the z-scores).
    task, fidelity : str
        Labels of the score (the task's name; ``"high"`` or ``"low"``).
    n_boot : int
        Bootstrap resamples of the rows (0: no intervals).
    level : float
        Coverage of the intervals.
    seed : int
        Seed of the resampling.
    """
    p, y = np.asarray(predicted, float), np.asarray(labels, float)
    ok = np.isfinite(p) & np.isfinite(y)
    p, y = p[ok], y[ok]
    n = int(ok.sum())
    if n == 0:
        return Score(task, fidelity, 0, math.nan, math.nan, math.nan, {m: (math.nan, math.nan) for m in METRICS})
    point = _metrics(p, y)
    interval = {m: (math.nan, math.nan) for m in METRICS}
    if n_boot > 0 and n >= 2:
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        boot = _metrics(p[idx], y[idx])
        lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
        for k, m in enumerate(METRICS):
            col = boot[:, k][np.isfinite(boot[:, k])]
            if col.size:
                interval[m] = (float(np.percentile(col, lo)), float(np.percentile(col, hi)))
    z = math.nan
    if std is not None:
        s = np.asarray(std, float)[ok]
        good = np.isfinite(s) & (s > 0)
        if good.any():
            z = float(np.sqrt(np.mean(((p[good] - y[good]) / s[good]) ** 2)))
    return Score(task, fidelity, n, float(point[0]), float(point[1]), float(point[2]), interval, z)


def score_prediction(prediction: ExtrapolationPrediction, labels: ExtrapolationTable, *, n_boot: int = 1000,
                     level: float = 0.95, seed: int = 0, source: str = "the labels") -> list[Score]:
    """Scores of every task and fidelity that both ``prediction`` and ``labels`` have.

    Rows are matched by id; every labelled id must have been predicted.

    Parameters
    ----------
    prediction : ExtrapolationPrediction
        Predictions (long run with its std, and the short run where given).
    labels : ExtrapolationTable
        Known labels, in the same units.
    n_boot : int
        Bootstrap resamples of the rows (0: no intervals).
    level : float
        Coverage of the intervals.
    seed : int
        Seed of the resampling.
    source : str
        What the labels are (named in messages).

    Returns
    -------
    list of Score

    Raises
    ------
    ValueError
        Labelled ids without a prediction, or no task in common.
    """
    where = {i: k for k, i in enumerate(prediction.ids)}
    absent = [i for i in labels.ids if i not in where]
    if absent:
        raise ValueError(f"{len(absent)} id(s) of {source} have no prediction, e.g. {absent[:5]}; predict the rows "
                         f"you score.")
    common = [t for t in labels.tasks if t in prediction.tasks]
    if not common:
        raise ValueError(f"{source} label tasks {list(labels.tasks)} none of which was predicted "
                         f"({list(prediction.tasks)}).")
    rows = np.array([where[i] for i in labels.ids], dtype=np.int64)
    out = []
    for t in common:
        j, jp = labels.tasks.index(t), prediction.tasks.index(t)
        for fid, pred, std in (("high", prediction.high, prediction.high_std), ("low", prediction.low, None)):
            truth = getattr(labels, fid)[:, j]
            if np.isfinite(truth).any():
                out.append(score_values(pred[rows, jp], truth, None if std is None else std[rows, jp], task=t,
                                        fidelity=fid, n_boot=n_boot, level=level, seed=seed))
    return out


def format_scores(scores: list[Score], level: float = 0.95) -> str:
    """A plain-text table: task, fidelity, n, each metric with its interval, z-rms.

    Parameters
    ----------
    scores : list of Score
        From :func:`score_values` or :func:`score_prediction`.
    level : float
        Coverage of the intervals (for the column headers).

    Returns
    -------
    str
    """
    pct = f"{100 * level:g}%"
    lines = [f"{'task':<16} {'fidelity':<8} {'n':>5}  {'MAE [' + pct + ']':<26} {'RMSE [' + pct + ']':<26} "
             f"{'R2 [' + pct + ']':<26} z-rms"]
    for s in scores:
        cells = [f"{getattr(s, m):.4f} [{s.interval[m][0]:.4f}, {s.interval[m][1]:.4f}]" for m in METRICS]
        lines.append(f"{s.task:<16} {s.fidelity:<8} {s.n:>5}  {cells[0]:<26} {cells[1]:<26} {cells[2]:<26} "
                     f"{s.z_rms:.3f}")
    return "\n".join(lines)
