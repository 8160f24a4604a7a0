"""Plain-language checks of a kinetic model: is what it says worth trusting?

Each check reads results the model already has (implied timescales with bootstrap intervals, a
Chapman–Kolmogorov test, per-state shell statistics, neighbour-graph statistics) and returns one
:class:`Diagnostic`: a stable ``code``, whether the check ``passed``, a ``message`` a scientist can
act on, and the ``numbers`` behind it. :func:`diagnose` runs every check that applies.

The checks and what they catch:

``its_not_converged``
    The implied timescales still change over the last lags by more than their bootstrap intervals
    allow (their intervals do not overlap): the model is not yet Markovian at those lags, and any
    timescale read off it depends on the lag chosen.
``its_at_lag``
    A timescale at the model lag is at or below the lag itself (or its interval reaches down to
    it): the process relaxes within one lag, so the model cannot resolve it.
``states_indistinct``
    Two states whose mean shell counts differ, for every shell species, by less than twice their
    combined standard error: they are one state in two names.
``ck_failed``
    The model's predictions T(τ)^k differ from the estimates T(kτ) by more than 3 combined bootstrap
    standard deviations *and* by more than 0.05 in probability (a deviation too small to change a
    conclusion is not reported however well it is resolved).
``graph_truncated``
    More than 5 % of neighbour rows reached ``max_neighbors``: the graphs miss part of the shell.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["Diagnostic", "diagnose", "check_its_convergence", "check_its_at_lag", "check_states_distinct",
           "check_ck", "check_graph_truncation", "warnings_of"]

#: Relative change over the last lags taken as unconverged when there is no bootstrap interval.
RELATIVE_CHANGE = 0.2
#: Standard errors two state means must be apart (in at least one species) to count as distinct.
DISTINCT_Z = 2.0
#: CK deviations: combined bootstrap standard deviations, and absolute probability.
CK_SIGMA = 3.0
CK_ABS = 0.05
#: Share of neighbour rows at max_neighbors beyond which graphs are flagged.
TRUNCATED_SHARE = 0.05


@dataclass(frozen=True)
class Diagnostic:
    """One check of a kinetic model.

    Attributes
    ----------
    code : str
        Stable identifier (``its_not_converged``, ``its_at_lag``, ``states_indistinct``, ``ck_failed``,
        ``graph_truncated``).
    passed : bool
        True when the check found nothing to warn about.
    message : str
        What was found, in plain language, and what to do about it.
    numbers : dict of str to float
        The numbers behind the verdict; keys name their unit (``_ps``) where they have one.
    """

    code: str
    passed: bool
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (NaN as None)."""
        d = asdict(self)
        d["numbers"] = {k: _plain(v) for k, v in self.numbers.items()}
        return d


def _plain(v: Any) -> Any:
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_plain(x) for x in np.asarray(v, dtype=np.float64).ravel()]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = float(v)
    return v if np.isfinite(v) else None


def warnings_of(diagnostics: list[Diagnostic]) -> list[str]:
    """The messages of the checks that did not pass."""
    return [d.message for d in diagnostics if not d.passed]


def check_its_convergence(its: Any, n_last: int = 3) -> Diagnostic:
    """Do the implied timescales still change over the last ``n_last`` lags?

    Compares each process between the first and the last of the last ``n_last`` lags where it is
    finite and longer than the lag: unconverged when their bootstrap intervals do not overlap, or,
    without a bootstrap, when the relative change exceeds 20 %.

    Parameters
    ----------
    its : ImpliedTimescalesResults
        Timescales in ps against the lag.
    n_last : int
        How many of the largest lags are compared.
    """
    lags_ps = np.asarray(its.lags_ps, dtype=np.float64)
    ts = np.asarray(its.timescales_ps, dtype=np.float64)
    have_ci = its.lower is not None and its.upper is not None
    bad, changes = [], []
    for k in range(ts.shape[1]):
        ok = np.flatnonzero(np.isfinite(ts[:, k]) & (ts[:, k] > lags_ps))
        if len(ok) < 2:
            changes.append(float("nan"))
            continue
        i, j = ok[max(0, len(ok) - n_last)], ok[-1]
        rel = (ts[j, k] - ts[i, k]) / ts[i, k]
        changes.append(float(rel))
        if have_ci:
            lo_i, hi_i, lo_j, hi_j = its.lower[i, k], its.upper[i, k], its.lower[j, k], its.upper[j, k]
            apart = bool(np.all(np.isfinite([lo_i, hi_i, lo_j, hi_j])) and (lo_j > hi_i or hi_j < lo_i))
        else:
            apart = abs(rel) > RELATIVE_CHANGE
        if apart:
            bad.append((k, float(lags_ps[i]), float(lags_ps[j]), float(ts[i, k]), float(ts[j, k]), rel))
    numbers: dict[str, Any] = {"relative_change": changes, "bootstrap": have_ci}
    if not bad:
        return Diagnostic("its_not_converged", True, "The implied timescales are converged in the lag: over the "
                          "last lags they change by less than their bootstrap intervals." if have_ci else
                          "The implied timescales change by less than 20 % over the last lags (no bootstrap "
                          "interval to judge by).", numbers)
    parts = "; ".join(f"t{k + 2} goes from {a:.4g} ps to {b:.4g} ps ({100 * r:+.0f} %) between lags {li:g} and "
                      f"{lj:g} ps" for k, li, lj, a, b, r in bad)
    return Diagnostic("its_not_converged", False, f"The implied timescales are not converged in the lag: {parts}"
                      + (", beyond their bootstrap intervals" if have_ci else "") + ". The states are not yet "
                      "Markovian at these lags, so the timescales depend on the lag chosen; use a longer lag, more "
                      "states or better features, and read them as lower bounds.", numbers)


