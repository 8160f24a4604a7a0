"""Residence times, contact lifetimes and Li⁺ hopping between polymer chains.

Definitions
-----------
contact
    Centre ``i`` (e.g. a Li⁺) and ligand ``j`` (a polymer O, or an anion) are in
    contact at frame ``t`` when their minimum-image distance is ``d < cutoff``:
    ``h_ij(t) = 1``, else 0. The default cut-off is the first minimum of the
    centre–ligand g(r), as :class:`~trajml.features.Coordination` chooses it.
continuous TCF
    ``C_c(t) = <h_ij(0) H_ij(t)> / <h_ij(0)>`` where ``H_ij(t) = 1`` only if the
    pair was in contact at *every* saved frame in ``[0, t]``. Its decay time is
    the residence time of a ligand in the centre's shell.
intermittent TCF
    ``C_i(t) = <h_ij(0) h_ij(t)> / <h_ij(0)>``: the pair may part and meet again
    in between. It decays towards the probability that a given pair is in
    contact (about ``<n_contacts> / n_ligands`` when ligands mix freely), is
    never below ``C_c`` and need not reach zero within a trajectory.
averages
    Over every pair of a centre and a ligand and every time origin ``t0`` for which
    ``t0 + t`` is still inside the same trajectory: numerator and denominator are
    summed separately over pairs, origins and trajectories, so
    ``C(t) = sum h(t0) X(t0 + t) / sum h(t0)`` with both sums over
    ``t0 <= T - 1 - t`` (a ratio of sums, exact for a stationary process at every
    lag, with ``C(0) = 1``).
tolerance_frames
    In the continuous definition only, an absence of at most ``tolerance_frames``
    consecutive saved frames, with the pair in contact at the frames just before
    and just after it, is treated as contact (the gap is filled, also in
    ``h(0)``). Gaps at the start or end of a trajectory are never filled.
    ``tolerance_frames=0`` is the strict definition (MDAnalysis calls the same
    idea ``intermittency``).
lifetimes
    Each TCF is fitted with a stretched exponential ``exp(-(t/tau)^beta)``
    (:func:`fit_stretched_exponential`) over lags ``0 < t <= fit_max_lag_ps``
    (default: half the longest trajectory) up to the first lag where ``C(t)``
    drops below ``threshold`` (default 0.01). The reported integral lifetime
    is ``tau_int = tau / beta * Gamma(1 / beta)``; independently, ``integral_ps``
    is the trapezoidal integral of the measured ``C(t)`` from 0 to the first
    lag where ``C(t) < threshold`` (or to the last lag, when it never drops
    that low; ``integral_converged`` then is False).
uncertainties
    ``*_err``: one standard deviation from the fit covariance (unweighted least
    squares, covariance scaled by the residuals; it ignores the correlation of
    neighbouring lags and so is optimistic). ``*_block_err``: the standard error
    of the mean of the same quantity fitted separately on ``error_blocks``
    disjoint blocks of centres (centre ``k`` of ``n`` belongs to block
    ``k * error_blocks // n``).

Li⁺ hopping (ligand atoms on polymer chains)
--------------------------------------------
For each centre and frame, the chains in contact are the molecules owning its
ligand atoms in contact. The **dominant chain** is the chain with most ligand
atoms in contact; on a tie the previous frame's dominant chain is kept when it
is among the tied chains, otherwise the lowest chain id wins. A frame without
any ligand contact keeps the previous dominant chain (the ion is still
"assigned" to it; before its first contact a centre has none).

* An **inter-chain hop** is a frame where the dominant chain differs from the
  previous frame's (which must exist).
* An **intra-chain rearrangement** is a frame where the dominant chain is the
  same as in the previous frame, both frames have ligand contacts, and the set
  of ligand atoms in contact differs.
* Rates are events per centre per ns of analysed time,
  ``n_events / (n_centers * sum_traj (T_traj - 1) * dt)``.
* A **chain residence** is a maximal stretch of frames with the same dominant
  chain; its duration is ``(b - a) * dt`` for a residence that starts at frame
  ``a`` and ends when the next one starts at frame ``b``. Residences that start
  with a hop and end with a hop are complete (``chain_residence_ps``); those
  cut by the start of the trajectory (the first assignment) or its end are
  censored (``chain_residence_censored_ps``, lower bounds).

Memory and parallelism
----------------------
Time correlations need whole time series, so the work is partitioned over
**centres**: each task takes a block of ``centers_per_task`` centres and streams
every frame of every trajectory in chunks of ``chunk_size`` frames, keeping
only the sparse contact list: one int64 key ``pair * T + frame`` per contact.
A task therefore holds about ``24 * B * T * m`` bytes (keys, a sort buffer and
derived run arrays) for ``B`` centres, ``T`` frames of one trajectory and ``m``
mean contacts per centre, plus ``O(error_blocks * T)`` accumulators, an FFT
batch of at most ``2**22`` float64 values (32 MiB) for the intermittent TCF
and, with hop statistics, about ``64 * B * T`` bytes of per-(centre, frame)
arrays; never anything dense in (all pairs × all frames). Smaller
``centers_per_task`` lowers the bound; each task reads every frame of the
centres and ligands it needs. Partial results are integer
sums merged exactly, so any partition and any scheduler give identical numbers.
"""

from __future__ import annotations

import copy
import functools
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from trajml.chunk import ChunkSpec
from trajml.errors import MissingBoxError
from trajml.features._selection import (
    add_padded,
    check_cutoff_fits,
    check_device,
    check_float,
    check_int,
    check_source_boxes,
    molecule_ids,
    resolve_atoms,
    union_positions,
)
from trajml.results import Results

