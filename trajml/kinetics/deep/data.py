"""Time-lagged training data of the VAMPNets: pairs inside each trajectory, shuffled batches, held-out segments.

A pair never straddles two trajectories, and trajectories are never concatenated. Validation holds
out whole trajectories (or one time block of each trajectory when there is only one). For graph
models, the frames of a batch of pairs are read from a disk-backed
:class:`~trajml.store.graphs.GraphDataset`.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch_geometric.data import Batch

from trajml._validation import check_int
from trajml.kinetics.deep.fields import Field, field_from_frames
from trajml.store.graphs import GraphDataset, frames_to_batch

__all__ = ["lagged_pairs", "pair_batches", "split_segments"]


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
    lag = check_int(lag, "lag", "lagged_pairs")
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

    Parameters
    ----------
    lengths : sequence of int
        Frames of each trajectory.
    validation : {"trajectories", "blocks"}
        What is held out.
    fraction : float
        Share of the frames held out (0: none).
    lag : int
        Lag in frames.
    seed : int
        Seed of the random choice.
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


def _pair_frames(data: GraphDataset, sel: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour rows and distances of the frames t (first half) and t + lag (second half) of the pairs ``sel``."""
    frames = [(sel[:, 0], sel[:, 1]), (sel[:, 0], sel[:, 1] + lag)]
    shape = (2 * len(sel), len(data.species), data.max_neighbors)
    nbr = np.empty(shape, dtype=np.int32)
    dist = np.empty(shape, dtype=np.float32)
    for half, (trajs, ts) in enumerate(frames):
        for k in np.unique(trajs):  # one positional read per trajectory and run of frames
            rows = np.flatnonzero(trajs == k) + half * len(sel)
            nbr[rows], dist[rows] = data.read(int(k), ts[rows - half * len(sel)])
    return nbr, dist


def _pair_batch(data: GraphDataset, sel: np.ndarray, lag: int, device: torch.device) -> Batch:
    """One torch-geometric batch of the frames t (first half) and t + lag (second half) of the pairs ``sel``."""
    nbr, dist = _pair_frames(data, sel, lag)
    return frames_to_batch(data.species, data.readout, nbr, dist, device)


def _pair_field(data: GraphDataset, sel: np.ndarray, lag: int, n_hops: int, device: torch.device) -> Field:
    """The receptive field of the targets in the frames t (first half) and t + lag (second half) of ``sel``."""
    nbr, dist = _pair_frames(data, sel, lag)
    return field_from_frames(data.species, data.readout, nbr, dist, n_hops, device)


def _frames_field(data: GraphDataset, traj_id: int, frames: np.ndarray, n_hops: int, device: Any) -> Field:
    """The receptive field of the targets in some frames of one trajectory."""
    nbr, dist = data.read(traj_id, frames)
    return field_from_frames(data.species, data.readout, nbr, dist, n_hops, device)
