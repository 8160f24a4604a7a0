"""Baselines for extrapolating long-run transport from short runs, and k-fold cross-validation (torch-free).

- :class:`ShortRunBaseline`: the long-run value is the short-run value itself (what screening by
  short runs assumes).
- :class:`LinearCorrection`: per task, ``high ≈ a · low + b`` fitted on the rows with both labels.
- :class:`RandomForestBaseline`: per task, a scikit-learn random forest on [ring fingerprint ‖
  features ‖ short-run values] (scikit-learn is imported lazily).

Every estimator here and :class:`trajml.extrapolation.deep.MultitaskExtrapolator` has
``fit(table)`` and ``fetch_model().predict(table)`` returning an
:class:`~trajml.extrapolation.tables.ExtrapolationPrediction`, which is all
:func:`cross_validate` needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from trajml._validation import Param
from trajml.base import Estimator
from trajml.errors import MissingExtraError
from trajml.extrapolation.tables import (
    ExtrapolationPrediction,
    ExtrapolationTable,
    check_labels,
    kfold_indices,
)
from trajml.results import Results
from trajml.results import read_only as _ro

__all__ = ["ShortRunBaseline", "ShortRunModel", "LinearCorrection", "RandomForestBaseline", "cross_validate",
           "CrossValidation", "graph_fingerprints", "least_squares_lines"]


def _prediction(table: ExtrapolationTable, high: np.ndarray, low: np.ndarray | None = None) -> ExtrapolationPrediction:
    nan = np.full_like(high, np.nan)
    return ExtrapolationPrediction(ids=table.ids, tasks=table.tasks, high=high, high_std=nan,
                                   low=nan if low is None else low, units={"high": "task units", "low": "task units"})


def _check_tasks(owner: str, trained: Sequence[str], table: ExtrapolationTable) -> None:
    if tuple(trained) != tuple(table.tasks):
        raise ValueError(f"{owner} was trained on tasks {list(trained)}; the table has {list(table.tasks)}.")


@dataclass(frozen=True, eq=False, kw_only=True)
class ShortRunModel(Results):
    """The short-run baseline: the long-run prediction is the short-run value (nothing learnt but the tasks)."""

    tasks: tuple[str, ...]

    def predict(self, table: ExtrapolationTable) -> ExtrapolationPrediction:
        """Long-run prediction = ``table.low`` (NaN where no short run)."""
        return _prediction(table, table.low.copy(), table.low.copy())


class ShortRunBaseline(Estimator):
    """Predict the long-run value as the short-run value (no parameters)."""

    _parameters: ClassVar[dict[str, Param]] = {}
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "table"
    _quick: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self._model: ShortRunModel | None = None

    def fit(self, table: ExtrapolationTable) -> "ShortRunBaseline":
        """Nothing to learn but the tasks; returns self."""
        self._model = ShortRunModel(tasks=tuple(table.tasks), units={})
        return self

    def predict(self, table: ExtrapolationTable) -> ExtrapolationPrediction:
        """Long-run prediction = ``table.low`` (NaN where no short run); needs no fit."""
        return _prediction(table, table.low.copy(), table.low.copy())


@dataclass(frozen=True, eq=False, kw_only=True)
class LinearCorrectionModel(Results):
    """Per-task slope and intercept of ``high ≈ slope · low + intercept`` (task units)."""

    tasks: tuple[str, ...]
    slope: np.ndarray
    intercept: np.ndarray

    def predict(self, table: ExtrapolationTable) -> ExtrapolationPrediction:
        """Corrected short-run values (NaN where no short run)."""
        _check_tasks("LinearCorrectionModel", self.tasks, table)
        return _prediction(table, table.low * self.slope + self.intercept, table.low.copy())


def least_squares_lines(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per task (column), the least-squares line ``high ≈ slope · low + intercept`` over the rows with
    both values.

    Parameters
    ----------
    low, high : ndarray, shape (n_rows, n_tasks)
        Short- and long-run values; NaN where missing.

    Returns
    -------
    slope, intercept : ndarray, shape (n_tasks,), float64
        1 and 0 for a task without a line.
    n_rows : ndarray, shape (n_tasks,), int64
        Rows with both values; a line needs at least 2 with distinct ``low`` (``n_rows`` is 0 otherwise).
    """
    n_tasks = low.shape[1]
    slope, intercept, n_rows = np.ones(n_tasks), np.zeros(n_tasks), np.zeros(n_tasks, dtype=np.int64)
    for j in range(n_tasks):
        ok = np.isfinite(low[:, j]) & np.isfinite(high[:, j])
        if ok.sum() >= 2 and np.ptp(low[ok, j]) > 0:
            slope[j], intercept[j] = np.polyfit(low[ok, j], high[ok, j], 1)
            n_rows[j] = ok.sum()
    return slope, intercept, n_rows


