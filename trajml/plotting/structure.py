"""Figures of structure results: g(r) with n(r) and the first shell, coordination numbers, Li⁺ solvation,
shells with any number of species."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trajml.plotting._base import _axes, _check

__all__ = ["plot_rdf", "plot_coordination", "plot_solvation", "plot_shells"]


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


def plot_shells(result: Any, ax: Any = None, *, top: int = 8) -> Any:
    """Shells with any number of species: speciation, counts per species, the most frequent compositions.

    Parameters
    ----------
    result : ShellsResults
        From :class:`trajml.features.SolvationShells`.
    ax : sequence of three matplotlib.axes.Axes, optional
        Left: free/SSIP, CIP and AGG fractions of the cations (over the ``anions`` species; empty when
        none is named); middle: probability of k molecules (or atoms) of each species in a shell, and of
        k chains with ``chains``; right: the ``top`` most frequent shell compositions and their fractions
        (default: a new figure).
    top : int
        Compositions shown on the right.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(result, "plot_shells", ("species", "coordination_probability", "compositions", "composition_fraction"))
    fig, (left, mid, right) = _axes(ax, 3, figsize=(14.0, 3.8))
    if result.anions:
        left.bar(["free/SSIP", "CIP", "AGG"], [result.fraction_free, result.fraction_cip, result.fraction_agg],
                 color=["C0", "C1", "C2"])
        left.set_title(f"speciation over {', '.join(result.anions)}", fontsize=9)
    else:
        left.text(0.5, 0.5, "no anion species named", ha="center", va="center", transform=left.transAxes)
    left.set_ylabel("fraction of cations")
    left.set_ylim(0, 1)
    dists = [(f"{name} (< {cut:.2f} Å)", np.asarray(p)) for name, p, cut in
             zip(result.species, result.coordination_probability, result.cutoffs.values())]
    if result.chains is not None:
        dists.append((f"chains of {result.chains}", np.asarray(result.n_chains_probability)))
    width = 0.8 / len(dists)
    for k, (name, p) in enumerate(dists):
        x = np.arange(len(p)) + (k - (len(dists) - 1) / 2) * width
        mid.bar(x, p, width=width, label=name)
    mid.set_xlabel("count in the first shell")
    mid.set_ylabel("probability")
    mid.legend(frameon=False, fontsize=8)
    order = np.argsort(-np.asarray(result.composition_fraction), kind="stable")[:top]
    labels = [" + ".join(f"{int(n)} {s}" for n, s in zip(result.compositions[i], result.species) if n) or "empty"
              for i in order]
    right.barh(np.arange(len(order)), np.asarray(result.composition_fraction)[order], color="C4")
    right.set_yticks(np.arange(len(order)), labels, fontsize=8)
    right.invert_yaxis()
    right.set_xlabel("fraction of shells")
    right.set_title(f"most frequent compositions (top {len(order)} of {len(result.composition_fraction)})",
                    fontsize=9)
    return fig
