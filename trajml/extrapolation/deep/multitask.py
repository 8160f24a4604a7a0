"""Multi-fidelity, multitask graph network that extrapolates long-run transport from short MD runs.

After Xie et al. (Nat. Commun. 2022): a shared graph trunk embeds the polymer repeat unit (a ring
graph, see :mod:`trajml.extrapolation.deep.polymer_graph`) together with the numeric features (salt
concentration, temperature, CG parameters, short-run descriptors); a low-fidelity head predicts the
short-run labels, trained on many short runs; a high-fidelity head, fed with [embedding ‖
short-run value], predicts the long-run labels, trained on few long runs.

The short-run value fed to the high-fidelity head is the measured one where the row has it
(``low_input="observed"``, the default: a system with a short run gets its long-run value
extrapolated from it) and the low-fidelity head's prediction otherwise (screening without any MD).
By default (``residual=True``) the long-run value is ``a · (w · fed + (1 − w) · predicted) + b +
correction``: a per-task linear map (slope ``a``, intercept ``b``, started at the least-squares fit
of the training rows) of a learned blend of that value and the low-fidelity prediction (weight ``w``
per task, starting at one half), plus the high-fidelity head's output. An untrained residual model
is therefore the linear correction of the blended short-run value. The blend is where the many
short runs pay off: the low-fidelity head, trained on every short run, averages out the noise of a
single measured short run. The correction carries what the chemistry adds; a zero-mean prior on it
(``correction_prior``, in pseudo-rows, chosen per task by inner cross-validation by default) keeps
tens of noisy long runs from being fitted label by label.
During training the measured value is replaced by the prediction with probability
``low_dropout``, so the high-fidelity head learns to use both. ``low_input="predicted"`` always
uses the prediction.
A single short run is noisy, so after training the measured value is weighed by its noise: each
member feeds ``low + k · (measured − low)``, with the weight ``k`` in [0, 1] per task estimated on
held-out rows (from the noise of replicate runs, ``short_run_noise``, or by least squares on the
held-out long-run labels); ``k = 0`` is exactly the prediction without the measured value.

Tasks (any subset, any label missing per row; see :mod:`trajml.extrapolation.tables`):
log10 σ (σ in S/m), log10 D_Li, log10 D_anion, log10 D_polymer (D in Å²/ps), transference number.
Missing labels are masked out of the loss (:func:`masked_loss`). Targets are standardised per
task internally; predictions come back in task units. Uncertainty: an ensemble of ``n_models``
networks (different seeds and validation splits), plus the predicted noise of a heteroscedastic
head (``heteroscedastic=True``). Trained with a predefined validation set (``fit(table, validation)``),
every member stops early on it. The raw ensemble spread of a few networks is several times smaller
than the error, so the std is calibrated on cross-fitted members: each member leaves out the long-run
labels of one fold, and the out-of-member residuals fit a scale on the spread and a constant floor
per task (``calibration``; :mod:`trajml.extrapolation.deep.calibration`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from typing import Any, ClassVar

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from trajml._progress import log_line
from trajml._torch import resolve_torch_device
from trajml.base import Estimator
from trajml.extrapolation.baselines import least_squares_lines
from trajml.extrapolation.deep.calibration import (
    calibration_text,
    cross_fit_calibrated,
    long_label_folds,
    validation_calibrated,
)
from trajml.extrapolation.deep.measured_weight import measured_weight, weight_provenance
from trajml.extrapolation.deep.model import MultitaskModel
from trajml.extrapolation.deep.network import _Net, masked_loss
from trajml.extrapolation.deep.polymer_graph import table_graphs
from trajml.extrapolation.multitask_parameters import MULTITASK_PARAMETERS
from trajml.extrapolation.tables import TASKS, ExtrapolationTable, check_labels, kfold_indices
from trajml.results import read_only as _ro

__all__ = ["MultitaskExtrapolator", "PRIOR_GRID"]


#: Candidate strengths (pseudo-rows) of the correction prior tried by ``correction_prior='auto'``; an
#: infinite prior makes the task the plain linear correction of the measured short-run value.
PRIOR_GRID = (0.0, 10.0, 100.0, 1000.0, math.inf)


# ----------------------------------------------------------------------------------------------
# the estimator
# ----------------------------------------------------------------------------------------------

class MultitaskExtrapolator(Estimator):
    """Estimator of a :class:`MultitaskModel` (shared graph trunk, low- and high-fidelity heads).

    Parameters
    ----------
    hidden : int
        Width of the graph layers, the embedding and the heads.
    n_layers : int
        Graph convolutions (GINE, with residual connections).
    epochs : int
        Maximum passes over the training rows.
    lr : float
        Adam learning rate.
    weight_decay : float
        Adam L2 penalty.
    batch_size : int
        Rows per mini-batch.
    low_weight : float
        Weight of the low-fidelity loss relative to the high-fidelity loss.
    n_models : int
        Ensemble members (different seeds and validation splits); their spread is the uncertainty.
    heteroscedastic : bool
        Heads predict a log variance too, trained with the Gaussian NLL.
    residual : bool
        The long-run value is a learned per-task linear map of a learned blend of the short-run value fed
        to the high-fidelity head (measured or predicted) and the low-fidelity prediction, plus the
        head's correction (see the module docstring); the map starts at the least-squares fit of the
        training rows and the correction at zero. False: the head predicts the long-run value itself.
    correction_prior : float or 'auto'
        Residual models: strength, in pseudo-rows, of a zero-mean prior on the high-fidelity head's
        correction (a penalty on its square, standardised units): with ``n`` long-run labels, a
        correction the labels call for is shrunk by about ``n / (n + correction_prior)``. With tens of
        noisy long runs a free correction mostly fits their noise; with clean or many labels it
        carries the chemistry. 0 leaves it free; ``math.inf`` drops the correction and the blend, so
        the task is the linear correction of the fed short-run value (for labels too noisy for more).
        ``'auto'`` (default) picks it per task from :data:`PRIOR_GRID` by 3-fold cross-validation (by
        group) of single networks on the training rows' long-run labels, which costs ``5 × 3`` extra
        single-network fits; the choice and the scores are in the model's provenance
        (``correction_prior_choice``).
    low_input : {'observed', 'predicted'}
        What the high-fidelity head is fed: the measured short-run value where present, or always the
        low-fidelity head's prediction.
    low_dropout : float
        Probability, per training row and task, of feeding the prediction instead of the measured value.
    short_run_noise : float or None
        Noise-aware use of a measured short-run value: after training, each member feeds
        ``low + k (measured - low)`` (``low`` the low-fidelity head's prediction), with a weight ``k``
        in [0, 1] per task estimated on its held-out rows (the predefined validation set, or the
        ``validation_fraction`` rows). Given, the std of one short run's value in task units (e.g.
        from replicate runs of the same systems; the same for every task):
        ``k = 1 - short_run_noise² / r²``, ``r²`` the low head's mean square residual there. None: ``k``
        is taken from the held-out long-run labels as ``short_run_weight`` says (``k = 0`` is exactly the
        prediction without the measured value).
        The weights are in the model's provenance (``measured_weight``); tasks with an infinite
        ``correction_prior`` (the linear correction) keep weight 1.
    short_run_weight : {'lower-bound', 'least-squares'}
        Without ``short_run_noise``: ``'lower-bound'`` (the default), one standard error below the
        weight that fits the held-out long-run labels best, so that the measured value is trusted only
        as far as those rows show it helps; ``'least-squares'``, that best-fitting weight itself. On the
        published polymer data (split 0, three seeds, 11 test polymers each) the lower bound made
        feeding the 5-ns value no worse than not feeding it for every property and seed (σ 0.091 vs
        0.091), where least squares made σ worse (0.095); least squares gained more on the diffusion
        coefficients (mean MAE over four properties 0.086, lower bound 0.087, without the value 0.089).
    calibration : {'cross-fit', 'cross-fit-refit', 'validation', 'none'}
        How the predicted std is calibrated (the raw spread of a few members trained on the same tens of
        long runs is several times smaller than their error). ``'cross-fit'``: the training rows with a
        long-run label are dealt into ``n_models`` folds by group and member ``m`` is trained without
        the long-run labels of fold ``m`` (keeping their short-run labels), so every long-run label gets
        a prediction from a member that did not see it; per task and per input (measured short run fed
        or not), ``std = sqrt((a · spread)² + b²)`` with the scale ``a`` and the floor ``b`` fitted so
        that these out-of-member z-scores have rms 1 (:mod:`trajml.extrapolation.deep.calibration`).
        Each member then learns from ``(n_models - 1) / n_models`` of the long-run labels.
        ``'cross-fit-refit'``: the same calibration, then the members are trained again on every
        long-run label (twice the training; the calibration, fitted on members that saw fewer labels,
        is then slightly conservative). ``'validation'``: one scale per task so that the z-scores of
        the predefined validation set have rms 1 (needs ``fit(table, validation)``; a few rows, which
        also chose the stopping epoch: unstable and optimistic). ``'none'``: the raw spread. With one
        member there is nothing to cross-fit and the std stays raw. The calibration is in the model's
        provenance (``calibration``).
    validation_fraction : float
        Share of the rows held out for early stopping, in [0, 1), drawn among all rows (short-run labels
        count: with few long runs, their handful of labels alone is a noisy stopping signal); the
        validation loss is that of both heads. 0 keeps the last epoch.
    patience : int or None
        Epochs without a better validation loss before stopping; None never stops early.
    n_workers : int or None
        Processes of the ``'auto'`` correction-prior search (its single-network fits run side by side,
        one torch thread each); None: one per CPU core. 1 (default) runs them in this process. Each
        worker first spends seconds importing torch, so it pays off only with idle cores and long fits
        (on a loaded 2-core machine, 60-epoch fits took 44 s with 2 workers against 27 s serially).
        Worker processes are spawned: a script that fits with ``n_workers != 1`` needs the
        ``if __name__ == "__main__":`` guard.
    seed : int
        Seeds weights, splits and shuffling (member k uses ``seed + k``).
    device : str
        Torch device for training; the model predicts on the CPU.
    progress : bool
        Progress bar over epochs.

    Examples
    --------
    See ``examples/extrapolate_synthetic.py``.
    """

    _parameters = MULTITASK_PARAMETERS
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "table"
    _quick: ClassVar[dict[str, Any]] = {"hidden": 4, "n_layers": 1, "epochs": 2, "n_models": 1,
                                        "correction_prior": 10.0, "validation_fraction": 0.0}

    def __init__(self, hidden: int = 64, n_layers: int = 3, epochs: int = 300, lr: float = 3e-3,
                 weight_decay: float = 1e-5, batch_size: int = 64, low_weight: float = 1.0, n_models: int = 5,
                 heteroscedastic: bool = False, residual: bool = True, correction_prior: float | str = "auto",
                 low_input: str = "observed", low_dropout: float = 0.3, short_run_noise: float | None = None,
                 short_run_weight: str = "lower-bound", calibration: str = "cross-fit",
                 validation_fraction: float = 0.1, patience: int | None = 50,
                 n_workers: int | None = 1, seed: int = 0, device: str = "cpu",
                 progress: bool = False) -> None:
        self._set_params(locals())
        self._model: MultitaskModel | None = None
        self._cross_fitted: MultitaskModel | None = None  # 'cross-fit-refit': the calibrating members (benchmarks)

    def _validated(self) -> dict[str, Any]:
        p = self.get_params()
        p["device"] = resolve_torch_device(self.device, type(self).__name__)
        return p

    def fit(self, table: ExtrapolationTable,
            validation: ExtrapolationTable | None = None) -> "MultitaskExtrapolator":
        """Train the ensemble on ``table``, replacing any earlier fit.

        Parameters
        ----------
        table : ExtrapolationTable
            Rows with graphs, features and low/high-fidelity labels (NaN = missing). Every task needs
            at least two distinct long-run labels; short-run labels must not be constant.
        validation : ExtrapolationTable, optional
            A predefined validation set (same tasks and features) that every member stops early on,
            instead of ``validation_fraction`` of the training rows; it needs long-run labels.

        Returns
        -------
        MultitaskExtrapolator
            ``self``.
        """
        owner = type(self).__name__
        p = self._validated()
        if not isinstance(table, ExtrapolationTable):
            raise TypeError(f"The 'table' parameter of {owner}.fit must be an ExtrapolationTable. "
                            f"Got {type(table).__name__} instead.")
        if not table.tasks:
            raise ValueError(f"{owner}.fit: the table has no tasks (label columns); known tasks: {list(TASKS)}.")
        check_labels(owner, table, "high")
        if p["calibration"] == "validation" and validation is None:
            raise ValueError(f"{owner}: calibration='validation' needs a predefined validation set "
                             f"(fit(table, validation); --validation on the command line).")
        n_train = len(table)
        if validation is not None:
            table = _with_validation(owner, table, validation)
        rows = table.subset(np.arange(n_train))  # the training rows: statistics and prior search see only them
        for j, t in enumerate(table.tasks):
            v = rows.low[:, j][np.isfinite(rows.low[:, j])]
            if v.size >= 2 and np.ptp(v) == 0.0:
                raise ValueError(f"{owner}: the low-fidelity labels of task '{t}' are constant ({v[0]:g} in all "
                                 f"{v.size} rows); there is nothing to learn.")
        vocab = tuple(sorted({b for g in table.graphs for b in g})) if table.graph_kind == "cg" else ()
        graphs = table_graphs(table, vocab)
        prior_choice: dict[str, Any] = {}
        if p["correction_prior"] != "auto":
            p["correction_prior"] = [p["correction_prior"]] * len(table.tasks)
        elif p["residual"]:
            prior_choice = self._choose_prior(rows, p)
            p["correction_prior"] = [prior_choice["chosen"][t] for t in table.tasks]
        else:
            p["correction_prior"] = [0.0] * len(table.tasks)
        both = np.concatenate([rows.low, rows.high])
        mean = np.nanmean(both, axis=0)
        std = np.nanstd(both, axis=0)
        std = np.where(std > 0, std, 1.0)
        low_s, high_s = (table.low - mean) / std, (table.high - mean) / std
        node_dim, edge_dim = int(graphs[0].x.shape[1]), int(graphs[0].edge_attr.shape[1])
        calibration = p["calibration"]
        if calibration in ("cross-fit", "cross-fit-refit") and p["n_models"] < 2:
            calibration = "none"  # one member: no fold to leave out (its std is NaN unless heteroscedastic)
        folds = (long_label_folds(table, n_train, p["n_models"], p["seed"])
                 if calibration in ("cross-fit", "cross-fit-refit") else None)
        fit = lambda held, what: self._fit_members(  # noqa: E731
            p, table, graphs, low_s, high_s, n_train, validation is not None, std, held, what)
        start = time.perf_counter()
        members = fit(folds, " (cross-fitted: without one fold's long-run labels)" if folds is not None else "")
        cross = self._assemble(p, table, vocab, graphs, node_dim, edge_dim, mean, std, n_train, members,
                               prior_choice, rows, validation)
        if folds is not None:
            cross = cross_fit_calibrated(cross, table.subset(np.arange(n_train)), folds)
            cal = {**cross.provenance["calibration"], "seconds": {"cross_fitted": time.perf_counter() - start}}
            cross = dataclasses.replace(cross, provenance={**cross.provenance, "calibration": cal})
            if self.progress:
                log_line(calibration_text(cross.tasks, cross.std_scale, cross.std_floor, cal))
        self._cross_fitted = cross if calibration == "cross-fit-refit" else None
        if calibration == "cross-fit-refit":  # the final members see every long-run label; the calibration is kept
            start = time.perf_counter()
            final = self._assemble(p, table, vocab, graphs, node_dim, edge_dim, mean, std, n_train,
                                   fit(None, " (refit on every long-run label)"), prior_choice, rows, validation)
            cal = cross.provenance["calibration"]
            cal = {**cal, "seconds": {**cal["seconds"], "refit": time.perf_counter() - start}}
            cross = dataclasses.replace(final, std_scale=cross.std_scale, std_floor=cross.std_floor,
                                        provenance={**final.provenance, "calibration": cal})
        elif calibration == "validation" and validation is not None:
            cross = validation_calibrated(cross, validation)
        self._model = cross
        return self

    def _fit_members(self, p: dict[str, Any], table: ExtrapolationTable, graphs: list[Data], low_s: np.ndarray,
                     high_s: np.ndarray, n_train: int, predefined: bool, std: np.ndarray,
                     folds: list[np.ndarray] | None, what: str) -> dict[str, Any]:
        """Train the ``n_models`` members; member ``k`` without the long-run labels of ``folds[k]`` if given."""
        owner = type(self).__name__
        node_dim, edge_dim = int(graphs[0].x.shape[1]), int(graphs[0].edge_attr.shape[1])
        f_mean = table.features[:n_train].mean(axis=0) if len(table.feature_names) else np.zeros(0)
        f_std = table.features[:n_train].std(axis=0) if len(table.feature_names) else np.zeros(0)
        f_std = np.where(f_std > 0, f_std, 1.0)
        out: dict[str, Any] = {"params": {}, "train": [], "val": [], "best": [], "weights": [], "source": []}
        for k in range(p["n_models"]):
            seed = p["seed"] + k
            high_k = high_s
            if folds is not None:  # this member never sees the long-run labels of its fold (short runs kept)
                high_k = high_s.copy()
                high_k[folds[k]] = np.nan
            slope, intercept, _ = least_squares_lines(low_s[:n_train], high_k[:n_train])  # 1, 0 where no line
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                net = _Net(node_dim, edge_dim, len(table.feature_names), len(table.tasks), p["hidden"],
                           p["n_layers"], p["heteroscedastic"], p["residual"])
            net.feature_shift.copy_(torch.as_tensor(f_mean, dtype=torch.float32))
            net.feature_scale.copy_(torch.as_tensor(f_std, dtype=torch.float32))
            if net.slope is not None:
                with torch.no_grad():
                    net.slope.copy_(torch.as_tensor(slope, dtype=torch.float32))
                    net.intercept.copy_(torch.as_tensor(intercept, dtype=torch.float32))
                    net.linear_only.copy_(torch.as_tensor(np.isinf(p["correction_prior"])))
            if not predefined:
                tr, va = self._split(table, p["validation_fraction"], seed)
            else:
                tr, va = np.arange(n_train), np.arange(n_train, len(table))
            curves = self._train(net, p, graphs, table.features, low_s, high_k, tr, va, seed,
                                 f"{owner} member {k + 1}/{p['n_models']}{what}")
            out["train"].append(curves[0])
            out["val"].append(curves[1])
            out["best"].append(curves[2])
            state = curves[3]
            if p["low_input"] == "observed":
                net.load_state_dict(state)
                noise = None if p["short_run_noise"] is None else np.full(len(table.tasks), p["short_run_noise"]) / std
                weight, how = measured_weight(net, graphs, table.features, low_s, high_k, va if len(va) else tr, noise,
                                              lower_bound=p["short_run_weight"] == "lower-bound")
                state["measured_weight"] = torch.as_tensor(weight, dtype=torch.float32)
                out["weights"].append(weight)
                out["source"].append(how if len(va) else f"{how} (training rows: no held-out rows)")
            out["params"].update({f"m{k}.{n}": _ro(v.detach().cpu().numpy(), np.float32) for n, v in state.items()})
        return out

    def _assemble(self, p: dict[str, Any], table: ExtrapolationTable, vocab: tuple[str, ...], graphs: list[Data],
                  node_dim: int, edge_dim: int, mean: np.ndarray, std: np.ndarray, n_train: int,
                  members: dict[str, Any], prior_choice: dict[str, Any], rows: ExtrapolationTable,
                  validation: ExtrapolationTable | None) -> MultitaskModel:
        """The :class:`MultitaskModel` of trained members (uncalibrated)."""
        owner = type(self).__name__
        train_curves, val_curves, best_epochs = members["train"], members["val"], members["best"]
        params, weights, weight_source = members["params"], members["weights"], members["source"]
        width = p["epochs"]
        pad = lambda c: np.array([list(x) + [np.nan] * (width - len(x)) for x in c])  # noqa: E731
        return MultitaskModel(
            tasks=table.tasks, graph_kind=table.graph_kind, vocabulary=vocab, feature_names=table.feature_names,
            node_dim=node_dim, edge_dim=edge_dim, hidden=p["hidden"], n_layers=p["n_layers"],
            heteroscedastic=p["heteroscedastic"], residual=p["residual"], low_input=p["low_input"],
            target_mean=_ro(mean),
            target_std=_ro(std), train_losses=_ro(pad(train_curves)), validation_losses=_ro(pad(val_curves)),
            best_epochs=_ro(best_epochs, np.int64), parameters=params,
            units={"target_mean": "task units", "target_std": "task units", "train_losses": "",
                   "validation_losses": ""},
            provenance={"estimator": owner, "params": {k: (str(v) if k == "device" else v) for k, v in p.items()},
                        **({"correction_prior_choice": prior_choice} if prior_choice else {}),
                        "n_rows": n_train, "n_low_labels": {t: int(np.isfinite(rows.low[:, j]).sum())
                                                            for j, t in enumerate(table.tasks)},
                        "n_high_labels": {t: int(np.isfinite(rows.high[:, j]).sum())
                                          for j, t in enumerate(table.tasks)},
                        "training_label_range": _label_range(rows),
                        **({"n_validation_rows": len(table) - n_train} if validation is not None else {}),
                        **({"measured_weight": weight_provenance(table.tasks, weights, weight_source)}
                           if weights else {}),
                        "calibration": {"method": "none"}})

    def _choose_prior(self, table: ExtrapolationTable, p: dict[str, Any]) -> dict[str, Any]:
        """Per task, the correction prior of :data:`PRIOR_GRID` with the lowest 3-fold (by group)
        cross-validated MAE of single networks on the long-run labels."""
        has_long = np.isfinite(table.high).any(axis=1)
        groups = np.asarray(table.groups, dtype=object)
        n_splits = min(3, len(set(groups[has_long])))
        scores: dict[float, list[np.ndarray]] = {c: [] for c in PRIOR_GRID}
        jobs = []
        if n_splits >= 2:
            for train, test in kfold_indices(len(table), n_splits, p["seed"], table.groups, stratify=has_long):
                tr, te = table.subset(train), table.subset(test)
                try:
                    check_labels("", tr, "high")
                except ValueError:  # a task with < 2 distinct long labels in this fold: skip the fold
                    continue
                jobs += [(len(jobs) // len(PRIOR_GRID) + 1, prior, tr, te) for prior in PRIOR_GRID]
        params = {**self.get_params(), "n_models": 1, "progress": False, "n_workers": 1}
        n_folds = len(jobs) // len(PRIOR_GRID)
        workers = min(len(jobs), p["n_workers"] or os.cpu_count() or 1)

        def report(fold: int, prior: float, mae: np.ndarray) -> None:
            scores[prior].append(mae)
            if self.progress:
                text = ", ".join(f"{t} {v:.4f}" for t, v in zip(table.tasks, mae))
                log_line(f"correction-prior search: inner fold {fold}/{n_folds}, prior {prior:g}: MAE {text}")

        if workers <= 1:
            for fold, prior, tr, te in jobs:
                report(fold, prior, _prior_fold_mae(params, prior, tr, te))
        else:
            # spawned processes, one torch thread each: fork after torch has started threads can hang
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = [pool.submit(_prior_fold_mae, params, prior, tr, te) for _, prior, tr, te in jobs]
                for (fold, prior, _, _), fut in zip(jobs, futures):
                    report(fold, prior, fut.result())
        chosen, table_scores = {}, {}
        for j, task in enumerate(table.tasks):
            with np.errstate(invalid="ignore"):
                mean = {c: float(np.nanmean([f[j] for f in v])) if v else math.nan for c, v in scores.items()}
            finite = {c: v for c, v in mean.items() if math.isfinite(v)}
            chosen[task] = min(finite, key=finite.get) if finite else PRIOR_GRID[len(PRIOR_GRID) // 2]
            table_scores[task] = {f"{c:g}": v for c, v in mean.items()}
        return {"chosen": chosen, "mae": table_scores}

    @staticmethod
    def _split(table: ExtrapolationTable, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Training rows and validation rows (drawn among all rows; at least two rows with a long-run
        label stay in training)."""
        rows = np.arange(len(table))
        n_val = int(round(fraction * len(rows)))
        if fraction == 0.0 or n_val < 1:
            return rows, rows[:0]
        held = np.sort(np.random.default_rng(seed).permutation(rows)[:n_val])
        train = np.setdiff1d(rows, held)
        if np.isfinite(table.high[train]).any(axis=1).sum() < 2:
            return rows, rows[:0]
        return train, held

    @staticmethod
    def _train(net: _Net, p: dict[str, Any], graphs: list[Data], features: np.ndarray, low: np.ndarray,
               high: np.ndarray, train: np.ndarray, val: np.ndarray, seed: int,
               owner: str) -> tuple[list[float], list[float], int, dict[str, torch.Tensor]]:
        dev = p["device"]
        net.to(dev)
        x_all = torch.as_tensor(features, dtype=torch.float32, device=dev)
        low_t = torch.as_tensor(low, dtype=torch.float32, device=dev)
        high_t = torch.as_tensor(high, dtype=torch.float32, device=dev)
        low_m, high_m = torch.isfinite(low_t), torch.isfinite(high_t)
        observed = low_m & (p["low_input"] == "observed")
        low_feed = torch.where(observed, low_t, torch.full_like(low_t, math.nan))  # what may be fed
        n_long = max(int(high_m[torch.as_tensor(train, device=dev)].sum()), 1)
        # an infinite prior has no correction to penalise (linear_only)
        priors = torch.as_tensor(np.where(np.isinf(p["correction_prior"]), 0.0, p["correction_prior"]),
                                 dtype=torch.float32, device=dev)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(net.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])

        def loss_of(rows: np.ndarray, drop: bool) -> torch.Tensor:
            idx = torch.as_tensor(rows, device=dev)
            b = Batch.from_data_list([graphs[i] for i in rows]).to(dev)
            use = observed[idx]
            if drop and p["low_dropout"] > 0:
                keep = torch.rand(use.shape, generator=gen) >= p["low_dropout"]
                use = use & keep.to(dev)
            lo, lo_lv, hi, hi_lv, head = net(b, x_all[idx], low_feed[idx], use)
            loss = (p["low_weight"] * masked_loss(lo, low_t[idx], low_m[idx], lo_lv)
                    + masked_loss(hi, high_t[idx], high_m[idx], hi_lv))
            if net.blend_logit is not None:
                # per task, prior / (long labels) × mean square of the correction: against the data term
                # (a mean over the long labels) it counts as correction_prior rows of zero correction
                loss = loss + (priors * (head[:, :net.n_tasks] ** 2).mean(dim=0)).sum() / n_long
            return loss

        train_losses: list[float] = []
        val_losses: list[float] = []
        best, best_epoch, wait = math.inf, 0, 0
        best_state = copy.deepcopy(net.state_dict())
        from trajml._progress import progress_bar

        bar = progress_bar(p["epochs"], owner, "epoch", bool(p.get("progress", False)), leave=True)
        for epoch in range(p["epochs"]):
            net.train()
            order = train[torch.randperm(len(train), generator=gen).numpy()]
            losses = []
            for s in range(0, len(order), p["batch_size"]):
                rows = order[s:s + p["batch_size"]]
                opt.zero_grad()
                loss = loss_of(rows, True)
                if not torch.isfinite(loss):
                    raise RuntimeError(f"{owner} hit a non-finite loss in epoch {epoch}; lower 'lr'.")
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()) * len(rows))
            train_losses.append(sum(losses) / len(order))
            if len(val):
                net.eval()
                with torch.no_grad():
                    idx = torch.as_tensor(val, device=dev)
                    b = Batch.from_data_list([graphs[i] for i in val]).to(dev)
                    # both heads: with few long runs, a handful of long labels alone is too noisy to stop on
                    lo, lo_lv, hi, hi_lv, _ = net(b, x_all[idx], low_feed[idx], observed[idx])
                    v = float(p["low_weight"] * masked_loss(lo, low_t[idx], low_m[idx], lo_lv)
                              + masked_loss(hi, high_t[idx], high_m[idx], hi_lv))
                val_losses.append(v)
                if v < best:
                    best, best_epoch, wait = v, epoch, 0
                    best_state = copy.deepcopy(net.state_dict())
                else:
                    wait += 1
                    if p["patience"] is not None and wait >= p["patience"]:
                        break
            else:
                val_losses.append(math.nan)
                best_epoch, best_state = epoch, net.state_dict()
            bar.update(1)
        bar.close()
        return train_losses, val_losses, best_epoch, {k: v.detach().cpu().clone() for k, v in best_state.items()}