__all__ = [
    "ResidenceTime",
    "ResidenceResults",
    "LifetimeFit",
    "residence_times",
    "ion_pair_lifetimes",
    "fit_stretched_exponential",
    "tcf_from_series",
]

#: Fewest frames per trajectory the analysis accepts (three lags > 0 to fit two parameters).
MIN_FRAMES = 4

#: Largest dense FFT batch (pairs × FFT length) of the intermittent TCF, in float64 values.
_FFT_BUDGET = 1 << 22


# ----------------------------------------------------------------------------------------------
# Fitting
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# Sparse contact series -> correlation sums (the arithmetic; no files)
# ----------------------------------------------------------------------------------------------
def _runs(keys: np.ndarray, n_frames: int, tolerance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contact intervals of sorted ``pair * T + frame`` keys, gaps of <= ``tolerance`` frames filled.

    Returns
    -------
    pair, start, length : ndarray, shape (R,), int64
        Pair code, first frame and length in frames of every interval.
    """
    pair, frame = np.divmod(keys, n_frames)
    if keys.size == 0:
        return pair, frame, frame.copy()
    new = np.ones(keys.size, dtype=bool)
    new[1:] = (pair[1:] != pair[:-1]) | (frame[1:] - frame[:-1] > 1 + tolerance)
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, keys.size - 1)
    return pair[first], frame[first], frame[last] - frame[first] + 1


def _origin_sums(counts: np.ndarray) -> np.ndarray:
    """``D[:, k] = sum_{t <= T-1-k} counts[:, t]``: contacts at origins that have a lag-k partner."""
    return np.cumsum(counts, axis=1)[:, ::-1].copy()


def _continuous_sums(group: np.ndarray, start: np.ndarray, length: np.ndarray, n_groups: int,
                     n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of C_c per group from contact intervals.

    An interval of L frames holds ``max(L - k, 0)`` origins that stay in contact for k more frames.

    Returns
    -------
    num, den : ndarray, shape (n_groups, n_frames), int64
    """
    width = n_frames + 1
    hist = np.bincount(group * width + length, minlength=n_groups * width).reshape(n_groups, width)
    lengths = np.arange(width, dtype=np.int64)
    # S0[k] = #intervals with L > k, S1[k] = sum of their L; num[k] = S1[k] - k * S0[k].
    s0 = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]
    s1 = np.cumsum((hist * lengths)[:, ::-1], axis=1)[:, ::-1]
    k = lengths[:n_frames]
    num = s1[:, 1:] - k * s0[:, 1:]
    # Frames covered by (filled) intervals, per group and frame, from a difference array.
    diff = np.bincount(group * width + start, minlength=n_groups * width)
    diff -= np.bincount(group * width + start + length, minlength=n_groups * width)
    covered = np.cumsum(diff.reshape(n_groups, width), axis=1)[:, :n_frames]
    return num.astype(np.int64), _origin_sums(covered).astype(np.int64)


