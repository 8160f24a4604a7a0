"""Analytic 2-D potentials and a seeded overdamped-Langevin sampler for the free-energy tests.

At equilibrium the free energy of the two coordinates is the potential itself, F = V + const,
so every estimator is checked against V (never against another trajml result).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize, root

KB = 0.00831446261815324  # kJ/mol/K
T = 300.0
KT = KB * T

# Müller–Brown parameters (Müller & Brown 1979)
_MB_A = np.array([-200.0, -100.0, -170.0, 15.0])
_MB_a = np.array([-1.0, -1.0, -6.5, 0.7])
_MB_b = np.array([0.0, 0.0, 11.0, 0.6])
_MB_c = np.array([-10.0, -10.0, -6.5, 0.7])
_MB_x0 = np.array([1.0, 0.0, -0.5, -1.0])
_MB_y0 = np.array([0.0, 0.5, 1.5, 1.0])
MB_SCALE = KT / 15.0  # kJ/mol per Müller–Brown unit: kT = 15 MB units at 300 K (barrier A→C ≈ 7 kT)


@dataclass(frozen=True)
class Potential:
    name: str
    box: tuple[tuple[float, float], tuple[float, float]]

    def energy(self, p: np.ndarray) -> np.ndarray:  # kJ/mol
        raise NotImplementedError

    def grad(self, p: np.ndarray) -> np.ndarray:  # kJ/mol per unit
        raise NotImplementedError


class MuellerBrown(Potential):
    def __init__(self) -> None:
        super().__init__("mueller_brown", ((-1.7, 1.3), (-0.5, 2.2)))

    def _terms(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dx = p[:, 0, None] - _MB_x0
        dy = p[:, 1, None] - _MB_y0
        e = _MB_A * np.exp(_MB_a * dx * dx + _MB_b * dx * dy + _MB_c * dy * dy)
        return e, dx, dy

    def energy(self, p: np.ndarray) -> np.ndarray:
        return MB_SCALE * self._terms(np.atleast_2d(p))[0].sum(axis=1)

    def grad(self, p: np.ndarray) -> np.ndarray:
        e, dx, dy = self._terms(np.atleast_2d(p))
        gx = (e * (2 * _MB_a * dx + _MB_b * dy)).sum(axis=1)
        gy = (e * (_MB_b * dx + 2 * _MB_c * dy)).sum(axis=1)
        return MB_SCALE * np.stack([gx, gy], axis=1)


class DoubleWell(Potential):
    """V/kT = 4 (x² − 1)² + 3 (y − 0.3 x)²: two wells at x = ±1, a 4 kT barrier, tilted valleys."""

    def __init__(self) -> None:
        super().__init__("double_well", ((-2.0, 2.0), (-2.2, 2.2)))

    def energy(self, p: np.ndarray) -> np.ndarray:
        p = np.atleast_2d(p)
        x, y = p[:, 0], p[:, 1]
        return KT * (4.0 * (x * x - 1.0) ** 2 + 3.0 * (y - 0.3 * x) ** 2)

    def grad(self, p: np.ndarray) -> np.ndarray:
        p = np.atleast_2d(p)
        x, y = p[:, 0], p[:, 1]
        gx = 16.0 * x * (x * x - 1.0) - 1.8 * (y - 0.3 * x)
        gy = 6.0 * (y - 0.3 * x)
        return KT * np.stack([gx, gy], axis=1)


def langevin_samples(pot: Potential, n: int, seed: int, *, n_steps: int = 400, dt: float = 5e-5) -> np.ndarray:
    """``n`` independent equilibrium samples: walkers drawn from exp(−V/kT) on a fine grid, then relaxed
    by ``n_steps`` seeded Euler–Maruyama steps of overdamped Langevin dynamics (D = 1, time unit
    length²) so that they come from the dynamics' own stationary state, not from the grid."""
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = pot.box
    h = 0.004
    xs, ys = np.arange(x0, x1, h) + h / 2, np.arange(y0, y1, h) + h / 2
    P = np.stack([m.ravel() for m in np.meshgrid(xs, ys, indexing="ij")], axis=1)
    V = pot.energy(P)
    p = np.exp(-(V - V.min()) / KT)
    pick = rng.choice(len(P), size=n, p=p / p.sum())
    x = P[pick] + rng.uniform(-h / 2, h / 2, size=(n, 2))
    noise = np.sqrt(2.0 * dt)
    for _ in range(n_steps):
        x = x - pot.grad(x) / KT * dt + noise * rng.standard_normal(x.shape)
    return x


def mb_stationary_points() -> dict[str, np.ndarray]:
    """Minima A, B, C and saddles S1 (A–C), S2 (C–B) of the Müller–Brown potential, found from the
    textbook locations by minimisation and by Newton's method on ∇V = 0."""
    pot = MuellerBrown()
    out = {}
    for name, guess in (("A", (-0.558, 1.442)), ("B", (0.623, 0.028)), ("C", (-0.050, 0.467))):
        out[name] = minimize(lambda q: pot.energy(q)[0], guess, jac=lambda q: pot.grad(q)[0], tol=1e-12).x
    for name, guess in (("S1", (-0.822, 0.624)), ("S2", (0.212, 0.293))):
        out[name] = root(lambda q: pot.grad(q)[0], guess, tol=1e-12).x
    return out


def rmse_region(F_pred: np.ndarray, F_true: np.ndarray, region: np.ndarray) -> tuple[float, float, float]:
    """RMSE after removing the best constant, over ``region`` points where the prediction is finite.

    Returns (rmse, fraction of the region covered, constant removed)."""
    ok = region & np.isfinite(F_pred)
    diff = F_pred[ok] - F_true[ok]
    c = diff.mean()
    return float(np.sqrt(np.mean((diff - c) ** 2))), float(ok.sum() / region.sum()), float(c)