def _with_validation(owner: str, table: ExtrapolationTable, validation: ExtrapolationTable) -> ExtrapolationTable:
    """``table`` with the rows of ``validation`` appended, after checking that they fit together."""
    if not isinstance(validation, ExtrapolationTable):
        raise TypeError(f"The 'validation' parameter of {owner}.fit must be an ExtrapolationTable. "
                        f"Got {type(validation).__name__} instead.")
    for what in ("tasks", "feature_names", "graph_kind"):
        if getattr(validation, what) != getattr(table, what):
            raise ValueError(f"The 'validation' table of {owner}.fit has {what} {getattr(validation, what)!r}; the "
                             f"training table has {getattr(table, what)!r}.")
    if not np.isfinite(validation.high).any():
        raise ValueError(f"The 'validation' table of {owner}.fit has no long-run label; early stopping needs them.")
    shared = sorted(set(table.ids) & set(validation.ids))
    if shared:
        raise ValueError(f"The 'validation' table of {owner}.fit shares id(s) {shared[:5]} with the training table.")
    return ExtrapolationTable(table.ids + validation.ids, table.graphs + validation.graphs, table.graph_kind,
                              table.feature_names, np.concatenate([table.features, validation.features]),
                              table.tasks, np.concatenate([table.low, validation.low]),
                              np.concatenate([table.high, validation.high]), table.groups + validation.groups)


def _prior_fold_mae(params: dict[str, Any], prior: float, train: ExtrapolationTable,
                    test: ExtrapolationTable) -> np.ndarray:
    """MAE per task on ``test``'s long-run labels of one network with correction prior ``prior``
    trained on ``train`` (one job of the prior search; runs in a worker process too)."""
    if multiprocessing_child():
        torch.set_num_threads(1)
    pred = MultitaskExtrapolator(**{**params, "correction_prior": prior}).fit(train).fetch_model().predict(test).high
    err = np.where(np.isfinite(test.high), np.abs(pred - test.high), np.nan)
    with np.errstate(invalid="ignore"):
        return np.nanmean(err, axis=0)


def multiprocessing_child() -> bool:
    """Whether this is a worker process of a pool (not the main process)."""
    import multiprocessing

    return multiprocessing.parent_process() is not None


def _label_range(rows: ExtrapolationTable) -> dict[str, list[float]]:
    """Per task, [min, max] of the training long-run labels in task units (tasks without labels left out)."""
    out = {}
    for j, t in enumerate(rows.tasks):
        y = rows.high[:, j][np.isfinite(rows.high[:, j])]
        if y.size:
            out[t] = [float(y.min()), float(y.max())]
    return out
