"""GP error bars against the exact free energy, over seeds and sample sizes.

Samples are drawn exactly from exp(−U/kT) (inverse CDF on a fine grid plus a uniform jitter
within its cell), so the true F = U + const is known at every grid cell. Over the cells with
data, the rms of (error / predicted σ) must be near 1 (pooled over 5 seeds; one seed's value
scatters by ±30 % because neighbouring errors are correlated) and the RMSE below the histogram's.
"""

from __future__ import annotations

import numpy as np
import pytest
from fes_potentials import KT, MuellerBrown

SEEDS = range(5)
SIZES = (2000, 20000)


def _double_well_1d(p: np.ndarray) -> np.ndarray:
    """kJ/mol: 3 kT (x² − 1)² + 0.5 kT x, two wells with a 3 kT barrier and a 1 kT tilt."""
    x = p[:, 0]
    return KT * (3.0 * (x * x - 1.0) ** 2 + 0.5 * x)


CASES = {
    "double_well_1d": (_double_well_1d, ((-2.0, 2.0),), 100, 0.0005),
    "mueller_brown": (MuellerBrown().energy, ((-1.7, 1.3), (-0.5, 2.2)), 50, 0.003),
}


def exact_samples(U, box, n: int, seed: int, h: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    axes = [np.arange(lo, hi, h) + h / 2 for lo, hi in box]
    P = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    V = U(P)
    p = np.exp(-(V - V.min()) / KT)
    pick = rng.choice(len(P), size=n, p=p / p.sum())
    return P[pick] + rng.uniform(-h / 2, h / 2, size=(n, len(box)))


def bin_averaged_truth(U, model, sub: int = 8) -> np.ndarray:
    """The histogram's estimand, −ln⟨exp(−U/kT)⟩_bin, in kT."""
    w = [e[1] - e[0] for e in model.edges]
    c = model.grid_points()
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    grids = np.meshgrid(*[offs * wk for wk in w], indexing="ij")
    ref = U(c).min()
    acc = sum(np.exp(-(U(c + o) - ref) / KT) for o in np.stack([g.ravel() for g in grids], axis=1))
    return -np.log(acc / sub ** len(w))


def scores(model, truth_kT: np.ndarray, cells: np.ndarray) -> tuple[float, np.ndarray]:
    """RMSE (kT, best constant removed) and z = (error − Boltzmann-weighted offset) / σ over ``cells``."""
    F, S = model.predict(model.grid_points(), return_std=True, unit="kT")
    d = F[cells] - truth_kT[cells]
    w = np.exp(-(truth_kT[cells] - truth_kT[cells].min()))
    return float(np.sqrt(np.mean((d - d.mean()) ** 2))), (d - np.sum(w * d) / w.sum()) / S[cells]


@pytest.fixture(scope="module")
def runs():
    from trajml.fes import GaussianProcessFES, HistogramFES

    out = {}
    for name, (U, box, bins, h) in CASES.items():
        for n in SIZES:
            for seed in SEEDS:
                x = exact_samples(U, box, n, seed, h)
                kw = dict(temperature=300.0, bins=bins, ranges=box)
                hist = HistogramFES(**kw).fit(x).fetch_model()
                gp = GaussianProcessFES(**kw, seed=seed).fit(x).fetch_model()
                cells = np.isfinite(hist.free_energy_kJmol.ravel())  # the cells with data
                point = U(gp.grid_points()) / KT
                rmse_gp, z = scores(gp, point, cells)
                rmse_hist, _ = scores(hist, bin_averaged_truth(U, hist), cells)
                out[name, n, seed] = (rmse_gp, rmse_hist, z)
    print("\npotential        n      seed  RMSE gp  RMSE hist (kT)  z-rms gp")
    for (name, n, seed), (rg, rh, z) in out.items():
        print(f"{name:16s} {n:6d} {seed:4d}  {rg:7.3f}  {rh:9.3f}  {np.sqrt(np.mean(z ** 2)):8.2f}")
    return out


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("n", SIZES)
def test_gp_error_bars_are_calibrated(runs, name, n):
    z = np.concatenate([runs[name, n, s][2] for s in SEEDS])
    z_rms = float(np.sqrt(np.mean(z ** 2)))
    assert 0.8 < z_rms < 1.25, z_rms
    per_seed = [float(np.sqrt(np.mean(runs[name, n, s][2] ** 2))) for s in SEEDS]
    assert max(per_seed) < 1.6, per_seed  # no seed far over-confident


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("n", SIZES)
def test_gp_beats_the_histogram_on_the_same_samples(runs, name, n):
    for s in SEEDS:
        rmse_gp, rmse_hist, _ = runs[name, n, s]
        assert rmse_gp < rmse_hist, (s, rmse_gp, rmse_hist)
