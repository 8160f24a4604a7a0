"""The weight of a measured short-run value, refitted on out-of-member (cross-fitted) predictions.

Each member of :class:`~trajml.extrapolation.deep.MultitaskExtrapolator` feeds its high-fidelity head
``low + k (measured - low)`` (``low`` its own prediction of the short run), with ``k`` in [0, 1] first
estimated on that member's held-out rows (the predefined validation set: a dozen systems on the
published polymer data, too few to tell 0.8 from 1). With cross-fitted members
(``calibration='cross-fit'``) every long-run label of the training table has a prediction from a member
that never saw it, at ``k = 0`` (the measured value ignored) and ``k = 1`` (trusted fully); the
prediction is close to linear in ``k``, so the least-squares ``k`` over all those rows is

    k = Σ d e / Σ d²,  d = p(1) - p(0),  e = label - p(0),

clipped to [0, 1], one per task, shared by every member. On the rows it is fitted on, feeding the
measured value with this ``k`` is never worse than not feeding it (``k = 0`` is a candidate). Tasks
with fewer than :data:`MIN_ROWS` such rows, and linear-only tasks (infinite correction prior: their
least-squares slope already shrinks a noisy short run), keep the members' own weights.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from trajml.extrapolation.tables import ExtrapolationTable
from trajml.results import read_only as _ro

if TYPE_CHECKING:  # pragma: no cover
    from trajml.extrapolation.deep.model import MultitaskModel

__all__ = ["MIN_ROWS", "cross_fit_measured_weight", "with_weights_of", "weight_text"]

#: Fewest out-of-member rows (measured short run and long-run label) a task needs for a refitted weight.
MIN_ROWS = 5


def _linear_only(model: "MultitaskModel") -> np.ndarray:
    flags = model.parameters.get("m0.linear_only")
    return np.zeros(len(model.tasks), dtype=bool) if flags is None else np.asarray(flags, dtype=bool)


def cross_fit_measured_weight(model: "MultitaskModel", train: ExtrapolationTable,
                              folds: list[np.ndarray]) -> "MultitaskModel":
    """``model`` with one weight ``k`` per task for a measured short-run value, fitted out of member.

    Parameters
    ----------
    model : MultitaskModel
        Cross-fitted members: member ``m`` was trained without the long-run labels of ``folds[m]``;
        ``low_input='observed'``.
    train : ExtrapolationTable
        The training rows (row indices of ``folds`` refer to it).
    folds : list of ndarray
        The rows each member left out.

    Returns
    -------
    MultitaskModel
        Every member's ``measured_weight`` set to the refitted ``k`` (tasks that cannot be refitted keep
        theirs); ``provenance['measured_weight']`` gains ``cross_fit``: per task ``k``, the rows it rests
        on and the out-of-member mean absolute error at ``k = 0``, ``k = 1`` and the refitted ``k``.
    """
    n_tasks = len(model.tasks)
    p0 = np.full((len(train), n_tasks), np.nan)
    p1 = np.full((len(train), n_tasks), np.nan)
    for m, fold in enumerate(folds):
        sub = train.subset(fold)
        member = model.member(m)
        p0[fold] = member.with_measured_weight(0.0).predict(sub).high
        p1[fold] = member.with_measured_weight(1.0).predict(sub).high
    low = model._low_observed(train)  # noqa: SLF001 (the short runs in the model's task order)
    label = np.full((len(train), n_tasks), np.nan)
    for j, t in enumerate(model.tasks):
        if t in train.tasks:
            label[:, j] = train.high[:, train.tasks.index(t)]
    before = model.measured_weight
    weights = before.copy()
    linear = _linear_only(model)
    summary: dict[str, Any] = {}
    for j, t in enumerate(model.tasks):
        ok = np.isfinite(low[:, j]) & np.isfinite(label[:, j]) & np.isfinite(p0[:, j]) & np.isfinite(p1[:, j])
        d, e = p1[ok, j] - p0[ok, j], label[ok, j] - p0[ok, j]
        entry: dict[str, Any] = {"n_rows": int(ok.sum())}
        if linear[j] or ok.sum() < MIN_ROWS or not np.sum(d * d) > 0:
            entry["weight"] = None
            entry["kept"] = "linear-only task" if linear[j] else "too few rows"
        else:
            k = float(np.clip(np.sum(d * e) / np.sum(d * d), 0.0, 1.0))
            weights[:, j] = k
            entry.update(weight=k, mae_weight_0=float(np.mean(np.abs(e))),
                         mae_weight_1=float(np.mean(np.abs(p1[ok, j] - label[ok, j]))),
                         mae_refitted=float(np.mean(np.abs(p0[ok, j] + k * d - label[ok, j]))))
        summary[t] = entry
    out = with_weights_of(model, weights)
    prov = dict(model.provenance.get("measured_weight", {}))
    prov["cross_fit"] = {"tasks": summary, "members_before": {t: before[:, j].tolist() for j, t in enumerate(model.tasks)}}
    return dataclasses.replace(out, provenance={**model.provenance, "measured_weight": prov})


def with_weights_of(model: "MultitaskModel", weights: np.ndarray) -> "MultitaskModel":
    """``model`` with ``measured_weight`` of member ``m`` set to ``weights[m]`` (shape (n_models, n_tasks),
    or (n_tasks,) for every member); provenance unchanged."""
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), (model.n_models, len(model.tasks)))
    params = {**model.parameters, **{f"m{m}.measured_weight": _ro(w[m], np.float32) for m in range(model.n_models)}}
    return dataclasses.replace(model, parameters=params)


def weight_text(model: "MultitaskModel") -> str:
    """One line stating the refitted weights (printed by training), or '' if none were refitted."""
    info = model.provenance.get("measured_weight", {}).get("cross_fit")
    if not info:
        return ""
    parts = []
    for t, e in info["tasks"].items():
        if e.get("weight") is None:
            parts.append(f"{t} kept ({e['kept']})")
        else:
            parts.append(f"{t} k={e['weight']:.2f} (out-of-member MAE {e['mae_weight_0']:.3g} without, "
                         f"{e['mae_weight_1']:.3g} fully trusted, {e['mae_refitted']:.3g} refitted; {e['n_rows']} rows)")
    return "weight of a measured short run, refitted on out-of-member predictions: " + "; ".join(parts)
