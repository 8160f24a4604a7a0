"""Multi-fidelity, multitask graph network that extrapolates long-run transport from short MD runs.

After Xie et al. (Nat. Commun. 2022): a shared graph trunk embeds the polymer repeat unit (a ring
graph, see :mod:`trajml.models.deep.polymer_graph`) together with the numeric features (salt
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

Tasks (any subset, any label missing per row; see :mod:`trajml.models.extrapolation_data`):
log10 σ (σ in S/m), log10 D_Li, log10 D_anion, log10 D_polymer (D in Å²/ps), transference number.
Missing labels are masked out of the loss (:func:`masked_loss`). Targets are standardised per
task internally; predictions come back in task units. Uncertainty: an ensemble of ``n_models``
networks (different seeds and validation splits), plus the predicted noise of a heteroscedastic
head (``heteroscedastic=True``).
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GINEConv, global_add_pool, global_mean_pool

from trajml.models.extrapolation_baseline import least_squares_lines
from trajml.models.extrapolation_data import (
    TASKS,
    ExtrapolationPrediction,
    ExtrapolationTable,
    check_labels,
    kfold_indices,
)
from trajml.store.models import FORMAT, FORMAT_VERSION, StoredModel, read_header
from trajml.models.deep.polymer_graph import table_graphs
from trajml.results import Results, _plain
from trajml.results import read_only as _ro

__all__ = ["masked_loss", "MultitaskExtrapolator", "MultitaskModel", "PRIOR_GRID"]

_LOW_INPUTS = ("observed", "predicted")

#: Candidate strengths (pseudo-rows) of the correction prior tried by ``correction_prior='auto'``; an
#: infinite prior makes the task the plain linear correction of the measured short-run value.
PRIOR_GRID = (0.0, 10.0, 100.0, 1000.0, math.inf)


def masked_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                log_var: torch.Tensor | None = None) -> torch.Tensor:
    """Mean loss over the observed entries only.

    Parameters
    ----------
    pred, target : torch.Tensor, shape (n, n_tasks)
        Predictions and labels (labels may be NaN where ``mask`` is False).
    mask : torch.Tensor, shape (n, n_tasks), bool
        True where a label exists.
    log_var : torch.Tensor, shape (n, n_tasks), optional
        Predicted log variance (heteroscedastic head): the loss is the Gaussian negative
        log-likelihood ``0.5 (log_var + (pred - target)² / exp(log_var))`` without its constant.

    Returns
    -------
    torch.Tensor, shape ()
        ``sum over observed entries / number of observed entries`` of the squared error (or the
        NLL); 0 when nothing is observed.
    """
    m = mask.to(pred.dtype)
    diff = torch.where(mask, pred - torch.nan_to_num(target), torch.zeros_like(pred))
    per = diff ** 2 if log_var is None else 0.5 * (log_var + diff ** 2 * torch.exp(-log_var))
    return (per * m).sum() / m.sum().clamp_min(1.0)


# ----------------------------------------------------------------------------------------------
# the network
# ----------------------------------------------------------------------------------------------

class _Net(torch.nn.Module):
    """Graph trunk (GINE convolutions, mean ‖ sum pooling) + features → embedding; low and high heads."""

    def __init__(self, node_dim: int, edge_dim: int, n_features: int, n_tasks: int, hidden: int, n_layers: int,
                 heteroscedastic: bool, residual: bool = False) -> None:
        super().__init__()
        self.register_buffer("feature_shift", torch.zeros(n_features))
        self.register_buffer("feature_scale", torch.ones(n_features))
        self.node_in = torch.nn.Linear(node_dim, hidden)
        self.convs = torch.nn.ModuleList([
            GINEConv(torch.nn.Sequential(torch.nn.Linear(hidden, hidden), torch.nn.ELU(),
                                         torch.nn.Linear(hidden, hidden)), edge_dim=edge_dim)
            for _ in range(n_layers)])
        # sum pooling keeps the ring size (a mean would not); the sum is scaled to stay O(1)
        self.embed = torch.nn.Sequential(torch.nn.Linear(2 * hidden + n_features, hidden), torch.nn.ELU(),
                                         torch.nn.Linear(hidden, hidden), torch.nn.ELU())
        out = 2 * n_tasks if heteroscedastic else n_tasks
        self.low_head = torch.nn.Linear(hidden, out)
        self.high_head = torch.nn.Sequential(torch.nn.Linear(hidden + n_tasks, hidden), torch.nn.ELU(),
                                             torch.nn.Linear(hidden, out))
        self.n_tasks = n_tasks
        self.heteroscedastic = heteroscedastic
        # Residual models: the long-run value is an affine map (slope, intercept per task; the
        # estimator starts them at the least-squares fit of the training rows) of a blend of the
        # measured short-run value and the low head's prediction (weight logit 0: half and half), plus
        # the head's correction, whose last layer starts at zero: an untrained residual model is the
        # linear correction of the blended short-run value.
        self.blend_logit = torch.nn.Parameter(torch.zeros(n_tasks)) if residual else None
        self.slope = torch.nn.Parameter(torch.ones(n_tasks)) if residual else None
        self.intercept = torch.nn.Parameter(torch.zeros(n_tasks)) if residual else None
        # tasks whose prior is infinite: no correction and no blend, just slope · fed + intercept
        self.register_buffer("linear_only", torch.zeros(n_tasks, dtype=torch.bool))
        if residual:
            torch.nn.init.zeros_(self.high_head[-1].weight)
            torch.nn.init.zeros_(self.high_head[-1].bias)

    def embedding(self, batch: Batch, features: torch.Tensor) -> torch.Tensor:
        h = self.node_in(batch.x)
        for conv in self.convs:
            h = h + torch.nn.functional.elu(conv(h, batch.edge_index, batch.edge_attr))
        pooled = torch.cat([global_mean_pool(h, batch.batch), global_add_pool(h, batch.batch) / 10.0], dim=1)
        return self.embed(torch.cat([pooled, (features - self.feature_shift) / self.feature_scale], dim=1))

    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not self.heteroscedastic:
            return out, None
        return out[:, :self.n_tasks], out[:, self.n_tasks:].clamp(-10.0, 10.0)

    def forward(self, batch: Batch, features: torch.Tensor, low_in: torch.Tensor,
                use_low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None,
                                                torch.Tensor]:
        """Standardised (low mean, low log var, high mean, high log var, high head output); ``use_low``
        picks the measured short-run value over the predicted one as the high head's input. The head
        output is the correction of a residual model (penalised in training) and the prediction itself
        otherwise."""
        z = self.embedding(batch, features)
        low, low_lv = self._split(self.low_head(z))
        measured = torch.isfinite(low_in)  # NaN where no short run may be fed
        fed = torch.where(use_low & measured, torch.nan_to_num(low_in), low)
        head, high_lv = self._split(self.high_head(torch.cat([z, fed], dim=1)))
        high = head
        if self.blend_logit is not None:  # residual: the head learns a correction, not the value itself
            w = torch.sigmoid(self.blend_logit)
            high = head + self.slope * (w * fed + (1.0 - w) * low) + self.intercept
            # linear-only tasks: the measured value even where training drops it out of the head's input
            fed_lin = torch.where(measured, torch.nan_to_num(low_in), low)
            high = torch.where(self.linear_only, self.slope * fed_lin + self.intercept, high)
        return low, low_lv, high, high_lv, head


# ----------------------------------------------------------------------------------------------
# the frozen model
# ----------------------------------------------------------------------------------------------

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
        Task names (see :data:`trajml.models.extrapolation_data.TASKS`).
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
                net.load_state_dict(state)
                net.eval()
                nets.append(net)
            object.__setattr__(self, "_cached_nets", nets)
        return nets

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
            (heteroscedastic head) the mean predicted variance.
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
        return ExtrapolationPrediction(ids=table.ids, tasks=self.tasks, high=highs_a.mean(axis=0), high_std=high_std,
                                       low=lows_a.mean(axis=0),
                                       units={"high": "task units", "high_std": "task units", "low": "task units"})

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
                  "a:best_epochs": self.best_epochs, **{f"p:{k}": v for k, v in self.parameters.items()}}
        name = os.fspath(path)
        tmp = f"{name}.tmp{os.getpid()}.npz"
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, __header__=np.array(json.dumps(header)), **arrays)
            os.replace(tmp, name)
        except OSError as exc:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise OSError(f"Cannot write the model file '{name}': {exc.strerror or exc}.") from None

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
                           units=header["units"], provenance=header["provenance"])
        except (OSError, EOFError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"File '{name}' cannot be read as a {cls.__name__} file: {exc!r}") from exc


# ----------------------------------------------------------------------------------------------
# the estimator
# ----------------------------------------------------------------------------------------------

def _int(owner: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"The '{name}' parameter of {owner} must be an int >= {minimum}. Got {value!r} instead.")
    return int(value)


def _float(owner: str, name: str, value: Any, low: float, high: float, *, low_open: bool = False,
           high_open: bool = True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    ok = (not isinstance(value, (bool, np.bool_)) and math.isfinite(v) and (v > low if low_open else v >= low)
          and (v < high if high_open else v <= high))
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"The '{name}' parameter of {owner} must be a float in {interval}. Got {value!r} instead.")
    return v


class MultitaskExtrapolator:
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
    validation_fraction : float
        Share of the rows held out for early stopping, in [0, 1), drawn among all rows (short-run labels
        count: with few long runs, their handful of labels alone is a noisy stopping signal); the
        validation loss is that of both heads. 0 keeps the last epoch.
    patience : int or None
        Epochs without a better validation loss before stopping; None never stops early.
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

    def __init__(self, hidden: int = 64, n_layers: int = 3, epochs: int = 300, lr: float = 3e-3,
                 weight_decay: float = 1e-5, batch_size: int = 64, low_weight: float = 1.0, n_models: int = 5,
                 heteroscedastic: bool = False, residual: bool = True, correction_prior: float | str = "auto",
                 low_input: str = "observed", low_dropout: float = 0.3,
                 validation_fraction: float = 0.1, patience: int | None = 50, seed: int = 0, device: str = "cpu",
                 progress: bool = False) -> None:
        self.hidden = hidden
        self.n_layers = n_layers
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.low_weight = low_weight
        self.n_models = n_models
        self.heteroscedastic = heteroscedastic
        self.residual = residual
        self.correction_prior = correction_prior
        self.low_input = low_input
        self.low_dropout = low_dropout
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.seed = seed
        self.device = device
        self.progress = progress
        self._model: MultitaskModel | None = None

    def _validated(self) -> dict[str, Any]:
        o = type(self).__name__
        p: dict[str, Any] = {"hidden": _int(o, "hidden", self.hidden, 1),
                             "n_layers": _int(o, "n_layers", self.n_layers, 0),
                             "epochs": _int(o, "epochs", self.epochs, 1),
                             "lr": _float(o, "lr", self.lr, 0.0, math.inf, low_open=True),
                             "weight_decay": _float(o, "weight_decay", self.weight_decay, 0.0, math.inf),
                             "batch_size": _int(o, "batch_size", self.batch_size, 1),
                             "low_weight": _float(o, "low_weight", self.low_weight, 0.0, math.inf),
                             "n_models": _int(o, "n_models", self.n_models, 1),
                             "low_dropout": _float(o, "low_dropout", self.low_dropout, 0.0, 1.0, high_open=False),
                             "validation_fraction": _float(o, "validation_fraction", self.validation_fraction,
                                                           0.0, 1.0),
                             "seed": _int(o, "seed", self.seed, 0)}
        p["patience"] = None if self.patience is None else _int(o, "patience", self.patience, 1)
        prior = self.correction_prior
        if not (isinstance(prior, str) and prior == "auto"):
            try:
                prior = math.inf if prior == math.inf else _float(o, "correction_prior", prior, 0.0, math.inf)
            except ValueError:
                raise ValueError(f"The 'correction_prior' parameter of {o} must be a float >= 0 or 'auto'. "
                                 f"Got {prior!r} instead.") from None
        p["correction_prior"] = prior
        for name in ("heteroscedastic", "residual"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"The '{name}' parameter of {o} must be a bool. Got {value!r} instead.")
            p[name] = bool(value)
        if self.low_input not in _LOW_INPUTS:
            raise ValueError(f"The 'low_input' parameter of {o} must be one of {list(_LOW_INPUTS)}. "
                             f"Got {self.low_input!r} instead.")
        p["low_input"] = self.low_input
        p["progress"] = bool(self.progress)
        try:
            p["device"] = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"The 'device' parameter of {o} must be a torch device such as 'cpu' or 'cuda'. "
                             f"Got {self.device!r} instead.") from exc
        if p["device"].type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"The 'device' parameter of {o} is {self.device!r} but no CUDA device is available.")
        return p

    def fit(self, table: ExtrapolationTable) -> "MultitaskExtrapolator":
        """Train the ensemble on ``table``, replacing any earlier fit.

        Parameters
        ----------
        table : ExtrapolationTable
            Rows with graphs, features and low/high-fidelity labels (NaN = missing). Every task needs
            at least two distinct long-run labels; short-run labels must not be constant.

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
        for j, t in enumerate(table.tasks):
            v = table.low[:, j][np.isfinite(table.low[:, j])]
            if v.size >= 2 and np.ptp(v) == 0.0:
                raise ValueError(f"{owner}: the low-fidelity labels of task '{t}' are constant ({v[0]:g} in all "
                                 f"{v.size} rows); there is nothing to learn.")
        vocab = tuple(sorted({b for g in table.graphs for b in g})) if table.graph_kind == "cg" else ()
        graphs = table_graphs(table, vocab)
        prior_choice: dict[str, Any] = {}
        if p["correction_prior"] != "auto":
            p["correction_prior"] = [p["correction_prior"]] * len(table.tasks)
        elif p["residual"]:
            prior_choice = self._choose_prior(table, p)
            p["correction_prior"] = [prior_choice["chosen"][t] for t in table.tasks]
        else:
            p["correction_prior"] = [0.0] * len(table.tasks)
        both = np.concatenate([table.low, table.high])
        mean = np.nanmean(both, axis=0)
        std = np.nanstd(both, axis=0)
        std = np.where(std > 0, std, 1.0)
        f_mean = table.features.mean(axis=0) if len(table.feature_names) else np.zeros(0)
        f_std = table.features.std(axis=0) if len(table.feature_names) else np.zeros(0)
        f_std = np.where(f_std > 0, f_std, 1.0)
        low_s, high_s = (table.low - mean) / std, (table.high - mean) / std
        node_dim, edge_dim = int(graphs[0].x.shape[1]), int(graphs[0].edge_attr.shape[1])
        slope, intercept, _ = least_squares_lines(low_s, high_s)  # slope 1, intercept 0 where no line

        params: dict[str, np.ndarray] = {}
        train_curves, val_curves, best_epochs = [], [], []
        for k in range(p["n_models"]):
            seed = p["seed"] + k
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
            tr, va = self._split(table, p["validation_fraction"], seed)
            curves = self._train(net, p, graphs, table.features, low_s, high_s, tr, va, seed, f"{owner} member {k}")
            train_curves.append(curves[0])
            val_curves.append(curves[1])
            best_epochs.append(curves[2])
            params.update({f"m{k}.{n}": _ro(v.detach().cpu().numpy(), np.float32) for n, v in curves[3].items()})
        width = p["epochs"]
        pad = lambda c: np.array([list(x) + [np.nan] * (width - len(x)) for x in c])  # noqa: E731
        self._model = MultitaskModel(
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
                        "n_rows": len(table), "n_low_labels": {t: int(np.isfinite(table.low[:, j]).sum())
                                                               for j, t in enumerate(table.tasks)},
                        "n_high_labels": {t: int(np.isfinite(table.high[:, j]).sum())
                                          for j, t in enumerate(table.tasks)}})
        return self

    def _choose_prior(self, table: ExtrapolationTable, p: dict[str, Any]) -> dict[str, Any]:
        """Per task, the correction prior of :data:`PRIOR_GRID` with the lowest 3-fold (by group)
        cross-validated MAE of single networks on the long-run labels."""
        has_long = np.isfinite(table.high).any(axis=1)
        groups = np.asarray(table.groups, dtype=object)
        n_splits = min(3, len(set(groups[has_long])))
        scores: dict[float, list[np.ndarray]] = {c: [] for c in PRIOR_GRID}
        if n_splits >= 2:
            for train, test in kfold_indices(len(table), n_splits, p["seed"], table.groups, stratify=has_long):
                tr, te = table.subset(train), table.subset(test)
                scored = np.isfinite(te.high)
                try:
                    check_labels("", tr, "high")
                except ValueError:  # a task with < 2 distinct long labels in this fold: skip the fold
                    continue
                for prior in PRIOR_GRID:
                    est = copy.copy(self)
                    est.n_models, est.correction_prior, est.progress = 1, prior, False
                    pred = est.fit(tr).fetch_model().predict(te).high
                    err = np.where(scored, np.abs(pred - te.high), np.nan)
                    with np.errstate(invalid="ignore"):
                        scores[prior].append(np.nanmean(err, axis=0))
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
        bar = None
        if bool(p.get("progress", False)):  # pragma: no cover - cosmetic
            from tqdm.auto import tqdm

            bar = tqdm(total=p["epochs"], unit="epoch", desc=owner)
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
            if bar is not None:  # pragma: no cover
                bar.update(1)
        if bar is not None:  # pragma: no cover
            bar.close()
        return train_losses, val_losses, best_epoch, {k: v.detach().cpu().clone() for k, v in best_state.items()}

    def fetch_model(self) -> MultitaskModel:
        """The trained model (frozen; calling this changes nothing)."""
        if self._model is None:
            raise RuntimeError(f"{type(self).__name__} has not been fitted: call fit(table) first.")
        return self._model
