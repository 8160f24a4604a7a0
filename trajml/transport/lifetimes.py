"""Lifetimes of a time-correlation function: stretched-exponential fit and direct integral.

Each TCF is fitted with ``exp(-(t/tau)^beta)`` (:func:`fit_stretched_exponential`); the integral
lifetime is ``tau_int = tau / beta * Gamma(1 / beta)``, its error propagated from the fit covariance
by the delta method, and independently the measured ``C(t)`` is integrated by the trapezoidal rule
up to its first lag below a threshold. The results come as a :class:`LifetimeFit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LifetimeFit", "fit_stretched_exponential"]


@dataclass(frozen=True)
class LifetimeFit:
    """A stretched-exponential fit ``exp(-(t/tau)^beta)`` of a TCF, and its direct integral.

    Attributes
    ----------
    tau_ps, tau_ps_err : float
        Fitted time constant and its standard error from the fit covariance, in ps.
    beta, beta_err : float
        Stretching exponent (dimensionless, 1 is a single exponential) and its error.
    tau_int_ps, tau_int_ps_err : float
        Integral lifetime ``tau / beta * Gamma(1 / beta)`` in ps and its error (delta method).
    integral_ps : float
        Trapezoidal integral of the measured C(t) from 0 to ``integral_cut_ps``, in ps.
    integral_cut_ps : float
        Upper limit of that integral: the first lag with C(t) < threshold, or the last lag, in ps.
    integral_converged : bool
        Whether C(t) dropped below the threshold (False: the integral is a lower bound).
    n_points : int
        Lags used by the fit.
    """

    tau_ps: float
    tau_ps_err: float
    beta: float
    beta_err: float
    tau_int_ps: float
    tau_int_ps_err: float
    integral_ps: float
    integral_cut_ps: float
    integral_converged: bool
    n_points: int

    @classmethod
    def empty(cls) -> "LifetimeFit":
        """A fit of NaNs (too little signal)."""
        nan = float("nan")
        return cls(nan, nan, nan, nan, nan, nan, nan, nan, False, 0)


def _stretched(t: np.ndarray, tau: float, beta: float) -> np.ndarray:
    return np.exp(-np.power(t / tau, beta))


def _integral(lag_ps: np.ndarray, c: np.ndarray, threshold: float) -> tuple[float, float, bool]:
    """Trapezoidal integral of C from 0 to its first lag below ``threshold`` (inclusive)."""
    finite = np.isfinite(c)
    below = np.flatnonzero(finite & (c < threshold))
    last = int(below[0]) if below.size else int(np.flatnonzero(finite)[-1])
    x, y = lag_ps[: last + 1], c[: last + 1]
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    value = float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x))) if x.size > 1 else 0.0
    return value, float(lag_ps[last]), bool(below.size)


def fit_stretched_exponential(lag_ps: np.ndarray, c: np.ndarray, *, threshold: float = 0.01,
                              max_lag_ps: float | None = None) -> LifetimeFit:
    """Fit ``C(t) = exp(-(t/tau)^beta)`` and integrate C(t) directly.

    Parameters
    ----------
    lag_ps : ndarray, shape (K,), float64
        Lags in ps, starting at 0, evenly spaced.
    c : ndarray, shape (K,), float64
        The TCF at those lags (dimensionless, ``c[0] == 1``); NaN entries are skipped.
    threshold : float
        The fit and the direct integral stop at the first lag where ``c < threshold`` (dimensionless).
    max_lag_ps : float, optional
        Largest lag the fit uses, in ps (default: all lags).

    Returns
    -------
    LifetimeFit
        ``tau`` is bounded to ``(0, inf)`` ps and ``beta`` to ``[0.05, 3]``.

    Raises
    ------
    ValueError
        Fewer than 3 usable lags ``0 < t <= max_lag_ps`` with ``c >= threshold``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(50.0)
    >>> fit = fit_stretched_exponential(t, np.exp(-t / 10.0))
    >>> round(fit.tau_ps, 6), round(fit.beta, 6)
    (10.0, 1.0)
    """
    from scipy.optimize import curve_fit
    from scipy.special import digamma, gamma

    lag_ps = np.asarray(lag_ps, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    if lag_ps.shape != c.shape or lag_ps.ndim != 1:
        raise ValueError(f"fit_stretched_exponential needs 1-D 'lag_ps' and 'c' of one shape; got {lag_ps.shape} "
                         f"and {c.shape}.")
    finite = np.isfinite(c)
    below = np.flatnonzero(finite & (c < threshold))
    stop = int(below[0]) if below.size else c.size
    use = np.zeros(c.size, dtype=bool)
    use[:stop] = finite[:stop]
    use &= lag_ps > 0
    if max_lag_ps is not None:
        use &= lag_ps <= max_lag_ps
    n = int(use.sum())
    if n < 3:
        limit = "" if max_lag_ps is None else f" and lag <= {max_lag_ps:g} ps"
        raise ValueError(
            f"Fitting exp(-(t/tau)^beta) needs at least 3 lags with t > 0{limit} before C(t) first drops below "
            f"threshold = {threshold:g}; got {n} of {c.size} lags. Analyse more frames (or a smaller 'step'), or "
            "lower 'threshold'."
        )
    x, y = lag_ps[use], c[use]
    tau0 = float(x[np.argmin(np.abs(y - math.exp(-1.0)))])
    try:
        popt, pcov = curve_fit(_stretched, x, y, p0=(max(tau0, 1e-12), 1.0),
                               bounds=([1e-12, 0.05], [np.inf, 3.0]), maxfev=20000)
    except RuntimeError:  # pragma: no cover - curve_fit gave up
        return LifetimeFit.empty()
    tau, beta = float(popt[0]), float(popt[1])
    pcov = np.where(np.isfinite(pcov), pcov, np.nan)
    g = gamma(1.0 / beta)
    tau_int = tau / beta * g
    grad = np.array([g / beta, -tau * g / beta**2 * (1.0 + digamma(1.0 / beta) / beta)])
    var_int = float(grad @ pcov @ grad)
    integral, cut, converged = _integral(lag_ps, c, threshold)
    return LifetimeFit(tau, float(np.sqrt(pcov[0, 0])), beta, float(np.sqrt(pcov[1, 1])), float(tau_int),
                       float(np.sqrt(var_int)) if var_int >= 0 else float("nan"), integral, cut, converged, n)