def _intermittent_sums(keys: np.ndarray, group_of_pair: Any, n_groups: int,
                       n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of C_i per group: FFT autocorrelation of each pair's 0/1 series.

    Pairs are transformed in batches of at most ``_FFT_BUDGET`` values; products are exact
    integers after rounding (float64 error stays far below 0.5 for any realistic T).

    Returns
    -------
    num, den : ndarray, shape (n_groups, n_frames), int64
    """
    num = np.zeros((n_groups, n_frames), dtype=np.int64)
    pair, frame = np.divmod(keys, n_frames)
    counts = np.bincount(group_of_pair(pair) * n_frames + frame, minlength=n_groups * n_frames)
    den = _origin_sums(counts.reshape(n_groups, n_frames).astype(np.int64))
    if keys.size == 0:
        return num, den
    first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    bounds = np.append(first, keys.size)
    pairs = pair[first]
    nfft = 1 << int(math.ceil(math.log2(max(2 * n_frames - 1, 2))))
    batch = max(1, _FFT_BUDGET // nfft)
    for lo in range(0, pairs.size, batch):
        hi = min(lo + batch, pairs.size)
        dense = np.zeros((hi - lo, nfft), dtype=np.float64)
        rows = np.repeat(np.arange(hi - lo), np.diff(bounds[lo:hi + 1]))
        dense[rows, frame[bounds[lo]:bounds[hi]]] = 1.0
        spec = np.fft.rfft(dense, axis=1)
        acf = np.rint(np.fft.irfft(spec.real**2 + spec.imag**2, n=nfft, axis=1)[:, :n_frames])
        onehot = np.zeros((n_groups, hi - lo))
        onehot[group_of_pair(pairs[lo:hi]), np.arange(hi - lo)] = 1.0
        num += np.rint(onehot @ acf).astype(np.int64)
    return num, den


def tcf_from_series(h: np.ndarray, *, tolerance_frames: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Continuous and intermittent TCFs of dense 0/1 contact series (the library's own arithmetic).

    Parameters
    ----------
    h : ndarray, shape (P, T), bool or int
        Contact indicator of P pairs at T frames (dimensionless).
    tolerance_frames : int
        Gaps of at most this many frames between contacts count as contact in the continuous TCF.

    Returns
    -------
    continuous, intermittent : ndarray, shape (T,), float64
        ``C_c(k)`` and ``C_i(k)`` at lags of k frames, averaged over pairs and origins
        (NaN where no origin has a contact).

    Examples
    --------
    >>> import numpy as np
    >>> cc, ci = tcf_from_series(np.array([[1, 1, 0, 1]]))
    >>> cc.tolist(), ci.tolist()
    ([1.0, 0.5, 0.0, 0.0], [1.0, 0.5, 0.5, 1.0])
    """
    tol = check_int(tolerance_frames, "tolerance_frames", "tcf_from_series", minimum=0)
    h = np.asarray(h)
    if h.ndim != 2 or h.shape[1] < 1:
        raise ValueError(f"The 'h' parameter of tcf_from_series must have shape (P, T) with T >= 1. Got {h.shape}.")
    n_frames = h.shape[1]
    p, f = np.nonzero(h)
    keys = p.astype(np.int64) * n_frames + f
    zeros = functools.partial(np.zeros_like, dtype=np.int64)
    pair, start, length = _runs(keys, n_frames, tol)
    num_c, den_c = _continuous_sums(zeros(pair), start, length, 1, n_frames)
    num_i, den_i = _intermittent_sums(keys, zeros, 1, n_frames)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num_c[0] / den_c[0], num_i[0] / den_i[0]


# ----------------------------------------------------------------------------------------------
# Hopping between chains
# ----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _dominant_kernel() -> Any:
    import numba

    @numba.njit(nogil=True, cache=True)
    def dominant(offsets, chains, counts, n_centers, n_frames, out):  # pragma: no cover - compiled
        for c in range(n_centers):
            prev = -1
            for f in range(n_frames):
                r = c * n_frames + f
                lo, hi = offsets[r], offsets[r + 1]
                if hi > lo:
                    best, best_count, prev_count = -1, -1, -1
                    for k in range(lo, hi):
                        if counts[k] > best_count:
                            best_count = counts[k]
                            best = chains[k]
                        if chains[k] == prev:
                            prev_count = counts[k]
                    if prev_count == best_count:
                        best = prev
                    prev = best
                out[r] = prev

    return dominant


def _hop_statistics(keys: np.ndarray, n_frames: int, n_centers: int, n_ligands: int,
                    chain_of_ligand: np.ndarray, n_chains: int) -> dict[str, np.ndarray]:
    """Hops, rearrangements and chain residences of a block of centres over one trajectory.

    Returns
    -------
    dict
        ``hops``, ``rearrangements``, ``unbound`` : (n_centers,) int64 per centre;
        ``complete``, ``censored`` : residence durations in frames, int64.
    """
    rows_total = n_centers * n_frames
    pair, frame = np.divmod(keys, n_frames)
    center, ligand = np.divmod(pair, n_ligands)
    row = center * n_frames + frame
    # Ligand atoms per (centre, frame, chain), sorted by row then chain.
    k3, cnt = np.unique(row * n_chains + chain_of_ligand[ligand], return_counts=True)
    row3, chain3 = np.divmod(k3, n_chains)
    offsets = np.searchsorted(row3, np.arange(rows_total + 1)).astype(np.int64)
    dom = np.empty(rows_total, dtype=np.int64)
    _dominant_kernel()(offsets, chain3.astype(np.int64), cnt.astype(np.int64), n_centers, n_frames, dom)
    dom = dom.reshape(n_centers, n_frames)
    n_contacts = np.bincount(row, minlength=rows_total).reshape(n_centers, n_frames)
    # Contacts also present in the previous frame (key - 1 exists, same pair, frame > 0).
    prev = np.searchsorted(keys, keys - 1)
    kept = (frame > 0) & (prev < keys.size) & (keys[np.minimum(prev, keys.size - 1)] == keys - 1)
    n_kept = np.bincount(row[kept], minlength=rows_total).reshape(n_centers, n_frames)
    same_set = (n_contacts[:, 1:] == n_contacts[:, :-1]) & (n_kept[:, 1:] == n_contacts[:, 1:])
    hop = (dom[:, 1:] != dom[:, :-1]) & (dom[:, :-1] >= 0)
    rearr = ((dom[:, 1:] == dom[:, :-1]) & (dom[:, 1:] >= 0) & (n_contacts[:, 1:] > 0)
             & (n_contacts[:, :-1] > 0) & ~same_set)
    # Residences: maximal stretches of one dominant chain (>= 0).
    starts = np.zeros((n_centers, n_frames), dtype=bool)
    starts[:, 0] = dom[:, 0] >= 0
    starts[:, 1:] = (dom[:, 1:] >= 0) & (dom[:, 1:] != dom[:, :-1])
    by_hop = np.zeros_like(starts)
    by_hop[:, 1:] = hop
    c_idx, f_idx = np.nonzero(starts)
    hop_start = by_hop[c_idx, f_idx]
    nxt_same = np.r_[c_idx[1:] == c_idx[:-1], False]
    end = np.where(nxt_same, np.r_[f_idx[1:], 0], n_frames)
    duration = end - f_idx
    complete = hop_start & nxt_same
    return {"hops": hop.sum(axis=1).astype(np.int64), "rearrangements": rearr.sum(axis=1).astype(np.int64),
            "unbound": (n_contacts == 0).sum(axis=1).astype(np.int64),
            "complete": duration[complete].astype(np.int64), "censored": duration[~complete].astype(np.int64)}


# ----------------------------------------------------------------------------------------------
# Per-task state
# ----------------------------------------------------------------------------------------------
@dataclass
class ResidenceState:
    """Exact, additive statistics of one or more blocks of centres.

    Attributes
    ----------
    cont_num, cont_den, int_num, int_den : ndarray, shape (G, K), int64
        Numerators and denominators of the continuous and intermittent TCFs per error block,
        at lags 0..K-1 frames (summed over trajectories).
    contacts_per_frame : list of ndarray, shape (T_t,), int64
        Contacts of every trajectory's frames (summed over centres).
    times : list of ndarray, shape (T_t,), float64
        Times in ps of every trajectory's analysed frames.
    hops, rearrangements, unbound : ndarray, shape (C,), int64
        Per centre (in the order of the centre selection, for the blocks merged so far).
    complete, censored : list of ndarray of int64
        Chain residence durations in frames.
    """

    cont_num: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    cont_den: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    int_num: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    int_den: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    contacts_per_frame: list[np.ndarray] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)
    hops: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rearrangements: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unbound: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    complete: list[np.ndarray] = field(default_factory=list)
    censored: list[np.ndarray] = field(default_factory=list)


