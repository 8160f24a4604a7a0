"""VAMPNets: neural soft state assignments trained on the VAMP score (Mardt et al., 2018).

One lobe, a multilayer perceptron ending in a softmax over ``m`` states, maps the features
at time ``t`` and at ``t + lag`` (the same network for both, as in GDyNet). Time-lagged pairs
are drawn inside each trajectory: a pair never straddles two trajectories, and trajectories
are never concatenated. Validation holds out whole trajectories (or one time block of each
trajectory when there is only one), and training stops early on the validation score.

Score convention
----------------
Scores follow :func:`trajml.models.koopman.vamp_score`: with ``include_constant=True``
(the default, deeptime's convention) the constant singular function is counted, so VAMP-2 of
``m`` softmax states lies in ``[1, m]``; with ``include_constant=False`` (GDyNet's convention)
it lies in ``[0, m - 1]``. Training and validation curves use ``include_constant=True``.
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from trajml.models.io import FORMAT, FORMAT_VERSION, read_header
from trajml.models.koopman import (
    TimeLaggedCovariance,
    _ro,
    as_trajectories,
    check_lag,
    check_long_enough,
    check_positive,
    soft_koopman_matrix,
    vamp_score,
)
from trajml.results import Results, _plain, read_only

__all__ = ["vamp_loss", "vamp_score_torch", "lagged_pairs", "pair_batches", "split_segments", "VAMPNet", "VAMPNetModel",
           "SoftStateModel"]

_METHODS: dict[str, int | str] = {"VAMP1": 1, "VAMP2": 2, "VAMPE": "E"}


def _check_method(owner: str, value: Any, name: str = "method") -> str:
    key = value.strip().upper().replace("-", "") if isinstance(value, str) else None
    if key not in _METHODS:
        raise ValueError(f"The '{name}' parameter of {owner} must be one of {sorted(_METHODS)}. Got {value!r} instead.")
    return key


def _check_int(owner: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"The '{name}' parameter of {owner} must be an int >= {minimum}. Got {value!r} instead.")
    return int(value)


# ----------------------------------------------------------------------------------------------
# differentiable VAMP scores
# ----------------------------------------------------------------------------------------------

def _covariances(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # mean-free covariances normalised by the number of pairs N (the VAMP scores do not depend on
    # the normalisation, so deeptime's N - 1 gives the same scores)
    n = x.shape[0]
    x = x - x.mean(dim=0, keepdim=True)
    y = y - y.mean(dim=0, keepdim=True)
    return x.T @ x / n, x.T @ y / n, y.T @ y / n


def _inv_sqrt(c: torch.Tensor, epsilon: float) -> torch.Tensor:
    # symmetric inverse square root on the eigenvalues above epsilon (the others are dropped)
    s, v = torch.linalg.eigh(0.5 * (c + c.T))
    keep = s > epsilon
    if not bool(keep.any()):
        raise ValueError(f"All eigenvalues of a covariance matrix are below epsilon={epsilon}: the lobe outputs "
                         "are constant over the batch.")
    s, v = s[keep], v[:, keep]
    return (v / torch.sqrt(s)) @ v.T


def _check_batch(owner: str, x: Any, y: Any) -> None:
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError(f"{owner} takes torch tensors 'x' and 'y'. Got {type(x).__name__} and {type(y).__name__}.")
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"The 'x' and 'y' parameters of {owner} must be 2-D tensors (batch, m) with the same batch "
                         f"size. Got shapes {tuple(x.shape)} and {tuple(y.shape)}.")
    if x.shape[0] < 2:
        raise ValueError(f"{owner} needs a batch of at least 2 pairs. Got {x.shape[0]}.")


def vamp_score_torch(x: torch.Tensor, y: torch.Tensor, method: str = "VAMP2", epsilon: float = 1e-6,
                     include_constant: bool = True) -> torch.Tensor:
    """Differentiable VAMP score of a batch of time-lagged lobe outputs.

    Parameters
    ----------
    x, y : torch.Tensor, shape (batch, m), float
        Lobe outputs at times t and t + lag, row i of ``x`` paired with row i of ``y``.
    method : {'VAMP1', 'VAMP2', 'VAMPE'}
        Sum of the singular values, of their squares, or the VAMP-E score.
    epsilon : float
        Eigenvalues of the mean-free covariances (and singular values, for VAMP-E) at or below
        ``epsilon`` are dropped from the inverse square roots.
    include_constant : bool
        Count the constant singular function (``+ 1``; deeptime's convention) or not (GDyNet's).

    Returns
    -------
    torch.Tensor, shape (), dimensionless
        The score; gradients flow to ``x`` and ``y``.
    """
    owner = "vamp_score_torch"
    key = _check_method(owner, method)
    eps = check_positive(owner, epsilon, "epsilon")
    if not isinstance(include_constant, (bool, np.bool_)):
        raise ValueError(f"The 'include_constant' parameter of {owner} must be a bool. "
                         f"Got {include_constant!r} instead.")
    _check_batch(owner, x, y)
    c00, c0t, ctt = _covariances(x, y)
    a, b = _inv_sqrt(c00, eps), _inv_sqrt(ctt, eps)
    k = a @ c0t @ b
    if key == "VAMP1":
        score = torch.linalg.matrix_norm(k, ord="nuc")
    elif key == "VAMP2":
        score = torch.sum(k * k)
    else:
        u, s, vh = torch.linalg.svd(k)
        keep = s > eps
        u, s, v = a @ u[:, keep], s[keep], b @ vh[keep].T
        kd = torch.diag(s)
        score = torch.trace(2.0 * kd @ u.T @ c0t @ v - kd @ u.T @ c00 @ u @ kd @ v.T @ ctt @ v)
    return score + 1.0 if include_constant else score


def vamp_loss(x: torch.Tensor, y: torch.Tensor, method: str = "VAMP2", epsilon: float = 1e-6,
              include_constant: bool = True) -> torch.Tensor:
    """Negative VAMP score, a loss to minimise; see :func:`vamp_score_torch`.

    Parameters
    ----------
    x, y : torch.Tensor, shape (batch, m), float
        Lobe outputs at times t and t + lag.
    method : {'VAMP1', 'VAMP2', 'VAMPE'}
        Score to maximise.
    epsilon : float
        Truncation of the inverse square roots of the mean-free covariances.
    include_constant : bool
        True equals ``deeptime.decomposition.deep.vampnet_loss`` (which counts the constant
        function); False is GDyNet's convention. The two differ by exactly 1.

    Returns
    -------
    torch.Tensor, shape (), dimensionless

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(100, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> round(float(vamp_loss(x, x, "VAMP2")), 6)  # identical x and y: three singular values of 1, plus 1
    -4.0
    """
    return -vamp_score_torch(x, y, method=method, epsilon=epsilon, include_constant=include_constant)


# ----------------------------------------------------------------------------------------------
# time-lagged pairs that stay inside one trajectory
# ----------------------------------------------------------------------------------------------

def lagged_pairs(lengths: Sequence[int], lag: int) -> np.ndarray:
    """All time-lagged pairs ``(t, t + lag)`` that fit inside each trajectory.

    Parameters
    ----------
    lengths : sequence of int
        Frames in each trajectory.
    lag : int
        Lag time in frames (>= 1).

    Returns
    -------
    ndarray, shape (n_pairs, 2), int64
        Rows ``(trajectory, t)``: the pair is frames ``t`` and ``t + lag`` of that trajectory,
        so ``t + lag < lengths[trajectory]`` always holds.

    Examples
    --------
    >>> lagged_pairs([4, 2], lag=2).tolist()
    [[0, 0], [0, 1]]
    """
    lag = check_lag("lagged_pairs", lag)
    parts = [np.stack([np.full(max(int(n) - lag, 0), k), np.arange(max(int(n) - lag, 0))], axis=1)
             for k, n in enumerate(lengths)]
    if not parts:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(parts).astype(np.int64).reshape(-1, 2)


def pair_batches(trajs: Sequence[torch.Tensor], pairs: np.ndarray, lag: int, batch_size: int,
                 generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled mini-batches ``(x_t, x_{t+lag})`` gathered from separate trajectories.

    Parameters
    ----------
    trajs : sequence of torch.Tensor, each shape (T_i, d)
        The trajectories, kept separate (never concatenated).
    pairs : ndarray, shape (n_pairs, 2), int64
        Rows ``(trajectory, t)`` from :func:`lagged_pairs`.
    lag : int
        Lag time in frames, as given to :func:`lagged_pairs`.
    batch_size : int
        Pairs per batch; the ``n_pairs % batch_size`` pairs left over after shuffling are skipped
        in this pass (they differ from pass to pass).
    generator : torch.Generator, optional
        Source of the shuffling order, for reproducible batches.

    Yields
    ------
    x0, xt : torch.Tensor, each shape (batch_size, d)
        Row i of ``xt`` is ``lag`` frames after row i of ``x0`` in the same trajectory.
    """
    pairs = np.asarray(pairs, dtype=np.int64)
    order = torch.randperm(len(pairs), generator=generator).numpy()
    for b in range(len(pairs) // batch_size):
        sel = pairs[order[b * batch_size:(b + 1) * batch_size]]
        sel = sel[np.argsort(sel[:, 0], kind="stable")]
        ks, starts = np.unique(sel[:, 0], return_index=True)
        stops = np.append(starts[1:], len(sel))
        x0, xt = [], []
        for k, s, e in zip(ks, starts, stops):
            t = torch.as_tensor(sel[s:e, 1], device=trajs[k].device)
            x0.append(trajs[k][t])
            xt.append(trajs[k][t + lag])
        yield torch.cat(x0), torch.cat(xt)


def split_segments(lengths: Sequence[int], validation: str, fraction: float, lag: int,
                   seed: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """Training and validation segments ``(trajectory, first frame, stop frame)``.

    Whole trajectories are held out, or (with ``validation='blocks'`` or a single trajectory) one
    random contiguous time block of each; segments too short for one pair at ``lag`` are dropped.
    """
    segs = [(k, 0, int(n)) for k, n in enumerate(lengths)]
    if fraction == 0.0:
        return segs, []
    rng = np.random.default_rng(seed)
    if validation == "trajectories" and len(segs) >= 2:
        n_val = min(max(1, int(round(fraction * len(segs)))), len(segs) - 1)
        held = set(rng.permutation(len(segs))[:n_val].tolist())
        return [s for s in segs if s[0] not in held], [s for s in segs if s[0] in held]
    train, val = [], []
    for k, _, n in segs:
        nv = max(int(round(fraction * n)), 1)
        start = int(rng.integers(0, n - nv + 1))
        val.append((k, start, start + nv))
        train.extend([(k, 0, start), (k, start + nv, n)])
    return [s for s in train if s[2] - s[1] > lag], [s for s in val if s[2] - s[1] > lag]


def _split(trajs: list[np.ndarray], validation: str, fraction: float, lag: int,
           seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Training and validation trajectories cut by :func:`split_segments`."""
    train, val = split_segments([len(a) for a in trajs], validation, fraction, lag, seed)
    return [trajs[k][lo:hi] for k, lo, hi in train], [trajs[k][lo:hi] for k, lo, hi in val]


# ----------------------------------------------------------------------------------------------
# the network
# ----------------------------------------------------------------------------------------------

class _Lobe(torch.nn.Module):
    """Standardisation of the features, an ELU multilayer perceptron and a softmax over states."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], n_states: int) -> None:
        super().__init__()
        self.register_buffer("shift", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        layers: list[torch.nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [torch.nn.Linear(width, h), torch.nn.ELU()]
            width = h
        layers += [torch.nn.Linear(width, n_states), torch.nn.Softmax(dim=-1)]
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.shift) / self.scale)


def _transform_arrays(lobe: _Lobe, trajs: Sequence[np.ndarray], device: torch.device,
                      chunk: int = 65536) -> list[np.ndarray]:
    out = []
    was_training = lobe.training
    lobe.eval()
    with torch.no_grad():
        for a in trajs:
            pieces = [lobe(torch.as_tensor(a[s:s + chunk], dtype=torch.float32, device=device)).double().cpu().numpy()
                      for s in range(0, len(a), chunk)]
            out.append(np.concatenate(pieces) if pieces else np.zeros((0, lobe.net[-2].out_features)))
    lobe.train(was_training)
    return out


def _score_arrays(probs: Sequence[np.ndarray], lag: int, method: str, epsilon: float, include_constant: bool,
                  owner: str) -> float:
    cov = TimeLaggedCovariance(lag, remove_mean=True).fit(list(probs)).fetch_model()
    try:
        return vamp_score(cov, _METHODS[method], include_constant=include_constant, epsilon=epsilon)
    except np.linalg.LinAlgError:
        return 1.0 if include_constant else 0.0  # constant outputs: only the constant function remains


# ----------------------------------------------------------------------------------------------
# the frozen model
# ----------------------------------------------------------------------------------------------

class SoftStateModel:
    """Scores, Koopman matrices and timescales shared by the trained VAMPNet models.

    Subclasses provide ``_probs(data, owner)``: per-target trajectories of state probabilities.
    """

    score_method: str
    epsilon: float

    def _probs(self, data: Any, owner: str) -> list[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, data: Any, lag: int, *, method: str | None = None, include_constant: bool = True) -> float:
        """VAMP score of the state probabilities on (held-out) data.

        Parameters
        ----------
        data
            Trajectories in the form :meth:`transform` takes; pairs are formed inside each
            (per-target) trajectory only.
        lag : int
            Lag time in frames.
        method : {'VAMP1', 'VAMP2', 'VAMPE'}, optional
            Defaults to the training ``score_method``.
        include_constant : bool
            Count the constant singular function (deeptime; maximum m for VAMP-2) or not (GDyNet; m - 1).

        Returns
        -------
        float
            Dimensionless score.
        """
        owner = f"{type(self).__name__}.score"
        lag = check_lag(owner, lag)
        key = _check_method(owner, self.score_method if method is None else method)
        probs = self._probs(data, owner)
        check_long_enough(owner, probs, lag)
        return _score_arrays(probs, lag, key, self.epsilon, bool(include_constant), owner)

    def koopman_matrix(self, data: Any, lag: int, *, stochastic: bool = False) -> np.ndarray:
        """Koopman (transition) matrix between the m soft states, from the NumPy covariances.

        Parameters
        ----------
        data
            Trajectories in the form :meth:`transform` takes.
        lag : int
            Lag time in frames.
        stochastic : bool
            Constrain the matrix to be row-stochastic (see :func:`trajml.models.koopman.soft_koopman_matrix`).

        Returns
        -------
        ndarray, shape (m, m), float64
            Dimensionless transition matrix at ``lag``.
        """
        owner = f"{type(self).__name__}.koopman_matrix"
        lag = check_lag(owner, lag)
        probs = self._probs(data, owner)
        check_long_enough(owner, probs, lag)
        cov = TimeLaggedCovariance(lag, remove_mean=False).fit(probs).fetch_model()
        return soft_koopman_matrix(cov, stochastic=stochastic)

    def timescales(self, data: Any, lag: int, dt_ps: float = 1.0, *, stochastic: bool = False) -> np.ndarray:
        """Implied timescales ``-lag dt / ln|λ_i|`` of :meth:`koopman_matrix`, i >= 2.

        Parameters
        ----------
        data
            Trajectories, as for :meth:`koopman_matrix`.
        lag : int
            Lag time in frames.
        dt_ps : float
            Time between frames in ps.
        stochastic : bool
            Use the row-stochastic Koopman matrix.

        Returns
        -------
        ndarray, shape (m - 1,), float64
            Timescales in ps, longest first.
        """
        owner = f"{type(self).__name__}.timescales"
        dt = check_positive(owner, dt_ps, "dt_ps", " ps")
        w = np.linalg.eigvals(self.koopman_matrix(data, lag, stochastic=stochastic))
        mags = np.sort(np.abs(w))[::-1][1:]
        with np.errstate(divide="ignore"):
            return -check_lag(owner, lag) * dt / np.log(np.clip(mags, 1e-300, 1.0 - 1e-15))


def write_model_file(path: str | os.PathLike[str], model: Any, params: dict[str, Any]) -> None:
    """Write a trained network (``params``, its curves and ``parameters``) as a trajml model file."""
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "model_type": type(model).__name__,
              "params": params, "arrays": ["train_scores", "validation_scores"], "none": [], "nested": {},
              "state_dict": list(model.parameters), "units": dict(model.units),
              "provenance": json.loads(json.dumps(_plain(model.provenance), default=str))}
    arrays = {"a:train_scores": model.train_scores, "a:validation_scores": model.validation_scores,
              **{f"p:{k}": v for k, v in model.parameters.items()}}
    with open(os.fspath(path), "wb") as fh:
        np.savez(fh, __header__=np.array(json.dumps(header)), **arrays)


def read_model_file(path: str | os.PathLike[str], cls: type) -> dict[str, Any]:
    """Read a file of :func:`write_model_file`: the header params plus the curves, weights, units, provenance.

    Raises
    ------
    ValueError
        Not a trajml model file, another model type, or another format version.
    """
    name = os.fspath(path)
    try:
        with np.load(name, allow_pickle=False) as data:
            header = read_header(data, name, cls.__name__)
            return {**header["params"], "train_scores": _ro(data["a:train_scores"]),
                    "validation_scores": _ro(data["a:validation_scores"]),
                    "parameters": {k: _ro_f32(data[f"p:{k}"]) for k in header["state_dict"]},
                    "units": header["units"], "provenance": header["provenance"]}
    except (OSError, EOFError, KeyError) as exc:
        raise ValueError(f"File '{name}' cannot be read as a {cls.__name__} file: {exc!r}") from exc


@dataclass(frozen=True, eq=False, kw_only=True)
class VAMPNetModel(SoftStateModel, Results):
    """A trained VAMPNet: soft assignments of features to ``n_states`` metastable states.

    Attributes
    ----------
    lag : int
        Training lag time in frames.
    n_states : int
        Number of softmax outputs m.
    n_features : int
        Input features per frame d.
    hidden : tuple of int
        Widths of the hidden layers.
    score_method : str
        'VAMP1', 'VAMP2' or 'VAMPE', the score trained on.
    epsilon : float
        Truncation of the inverse square roots.
    train_scores : ndarray, shape (n_epochs,), float64
        Mean training batch score per epoch (constant function included), dimensionless.
    validation_scores : ndarray, shape (n_epochs,), float64
        Score on the validation trajectories after each epoch (NaN without validation).
    best_epoch : int
        Epoch (0-based) whose weights the model holds.
    parameters : dict of str to ndarray
        The lobe's ``state_dict`` as float32 NumPy arrays.
    """

    lag: int
    n_states: int
    n_features: int
    hidden: tuple[int, ...]
    score_method: str
    epsilon: float
    train_scores: np.ndarray
    validation_scores: np.ndarray
    best_epoch: int
    parameters: dict[str, np.ndarray]

    def _lobe(self) -> _Lobe:
        lobe = self.__dict__.get("_cached_lobe")
        if lobe is None:
            lobe = _Lobe(self.n_features, tuple(self.hidden), self.n_states)
            lobe.load_state_dict({k: torch.as_tensor(np.array(v)) for k, v in self.parameters.items()})
            lobe.eval()
            object.__setattr__(self, "_cached_lobe", lobe)
        return lobe

    def transform(self, x: Any) -> Any:
        """State probabilities of each frame.

        Parameters
        ----------
        x : ndarray, shape (T, d) or (T, n_targets, d), float, or list of such arrays
            Features in the units used for training.

        Returns
        -------
        ndarray, shape (T, m) or (T, n_targets, m), float64, or a list of them
            Rows sum to 1 (dimensionless).
        """
        if isinstance(x, (list, tuple)):
            return [self.transform(a) for a in x]
        a = np.asarray(x, dtype=np.float64)
        if a.ndim not in (2, 3) or a.shape[-1] != self.n_features:
            raise ValueError(f"The 'x' parameter of VAMPNetModel.transform must have shape (T, {self.n_features}) or "
                             f"(T, n_targets, {self.n_features}). Got shape {a.shape} instead.")
        if not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))[0]
            raise ValueError(f"The 'x' parameter of VAMPNetModel.transform must be finite; it has {a[tuple(bad)]} "
                             f"at frame {bad[0]}.")
        (p,) = _transform_arrays(self._lobe(), [a.reshape(-1, self.n_features)], torch.device("cpu"))
        return p.reshape(a.shape[:-1] + (self.n_states,))

    def _probs(self, data: Any, owner: str) -> list[np.ndarray]:
        trajs = as_trajectories(owner, data, per_target=True)
        if trajs[0].shape[1] != self.n_features:
            raise ValueError(f"The 'data' parameter of {owner} must have {self.n_features} features per frame. "
                             f"Got {trajs[0].shape[1]}.")
        return _transform_arrays(self._lobe(), trajs, torch.device("cpu"))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to ``path``: an ``.npz`` file with a JSON header (trajml model file format).

        Parameters
        ----------
        path : str or path-like
            Destination file, written as given.
        """
        write_model_file(path, self, {"lag": self.lag, "n_states": self.n_states, "n_features": self.n_features,
                                      "hidden": list(self.hidden), "score_method": self.score_method,
                                      "epsilon": self.epsilon, "best_epoch": self.best_epoch})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "VAMPNetModel":
        """Read a model written by :meth:`save`; files of another model type are refused.

        Parameters
        ----------
        path : str or path-like
            File written by :meth:`save`.

        Returns
        -------
        VAMPNetModel

        Raises
        ------
        ValueError
            Not a trajml model file, another model type, or another format version.
        """
        p = read_model_file(path, cls)
        return cls(lag=int(p["lag"]), n_states=int(p["n_states"]), n_features=int(p["n_features"]),
                   hidden=tuple(int(h) for h in p["hidden"]), score_method=str(p["score_method"]),
                   epsilon=float(p["epsilon"]), best_epoch=int(p["best_epoch"]), train_scores=p["train_scores"],
                   validation_scores=p["validation_scores"], parameters=p["parameters"], units=p["units"],
                   provenance=p["provenance"])


def _ro_f32(a: Any) -> np.ndarray:
    return read_only(a, np.float32)


# ----------------------------------------------------------------------------------------------
# estimator plumbing shared by the VAMPNets
# ----------------------------------------------------------------------------------------------

def check_training_parameters(est: Any) -> dict[str, Any]:
    """Validate the parameters every VAMPNet estimator shares; returns them normalised."""
    owner = type(est).__name__
    v: dict[str, Any] = {"n_states": _check_int(owner, "n_states", est.n_states, 2),
                         "lag": check_lag(owner, est.lag),
                         "lr": check_positive(owner, est.lr, "lr"),
                         "batch_size": _check_int(owner, "batch_size", est.batch_size, est._min_batch),
                         "epochs": _check_int(owner, "epochs", est.epochs, 1),
                         "seed": _check_int(owner, "seed", est.seed, 0),
                         "score_method": _check_method(owner, est.score_method, "score_method"),
                         "epsilon": check_positive(owner, est.epsilon, "epsilon")}
    v["patience"] = None if est.patience is None else _check_int(owner, "patience", est.patience, 1)
    if est.validation not in ("trajectories", "blocks"):
        raise ValueError(f"The 'validation' parameter of {owner} must be 'trajectories' or 'blocks'. "
                         f"Got {est.validation!r} instead.")
    v["validation"] = est.validation
    f = est.validation_fraction
    if isinstance(f, bool) or not isinstance(f, (int, float, np.number)) or not 0.0 <= float(f) < 1.0:
        raise ValueError(f"The 'validation_fraction' parameter of {owner} must be a float in [0, 1). "
                         f"Got {f!r} instead.")
    v["validation_fraction"] = float(f)
    try:
        dev = torch.device(est.device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"The 'device' parameter of {owner} must be a torch device such as 'cpu' or 'cuda'. "
                         f"Got {est.device!r} instead.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"The 'device' parameter of {owner} is {est.device!r} but no CUDA device is available.")
    v["device"] = dev
    return v


_MALLOC_TUNED = False


def reuse_freed_memory() -> None:
    """Let glibc keep freed tensor buffers for reuse instead of unmapping them (Linux only).

    Torch on CPU allocates and frees buffers of tens to hundreds of MB every step; glibc serves
    those from fresh mmaps, so every step page-faults them in again. On the graph model that was
    half of the wall time (0.8 s of 1.6 s per batch, all kernel time). Raising the mmap and trim
    thresholds keeps them in the heap: memory stays at the per-batch peak, which training reaches
    anyway. Called once, on the first training or transform; a no-op where glibc is absent.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED = True
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # mallopt parameter ids of <malloc.h>
        libc.mallopt(m_mmap_threshold, 1 << 30)
        libc.mallopt(m_trim_threshold, (1 << 31) - 1)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


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
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=p["epochs"], unit="epoch", desc=owner)
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
        if bar is not None:
            bar.set_postfix(train=f"{train_scores[-1]:.3f}", validation=f"{val_scores[-1]:.3f}")
            bar.update(1)
        if stop:
            break
    if bar is not None:
        bar.close()
    return train_scores, val_scores, best_epoch, best_state


