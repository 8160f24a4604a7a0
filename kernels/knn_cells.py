"""The gathered-cell k-nearest search behind :func:`trajml.kernels.knn.knn_neighbors`.

Cells are at least ``r_max`` wide. Per cell of A, the B atoms of the 27 cells
around it are copied once into contiguous candidate arrays (image shifts
applied; cells next to each other along the last axis with the same shift are
contiguous in cell order, so the copy runs over ~9 rows) and shared by every A
atom of the cell. Per atom:

1. one vectorised pass of squared distances (float64 from the float32
   positions) and the count within ``r_max``;
2. when more than k lie within ``r_max``, a trial radius from the previous
   atom's k-th distance, grown until it holds at least k candidates;
3. a branch-free compaction of the candidates inside it, and the selection of
   the k smallest (float32 distance bits << 32 | index into B) keys: ranked by
   vectorised compares for small sets, sorted for large ones. Keys order rows
   by float32 distance, ties by index;
4. since a B atom just outside the trial radius could still round to the k-th
   float32 distance, the set is widened to the square of the next float32
   above it whenever that reaches past the trial radius.

The public entries (validation, the choice of this search or the pruned one of
:mod:`trajml.kernels.knn_pruned`) are in :mod:`trajml.kernels.knn`; see
:mod:`trajml.kernels.cells` for the cell list.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .cells import _cells, _gather

#: Trial radius of the selection, in squared distance: this factor times the square of the previous
#: atom's k-th distance (neighbouring atoms of a cell have similar ones), grown by ``_GROW`` until it
#: holds k candidates. Results do not depend on them, only the time (tests vary them).
_TRIAL = 1.3
_GROW = 1.6

#: Candidate sets up to this size are ranked branch-free (O(m²) vectorised compares); larger ones sorted.
_RANK_MAX = 48


@numba.njit(nogil=True, cache=True)
def _wrap_tables(n0: int, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell index and image shift of cell ``v - 1`` along each axis, ``v`` in [0, n + 2)."""
    n_ax = (n0, n1, n2)
    wrap_q = np.empty((3, max(n0, n1, n2) + 2), dtype=np.int64)
    wrap_s = np.empty((3, max(n0, n1, n2) + 2), dtype=np.int64)
    for ax in range(3):
        for v in range(n_ax[ax] + 2):
            s = (v - 1) // n_ax[ax]
            wrap_s[ax, v] = s
            wrap_q[ax, v] = v - 1 - s * n_ax[ax]
    return wrap_q, wrap_s


