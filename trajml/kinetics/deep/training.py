"""Training of the VAMPNets: the estimators :class:`VAMPNet` and :class:`GraphVAMPNet` and their shared loop.

Both train one lobe on time-lagged pairs drawn inside each trajectory (Mardt et al., 2018;
GDyNet for graphs) with Adam on the negative VAMP score, and stop early on the score of held-out
trajectories or time blocks. :class:`GraphVAMPNet` draws random frame pairs from a disk-backed
:class:`~trajml.store.graphs.GraphDataset`, so memory is bounded by the batch, not by the
trajectory; each frame pair gives ``n_targets`` pairs of outputs (one per target atom) to the loss.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar, Iterator

import numpy as np
import torch

from trajml._torch import DEVICE, resolve_torch_device
from trajml._validation import Param
from trajml.base import Estimator
from trajml.kinetics.deep.data import (
    _frames_field,
    _pair_batch,
    _pair_field,
    _split,
    lagged_pairs,
    pair_batches,
    split_segments,
)
from trajml.kinetics.deep.losses import METHOD_CONSTRAINT, method_key, vamp_loss
from trajml.kinetics.deep.models import GraphVAMPNetModel, VAMPNetModel, _ro_f32, _score_arrays
from trajml.kinetics.deep.networks import _GraphLobe, _Lobe, _transform_arrays, reuse_freed_memory
from trajml.kinetics.koopman import LAG, _ro, as_trajectories, check_long_enough
from trajml.store.graphs import GraphDataset

__all__ = ["VAMPNet", "GraphVAMPNet", "check_training_parameters", "train_epochs"]


def _layer_widths(value: Any) -> tuple[int, ...]:
    """A ``Param`` check: a tuple (or list) of layer widths, each an int >= 1."""
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(h, (int, np.integer)) and not isinstance(h, (bool, np.bool_)) and h >= 1 for h in value):
        raise ValueError("a tuple of ints >= 1 (layer widths)")
    return value


#: Parameters every VAMPNet estimator declares (``batch_size`` takes its minimum per class).
TRAINING_PARAMETERS: dict[str, Param] = {
    "n_states": Param("int", help="number of soft states", minimum=2),
    "lag": LAG,
    "lr": Param("float", help="Adam learning rate", positive=True),
    "batch_size": Param("int", help="time-lagged pairs per mini-batch", minimum=1),
    "epochs": Param("int", help="maximum passes over the training pairs", minimum=1),
    "patience": Param("int", help="epochs without a better validation score before stopping", minimum=1,
                      nullable=True, none_help="never stop early"),
    "validation": Param("str", help="hold out whole trajectories or a time block of each",
                        choices=("trajectories", "blocks")),
    "validation_fraction": Param("float", help="share held out for validation (0: none)", minimum=0.0, high=1.0),
    "seed": Param("int", help="seed of the weights, the split and the shuffling", minimum=0),
    "device": DEVICE,
    "score_method": Param("str", help="VAMP score maximised", describe=METHOD_CONSTRAINT, check=method_key),
    "epsilon": Param("float", help="truncation of the inverse square roots", positive=True),
    "progress": Param("bool", help="show a progress bar over epochs"),
}


def check_training_parameters(est: Any) -> dict[str, Any]:
    """The parameters every VAMPNet estimator shares (validated by its declaration), with the device resolved.

    Raises
    ------
    InvalidParameterError
        ``device`` names a CUDA device but none is available.
    """
    v = {name: getattr(est, name) for name in TRAINING_PARAMETERS if name != "progress"}
    v["device"] = resolve_torch_device(est.device, type(est).__name__)
    return v


def train_epochs(module: torch.nn.Module, p: dict[str, Any], batches: Any, validate: Any, owner: str,
                 progress: bool = False) -> tuple[list[float], list[float], int, dict[str, torch.Tensor]]:
    """Adam on the negative VAMP score with early stopping on the validation score.

    Parameters
    ----------
    module : torch.nn.Module
        The lobe (already on its device).
    p : dict
        Output of :func:`check_training_parameters`.
    batches : callable
        ``batches()`` yields ``(chi_0, chi_tau)`` output pairs for one epoch (computed lazily, so the
        forward pass happens inside the loop).
    validate : callable or None
        ``validate()`` returns the validation score (constant included); None trains without validation.
    owner : str
        Estimator name, for messages.
    progress : bool
        Show a progress bar over epochs with the latest scores.

    Returns
    -------
    train_scores, validation_scores : list of float
        Per epoch (NaN validation scores without validation).
    best_epoch : int
        Epoch whose weights are returned.
    best_state : dict
        ``state_dict`` of that epoch.
    """
    reuse_freed_memory()
    opt = torch.optim.Adam(module.parameters(), lr=p["lr"])
    train_scores: list[float] = []
    val_scores: list[float] = []
    best, best_epoch, wait = -math.inf, 0, 0
    best_state = copy.deepcopy(module.state_dict())
    from trajml._progress import progress_bar

    # A bar on a terminal; in a batch log, timestamped lines with the epoch and the latest scores.
    bar = progress_bar(p["epochs"], owner, "epoch", progress, leave=True)
    for epoch in range(p["epochs"]):
        module.train()
        batch_scores = []
        for chi0, chit in batches():
            opt.zero_grad()
            loss = vamp_loss(chi0.double(), chit.double(), p["score_method"], p["epsilon"])
            if not torch.isfinite(loss):
                raise RuntimeError(f"{owner} hit a non-finite loss in epoch {epoch}; lower 'lr' or raise "
                                   f"'epsilon' (now {p['epsilon']}).")
            loss.backward()
            opt.step()
            batch_scores.append(-loss.detach())
            bar.update(0)  # a heartbeat inside a long epoch (a log line at most every interval)
        train_scores.append(float(torch.stack(batch_scores).mean()) if batch_scores else float("nan"))
        stop = False
        if validate is not None:
            score = float(validate())
            val_scores.append(score)
            if score > best:
                best, best_epoch, wait = score, epoch, 0
                best_state = copy.deepcopy(module.state_dict())
            else:
                wait += 1
                stop = p["patience"] is not None and wait >= p["patience"]
        else:
            val_scores.append(float("nan"))
            best_epoch, best_state = epoch, copy.deepcopy(module.state_dict())
        bar.set_postfix(train=f"{train_scores[-1]:.3f}", validation=f"{val_scores[-1]:.3f}")
        bar.update(1)
        if stop:
            break
    bar.close()
    return train_scores, val_scores, best_epoch, best_state


# ----------------------------------------------------------------------------------------------
# the estimators
# ----------------------------------------------------------------------------------------------

class VAMPNet(Estimator):
    """Estimator of a VAMPNet with one shared softmax lobe.

    Parameters
    ----------
    n_states : int
        Number of soft states m (>= 2).
    hidden : tuple of int
        Widths of the hidden ELU layers.
    lag : int
        Lag time in frames (>= 1).
    lr : float
        Adam learning rate.
    batch_size : int
        Time-lagged pairs per mini-batch (>= 2).
    epochs : int
        Maximum passes over the training pairs.
    patience : int or None
        Stop after this many epochs without a better validation score; None never stops early.
    validation : {'trajectories', 'blocks'}
        Hold out whole trajectories, or one contiguous time block of each trajectory (used
        automatically when there is only one trajectory).
    validation_fraction : float
        Share of the trajectories (or of each trajectory's frames) held out, in [0, 1);
        0 trains without validation and keeps the last epoch.
    seed : int
        Seeds the weights (``torch.manual_seed`` in a forked RNG), the split and the shuffling
        (a ``torch.Generator``): equal seeds give identical weights.
    device : str
        Torch device to train on ('cpu' or 'cuda'); the model always transforms on the CPU.
    score_method : {'VAMP2', 'VAMP1', 'VAMPE'}
        Score maximised in training and reported in the curves.
    epsilon : float
        Truncation of the inverse square roots.
    progress : bool
        Show a progress bar over epochs.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = (np.cumsum(rng.random(2000) < 0.05) % 2)
    >>> x = np.c_[3.0 * s, np.zeros(2000)] + rng.normal(size=(2000, 2))
    >>> net = VAMPNet(n_states=2, hidden=(8,), lag=2, epochs=2, batch_size=128)
    >>> model = net.fit([x[:1000], x[1000:]]).fetch_model()
    >>> model.transform(x[:3]).shape
    (3, 2)
    """

    _parameters = {
        **TRAINING_PARAMETERS,
        "hidden": Param("any", help="widths of the hidden ELU layers", describe="a tuple of ints >= 1 (layer widths)",
                        check=_layer_widths),
        "batch_size": TRAINING_PARAMETERS["batch_size"].replace(minimum=2),
    }
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "features"
    _quick: ClassVar[dict[str, Any]] = {"n_states": 2, "hidden": (4,), "epochs": 2, "batch_size": 32}

    def __init__(self, n_states: int, hidden: tuple[int, ...] = (64, 64), lag: int = 1, lr: float = 1e-3,
                 batch_size: int = 256, epochs: int = 50, patience: int | None = 5,
                 validation: str = "trajectories", validation_fraction: float = 0.2, seed: int = 0,
                 device: str = "cpu", score_method: str = "VAMP2", epsilon: float = 1e-6,
                 progress: bool = False) -> None:
        self._set_params(locals())
        self._model: VAMPNetModel | None = None

    def _validated(self) -> dict[str, Any]:
        v = check_training_parameters(self)
        v["hidden"] = tuple(int(h) for h in self.hidden)
        return v

    def fit(self, data: Any, validation_data: Any = None) -> "VAMPNet":
        """Train the lobe, replacing any earlier fit.

        Parameters
        ----------
        data : ndarray, shape (T, d) or (T, n_targets, d), or list of such arrays, float
            Trajectories of features; a 3-D array gives one trajectory per target (column 1).
            Pairs are formed inside each trajectory only.
        validation_data : same form as ``data``, optional
            Held-out trajectories; when given, ``data`` is not split.

        Returns
        -------
        VAMPNet
            ``self``.
        """
        owner = type(self).__name__
        p = self._validated()
        lag, bs, dev = p["lag"], p["batch_size"], p["device"]
        trajs = as_trajectories(owner, data, per_target=True)
        check_long_enough(owner, trajs, lag)
        if validation_data is not None:
            train, val = trajs, as_trajectories(owner, validation_data, "validation_data", per_target=True)
            if val[0].shape[1] != train[0].shape[1]:
                raise ValueError(f"The 'validation_data' parameter of {owner} has {val[0].shape[1]} features; "
                                 f"'data' has {train[0].shape[1]}.")
        else:
            train, val = _split(trajs, p["validation"], p["validation_fraction"], lag, p["seed"])
        pairs = lagged_pairs([len(a) for a in train], lag)
        if len(pairs) < bs:
            raise ValueError(f"{owner} has {len(pairs)} training pairs at lag {lag} frames, fewer than "
                             f"'batch_size' = {bs}. Give more or longer trajectories, or a smaller 'batch_size'.")
        n_val_pairs = sum(max(len(a) - lag, 0) for a in val)
        if (validation_data is not None or p["validation_fraction"] > 0) and n_val_pairs < 2:
            raise ValueError(f"{owner}'s validation set has {n_val_pairs} pairs at lag {lag} frames; it needs at "
                             f"least 2. Give longer trajectories, a larger 'validation_fraction', or "
                             f"validation_fraction=0.")
        d = train[0].shape[1]
        stacked_n = sum(len(a) for a in train)
        mean = sum(a.sum(0) for a in train) / stacked_n
        std = np.sqrt(sum(((a - mean) ** 2).sum(0) for a in train) / stacked_n)
        std = np.where(std > 0, std, 1.0)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(p["seed"])
            lobe = _Lobe(d, p["hidden"], p["n_states"])
        lobe.shift.copy_(torch.as_tensor(mean, dtype=torch.float32))
        lobe.scale.copy_(torch.as_tensor(std, dtype=torch.float32))
        lobe.to(dev)
        gen = torch.Generator().manual_seed(p["seed"])
        train_t = [torch.as_tensor(a, dtype=torch.float32, device=dev) for a in train]

        def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            for x0, xt in pair_batches(train_t, pairs, lag, bs, gen):
                yield lobe(x0), lobe(xt)

        def validate() -> float:
            return _score_arrays(_transform_arrays(lobe, val, dev), lag, p["score_method"], p["epsilon"], True, owner)

        train_scores, val_scores, best_epoch, best_state = train_epochs(
            lobe, p, batches, validate if val else None, owner, self.progress)
        params = {k: _ro_f32(v.detach().cpu().numpy()) for k, v in best_state.items()}
        self._model = VAMPNetModel(
            lag=lag, n_states=p["n_states"], n_features=d, hidden=p["hidden"], score_method=p["score_method"],
            epsilon=p["epsilon"], train_scores=_ro(np.array(train_scores)), validation_scores=_ro(np.array(val_scores)),
            best_epoch=best_epoch, parameters=params,
            units={"lag": "frames", "train_scores": "", "validation_scores": ""},
            provenance={"estimator": owner, "params": {k: (str(v) if k == "device" else v) for k, v in p.items()},
                        "n_train_trajectories": len(train), "n_validation_trajectories": len(val),
                        "n_train_pairs": int(len(pairs)), "n_validation_pairs": int(n_val_pairs),
                        "score_convention": "include_constant=True (deeptime)"})
        return self


class GraphVAMPNet(Estimator):
    """Estimator of a graph-convolutional VAMPNet (GDyNet) on a :class:`GraphDataset`.

    Parameters
    ----------
    n_states : int
        Number of soft states m (>= 2).
    lag : int
        Lag time in frames (>= 1).
    dim : int
        Atom feature width.
    n_conv : int
        Graph convolutions (the receptive field, in neighbour hops).
    n_gaussians : int
        Gaussians expanding each distance over [0, r_max].
    lr : float
        Adam learning rate.
    batch_size : int
        Frame pairs per mini-batch (each gives one output pair per target atom).
    epochs : int
        Maximum passes over the training frame pairs.
    patience : int or None
        Stop after this many epochs without a better validation score; None never stops early.
    validation : {'trajectories', 'blocks'}
        Hold out whole trajectories, or one time block of each (automatic for one trajectory).
    validation_fraction : float
        Share held out, in [0, 1); 0 trains without validation and keeps the last epoch.
    seed : int
        Seeds the weights, the split and the shuffling.
    device : str
        Torch device to train on; the model transforms on the CPU.
    score_method : {'VAMP2', 'VAMP1', 'VAMPE'}
        Score maximised.
    epsilon : float
        Truncation of the inverse square roots.
    progress : bool
        Show a progress bar over epochs.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> import tempfile
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> ds = GraphDataset.from_source(src, tempfile.mkdtemp(), "name Li", stop=40)  # doctest: +SKIP
    >>> model = GraphVAMPNet(n_states=2, lag=5, epochs=2).fit(ds).fetch_model()  # doctest: +SKIP
    """

    _parameters = {
        **TRAINING_PARAMETERS,
        "dim": Param("int", help="atom feature width", minimum=1),
        "n_conv": Param("int", help="graph convolutions (receptive field in neighbour hops)", minimum=1),
        "n_gaussians": Param("int", help="Gaussians expanding each distance over [0, r_max]", minimum=2),
        "batch_size": TRAINING_PARAMETERS["batch_size"].replace(help="frame pairs per mini-batch"),
    }
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "graphs"
    _quick: ClassVar[dict[str, Any]] = {"n_states": 2, "lag": 2, "dim": 4, "n_conv": 1, "n_gaussians": 4, "epochs": 1,
                                        "batch_size": 4, "validation_fraction": 0.0}
    #: Train with the direct computation on whole torch-geometric batches (``_GraphLobe.forward_reference``)
    #: instead of the receptive fields and interpolated tables: the benchmarks' "before".
    _reference_path: ClassVar[bool] = False

    def __init__(self, n_states: int, lag: int = 1, *, dim: int = 16, n_conv: int = 3, n_gaussians: int = 16,
                 lr: float = 1e-3, batch_size: int = 16, epochs: int = 30, patience: int | None = 5,
                 validation: str = "trajectories", validation_fraction: float = 0.2, seed: int = 0,
                 device: str = "cpu", score_method: str = "VAMP2", epsilon: float = 1e-6,
                 progress: bool = False) -> None:
        self._set_params(locals())
        self._model: GraphVAMPNetModel | None = None

    def fit(self, data: GraphDataset) -> "GraphVAMPNet":
        """Train on the frame pairs of a graph dataset, replacing any earlier fit.

        Parameters
        ----------
        data : GraphDataset
            Neighbour graphs of every atom of one or more trajectories, with the readout atoms.

        Returns
        -------
        GraphVAMPNet
            ``self``.
        """
        owner = type(self).__name__
        p = check_training_parameters(self)
        p.update(dim=self.dim, n_conv=self.n_conv, n_gaussians=self.n_gaussians)
        if not isinstance(data, GraphDataset):
            raise TypeError(f"The 'data' parameter of {owner} must be a GraphDataset (build one with "
                            f"GraphDataset.from_source). Got {type(data).__name__}.")
        lag, bs, dev = p["lag"], p["batch_size"], p["device"]
        if max(data.lengths) <= lag:
            raise ValueError(f"The 'lag' parameter of {owner} ({lag} frames) must be shorter than the longest "
                             f"trajectory of '{data.directory}' ({max(data.lengths)} frames): no time-lagged pair "
                             f"fits.")
        train, val = split_segments(data.lengths, p["validation"], p["validation_fraction"], lag, p["seed"])
        pairs = lagged_pairs([hi - lo for _, lo, hi in train], lag)
        if len(pairs) < bs:
            raise ValueError(f"{owner} has {len(pairs)} training frame pairs at lag {lag} frames, fewer than "
                             f"'batch_size' = {bs}. Give more or longer trajectories, or a smaller 'batch_size'.")
        n_val_pairs = sum(max(hi - lo - lag, 0) for _, lo, hi in val)
        if p["validation_fraction"] > 0 and n_val_pairs < 2:
            raise ValueError(f"{owner}'s validation set has {n_val_pairs} frame pairs at lag {lag} frames; it needs "
                             f"at least 2. Give longer trajectories, a larger 'validation_fraction', or "
                             f"validation_fraction=0.")
        # Rows (segment, t) → (trajectory, absolute frame t).
        seg = np.asarray(train, dtype=np.int64).reshape(-1, 3)
        abs_pairs = np.stack([seg[pairs[:, 0], 0], seg[pairs[:, 0], 1] + pairs[:, 1]], axis=1)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(p["seed"])
            lobe = _GraphLobe(len(data.species_names), p["n_states"], p["dim"], p["n_conv"], p["n_gaussians"],
                              data.r_max)
        lobe.to(dev)
        gen = torch.Generator().manual_seed(p["seed"])
        n_t = data.n_targets

        def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            order = torch.randperm(len(abs_pairs), generator=gen).numpy()
            for b in range(len(abs_pairs) // bs):
                sel = abs_pairs[order[b * bs:(b + 1) * bs]]
                if self._reference_path:
                    out = lobe.forward_reference(_pair_batch(data, sel, lag, dev))
                else:
                    out = lobe(_pair_field(data, sel, lag, p["n_conv"], dev))
                yield out[:bs * n_t], out[bs * n_t:]

        def validate() -> float:
            lobe.eval()
            probs = []
            with torch.no_grad():
                for k, lo, hi in val:
                    per = []
                    for s in range(lo, hi, 16):
                        e = min(s + 16, hi)
                        if self._reference_path:
                            out = lobe.forward_reference(data.batch(k, np.arange(s, e), dev))
                        else:
                            out = lobe(_frames_field(data, k, np.arange(s, e), p["n_conv"], dev))
                        per.append(out.double().cpu().numpy().reshape(e - s, n_t, -1))
                    a = np.concatenate(per)
                    probs.extend(np.ascontiguousarray(a[:, j]) for j in range(n_t))
            lobe.train()
            return _score_arrays(probs, lag, p["score_method"], p["epsilon"], True, owner)

        train_scores, val_scores, best_epoch, best_state = train_epochs(
            lobe, p, batches, validate if val else None, owner, self.progress)
        self._model = GraphVAMPNetModel(
            lag=lag, n_states=p["n_states"], species_names=tuple(data.species_names),
            readout=_ro(data.readout.copy()), r_max=data.r_max, max_neighbors=data.max_neighbors, dim=p["dim"],
            n_conv=p["n_conv"], n_gaussians=p["n_gaussians"], dt_ps=data.dt_ps, score_method=p["score_method"],
            epsilon=p["epsilon"], train_scores=_ro(np.array(train_scores)), validation_scores=_ro(np.array(val_scores)),
            best_epoch=best_epoch, parameters={k: _ro_f32(v.detach().cpu().numpy()) for k, v in best_state.items()},
            units={"lag": "frames", "r_max": "Å", "dt_ps": "ps", "train_scores": "", "validation_scores": ""},
            provenance={"estimator": owner, "params": {k: (str(v) if k == "device" else v) for k, v in p.items()},
                        "dataset": data.directory, "n_train_frame_pairs": int(len(abs_pairs)),
                        "n_validation_frame_pairs": int(n_val_pairs), "n_targets": n_t,
                        "score_convention": "include_constant=True (deeptime)"})
        return self
