"""Kernel-density free energies: F(x) = −kT ln p̂(x) with a weighted Gaussian product kernel."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trajml._validation import Param, invalid
from trajml.fes._base import FES_PARAMETERS, FESEstimator
from trajml.fes._validate import positive_floats
from trajml.fes.model import make_model
from trajml.fes.surfaces import KDESurface

__all__ = ["KernelDensityFES"]

_DISCRETE_BANDWIDTH = 0.2  # CV units (integers) of the kernel along a discrete CV


class KernelDensityFES(FESEstimator):
    """Free energy from a weighted Gaussian kernel density estimate.

    The bandwidth per CV defaults to Scott's rule, h_k = σ_k n_eff^(−1/(d+4)) (σ_k the weighted
    standard deviation of CV k, n_eff the Kish effective sample size). The standard deviation
    of F is the delta-method error of the KDE, kT sqrt(Var p̂)/p̂, with Var p̂ estimated from
    the samples. It measures noise only: the smoothing bias (minima raised, barriers lowered
    by roughly h²/2 times the curvature) is not in it.

    Parameters
    ----------
    bandwidth : float or sequence of float, optional
        Kernel standard deviation per CV in CV units (default: Scott's rule).
    max_samples : int
        Larger inputs are thinned to this many samples (evenly spaced rows) to bound the cost
        of evaluation, which is O(points × samples).
    temperature, bins, ranges, cv_units, statistical_inefficiency, discrete
        See :class:`~trajml.fes._base.FESEstimator`.
    """

    _METHOD = "kde"
    _parameters = {
        **FES_PARAMETERS,
        "bandwidth": Param("any", help="kernel standard deviation per CV, in CV units", nullable=True,
                           none_help="Scott's rule", describe="a float > 0 or one per CV, in CV units, or None",
                           check=positive_floats),
        "max_samples": Param("int", help="larger inputs are thinned to this many samples", minimum=2),
    }

    def __init__(self, temperature: float = 300.0, bandwidth: Any = None, bins: Any = None, ranges: Any = None,
                 cv_units: str = "CV units", statistical_inefficiency: float = 1.0, max_samples: int = 50_000,
                 discrete: Any = "auto") -> None:
        self._set_params(locals())
        self._model = None

    def fit(self, cvs: Any, weights: Any = None) -> "KernelDensityFES":
        """Estimate the density, replacing any earlier fit.

        Parameters
        ----------
        cvs : array_like, shape (n,) or (n, d), d <= 3, CV units
            Collective variables, one row per sample.
        weights : array_like, shape (n,), optional
            Non-negative per-sample weights.
        """
        if self._fit_discrete(cvs, weights):
            return self
        t0 = time.perf_counter()
        owner = type(self).__name__
        x, w, T, g, grid = self._common(cvs, weights)
        cap = self.max_samples
        w = np.ones(len(x)) if w is None else w
        n_eff = w.sum() ** 2 / np.sum(w * w)
        n_in = len(x)
        if len(x) > cap:
            keep = np.linspace(0, len(x) - 1, cap).astype(np.int64)
            x, w = x[keep], w[keep]
        w = w / w.sum()
        d = x.shape[1]
        if self.bandwidth is None:
            mu = w @ x
            sd = np.sqrt(w @ (x - mu) ** 2)
            sd = np.where(sd > 0, sd, 1.0)
            h = sd * (n_eff / g) ** (-1.0 / (d + 4))
        else:
            h = np.broadcast_to(np.asarray(self.bandwidth, dtype=np.float64), (d,)).copy() \
                if np.ndim(self.bandwidth) <= 1 and np.size(self.bandwidth) in (1, d) else None
            if h is None or not np.all(np.isfinite(h)) or np.any(h <= 0):
                raise invalid("bandwidth", owner, f"a float > 0 or one per CV ({d}), in CV units", self.bandwidth)
        # a discrete CV's states are integers 1 apart: a narrow kernel keeps each count in its own
        # cell (leak to a neighbour ~ exp(-12.5)) instead of smearing it over the next states
        h = np.where(self._discrete_axes, _DISCRETE_BANDWIDTH, h)
        surface = KDESurface(samples=x, weights=w, bandwidth=h, inefficiency=g)
        self._model = make_model(self._METHOD, T, self._kT(T), grid, surface, cv_units=self.cv_units,
                                 n_samples=n_in, n_effective=float(n_eff / g),
                                 provenance=self._provenance(t0, bandwidth=h.tolist()))
        return self