@numba.njit(nogil=True, cache=True)
def _gather_stencil(
    c: int, n0: int, n1: int, n2: int, wrap_q: np.ndarray, wrap_s: np.ndarray, box: np.ndarray,
    b_start: np.ndarray, bxs: np.ndarray, bys: np.ndarray, bzs: np.ndarray, b_ord: np.ndarray, b_id: np.ndarray,
    cx: np.ndarray, cy: np.ndarray, cz: np.ndarray, cj: np.ndarray, cid: np.ndarray,
) -> int:
    """Copy the B atoms of the 27 cells around cell ``c``, image shifts applied, into the candidate buffers.

    Cells next to each other along the last axis with the same image shift are
    contiguous in cell order, so the copy runs over ~9 rows. Returns the count.
    """
    c2 = c % n2
    c1 = (c // n2) % n1
    c0 = c // (n1 * n2)
    n = 0
    for o0 in range(3):
        q0 = wrap_q[0, c0 + o0]
        s0 = wrap_s[0, c0 + o0]
        for o1 in range(3):
            q1 = wrap_q[1, c1 + o1]
            s1 = wrap_s[1, c1 + o1]
            base = (q0 * n1 + q1) * n2
            o2 = 0
            while o2 < 3:
                q2 = wrap_q[2, c2 + o2]
                s2 = wrap_s[2, c2 + o2]
                run = min(2 - o2, n2 - 1 - q2)
                j0 = b_start[base + q2]
                j1 = b_start[base + q2 + run + 1]
                o2 += run + 1
                sx = s0 * box[0, 0] + s1 * box[1, 0] + s2 * box[2, 0]
                sy = s0 * box[0, 1] + s1 * box[1, 1] + s2 * box[2, 1]
                sz = s0 * box[0, 2] + s1 * box[1, 2] + s2 * box[2, 2]
                for j in range(j0, j1):
                    cx[n] = bxs[j] + sx
                    cy[n] = bys[j] + sy
                    cz[n] = bzs[j] + sz
                    cj[n] = b_ord[j]
                    cid[n] = b_id[j]
                    n += 1
    return n


@numba.njit(nogil=True, cache=True)
def _select(hd: np.ndarray, hj: np.ndarray, m: int, k: int, hf: np.ndarray, hk: np.ndarray, keys: np.ndarray) -> int:
    """The ``min(m, k)`` smallest (float32 distance bits, index) keys of ``m`` candidates, sorted into ``keys``.

    ``hd`` holds squared distances (Å²) and ``hj`` indices into B; ``hf``
    (float32) and ``hk`` are scratch. Small sets are ranked branch-free (each
    key's rank is the number of smaller keys; keys are distinct since each B
    atom enters once), larger ones sorted.
    """
    for h in range(m):  # two vectorisable passes: float32 distances, then their bits as keys
        hf[h] = np.float32(math.sqrt(hd[h]))
    bits = hf.view(np.uint32)
    for h in range(m):
        hk[h] = (np.uint64(bits[h]) << np.uint64(32)) | np.uint64(hj[h])
    if m > _RANK_MAX:
        hk[:m].sort()
        for q in range(min(m, k)):
            keys[q] = hk[q]
        return min(m, k)
    for h in range(m):
        kh = hk[h]
        rank = 0
        for g in range(m):
            rank += hk[g] < kh
        keys[min(rank, k)] = kh  # slot k takes every key ranked k or beyond
    return min(m, k)


@numba.njit(nogil=True, cache=True)
def _knn_block(
    t: int, c_lo: int, c_hi: int, n0: int, n1: int, n2: int, box: np.ndarray, r_max: float, count_all: bool,
    trial: float, grow: float,
    a_start: np.ndarray, axs: np.ndarray, ays: np.ndarray, azs: np.ndarray, a_ord: np.ndarray, a_id: np.ndarray,
    b_start: np.ndarray, bxs: np.ndarray, bys: np.ndarray, bzs: np.ndarray, b_ord: np.ndarray, b_id: np.ndarray,
    out_nb: np.ndarray, out_d: np.ndarray, out_cnt: np.ndarray,
) -> None:
    """k nearest B atoms and counts within ``r_max`` of the A atoms in cells [c_lo, c_hi).

    Per cell of A, the B atoms of its 27 cells are gathered once (cells are at
    least ``r_max`` wide) and shared by every A atom of the cell. Per atom: one
    vectorised pass of squared distances and a count within ``r_max``; when
    more than k lie within it, a trial radius (from the previous atom's k-th
    distance, grown until it holds k candidates) keeps the set to rank small;
    the candidates inside it are compacted branch-free and the k smallest
    (float32 distance bits, index into B) keys selected: ties in float32
    distance break by index. A B atom just outside the trial radius could
    still round to the k-th float32 distance, so the set is widened to the
    square of the next float32 above it when needed.
    """
    k = out_nb.shape[2]
    r2 = r_max * r_max
    wrap_q, wrap_s = _wrap_tables(n0, n1, n2)
    big = 0
    for c in range(n0 * n1 * n2):
        big = max(big, b_start[c + 1] - b_start[c])
    size = 27 * big
    cx = np.empty(size, dtype=np.float64)
    cy = np.empty(size, dtype=np.float64)
    cz = np.empty(size, dtype=np.float64)
    cj = np.empty(size, dtype=np.int64)
    cid = np.empty(size, dtype=np.int64)
    d2s = np.empty(size, dtype=np.float64)
    hd = np.empty(size, dtype=np.float64)
    hj = np.empty(size, dtype=np.int64)
    hf = np.empty(size, dtype=np.float32)
    hk = np.empty(size, dtype=np.uint64)
    keys = np.empty(k + 1, dtype=np.uint64)
    one = np.empty(1, dtype=np.float32)
    one_bits = one.view(np.uint32)
    inf = np.inf
    out_bits = out_d.view(np.uint32)  # distances written as the float32 bits of the keys
    guess = r2
    for c in range(c_lo, c_hi):
        a0 = a_start[c]
        a1 = a_start[c + 1]
        if a0 == a1:
            continue
        nc = _gather_stencil(c, n0, n1, n2, wrap_q, wrap_s, box, b_start, bxs, bys, bzs, b_ord, b_id,
                             cx, cy, cz, cj, cid)
        for ia in range(a0, a1):
            xi = axs[ia]
            yi = ays[ia]
            zi = azs[ia]
            idi = a_id[ia]
            # Vectorised: squared distances (the atom itself pushed out of range) and the count within r_max.
            cnt = 0
            for n in range(nc):
                dx = cx[n] - xi
                dy = cy[n] - yi
                dz = cz[n] - zi
                d2 = dx * dx + dy * dy + dz * dz
                d2 = inf if cid[n] == idi else d2
                d2s[n] = d2
                cnt += d2 < r2
            rho2 = r2
            if cnt > k:
                rho2 = min(guess, r2)
                while True:
                    inside = 0
                    for n in range(nc):
                        inside += d2s[n] < rho2
                    if inside >= k or rho2 >= r2:
                        break
                    rho2 = min(rho2 * grow, r2)
            while True:
                m = 0
                for n in range(nc):  # branch-free compaction of the candidates inside rho2
                    hj[m] = n
                    m += d2s[n] < rho2
                for h in range(m):
                    n = hj[h]
                    hd[h] = d2s[n]
                    hj[h] = cj[n]
                kept = _select(hd, hj, m, k, hf, hk, keys)
                if kept < k:
                    break
                # Any d2 at or above the square of the next float32 above the k-th distance rounds above it.
                one_bits[0] = np.uint32(keys[k - 1] >> np.uint64(32)) + np.uint32(1)
                bound = np.float64(one[0])
                bound2 = bound * bound
                guess = bound2 * trial
                if rho2 >= r2 or bound2 <= rho2:
                    break
                rho2 = min(bound2, r2)
            i = a_ord[ia]
            out_cnt[t, i] = cnt if count_all else min(cnt, k + 1)
            for q in range(kept):
                key = keys[q]
                out_nb[t, i, q] = np.int64(key & np.uint64(0xFFFFFFFF))
                out_bits[t, i, q] = np.uint32(key >> np.uint64(32))
            for q in range(kept, k):
                out_nb[t, i, q] = -1
                out_d[t, i, q] = inf


@numba.njit(nogil=True, cache=True)
def _frame_cells(pos_a: np.ndarray, pos_b: np.ndarray, same: bool, t: int, box: np.ndarray, inv: np.ndarray, n0: int,
                 n1: int, n2: int, ortho: bool, ids_a: np.ndarray, ids_b: np.ndarray, err: np.ndarray):
    """Cell lists and gathered ids of A and B in frame ``t``; B reuses A's when they are the same atoms."""
    a_start, axs, ays, azs, a_ord, ok = _cells(pos_a, t, box, inv, n0, n1, n2, ortho)
    a_id = _gather(ids_a, a_ord)
    if same:
        b_start, bxs, bys, bzs, b_ord, b_id = a_start, axs, ays, azs, a_ord, a_id
    else:
        b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, box, inv, n0, n1, n2, ortho)
        ok = ok and ok_b
        b_id = _gather(ids_b, b_ord)
    if not ok:
        err[t] = 1
    return a_start, axs, ays, azs, a_ord, a_id, b_start, bxs, bys, bzs, b_ord, b_id


