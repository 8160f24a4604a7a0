"""GraphVAMPNet: a graph-convolutional VAMPNet on periodic neighbour graphs (GDyNet-style).

After Xie et al., Nat. Commun. 2019 ("graph dynamical networks"): every atom starts from an
embedding of its species; edges carry Gaussian-expanded minimum-image distances; a stack of
attention-weighted, gated graph convolutions with residual connections refines the atom
features; the features of the target atoms (e.g. every Li⁺) are read out through a small
perceptron and a softmax over ``m`` states. One network maps frames ``t`` and ``t + lag``.

The network is invariant to rotations, translations and permutations of atoms of a species.
Only atoms within ``n_conv`` hops of a target can influence its output, so each convolution
updates just the atoms the later layers read (exactly the same output as updating every atom,
for a fraction of the work when the targets are few).

Training draws random time-lagged frame pairs from a disk-backed :class:`GraphDataset`: a pair
never straddles two trajectories and memory is bounded by the batch, not by the trajectory.
Each frame pair gives ``n_targets`` pairs of outputs (one per target atom) to the VAMP loss.
Scores follow the convention of :mod:`trajml.models.deep.vampnet` (constant function included).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch_geometric.data import Batch

from trajml.models.deep.graph_data import GraphDataset, chunk_to_batch, frames_to_batch
from trajml.models.deep.vampnet import (
    SoftStateModel,
    _check_int,
    _ro_f32,
    _score_arrays,
    check_training_parameters,
    lagged_pairs,
    read_model_file,
    reuse_freed_memory,
    split_segments,
    train_epochs,
    write_model_file,
)
from trajml.models.koopman import _ro
from trajml.results import Results

__all__ = ["GraphVAMPNet", "GraphVAMPNetModel"]


# ----------------------------------------------------------------------------------------------
# the network
# ----------------------------------------------------------------------------------------------

class _GaussianDistance(torch.nn.Module):
    """exp(-((d - μ_k) / w)²) on ``n`` centres evenly spaced over [0, r_max] Å, width w = spacing."""

    def __init__(self, r_max: float, n: int) -> None:
        super().__init__()
        self.register_buffer("centres", torch.linspace(0.0, r_max, n))
        self.width = r_max / (n - 1)

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(((d[:, None] - self.centres) / self.width) ** 2))


class _AttentionConv(torch.nn.Module):
    """Gated, attention-weighted convolution with a residual: x_i += softplus(LN(Σ_j α_ij σ(f_ij) ⊙ g(s_ij))).

    ``z_ij = W_c x_i + W_n x_j + W_e e_ij`` is split into a filter f, a core s and an attention
    logit; α_ij is n_i times the softmax of the logits over the n_i neighbours j of i. Node terms are projected
    per atom before gathering. Neighbour lists have a fixed width K (padding masked out), so the
    sums over neighbours are dense reductions rather than scatters (several times faster on CPU).
    """

    def __init__(self, dim: int, edge_dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.centre = torch.nn.Linear(dim, 2 * dim + 1)
        self.neighbour = torch.nn.Linear(dim, 2 * dim + 1, bias=False)
        self.edge = torch.nn.Linear(edge_dim, 2 * dim + 1, bias=False)
        self.norm = torch.nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, active: torch.Tensor, nbr: torch.Tensor, mask: torch.Tensor,
                expanded: torch.Tensor) -> torch.Tensor:
        """Update the ``active`` atoms from their neighbours ``nbr`` (n_active, K) (padding: ``~mask``)."""
        z = self.centre(x[active])[:, None, :] + self.neighbour(x)[nbr] + self.edge(expanded)
        f, s, logit = z[..., :self.dim], z[..., self.dim:2 * self.dim], z[..., -1]
        alpha = torch.softmax(logit.masked_fill(~mask, -torch.inf), dim=1)
        alpha = torch.nan_to_num(alpha, nan=0.0)  # atoms without neighbours receive nothing
        # Weights sum to the number of neighbours, not to 1: a normalised average could not tell
        # a 4-fold from a 6-fold cage of identical atoms at equal distances.
        alpha = alpha * mask.sum(1, keepdim=True)
        out = (alpha[..., None] * torch.sigmoid(f) * torch.nn.functional.softplus(s)).sum(1)
        # Only the atoms later layers read are updated; the others keep their features.
        return x.index_add(0, active, torch.nn.functional.softplus(self.norm(out)))


class _GraphLobe(torch.nn.Module):
    """Species embedding → n_conv attention convolutions → perceptron at the targets → softmax."""

    def __init__(self, n_species: int, n_states: int, dim: int, n_conv: int, n_gaussians: int,
                 r_max: float) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(n_species, dim)
        self.expand = _GaussianDistance(r_max, n_gaussians)
        self.convs = torch.nn.ModuleList([_AttentionConv(dim, n_gaussians) for _ in range(n_conv)])
        self.head = torch.nn.Sequential(torch.nn.Linear(dim, dim), torch.nn.ELU(), torch.nn.Linear(dim, n_states),
                                        torch.nn.Softmax(dim=-1))

    def forward(self, batch: Batch) -> torch.Tensor:
        nbr_all, dist_all = batch.nbr, batch.nbr_dist
        n = batch.x.shape[0]
        # Atoms each layer must update: the targets for the last, then one hop wider per layer down.
        need = torch.zeros(n, dtype=torch.bool, device=batch.x.device)
        need[batch.readout] = True
        plan = []
        for _ in self.convs:
            active = torch.nonzero(need).view(-1)
            nb = nbr_all[active]
            mask = nb >= 0
            nb = nb.clamp(min=0)
            plan.append((active, nb, mask, dist_all[active]))
            need = need.clone()
            need[nb[mask]] = True
        plan.reverse()
        x = self.embed(batch.x)
        for conv, (active, nb, mask, dist) in zip(self.convs, plan):
            x = conv(x, active, nb, mask, self.expand(dist.reshape(-1)).view(dist.shape + (-1,)))
        return self.head(x[batch.readout])


# ----------------------------------------------------------------------------------------------
# the frozen model
# ----------------------------------------------------------------------------------------------

_ARCH = ("n_states", "dim", "n_conv", "n_gaussians", "r_max")


@dataclass(frozen=True, eq=False, kw_only=True)
class GraphVAMPNetModel(SoftStateModel, Results):
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
            A :class:`~trajml.models.deep.graph_data.GraphDataset` (one array per trajectory), a
            :class:`~trajml.features.GraphChunk` of all atoms, or a batch from
            :func:`~trajml.models.deep.graph_data.frames_to_batch` (with ``readout``).
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
            with torch.no_grad():
                out = lobe(chunk_to_batch(graphs, ro, max(width, 1)))
            return out.double().numpy().reshape(graphs.n_frames, len(ro), self.n_states)
        if isinstance(graphs, Batch) or hasattr(graphs, "edge_index"):
            if not all(hasattr(graphs, a) for a in ("x", "nbr", "nbr_dist", "readout")):
                raise ValueError("A torch-geometric input to GraphVAMPNetModel.transform needs 'x' (species codes), "
                                 "'edge_index', 'edge_dist' (Å) and 'readout' (node ids): build it with "
                                 "trajml.models.deep.graph_data.frames_to_batch.")
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
                out[lo:hi] = lobe(ds.batch(k, np.arange(lo, hi))).double().numpy().reshape(hi - lo, ds.n_targets, -1)
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


# ----------------------------------------------------------------------------------------------
# the estimator
# ----------------------------------------------------------------------------------------------

class GraphVAMPNet:
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

    _min_batch = 1

    def __init__(self, n_states: int, lag: int = 1, *, dim: int = 16, n_conv: int = 3, n_gaussians: int = 16,
                 lr: float = 1e-3, batch_size: int = 16, epochs: int = 30, patience: int | None = 5,
                 validation: str = "trajectories", validation_fraction: float = 0.2, seed: int = 0,
                 device: str = "cpu", score_method: str = "VAMP2", epsilon: float = 1e-6,
                 progress: bool = False) -> None:
        self.n_states = n_states
        self.lag = lag
        self.dim = dim
        self.n_conv = n_conv
        self.n_gaussians = n_gaussians
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
        for name in ("dim", "n_conv"):
            p[name] = _check_int(owner, name, getattr(self, name), 1)
        p["n_gaussians"] = _check_int(owner, "n_gaussians", self.n_gaussians, 2)
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
                out = lobe(_pair_batch(data, sel, lag, dev))
                yield out[:bs * n_t], out[bs * n_t:]

        def validate() -> float:
            lobe.eval()
            probs = []
            with torch.no_grad():
                for k, lo, hi in val:
                    per = []
                    for s in range(lo, hi, 16):
                        e = min(s + 16, hi)
                        per.append(lobe(data.batch(k, np.arange(s, e), dev)).double().cpu().numpy()
                                   .reshape(e - s, n_t, -1))
                    a = np.concatenate(per)
                    probs.extend(np.ascontiguousarray(a[:, j]) for j in range(n_t))
            lobe.train()
            return _score_arrays(probs, lag, p["score_method"], p["epsilon"], True, owner)

        train_scores, val_scores, best_epoch, best_state = train_epochs(
            lobe, p, batches, validate if val else None, owner, bool(self.progress))
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

    def fetch_model(self) -> GraphVAMPNetModel:
        """The trained model (frozen; calling this changes nothing)."""
        if self._model is None:
            raise RuntimeError(f"{type(self).__name__} has not been fitted: call fit(data) first.")
        return self._model


def _pair_batch(data: GraphDataset, sel: np.ndarray, lag: int, device: torch.device) -> Batch:
    """One batch of the frames t (first half) and t + lag (second half) of the pairs ``sel`` (trajectory, t)."""
    frames = [(sel[:, 0], sel[:, 1]), (sel[:, 0], sel[:, 1] + lag)]
    nbrs, dists = [], []
    for trajs, ts in frames:
        nb = np.empty((len(ts), len(data.species), data.max_neighbors), dtype=np.int32)
        di = np.empty(nb.shape, dtype=np.float32)
        for k in np.unique(trajs):  # one positional read per trajectory and run of frames
            rows = np.flatnonzero(trajs == k)
            nb[rows], di[rows] = data.read(int(k), ts[rows])
        nbrs.append(nb)
        dists.append(di)
    return frames_to_batch(data.species, data.readout, np.concatenate(nbrs), np.concatenate(dists), device)