def _merge(a: ResidenceState, b: ResidenceState) -> ResidenceState:
    """Combine the states of consecutive blocks of centres (exact integer sums)."""
    if not a.contacts_per_frame:
        cpf, times = b.contacts_per_frame, b.times
    elif not b.contacts_per_frame:
        cpf, times = a.contacts_per_frame, a.times
    else:
        cpf, times = [x + y for x, y in zip(a.contacts_per_frame, b.contacts_per_frame)], a.times
    return ResidenceState(
        cont_num=add_padded(a.cont_num, b.cont_num), cont_den=add_padded(a.cont_den, b.cont_den),
        int_num=add_padded(a.int_num, b.int_num), int_den=add_padded(a.int_den, b.int_den),
        contacts_per_frame=cpf, times=times,
        hops=np.concatenate([a.hops, b.hops]), rearrangements=np.concatenate([a.rearrangements, b.rearrangements]),
        unbound=np.concatenate([a.unbound, b.unbound]), complete=a.complete + b.complete,
        censored=a.censored + b.censored,
    )


def _block_task(bound: "ResidenceTime", source: Any, specs: tuple[tuple[ChunkSpec, ...], ...],
                block: tuple[int, int]) -> ResidenceState:
    """All frames of every trajectory for centres ``block[0]:block[1]`` (runs on a worker)."""
    return bound._compute_block(source, specs, block)


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, kw_only=True)
class ResidenceResults(Results):
    """What :class:`ResidenceTime` computes (definitions in :mod:`trajml.transport.residence`).

    Attributes
    ----------
    lag_ps : ndarray, shape (K,), float64
        Lags in ps (``k * dt`` for k = 0..K-1, K the longest trajectory's frames).
    continuous, intermittent : ndarray, shape (K,), float64
        ``C_c(t)`` and ``C_i(t)`` (dimensionless; NaN where no origin has a contact).
    continuous_err, intermittent_err : ndarray, shape (K,), float64
        Standard errors of the mean over the error blocks of centres (dimensionless).
    tau_ps, tau_ps_err, tau_ps_block_err : float
        Stretched-exponential time constant of ``C_c`` in ps, with its fit and block errors.
    beta, beta_err, beta_block_err : float
        Stretching exponent of ``C_c`` (dimensionless) and its errors.
    tau_int_ps, tau_int_ps_err, tau_int_ps_block_err : float
        Residence time ``tau / beta * Gamma(1/beta)`` of ``C_c`` in ps and its errors.
    integral_ps, integral_ps_block_err : float
        Direct trapezoidal integral of ``C_c`` up to ``integral_cut_ps`` (ps) and its block error.
    integral_cut_ps : float
        First lag with ``C_c < threshold`` (or the last lag), in ps.
    integral_converged : bool
        Whether ``C_c`` dropped below ``threshold``.
    intermittent_tau_ps, intermittent_tau_ps_err, intermittent_tau_ps_block_err : float
        The same fit of ``C_i`` (ps).
    intermittent_beta, intermittent_beta_err, intermittent_beta_block_err : float
        Its stretching exponent (dimensionless).
    intermittent_tau_int_ps, intermittent_tau_int_ps_err, intermittent_tau_int_ps_block_err : float
        Its integral lifetime (ps).
    intermittent_integral_ps, intermittent_integral_cut_ps : float
        Direct integral of ``C_i`` and its upper limit (ps).
    intermittent_integral_converged : bool
        Whether ``C_i`` dropped below ``threshold``.
    threshold : float
        Where fits and direct integrals stop (dimensionless).
    fit_max_lag_ps : float
        Largest lag the fits use, in ps.
    cutoff : float
        Contact cut-off in Å.
    cutoff_source : str
        "given" or "first minimum of g(r)".
    tolerance_frames : int
        Gap tolerance of the continuous TCF, in frames.
    dt_ps : float
        Time between analysed frames in ps.
    n_frames, n_trajectories, n_centers, n_ligands, error_blocks : int
        Frames analysed (all trajectories), trajectories, atoms per selection, error blocks.
    mean_contacts : float
        Mean number of ligands in contact with a centre (dimensionless).
    contacts_per_frame : ndarray, shape (n_frames,), int64
        Contacts (pairs) in every analysed frame, trajectories one after the other.
    centers : ndarray, shape (n_centers,), int64
        Topology indices of the centres.
    hopping : bool
        Whether hop statistics were computed (ligand atoms on multi-atom molecules).
    n_chains : int or None
        Molecules owning ligand atoms.
    n_hops, n_rearrangements : int or None
        Inter-chain hops and intra-chain rearrangements, all centres.
    hop_rate_per_ns, rearrangement_rate_per_ns : float or None
        Events per centre per ns (unit ns⁻¹).
    hops_per_center : ndarray, shape (n_centers,), int64, or None
        Hops of each centre.
    unbound_fraction : float or None
        Fraction of (centre, frame) samples without any ligand contact.
    chain_residence_ps : ndarray, shape (M,), float64, or None
        Complete chain residences (started and ended by a hop), sorted, in ps.
    chain_residence_censored_ps : ndarray, shape (M',), float64, or None
        Residences cut by a trajectory end (lower bounds), sorted, in ps.
    chain_residence_mean_ps : float or None
        Mean complete chain residence in ps (NaN when there is none).
    """

    _TABLE: ClassVar[tuple[str, ...]] = ("lag_ps", "continuous", "continuous_err", "intermittent",
                                         "intermittent_err")
    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "lag_ps": ("lag_ps",), "continuous": ("lag_ps",), "intermittent": ("lag_ps",),
        "continuous_err": ("lag_ps",), "intermittent_err": ("lag_ps",),
        "contacts_per_frame": ("frame",), "centers": ("centers",), "hops_per_center": ("centers",),
        "chain_residence_ps": ("residence",), "chain_residence_censored_ps": ("censored_residence",),
    }

    lag_ps: np.ndarray
    continuous: np.ndarray
    intermittent: np.ndarray
    continuous_err: np.ndarray
    intermittent_err: np.ndarray
    tau_ps: float
    tau_ps_err: float
    tau_ps_block_err: float
    beta: float
    beta_err: float
    beta_block_err: float
    tau_int_ps: float
    tau_int_ps_err: float
    tau_int_ps_block_err: float
    integral_ps: float
    integral_ps_block_err: float
    integral_cut_ps: float
    integral_converged: bool
    intermittent_tau_ps: float
    intermittent_tau_ps_err: float
    intermittent_tau_ps_block_err: float
    intermittent_beta: float
    intermittent_beta_err: float
    intermittent_beta_block_err: float
    intermittent_tau_int_ps: float
    intermittent_tau_int_ps_err: float
    intermittent_tau_int_ps_block_err: float
    intermittent_integral_ps: float
    intermittent_integral_cut_ps: float
    intermittent_integral_converged: bool
    threshold: float
    fit_max_lag_ps: float
    cutoff: float
    cutoff_source: str
    tolerance_frames: int
    dt_ps: float
    n_frames: int
    n_trajectories: int
    n_centers: int
    n_ligands: int
    error_blocks: int
    mean_contacts: float
    contacts_per_frame: np.ndarray
    centers: np.ndarray
    hopping: bool
    n_chains: int | None = None
    n_hops: int | None = None
    n_rearrangements: int | None = None
    hop_rate_per_ns: float | None = None
    rearrangement_rate_per_ns: float | None = None
    hops_per_center: np.ndarray | None = None
    unbound_fraction: float | None = None
    chain_residence_ps: np.ndarray | None = None
    chain_residence_censored_ps: np.ndarray | None = None
    chain_residence_mean_ps: float | None = None