class LinearCorrection(Estimator):
    """Least-squares linear map from short-run to long-run values, one per task."""

    _parameters: ClassVar[dict[str, Param]] = {}
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "table"
    _quick: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self._model: LinearCorrectionModel | None = None

    def fit(self, table: ExtrapolationTable) -> "LinearCorrection":
        """Fit on the rows that have both labels of a task (at least 2, with distinct short-run values)."""
        slope, intercept, n_rows = least_squares_lines(table.low, table.high)
        for j, t in enumerate(table.tasks):
            if n_rows[j] == 0:
                ok = np.isfinite(table.low[:, j]) & np.isfinite(table.high[:, j])
                raise ValueError(f"LinearCorrection needs at least 2 rows with distinct short-run values and a "
                                 f"long-run value for task '{t}'; it has {int(ok.sum())}.")
        self._model = LinearCorrectionModel(tasks=table.tasks, slope=_ro(slope), intercept=_ro(intercept))
        return self


def graph_fingerprints(table: ExtrapolationTable, n_bits: int = 512, radius: int = 2,
                       vocabulary: Sequence[str] | None = None) -> np.ndarray:
    """Fingerprints of the rows' repeat units: Morgan bits of the ring (SMILES, needs RDKit) or the
    bead-type fractions over ``vocabulary`` (coarse-grained).

    Parameters
    ----------
    table : ExtrapolationTable
    n_bits : int
        Length of the Morgan bit vector (SMILES).
    radius : int
        Morgan radius in bonds (SMILES).
    vocabulary : sequence of str, optional
        Bead types of coarse-grained repeat units; default those of ``table``.
    """
    if table.graph_kind == "smiles":
        from trajml.extrapolation.polymer_rings import morgan_fingerprints

        return morgan_fingerprints(table.graphs, n_bits=n_bits, radius=radius, ids=table.ids).astype(np.float64)
    vocab = list(vocabulary or [])
    out = np.zeros((len(table), len(vocab)))
    for k, beads in enumerate(table.graphs):
        for b in beads:
            if b in vocab:
                out[k, vocab.index(b)] += 1.0 / len(beads)
    return out


