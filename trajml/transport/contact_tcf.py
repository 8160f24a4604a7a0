"""Contact time-correlation functions: sparse contact series to continuous and intermittent TCFs.

The arithmetic behind :class:`~trajml.transport.residence.ResidenceTime` (no files, no neighbour
search): sorted int64 keys ``pair * T + frame``, one per contact, become exact integer numerators and
denominators of both TCFs per error block; :func:`tcf_from_series` applies it to dense 0/1 series.

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
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from trajml._validation import check_int

__all__ = ["tcf_from_series"]

#: Largest dense FFT batch (pairs × FFT length) of the intermittent TCF, in float64 values.
_FFT_BUDGET = 1 << 22


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
