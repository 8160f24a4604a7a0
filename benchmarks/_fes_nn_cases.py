"""One case of the NN ensemble's calibration benchmark: exact samples of a known potential, a
histogram and a calibrated ``NeuralNetworkFES`` on the same samples and bins, scored against the
exact free energy.

Potentials (kJ/mol at 300 K, kT = 2.494 kJ/mol):

- ``double_well_1d``: U/kT = 3 (x² − 1)² + 0.5 x on [−2, 2], 100 bins (two wells, a 3 kT
  barrier, a 1 kT tilt);
- ``mueller_brown``: the Müller–Brown potential with kT = 15 of its units on
  [−1.7, 1.3] × [−0.5, 2.2], 50 x 50 bins.

Samples are drawn exactly from exp(−U/kT): inverse CDF on a fine grid plus a uniform jitter in its
cell, so the true F = U + const is known everywhere. Scores over the bins with data:

- RMSE (kT, best constant removed): the network's F at the bin centres against U there; the
  histogram's against its own estimand, −ln of exp(−U/kT) averaged over the bin;
- z = (error − its Boltzmann-weighted mean) / predicted σ per bin, and its rms (1 when the σ is
  calibrated).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

KT = 0.00831446261815324 * 300.0  # kJ/mol

_MB = dict(A=np.array([-200.0, -100.0, -170.0, 15.0]), a=np.array([-1.0, -1.0, -6.5, 0.7]),
           b=np.array([0.0, 0.0, 11.0, 0.6]), c=np.array([-10.0, -10.0, -6.5, 0.7]),
           x0=np.array([1.0, 0.0, -0.5, -1.0]), y0=np.array([0.0, 0.5, 1.5, 1.0]))


def mueller_brown(p: np.ndarray) -> np.ndarray:
    """kJ/mol, kT = 15 Müller–Brown units."""
    dx = p[:, 0, None] - _MB["x0"]
    dy = p[:, 1, None] - _MB["y0"]
    e = _MB["A"] * np.exp(_MB["a"] * dx * dx + _MB["b"] * dx * dy + _MB["c"] * dy * dy)
    return e.sum(axis=1) * KT / 15.0


def double_well_1d(p: np.ndarray) -> np.ndarray:
    """kJ/mol: 3 kT (x² − 1)² + 0.5 kT x."""
    x = p[:, 0]
    return KT * (3.0 * (x * x - 1.0) ** 2 + 0.5 * x)


#: name -> (potential, box, bins per CV, spacing of the sampling grid)
CASES: dict[str, tuple[Any, tuple[tuple[float, float], ...], int, float]] = {
    "double_well_1d": (double_well_1d, ((-2.0, 2.0),), 100, 0.0005),
    "mueller_brown": (mueller_brown, ((-1.7, 1.3), (-0.5, 2.2)), 50, 0.003),
}


def exact_samples(U: Any, box: tuple[tuple[float, float], ...], n: int, seed: int, h: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    axes = [np.arange(lo, hi, h) + h / 2 for lo, hi in box]
    P = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    V = U(P)
    p = np.exp(-(V - V.min()) / KT)
    pick = rng.choice(len(P), size=n, p=p / p.sum())
    return P[pick] + rng.uniform(-h / 2, h / 2, size=(n, len(box)))


def _bin_averaged(U: Any, model: Any, sub: int = 8) -> np.ndarray:
    """−ln⟨exp(−U/kT)⟩ over each bin (kT), by a sub x sub midpoint rule."""
    w = [e[1] - e[0] for e in model.edges]
    c = model.grid_points()
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    grids = np.meshgrid(*[offs * wk for wk in w], indexing="ij")
    ref = U(c).min()
    acc = sum(np.exp(-(U(c + o) - ref) / KT) for o in np.stack([g.ravel() for g in grids], axis=1))
    return -np.log(acc / sub ** len(w))


def _errors(F: np.ndarray, truth: np.ndarray, cells: np.ndarray) -> tuple[float, np.ndarray]:
    d = F[cells] - truth[cells]
    w = np.exp(-(truth[cells] - truth[cells].min()))
    return float(np.sqrt(np.mean((d - d.mean()) ** 2))), d - np.sum(w * d) / w.sum()


def run_case(name: str, n: int, seed: int, nn: dict[str, Any]) -> dict[str, Any]:
    """Fit and score one (potential, sample size, seed); ``nn`` are NeuralNetworkFES settings."""
    from trajml.fes import HistogramFES, NeuralNetworkFES

    U, box, bins, h = CASES[name]
    x = exact_samples(U, box, n, seed, h)
    kw = dict(temperature=300.0, bins=bins, ranges=box)
    hist = HistogramFES(**kw).fit(x).fetch_model()
    cells = np.isfinite(hist.free_energy_kJmol.ravel())
    t0 = time.perf_counter()
    model = NeuralNetworkFES(**kw, **nn, seed=seed, calibrate=True).fit(x).fetch_model()
    fit_s = time.perf_counter() - t0
    pts = model.grid_points()
    F, S = model.predict(pts, return_std=True, unit="kT")
    rmse_nn, err = _errors(F, U(pts) / KT, cells)
    rmse_hist, _ = _errors(hist.free_energy_kJmol.ravel() / KT, _bin_averaged(U, hist), cells)
    raw = np.sqrt(model.surface.member_values(pts).var(axis=0, ddof=1))  # the members' spread alone
    beta = model.surface.bias_floor
    no_bias = np.sqrt(np.maximum(S ** 2 - beta ** 2, 1e-300))  # σ without the bias floor, for comparison
    z, z_raw, z_nb = err / S[cells], err / raw[cells], err / no_bias[cells]
    prov = model.provenance
    return {"potential": name, "n": n, "seed": seed, "n_cells": int(cells.sum()), "fit_s": fit_s,
            "rmse_nn_kT": rmse_nn, "rmse_hist_kT": rmse_hist, "z_rms": float(np.sqrt(np.mean(z * z))),
            "z_rms_raw_spread": float(np.sqrt(np.mean(z_raw * z_raw))), "sum_z2": float(np.sum(z * z)),
            "sum_z2_raw": float(np.sum(z_raw * z_raw)), "z_rms_without_bias_floor": float(np.sqrt(np.mean(z_nb ** 2))),
            "sum_z2_without_bias_floor": float(np.sum(z_nb * z_nb)),
            **{k: prov[k] for k in ("spread_scale", "count_noise", "bias_floor_kT") if k in prov}}