@dataclass(frozen=True, eq=False, kw_only=True)
class RandomForestModel(Results):
    """Fitted random forests, one per task (not saved to disk: refit, it takes seconds)."""

    tasks: tuple[str, ...]
    feature_names: tuple[str, ...]
    graph_kind: str
    vocabulary: tuple[str, ...]
    n_bits: int
    radius: int
    low_fill: np.ndarray
    forests: tuple[Any, ...]

    def _design(self, table: ExtrapolationTable) -> np.ndarray:
        owner = "RandomForestModel.predict"
        _check_tasks(owner, self.tasks, table)
        if table.feature_names != self.feature_names or table.graph_kind != self.graph_kind:
            raise ValueError(f"{owner}: the model was trained with {self.graph_kind} graphs and features "
                             f"{list(self.feature_names)}; got {table.graph_kind} graphs and features "
                             f"{list(table.feature_names)}.")
        fp = graph_fingerprints(table, self.n_bits, self.radius, self.vocabulary)
        seen = np.isfinite(table.low)
        low = np.where(seen, table.low, self.low_fill)
        return np.hstack([fp, table.features, low, seen.astype(np.float64)])

    def predict(self, table: ExtrapolationTable) -> ExtrapolationPrediction:
        """Long-run predictions of every row (task units); the spread over trees as ``high_std``."""
        x = self._design(table)
        high = np.column_stack([f.predict(x) for f in self.forests])
        std = np.column_stack([np.std([t.predict(x) for t in f.estimators_], axis=0) for f in self.forests])
        nan = np.full_like(high, np.nan)
        return ExtrapolationPrediction(ids=table.ids, tasks=table.tasks, high=high, high_std=std, low=nan,
                                       units={"high": "task units", "high_std": "task units"})


class RandomForestBaseline(Estimator):
    """Random forest on [ring fingerprint ‖ features ‖ short-run values ‖ short-run present], per task.

    Parameters
    ----------
    n_estimators : int
        Trees per task.
    n_bits, radius : int
        Morgan fingerprint length and radius (SMILES tables).
    seed : int
        ``random_state`` of the forests.
    """

    _parameters = {
        "n_estimators": Param("int", help="trees per task", minimum=1),
        "n_bits": Param("int", help="Morgan fingerprint length (SMILES tables)", minimum=1),
        "radius": Param("int", help="Morgan fingerprint radius (SMILES tables)", minimum=1),
        "seed": Param("int", help="random_state of the forests", minimum=0),
    }
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "table"
    _quick: ClassVar[dict[str, Any]] = {"n_estimators": 5}

    def __init__(self, n_estimators: int = 200, n_bits: int = 512, radius: int = 2, seed: int = 0) -> None:
        self._set_params(locals())
        self._model: RandomForestModel | None = None

    def fit(self, table: ExtrapolationTable) -> "RandomForestBaseline":
        """Fit one forest per task on the rows with a long-run label."""
        owner = "RandomForestBaseline"
        try:
            from sklearn.ensemble import RandomForestRegressor
        except ImportError as exc:
            raise MissingExtraError("RandomForestBaseline needs scikit-learn, which is not installed. Install it "
                                    "with: pip install scikit-learn") from exc
        check_labels(owner, table, "high")
        vocab = tuple(sorted({b for g in table.graphs for b in g})) if table.graph_kind == "cg" else ()
        fill = np.array([np.nanmedian(c) if np.isfinite(c).any() else 0.0 for c in table.low.T])
        proto = RandomForestModel(tasks=table.tasks, feature_names=table.feature_names, graph_kind=table.graph_kind,
                                  vocabulary=vocab, n_bits=int(self.n_bits), radius=int(self.radius),
                                  low_fill=fill, forests=())
        x = proto._design(table)
        forests = []
        for j in range(len(table.tasks)):
            ok = np.isfinite(table.high[:, j])
            forests.append(RandomForestRegressor(n_estimators=int(self.n_estimators), random_state=self.seed,
                                                 n_jobs=1).fit(x[ok], table.high[ok, j]))
        self._model = RandomForestModel(tasks=table.tasks, feature_names=table.feature_names,
                                        graph_kind=table.graph_kind, vocabulary=vocab, n_bits=int(self.n_bits),
                                        radius=int(self.radius), low_fill=fill, forests=tuple(forests),
                                        provenance={"estimator": owner, "n_estimators": int(self.n_estimators)})
        return self


