"""Figures of free-energy surfaces: filled contours with minima, basins and paths; path profiles.

matplotlib is imported on first use. Each function draws on the axes it is given, or on a new
figure, and returns the :class:`~matplotlib.figure.Figure`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from trajml.plotting._base import _pyplot

__all__ = ["plot_fes", "plot_path_profile"]


def _new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    fig, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return fig, ax


def plot_fes(model: Any, ax: Any = None, *, unit: str = "kT", max_free_energy: float | None = None,
             n_levels: int = 20, uncertainty: bool = False, minima: Any = None, paths: Sequence[Any] = (),
             basins: Any = None, labels: Sequence[str] | None = None, cv_labels: Sequence[str] | None = None) -> Any:
    """Draw a 1-D or 2-D free-energy surface.

    Parameters
    ----------
    model : FESModel
    ax : matplotlib Axes, optional
    unit : {"kT", "kJ/mol"}
    max_free_energy : float, optional
        Upper end of the colour scale (in ``unit``; default 10 kT).
    n_levels : int
        Contour levels (2-D).
    uncertainty : bool
        Draw the standard deviation instead of F (2-D), or as a band (1-D, always drawn).
    minima : Minima or array_like (k, d), optional
        Points to mark (labelled with ``labels`` or A, B, C, ...).
    paths : sequence of MinimumPath or array_like (n, d)
        Paths to draw, with their saddle points.
    basins : Basins, optional
        Basin boundaries drawn as thin lines.
    labels : sequence of str, optional
        Labels of the ``minima`` (default A, B, C, ...).
    cv_labels : sequence of str, optional
        Axis labels (default "CV 0 (units)", ...).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if unit not in ("kT", "kJ/mol"):
        raise ValueError(f"The 'unit' parameter of plot_fes must be 'kT' or 'kJ/mol'. Got {unit!r} instead.")
    scale = model.kT_kJmol if unit == "kJ/mol" else 1.0
    F = model.free_energy_kT * scale
    S = model.uncertainty_kT * scale
    top = max_free_energy if max_free_energy is not None else 10.0 * scale
    names = list(cv_labels) if cv_labels is not None else [
        f"CV {k}" + (f" ({model.cv_units})" if model.cv_units else "") for k in range(model.ndim)]
    discrete = model.discrete_cvs  # integer states: drawn as cells, never interpolated
    if model.ndim == 1:
        fig, ax = _new_axes(ax, (5.0, 3.5))
        x = model.axes[0]
        if discrete[0]:
            # integer states: points with error bars, nothing drawn between integers
            ok = np.isfinite(F)
            ax.errorbar(x[ok], F[ok], yerr=S[ok], fmt="o", color="C0", capsize=3, label=f"{model.method}")
            ax.set_xticks(x)
        else:
            ax.plot(x, F, color="C0", label=f"{model.method}")
            ax.fill_between(x, F - S, F + S, color="C0", alpha=0.3, linewidth=0)
        ax.set_ylim(-0.05 * top, top)
        ax.set_xlabel(names[0])
        ax.set_ylabel(f"F ({unit})")
        _mark_minima(ax, model, minima, labels, one_d=True, scale=scale)
        return fig
    if model.ndim != 2:
        raise ValueError(f"plot_fes draws 1-D and 2-D surfaces; this model has {model.ndim} CVs. "
                         f"Project it or plot a slice of model.free_energy_kJmol.")
    fig, ax = _new_axes(ax, (5.5, 4.5))
    X, Y = np.meshgrid(*model.axes, indexing="ij")
    Z = S if uncertainty else F
    Zm = np.ma.masked_invalid(np.where(F <= top, Z, np.nan))
    vmax = float(np.nanmax(Zm)) if uncertainty and Zm.count() else top
    levels = np.linspace(0.0, max(vmax, 1e-12), n_levels + 1)
    cmap = "magma" if uncertainty else "viridis"
    if discrete.any():
        # integer cells are states, not samples of a smooth surface: draw cells, not contours
        cs = ax.pcolormesh(*model.edges, Zm.T, cmap=cmap, vmin=0.0, vmax=max(vmax, 1e-12))
    else:
        cs = ax.contourf(X, Y, Zm, levels=levels, cmap=cmap, extend="max")
        if not uncertainty:
            ax.contour(X, Y, Zm, levels=levels[::2], colors="k", linewidths=0.3, alpha=0.5)
    cb = fig.colorbar(cs, ax=ax)
    cb.set_label(("σ(F)" if uncertainty else "F") + f" ({unit})")
    if basins is not None:
        lab = np.asarray(basins.labels, dtype=float)
        lab[lab < 0] = np.nan
        ax.contour(X, Y, lab, levels=np.arange(-0.5, np.nanmax(lab) + 1.0), colors="w", linewidths=0.8,
                   linestyles="--")
    for k, p in enumerate(paths):
        pts = np.asarray(getattr(p, "points", p), dtype=float)
        ax.plot(pts[:, 0], pts[:, 1], "-o", color=f"C{(k + 1) % 10}", markersize=2.5, linewidth=1.5,
                label=f"path {k + 1}")
        sad = getattr(p, "saddle_points", None)
        if sad is not None and len(sad):
            ax.plot(sad[:, 0], sad[:, 1], "x", color="w", markersize=8, markeredgewidth=2)
    _mark_minima(ax, model, minima, labels, one_d=False, scale=scale)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(f"free energy ({model.method}, {model.temperature_K:g} K)")
    return fig


