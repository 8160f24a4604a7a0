"""Training tables of short-run (low-fidelity) and long-run (high-fidelity) transport labels (torch-free).

A table row is one system: a polymer graph (a repeat-unit SMILES with two ``*`` attachment points, or
the bead sequence of a coarse-grained repeat unit), numeric features (global descriptors such as salt
concentration and temperature, and optional short-run descriptors such as MSD slopes or residence
times), and per task a low- and a high-fidelity label, either of which may be missing (NaN).

Tasks and units
---------------
``log10_sigma``     log10 of the ionic conductivity σ in S/m
``log10_D_Li``      log10 of the Li⁺ self-diffusion coefficient in Å²/ps
``log10_D_anion``   log10 of the anion self-diffusion coefficient in Å²/ps
``log10_D_polymer`` log10 of the polymer (bead or atom) self-diffusion coefficient in Å²/ps
``transference``    cation transference number t₊ (dimensionless)

This module holds the table (:class:`ExtrapolationTable`), predictions of it
(:class:`ExtrapolationPrediction`) and cross-validation folds (:func:`kfold_indices`); tables are read
from CSV files and pipeline runs by :mod:`trajml.extrapolation.readers`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from trajml._files import atomic_write
from trajml._validation import invalid
from trajml.results import Results

__all__ = ["TASKS", "TASK_UNITS", "ExtrapolationTable", "ExtrapolationPrediction", "kfold_indices", "check_task",
           "check_short_run_inputs",
           "check_labels"]

TASKS = ("log10_sigma", "log10_D_Li", "log10_D_anion", "log10_D_polymer", "transference")
TASK_UNITS = {"log10_sigma": "log10(S/m)", "log10_D_Li": "log10(Å^2/ps)", "log10_D_anion": "log10(Å^2/ps)",
              "log10_D_polymer": "log10(Å^2/ps)", "transference": ""}


def check_task(owner: str, task: Any) -> str:
    """Validate a task name (one of :data:`TASKS`).

    Parameters
    ----------
    owner : str
        Who asks, for the message.
    task : str
        The task name.
    """
    if task not in TASKS:
        raise invalid("task", owner, f"one of {list(TASKS)}", task)
    return str(task)


# ----------------------------------------------------------------------------------------------
# the table
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ExtrapolationTable:
    """Systems with graphs, features and masked low/high-fidelity labels.

    Attributes
    ----------
    ids : tuple of str
        One identifier per row.
    graphs : tuple
        Repeat-unit SMILES strings (``graph_kind == "smiles"``) or tuples of bead names (``"cg"``).
    graph_kind : str
        ``"smiles"`` or ``"cg"``.
    feature_names : tuple of str
        Names of the feature columns (global and short-run descriptors).
    features : ndarray, shape (n, n_features), float64
        Finite feature values, in the units their names state.
    tasks : tuple of str
        Task names (a subset of :data:`TASKS`, in that order).
    low, high : ndarray, shape (n, n_tasks), float64
        Short-run and long-run labels in the task units (see the module docstring); NaN = missing.
    groups : tuple of str
        Chemistry of each row (default: its graph), for cross-validation that holds out whole chemistries.
    """

    ids: tuple[str, ...]
    graphs: tuple[Any, ...]
    graph_kind: str
    feature_names: tuple[str, ...]
    features: np.ndarray
    tasks: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    groups: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        owner = "ExtrapolationTable"
        n = len(self.ids)
        if self.graph_kind not in ("smiles", "cg"):
            raise invalid("graph_kind", owner, "'smiles' or 'cg'", self.graph_kind)
        if len(self.graphs) != n:
            raise ValueError(f"{owner} has {n} ids but {len(self.graphs)} graphs.")
        for t in self.tasks:
            check_task(owner, t)
        feats = np.asarray(self.features, dtype=np.float64).reshape(n, len(self.feature_names))
        bad = np.argwhere(~np.isfinite(feats))
        if len(bad):
            i, j = bad[0]
            raise ValueError(f"Feature '{self.feature_names[j]}' of row {i + 1} (id {self.ids[i]!r}) is "
                             f"{feats[i, j]}; features must be finite.")
        object.__setattr__(self, "features", feats)
        for name in ("low", "high"):
            a = np.asarray(getattr(self, name), dtype=np.float64).reshape(n, len(self.tasks))
            if np.isinf(a).any():
                i, j = np.argwhere(np.isinf(a))[0]
                raise ValueError(f"The {name}-fidelity '{self.tasks[j]}' label of row {i + 1} (id {self.ids[i]!r}) "
                                 f"is infinite.")
            object.__setattr__(self, name, a)
        groups = tuple(str(g) for g in self.groups) or tuple(
            g if isinstance(g, str) else " ".join(g) for g in self.graphs)
        if len(groups) != n:
            raise ValueError(f"{owner} has {n} ids but {len(groups)} groups.")
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        object.__setattr__(self, "graphs", tuple(g if isinstance(g, str) else tuple(g) for g in self.graphs))

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: Sequence[int] | np.ndarray) -> "ExtrapolationTable":
        """The table restricted to ``rows`` (indices, in the order given)."""
        r = np.asarray(rows, dtype=np.int64)
        return ExtrapolationTable(tuple(self.ids[i] for i in r), tuple(self.graphs[i] for i in r), self.graph_kind,
                                  self.feature_names, self.features[r], self.tasks, self.low[r], self.high[r],
                                  tuple(self.groups[i] for i in r))

    def without_labels(self, fidelity: str = "high") -> "ExtrapolationTable":
        """A copy with the ``fidelity`` ('low' or 'high') labels all missing (for screening)."""
        blank = np.full_like(self.high, np.nan)
        return ExtrapolationTable(self.ids, self.graphs, self.graph_kind, self.feature_names, self.features,
                                  self.tasks, blank if fidelity == "low" else self.low,
                                  blank if fidelity == "high" else self.high, self.groups)


def check_labels(owner: str, table: ExtrapolationTable, fidelity: str = "high") -> None:
    """Refuse a table whose ``fidelity`` labels are all missing, or constant, for some task.

    Parameters
    ----------
    owner : str
        Who asks, for the message.
    table : ExtrapolationTable
    fidelity : {"high", "low"}
        Which labels to check.
    """
    values = getattr(table, fidelity)
    for j, t in enumerate(table.tasks):
        v = values[:, j][np.isfinite(values[:, j])]
        if v.size == 0:
            raise ValueError(f"{owner}: the {fidelity}-fidelity labels of task '{t}' are empty (every row is "
                             f"missing); drop the task or give labels.")
        if v.size >= 2 and np.ptp(v) == 0.0:
            raise ValueError(f"{owner}: the {fidelity}-fidelity labels of task '{t}' are constant ({v[0]:g} in all "
                             f"{v.size} rows); there is nothing to learn.")
        if v.size < 2:
            raise ValueError(f"{owner}: task '{t}' has only {v.size} {fidelity}-fidelity label; at least 2 are needed.")


@dataclass(frozen=True, eq=False, kw_only=True)
class ExtrapolationPrediction(Results):
    """Predicted long-run (and short-run) values of each row.

    Attributes
    ----------
    ids : tuple of str
    tasks : tuple of str
    high : ndarray, shape (n, n_tasks), float64
        Predicted long-run values in the task units (log10 S/m, log10 Å²/ps, or t₊).
    high_std : ndarray, shape (n, n_tasks), float64
        Their standard deviation (ensemble spread and, with a heteroscedastic head, the predicted
        noise); NaN when the model gives none.
    low : ndarray, shape (n, n_tasks), float64
        Predicted short-run values (NaN when the model gives none).
    beyond_range : ndarray, shape (n, n_tasks), float64, or None
        How far each predicted long-run value lies outside the range of the long-run labels the model
        was trained on, in task units (0 inside it; NaN where the task had no labels). Out of range
        the model extrapolates and its std, calibrated on in-range rows, is a lower bound. None when
        the model does not record its training range.
    """

    ids: tuple[str, ...]
    tasks: tuple[str, ...]
    high: np.ndarray
    high_std: np.ndarray
    low: np.ndarray
    beyond_range: np.ndarray | None = None

    def columns(self) -> dict[str, np.ndarray]:
        """Columns ``TASK``, ``TASK_std``, ``TASK_short`` (and ``TASK_beyond_range``) for a CSV (ids excluded)."""
        out: dict[str, np.ndarray] = {}
        for j, t in enumerate(self.tasks):
            out[t] = self.high[:, j]
            out[f"{t}_std"] = self.high_std[:, j]
            out[f"{t}_short"] = self.low[:, j]
            if self.beyond_range is not None:
                out[f"{t}_beyond_range"] = self.beyond_range[:, j]
        return out

    def out_of_range_text(self) -> str:
        """Lines naming, per task, how many predictions lie beyond the training labels ('' if none or unknown)."""
        if self.beyond_range is None:
            return ""
        lines = []
        for j, t in enumerate(self.tasks):
            d = self.beyond_range[:, j]
            out = np.isfinite(d) & (d > 0)
            if out.any():
                lines.append(f"{t}: {int(out.sum())} of {len(d)} predictions lie beyond the training long-run labels "
                             f"(by up to {float(d[out].max()):.3g} task units; column {t}_beyond_range): there the "
                             "model extrapolates and its std is a lower bound.")
        return "\n".join(lines)

    def _table(self) -> dict[str, np.ndarray]:
        return {"id": np.asarray(self.ids, dtype=object), **self.columns()}

    def write_csv(self, path: str, comment: str | None = None) -> None:
        """Write ``id`` and :meth:`columns` to ``path`` atomically (a temporary file, then a rename).

        ``comment``, when given, is written first as a ``#`` line (the command line's provenance).
        """
        cols = self.columns()
        rows = [[i, *(_fmt(cols[c][k]) for c in cols)] for k, i in enumerate(self.ids)]
        _atomic_csv(path, ["id", *cols], rows, comment)


def _fmt(v: float) -> str:
    return "" if not math.isfinite(v) else f"{v:.8g}"


def _atomic_csv(path: str, header: list[str], rows: Iterable[Sequence[Any]], comment: str | None = None) -> None:
    with atomic_write(path, "w", newline="") as fh:
        if comment:
            fh.write(comment if comment.startswith("#") else f"# {comment}")
            fh.write("\n")
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


# ----------------------------------------------------------------------------------------------
# cross-validation folds
# ----------------------------------------------------------------------------------------------

def kfold_indices(n: int, n_splits: int = 5, seed: int | None = 0,
                  groups: Sequence[Any] | None = None,
                  stratify: Sequence[bool] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test indices of k-fold cross-validation.

    Parameters
    ----------
    n : int
        Number of rows.
    n_splits : int
        Number of folds (>= 2).
    seed : int or None
        Shuffle with ``numpy.random.RandomState(seed)`` (the splits then equal scikit-learn's
        ``KFold(n_splits, shuffle=True, random_state=seed)``); None keeps the order.
    groups : sequence, optional
        Group label per row (e.g. the chemistry): whole groups are held out together, so a chemistry
        seen in training never appears in its test fold.
    stratify : sequence of bool, optional
        Rows that are scarce and must be spread over the folds (e.g. those with a long-run label):
        groups holding any are dealt to the folds in turn before the others fill them up, so every
        fold tests some and trains on the rest. Without it the splits are plain (shuffled) k-fold.

    Returns
    -------
    list of (train, test)
        ``n_splits`` pairs of sorted int64 index arrays; every row is in exactly one test fold.
    """
    owner = "kfold_indices"
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ValueError(f"The 'n_splits' parameter of {owner} must be an int >= 2. Got {n_splits!r} instead.")
    if groups is None:
        units = np.arange(n)
        labels = units
    else:
        if len(groups) != n:
            raise ValueError(f"The 'groups' parameter of {owner} has {len(groups)} labels for {n} rows.")
        uniq, labels = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
        units = np.arange(len(uniq))
    if len(units) < n_splits:
        raise ValueError(f"{owner} cannot make {n_splits} folds of {len(units)} "
                         f"{'groups' if groups is not None else 'rows'}.")
    order = units if seed is None else np.random.RandomState(seed).permutation(len(units))
    if stratify is None:
        sizes = np.full(n_splits, len(units) // n_splits)
        sizes[: len(units) % n_splits] += 1
        stop = np.cumsum(sizes)
        folds = [order[stop[k] - sizes[k]: stop[k]] for k in range(n_splits)]
    else:
        if len(stratify) != n:
            raise ValueError(f"The 'stratify' parameter of {owner} has {len(stratify)} flags for {n} rows.")
        scarce = np.zeros(len(units), dtype=bool)
        scarce[labels[np.asarray(stratify, dtype=bool)]] = True
        # Deal the scarce groups round-robin, then the others into the currently smallest folds.
        dealt = np.concatenate([order[scarce[order]], order[~scarce[order]]])
        n_scarce = int(scarce.sum())
        members: list[list[int]] = [[] for _ in range(n_splits)]
        for pos, u in enumerate(dealt):
            k = pos % n_splits if pos < n_scarce else int(np.argmin([len(m) for m in members]))
            members[k].append(int(u))
        folds = [np.asarray(m, dtype=np.int64) for m in members]
    out = []
    for held in folds:
        test = np.flatnonzero(np.isin(labels, held))
        out.append((np.setdiff1d(np.arange(n), test).astype(np.int64), test.astype(np.int64)))
    return out


def check_short_run_inputs(table: ExtrapolationTable, source: str, hint: str | None = None) -> None:
    """Refuse candidates whose measured short-run values of a task are one constant (a placeholder).

    A column filled with one value (0, -1, a copied number) would be fed to the long-run head as if
    every candidate had been simulated and found equal; leave it empty to predict without it.

    Parameters
    ----------
    table : ExtrapolationTable
        The candidates, with their short-run columns (``low``).
    source : str
        The file the candidates came from (named in the message).
    hint : str, optional
        Another way out, in the caller's syntax, appended to the message (e.g. a command-line flag).

    Raises
    ------
    ValueError
        A short-run column with one value in every row that gives it.
    """
    for j, t in enumerate(table.tasks):
        v = table.low[:, j][np.isfinite(table.low[:, j])]
        if v.size >= 2 and np.ptp(v) == 0.0:
            raise ValueError(f"Column 'low:{t}' of '{source}' is {v[0]:g} in all {v.size} rows that give it: a "
                             f"placeholder, not measured short runs. Leave the column empty (or drop it) to predict "
                             f"from the graph alone{'' if hint is None else ', ' + hint}.")
