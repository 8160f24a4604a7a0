"""A trained multi-fidelity ensemble (frozen): long-run and short-run predictions of a table, and its model file.

:class:`MultitaskModel` holds the weights of every ensemble member as NumPy arrays with the label
standardisation and the training curves; :meth:`~MultitaskModel.predict` rebuilds the networks of
:mod:`trajml.extrapolation.deep.network` on the CPU. It is a trajml model file
(:func:`trajml.store.save_model` / :func:`trajml.store.load_model`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch

from trajml._files import atomic_write
from trajml.extrapolation.deep.network import _Net
from trajml.extrapolation.deep.polymer_graph import table_graphs
from trajml.extrapolation.tables import ExtrapolationPrediction, ExtrapolationTable
from trajml.results import Results, _plain
from trajml.results import read_only as _ro
from trajml.store.models import FORMAT, FORMAT_VERSION, StoredModel, read_header

__all__ = ["MultitaskModel"]


def _check_inputs(owner: str, table: Any, graph_kind: str, feature_names: tuple[str, ...]) -> None:
    if not isinstance(table, ExtrapolationTable):
        raise TypeError(f"The 'table' parameter of {owner} must be an ExtrapolationTable. "
                        f"Got {type(table).__name__} instead.")
    if table.graph_kind != graph_kind:
        raise ValueError(f"{owner}: the model was trained on {graph_kind} graphs; the table has "
                         f"{table.graph_kind} graphs.")
    if tuple(table.feature_names) != tuple(feature_names):
        missing = [f for f in feature_names if f not in table.feature_names]
        extra = [f for f in table.feature_names if f not in feature_names]
        detail = "; ".join(p for p in (f"missing {missing}" if missing else "",
                                       f"not trained with {extra}" if extra else "",
                                       "same names in another order" if not (missing or extra) else "") if p)
        raise ValueError(f"{owner}: the model was trained with the descriptors {list(feature_names)}; the table has "
                         f"{list(table.feature_names)} ({detail}).")


@dataclass(frozen=True, eq=False, kw_only=True)
class MultitaskModel(Results, StoredModel, own_file=True):
    """A trained multi-fidelity ensemble.

    Attributes
    ----------
    tasks : tuple of str
        Task names (see :data:`trajml.extrapolation.tables.TASKS`).
    graph_kind : str
        ``"smiles"`` or ``"cg"``: the graphs it reads.
    vocabulary : tuple of str
        Bead types of the CG one-hot features (empty for SMILES).
    feature_names : tuple of str
        Descriptors it was trained with, in order.
    node_dim, edge_dim, hidden, n_layers : int
        Network shape.
    heteroscedastic : bool
        Whether the heads predict a log variance.
    residual : bool
        Whether the high-fidelity head predicts the long-run value as a correction to the short-run
        value it is fed (blended with the low-fidelity prediction).
    low_input : str
        'observed' or 'predicted' (see the module docstring).
    target_mean, target_std : ndarray, shape (n_tasks,), float64
        Standardisation of the labels, task units.
    train_losses, validation_losses : ndarray, shape (n_models, n_epochs), float64
        Per member and epoch (NaN after early stopping, or without validation).
    best_epochs : ndarray, shape (n_models,), int64
    parameters : dict of str to ndarray
        ``m{k}.{name}`` of each member's ``state_dict``, float32.
    std_scale, std_floor : ndarray, shape (2, n_tasks), float64, optional
        Calibration of the predicted std: ``sqrt((std_scale · s)² + std_floor²)``, ``s`` the ensemble's
        raw std, task units; row 0 for rows fed a measured short-run value, row 1 for the others (see
        :mod:`trajml.extrapolation.deep.calibration`). None: the raw std. Model files written before
        the floor hold one scale per task (fitted on the validation set); they are read with floor 0.
    """

    tasks: tuple[str, ...]
    graph_kind: str
    vocabulary: tuple[str, ...]
    feature_names: tuple[str, ...]
    node_dim: int
    edge_dim: int
    hidden: int
    n_layers: int
    heteroscedastic: bool
    residual: bool
    low_input: str
    target_mean: np.ndarray
    target_std: np.ndarray
    train_losses: np.ndarray
    validation_losses: np.ndarray
    best_epochs: np.ndarray
    parameters: dict[str, np.ndarray]
    std_scale: np.ndarray | None = None
    std_floor: np.ndarray | None = None

    @property
    def n_models(self) -> int:
        """int: ensemble members."""
        return len(self.best_epochs)

    def _nets(self) -> list[_Net]:
        nets = self.__dict__.get("_cached_nets")
        if nets is None:
            nets = []
            for k in range(self.n_models):
                net = _Net(self.node_dim, self.edge_dim, len(self.feature_names), len(self.tasks), self.hidden,
                           self.n_layers, self.heteroscedastic, self.residual)
                prefix = f"m{k}."
                state = {n[len(prefix):]: torch.as_tensor(np.array(v))
                         for n, v in self.parameters.items() if n.startswith(prefix)}
                if self.residual and "slope" not in state:  # written before the affine map: slope 1, intercept 0
                    state.update(slope=torch.ones(len(self.tasks)), intercept=torch.zeros(len(self.tasks)))
                state.setdefault("linear_only", torch.zeros(len(self.tasks), dtype=torch.bool))
                state.setdefault("measured_weight", torch.ones(len(self.tasks)))  # written before the noise-aware step
                net.load_state_dict(state)
                net.eval()
                nets.append(net)
            object.__setattr__(self, "_cached_nets", nets)
        return nets

    @property
    def measured_weight(self) -> np.ndarray:
        """ndarray, shape (n_models, n_tasks): weight ``k`` of a measured short-run value against the low
        head's prediction of it (the fed value is ``low + k (measured - low)``; 1 for models written
        before the noise-aware step)."""
        ones = np.ones(len(self.tasks), dtype=np.float32)
        return np.array([self.parameters.get(f"m{k}.measured_weight", ones) for k in range(self.n_models)],
                        dtype=np.float64)

    def with_measured_weight(self, weight: float | np.ndarray) -> "MultitaskModel":
        """A copy that weighs a measured short-run value by ``weight`` instead of the fitted weights.

        Parameters
        ----------
        weight : float or ndarray, shape (n_tasks,) or (n_models, n_tasks)
            In [0, 1]: 1 trusts the measured value fully, 0 ignores it (the prediction without it).

        Returns
        -------
        MultitaskModel
        """
        w = np.broadcast_to(np.asarray(weight, dtype=np.float64), (self.n_models, len(self.tasks)))
        if not (np.isfinite(w).all() and (w >= 0).all() and (w <= 1).all()):
            raise ValueError(f"The 'weight' parameter of MultitaskModel.with_measured_weight must be in [0, 1]. "
                             f"Got {weight!r} instead.")
        params = {**self.parameters, **{f"m{k}.measured_weight": _ro(w[k], np.float32) for k in range(self.n_models)}}
        return dataclasses.replace(self, parameters=params,
                                   provenance={**self.provenance, "measured_weight_set": w.tolist()})

    def member(self, k: int) -> "MultitaskModel":
        """Ensemble member ``k`` alone, as a one-member model with the raw std (no calibration).

        Parameters
        ----------
        k : int
            Member index, ``0 <= k < n_models``.

        Returns
        -------
        MultitaskModel
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < self.n_models:
            raise ValueError(f"The 'k' parameter of MultitaskModel.member must be an int in [0, {self.n_models}). "
                             f"Got {k!r} instead.")
        prefix = f"m{k}."
        params = {"m0." + n[len(prefix):]: v for n, v in self.parameters.items() if n.startswith(prefix)}
        return dataclasses.replace(self, parameters=params, best_epochs=self.best_epochs[k:k + 1],
                                   train_losses=self.train_losses[k:k + 1],
                                   validation_losses=self.validation_losses[k:k + 1], std_scale=None, std_floor=None)

    def _low_observed(self, table: ExtrapolationTable) -> np.ndarray:
        low = np.full((len(table), len(self.tasks)), np.nan)
        for j, t in enumerate(self.tasks):
            if t in table.tasks:
                low[:, j] = table.low[:, table.tasks.index(t)]
        return low

    def predict(self, table: ExtrapolationTable, batch_size: int = 1024) -> ExtrapolationPrediction:
        """Long-run (and short-run) predictions of every row, in task units.

        Parameters
        ----------
        table : ExtrapolationTable
            Graphs of the same kind and the same features (names and order) as in training. Its
            short-run labels of the model's tasks, where present, feed the high-fidelity head
            (``low_input='observed'``); its long-run labels are ignored.
        batch_size : int
            Rows per forward pass.

        Returns
        -------
        ExtrapolationPrediction
            ``high`` and ``low`` are ensemble means; ``high_std`` combines the ensemble spread and
            (heteroscedastic head) the mean predicted variance, calibrated where the model holds a
            calibration (``std_scale``, ``std_floor``: per task and per input, measured short run or not).
        """
        owner = "MultitaskModel.predict"
        _check_inputs(owner, table, self.graph_kind, self.feature_names)
        if len(table) == 0:
            raise ValueError(f"{owner}: the table has no rows.")
        graphs = table_graphs(table, self.vocabulary)
        if graphs and graphs[0].x.shape[1] != self.node_dim:
            raise ValueError(f"{owner}: the graphs have {graphs[0].x.shape[1]} node features; the model has "
                             f"{self.node_dim}.")
        mean, std = self.target_mean, self.target_std
        low_obs = (self._low_observed(table) - mean) / std
        use = np.isfinite(low_obs) & (self.low_input == "observed")
        low_fed = np.where(use, low_obs, np.nan)  # NaN where no measured short run may be fed
        feats = torch.as_tensor(table.features, dtype=torch.float32)
        highs, lows, variances = [], [], []
        with torch.no_grad():
            for net in self._nets():
                h_parts, l_parts, v_parts = [], [], []
                for s in range(0, len(table), batch_size):
                    b = Batch.from_data_list(graphs[s:s + batch_size])
                    lo, _, hi, hv, _ = net(b, feats[s:s + batch_size],
                                           torch.as_tensor(low_fed[s:s + batch_size], dtype=torch.float32),
                                           torch.as_tensor(use[s:s + batch_size]))
                    h_parts.append(hi.double().numpy())
                    l_parts.append(lo.double().numpy())
                    v_parts.append(np.zeros_like(h_parts[-1]) if hv is None else np.exp(hv.double().numpy()))
                highs.append(np.concatenate(h_parts))
                lows.append(np.concatenate(l_parts))
                variances.append(np.concatenate(v_parts))
        highs_a, lows_a, var_a = np.array(highs) * std + mean, np.array(lows) * std + mean, np.array(variances)
        total = highs_a.var(axis=0) + var_a.mean(axis=0) * std ** 2
        high_std = np.sqrt(total) if (self.n_models > 1 or self.heteroscedastic) else np.full_like(total, np.nan)
        if self.std_scale is not None:
            kind = np.where(use, 0, 1)  # which calibration row: measured short run fed, or not
            cols = np.arange(len(self.tasks))
            floor = np.zeros_like(self.std_scale) if self.std_floor is None else self.std_floor
            high_std = np.hypot(high_std * self.std_scale[kind, cols], floor[kind, cols])
        high = highs_a.mean(axis=0)
        beyond = self._beyond_range(high)
        return ExtrapolationPrediction(ids=table.ids, tasks=self.tasks, high=high, high_std=high_std,
                                       low=lows_a.mean(axis=0), beyond_range=beyond,
                                       units={"high": "task units", "high_std": "task units", "low": "task units",
                                              **({"beyond_range": "task units"} if beyond is not None else {})})

    def _beyond_range(self, high: np.ndarray) -> np.ndarray | None:
        """Distance of each prediction outside the training long-run labels' range (None if not recorded)."""
        ranges = self.provenance.get("training_label_range")
        if not ranges:
            return None
        lo = np.array([ranges.get(t, [np.nan, np.nan])[0] for t in self.tasks], dtype=np.float64)
        hi = np.array([ranges.get(t, [np.nan, np.nan])[1] for t in self.tasks], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return np.maximum(high - hi, 0.0) + np.maximum(lo - high, 0.0)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to ``path``: an ``.npz`` file with a JSON header (trajml model file format)."""
        params = {"tasks": list(self.tasks), "graph_kind": self.graph_kind, "vocabulary": list(self.vocabulary),
                  "feature_names": list(self.feature_names), "node_dim": self.node_dim, "edge_dim": self.edge_dim,
                  "hidden": self.hidden, "n_layers": self.n_layers, "heteroscedastic": self.heteroscedastic,
                  "residual": self.residual, "low_input": self.low_input}
        header = {"format": FORMAT, "format_version": FORMAT_VERSION, "model_type": type(self).__name__,
                  "params": params, "state_dict": list(self.parameters), "units": dict(self.units),
                  "provenance": json.loads(json.dumps(_plain(self.provenance), default=str))}
        arrays = {"a:target_mean": self.target_mean, "a:target_std": self.target_std,
                  "a:train_losses": self.train_losses, "a:validation_losses": self.validation_losses,
                  "a:best_epochs": self.best_epochs, **{f"p:{k}": v for k, v in self.parameters.items()},
                  **({"a:calibration_scale": self.std_scale} if self.std_scale is not None else {}),
                  **({"a:calibration_floor": self.std_floor} if self.std_floor is not None else {})}
        with atomic_write(path, "wb", what="model file") as fh:
            np.savez(fh, __header__=np.array(json.dumps(header)), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "MultitaskModel":
        """Read a model written by :meth:`save`.

        Raises
        ------
        ValueError
            Not a trajml model file, another model type, or another format version.
        """
        name = os.fspath(path)
        try:
            loaded = np.load(name, allow_pickle=False)
            if not hasattr(loaded, "files"):  # a plain .npy array is no context manager
                raise ValueError(f"File '{name}' is not a trajml model file (not an .npz archive).")
            with loaded as data:
                header = read_header(data, name, cls.__name__)
                p = header["params"]
                return cls(tasks=tuple(p["tasks"]), graph_kind=p["graph_kind"], vocabulary=tuple(p["vocabulary"]),
                           feature_names=tuple(p["feature_names"]), node_dim=int(p["node_dim"]),
                           edge_dim=int(p["edge_dim"]), hidden=int(p["hidden"]), n_layers=int(p["n_layers"]),
                           heteroscedastic=bool(p["heteroscedastic"]), residual=bool(p.get("residual", False)),
                           low_input=str(p["low_input"]),
                           target_mean=_ro(data["a:target_mean"]), target_std=_ro(data["a:target_std"]),
                           train_losses=_ro(data["a:train_losses"]),
                           validation_losses=_ro(data["a:validation_losses"]),
                           best_epochs=_ro(data["a:best_epochs"], np.int64),
                           parameters={k: _ro(data[f"p:{k}"], np.float32) for k in header["state_dict"]},
                           **_read_calibration(data, len(p["tasks"])),
                           units=header["units"], provenance=header["provenance"])
        except (OSError, EOFError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"File '{name}' cannot be read as a {cls.__name__} file: {exc!r}") from exc


def _read_calibration(data: Any, n_tasks: int) -> dict[str, np.ndarray | None]:
    """``std_scale`` and ``std_floor`` of a model file: ``a:calibration_*`` (2, n_tasks), or the one scale per
    task (``a:std_scale``) of files written before the floor, for both inputs and with floor 0."""
    if "a:calibration_scale" in data.files:
        floor = data["a:calibration_floor"] if "a:calibration_floor" in data.files else None
        return {"std_scale": _ro(data["a:calibration_scale"]), "std_floor": None if floor is None else _ro(floor)}
    if "a:std_scale" in data.files:
        legacy = np.broadcast_to(np.asarray(data["a:std_scale"], dtype=np.float64), (2, n_tasks))
        return {"std_scale": _ro(legacy), "std_floor": _ro(np.zeros((2, n_tasks)))}
    return {"std_scale": None, "std_floor": None}