def check_its_at_lag(its: Any, lag: int) -> Diagnostic:
    """Is a timescale at the model lag at or below the lag (or its interval reaching down to it)?"""
    lags = np.asarray(its.lags)
    i = int(np.argmin(np.abs(lags - lag)))
    lag_ps = float(its.lags_ps[i])
    ts = np.asarray(its.timescales_ps[i], dtype=np.float64)
    low = np.asarray(its.lower[i], dtype=np.float64) if its.lower is not None else ts
    reach = np.where(np.isfinite(low), np.minimum(ts, low), ts)
    bad = [k for k in range(len(ts)) if np.isfinite(ts[k]) and reach[k] <= lag_ps]
    numbers = {"lag_ps": lag_ps, "timescales_ps": ts.tolist()}
    if not bad:
        return Diagnostic("its_at_lag", True, f"Every implied timescale at the model lag is longer than the lag "
                          f"({lag_ps:g} ps).", numbers)
    names = ", ".join(f"t{k + 2} = {ts[k]:.4g} ps" for k in bad)
    return Diagnostic("its_at_lag", False, f"At the model lag of {lag_ps:g} ps, {names} "
                      f"{'is' if len(bad) == 1 else 'are'} not longer than the lag (within the bootstrap "
                      "interval): such a process relaxes within one lag and the model cannot resolve it. Read it "
                      "as 'faster than the lag', not as a measured timescale, or use fewer states or a shorter "
                      "lag.", numbers)