def _mark_minima(ax: Any, model: Any, minima: Any, labels: Sequence[str] | None, *, one_d: bool, scale: float) -> None:
    if minima is None:
        return
    pts = np.asarray(getattr(minima, "points", minima), dtype=float).reshape(-1, model.ndim)
    names = list(labels) if labels is not None else [chr(ord("A") + k) for k in range(len(pts))]
    for k, p in enumerate(pts):
        if one_d:
            y = float(model.predict(p[None, :], unit="kT")[0]) * scale
            ax.plot(p[0], y, "o", color="C3")
            ax.annotate(names[k] if k < len(names) else str(k), (p[0], y), textcoords="offset points", xytext=(4, 4))
        else:
            ax.plot(p[0], p[1], "o", color="C3", markeredgecolor="w")
            ax.annotate(names[k] if k < len(names) else str(k), (p[0], p[1]), color="w", textcoords="offset points",
                        xytext=(5, 5), fontweight="bold")


def plot_path_profile(path: Any, ax: Any = None, *, unit: str = "kT", kT_kJmol: float | None = None) -> Any:
    """Free energy along a :class:`~trajml.fes.paths.MinimumPath` with its ±1σ band.

    Parameters
    ----------
    path : MinimumPath
    ax : matplotlib Axes, optional
    unit : {"kT", "kJ/mol"}
        "kT" needs ``kT_kJmol`` (the model's kT).
    kT_kJmol : float, optional
        kT in kJ/mol, to draw in units of kT.
    """
    if unit == "kT":
        if kT_kJmol is None:
            raise ValueError("plot_path_profile with unit='kT' needs 'kT_kJmol' (the model's kT in kJ/mol).")
        scale = 1.0 / kT_kJmol
    elif unit == "kJ/mol":
        scale = 1.0
    else:
        raise ValueError(f"The 'unit' parameter of plot_path_profile must be 'kT' or 'kJ/mol'. Got {unit!r} instead.")
    fig, ax = _new_axes(ax, (5.0, 3.5))
    s = path.arc_length
    F = (path.free_energy_kJmol - path.free_energy_kJmol[0]) * scale
    S = path.uncertainty_kJmol * scale
    ax.plot(s, F, "-o", markersize=3)
    ax.fill_between(s, F - S, F + S, alpha=0.3, linewidth=0)
    for j in path.maxima_index:
        ax.axvline(s[j], color="k", linewidth=0.5, linestyle=":")
    ax.set_xlabel("arc length (CV units)")
    ax.set_ylabel(f"F − F(start) ({unit})")
    return fig