# ----------------------------------------------------------------------------------------------
# k-fold cross-validation
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, kw_only=True)
class CrossValidation(Results):
    """Out-of-fold long-run MAEs of a model and of the short-run baselines.

    Attributes
    ----------
    tasks : tuple of str
    methods : tuple of str
        ``"model"``, ``"short_run"`` (raw short-run value), ``"linear"`` (linear correction fitted on
        the training folds), and any extra baselines.
    mae : ndarray, shape (n_methods, n_folds, n_tasks), float64
        Mean absolute error against the long-run labels of each test fold, in task units (log10 for
        σ and D); computed on the test rows that have both a long-run and a short-run label, so every
        method is scored on the same rows. NaN where a fold has no such row.
    predictions : ndarray, shape (n_methods, n, n_tasks), float64
        Out-of-fold predictions of every row.
    folds : ndarray, shape (n,), int64
        Test fold of each row.
    """

    tasks: tuple[str, ...]
    methods: tuple[str, ...]
    mae: np.ndarray
    predictions: np.ndarray
    folds: np.ndarray

    def mean(self) -> dict[str, dict[str, tuple[float, float]]]:
        """Per method and task: (mean, standard deviation) of the fold MAEs."""
        return {m: {t: (float(np.nanmean(self.mae[i, :, j])), float(np.nanstd(self.mae[i, :, j])))
                    for j, t in enumerate(self.tasks)} for i, m in enumerate(self.methods)}

    def summary(self) -> str:
        """Text table of mean ± std fold MAE per method and task."""
        lines = [f"{'method':<12}" + "".join(f"{t:>24}" for t in self.tasks)]
        for m, per in self.mean().items():
            lines.append(f"{m:<12}" + "".join(f"{f'{a:.4f} ± {s:.4f}':>24}" for a, s in per.values()))
        return "\n".join(lines)


def cross_validate(make_estimator: Callable[[], Any], table: ExtrapolationTable, n_splits: int = 5, seed: int = 0,
                   *, by_group: bool = True, baselines: dict[str, Callable[[], Any]] | None = None) -> CrossValidation:
    """K-fold cross-validation of a long-run extrapolator against the short-run baselines.

    Parameters
    ----------
    make_estimator : callable
        Returns a fresh estimator (``fit(table)``, ``fetch_model().predict(table)``).
    table : ExtrapolationTable
        All labelled rows.
    n_splits : int
        Number of folds.
    seed : int
        Fold shuffling seed (see :func:`kfold_indices`); rows with a long-run label are spread
        over the folds first (``stratify``).
    by_group : bool
        Hold out whole chemistries (``table.groups``) rather than single rows.
    baselines : dict of str to callable, optional
        Extra estimators to score (e.g. ``{"forest": RandomForestBaseline}``).

    Returns
    -------
    CrossValidation
    """
    check_labels("cross_validate", table, "high")
    factories: dict[str, Callable[[], Any]] = {"model": make_estimator, "short_run": ShortRunBaseline,
                                               "linear": LinearCorrection, **(baselines or {})}
    # Long-run labels are the scarce rows: spread them so every fold trains and tests on some.
    splits = kfold_indices(len(table), n_splits, seed, table.groups if by_group else None,
                           stratify=np.isfinite(table.high).any(axis=1))
    n, t = table.high.shape
    preds = np.full((len(factories), n, t), np.nan)
    mae = np.full((len(factories), n_splits, t), np.nan)
    folds = np.zeros(n, dtype=np.int64)
    for k, (train, test) in enumerate(splits):
        folds[test] = k
        tr, te = table.subset(train), table.subset(test)
        scored = np.isfinite(te.high) & np.isfinite(te.low)
        for i, make in enumerate(factories.values()):
            p = make().fit(tr).fetch_model().predict(te).high
            preds[i, test] = p
            err = np.where(scored, np.abs(p - te.high), np.nan)
            with np.errstate(invalid="ignore"):
                mae[i, k] = [np.nanmean(c) if np.isfinite(c).any() else np.nan for c in err.T]
    return CrossValidation(tasks=table.tasks, methods=tuple(factories), mae=mae, predictions=preds, folds=folds,
                           units={"mae": "task units", "predictions": "task units"},
                           provenance={"n_splits": n_splits, "seed": seed, "by_group": by_group})
