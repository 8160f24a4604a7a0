"""Sliding-window transition counts per trajectory (or time block), summed with bootstrap weights.

Sliding counts are additive over trajectories, so the count matrix of a bootstrap sample (items
drawn with replacement) is Σ_i m_i C_i, with m_i how often item i was drawn and C_i its own
count matrix. Counting each item once per lag and summing with weights gives, for every sample,
exactly the matrix that counting the resampled list would, without recounting it: the bootstrap
of implied timescales and of the Chapman–Kolmogorov test then costs one maximum-likelihood MSM
fit per sample and lag.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["PooledCounts", "count_matrix"]


def count_matrix(dtraj: np.ndarray, lag: int, n_states: int) -> np.ndarray:
    """Sliding transition counts of one discrete trajectory, shape (n_states, n_states), int64.

    ``C[i, j]`` counts the frames t with ``dtraj[t] = i`` and ``dtraj[t + lag] = j``.
    """
    d = np.asarray(dtraj, dtype=np.int64)
    if len(d) <= lag:
        return np.zeros((n_states, n_states), dtype=np.int64)
    return np.bincount(d[:-lag] * n_states + d[lag:], minlength=n_states * n_states).reshape(n_states, n_states)


class PooledCounts:
    """The items a bootstrap draws (whole trajectories, or blocks of ``block_frames``) and their counts.

    Parameters
    ----------
    dtrajs : sequence of ndarray, each shape (T_i,), int
        Discrete trajectories.
    n_states : int
        Number of states (every index is below it).
    block_frames : int, optional
        Cut each trajectory into blocks of this many frames; the blocks are the items.
    """

    def __init__(self, dtrajs: Sequence[np.ndarray], n_states: int, block_frames: int | None = None) -> None:
        pool = list(dtrajs)
        if block_frames is not None:
            pool = [d[s:s + block_frames] for d in dtrajs for s in range(0, len(d), block_frames)]
        self.pool = pool
        self.n_states = int(n_states)
        self._by_lag: dict[int, np.ndarray] = {}

    def per_item(self, lag: int) -> np.ndarray:
        """Count matrices of every item at ``lag``, shape (n_items, n_states, n_states), int64 (cached)."""
        if lag not in self._by_lag:
            self._by_lag[lag] = np.stack([count_matrix(d, lag, self.n_states) for d in self.pool])
        return self._by_lag[lag]

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """How often each item is drawn in one bootstrap sample (as many draws as items), shape (n_items,)."""
        n = len(self.pool)
        return np.bincount(rng.integers(0, n, size=n), minlength=n)

    def total(self, lag: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Σ_i w_i C_i at ``lag`` (every weight 1 by default), shape (n_states, n_states), float64."""
        c = self.per_item(lag)
        summed = c.sum(0) if weights is None else np.tensordot(np.asarray(weights, dtype=np.int64), c, 1)
        return summed.astype(np.float64)
