"""Matplotlib figures of trajml results. Compute classes never plot; these functions take Results.

matplotlib is imported on first use; without it the functions raise
:class:`~trajml.errors.MissingExtraError` naming the ``plot`` extra
(``pip install 'trajml[plot]'``). Each function draws on the axes it is given,
or on a new figure, and returns the :class:`~matplotlib.figure.Figure`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["plot_rdf", "plot_coordination", "plot_solvation", "plot_msd", "plot_residence",
           "plot_implied_timescales", "plot_ck_test", "plot_populations", "plot_state_rdf", "plot_state_shell",
           "plot_state_populations", "use_offscreen_backend"]


def use_offscreen_backend() -> None:
    """Draw into files only (Agg), unless pyplot is already imported with the user's backend.

    For code that writes figures in workers or from the command line, where no display exists.
    """
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


def _pyplot() -> Any:
    from trajml.errors import require_extra

    require_extra("matplotlib", "plot", "trajml.plotting")
    import matplotlib.pyplot as plt

    return plt


def _axes(ax: Any, n: int = 1, figsize: tuple[float, float] = (5.0, 3.5)) -> tuple[Any, Any]:
    if ax is not None:
        axes = list(np.ravel(ax)) if n > 1 else [ax]
        if len(axes) != n:
            raise ValueError(f"The 'ax' parameter must hold {n} matplotlib Axes. Got {len(axes)} instead.")
        return axes[0].figure, (axes if n > 1 else axes[0])
    plt = _pyplot()
    fig, axes = plt.subplots(1, n, figsize=figsize, layout="constrained")
    return fig, (list(np.ravel(axes)) if n > 1 else axes)


def _check(result: Any, kind: str, needed: tuple[str, ...]) -> None:
    missing = [k for k in needed if not hasattr(result, k)]
    if missing:
        raise TypeError(f"{kind} needs a result with {', '.join(needed)}; got {type(result).__name__}.")


def plot_rdf(result: Any, ax: Any = None, *, show_n: bool = True, mark_shell: bool = True,
             label: str | None = None) -> Any:
    """Plot g(r), the running coordination number n(r) on a twin axis, and the first shell.

    Parameters
    ----------
    result : RDFResults
        From :class:`trajml.features.RDF`.
    ax : matplotlib.axes.Axes, optional
        Axes for g(r) (default: a new figure).
    show_n : bool
        Draw n(r) (at the bins' outer edges) on a twin y axis on the right.
    mark_shell : bool
        Mark the first peak (triangle) and the first minimum (dashed vertical line), when found.
    label : str, optional
        Legend label of the g(r) line.

    Returns
    -------
    matplotlib.figure.Figure
        Its first axes hold g(r); with ``show_n`` the twin axes hold n(r).
    """
    _check(result, "plot_rdf", ("r", "g", "n", "edges"))
    fig, ax = _axes(ax)
    ax.plot(result.r, result.g, color="C0", label=label or "g(r)")
    ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r)")
    ax.set_xlim(result.edges[0], result.edges[-1])
    if mark_shell and math.isfinite(result.first_peak_r):
        ax.plot([result.first_peak_r], [result.first_peak_g], marker="v", color="C3", ls="none",
                label=f"first peak {result.first_peak_r:.2f} Å")
    if mark_shell and math.isfinite(result.first_min_r):
        ax.axvline(result.first_min_r, color="C3", ls="--", lw=1.0,
                   label=f"first minimum {result.first_min_r:.2f} Å")
    if show_n:
        twin = ax.twinx()
        twin.plot(result.edges[1:], result.n, color="C1", ls="-.", label="n(r)")
        twin.set_ylabel("n(r)", color="C1")
        twin.tick_params(axis="y", colors="C1")
    ax.legend(loc="upper right", frameon=False, fontsize="small")
    return fig


def plot_coordination(result: Any, ax: Any = None) -> Any:
    """Bar chart of the coordination-number distribution, with its mean marked.

    Parameters
    ----------
    result : CoordinationResults
        From :class:`trajml.features.Coordination`.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(result, "plot_coordination", ("count", "probability", "mean", "cutoff"))
    fig, ax = _axes(ax)
    ax.bar(result.count, result.probability, color="C0", width=0.8)
    if math.isfinite(result.mean):
        ax.axvline(result.mean, color="C3", ls="--", label=f"mean {result.mean:.2f}")
        ax.legend(frameon=False)
    ax.set_xlabel(f"coordination number (d < {result.cutoff:.2f} Å)")
    ax.set_ylabel("probability")
    return fig


def plot_solvation(result: Any, ax: Any = None) -> Any:
    """Li⁺ speciation (free / CIP / AGG bars) and first-shell composition (distributions).

    Parameters
    ----------
    result : SolvationResults
        From :class:`trajml.features.Solvation`.
    ax : sequence of two matplotlib.axes.Axes, optional
        Left: speciation fractions; right: probability of k polymer O, k anions
        and k chains in a Li⁺ shell (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(result, "plot_solvation", ("fraction_free", "n_o_probability", "n_anion_probability"))
    fig, (left, right) = _axes(ax, 2, figsize=(9.0, 3.5))
    fractions = [result.fraction_free, result.fraction_cip, result.fraction_agg]
    left.bar(["free/SSIP", "CIP", "AGG"], fractions, color=["C0", "C1", "C2"])
    left.set_ylabel("fraction of Li⁺")
    left.set_ylim(0, 1)
    dists = [("polymer O", result.n_o_probability), ("anions", result.n_anion_probability),
             ("chains", result.n_chains_probability)]
    width = 0.8 / len(dists)
    for k, (name, p) in enumerate(dists):
        x = np.arange(len(p)) + (k - (len(dists) - 1) / 2) * width
        right.bar(x, p, width=width, label=name)
    right.set_xlabel(f"count in Li⁺ shell (O < {result.cutoff_o:.2f} Å, anion < {result.cutoff_anion:.2f} Å)")
    right.set_ylabel("probability")
    right.legend(frameon=False)
    return fig


# --------------------------------------------------------------------------- transport

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

def plot_implied_timescales(result: Any, ax: Any = None, *, n_its: int | None = None, log: bool = True) -> Any:
    """Implied timescales (ps) against the lag (ps), with bootstrap bands and the t = τ line.

    Parameters
    ----------
    result : ImpliedTimescalesResults
        From :func:`trajml.models.implied_timescales`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).
    n_its : int, optional
        Number of processes to draw (default: all).
    log : bool
        Logarithmic time axis.
    """
    _check(result, "plot_implied_timescales", ("lags_ps", "timescales_ps", "lower", "upper"))
    fig, ax = _axes(ax)
    ts = np.asarray(result.timescales_ps)
    k = ts.shape[1] if n_its is None else min(int(n_its), ts.shape[1])
    lags = np.asarray(result.lags_ps)
    for i in range(k):
        (line,) = ax.plot(lags, ts[:, i], marker="o", ms=3, label=f"process {i + 1}")
        if result.lower is not None:
            ax.fill_between(lags, result.lower[:, i], result.upper[:, i], color=line.get_color(), alpha=0.25, lw=0)
    # Shade t < τ only down to just below the data, so the band does not set the axis range.
    shown = ts[:, :k][np.isfinite(ts[:, :k]) & (ts[:, :k] > 0)]
    floor = min(float(np.nanmin(lags)), float(shown.min()) if shown.size else np.inf) / 2.0
    ax.fill_between(lags, np.full_like(lags, floor, dtype=float), lags, color="0.85", lw=0, label="t < τ")
    ax.plot(lags, lags, color="k", lw=0.8)
    if log:
        ax.set_yscale("log")
    ax.set_ylim(bottom=floor)
    ax.set_xlabel("lag time τ (ps)")
    ax.set_ylabel("implied timescale (ps)")
    ax.legend(frameon=False, fontsize="small")
    return fig


def plot_ck_test(result: Any, axes: Any = None) -> Any:
    """Chapman–Kolmogorov test: an n_sets × n_sets grid of predicted (line) vs estimated (points) probabilities.

    Parameters
    ----------
    result : CKTestResults
        From :func:`trajml.models.ck_test`.
    axes : ndarray of matplotlib.axes.Axes, shape (n_sets, n_sets), optional
        Axes to draw on (default: a new figure).
    """
    _check(result, "plot_ck_test", ("lags_ps", "predicted", "estimated"))
    n = result.predicted.shape[1]
    if axes is None:
        plt = _pyplot()
        fig, grid = plt.subplots(n, n, figsize=(2.2 * n + 1, 2.0 * n + 0.5), sharex=True, sharey=True,
                                 layout="constrained", squeeze=False)
    else:
        grid = np.asarray(axes, dtype=object).reshape(n, n)
        fig = grid[0, 0].figure
    x = np.asarray(result.lags_ps)
    for i in range(n):
        for j in range(n):
            ax = grid[i, j]
            ax.plot(x, result.predicted[:, i, j], color="C0", label="predicted")
            if result.predicted_lower is not None:
                ax.fill_between(x, result.predicted_lower[:, i, j], result.predicted_upper[:, i, j], color="C0",
                                alpha=0.25, lw=0)
            if result.estimated_lower is not None:
                err = np.stack([result.estimated[:, i, j] - result.estimated_lower[:, i, j],
                                result.estimated_upper[:, i, j] - result.estimated[:, i, j]])
                ax.errorbar(x, result.estimated[:, i, j], yerr=np.maximum(err, 0), fmt="o", ms=3, color="C1",
                            label="estimated")
            else:
                ax.plot(x, result.estimated[:, i, j], "o", ms=3, color="C1", label="estimated")
            ax.set_title(f"{i} → {j}", fontsize="small")
            ax.set_ylim(-0.05, 1.05)
            if i == n - 1:
                ax.set_xlabel("time (ps)")
            if j == 0:
                ax.set_ylabel("probability")
    grid[0, 0].legend(frameon=False, fontsize="x-small")
    return fig


def plot_populations(model: Any, ax: Any = None, *, metastable: bool = False) -> Any:
    """Bar chart of stationary populations of the active states (or of the metastable sets).

    Parameters
    ----------
    model : MSMModel or TICAMSMModel
        A fitted model.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).
    metastable : bool
        Plot the PCCA+ metastable-set populations instead (needs ``n_metastable``).
    """
    msm = getattr(model, "msm", model)
    _check(msm, "plot_populations", ("populations", "active_set"))
    fig, ax = _axes(ax)
    if metastable:
        if msm.metastable_populations is None:
            raise ValueError("plot_populations(metastable=True) needs a model fitted with n_metastable.")
        pops, labels = msm.metastable_populations, np.arange(len(msm.metastable_populations))
        ax.set_xlabel("metastable set")
    else:
        pops, labels = msm.populations, msm.active_set
        ax.set_xlabel("state")
    ax.bar(np.arange(len(pops)), pops, color="C0")
    ax.set_xticks(np.arange(len(pops)), [str(v) for v in labels], fontsize="small")
    ax.set_ylabel("stationary population")
    return fig


# --------------------------------------------------------------------------- state interpretation

def _state_labels(result: Any, states: Any) -> tuple[np.ndarray, list[str]]:
    """State indices to draw (default: all) and their legend labels with populations."""
    idx = np.arange(len(result.state)) if states is None else np.atleast_1d(np.asarray(states, dtype=np.int64))
    if idx.size == 0 or idx.min() < 0 or idx.max() >= len(result.state):
        raise ValueError(f"The 'states' parameter must hold state indices in [0, {len(result.state)}). "
                         f"Got {states!r} instead.")
    pops = np.asarray(result.population)
    return idx, [f"state {int(result.state[s])} ({100 * pops[s]:.1f} %)" for s in idx]


def plot_state_rdf(result: Any, axes: Any = None, *, states: Any = None, show_shell: bool = True) -> Any:
    """Per-state partial RDFs: one panel per shell species, one line per kinetic state.

    Parameters
    ----------
    result : StateInterpretationResults
        From :class:`trajml.models.StateInterpretation`.
    axes : sequence of matplotlib.axes.Axes, optional
        One axes per shell species (default: a new figure with a row of panels).
    states : sequence of int, optional
        States to draw (default: all).
    show_shell : bool
        Mark each species' first-shell cut-off ``r_shell`` (dashed vertical line).

    Returns
    -------
    matplotlib.figure.Figure
        Panel k holds ``g_s(r)`` target → species k against r in Å.
    """
    _check(result, "plot_state_rdf", ("r", "g", "species", "state", "population", "r_shell", "edges"))
    species = [str(x) for x in result.species]
    fig, panels = _axes(axes, len(species), figsize=(4.2 * len(species) + 0.6, 3.5))
    panels = panels if len(species) > 1 else [panels]
    idx, labels = _state_labels(result, states)
    for k, (ax, name) in enumerate(zip(panels, species)):
        for s, label in zip(idx, labels):
            ax.plot(result.r, result.g[s, k], color=f"C{int(s) % 10}", label=label)
        ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
        if show_shell:
            ax.axvline(result.r_shell[k], color="0.3", ls="--", lw=0.8,
                       label=f"r_shell {result.r_shell[k]:.2f} Å")
        ax.set_xlim(result.edges[0], result.edges[-1])
        ax.set_xlabel("r (Å)")
        ax.set_ylabel(f"g(r), {name}")
        ax.set_title(name, fontsize="medium")
    panels[0].legend(frameon=False, fontsize="small")
    return fig


def plot_state_shell(result: Any, ax: Any = None, *, states: Any = None, show_charge: bool = True,
                     error: bool = True) -> Any:
    """Grouped bars of the mean first-shell composition of each state, net charge annotated.

    Parameters
    ----------
    result : StateInterpretationResults
        From :class:`trajml.models.StateInterpretation`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).
    states : sequence of int, optional
        States to draw (default: all).
    show_charge : bool
        Write the mean net shell charge (e) above each state's group (when it is finite).
    error : bool
        Draw ± one state-weighted standard deviation as error bars.

    Returns
    -------
    matplotlib.figure.Figure
        One bar container per species (e.g. polymer O, anion), one bar per state.
    """
    _check(result, "plot_state_shell", ("shell_count_mean", "shell_count_std", "net_charge_mean", "species",
                                        "state", "population", "r_shell"))
    fig, ax = _axes(ax, figsize=(max(4.0, 1.1 * len(result.state) + 2.0), 3.5))
    idx, _ = _state_labels(result, states)
    species = [str(x) for x in result.species]
    x = np.arange(idx.size, dtype=np.float64)
    width = 0.8 / len(species)
    mean = np.asarray(result.shell_count_mean)[idx]
    std = np.asarray(result.shell_count_std)[idx]
    for k, name in enumerate(species):
        ax.bar(x + (k - (len(species) - 1) / 2) * width, mean[:, k], width=width, color=f"C{k}",
               yerr=std[:, k] if error else None, capsize=2 if error else 0,
               label=f"{name} (d < {result.r_shell[k]:.2f} Å)")
    top = np.nanmax(mean + (std if error else 0.0), axis=1) if mean.size else np.zeros(0)
    if show_charge:
        for xi, s, h in zip(x, idx, top):
            q = float(result.net_charge_mean[s])
            if math.isfinite(q):
                ax.annotate(f"q = {q:+.2f} e", (xi, h if math.isfinite(h) else 0.0), xytext=(0, 3),
                            textcoords="offset points", ha="center", va="bottom", fontsize="small")
        ax.margins(y=0.15)
    pops = np.asarray(result.population)[idx]
    ax.set_xticks(x, [f"{int(result.state[s])}\n{100 * p:.1f} %" for s, p in zip(idx, pops)], fontsize="small")
    ax.set_xlabel("state (population)")
    ax.set_ylabel("mean count in first shell")
    ax.legend(frameon=False, fontsize="small")
    return fig


def plot_state_populations(result: Any, ax: Any = None) -> Any:
    """Bar chart of the probability-weighted population of each state over the (frame, target) rows.

    Parameters
    ----------
    result : StateInterpretationResults
        From :class:`trajml.models.StateInterpretation`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(result, "plot_state_populations", ("state", "population"))
    fig, ax = _axes(ax)
    x = np.arange(len(result.state))
    ax.bar(x, result.population, color=[f"C{int(s) % 10}" for s in result.state])
    ax.set_xticks(x, [str(int(s)) for s in result.state], fontsize="small")
    ax.set_xlabel("state")
    ax.set_ylabel("population (fraction of rows)")
    return fig
