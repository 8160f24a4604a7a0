"""Receptive fields: the part of a batch of neighbour graphs that a graph network's outputs depend on.

With ``L`` convolutions, the states of the target atoms depend only on the atoms within ``L``
neighbour hops. A :class:`Field` holds just those atoms, numbered by hop
(:func:`trajml.kernels.receptive_field.receptive_field`), so the atoms a layer updates and the
atoms it reads are two prefixes of the same rows. On a 20 000-bead frame with 300 Li⁺ targets, K = 12
and three layers, the first layer updates half the atoms and the last one 1.5 %; the torch-geometric
batch of the same frames also carries every edge twice (``edge_index`` and the padded rows),
which the network never reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from trajml.kernels.receptive_field import receptive_field

__all__ = ["Field", "field_from_frames", "field_from_batch"]


@dataclass(frozen=True)
class Field:
    """The atoms within ``L`` hops of the targets of a batch of frames, as torch tensors.

    Attributes
    ----------
    species : torch.Tensor, shape (n_field,), int64
        Species code of every row (targets first, then by hop).
    level_end : tuple of int, length L + 1
        Rows within 0, 1, …, L hops.
    nbr : torch.Tensor, shape (level_end[L - 1], K), int64
        Rows of the neighbours of the rows within L - 1 hops; padding holds row 0.
    mask : torch.Tensor, shape (level_end[L - 1], K), bool
        Real neighbours.
    dist : torch.Tensor, shape (level_end[L - 1], K), float32
        Edge lengths in Å (0 on padding).
    d_max : float
        Longest edge, Å.
    out_rows : torch.Tensor, shape (n_outputs,), int64
        Row of each output, in output order (frame-major, then readout order).
    """

    species: torch.Tensor
    level_end: tuple[int, ...]
    nbr: torch.Tensor
    mask: torch.Tensor
    dist: torch.Tensor
    d_max: float
    out_rows: torch.Tensor


def _field(species_of_rows: np.ndarray, level_end: np.ndarray, target_rows: np.ndarray, nbr: np.ndarray,
           dist: np.ndarray, device: Any) -> Field:
    mask = nbr >= 0
    return Field(species=torch.as_tensor(species_of_rows, dtype=torch.long, device=device),
                 level_end=tuple(int(v) for v in level_end),
                 nbr=torch.as_tensor(np.where(mask, nbr, 0), dtype=torch.long, device=device),
                 mask=torch.as_tensor(mask, device=device),
                 dist=torch.as_tensor(dist, device=device),
                 d_max=float(dist.max(initial=0.0)),
                 out_rows=torch.as_tensor(target_rows, device=device))


def field_from_frames(species: np.ndarray, readout: np.ndarray, neighbors: np.ndarray, distances: np.ndarray,
                      n_hops: int, device: Any = "cpu") -> Field:
    """The receptive field of the readout atoms in F frames of padded neighbour rows.

    Parameters
    ----------
    species : ndarray, shape (N,), int
        Species code of every atom.
    readout : ndarray, shape (n_targets,), int
        Atoms read out, in output order.
    neighbors : ndarray, shape (F, N, K), int32
        Neighbour ids per frame (-1 pads), as :meth:`trajml.store.GraphDataset.read` returns.
    distances : ndarray, shape (F, N, K), float32
        Distances in Å.
    n_hops : int
        Convolutions of the network.
    device : torch.device or str
        Where the tensors live.

    Returns
    -------
    Field
        Outputs ordered frame by frame, then by readout atom.
    """
    f, n, k = neighbors.shape
    readout = np.asarray(readout, dtype=np.int64)
    targets = (np.arange(f, dtype=np.int64)[:, None] * n + readout[None, :]).ravel()
    order, level_end, target_rows, nbr, dist = receptive_field(
        neighbors.reshape(f * n, k), distances.reshape(f * n, k), n, targets, n_hops)
    return _field(np.asarray(species)[order % n], level_end, target_rows, nbr, dist, device)


def field_from_batch(batch: Any, n_hops: int) -> Field:
    """The receptive field of a torch-geometric batch from :func:`trajml.store.graphs.frames_to_batch`.

    Parameters
    ----------
    batch : torch_geometric.data.Batch
        With ``x`` (species codes), ``nbr`` (node ids, -1 pads), ``nbr_dist`` (Å) and ``readout``.
    n_hops : int
        Convolutions of the network.

    Returns
    -------
    Field
        On the batch's device.
    """
    nbr = batch.nbr.detach().cpu().numpy()
    order, level_end, target_rows, rows, dist = receptive_field(
        nbr.astype(np.int32), batch.nbr_dist.detach().cpu().numpy(), len(nbr),
        batch.readout.detach().cpu().numpy(), n_hops)
    return _field(batch.x.detach().cpu().numpy()[order], level_end, target_rows, rows, dist, batch.x.device)