# ----------------------------------------------------------------------------------------------
# the estimator
# ----------------------------------------------------------------------------------------------

class VAMPNet:
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

    _min_batch = 2

    def __init__(self, n_states: int, hidden: tuple[int, ...] = (64, 64), lag: int = 1, lr: float = 1e-3,
                 batch_size: int = 256, epochs: int = 50, patience: int | None = 5,
                 validation: str = "trajectories", validation_fraction: float = 0.2, seed: int = 0,
                 device: str = "cpu", score_method: str = "VAMP2", epsilon: float = 1e-6,
                 progress: bool = False) -> None:
        self.n_states = n_states
        self.hidden = hidden
        self.lag = lag
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.validation = validation
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.device = device
        self.score_method = score_method
        self.epsilon = epsilon
        self.progress = progress
        self._model: VAMPNetModel | None = None

    def _validated(self) -> dict[str, Any]:
        owner = type(self).__name__
        v = check_training_parameters(self)
        hidden = self.hidden
        if not isinstance(hidden, (list, tuple)) or not all(
                isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1 for h in hidden):
            raise ValueError(f"The 'hidden' parameter of {owner} must be a tuple of ints >= 1 (layer widths). "
                             f"Got {hidden!r} instead.")
        v["hidden"] = tuple(int(h) for h in hidden)
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
            lobe, p, batches, validate if val else None, owner, bool(self.progress))
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

    def fetch_model(self) -> VAMPNetModel:
        """The trained model (frozen; calling this changes nothing)."""
        if self._model is None:
            raise RuntimeError(f"{type(self).__name__} has not been fitted: call fit(data) first.")
        return self._model