def check_states_distinct(interpretation: Any) -> Diagnostic:
    """Do every two states differ in their mean shell counts beyond their uncertainty?

    The standard error of a state's mean counts each target atom once (``std / sqrt(occupation ×
    n_targets)``): the frames of one atom are correlated over the shell-exchange time, the atoms
    are not. Two states are distinct when at least one species' means are more than twice their
    combined standard error apart.

    Parameters
    ----------
    interpretation : StateInterpretationResults
        Per-state shell counts (mean and standard deviation) and occupations.
    """
    mean = np.asarray(interpretation.shell_count_mean, dtype=np.float64)
    std = np.asarray(interpretation.shell_count_std, dtype=np.float64)
    n_eff = np.maximum(np.asarray(interpretation.population, dtype=np.float64) * interpretation.n_targets, 1.0)
    se = std / np.sqrt(n_eff)[:, None]
    species = [str(s) for s in interpretation.species]
    m = len(mean)
    z = np.full((m, m), np.inf)
    pairs = []
    for a in range(m):
        for b in range(a + 1, m):
            d = np.abs(mean[a] - mean[b])
            s = np.sqrt(se[a] ** 2 + se[b] ** 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                zk = np.where(s > 0, d / s, np.where(d > 0, np.inf, 0.0))
            z[a, b] = z[b, a] = float(np.nanmax(zk)) if zk.size else 0.0
            if z[a, b] <= DISTINCT_Z:
                pairs.append((a, b))
    numbers = {"separation_z": [float(z[a, b]) for a in range(m) for b in range(a + 1, m)],
               "shell_count_mean": mean.ravel().tolist()}
    shells = "; ".join(f"state {s}: " + ", ".join(f"{mean[s, k]:.3g} {species[k]}" for k in range(len(species)))
                       for s in range(m))
    if not pairs:
        return Diagnostic("states_indistinct", True, f"The states have distinct shells ({shells} per target).",
                          numbers)
    names = ", ".join(f"{a} and {b}" for a, b in pairs)
    return Diagnostic("states_indistinct", False, f"States {names} have the same shell within uncertainty "
                      f"({shells} per target; differences under {DISTINCT_Z:g} standard errors): they are not "
                      "distinct solvation states. Use fewer states, or the tica model on shell counts.", numbers)


def check_ck(ck: Any) -> Diagnostic:
    """Does the model's T(τ)^k predict the T(kτ) estimated from the data (Chapman–Kolmogorov)?"""
    diff = np.abs(np.asarray(ck.predicted) - np.asarray(ck.estimated))[1:]
    if ck.predicted_std is not None and ck.estimated_std is not None:
        sigma = ck.deviation_sigma[1:]
        bad = (sigma > CK_SIGMA) & (diff > CK_ABS)
        worst_sigma = float(np.nanmax(np.where(np.isfinite(diff), sigma, np.nan))) if diff.size else 0.0
    else:
        bad = diff > CK_ABS
        worst_sigma = float("nan")
    bad &= np.isfinite(diff)
    worst = float(np.nanmax(diff)) if diff.size else 0.0
    numbers = {"max_abs_deviation": worst, "max_deviation_sigma": worst_sigma}
    if not bad.any():
        return Diagnostic("ck_failed", True, f"The Chapman–Kolmogorov test passes: predictions from the model lag "
                          f"match the estimates at its multiples (largest difference {worst:.3f}).", numbers)
    k, i, j = (int(x) for x in np.argwhere(bad)[0])
    lag_ps = float(ck.lags_ps[k + 1])
    pred, est = ck.predicted[k + 1, i, j], ck.estimated[k + 1, i, j]
    return Diagnostic("ck_failed", False, f"The Chapman–Kolmogorov test fails: at {lag_ps:g} ps the model predicts "
                      f"P({i}→{j}) = {pred:.3f} where the data give {est:.3f}"
                      f" (largest difference {worst:.3f}). The model is not Markovian at its lag: its long-time "
                      "kinetics are not to be trusted; use a longer lag or more states.", numbers)


def check_graph_truncation(fraction: float, max_neighbors: int, r_max: float) -> Diagnostic:
    """Do more than 5 % of neighbour rows reach ``max_neighbors`` (graphs missing part of the shell)?

    Parameters
    ----------
    fraction : float
        Share of rows cut at (or filled to) ``max_neighbors``, in [0, 1].
    max_neighbors : int
        Neighbours kept per atom.
    r_max : float
        Graph cut-off in Å.
    """
    numbers = {"fraction_truncated": float(fraction), "max_neighbors": int(max_neighbors), "r_max": float(r_max)}
    if not fraction > TRUNCATED_SHARE:
        return Diagnostic("graph_truncated", True, f"{100 * fraction:.1f} % of neighbour rows reach max_neighbors "
                          f"({max_neighbors}) within {r_max:g} Å.", numbers)
    return Diagnostic("graph_truncated", False, f"{100 * fraction:.1f} % of neighbour rows are cut at max_neighbors "
                      f"({max_neighbors}) within {r_max:g} Å: the graphs keep only the nearest {max_neighbors} "
                      "neighbours and miss the rest of the shell. Raise max_neighbors or lower r_max.", numbers)


def diagnose(*, its: Any = None, lag: int | None = None, ck: Any = None, interpretation: Any = None,
             graph_truncation: tuple[float, int, float] | None = None) -> list[Diagnostic]:
    """Every check that the given results allow, in a fixed order.

    Parameters
    ----------
    its : ImpliedTimescalesResults, optional
        Implied timescales against the lag (convergence; with ``lag``, timescales at the lag).
    lag : int, optional
        Model lag in frames.
    ck : CKTestResults, optional
        Chapman–Kolmogorov test.
    interpretation : StateInterpretationResults, optional
        Per-state shell statistics.
    graph_truncation : (fraction, max_neighbors, r_max), optional
        Share of neighbour rows at max_neighbors, the width and the cut-off in Å.

    Returns
    -------
    list of Diagnostic
    """
    out = []
    if its is not None:
        out.append(check_its_convergence(its))
        if lag is not None:
            out.append(check_its_at_lag(its, lag))
    if interpretation is not None:
        out.append(check_states_distinct(interpretation))
    if ck is not None:
        out.append(check_ck(ck))
    if graph_truncation is not None:
        out.append(check_graph_truncation(*graph_truncation))
    return out
