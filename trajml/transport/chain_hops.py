"""Li⁺ hopping between polymer chains: dominant chain, hops, rearrangements and chain residences.

The statistics :class:`~trajml.transport.residence.ResidenceTime` reports when ligand atoms sit on
multi-atom molecules, computed from the sparse contact keys ``pair * T + frame`` of a block of centres
over one trajectory.

Definitions
-----------
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
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__: list[str] = []


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
