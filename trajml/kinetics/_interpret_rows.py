"""Streaming statistics of :class:`~trajml.kinetics.interpret.StateInterpretation`: per-state sums and top rows.

:class:`_Accumulator` holds the additive per-state statistics over (frame, target) rows;
:func:`_pair_distances` gives float64 minimum-image distances of the pairs the neighbour kernel
found; :func:`_merge_top` keeps the rows of highest probability of a state, independent of chunking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class _Accumulator:
    """Additive statistics over (frame, target) rows, per state (see :mod:`trajml.kinetics.interpret`)."""

    weight: np.ndarray  # (m,) Σ p
    count_sum: np.ndarray  # (m, K) Σ p·n
    count_sq: np.ndarray  # (m, K) Σ p·n²
    charge_sum: np.ndarray  # (m,) Σ p·q
    charge_sq: np.ndarray  # (m,) Σ p·q²
    counts: np.ndarray  # (m, K, n_bins) weighted pair counts
    pairs_over_volume: np.ndarray  # (m, K) Σ p·N_pairs/V
    n_frames: int = 0
    # Top rows of each state: probability, traj, frame, target position, time, shell counts, charge.
    top: list[dict[str, np.ndarray]] = field(default_factory=list)


def _pair_distances(pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, frame: np.ndarray, i: np.ndarray,
                    j: np.ndarray) -> np.ndarray:
    """Float64 minimum-image distances in Å of the pairs ``(pos_a[frame, i], pos_b[frame, j])``.

    The neighbour kernel returns float32 distances; bins and cut-offs use float64, as
    :func:`trajml.kernels.histograms.pair_histogram` does. Rounding the fractional coordinates
    gives the minimum image of every pair the kernel found, in any triclinic box: the
    fractional coordinate along box vector k is ``s_k = d · n_k / w_k`` (``n_k`` the unit
    normal of the other two vectors, ``w_k`` the perpendicular width), so ``|d| < r_max <= w_k / 2``
    implies ``|s_k| < 1/2``.
    """
    if frame.size == 0:
        return np.zeros(0)
    box = boxes.astype(np.float64)
    d = pos_b[frame, j].astype(np.float64) - pos_a[frame, i].astype(np.float64)
    diagonal = np.einsum("fii->fi", box)
    if not (box - diagonal[:, :, None] * np.eye(3)).any():
        length = diagonal[frame]
        d -= length * np.round(d / length)
    else:
        inv = np.linalg.inv(box)
        s = np.einsum("pi,pij->pj", d, inv[frame])
        s -= np.round(s)
        d = np.einsum("pi,pij->pj", s, box[frame])
    return np.sqrt(np.einsum("pi,pi->p", d, d))


def _empty_top(n_k: int) -> dict[str, np.ndarray]:
    return {"p": np.zeros(0), "traj": np.zeros(0, np.int64), "frame": np.zeros(0, np.int64),
            "target": np.zeros(0, np.int64), "time": np.zeros(0), "shell": np.zeros((0, n_k)), "q": np.zeros(0)}


def _merge_top(top: dict[str, np.ndarray], p: np.ndarray, meta: dict[str, np.ndarray], shell: np.ndarray,
               q: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Keep the ``n`` rows of highest probability (> 0) among the kept ones and a chunk's rows.

    Ties go to the earlier (trajectory, frame, target), so the choice does not depend on chunking.
    """
    cand = np.flatnonzero(p > 0)
    if cand.size > n:
        # Every row tied with the n-th largest value stays a candidate, so ties resolve by order below.
        kth = np.partition(p[cand], cand.size - n)[cand.size - n]
        cand = cand[p[cand] >= kth]
    merged = {
        "p": np.concatenate([top["p"], p[cand]]), "traj": np.concatenate([top["traj"], meta["traj"][cand]]),
        "frame": np.concatenate([top["frame"], meta["frame"][cand]]),
        "target": np.concatenate([top["target"], meta["target"][cand]]),
        "time": np.concatenate([top["time"], meta["time"][cand]]),
        "shell": np.concatenate([top["shell"], shell[cand]]), "q": np.concatenate([top["q"], q[cand]]),
    }
    order = np.lexsort((merged["target"], merged["frame"], merged["traj"], -merged["p"]))[:n]
    return {k: v[order] for k, v in merged.items()}
