"""What every free-energy estimator shares: parameters, validation, the grid, fetch_model."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trajml.fes._grid import BinnedSamples, Grid, bin_samples
from trajml.fes._validate import (
    KB_KJ_MOL_K,
    check_bins,
    check_cvs,
    check_ranges,
    check_temperature,
    check_weights,
)
from trajml.fes.model import FESModel
from trajml.kinetics.koopman import check_positive

__all__ = ["FESEstimator"]


class FESEstimator:
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
    """

    _METHOD = ""

    def __init__(self, temperature: float = 300.0, bins: Any = None, ranges: Any = None, cv_units: str = "CV units",
                 statistical_inefficiency: float = 1.0) -> None:
        self.temperature = temperature
        self.bins = bins
        self.ranges = ranges
        self.cv_units = cv_units
        self.statistical_inefficiency = statistical_inefficiency
        self._model: FESModel | None = None

    # ------------------------------------------------------------------ shared validation
    def _common(self, cvs: Any, weights: Any) -> tuple[np.ndarray, np.ndarray | None, float, float, Grid]:
        owner = type(self).__name__
        T = check_temperature(owner, self.temperature)
        g = check_positive(owner, self.statistical_inefficiency, "statistical_inefficiency")
        if g < 1:
            raise ValueError(f"The 'statistical_inefficiency' parameter of {owner} must be >= 1 (1: independent "
                             f"samples). Got {self.statistical_inefficiency!r} instead.")
        if not isinstance(self.cv_units, str):
            raise ValueError(f"The 'cv_units' parameter of {owner} must be a str. Got {self.cv_units!r} instead.")
        x = check_cvs(owner, cvs)
        w = check_weights(owner, weights, len(x))
        bins = check_bins(owner, self.bins, x.shape[1])
        ranges = check_ranges(owner, self.ranges, x, bins)
        return x, w, T, g, Grid.regular(ranges, bins)

    def _bin(self, cvs: Any, weights: Any) -> tuple[np.ndarray, np.ndarray | None, float, BinnedSamples]:
        x, w, T, g, grid = self._common(cvs, weights)
        return x, w, T, bin_samples(x, w, grid, g)

    def _provenance(self, t0: float, **extra: Any) -> dict[str, Any]:
        params = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return {"estimator": type(self).__name__, "params": params, "seconds": time.perf_counter() - t0, **extra}

    @staticmethod
    def _kT(T: float) -> float:
        return KB_KJ_MOL_K * T

    def fetch_model(self) -> FESModel:
        """The fitted, frozen :class:`~trajml.fes.model.FESModel` (the same object until refitted)."""
        if self._model is None:
            raise RuntimeError(f"{type(self).__name__} has not been fitted: call fit(cvs) first.")
        return self._model
