"""Trained VAMPNets (frozen): soft state assignments, their VAMP scores, Koopman matrices and timescales.

:class:`VAMPNetModel` maps feature vectors, :class:`GraphVAMPNetModel` neighbour graphs of the
target atoms, to probabilities over ``m`` states. Both are trajml model files
(:func:`trajml.store.save_model` / :func:`trajml.store.load_model`): an ``.npz`` of the network
weights and training curves with a JSON header. Scores follow the convention of
:mod:`trajml.kinetics.deep.losses` (constant function included).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch_geometric.data import Batch

from trajml._files import atomic_write
from trajml._validation import check_float, check_int
from trajml.kinetics.deep.data import _frames_field
from trajml.kinetics.deep.fields import field_from_frames
from trajml.kinetics.deep.losses import _METHODS, _check_method
from trajml.kinetics.deep.networks import _GraphLobe, _Lobe, _transform_arrays, reuse_freed_memory
from trajml.kinetics.koopman import (
    TimeLaggedCovariance,
    _ro,
    as_trajectories,
    check_long_enough,
    soft_koopman_matrix,
    vamp_score,
)
from trajml.results import Results, _plain, read_only
from trajml.store.graphs import GraphDataset, padded_from_chunk
from trajml.store.models import FORMAT, FORMAT_VERSION, StoredModel, read_header

__all__ = ["SoftStateModel", "VAMPNetModel", "GraphVAMPNetModel"]


def _score_arrays(probs: Sequence[np.ndarray], lag: int, method: str, epsilon: float, include_constant: bool,
                  owner: str) -> float:
    cov = TimeLaggedCovariance(lag, remove_mean=True).fit(list(probs)).fetch_model()
    try:
        return vamp_score(cov, _METHODS[method], include_constant=include_constant, epsilon=epsilon)
    except np.linalg.LinAlgError:
        return 1.0 if include_constant else 0.0  # constant outputs: only the constant function remains


# ----------------------------------------------------------------------------------------------
# soft states
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
        lag = check_int(lag, "lag", owner)
        key = _check_method(self.score_method if method is None else method, "method", owner)
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
            Constrain the matrix to be row-stochastic (see :func:`trajml.kinetics.koopman.soft_koopman_matrix`).

        Returns
        -------
        ndarray, shape (m, m), float64
            Dimensionless transition matrix at ``lag``.
        """
        owner = f"{type(self).__name__}.koopman_matrix"
        lag = check_int(lag, "lag", owner)
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
        dt = check_float(dt_ps, "dt_ps", owner, unit="ps")
        w = np.linalg.eigvals(self.koopman_matrix(data, lag, stochastic=stochastic))
        mags = np.sort(np.abs(w))[::-1][1:]
        with np.errstate(divide="ignore"):
            return -check_int(lag, "lag", owner) * dt / np.log(np.clip(mags, 1e-300, 1.0 - 1e-15))


def write_model_file(path: str | os.PathLike[str], model: Any, params: dict[str, Any]) -> None:
    """Write a trained network (``params``, its curves and ``parameters``) as a trajml model file."""
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "model_type": type(model).__name__,
              "params": params, "arrays": ["train_scores", "validation_scores"], "none": [], "nested": {},
              "state_dict": list(model.parameters), "units": dict(model.units),
              "provenance": json.loads(json.dumps(_plain(model.provenance), default=str))}
    arrays = {"a:train_scores": model.train_scores, "a:validation_scores": model.validation_scores,
              **{f"p:{k}": v for k, v in model.parameters.items()}}
    with atomic_write(path, "wb", what="model file") as fh:
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


# ----------------------------------------------------------------------------------------------
# the frozen models
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, kw_only=True)
class VAMPNetModel(SoftStateModel, Results, StoredModel, own_file=True):
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


_ARCH = ("n_states", "dim", "n_conv", "n_gaussians", "r_max")


