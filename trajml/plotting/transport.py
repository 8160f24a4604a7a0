"""Figures of transport results: log-log MSDs with the diffusion fit, residence-time correlation functions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trajml.plotting._base import _axes, _pyplot

__all__ = ["plot_msd", "plot_residence"]


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
        err = f" ± {diffusion.D_err_A2_ps:.2g}" if math.isfinite(diffusion.D_err_A2_ps) else ""
        ax.loglog(tt, diffusion.msd_slope_A2_ps * tt + diffusion.intercept_A2, color="C1", lw=1.5,
                  label=f"D = {diffusion.D_A2_ps:.3g}{err} Å²/ps")
    if guide and t.size and np.any(y > 0):
        k = t.size // 4
        anchor_t, anchor_y = t[k], y[k]
        tt = np.array([t[0], t[-1]])
        ax.loglog(tt, anchor_y * tt / anchor_t, color="0.5", ls="--", lw=0.8, label="slope 1")
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("MSD (Å²)")
    ax.legend(fontsize="small")
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