_PS = ("lag_ps", "tau_ps", "tau_ps_err", "tau_ps_block_err", "tau_int_ps", "tau_int_ps_err", "tau_int_ps_block_err",
       "integral_ps", "integral_ps_block_err", "integral_cut_ps", "fit_max_lag_ps", "dt_ps",
       "chain_residence_ps", "chain_residence_censored_ps", "chain_residence_mean_ps")
_PLAIN = ("continuous", "intermittent", "continuous_err", "intermittent_err", "beta", "beta_err", "beta_block_err",
          "integral_converged", "threshold", "tolerance_frames", "n_frames", "n_trajectories", "n_centers",
          "n_ligands", "error_blocks", "mean_contacts", "contacts_per_frame", "centers", "hopping", "n_chains",
          "n_hops", "n_rearrangements", "hops_per_center", "unbound_fraction")
UNITS: dict[str, str] = {
    **{k: "ps" for k in _PS}, **{k: "" for k in _PLAIN},
    **{"intermittent_" + k: "ps" for k in ("tau_ps", "tau_ps_err", "tau_ps_block_err", "tau_int_ps",
                                           "tau_int_ps_err", "tau_int_ps_block_err", "integral_ps",
                                           "integral_cut_ps")},
    **{"intermittent_" + k: "" for k in ("beta", "beta_err", "beta_block_err", "integral_converged")},
    "cutoff": "Å", "hop_rate_per_ns": "1/ns", "rearrangement_rate_per_ns": "1/ns",
}


# ----------------------------------------------------------------------------------------------
# The analysis
# ----------------------------------------------------------------------------------------------
_RUN_KEYS = ("start", "stop", "step", "chunk_size", "centers_per_task", "scheduler", "n_workers", "progress")


