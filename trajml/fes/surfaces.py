"""Evaluators behind a fitted free-energy model: NumPy only, so a model never needs torch.

Every surface works in units of kT on the dimensionless free energy f = F / kT, defined up to
an additive constant that :class:`~trajml.fes.model.FESModel` removes. Each one gives

- ``values(x)``: f and its predictive variance at points ``x`` (n, d), CV units;
- ``gradient(x)``: df/dx, shape (n, d), kT per CV unit;
- ``draws(x, n, rng)``: surfaces drawn from the estimator's uncertainty, shape (n_draws, len(x)),
  jointly over the points, so that differences (barriers) carry their correlations.

Surfaces are stored inside free-energy model files as plain arrays (:mod:`trajml.store.fes`); each
class registers itself with the model-file registry as a part (:class:`~trajml.store.models.StoredModel`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

from trajml.store.models import StoredModel

__all__ = ["GridSurface", "CellSurface", "KDESurface", "GPSurface", "MLPSurface", "rbf"]

_CHUNK = 4096  # rows per block: bounds memory of the (rows x samples) kernel blocks


def _blocks(n: int, size: int = _CHUNK) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


# ----------------------------------------------------------------------------------------------
# histogram: a tabulated surface
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class GridSurface(StoredModel, part=True):
    """f tabulated at bin centres, linearly interpolated; independent Gaussian errors per bin."""

    edges: tuple[np.ndarray, ...]
    f: np.ndarray      # grid shape, inf where the bin is empty
    var: np.ndarray    # grid shape, inf where the bin is empty

    def _inside(self, x: np.ndarray) -> np.ndarray:
        return np.all([(x[:, k] >= e[0]) & (x[:, k] <= e[-1]) for k, e in enumerate(self.edges)], axis=0)

    def _interp(self, table: np.ndarray, x: np.ndarray) -> np.ndarray:
        from scipy.interpolate import RegularGridInterpolator

        axes = tuple(0.5 * (e[1:] + e[:-1]) for e in self.edges)
        if any(len(a) < 2 for a in axes):
            raise ValueError("A grid surface needs at least 2 bins per CV.")
        lo = np.array([a[0] for a in axes])
        hi = np.array([a[-1] for a in axes])
        xc = np.clip(x, lo, hi)  # between the outer centre and the outer edge: the outer bin's value
        empty = ~np.isfinite(table)
        out = RegularGridInterpolator(axes, np.where(empty, 0.0, table), bounds_error=False, fill_value=np.nan)(xc)
        if empty.any():
            # any weight on an empty bin makes the value undefined (inf); exactly at a centre it has none
            touch = RegularGridInterpolator(axes, empty.astype(np.float64), bounds_error=False, fill_value=1.0)(xc)
            out[touch > 1e-12] = np.inf
        out[~self._inside(x)] = np.nan
        return out

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._interp(self.f, x), self._interp(self.var, x)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        h = np.array([0.5 * (e[1] - e[0]) for e in self.edges])
        g = np.empty_like(x)
        for k in range(x.shape[1]):
            step = np.zeros(x.shape[1])
            step[k] = h[k]
            with np.errstate(invalid="ignore"):  # inf - inf next to empty bins: NaN, as it should be
                g[:, k] = (self._interp(self.f, x + step) - self._interp(self.f, x - step)) / (2 * h[k])
        return g

    def _bin_of(self, x: np.ndarray) -> np.ndarray:
        idx = [np.clip(np.floor((x[:, k] - e[0]) / (e[1] - e[0])).astype(np.int64), 0, len(e) - 2)
               for k, e in enumerate(self.edges)]
        return np.ravel_multi_index(tuple(idx), self.f.shape)

    def draws(self, x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        # bins are independent: a draw perturbs each bin once, points in one bin share it
        b = self._bin_of(x)
        uniq, inv = np.unique(b, return_inverse=True)
        noise = rng.standard_normal((n, len(uniq))) * np.sqrt(self.var.ravel()[uniq])
        return self.f.ravel()[b][None, :] + noise[:, inv]


@dataclass(frozen=True, eq=False)
class CellSurface(GridSurface, part=True):
    """f per cell of integer-valued CVs: piecewise constant, no values invented between integers.

    Each point takes its cell's value (cells are k ± 0.5); the gradient is undefined (NaN) on a
    discrete axis. Errors are independent per cell, as for :class:`GridSurface`.
    """

    def _interp(self, table: np.ndarray, x: np.ndarray) -> np.ndarray:
        out = table.ravel()[self._bin_of(x)].astype(np.float64)
        out[~self._inside(x)] = np.nan
        return out

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return np.full_like(x, np.nan)


# ----------------------------------------------------------------------------------------------
# kernel density
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class KDESurface(StoredModel, part=True):
    """Weighted Gaussian KDE; f = -ln p̂, variance from the delta method on the KDE's variance."""

    samples: np.ndarray    # (n, d)
    weights: np.ndarray    # (n,), sum 1
    bandwidth: np.ndarray  # (d,) CV units
    inefficiency: float

    def _sums(self, x: np.ndarray, grad: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        h = self.bandwidth
        d = x.shape[1]
        norm = 1.0 / ((2 * np.pi) ** (d / 2) * np.prod(h))
        zs = self.samples / h
        p = np.empty(len(x))
        p2 = np.empty(len(x))
        dp = np.empty_like(x) if grad else None
        w, w2 = self.weights, self.weights ** 2
        sq_s = np.sum(zs * zs, axis=1)
        for sl in _blocks(len(x), max(1, 2_000_000 // max(len(zs), 1))):
            zx = x[sl] / h
            r2 = np.sum(zx * zx, axis=1)[:, None] + sq_s[None, :] - 2.0 * zx @ zs.T
            q = 0.5 * np.maximum(r2, 0.0)
            k = np.exp(-np.minimum(q, 700.0))
            k[q > 200.0] = 0.0  # no subnormal numbers (slow arithmetic)
            k *= norm
            p[sl] = k @ w
            p2[sl] = (k * k) @ w2
            if grad:
                kw = k * w
                dp[sl] = -(zx * kw.sum(axis=1, keepdims=True) - kw @ zs) / h
        return p, p2, dp

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p, p2, _ = self._sums(x)
        n_eff_w2 = np.sum(self.weights ** 2)  # = 1 / n_eff
        var_p = np.maximum(p2 - n_eff_w2 * p * p, 0.0) * self.inefficiency
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.log(p), var_p / (p * p)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        p, _, dp = self._sums(x, grad=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return -dp / p[:, None]

    def draws(self, x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        # pointwise-independent errors: an approximation (neighbouring KDE values are correlated)
        f, var = self.values(x)
        return f[None, :] + rng.standard_normal((n, len(x))) * np.sqrt(var)


# ----------------------------------------------------------------------------------------------
# sparse Gaussian process
# ----------------------------------------------------------------------------------------------

def rbf(a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray, signal_var: float) -> np.ndarray:
    """Squared-exponential kernel matrix s² exp(-|Δ/ℓ|²/2), shape (len(a), len(b))."""
    za, zb = a / lengthscales, b / lengthscales
    r2 = np.sum(za * za, axis=1)[:, None] + np.sum(zb * zb, axis=1)[None, :] - 2.0 * za @ zb.T
    q = 0.5 * np.maximum(r2, 0.0)
    k = np.exp(-np.minimum(q, 700.0))
    k[q > 200.0] = 0.0  # exact zeros instead of subnormal numbers, which slow BLAS down 100-fold
    return signal_var * k


@dataclass(frozen=True, eq=False)
class GPSurface(StoredModel, part=True):
    """Projected-process GP: f(x) = mean + a(x)·w with a(x) = k(x, Z) L⁻ᵀ, w ~ N(w_mean, S Sᵀ).

    The predictive variance adds the part of the prior the inducing points Z cannot represent,
    s² − |a(x)|², so it never falls below the exact GP's far from the inducing points.
    """

    inducing: np.ndarray      # Z, (M, d) CV units
    lengthscales: np.ndarray  # (d,) CV units
    signal_var: float         # kT²
    mean: float               # kT
    chol_uu: np.ndarray       # L, (M, M), K_ZZ + jitter = L Lᵀ
    w_mean: np.ndarray        # (M,)
    w_chol: np.ndarray        # S, (M, M), posterior covariance of w = S Sᵀ

    def _a(self, x: np.ndarray) -> np.ndarray:
        kzx = rbf(self.inducing, x, self.lengthscales, self.signal_var)
        return solve_triangular(self.chol_uu, kzx, lower=True).T

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = np.empty(len(x))
        var = np.empty(len(x))
        for sl in _blocks(len(x)):
            a = self._a(x[sl])
            f[sl] = self.mean + a @ self.w_mean
            aS = a @ self.w_chol
            var[sl] = np.sum(aS * aS, axis=1) + np.maximum(self.signal_var - np.sum(a * a, axis=1), 0.0)
        return f, var

    def gradient(self, x: np.ndarray) -> np.ndarray:
        beta = solve_triangular(self.chol_uu.T, self.w_mean, lower=False)  # L⁻ᵀ w
        out = np.empty_like(x)
        ls2 = self.lengthscales ** 2
        for sl in _blocks(len(x)):
            k = rbf(x[sl], self.inducing, self.lengthscales, self.signal_var) * beta[None, :]
            out[sl] = -(x[sl] * k.sum(axis=1, keepdims=True) - k @ self.inducing) / ls2
        return out

    def draws(self, x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        a = self._a(x)
        w = self.w_mean[None, :] + rng.standard_normal((n, len(self.w_mean))) @ self.w_chol.T
        resid = np.maximum(self.signal_var - np.sum(a * a, axis=1), 0.0)
        return self.mean + w @ a.T + rng.standard_normal((n, len(x))) * np.sqrt(resid)


# ----------------------------------------------------------------------------------------------
# neural-network ensemble
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class MLPSurface(StoredModel, part=True):
    """Ensemble of tanh multilayer perceptrons f_k(x); mean and spread over members.

    ``layers[k]`` lists member k's (W, b) pairs, W of shape (out, in); inputs are standardised
    with ``shift`` and ``scale`` (CV units) before the first layer. ``spread_scale`` multiplies the
    members' deviations from their mean (the predictive σ and the draws): the calibration of the
    spread against held-out data (:func:`trajml.fes.nn.spread_scale`; 1 uncalibrated), and
    ``count_noise``² / λ(x) is added to the variance, λ(x) = exp(``log_exposure`` − f(x)) the
    expected count of the training data in a bin at x, and ``bias_floor``² (kT²) for the error
    all members share (0 uncalibrated).
    """

    layers: tuple[tuple[tuple[np.ndarray, np.ndarray], ...], ...]
    shift: np.ndarray
    scale: np.ndarray
    spread_scale: float = 1.0
    count_noise: float = 0.0
    log_exposure: float = 0.0
    bias_floor: float = 0.0

    def _member(self, k: int, x: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        h = (x - self.shift) / self.scale
        acts = []
        params = self.layers[k]
        for W, b in params[:-1]:
            h = np.tanh(h @ W.T + b)
            acts.append(h)
        W_out, b_out = params[-1]
        f = (h @ W_out.T + b_out)[:, 0]
        if not grad:
            return f, None
        g = np.broadcast_to(W_out, (len(x), W_out.shape[1]))  # df/dh_last, (n, width)
        for (W, _), a in zip(params[-2::-1], acts[::-1]):
            g = (g * (1.0 - a * a)) @ W
        return f, g / self.scale

    def member_values(self, x: np.ndarray) -> np.ndarray:
        """f of every member, shape (n_members, n)."""
        return np.stack([self._member(k, x, False)[0] for k in range(len(self.layers))])

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fs = self.member_values(x)
        var = fs.var(axis=0, ddof=1) if len(fs) > 1 else np.zeros(fs.shape[1])
        mean = fs.mean(axis=0)
        return mean, var * self.spread_scale ** 2 + self._counting_var(mean)

    def _counting_var(self, mean: np.ndarray) -> np.ndarray:
        if self.count_noise == 0.0:
            return np.full_like(mean, self.bias_floor ** 2)
        # κ²/λ with λ = exp(log_exposure − f): capped where λ < 1e-3 (far outside the data)
        return (self.count_noise ** 2 * np.exp(np.minimum(mean - self.log_exposure, math.log(1e3)))
                + self.bias_floor ** 2)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return np.mean([self._member(k, x, True)[1] for k in range(len(self.layers))], axis=0)

    def draws(self, x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        # the members are the draws (n is ignored): their calibrated spread is the uncertainty, plus
        # independent counting noise per point (the part the members cannot show)
        fs = self.member_values(x)
        if self.spread_scale == 1.0 and self.count_noise == 0.0 and self.bias_floor == 0.0:
            return fs  # uncalibrated: the members themselves (and the caller's rng untouched)
        mean = fs.mean(axis=0)
        noise = np.sqrt(self._counting_var(mean)) * rng.standard_normal(fs.shape)
        return mean + self.spread_scale * (fs - mean) + noise