@dataclass(frozen=True, eq=False, kw_only=True)
class GraphVAMPNetModel(SoftStateModel, Results, StoredModel, own_file=True):
    """A trained GraphVAMPNet: soft state assignments of target atoms from their neighbour graphs.

    Attributes
    ----------
    lag : int
        Training lag time in frames.
    n_states : int
        Number of softmax outputs m.
    species_names : tuple of str
        Species the embedding was trained on, in code order; graphs of another species set are refused.
    readout : ndarray, shape (n_targets,), int64
        Topology ids of the target atoms in the training topology (the default readout).
    r_max : float
        Cut-off of the training graphs and range of the distance expansion, in Å.
    max_neighbors : int
        Neighbours per atom K in the training graphs.
    dim : int
        Atom feature width.
    n_conv : int
        Graph convolutions.
    n_gaussians : int
        Gaussians in the distance expansion.
    dt_ps : float
        Time between training frames in ps.
    score_method : str
        'VAMP1', 'VAMP2' or 'VAMPE', the score trained on.
    epsilon : float
        Truncation of the inverse square roots.
    train_scores, validation_scores : ndarray, shape (n_epochs,), float64
        Mean training batch score and validation score per epoch (constant function included).
    best_epoch : int
        Epoch (0-based) whose weights the model holds.
    parameters : dict of str to ndarray
        The network's ``state_dict`` as float32 NumPy arrays.
    """

    lag: int
    n_states: int
    species_names: tuple[str, ...]
    readout: np.ndarray
    r_max: float
    max_neighbors: int
    dim: int
    n_conv: int
    n_gaussians: int
    dt_ps: float
    score_method: str
    epsilon: float
    train_scores: np.ndarray
    validation_scores: np.ndarray
    best_epoch: int
    parameters: dict[str, np.ndarray]

    def _lobe(self) -> _GraphLobe:
        lobe = self.__dict__.get("_cached_lobe")
        if lobe is None:
            lobe = _GraphLobe(len(self.species_names), self.n_states, self.dim, self.n_conv, self.n_gaussians,
                              self.r_max)
            lobe.load_state_dict({k: torch.as_tensor(np.array(v)) for k, v in self.parameters.items()})
            lobe.eval()
            object.__setattr__(self, "_cached_lobe", lobe)
        return lobe

    def _check_species(self, names: tuple[str, ...], what: str) -> None:
        if tuple(names) != tuple(self.species_names):
            raise ValueError(f"{what} has species {tuple(names)}, but this GraphVAMPNetModel was trained on species "
                             f"{tuple(self.species_names)}: the species embedding does not apply. Build the graphs "
                             f"with the same species labels (species_by) as in training.")

    def _check_dataset(self, ds: GraphDataset) -> None:
        self._check_species(ds.species_names, f"Graph dataset '{ds.directory}'")
        if abs(ds.r_max - self.r_max) > 1e-6 or ds.max_neighbors != self.max_neighbors:
            raise ValueError(f"Graph dataset '{ds.directory}' has r_max = {ds.r_max} Å and K = {ds.max_neighbors}; "
                             f"the model was trained with r_max = {self.r_max} Å and K = {self.max_neighbors}.")

    def transform(self, graphs: Any, *, readout: Any = None, frames_per_pass: int = 16) -> Any:
        """State probabilities of the target atoms.

        Parameters
        ----------
        graphs : GraphDataset, GraphChunk, torch_geometric.data.Batch, or list of GraphChunk
            A :class:`~trajml.store.graphs.GraphDataset` (one array per trajectory), a
            :class:`~trajml.features.GraphChunk` of all atoms, or a batch from
            :func:`~trajml.store.graphs.frames_to_batch` (with ``readout``).
        readout : array_like of int, optional
            For GraphChunk input: topology ids read out (default: the training readout).
        frames_per_pass : int
            Frames per forward pass (memory against speed).

        Returns
        -------
        ndarray, shape (T, n_targets, m), float64, or list of them (one per trajectory or chunk);
        for a Batch, shape (n_readout_nodes, m). Rows sum to 1 (dimensionless).
        """
        from trajml.features.graphs import GraphChunk

        lobe = self._lobe()
        if isinstance(graphs, GraphDataset):
            self._check_dataset(graphs)
            return [self._transform_dataset(graphs, k, frames_per_pass) for k in range(graphs.n_trajectories)]
        if isinstance(graphs, (list, tuple)):
            return [self.transform(g, readout=readout, frames_per_pass=frames_per_pass) for g in graphs]
        if isinstance(graphs, GraphChunk):
            self._check_species(graphs.species_names, "The GraphChunk")
            ro = self.readout if readout is None else np.asarray(readout, dtype=np.int64)
            if ro.size and (ro.min() < 0 or ro.max() >= len(graphs.species)):
                raise ValueError(f"The readout atoms of GraphVAMPNetModel.transform (topology ids up to {ro.max()}) "
                                 f"do not exist in graphs of {len(graphs.species)} atoms; pass 'readout' for this "
                                 f"system (e.g. its Li⁺ ids).")
            width = int(np.diff(graphs.offsets).max(initial=1))
            nbr, dist = padded_from_chunk(graphs, max(width, 1))
            with torch.no_grad():
                out = lobe(field_from_frames(graphs.species, ro, nbr, dist, self.n_conv))
            return out.double().numpy().reshape(graphs.n_frames, len(ro), self.n_states)
        if isinstance(graphs, Batch) or hasattr(graphs, "edge_index"):
            if not all(hasattr(graphs, a) for a in ("x", "nbr", "nbr_dist", "readout")):
                raise ValueError("A torch-geometric input to GraphVAMPNetModel.transform needs 'x' (species codes), "
                                 "'edge_index', 'edge_dist' (Å) and 'readout' (node ids): build it with "
                                 "trajml.store.graphs.frames_to_batch.")
            with torch.no_grad():
                return lobe(graphs).double().cpu().numpy()
        raise TypeError(f"GraphVAMPNetModel.transform takes a GraphDataset, a GraphChunk or a torch-geometric batch; "
                        f"got {type(graphs).__name__}.")

    def _transform_dataset(self, ds: GraphDataset, k: int, per_pass: int) -> np.ndarray:
        reuse_freed_memory()
        lobe = self._lobe()
        n = ds.lengths[k]
        out = np.empty((n, ds.n_targets, self.n_states))
        with torch.no_grad():
            for lo in range(0, n, per_pass):
                hi = min(lo + per_pass, n)
                field = _frames_field(ds, k, np.arange(lo, hi), self.n_conv, "cpu")
                out[lo:hi] = lobe(field).double().numpy().reshape(hi - lo, ds.n_targets, -1)
        return out

    def _probs(self, data: Any, owner: str) -> list[np.ndarray]:
        probs = self.transform(data)
        if isinstance(probs, np.ndarray):
            probs = [probs]
        return [np.ascontiguousarray(p[:, j, :]) for p in probs for j in range(p.shape[1])]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to ``path`` (trajml model file: ``.npz`` with a JSON header)."""
        write_model_file(path, self, {
            "lag": self.lag, "n_states": self.n_states, "species_names": list(self.species_names),
            "readout": self.readout.tolist(), "r_max": self.r_max, "max_neighbors": self.max_neighbors,
            "dim": self.dim, "n_conv": self.n_conv, "n_gaussians": self.n_gaussians, "dt_ps": self.dt_ps,
            "score_method": self.score_method, "epsilon": self.epsilon, "best_epoch": self.best_epoch})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "GraphVAMPNetModel":
        """Read a model written by :meth:`save`; files of another model type are refused.

        Raises
        ------
        ValueError
            Not a trajml model file, another model type, or another format version.
        """
        p = read_model_file(path, cls)
        return cls(lag=int(p["lag"]), n_states=int(p["n_states"]), species_names=tuple(p["species_names"]),
                   readout=_ro(np.asarray(p["readout"], dtype=np.int64)), r_max=float(p["r_max"]),
                   max_neighbors=int(p["max_neighbors"]), dim=int(p["dim"]), n_conv=int(p["n_conv"]),
                   n_gaussians=int(p["n_gaussians"]), dt_ps=float(p["dt_ps"]), score_method=str(p["score_method"]),
                   epsilon=float(p["epsilon"]), best_epoch=int(p["best_epoch"]), train_scores=p["train_scores"],
                   validation_scores=p["validation_scores"], parameters=p["parameters"], units=p["units"],
                   provenance=p["provenance"])
