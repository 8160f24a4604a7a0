"""Shared generators for the kinetic-model tests: seeded Markov chains and time series."""

from __future__ import annotations

import numpy as np
import pytest
from model_helpers import T3, simulate_chain  # noqa: E402


@pytest.fixture(scope="session")
def chain3() -> np.ndarray:
    return simulate_chain(T3, 5000, 20, seed=11)


@pytest.fixture(scope="session")
def ar_trajs() -> list[np.ndarray]:
    """Two correlated 3-D AR(1) trajectories with different means (so concatenation matters)."""
    rng = np.random.default_rng(3)
    A = np.array([[0.9, 0.05, 0.0], [0.0, 0.7, 0.1], [0.02, 0.0, 0.5]])
    out = []
    for n, shift in ((700, 0.0), (500, 3.0)):
        x = np.zeros((n, 3))
        for t in range(1, n):
            x[t] = x[t - 1] @ A.T + rng.normal(size=3)
        out.append(x + shift)
    return out

