"""Self-diffusion coefficients from the mean-squared displacement (Einstein relation).

``D = slope / 6`` of a least-squares line ``MSD(t) = 6 D t + b`` over a fit
window ``[fit_start, fit_stop]`` (3-D). The window is given, or chosen
automatically from the diffusive regime:

* the local log–log slope ``β(t) = d ln MSD / d ln t`` is evaluated on a
  logarithmic grid of lags (``points_per_decade``, centred differences over
  neighbouring grid points);
* lags beyond ``max_fraction`` of the trajectory are excluded (the noisy tail,
  averaged over few origins); the ballistic start (β ≈ 2) and sub-diffusive
  stretches fail the tolerance by themselves;
* the window is the longest run (in decades) of grid points with
  ``|β − 1| ≤ tolerance`` holding at least ``min_points`` lags.

Uncertainty (the result says which in ``error_method``):

* ``"particles"``: standard error of the per-particle D over independent
  particles (each particle's MSD fitted over the same window; the mean of the
  per-particle D equals the D of the mean MSD). Needs per-particle MSDs.
* ``"blocks"``: standard error of D fitted in each of K consecutive time
  blocks (MSDs computed within each block); the window must fit in a block.
  With K < 5 the result's ``warnings`` say the error is not a reliable uncertainty.

* ``"replicas"``: standard error of D fitted, over the same window, to each replica's own
  MSD (an MSD of a Source with several trajectories carries them). Replicas are the most
  independent samples there are, so ``"auto"`` prefers them when there are at least two.

``"auto"`` takes ``"replicas"`` with two or more replicas, else ``"particles"`` when
per-particle MSDs are there, else ``"blocks"``. Every replica's D is reported as well.
Units: D in Å²/ps and cm²/s (1 Å²/ps = 1e-4 cm²/s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trajml._validation import Param, invalid
from trajml.base import Estimator
from trajml.errors import InvalidParameterError
from trajml.results import Results
from trajml.transport._uncertainty import few_blocks_warning
from trajml.units import A2_PS_TO_CM2_S

__all__ = ["Diffusion", "DiffusionResults", "local_loglog_slope", "A2_PS_TO_CM2_S"]

ERRORS = ("auto", "particles", "blocks", "replicas")


@dataclass(frozen=True, eq=False, kw_only=True)
class DiffusionResults(Results):
    """A diffusion coefficient with its fit window and uncertainty.

    Attributes
    ----------
    D_A2_ps, D_cm2_s : float
        Self-diffusion coefficient in Å²/ps and cm²/s.
    D_err_A2_ps, D_err_cm2_s : float
        Its standard error (see ``error_method``), same units; NaN if unavailable.
    fit_start_ps, fit_stop_ps : float
        Fit window in ps (both ends included).
    n_fit_points : int
        MSD points (lags) in the window.
    loglog_slope : float
        Least-squares slope of ln MSD against ln t over the window (1 for normal diffusion).
    msd_slope_A2_ps : float
        Slope of the linear fit of MSD(t) in Å²/ps (= 6 D).
    intercept_A2 : float
        Intercept of the linear fit in Å².
    window_method : str
        ``"given"`` or ``"auto"``.
    error_method : str
        ``"particles"`` (standard error over independent particles),
        ``"blocks"`` (standard error over time blocks), ``"replicas"`` (standard error
        over replicas) or ``"none"``.
    n_error_samples : int
        Particles, time blocks or replicas behind the error.
    warnings : tuple of str
        What makes the numbers less solid than they look, e.g. an error from fewer than 5 time
        blocks (:data:`trajml.transport._uncertainty.MIN_RELIABLE_BLOCKS`); empty when none.
    D_replicas_A2_ps : ndarray, shape (R,), float64, or None
        D of each replica over the same window, in Å²/ps (None with one trajectory).
    D_replicas_std_A2_ps : float
        Standard deviation (ddof=1) of the replicas' D in Å²/ps (NaN with fewer than two).
    tolerance : float
        Tolerance on the local log–log slope used by the automatic window.
    selection : str
        The MSD's selection.
    """

    D_A2_ps: float
    D_cm2_s: float
    D_err_A2_ps: float = float("nan")
    D_err_cm2_s: float = float("nan")
    fit_start_ps: float = float("nan")
    fit_stop_ps: float = float("nan")
    n_fit_points: int = 0
    loglog_slope: float = float("nan")
    msd_slope_A2_ps: float = float("nan")
    intercept_A2: float = float("nan")
    window_method: str = "given"
    error_method: str = "none"
    n_error_samples: int = 0
    tolerance: float = float("nan")
    selection: str = ""
    D_replicas_A2_ps: np.ndarray | None = None
    D_replicas_std_A2_ps: float = float("nan")
    warnings: tuple[str, ...] = ()

    _HEADLINE: ClassVar[tuple[str, ...]] = ("D_A2_ps", "D_err_A2_ps", "D_cm2_s", "fit_start_ps", "fit_stop_ps",
                                            "loglog_slope")


UNITS = {"D_replicas_A2_ps": "Å^2/ps", "D_replicas_std_A2_ps": "Å^2/ps",
         "D_A2_ps": "Å^2/ps", "D_cm2_s": "cm^2/s", "D_err_A2_ps": "Å^2/ps", "D_err_cm2_s": "cm^2/s",
         "fit_start_ps": "ps", "fit_stop_ps": "ps", "n_fit_points": "", "loglog_slope": "",
         "msd_slope_A2_ps": "Å^2/ps", "intercept_A2": "Å^2", "n_error_samples": "", "tolerance": ""}


def local_loglog_slope(lag_ps: np.ndarray, msd_A2: np.ndarray, points_per_decade: int = 10,
                       max_lag: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Local slope ``d ln MSD / d ln t`` on a logarithmic grid of lags.

    Parameters
    ----------
    lag_ps : ndarray, shape (T,), float64
        Lag times in ps, ``lag_ps[0] == 0``.
    msd_A2 : ndarray, shape (T,), float64
        MSD in Å².
    points_per_decade : int
        Grid density.
    max_lag : int, optional
        Largest lag index on the grid (default T − 1).

    Returns
    -------
    grid : ndarray, shape (G,), int64
        Lag indices of the grid (≥ 1).
    slope : ndarray, shape (G,), float64
        Centred log–log slope at each grid point (one-sided at the ends; NaN
        where the MSD is not positive).
    """
    n = len(lag_ps) - 1 if max_lag is None else int(max_lag)
    if n < 1:
        return np.empty(0, np.int64), np.empty(0)
    grid = np.unique(np.round(np.logspace(0, math.log10(n), max(2, int(math.log10(n) * points_per_decade) + 1))))
    grid = grid.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lt, lm = np.log(lag_ps[grid]), np.log(np.where(msd_A2[grid] > 0, msd_A2[grid], np.nan))
    if grid.size == 1:
        return grid, np.full(1, np.nan)
    slope = np.gradient(lm, lt)
    return grid, slope


