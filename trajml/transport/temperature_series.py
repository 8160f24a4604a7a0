"""Temperature dependence of transport properties: Arrhenius and Vogel–Fulcher–Tammann fits.

* **Arrhenius**: ``y = A exp(−E_a/(R T))``, fitted as the weighted straight line
  ``ln y = ln A − (E_a/R)(1/T)``.
* **VFT**: ``y = A exp(−B/(T − T0))``, fitted by weighted nonlinear least squares
  on ``ln y`` with bounds ``B > 0`` and ``0 ≤ T0 < min(T)``; starting values come
  from a scan of ``T0`` (for each ``T0`` the model is linear in ``ln A`` and ``B``).

Weights: with ``y_err`` the residuals of ``ln y`` are weighted by ``y/y_err``
(first-order error of ``ln y``) and the parameter errors are absolute (from the
covariance with those errors, ``absolute_sigma``); without it, points weigh
equally and the covariance is scaled by the reduced χ² (which needs more
points than parameters). ``y`` may be in any unit (S/m, cm²/s, …): ``A`` has the
unit of ``y``, temperatures are in K, ``E_a`` in kJ/mol, ``B`` and ``T0`` in K.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.results import Results
from trajml.units import R_KJ_MOL_K

__all__ = ["ArrheniusFit", "VFTFit", "arrhenius_fit", "vft_fit", "R_KJ_MOL_K"]


@dataclass(frozen=True, eq=False, kw_only=True)
class ArrheniusFit(Results):
    """An Arrhenius fit ``y = A exp(−E_a/(R T))``.

    Attributes
    ----------
    A, A_err : float
        Prefactor and its standard error, in the unit of ``y``.
    ln_A, ln_A_err : float
        ``ln A`` (A in the unit of y) and its standard error.
    Ea_kJ_mol, Ea_err_kJ_mol : float
        Activation energy and its standard error in kJ/mol.
    cov_lnA_Ea : float
        Covariance of ``ln A`` and ``E_a`` in kJ/mol.
    chi2_red : float
        Reduced χ² of the ``ln y`` residuals (NaN with 2 points).
    n_points : int
        Points fitted.
    weighted : bool
        Whether ``y_err`` weighted the fit (absolute errors).
    """

    A: float
    A_err: float
    ln_A: float
    ln_A_err: float
    Ea_kJ_mol: float
    Ea_err_kJ_mol: float
    cov_lnA_Ea: float
    chi2_red: float
    n_points: int
    weighted: bool

    def predict(self, temperature_K: Any) -> np.ndarray:
        """``A exp(−E_a/(R T))`` at temperatures in K (ndarray, float64, unit of y)."""
        t = np.asarray(temperature_K, dtype=np.float64)
        return np.exp(self.ln_A - self.Ea_kJ_mol / (R_KJ_MOL_K * t))


@dataclass(frozen=True, eq=False, kw_only=True)
class VFTFit(Results):
    """A Vogel–Fulcher–Tammann fit ``y = A exp(−B/(T − T0))``.

    Attributes
    ----------
    A, A_err : float
        Prefactor and its standard error, in the unit of ``y``.
    ln_A, ln_A_err : float
        ``ln A`` and its standard error.
    B_K, B_err_K : float
        Pseudo-activation temperature B and its standard error in K.
    B_kJ_mol, B_err_kJ_mol : float
        ``R B`` (pseudo-activation energy) and its standard error in kJ/mol.
    T0_K, T0_err_K : float
        Vogel temperature and its standard error in K.
    cov : ndarray, shape (3, 3), float64
        Covariance of (ln A, B in K, T0 in K).
    chi2_red : float
        Reduced χ² of the ``ln y`` residuals (NaN with 3 points).
    n_points : int
        Points fitted.
    weighted : bool
        Whether ``y_err`` weighted the fit (absolute errors).
    at_bound : bool
        Whether a parameter ended on a bound (T0 at 0 or next to min(T)): its error is then unreliable.
    """

    A: float
    A_err: float
    ln_A: float
    ln_A_err: float
    B_K: float
    B_err_K: float
    B_kJ_mol: float
    B_err_kJ_mol: float
    T0_K: float
    T0_err_K: float
    cov: np.ndarray
    chi2_red: float
    n_points: int
    weighted: bool
    at_bound: bool

    @property
    def failure(self) -> str:
        """Why B and T0 are not determined by these points, or ``""`` when the fit holds.

        A fit fails when a parameter ends on its bound (T0 at its lower or upper bound, B at 0:
        the points do not curve the way VFT needs), when B is within one standard error of 0, or
        when its covariance is singular or not finite (three parameters are not determined). Its
        numbers are then no result to quote.
        """
        errs = (self.ln_A_err, self.B_err_K, self.T0_err_K)
        if self.at_bound:
            lo, hi = self.provenance.get("T0_bounds_K", (math.nan, math.nan))
            if self.B_K <= 1e-9:
                return "B went to 0: the points show no VFT curvature (use the Arrhenius fit)"
            return (f"T0 ended on its bound ({self.T0_K:.1f} K, bounds {lo:.1f}–{hi:.1f} K): the points do not "
                    "determine the Vogel temperature")
        if not all(math.isfinite(v) for v in (self.ln_A, self.B_K, self.T0_K, *errs)):
            return "the covariance is singular: these points do not determine A, B and T0"
        if self.B_err_K >= self.B_K:
            return (f"B = {self.B_K:.1f} ± {self.B_err_K:.1f} K is not distinguishable from 0: the points show no "
                    "VFT curvature (use the Arrhenius fit)")
        return ""

    def predict(self, temperature_K: Any) -> np.ndarray:
        """``A exp(−B/(T − T0))`` at temperatures in K (ndarray, float64, unit of y)."""
        t = np.asarray(temperature_K, dtype=np.float64)
        return np.exp(self.ln_A - self.B_K / (t - self.T0_K))


_ARRHENIUS_UNITS = {"A": "unit of y", "A_err": "unit of y", "ln_A": "", "ln_A_err": "", "Ea_kJ_mol": "kJ/mol",
                    "Ea_err_kJ_mol": "kJ/mol", "cov_lnA_Ea": "kJ/mol", "chi2_red": "", "n_points": ""}
_VFT_UNITS = {"A": "unit of y", "A_err": "unit of y", "ln_A": "", "ln_A_err": "", "B_K": "K", "B_err_K": "K",
              "B_kJ_mol": "kJ/mol", "B_err_kJ_mol": "kJ/mol", "T0_K": "K", "T0_err_K": "K", "cov": "",
              "chi2_red": "", "n_points": ""}


def _inputs(owner: str, temperature_K: Any, y: Any, y_err: Any, n_params: int) -> tuple[np.ndarray, ...]:
    t = np.asarray(temperature_K, dtype=np.float64)
    v = np.asarray(y, dtype=np.float64)
    if t.ndim != 1 or v.shape != t.shape:
        raise ValueError(f"The 'T' and 'y' parameters of {owner} must be 1-D arrays of equal length. Got shapes "
                         f"{t.shape} and {v.shape} instead.")
    need = n_params if y_err is not None else n_params + 1
    if t.size < need:
        what = "with y_err" if y_err is not None else "without y_err (errors come from the scatter)"
        raise ValueError(f"{owner} needs at least {need} points {what}. Got {t.size} instead.")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"The 'T' parameter of {owner} must hold finite temperatures > 0 K. Got {t.tolist()} instead.")
    if np.unique(t).size < n_params:
        raise ValueError(f"The 'T' parameter of {owner} needs at least {n_params} distinct temperatures. "
                         f"Got {np.unique(t).tolist()} K instead.")
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"The 'y' parameter of {owner} must hold finite values > 0 (their logarithm is fitted). "
                         f"Got {v.tolist()} instead.")
    if y_err is None:
        return t, np.log(v), np.ones_like(v), v
    e = np.asarray(y_err, dtype=np.float64)
    if e.shape != t.shape or not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise ValueError(f"The 'y_err' parameter of {owner} must hold one finite error > 0 per point. Got "
                         f"{e.tolist() if e.ndim else e} instead.")
    return t, np.log(v), e / v, v


def arrhenius_fit(T: Any, y: Any, y_err: Any = None) -> ArrheniusFit:
    """Fit ``y = A exp(−E_a/(R T))`` by weighted linear least squares of ``ln y`` against ``1/T``.

    Parameters
    ----------
    T : array_like, shape (n,), float
        Temperatures in K (at least 2 distinct).
    y : array_like, shape (n,), float
        Positive values (σ in S/m, D in cm²/s, …).
    y_err : array_like, shape (n,), float, optional
        Standard errors of ``y`` (same unit); without them, errors come from the scatter (n ≥ 3).

    Returns
    -------
    ArrheniusFit

    Examples
    --------
    >>> T = np.array([300.0, 350.0, 400.0])
    >>> fit = arrhenius_fit(T, 2.0 * np.exp(-30.0 / (R_KJ_MOL_K * T)), 0.01 * np.ones(3))
    >>> round(fit.Ea_kJ_mol, 6), round(fit.A, 6)
    (30.0, 2.0)
    """
    t, ly, sl, v = _inputs("arrhenius_fit", T, y, y_err, 2)
    x = 1.0 / t
    w = 1.0 / sl**2
    design = np.column_stack([np.ones_like(x), -x / R_KJ_MOL_K])  # parameters (ln A, E_a)
    normal = design.T @ (w[:, None] * design)
    params = np.linalg.solve(normal, design.T @ (w * ly))
    cov = np.linalg.inv(normal)
    resid = ly - design @ params
    dof = t.size - 2
    chi2_red = float(np.sum(w * resid**2) / dof) if dof > 0 else math.nan
    if y_err is None:
        cov = cov * chi2_red
    ln_a, ea = float(params[0]), float(params[1])
    ln_a_err, ea_err = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
    return ArrheniusFit(A=math.exp(ln_a), A_err=math.exp(ln_a) * ln_a_err, ln_A=ln_a, ln_A_err=ln_a_err,
                        Ea_kJ_mol=ea, Ea_err_kJ_mol=ea_err, cov_lnA_Ea=float(cov[0, 1]), chi2_red=chi2_red,
                        n_points=int(t.size), weighted=y_err is not None, units=dict(_ARRHENIUS_UNITS),
                        provenance={"model": "y = A exp(-Ea/(R T))", "R_kJ_mol_K": R_KJ_MOL_K})


def vft_fit(T: Any, y: Any, y_err: Any = None, *, T0_bounds: tuple[float, float] | None = None) -> VFTFit:
    """Fit ``y = A exp(−B/(T − T0))`` by weighted nonlinear least squares of ``ln y``, with bounds.

    Parameters
    ----------
    T : array_like, shape (n,), float
        Temperatures in K (at least 3 distinct).
    y : array_like, shape (n,), float
        Positive values (σ in S/m, D in cm²/s, …).
    y_err : array_like, shape (n,), float, optional
        Standard errors of ``y`` (same unit); without them, errors come from the scatter (n ≥ 4).
    T0_bounds : tuple of float, optional
        Bounds on T0 in K; default ``(0, min(T) − 1)``. The upper bound must lie below min(T).

    Returns
    -------
    VFTFit

    Examples
    --------
    >>> T = np.linspace(280.0, 400.0, 7)
    >>> fit = vft_fit(T, 10.0 * np.exp(-1200.0 / (T - 180.0)), 1e-3 * np.ones(7))
    >>> round(fit.B_K, 3), round(fit.T0_K, 3)
    (1200.0, 180.0)
    """
    from scipy.optimize import least_squares

    t, ly, sl, v = _inputs("vft_fit", T, y, y_err, 3)
    t_min = float(t.min())
    lo, hi = (0.0, t_min - 1.0) if T0_bounds is None else (float(T0_bounds[0]), float(T0_bounds[1]))
    if not (0.0 <= lo < hi < t_min):
        raise ValueError(f"The 'T0_bounds' parameter of vft_fit must satisfy 0 <= low < high < min(T) = {t_min:g} K. "
                         f"Got ({lo:g}, {hi:g}) instead.")
    w = 1.0 / sl**2

    def linear(t0: float) -> tuple[float, np.ndarray]:
        x = 1.0 / (t - t0)
        design = np.column_stack([np.ones_like(x), -x])
        p = np.linalg.lstsq(design * np.sqrt(w)[:, None], ly * np.sqrt(w), rcond=None)[0]
        return float(np.sum(w * (ly - design @ p) ** 2)), p

    scan = np.linspace(lo, hi, 60)
    best = min(scan, key=lambda t0: linear(t0)[0])
    _, p0 = linear(best)
    b0 = max(float(p0[1]), 1e-6)

    def resid(p: np.ndarray) -> np.ndarray:
        return (ly - (p[0] - p[1] / (t - p[2]))) / sl

    fit = least_squares(resid, x0=[float(p0[0]), b0, float(best)], bounds=([-np.inf, 0.0, lo], [np.inf, np.inf, hi]),
                        x_scale="jac", xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=10000)
    ln_a, b, t0 = (float(x) for x in fit.x)
    jac = fit.jac
    dof = t.size - 3
    chi2_red = float(np.sum(fit.fun**2) / dof) if dof > 0 else math.nan
    try:
        cov = np.linalg.inv(jac.T @ jac)
    except np.linalg.LinAlgError:
        cov = np.full((3, 3), math.nan)
    if y_err is None:
        cov = cov * chi2_red
    errs = np.sqrt(np.clip(np.diag(cov), 0, None))
    span = hi - lo
    at_bound = bool(t0 - lo < 1e-6 * max(span, 1.0) or hi - t0 < 1e-6 * max(span, 1.0) or b <= 1e-9)
    return VFTFit(A=math.exp(ln_a), A_err=math.exp(ln_a) * float(errs[0]), ln_A=ln_a, ln_A_err=float(errs[0]),
                  B_K=b, B_err_K=float(errs[1]), B_kJ_mol=b * R_KJ_MOL_K, B_err_kJ_mol=float(errs[1]) * R_KJ_MOL_K,
                  T0_K=t0, T0_err_K=float(errs[2]), cov=cov, chi2_red=chi2_red, n_points=int(t.size),
                  weighted=y_err is not None, at_bound=at_bound, units=dict(_VFT_UNITS),
                  provenance={"model": "y = A exp(-B/(T - T0))", "T0_bounds_K": [lo, hi]})
