"""Implied timescales and Chapman–Kolmogorov tests of soft (VAMPNet) state assignments.

A trained VAMPNet fixes the soft states; as in GDyNet, the Koopman matrix between them is then
estimated at every lag from the covariances of the state probabilities (``remove_mean=False``,
so K = C00⁻¹ C0τ has rows summing to 1). Confidence intervals bootstrap whole per-target
trajectories (e.g. Li⁺ ions) or contiguous blocks of them: per-piece covariances are computed
once per lag and resampled, so a bootstrap sample costs a weighted sum of m×m matrices.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from trajml._validation import check_float, check_int, invalid
from trajml.kinetics.koopman import (
    CovarianceModel,
    _ro,
    as_trajectories,
    soft_koopman_matrix,
    stationary_distribution,
)
from trajml.kinetics.msm import CKTestResults, ImpliedTimescalesResults, _check_lags

__all__ = ["soft_implied_timescales", "soft_ck_test", "soft_populations", "soft_pcca"]


def _pieces(probs: Sequence[np.ndarray], block_frames: int | None) -> list[np.ndarray]:
    if block_frames is None:
        return list(probs)
    return [p[s:s + block_frames] for p in probs for s in range(0, len(p) - block_frames + 1, block_frames)]


def _piece_covariances(pieces: Sequence[np.ndarray], lag: int) -> np.ndarray:
    """(n_pieces, 3, m, m) unnormalised C00, C0τ, Cττ, plus zero rows for pieces shorter than lag + 1."""
    m = pieces[0].shape[1]
    out = np.zeros((len(pieces), 3, m, m))
    for i, p in enumerate(pieces):  # one BLAS product per piece, not per frame
        if len(p) > lag:
            a, b = p[:len(p) - lag], p[lag:]
            out[i, 0], out[i, 1], out[i, 2] = a.T @ a, a.T @ b, b.T @ b
    return out


def _koopman(c: np.ndarray, lag: int, stochastic: bool) -> np.ndarray:
    m = c.shape[-1]
    cov = CovarianceModel(lag=lag, remove_mean=False, n_pairs=1, mean_0=np.zeros(m), mean_t=np.zeros(m),
                          cov_00=c[0], cov_0t=c[1], cov_tt=c[2])
    return soft_koopman_matrix(cov, stochastic=stochastic)


def _its(k: np.ndarray, lag_ps: float, n_its: int) -> np.ndarray:
    mags = np.sort(np.abs(np.linalg.eigvals(k)))[::-1][1:n_its + 1]
    row = np.full(n_its, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        row[:len(mags)] = -lag_ps / np.log(np.clip(mags, 1e-300, 1.0 - 1e-15))
    return row


def _check_common(owner: str, probs: Any, n_bootstrap: Any, block_frames: Any, confidence: Any,
                  longest_lag: int) -> tuple[list[np.ndarray], int, int | None]:
    trajs = as_trajectories(owner, probs, "probs", per_target=True)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", owner, minimum=0)
    if block_frames is not None and (isinstance(block_frames, bool) or not isinstance(block_frames, (int, np.integer))
                                     or block_frames <= longest_lag):
        raise invalid("block_frames", owner, f"an int larger than the longest lag ({longest_lag} frames)", block_frames)
    check_float(confidence, "confidence", owner, high=1.0, unit="")
    longest = max(len(t) for t in trajs)
    if longest <= longest_lag:
        raise ValueError(f"The lags of {owner} (up to {longest_lag} frames) must be shorter than the longest "
                         f"trajectory ({longest} frames).")
    return trajs, int(n_bootstrap), None if block_frames is None else int(block_frames)


def _interval(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = 100 * (1 - confidence) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(samples, alpha, axis=0), np.nanpercentile(samples, 100 - alpha, axis=0)


def soft_implied_timescales(probs: Any, lags: Any, dt_ps: float = 1.0, *, n_its: int | None = None,
                            stochastic: bool = False, n_bootstrap: int = 0, block_frames: int | None = None,
                            confidence: float = 0.95, seed: int | None = None) -> ImpliedTimescalesResults:
    """Implied timescales of the Koopman matrix between soft states at several lags.

    Parameters
    ----------
    probs : ndarray, shape (T, m) or (T, n_targets, m), or list of such arrays
        State probabilities (rows sum to 1); a 3-D array gives one trajectory per target atom.
    lags : sequence of int
        Lag times in frames.
    dt_ps : float
        Time between frames in ps.
    n_its : int, optional
        Timescales reported (default m - 1).
    stochastic : bool
        Use the row-stochastic constrained Koopman matrix.
    n_bootstrap : int
        Bootstrap samples (0: none) over whole per-target trajectories or, with ``block_frames``,
        over blocks of that many frames.
    block_frames : int, optional
        Block length in frames (must exceed the largest lag).
    confidence : float
        Level of the percentile interval.
    seed : int, optional
        Seed of the bootstrap.

    Returns
    -------
    ImpliedTimescalesResults
        Timescales in ps, longest first, per lag.
    """
    owner = "soft_implied_timescales"
    dt = check_float(dt_ps, "dt_ps", owner, unit="ps")
    lag_arr = _check_lags(owner, lags)
    trajs, nb, block = _check_common(owner, probs, n_bootstrap, block_frames, confidence, int(lag_arr.max()))
    m = trajs[0].shape[1]
    n_its = m - 1 if n_its is None else n_its
    n_its = check_int(n_its, "n_its", owner)
    pieces = _pieces(trajs, block)
    covs = [_piece_covariances(pieces, int(lag)) for lag in lag_arr]
    ts = np.stack([_its(_koopman(c.sum(0), int(lag), stochastic), lag * dt, n_its) for c, lag in zip(covs, lag_arr)])
    lower = upper = None
    if nb:
        rng = np.random.default_rng(seed)
        samples = np.empty((nb,) + ts.shape)
        for b in range(nb):
            w = np.bincount(rng.integers(0, len(pieces), len(pieces)), minlength=len(pieces)).astype(float)
            samples[b] = np.stack([_its(_koopman(np.tensordot(w, c, 1), int(lag), stochastic), lag * dt, n_its)
                                   for c, lag in zip(covs, lag_arr)])
        lower, upper = _interval(samples, float(confidence))
    return ImpliedTimescalesResults(
        lags=lag_arr, lags_ps=lag_arr * dt, timescales_ps=ts, lower=lower, upper=upper, confidence=float(confidence),
        n_bootstrap=nb, dt_ps=dt,
        units={"lags": "frames", "lags_ps": "ps", "timescales_ps": "ps", "lower": "ps", "upper": "ps", "dt_ps": "ps",
               "confidence": ""},
        provenance={"function": owner, "stochastic": bool(stochastic), "n_trajectories": len(trajs),
                    "block_frames": block, "seed": seed})


def soft_ck_test(probs: Any, lag: int, dt_ps: float = 1.0, *, mlags: int = 5, n_bootstrap: int = 0,
                 block_frames: int | None = None, confidence: float = 0.95, seed: int | None = None) -> CKTestResults:
    """Chapman–Kolmogorov test of soft states: K(τ)^k against K(kτ), row-stochastic.

    Parameters
    ----------
    probs : ndarray, shape (T, m) or (T, n_targets, m), or list of such arrays
        State probabilities.
    lag : int
        Lag τ in frames.
    dt_ps : float
        Time between frames in ps.
    mlags : int
        Largest multiple k of τ.
    n_bootstrap, block_frames, confidence, seed
        Bootstrap over per-target trajectories (or blocks), as in :func:`soft_implied_timescales`.

    Returns
    -------
    CKTestResults
        ``predicted[k][i, j]`` = (K(τ)^k)_ij and ``estimated[k][i, j]`` = K(kτ)_ij, the probability
        of state j at time kτ given state i at 0 (memberships: the identity).
    """
    owner = "soft_ck_test"
    dt = check_float(dt_ps, "dt_ps", owner, unit="ps")
    lag = int(_check_lags(owner, [lag])[0])
    mlags = check_int(mlags, "mlags", owner)
    trajs, nb, block = _check_common(owner, probs, n_bootstrap, block_frames, confidence, lag * int(mlags))
    m = trajs[0].shape[1]
    pieces = _pieces(trajs, block)
    ks = np.arange(int(mlags) + 1)
    covs = [_piece_covariances(pieces, lag * int(k)) for k in ks[1:]]

    def run(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        est = [np.eye(m)] + [_koopman(np.tensordot(w, c, 1), lag * int(k), True) for c, k in zip(covs, ks[1:])]
        pred = [np.linalg.matrix_power(est[1], int(k)) for k in ks]
        return np.stack(pred), np.stack(est)

    pred, est = run(np.ones(len(pieces)))
    extra: dict[str, Any] = dict.fromkeys(["predicted_lower", "predicted_upper", "estimated_lower", "estimated_upper",
                                           "predicted_std", "estimated_std"])
    if nb:
        rng = np.random.default_rng(seed)
        ps, es = zip(*(run(np.bincount(rng.integers(0, len(pieces), len(pieces)), minlength=len(pieces))
                           .astype(float)) for _ in range(nb)))
        ps_a, es_a = np.stack(ps), np.stack(es)
        (pl, pu), (el, eu) = _interval(ps_a, float(confidence)), _interval(es_a, float(confidence))
        extra.update(predicted_lower=pl, predicted_upper=pu, estimated_lower=el, estimated_upper=eu,
                     predicted_std=ps_a.std(0), estimated_std=es_a.std(0))
    return CKTestResults(lags=ks * lag, lags_ps=ks * lag * dt, predicted=pred, estimated=est, memberships=np.eye(m),
                         confidence=float(confidence),
                         units={"lags": "frames", "lags_ps": "ps", "predicted": "", "estimated": "", "memberships": ""},
                         provenance={"function": owner, "lag": lag, "dt_ps": dt, "mlags": int(mlags),
                                     "n_bootstrap": nb, "seed": seed, "block_frames": block}, **extra)


def soft_populations(probs: Any, lag: int) -> np.ndarray:
    """Stationary populations of the soft states: left eigenvector of the row-stochastic K(lag).

    Parameters
    ----------
    probs : ndarray, shape (T, m) or (T, n_targets, m), or list of such arrays
        State probabilities.
    lag : int
        Lag in frames.

    Returns
    -------
    ndarray, shape (m,), float64
        Populations summing to 1 (dimensionless).
    """
    trajs, _, _ = _check_common("soft_populations", probs, 0, None, 0.5, int(_check_lags("soft_populations", [lag])[0]))
    c = _piece_covariances(trajs, int(lag)).sum(0)
    return _ro(np.clip(stationary_distribution(_koopman(c, int(lag), True)), 0.0, None))


def soft_pcca(probs: Any, lag: int, n_metastable: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """PCCA+ of the soft states into fewer metastable sets, for networks with more outputs than sets.

    The reversible part of the row-stochastic Koopman matrix K(lag) between the m soft states is
    clustered by deeptime's PCCA+; each frame's probabilities over the sets are its state
    probabilities times the memberships.

    Parameters
    ----------
    probs : ndarray, shape (T, m) or (T, n_targets, m), or list of such arrays
        State probabilities.
    lag : int
        Lag in frames of the Koopman matrix.
    n_metastable : int
        Number of metastable sets (2 <= n_metastable <= m).

    Returns
    -------
    memberships : ndarray, shape (m, n_metastable), float64
        Membership of each soft state in each set (rows sum to 1).
    coarse : list of ndarray
        The input arrays with their last axis mapped onto the sets (rows sum to 1).
    """
    from deeptime.markov import pcca

    owner = "soft_pcca"
    items = list(probs) if isinstance(probs, (list, tuple)) else [probs]
    trajs, _, _ = _check_common(owner, items, 0, None, 0.5, int(_check_lags(owner, [lag])[0]))
    m = trajs[0].shape[1]
    if isinstance(n_metastable, bool) or not isinstance(n_metastable, (int, np.integer)) or not 2 <= n_metastable <= m:
        raise invalid("n_metastable", owner, f"an int in [2, {m}] (the number of soft states)", n_metastable)
    k = _koopman(_piece_covariances(trajs, int(lag)).sum(0), int(lag), True)
    pi = np.clip(stationary_distribution(k), 1e-12, None)
    pi /= pi.sum()
    # PCCA+ needs detailed balance; the estimate has it only up to noise. Its reversible part
    # (π_i K_ij + π_j K_ji) / 2π_i keeps π, the row sums and non-negativity.
    k_rev = (pi[:, None] * k + (pi[:, None] * k).T) / (2.0 * pi[:, None])
    memberships = np.asarray(pcca(k_rev, int(n_metastable), stationary_distribution=pi).memberships,
                             dtype=np.float64)
    return _ro(memberships), [np.asarray(a, dtype=np.float64) @ memberships for a in items]