@numba.njit(nogil=True, parallel=True, cache=True)
def _knn_kernel(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, invs: np.ndarray, ncells: np.ndarray, ortho: bool,
    r_max: float, count_all: bool, trial: float, grow: float, ids_a: np.ndarray, ids_b: np.ndarray, same: bool,
    per_frame: bool, n_split: int, out_nb: np.ndarray, out_d: np.ndarray, out_cnt: np.ndarray, err: np.ndarray,
) -> None:
    """k nearest neighbours and counts of a chunk (overwritten); ``err[t] = 1`` on non-finite input."""
    n_frames = pos_a.shape[0]
    n_a = pos_a.shape[1]
    if per_frame:
        for tp in numba.prange(n_frames):
            t = np.int64(tp)  # prange indices are unsigned: one signature for the helpers
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, a_id, b_start, bxs, bys, bzs, b_ord, b_id = _frame_cells(
                pos_a, pos_b, same, t, boxes[t], invs[t], n0, n1, n2, ortho, ids_a, ids_b, err)
            _knn_block(
                t, np.int64(0), n0 * n1 * n2, n0, n1, n2, boxes[t], r_max, count_all, trial, grow,
                a_start, axs, ays, azs, a_ord, a_id, b_start, bxs, bys, bzs, b_ord, b_id, out_nb, out_d, out_cnt,
            )
    else:
        for t in range(n_frames):
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            ncell = n0 * n1 * n2
            a_start, axs, ays, azs, a_ord, a_id, b_start, bxs, bys, bzs, b_ord, b_id = _frame_cells(
                pos_a, pos_b, same, t, boxes[t], invs[t], n0, n1, n2, ortho, ids_a, ids_b, err)
            # Blocks of whole cells holding about n_a / n_split atoms of A each.
            bounds = np.empty(n_split + 1, dtype=np.int64)
            for s in range(n_split):
                bounds[s] = np.searchsorted(a_start[:ncell], s * n_a // n_split)
            bounds[n_split] = ncell
            for s in numba.prange(n_split):
                _knn_block(
                    t, bounds[s], bounds[s + 1], n0, n1, n2, boxes[t], r_max, count_all, trial, grow,
                    a_start, axs, ays, azs, a_ord, a_id, b_start, bxs, bys, bzs, b_ord, b_id, out_nb, out_d, out_cnt,
                )


@numba.njit(nogil=True, parallel=True, cache=True)
def _knn_csr_kernel(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, invs: np.ndarray, ncells: np.ndarray, ortho: bool,
    r_max: float, count_all: bool, trial: float, grow: float, ids_a: np.ndarray, ids_b: np.ndarray, same: bool, k: int,
    out_cnt: np.ndarray, offsets: np.ndarray, out_nb: np.ndarray, out_d: np.ndarray, err: np.ndarray,
) -> None:
    """:func:`_knn_kernel` parallel over frames, each frame's rows compacted as soon as they are found.

    Frame ``t`` goes through a per-frame buffer of fixed-width rows (reused by
    the allocator, so hot in cache) into ``out_nb``/``out_d`` from ``t * Na * k``
    on (``Na * k`` entries is its upper bound); a serial pass then writes
    ``offsets`` and moves every frame's entries down to close the gaps (towards
    lower addresses, so a forward copy is safe).
    """
    n_frames = pos_a.shape[0]
    n_a = pos_a.shape[1]
    width = n_a * k
    for tp in numba.prange(n_frames):
        t = np.int64(tp)  # prange indices are unsigned: one signature for the helpers
        n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
        a_start, axs, ays, azs, a_ord, a_id, b_start, bxs, bys, bzs, b_ord, b_id = _frame_cells(
            pos_a, pos_b, same, t, boxes[t], invs[t], n0, n1, n2, ortho, ids_a, ids_b, err)
        nb = np.empty((1, n_a, k), dtype=np.int64)
        d = np.empty((1, n_a, k), dtype=np.float32)
        cnt = np.empty((1, n_a), dtype=np.int64)
        _knn_block(
            np.int64(0), np.int64(0), n0 * n1 * n2, n0, n1, n2, boxes[t], r_max, count_all, trial, grow,
            a_start, axs, ays, azs, a_ord, a_id, b_start, bxs, bys, bzs, b_ord, b_id, nb, d, cnt,
        )
        o = t * width
        for i in range(n_a):
            out_cnt[t, i] = cnt[0, i]
            for q in range(min(cnt[0, i], k)):
                out_nb[o] = nb[0, i, q]
                out_d[o] = d[0, i, q]
                o += 1
    offsets[0] = 0
    for t in range(n_frames):
        for i in range(n_a):
            r = t * n_a + i
            offsets[r + 1] = offsets[r] + min(out_cnt[t, i], k)
        src = t * width
        dst = offsets[t * n_a]
        if dst != src:
            for q in range(offsets[(t + 1) * n_a] - dst):
                out_nb[dst + q] = out_nb[src + q]
                out_d[dst + q] = out_d[src + q]
