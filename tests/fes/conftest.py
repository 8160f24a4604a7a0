"""Seeded equilibrium samples of the analytic potentials and the surfaces fitted to them (session-wide).

The estimator settings are those of the accuracy tests; the fitted models are shared by the
accuracy, calibration and path tests so each is fitted once.
"""

from __future__ import annotations

import numpy as np
import pytest
from fes_potentials import DoubleWell, MuellerBrown, langevin_samples

N_SAMPLES = 20_000
BINS = 50


def _in_box(x: np.ndarray, box) -> np.ndarray:
    b = np.asarray(box)
    return x[np.all((x >= b[:, 0]) & (x <= b[:, 1]), axis=1)]


@pytest.fixture(scope="session")
def potentials():
    return {"mueller_brown": MuellerBrown(), "double_well": DoubleWell()}


@pytest.fixture(scope="session")
def samples(potentials):
    """20 000 independent equilibrium samples per potential, restricted to its box (a Boltzmann ensemble too)."""
    return {name: _in_box(langevin_samples(pot, N_SAMPLES, seed=1), pot.box) for name, pot in potentials.items()}


@pytest.fixture(scope="session")
def fitted(potentials, samples):
    """{potential: {method: FESModel}} on a 50 x 50 grid over the box."""
    from trajml.fes import GaussianProcessFES, HistogramFES, KernelDensityFES, NeuralNetworkFES

    out = {}
    for name, pot in potentials.items():
        x = samples[name]
        kw = dict(temperature=300.0, bins=BINS, ranges=pot.box)
        out[name] = {
            "hist": HistogramFES(**kw).fit(x).fetch_model(),
            "kde": KernelDensityFES(**kw).fit(x).fetch_model(),
            "gp": GaussianProcessFES(**kw).fit(x).fetch_model(),
            "nn": NeuralNetworkFES(**kw, hidden=(32, 32), n_members=5, n_steps=300, seed=0).fit(x).fetch_model(),
        }
    return out