def _linear_weights(t: np.ndarray) -> np.ndarray:
    """Weights w with slope = w · y for the least-squares line through (t, y)."""
    dt = t - t.mean()
    return dt / np.dot(dt, dt)


def check_window(owner: str, fit_start: float | None, fit_stop: float | None) -> None:
    """A fit window is given whole (both ends, start < stop) or not at all."""
    if (fit_start is None) != (fit_stop is None):
        name = "fit_stop" if fit_stop is None else "fit_start"
        raise InvalidParameterError(
            f"The 'fit_start' and 'fit_stop' parameters of {owner} go together: give both (ps) or neither "
            f"(automatic window). Got fit_start={fit_start!r}, fit_stop={fit_stop!r}.", parameter=name, owner=owner,
            constraint="given with the other end of the window", value=fit_start if name == "fit_start" else fit_stop)
    if fit_start is not None and fit_stop <= fit_start:
        raise invalid("fit_stop", owner, f"greater than fit_start ({fit_start:g} ps)", fit_stop)


class Diffusion(Estimator):
    """Self-diffusion coefficient from an MSD (Einstein relation, 3-D).

    Parameters
    ----------
    fit_start, fit_stop : float or None
        Fit window in ps (both or neither); None chooses it automatically from
        the diffusive regime (see the module documentation).
    tolerance : float
        Largest ``|β − 1|`` of the local log–log slope accepted as diffusive. Default 0.15.
    max_fraction : float
        Lags beyond this fraction of the trajectory are not used by the automatic
        window (noisy tail). Default 0.5.
    min_points : int
        Fewest MSD points a window may hold. Default 5.
    points_per_decade : int
        Log-grid density of the automatic window. Default 10.
    error : {"auto", "particles", "blocks"}
        How the uncertainty is estimated (see the module documentation).

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> from trajml.transport import MSD
    >>> msd = MSD("name Li").run(open_source(sample_topology(), sample_trajectory()))
    >>> res = Diffusion(fit_start=100.0, fit_stop=600.0).fit(msd).fetch_model()
    >>> res.error_method, res.D_A2_ps > 0
    ('particles', True)
    """

    _fit_input: ClassVar[str] = "msd"
    _quick: ClassVar[dict] = {"fit_start": 2.0, "fit_stop": 40.0}
    _parameters = {
        "fit_start": Param("float", help="start of the fit window (give both ends or neither)", unit="ps", minimum=0.0,
                           nullable=True, none_help="automatic"),
        "fit_stop": Param("float", help="end of the fit window", unit="ps", positive=True, nullable=True,
                          none_help="automatic"),
        "tolerance": Param("float", help="automatic window: largest |local log-log slope - 1|", positive=True),
        "max_fraction": Param("float", help="automatic window: longest lag, as a fraction of the trajectory",
                              positive=True, high=1.0, high_closed=True),
        "min_points": Param("int", help="fewest MSD points a window may hold", minimum=2),
        "points_per_decade": Param("int", help="automatic window: log-grid density", minimum=2),
        "error": Param("str", help="uncertainty of D: over replicas, particles, time blocks, or auto",
                       choices=ERRORS),
    }

    def __init__(self, fit_start: float | None = None, fit_stop: float | None = None, *, tolerance: float = 0.15,
                 max_fraction: float = 0.5, min_points: int = 5, points_per_decade: int = 10,
                 error: str = "auto") -> None:
        self._set_params(locals())
        self._model: DiffusionResults | None = None

    @classmethod
    def _check_relations(cls, values: dict[str, Any]) -> None:
        check_window("Diffusion", values.get("fit_start"), values.get("fit_stop"))

    # -- estimator protocol ----------------------------------------------------------------------
    def fit(self, msd: Any) -> "Diffusion":
        """Fit D to an :class:`~trajml.transport.MSDResults`; returns ``self``.

        Raises
        ------
        ValueError
            A window outside the data or holding fewer than ``min_points`` lags
            (the message names the numbers), no diffusive regime found, or an
            error method the MSD cannot support.
        """
        lag, curve = np.asarray(msd.lag_ps, dtype=np.float64), np.asarray(msd.msd_A2, dtype=np.float64)
        if lag.size < self.min_points + 1:
            raise ValueError(f"Diffusion needs an MSD with at least {self.min_points + 1} lags; got {lag.size}.")
        if self.fit_start is None:
            idx, window_method = self._auto_window(lag, curve), "auto"
        else:
            idx, window_method = self._given_window(lag), "given"
        t, y = lag[idx], curve[idx]
        w = _linear_weights(t)
        slope = float(w @ y)
        intercept = float(y.mean() - slope * t.mean())
        with np.errstate(divide="ignore", invalid="ignore"):
            lt, ly = np.log(t[t > 0]), np.log(y[t > 0])
            ll = float(np.polyfit(lt, ly, 1)[0]) if lt.size >= 2 and np.all(np.isfinite(ly)) else math.nan
        err, method, n_err = self._error(msd, idx)
        d_rep = self._replica_d(msd, idx)
        if d_rep is not None and (self.error == "replicas" or (self.error == "auto" and d_rep.size >= 2)):
            if d_rep.size < 2:
                raise ValueError("Diffusion(error='replicas') needs an MSD of at least 2 replicas (a Source with "
                                 "several trajectories).")
            err, method, n_err = float(d_rep.std(ddof=1) / math.sqrt(d_rep.size)), "replicas", int(d_rep.size)
        d = slope / 6.0
        notes = [few_blocks_warning("D", n_err) if method == "blocks" else None,
                 self._subdiffusive_warning(ll, float(t[0]), float(t[-1])) if window_method == "given" else None]
        self._model = DiffusionResults(
            D_A2_ps=d, D_cm2_s=d * A2_PS_TO_CM2_S, D_err_A2_ps=err, D_err_cm2_s=err * A2_PS_TO_CM2_S,
            fit_start_ps=float(t[0]), fit_stop_ps=float(t[-1]), n_fit_points=int(idx.size), loglog_slope=ll,
            msd_slope_A2_ps=slope, intercept_A2=intercept, window_method=window_method, error_method=method,
            n_error_samples=n_err, tolerance=self.tolerance, selection=str(getattr(msd, "selection", "")),
            D_replicas_A2_ps=d_rep,
            D_replicas_std_A2_ps=float(d_rep.std(ddof=1)) if d_rep is not None and d_rep.size > 1 else math.nan,
            warnings=tuple(n for n in notes if n), units=dict(UNITS), provenance={"parameters": self.get_params()},
        )
        return self

    def _subdiffusive_warning(self, beta: float, start: float, stop: float) -> str | None:
        """A warning when a given window is not diffusive: its log-log slope β is beyond the tolerance of 1."""
        if not math.isfinite(beta) or abs(beta - 1.0) <= self.tolerance:
            return None
        kind = "sub-diffusive" if beta < 1 else "super-diffusive"
        return (f"the MSD is {kind} over the given fit window {start:g}-{stop:g} ps (log-log slope {beta:.2f}, "
                f"more than tolerance={self.tolerance:g} from 1): D is an apparent value, not a diffusion "
                "coefficient; use a later window or a longer trajectory")

    def fetch_model(self) -> DiffusionResults:
        """The result of the last :meth:`fit`."""
        if self._model is None:
            from trajml.errors import NotFittedError

            raise NotFittedError("Diffusion.fetch_model() needs a fitted estimator: call fit(msd) first.")
        return self._model

    @staticmethod
    def _replica_d(msd: Any, idx: np.ndarray) -> np.ndarray | None:
        """D of each replica's own MSD over the window ``idx`` (None without replicas)."""
        replicas = getattr(msd, "replicas", ())
        if not replicas:
            return None
        lag = np.asarray(msd.lag_ps)
        w = _linear_weights(lag[idx])
        return np.array([float(np.asarray(r.msd_A2)[idx] @ w) / 6.0 for r in replicas])

    # -- windows ---------------------------------------------------------------------------------
    def _given_window(self, lag: np.ndarray) -> np.ndarray:
        end = float(lag[-1])
        dt = float(lag[1] - lag[0])
        if self.fit_start >= end:
            raise ValueError(f"The 'fit_start' parameter of Diffusion must be below the last lag. Got "
                             f"{self.fit_start:g} ps instead (the data end at {end:g} ps).")
        tol = 1e-3 * dt  # frame times carry round-off (e.g. DCD time steps)
        if self.fit_stop > end + tol:
            raise ValueError(f"The 'fit_stop' parameter of Diffusion must be at most the last lag. Got "
                             f"{self.fit_stop:g} ps instead (the data end at {end:g} ps).")
        idx = np.flatnonzero((lag >= self.fit_start - tol) & (lag <= self.fit_stop + tol))
        if idx.size < self.min_points:
            raise ValueError(
                f"The fit window [{self.fit_start:g}, {self.fit_stop:g}] ps holds {idx.size} MSD points (lag step "
                f"{dt:g} ps); Diffusion needs at least min_points={self.min_points}. Widen the window.")
        return idx

    def _auto_window(self, lag: np.ndarray, curve: np.ndarray) -> np.ndarray:
        max_lag = int(math.floor(self.max_fraction * (lag.size - 1)))
        grid, beta = local_loglog_slope(lag, curve, self.points_per_decade, max_lag)
        ok = np.isfinite(beta) & (np.abs(beta - 1.0) <= self.tolerance)
        best: tuple[float, int, int] | None = None
        k = 0
        while k < grid.size:
            if not ok[k]:
                k += 1
                continue
            j = k
            while j + 1 < grid.size and ok[j + 1]:
                j += 1
            n_pts = int(grid[j] - grid[k] + 1)
            span = math.log(grid[j] / grid[k])
            if n_pts >= self.min_points and (best is None or span > best[0]):
                best = (span, int(grid[k]), int(grid[j]))
            k = j + 1
        if best is None:
            finite = beta[np.isfinite(beta)]
            rng = f"{finite.min():.2f} to {finite.max():.2f}" if finite.size else "undefined"
            raise ValueError(
                f"Diffusion found no diffusive regime: the local log-log slope of the MSD (from {rng} over lags "
                f"{lag[1]:g}-{lag[max(max_lag, 1)]:g} ps) is never within tolerance={self.tolerance:g} of 1 over "
                f"at least min_points={self.min_points} lags. Give fit_start and fit_stop, raise the tolerance, "
                "or use a longer trajectory.")
        return np.arange(best[1], best[2] + 1)

    # -- errors ----------------------------------------------------------------------------------
    def _error(self, msd: Any, idx: np.ndarray) -> tuple[float, str, int]:
        per = getattr(msd, "msd_per_particle_A2", None)
        blocks = getattr(msd, "time_block_msd_A2", None)
        method = self.error
        if method in ("auto", "replicas"):
            method = "particles" if per is not None and per.shape[0] >= 2 else "blocks"
        lag = np.asarray(msd.lag_ps)
        w = _linear_weights(lag[idx])
        if method == "particles":
            if per is None or per.shape[0] < 2:
                raise ValueError("Diffusion(error='particles') needs per-particle MSDs of at least 2 particles; "
                                 "run MSD with per_particle=True.")
            d_i = per[:, idx] @ w / 6.0
            return float(d_i.std(ddof=1) / math.sqrt(d_i.size)), "particles", int(d_i.size)
        if blocks is None or blocks.shape[0] < 2:
            if self.error in ("auto", "replicas"):
                return math.nan, "none", 0
            raise ValueError("Diffusion(error='blocks') needs time-block MSDs; run MSD with time_blocks >= 2.")
        length = blocks.shape[1]
        if idx[-1] >= length:
            if self.error in ("auto", "replicas"):
                return math.nan, "none", 0
            raise ValueError(
                f"Diffusion(error='blocks'): the fit window ends at {lag[idx[-1]]:g} ps, beyond the "
                f"{lag[length - 1]:g} ps a time block spans ({blocks.shape[0]} blocks). Use fewer time blocks, a "
                "shorter window, or per-particle errors.")
        d_k = blocks[:, idx] @ w / 6.0
        return float(d_k.std(ddof=1) / math.sqrt(d_k.size)), "blocks", int(d_k.size)
