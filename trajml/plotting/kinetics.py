"""Figures of kinetic models: implied timescales, Chapman–Kolmogorov tests, populations, per-state structure."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trajml.plotting._base import _axes, _check, _pyplot

__all__ = ["plot_implied_timescales", "plot_ck_test", "plot_populations", "plot_state_rdf", "plot_state_shell",
           "plot_state_populations"]


def plot_implied_timescales(result: Any, ax: Any = None, *, n_its: int | None = None, log: bool = True) -> Any:
    """Implied timescales (ps) against the lag (ps), with bootstrap bands and the t = τ line.

    Parameters
    ----------
    result : ImpliedTimescalesResults
        From :func:`trajml.kinetics.implied_timescales`.
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
        From :func:`trajml.kinetics.ck_test`.
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
        From :class:`trajml.kinetics.StateInterpretation`.
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
        From :class:`trajml.kinetics.StateInterpretation`.
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
        From :class:`trajml.kinetics.StateInterpretation`.
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
