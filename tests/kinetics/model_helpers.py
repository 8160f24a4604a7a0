"""Seeded Markov-chain helpers shared by the kinetics tests (a module of its own: conftest is not importable
unambiguously across test folders)."""

from __future__ import annotations

import numpy as np


def simulate_chain(T: np.ndarray, n_steps: int, n_traj: int, seed: int) -> np.ndarray:
    """Discrete trajectories of a Markov chain, shape (n_steps, n_traj), int64 (one column per walker)."""
    rng = np.random.default_rng(seed)
    cum = np.cumsum(T, axis=1)
    cum[:, -1] = 1.0
    x = np.empty((n_steps, n_traj), dtype=np.int64)
    x[0] = rng.integers(0, len(T), n_traj)
    for t in range(1, n_steps):
        u = rng.random(n_traj)
        x[t] = (cum[x[t - 1]] < u[:, None]).sum(1)
    return x


# Three metastable states, known transition matrix per frame (reversible: detailed balance holds)
T3 = np.array([[0.97, 0.02, 0.01],
               [0.03, 0.95, 0.02],
               [0.01, 0.04, 0.95]])