class ResidenceTime:
    """Contact time-correlation functions, lifetimes and (for polymer ligands) Li⁺ hopping.

    Partitioned over centres (see the module documentation for definitions,
    memory bound and uncertainties): call :meth:`run`.

    Parameters
    ----------
    center : str or array_like of int
        Centre atoms, e.g. ``"name Li"`` (selection string or topology indices).
    ligand : str or array_like of int
        Ligand atoms, e.g. ``"name O"`` (polymer O) or ``"name TFSI"`` (anions).
    cutoff : float, optional
        Contact cut-off in Å (``d < cutoff``). Default: the first minimum of the
        centre–ligand g(r) from a first pass over at most ``cutoff_frames`` frames.
    tolerance_frames : int
        Gaps of at most this many frames are ignored by the continuous TCF (default 0).
    threshold : float
        Fits and direct integrals stop where C(t) first drops below it (default 0.01).
    fit_max_lag_ps : float, optional
        Largest lag the fits use, in ps (default: half the longest trajectory).
    error_blocks : int
        Disjoint blocks of centres for block errors (default 5; capped at the number of centres).
    hopping : bool, optional
        Compute hop statistics. Default: when some molecule owns two or more ligand atoms.
    r_max : float
        Range of the first-pass g(r) in Å (default 12).
    n_bins : int
        Bins of the first-pass g(r) (default 240).
    cutoff_frames : int
        Frame budget of the first pass (default 200).
    smoothing : float
        Moving-average width in Å used to find the first minimum (default 0.5 Å).
    device : {"cpu", "cuda"}
        Where the neighbour search runs.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> res = ResidenceTime("name Li", "name TFSI", cutoff=7.0).run(src, stop=60, progress=False)
    >>> float(res.continuous[0]), res.lag_ps.shape
    (1.0, (60,))
    """

    needs_box = True

    def __init__(self, center: Any = "name Li", ligand: Any = "name O", *, cutoff: float | None = None,
                 tolerance_frames: int = 0, threshold: float = 0.01, fit_max_lag_ps: float | None = None,
                 error_blocks: int = 5, hopping: bool | None = None, r_max: float = 12.0, n_bins: int = 240,
                 cutoff_frames: int = 200, smoothing: float = 0.5, device: str = "cpu") -> None:
        owner = "ResidenceTime"
        self.center = center
        self.ligand = ligand
        self.cutoff = check_float(cutoff, "cutoff", owner, allow_none=True)
        self.tolerance_frames = check_int(tolerance_frames, "tolerance_frames", owner, minimum=0)
        self.threshold = check_float(threshold, "threshold", owner, high=1.0, unit="")
        self.fit_max_lag_ps = check_float(fit_max_lag_ps, "fit_max_lag_ps", owner, unit="ps", allow_none=True)
        self.error_blocks = check_int(error_blocks, "error_blocks", owner)
        if hopping is not None and not isinstance(hopping, (bool, np.bool_)):
            raise ValueError(f"The 'hopping' parameter of {owner} must be None or a bool. Got {hopping!r} instead.")
        self.hopping = None if hopping is None else bool(hopping)
        self.r_max = check_float(r_max, "r_max", owner)
        self.n_bins = check_int(n_bins, "n_bins", owner)
        self.cutoff_frames = check_int(cutoff_frames, "cutoff_frames", owner)
        self.smoothing = check_float(smoothing, "smoothing", owner, low_closed=True)
        self.device = check_device(device, owner)

    # -- driver side ----------------------------------------------------------------------------
    def bind(self, source: Any) -> "ResidenceTime":
        """Resolve selections, chains and the cut-off (first pass if needed); return a bound copy."""
        from trajml.features.coordination import cutoff_from_rdf

        owner = "ResidenceTime"
        b = copy.copy(self)
        b._c = resolve_atoms(source, self.center, "center", owner)
        b._l = resolve_atoms(source, self.ligand, "ligand", owner)
        mol = molecule_ids(source)[b._l]
        chains, b._chain_of_ligand = np.unique(mol, return_inverse=True)
        b._chain_of_ligand = b._chain_of_ligand.astype(np.int64)
        b._n_chains = int(chains.size)
        per_chain = np.bincount(b._chain_of_ligand)
        b._hopping = bool(per_chain.max() >= 2) if self.hopping is None else self.hopping
        b._groups = min(self.error_blocks, len(b._c))
        b._group_of_center = (np.arange(len(b._c), dtype=np.int64) * b._groups) // len(b._c)
        if self.cutoff is None:
            b._cutoff, _ = cutoff_from_rdf(owner, "cutoff", self.center, self.ligand, source, r_max=self.r_max,
                                           n_bins=self.n_bins, smoothing=self.smoothing,
                                           max_frames=self.cutoff_frames, device=self.device)
            b._cutoff = float(b._cutoff)
        else:
            b._cutoff = self.cutoff
            check_source_boxes(source, self.cutoff, "cutoff", owner)
        return b

    def run(self, source: Any, *, start: int = 0, stop: int | None = None, step: int = 1, chunk_size: int = 100,
            centers_per_task: int | None = None, scheduler: Any = "serial", n_workers: int | None = None,
            progress: bool = True) -> ResidenceResults:
        """Compute the TCFs, lifetimes and hop statistics over ``source``.

        Parameters
        ----------
        source : trajml.io.Source
            Trajectories (each is a separate time series; none is joined to another).
        start, stop, step : int
            Frame slice of every trajectory; lags are multiples of ``step`` frames.
        chunk_size : int
            Frames read at once by a task (default 100).
        centers_per_task : int, optional
            Centres per task (default: all centres in one task with ``scheduler="serial"``,
            else about two tasks per worker). Bounds a task's memory (module documentation).
        scheduler : str or dask.distributed.Client
            As :func:`trajml.parallel.run`; results are identical on every scheduler.
        n_workers : int, optional
            Workers of the local schedulers.
        progress : bool
            Show a progress bar over tasks.

        Returns
        -------
        ResidenceResults

        Raises
        ------
        ValueError
            A trajectory with fewer than :data:`MIN_FRAMES` frames in ``start:stop:step``; a
            cut-off beyond half the box; frames not evenly spaced in time.
        """
        import os

        from trajml.parallel import imap_ordered, scheduler_name

        owner = "ResidenceTime"
        specs = source.partition(check_int(chunk_size, "chunk_size", owner), start, stop, step)
        per_traj: list[list[ChunkSpec]] = [[] for _ in range(source.n_trajectories)]
        for s in specs:
            per_traj[s.traj_id].append(s)
        for t, ss in enumerate(per_traj):
            n = sum(len(s) for s in ss)
            if n < MIN_FRAMES:
                raise ValueError(
                    f"{owner} needs at least {MIN_FRAMES} frames per trajectory to fit C(t); trajectory {t} has "
                    f"{n} frames in start:stop:step = {start}:{stop}:{step} ({source.n_frames_of(t)} in the file)."
                )
        bound = self.bind(source)
        n_c = len(bound._c)
        if centers_per_task is None:
            workers = 1 if scheduler == "serial" else (n_workers or os.cpu_count() or 1)
            centers_per_task = -(-n_c // (1 if workers == 1 else 2 * workers))
        per_task = check_int(centers_per_task, "centers_per_task", owner)
        blocks = [(lo, min(lo + per_task, n_c)) for lo in range(0, n_c, per_task)]
        task = functools.partial(_block_task, bound, source, tuple(tuple(ss) for ss in per_traj))
        t0 = time.perf_counter()
        state = ResidenceState()
        for part in imap_ordered(task, blocks, scheduler=scheduler, n_workers=n_workers, progress=progress,
                                 desc=owner):
            state = _merge(state, part)
        from trajml import __version__

        provenance = {
            "trajml_version": __version__, "analysis": owner,
            "parameters": {k: v for k, v in vars(self).items() if not k.startswith("_")},
            "files": [[m.topology, *m.parts] for m in source.members], "backend": source.backend,
            "chunk_size": chunk_size, "frames": {"start": start, "stop": stop, "step": step},
            "centers_per_task": per_task, "n_tasks": len(blocks), "scheduler": scheduler_name(scheduler),
            "wall_s": time.perf_counter() - t0,
        }
        return bound._finalize(state, provenance)

    # -- worker side ----------------------------------------------------------------------------
    def _compute_block(self, source: Any, specs: tuple[tuple[ChunkSpec, ...], ...],
                       block: tuple[int, int]) -> ResidenceState:
        from trajml.kernels.counts import radius_neighbors

        owner = "ResidenceTime"
        lo, hi = block
        centers = self._c[lo:hi]
        n_b, n_l = len(centers), len(self._l)
        atoms, (pos_c, pos_l) = union_positions(centers, self._l)
        groups = self._group_of_center[lo:hi]
        g_of_pair = lambda p: groups[p // n_l]  # noqa: E731 - local, never pickled
        state = ResidenceState(hops=np.zeros(n_b, np.int64), rearrangements=np.zeros(n_b, np.int64),
                               unbound=np.zeros(n_b, np.int64))
        for traj_specs in specs:
            n_frames = sum(len(s) for s in traj_specs)
            keys, times, done = [], [], 0
            for spec in traj_specs:
                chunk = source.read(spec, atoms)
                if chunk.boxes is None:
                    raise MissingBoxError(f"{owner} needs periodic boxes, but trajectory {spec.traj_id} has no box "
                                          f"at frame {spec.start}.")
                check_cutoff_fits(chunk.boxes, self._cutoff, "cutoff", owner, traj_id=spec.traj_id,
                                  frames=chunk.frames)
                offsets, nbrs, _ = radius_neighbors(
                    np.ascontiguousarray(chunk.positions[:, pos_c]), np.ascontiguousarray(chunk.positions[:, pos_l]),
                    chunk.boxes, self._cutoff, centers, self._l, device=self.device)
                rows = np.repeat(np.arange(chunk.n_frames * n_b, dtype=np.int64), np.diff(offsets))
                f_local, c_local = np.divmod(rows, n_b)
                keys.append((c_local * n_l + nbrs) * n_frames + (f_local + done))
                times.append(chunk.times.astype(np.float64))
                done += chunk.n_frames
            key = np.sort(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
            pair, start, length = _runs(key, n_frames, self.tolerance_frames)
            cn, cd = _continuous_sums(g_of_pair(pair), start, length, self._groups, n_frames)
            inum, iden = _intermittent_sums(key, g_of_pair, self._groups, n_frames)
            state.cont_num, state.cont_den = add_padded(state.cont_num, cn), add_padded(state.cont_den, cd)
            state.int_num, state.int_den = add_padded(state.int_num, inum), add_padded(state.int_den, iden)
            state.contacts_per_frame.append(np.bincount(key % n_frames, minlength=n_frames).astype(np.int64))
            state.times.append(np.concatenate(times))
            if self._hopping:
                h = _hop_statistics(key, n_frames, n_b, n_l, self._chain_of_ligand, self._n_chains)
                state.hops += h["hops"]
                state.rearrangements += h["rearrangements"]
                state.unbound += h["unbound"]
                state.complete.append(h["complete"])
                state.censored.append(h["censored"])
        return state

    # -- finalize -------------------------------------------------------------------------------
    def _dt(self, times: list[np.ndarray]) -> float:
        dts = []
        for t, tt in enumerate(times):
            d = np.diff(tt)
            dt = float(np.median(d))
            if not dt > 0 or np.max(np.abs(d - dt)) > 1e-3 * dt + 1e-4:
                raise ValueError(f"ResidenceTime needs evenly spaced frames; trajectory {t} has time steps from "
                                 f"{d.min():g} to {d.max():g} ps.")
            dts.append(dt)
        if max(dts) - min(dts) > 1e-3 * max(dts):
            raise ValueError(f"ResidenceTime needs one time step for every trajectory; got {sorted(set(dts))} ps.")
        return dts[0]

    def _finalize(self, state: ResidenceState, provenance: dict[str, Any]) -> ResidenceResults:
        dt = self._dt(state.times)
        n_lags = state.cont_num.shape[1]
        lag = np.arange(n_lags, dtype=np.float64) * dt
        fit_max = self.fit_max_lag_ps if self.fit_max_lag_ps is not None else 0.5 * (n_lags - 1) * dt
        with np.errstate(invalid="ignore", divide="ignore"):
            cc = state.cont_num.sum(0) / state.cont_den.sum(0)
            ci = state.int_num.sum(0) / state.int_den.sum(0)
            cc_g = state.cont_num / state.cont_den
            ci_g = state.int_num / state.int_den

        def sem(values: np.ndarray) -> Any:
            ok = np.isfinite(values)
            n = ok.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                sd = np.nanstd(np.where(ok, values, np.nan), axis=0, ddof=1)
            return np.where(n >= 2, sd / np.sqrt(np.maximum(n, 1)), np.nan)

        def fit(c: np.ndarray, label: str, quiet: bool = False) -> LifetimeFit:
            try:
                return fit_stretched_exponential(lag, c, threshold=self.threshold, max_lag_ps=fit_max)
            except ValueError as exc:
                if not quiet:
                    warnings.warn(f"ResidenceTime: no lifetime for the {label} TCF: {exc}", RuntimeWarning,
                                  stacklevel=3)
                return LifetimeFit.empty()

        fc, fi = fit(cc, "continuous"), fit(ci, "intermittent")
        bc = [fit(c, "", quiet=True) for c in cc_g]
        bi = [fit(c, "", quiet=True) for c in ci_g]

        def block_err(fits: list[LifetimeFit], name: str) -> float:
            v = np.array([getattr(f, name) for f in fits], dtype=np.float64)
            v = v[np.isfinite(v)]
            return float(v.std(ddof=1) / math.sqrt(v.size)) if v.size >= 2 else float("nan")

        cpf = np.concatenate(state.contacts_per_frame)
        n_c = len(self._c)
        hop: dict[str, Any] = {}
        if self._hopping:
            total_ns = n_c * sum((len(t) - 1) * dt for t in state.times) * 1e-3
            complete = np.sort(np.concatenate(state.complete)) * dt
            hop = dict(
                n_chains=self._n_chains, n_hops=int(state.hops.sum()),
                n_rearrangements=int(state.rearrangements.sum()),
                hop_rate_per_ns=float(state.hops.sum() / total_ns),
                rearrangement_rate_per_ns=float(state.rearrangements.sum() / total_ns),
                hops_per_center=state.hops.copy(),
                unbound_fraction=float(state.unbound.sum() / (n_c * cpf.size)),
                chain_residence_ps=complete,
                chain_residence_censored_ps=np.sort(np.concatenate(state.censored)) * dt,
                chain_residence_mean_ps=float(complete.mean()) if complete.size else float("nan"),
            )
        return ResidenceResults(
            lag_ps=lag, continuous=cc, intermittent=ci, continuous_err=sem(cc_g), intermittent_err=sem(ci_g),
            tau_ps=fc.tau_ps, tau_ps_err=fc.tau_ps_err, tau_ps_block_err=block_err(bc, "tau_ps"),
            beta=fc.beta, beta_err=fc.beta_err, beta_block_err=block_err(bc, "beta"),
            tau_int_ps=fc.tau_int_ps, tau_int_ps_err=fc.tau_int_ps_err,
            tau_int_ps_block_err=block_err(bc, "tau_int_ps"),
            integral_ps=fc.integral_ps, integral_ps_block_err=block_err(bc, "integral_ps"),
            integral_cut_ps=fc.integral_cut_ps, integral_converged=fc.integral_converged,
            intermittent_tau_ps=fi.tau_ps, intermittent_tau_ps_err=fi.tau_ps_err,
            intermittent_tau_ps_block_err=block_err(bi, "tau_ps"),
            intermittent_beta=fi.beta, intermittent_beta_err=fi.beta_err,
            intermittent_beta_block_err=block_err(bi, "beta"),
            intermittent_tau_int_ps=fi.tau_int_ps, intermittent_tau_int_ps_err=fi.tau_int_ps_err,
            intermittent_tau_int_ps_block_err=block_err(bi, "tau_int_ps"),
            intermittent_integral_ps=fi.integral_ps, intermittent_integral_cut_ps=fi.integral_cut_ps,
            intermittent_integral_converged=fi.integral_converged,
            threshold=self.threshold, fit_max_lag_ps=float(fit_max), cutoff=float(self._cutoff),
            cutoff_source="given" if self.cutoff is not None else "first minimum of g(r)",
            tolerance_frames=self.tolerance_frames, dt_ps=dt, n_frames=int(cpf.size),
            n_trajectories=len(state.times), n_centers=n_c, n_ligands=len(self._l), error_blocks=self._groups,
            mean_contacts=float(cpf.sum() / (n_c * cpf.size)), contacts_per_frame=cpf, centers=self._c.copy(),
            hopping=self._hopping, **hop, units=dict(UNITS), provenance=provenance,
        )


# ----------------------------------------------------------------------------------------------
# Conveniences
# ----------------------------------------------------------------------------------------------
def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    run_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in _RUN_KEYS}
    return kwargs, run_kw


def residence_times(source: Any, center: Any = "name Li", ligand: Any = "name O", **kwargs: Any) -> ResidenceResults:
    """Residence-time analysis of ``ligand`` atoms around ``center`` atoms in one call.

    Parameters
    ----------
    source : trajml.io.Source
        Trajectories.
    center, ligand : str or array_like of int
        Selections (default Li⁺ and polymer O).
    **kwargs
        :class:`ResidenceTime` parameters (``cutoff`` in Å, ``tolerance_frames``, ...) and
        :meth:`ResidenceTime.run` options (``start``, ``stop``, ``step``, ``scheduler``, ...).

    Returns
    -------
    ResidenceResults
    """
    params, run_kw = _split(dict(kwargs))
    return ResidenceTime(center, ligand, **params).run(source, **run_kw)


def ion_pair_lifetimes(source: Any, cation: Any = "name Li", anion: Any = "name TFSI",
                       **kwargs: Any) -> ResidenceResults:
    """Lifetimes of cation–anion contacts (ion pairs): :func:`residence_times` with the anions as ligands.

    Parameters
    ----------
    source : trajml.io.Source
        Trajectories.
    cation, anion : str or array_like of int
        Selections (default ``"name Li"`` and one site per anion, ``"name TFSI"``).
    **kwargs
        As :func:`residence_times`. Hop statistics are off unless ``hopping=True``.

    Returns
    -------
    ResidenceResults
        ``tau_int_ps`` is the ion-pair lifetime from the continuous TCF.
    """
    kwargs.setdefault("hopping", False)
    return residence_times(source, cation, anion, **kwargs)
