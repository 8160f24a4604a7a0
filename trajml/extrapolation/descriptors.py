"""Short-run descriptors for the extrapolation tables (torch-free).

A short run that has not reached the diffusive regime still says how far it is from it: the log-log
slope of the MSD (1 when diffusive, < 1 when sub-diffusive), the apparent diffusion coefficient of
each time window, and the non-Gaussian parameter α₂ (0 for Gaussian displacements). Together with
coordination numbers, residence times and VAMPnet state populations they are the optional
"short-run descriptors" of a table row (feature columns of :class:`ExtrapolationTable`).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["msd_descriptors", "short_run_descriptors"]


def _window_name(lo: float, hi: float) -> str:
    return f"{lo:g}-{hi:g}ps"


def msd_descriptors(msd: Any, windows_ps: Sequence[tuple[float, float]] = ((1.0, 10.0), (10.0, 100.0)),
                    prefix: str = "msd") -> dict[str, float]:
    """Log-log MSD slopes, apparent log10 D and mean α₂ over several lag-time windows.

    Parameters
    ----------
    msd : trajml.transport.msd.MSDResults
        Or any object with ``lag_ps`` (ps), ``msd_A2`` (Å²) and optionally ``alpha2``.
    windows_ps : sequence of (float, float)
        Lag-time windows ``[start, stop]`` in ps; each needs at least two lags with MSD > 0.
    prefix : str
        Start of every descriptor name.

    Returns
    -------
    dict of str to float
        For each window ``W`` (named like ``1-10ps``): ``{prefix}.slope[W]`` — least-squares slope of
        log MSD against log t (dimensionless); ``{prefix}.log10_D[W]`` — log10 of the slope of MSD
        against t divided by 6 (D in Å²/ps); ``{prefix}.alpha2[W]`` — mean α₂ in the window (only
        when the result has α₂).

    Raises
    ------
    ValueError
        A window with fewer than two usable lags, or a non-positive MSD slope.
    """
    lag = np.asarray(msd.lag_ps, dtype=np.float64)
    values = np.asarray(msd.msd_A2, dtype=np.float64)
    alpha2 = getattr(msd, "alpha2", None)
    out: dict[str, float] = {}
    for lo, hi in windows_ps:
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
            raise ValueError(f"The 'windows_ps' parameter of msd_descriptors must hold (start, stop) pairs with "
                             f"0 <= start < stop in ps. Got {(lo, hi)!r} instead.")
        w = (lag >= lo) & (lag <= hi) & (lag > 0) & (values > 0)
        name = _window_name(lo, hi)
        if w.sum() < 2:
            raise ValueError(f"The MSD has {int(w.sum())} usable lag(s) in the window {name}; at least 2 are needed "
                             f"(lags span {lag.min():g}-{lag.max():g} ps).")
        out[f"{prefix}.slope[{name}]"] = float(np.polyfit(np.log(lag[w]), np.log(values[w]), 1)[0])
        slope = float(np.polyfit(lag[w], values[w], 1)[0])
        if slope <= 0:
            raise ValueError(f"The MSD does not grow in the window {name} (slope {slope:g} Å²/ps).")
        out[f"{prefix}.log10_D[{name}]"] = math.log10(slope / 6.0)
        if alpha2 is not None:
            a = np.asarray(alpha2, dtype=np.float64)[w]
            out[f"{prefix}.alpha2[{name}]"] = float(np.nanmean(a)) if np.isfinite(a).any() else math.nan
    return out


def short_run_descriptors(msd: Mapping[str, Any] | None = None, *,
                          windows_ps: Sequence[tuple[float, float]] = ((1.0, 10.0), (10.0, 100.0)),
                          coordination: Mapping[str, float] | None = None,
                          residence_ps: Mapping[str, float] | None = None,
                          populations: Sequence[float] | None = None) -> dict[str, float]:
    """One row of short-run descriptors, named consistently so tables of many runs line up.

    Parameters
    ----------
    msd : mapping of str to MSDResults, optional
        MSD per species, e.g. ``{"Li": msd_li, "anion": msd_tfsi}``; see :func:`msd_descriptors`.
    windows_ps : sequence of (float, float)
        Lag-time windows of the MSD descriptors, ps.
    coordination : mapping of str to float, optional
        Mean coordination numbers, e.g. ``{"Li-O": 4.8}`` → ``cn.Li-O``.
    residence_ps : mapping of str to float, optional
        Residence times in ps, e.g. ``{"Li-O": 120.0}`` → ``log10_tau.Li-O`` (log10 of ps).
    populations : sequence of float, optional
        VAMPnet / MSM state populations, sorted in decreasing order (state labels are arbitrary) →
        ``population.0``, ``population.1``, …

    Returns
    -------
    dict of str to float
    """
    out: dict[str, float] = {}
    for species, res in (msd or {}).items():
        out.update(msd_descriptors(res, windows_ps, prefix=f"msd_{species}"))
    for pair, cn in (coordination or {}).items():
        out[f"cn.{pair}"] = float(cn)
    for pair, tau in (residence_ps or {}).items():
        if not tau > 0:
            raise ValueError(f"The residence time of {pair!r} must be > 0 ps. Got {tau!r} instead.")
        out[f"log10_tau.{pair}"] = math.log10(float(tau))
    if populations is not None:
        for k, p in enumerate(sorted((float(p) for p in populations), reverse=True)):
            out[f"population.{k}"] = p
    return out
