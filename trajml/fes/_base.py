"""What every free-energy estimator shares: parameters, validation, the grid, fetch_model."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from trajml._validation import Param, temperature_param
from trajml.base import Estimator
from trajml.fes._grid import BinnedSamples, Grid, bin_samples
from trajml.fes._validate import (
    KB_KJ_MOL_K,
    bins_value,
    check_bins,
    check_cvs,
    check_ranges,
    check_weights,
    discrete_axes,
    discrete_value,
    ranges_value,
    text_value,
)
from trajml.fes.model import FESModel, make_model

__all__ = ["FESEstimator", "FES_PARAMETERS"]

#: The parameters every free-energy estimator declares.
FES_PARAMETERS: dict[str, Param] = {
    "temperature": temperature_param(),
    "bins": Param("any", help="grid bins per CV (an int, or one per CV)", nullable=True,
                  none_help="100, 60, 24 for 1, 2, 3 CVs", describe="an int >= 2 or one such int per CV, or None",
                  check=bins_value),
    "ranges": Param("any", help="grid extent per CV, (lo, hi) pairs in CV units", nullable=True,
                    none_help="the data range plus half a bin",
                    describe="a sequence of finite (lo, hi) pairs with lo < hi, one per CV, or None",
                    check=ranges_value),
    "cv_units": Param("any", help="units of the CVs, recorded in the model", describe="a str", check=text_value),
    "statistical_inefficiency": Param("float", help="g >= 1: correlated samples carry 1/g of the information",
                                      minimum=1.0),
    "discrete": Param("any", help="integer-valued CVs (counts): one cell per integer; 'auto' detects them",
                      describe="'auto', True, False or one of those per CV", check=discrete_value),
}


class FESEstimator(Estimator, ABC):
    """Base class of the free-energy estimators (not used directly).

    Parameters
    ----------
    temperature : float
        Temperature in K (> 0); kT = k_B T with k_B = 0.00831446261815324 kJ/mol/K.
    bins : int or sequence of int, optional
        Grid bins per CV (default 100, 60, 24 for 1, 2, 3 CVs).
    ranges : sequence of (lo, hi) per CV, optional
        Grid extent in CV units; must cover every sample (default: the data range plus half a bin).
    cv_units : str
        Units of the CVs, recorded in the model (e.g. "Å", "" for a coordination number).
    statistical_inefficiency : float
        g >= 1: samples are correlated and carry 1/g of the information of independent ones;
        every variance is multiplied by g. Use 1 for independent samples.
    discrete : "auto", bool or sequence of them (one per CV)
        Integer-valued CVs (shell counts, coordination numbers): such a CV gets one cell per
        integer (edges at k ± 0.5, its ``bins`` ignored; its ``ranges``, if given, are rounded
        inwards to integers). "auto" (default) treats a CV as discrete when all its samples are
        integers (within 1e-9) with at most 50 distinct values. When every CV is discrete, every
        method returns the same discrete PMF: F_k = −kT ln(n_k / N) per cell with
        σ_F = kT sqrt(g (1 − p_k) / n_k), empty cells inf, and no values between integers.
    """

    _METHOD = ""
    _parameters = FES_PARAMETERS
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "cvs"
    _quick: ClassVar[dict[str, Any]] = {"bins": 12}

    def __init__(self, temperature: float = 300.0, bins: Any = None, ranges: Any = None, cv_units: str = "CV units",
                 statistical_inefficiency: float = 1.0, discrete: Any = "auto") -> None:
        self._set_params(locals())
        self._model: FESModel | None = None

    @abstractmethod
    def fit(self, cvs: Any, weights: Any = None) -> "FESEstimator":
        """Fit the surface to CV samples, replacing any earlier fit; returns ``self``."""

    # ------------------------------------------------------------------ shared validation
    def _common(self, cvs: Any, weights: Any) -> tuple[np.ndarray, np.ndarray | None, float, float, Grid]:
        owner = type(self).__name__
        T, g = self.temperature, self.statistical_inefficiency
        x = check_cvs(owner, cvs)
        w = check_weights(owner, weights, len(x))
        bins = check_bins(owner, self.bins, x.shape[1])
        ranges = check_ranges(owner, self.ranges, x, bins)
        disc = discrete_axes(owner, self.discrete, x)
        self._discrete_axes = disc
        if not disc.any():
            return x, w, T, g, Grid.regular(ranges, bins)
        edges = []
        for k, (lo, hi) in enumerate(ranges):
            if not disc[k]:
                edges.append(np.linspace(lo, hi, bins[k] + 1))
                continue
            # cells on the integers: given ranges rounded inwards, else the observed values
            a, b = (x[:, k].min(), x[:, k].max()) if self.ranges is None else (np.ceil(lo), np.floor(hi))
            edges.append(np.arange(round(a), round(b) + 2, dtype=np.float64) - 0.5)
        return x, w, T, g, Grid(tuple(edges))

    def _fit_discrete(self, cvs: Any, weights: Any) -> bool:
        """When every CV is discrete, fit the discrete PMF (the same for every method); returns whether it did.

        A smooth estimator has nothing to add on integer cells, and interpolating between
        integers would invent states that do not exist.
        """
        t0 = time.perf_counter()
        x, w, T, g, grid = self._common(cvs, weights)
        if not self._discrete_axes.all():
            return False
        b = bin_samples(x, w, grid, g)
        occupied = b.counts > 0
        p = b.weight_sums / b.weight_sums.sum()
        with np.errstate(divide="ignore"):
            f = np.where(occupied, -np.log(np.where(occupied, p, 1.0)), np.inf)
            # binomial error of a cell's share, first order in 1/n: var(ln p) = (1 − p) / n (n already over g)
            var = np.where(occupied, (1.0 - p) / np.where(occupied, b.counts, 1.0), np.inf)
        from trajml.fes.surfaces import CellSurface

        surface = CellSurface(edges=grid.edges, f=f.reshape(grid.shape), var=var.reshape(grid.shape))
        self._model = make_model(self._METHOD, T, self._kT(T), grid, surface, cv_units=self.cv_units,
                                 n_samples=len(x), n_effective=b.n_effective,
                                 provenance=self._provenance(t0, weighted=w is not None, discrete=[True] * x.shape[1],
                                                             occupied_cells=int(occupied.sum())))
        return True

    def _bin(self, cvs: Any, weights: Any) -> tuple[np.ndarray, np.ndarray | None, float, BinnedSamples]:
        x, w, T, g, grid = self._common(cvs, weights)
        return x, w, T, bin_samples(x, w, grid, g)

    def _provenance(self, t0: float, **extra: Any) -> dict[str, Any]:
        params = self.get_params()
        # which CVs were binned on integers in this fit (empty: none; regression fits take points as given)
        extra.setdefault("discrete", [bool(v) for v in getattr(self, "_discrete_axes", [])])
        return {"estimator": type(self).__name__, "params": params, "seconds": time.perf_counter() - t0, **extra}

    @staticmethod
    def _kT(T: float) -> float:
        return KB_KJ_MOL_K * T

    def fetch_model(self) -> FESModel:
        """The fitted, frozen :class:`~trajml.fes.model.FESModel` (the same object until refitted)."""
        return super().fetch_model()
