"""Histogram free energies: F_i = −kT ln p_i with p_i the bin-integrated probability density."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trajml.fes._base import FESEstimator
from trajml.fes.model import make_model
from trajml.fes.surfaces import GridSurface

__all__ = ["HistogramFES"]


class HistogramFES(FESEstimator):
    """Free energy from a (weighted) histogram of the CVs.

    F_i = −kT ln(W_i / (W Δ)), with W_i the weight in bin i, W the total weight and Δ the bin
    volume: the free energy of the bin-averaged density. Its standard deviation is
    kT / sqrt(n_i), n_i the bin's effective (Kish) count over the statistical inefficiency
    (Poisson counts, exact to first order). Empty bins get F = inf. Between bin centres the
    model interpolates linearly.

    Parameters
    ----------
    temperature, bins, ranges, cv_units, statistical_inefficiency, discrete
        See :class:`~trajml.fes._base.FESEstimator`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=5000)
    >>> m = HistogramFES(temperature=300.0, bins=30).fit(x).fetch_model()
    >>> m.free_energy_kJmol.shape
    (30,)
    """

    _METHOD = "hist"

    def fit(self, cvs: Any, weights: Any = None) -> "HistogramFES":
        """Histogram the samples, replacing any earlier fit.

        Parameters
        ----------
        cvs : array_like, shape (n,) or (n, d), d <= 3, CV units
            Collective variables, one row per sample (e.g. a featurizer's per-frame output).
        weights : array_like, shape (n,), optional
            Non-negative per-sample weights (reweighting factors of a biased simulation).
        """
        if self._fit_discrete(cvs, weights):
            return self
        t0 = time.perf_counter()
        x, w, T, b = self._bin(cvs, weights)
        kT = self._kT(T)
        occupied = b.counts > 0
        with np.errstate(divide="ignore"):
            f = np.where(occupied, -np.log(np.where(occupied, b.density, 1.0)), np.inf)
            var = np.where(occupied, 1.0 / np.where(occupied, b.counts, 1.0), np.inf)
        surface = GridSurface(edges=b.grid.edges, f=f.reshape(b.grid.shape), var=var.reshape(b.grid.shape))
        self._model = make_model(self._METHOD, T, kT, b.grid, surface, cv_units=self.cv_units, n_samples=len(x),
                                 n_effective=b.n_effective,
                                 provenance=self._provenance(t0, weighted=w is not None,
                                                             occupied_bins=int(occupied.sum())))
        return self
