"""Figures of transport results: log-log MSDs with the diffusion fit, the self and collective MSDs behind a
conductivity, residence-time correlation functions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trajml.plotting._base import _axes, _check, _pyplot

__all__ = ["plot_msd", "plot_residence", "plot_transport", "window_line"]


def plot_msd(results: Any, diffusion: Any = None, ax: Any = None, *, label: str | None = None,
             guide: bool = True) -> Any:
    """Log–log plot of an MSD with the fit window, the fitted line and a slope-1 guide.

    Parameters
    ----------
    results : MSDResults
        From :class:`trajml.transport.MSD`.
    diffusion : DiffusionResults, optional
        From :class:`trajml.transport.Diffusion`: shades the fit window and
        draws ``6 D t + b`` over it.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).
    label : str, optional
        Legend label of the MSD curve (default: the selection).
    guide : bool
        Draw a dashed line of slope 1 (normal diffusion).

    Returns
    -------
    matplotlib.figure.Figure
    """
    for name in ("lag_ps", "msd_A2"):
        if not hasattr(results, name):
            raise TypeError(f"plot_msd needs a result with lag_ps and msd_A2; got {type(results).__name__}.")
    if ax is None:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(5.0, 3.5), layout="constrained")
    else:
        fig = ax.figure
    t, y = np.asarray(results.lag_ps)[1:], np.asarray(results.msd_A2)[1:]
    ax.loglog(t, y, color="C0", label=label or (results.selection or "MSD"))
    if diffusion is not None and math.isfinite(diffusion.fit_start_ps):
        a, b = max(diffusion.fit_start_ps, t[0]), diffusion.fit_stop_ps
        ax.axvspan(a, b, color="C1", alpha=0.15, lw=0,
                   label=f"fit {diffusion.fit_start_ps:g}-{b:g} ps (slope {diffusion.loglog_slope:.2f})")
        tt = np.geomspace(a, b, 50)
        what = {"blocks": "time blocks"}.get(diffusion.error_method, diffusion.error_method)
        text = _err_text(diffusion.D_A2_ps, diffusion.D_err_A2_ps, "Å²/ps", diffusion.n_error_samples, what,
                         bool(getattr(diffusion, "warnings", ())))
        ax.loglog(tt, diffusion.msd_slope_A2_ps * tt + diffusion.intercept_A2, color="C1", lw=1.5,
                  label=f"D = {text}")
    if guide and t.size and np.any(y > 0):
        k = t.size // 4
        anchor_t, anchor_y = t[k], y[k]
        tt = np.array([t[0], t[-1]])
        ax.loglog(tt, anchor_y * tt / anchor_t, color="0.5", ls="--", lw=0.8, label="slope 1")
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("MSD (Å²)")
    ax.legend(fontsize="small")
    return fig


def window_line(lag_ps: Any, curve: Any, fit_start_ps: float, fit_stop_ps: float) -> tuple[float, float]:
    """Least-squares line ``slope·t + intercept`` of a curve over a fit window (both ends included).

    The same line the transport estimators fit (their slope gives D = slope/6 and σ), recomputed
    from the stored curve so that a figure shows what the numbers came from.

    Parameters
    ----------
    lag_ps, curve : array_like, shape (T,)
        Lag times in ps and the curve (Å² or e²·Å²).
    fit_start_ps, fit_stop_ps : float
        The window in ps.

    Returns
    -------
    slope, intercept : float
        In curve units per ps and curve units.
    """
    t, y = np.asarray(lag_ps, dtype=np.float64), np.asarray(curve, dtype=np.float64)
    tol = 1e-3 * float(t[1] - t[0])  # frame times carry round-off
    sel = (t >= fit_start_ps - tol) & (t <= fit_stop_ps + tol)
    slope, intercept = np.polyfit(t[sel], y[sel], 1)
    return float(slope), float(intercept)


def _err_text(value: float, err: float, unit: str, n: int, what: str, unreliable: bool = False) -> str:
    """``value ± err unit (n what)``, flagged when the result warns that the error is not solid."""
    if not math.isfinite(err):
        return f"{value:.3g} {unit}"
    flag = ", unreliable" if unreliable else ""
    return f"{value:.3g} ± {err:.2g} {unit} ({n} {what}{flag})"


def plot_transport(conductivity: Any, diffusion: Any = None, msd: Any = None, ax: Any = None, *,
                   max_fraction: float = 0.5) -> Any:
    """The self and collective MSDs behind a conductivity, with the fit window and fitted lines.

    Left, log–log: the self MSD of each species with its fitted line ``6 D t + b`` over the window
    (shaded) and a slope-1 guide; the legend gives each D ± error in Å²/ps with the particle count.
    Right, linear: the charge displacement ``⟨|Σ_i q_i Δr_i|²⟩`` in e²·Å² with its fitted line over
    the same window; the legend gives σ ± error in mS/cm with the block count (flagged "unreliable"
    when the result's ``warnings`` say so, i.e. fewer than 5 blocks) and σ_NE.

    Parameters
    ----------
    conductivity : ConductivityResults
        From :class:`trajml.transport.Conductivity`.
    diffusion : DiffusionResults, optional
        A separate D fit (the ``msd`` stage's). Its window is hatched on the left panel when it
        differs from the conductivity's, so two D of one species are not shown without their windows.
    msd : MSDResults, optional
        The MSD ``diffusion`` was fitted to, drawn dashed on the left panel.
    ax : sequence of 2 matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    max_fraction : float
        The right panel shows lags up to this fraction of the run (longer lags average few origins).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(conductivity, "plot_transport", ("lag_ps", "self_msd_A2", "charge_msd_e2A2", "D_A2_ps",
                                            "sigma_mS_cm", "fit_start_ps", "fit_stop_ps", "species"))
    fig, (left, right) = _axes(ax, 2, figsize=(10.0, 3.8))
    res = conductivity
    lag = np.asarray(res.lag_ps)
    a, b = res.fit_start_ps, res.fit_stop_ps
    has_window = math.isfinite(a) and math.isfinite(b)
    blocks = ("replicas", len(res.replicas)) if res.error_method == "replicas" else ("time blocks", res.n_blocks)
    few = any("time blocks" in w for w in getattr(res, "warnings", ()))
    # left: self MSDs (log-log; lag 0 left out)
    t = lag[1:]
    for s, name in enumerate(res.species):
        y = np.asarray(res.self_msd_A2[s])
        n_err = ("replicas", len(res.replicas)) if res.error_method == "replicas" else ("particles", res.n_ions[s])
        label = f"{name}: D = {_err_text(res.D_A2_ps[s], res.D_err_A2_ps[s], 'Å²/ps', n_err[1], n_err[0])}"
        left.loglog(t, y[1:], color=f"C{s}", label=label)
        if has_window:
            slope, icpt = window_line(lag, y, a, b)
            tt = np.geomspace(max(a, t[0]), b, 50)
            left.loglog(tt, slope * tt + icpt, color="k", lw=1.0)
    if msd is not None:
        left.loglog(np.asarray(msd.lag_ps)[1:], np.asarray(msd.msd_A2)[1:], color="0.4", ls="--", lw=1.0,
                    label=f"msd stage ({msd.selection or 'MSD'})")
    if diffusion is not None and math.isfinite(diffusion.fit_start_ps) and (
            not has_window or not np.isclose([diffusion.fit_start_ps, diffusion.fit_stop_ps], [a, b]).all()):
        left.axvspan(max(diffusion.fit_start_ps, t[0]), diffusion.fit_stop_ps, facecolor="none", edgecolor="0.75",
                     hatch="//", lw=0, label=f"D-fit window {diffusion.fit_start_ps:g}-{diffusion.fit_stop_ps:g} ps: "
                     f"D = {diffusion.D_A2_ps:.3g} Å²/ps")
    if has_window:
        left.axvspan(max(a, t[0]), b, color="C2", alpha=0.15, lw=0, label=f"fit window {a:g}-{b:g} ps")
    k = t.size // 4
    y0 = np.asarray(res.self_msd_A2[0])[1:]
    if t.size and y0[k] > 0:
        left.loglog([t[0], t[-1]], [y0[k] * t[0] / t[k], y0[k] * t[-1] / t[k]], color="0.6", ls=":", lw=0.8,
                    label="slope 1")
    left.set_xlabel("lag time (ps)")
    left.set_ylabel("self MSD (Å²)")
    left.legend(fontsize="x-small", loc="lower right")
    # right: charge displacement (linear), the Einstein-Helfand fit
    n_show = max(2, int(max_fraction * (lag.size - 1)) + 1)
    if has_window:
        n_show = max(n_show, int(np.searchsorted(lag, b)) + 2)
    q = np.asarray(res.charge_msd_e2A2)
    right.plot(lag[:n_show], q[:n_show], color="C3", label="⟨|Σ q Δr|²⟩")
    if has_window:
        slope, icpt = window_line(lag, q, a, b)
        right.axvspan(a, b, color="C2", alpha=0.15, lw=0, label=f"fit window {a:g}-{b:g} ps")
        right.plot([a, b], [slope * a + icpt, slope * b + icpt], color="k", lw=1.5,
                   label=f"σ = {_err_text(res.sigma_mS_cm, res.sigma_err_mS_cm, 'mS/cm', blocks[1], blocks[0], few)}")
    right.plot([], [], " ", label=f"σ_NE = {res.sigma_NE_mS_cm:.3g} ± {res.sigma_NE_err_mS_cm:.2g} mS/cm, "
               f"T = {res.temperature_K:g} K")
    right.set_xlabel("lag time (ps)")
    right.set_ylabel("charge MSD (e² Å²)")
    right.set_xlim(0, lag[n_show - 1])
    right.legend(fontsize="x-small", loc="upper left")
    return fig


def plot_residence(result: Any, ax: Any = None, *, show_fit: bool = True, show_err: bool = True) -> Any:
    """Plot the continuous and intermittent contact TCFs with their stretched-exponential fits.

    Parameters
    ----------
    result : ResidenceResults
        From :class:`trajml.transport.residence.ResidenceTime`.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    show_fit : bool
        Draw ``exp(-(t/tau)^beta)`` with the fitted parameters (dashed), over the fitted lag range.
    show_err : bool
        Shade ± one block standard error around each TCF.

    Returns
    -------
    matplotlib.figure.Figure
        The time axis is logarithmic (lag 0 is left out), in ps.
    """
    needed = ("lag_ps", "continuous", "intermittent", "tau_ps", "beta", "intermittent_tau_ps")
    missing = [k for k in needed if not hasattr(result, k)]
    if missing:
        raise TypeError(f"plot_residence needs a result with {', '.join(needed)}; got {type(result).__name__}.")
    fig, ax = _axes(ax)
    t = np.asarray(result.lag_ps)[1:]
    curves = (("continuous", result.continuous, getattr(result, "continuous_err", None), result.tau_ps,
               result.beta, getattr(result, "tau_int_ps", math.nan), "C0"),
              ("intermittent", result.intermittent, getattr(result, "intermittent_err", None),
               result.intermittent_tau_ps, result.intermittent_beta,
               getattr(result, "intermittent_tau_int_ps", math.nan), "C1"))
    for name, c, err, tau, beta, tau_int, color in curves:
        c = np.asarray(c)[1:]
        ax.plot(t, c, color=color, label=f"{name} $C(t)$")
        if show_err and err is not None:
            e = np.asarray(err)[1:]
            ok = np.isfinite(e) & np.isfinite(c)
            ax.fill_between(t[ok], (c - e)[ok], (c + e)[ok], color=color, alpha=0.2, lw=0)
        if show_fit and math.isfinite(tau) and math.isfinite(beta):
            upper = getattr(result, "fit_max_lag_ps", t[-1] if t.size else 0.0)
            tf = t[t <= upper] if t.size else t
            ax.plot(tf, np.exp(-np.power(tf / tau, beta)), color=color, ls="--", lw=1.0,
                    label=f"fit τ={tau:.3g} ps, β={beta:.2f}, τ$_{{int}}$={tau_int:.3g} ps")
    ax.set_xscale("log")
    ax.set_xlabel("t (ps)")
    ax.set_ylabel("C(t)")
    ax.set_ylim(-0.02, 1.02)
    cutoff = getattr(result, "cutoff", None)
    if cutoff is not None:
        ax.set_title(f"contacts d < {cutoff:.2f} Å", fontsize="medium")
    ax.legend(frameon=False, fontsize="small")
    return fig


# --------------------------------------------------------------------------- kinetics
