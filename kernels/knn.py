"""The k nearest neighbours within a cut-off, and their compaction into CSR rows.

:func:`knn_neighbors` keeps a sorted top-k buffer of (float32 distance bits,
index) keys per atom of A. With ``count_all=True`` (the kernels here) it walks
cells at least ``r_max`` wide, rows of the stencil nearest first and trimmed to
each atom's cut-off sphere, and counts every partner within ``r_max``. With
``count_all=False`` it runs the pruned search of :mod:`trajml.kernels.knn_pruned`,
whose counts saturate at ``k + 1``. :func:`knn_to_csr` turns the fixed-width
rows into CSR arrays. See :mod:`trajml.kernels.cells` for the cell list and the
conventions shared by the pair searches.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._validation import _cell_grid, _check_count_all, _check_device, _check_knn_args, _raise_nonfinite, _widths
from .cells import _cells, _gather, _n_split, _per_frame, _slab, _slots_and_cells
from .knn_pruned import _knn_pruned_kernel, _pruned_reach

__all__ = ["knn_neighbors", "knn_to_csr"]


#: Cells of the k-nearest search are at least ``r_max / _KNN_REACH`` wide and
#: the stencil spans ``2 * _KNN_REACH + 1`` cells along each axis, trimmed to the
#: cut-off sphere of each atom. Finer cells (2, 3) examine fewer candidates but
#: cost more per row; on uniform beads at 0.058 and 0.0068 Å⁻³ (r_max = 7 Å,
#: k = 12) 1 was fastest, since every pair within r_max must be counted anyway.
_KNN_REACH = 1


@numba.njit(nogil=True, cache=True)
def _knn_cells(
    t: int, i_lo: int, i_hi: int, a_slot: np.ndarray, a_cell: np.ndarray, n0: int, n1: int, n2: int, reach: int, box: np.ndarray, inv: np.ndarray,
    widths: np.ndarray, ortho: bool, r_max: float, order01: np.ndarray,
    axs: np.ndarray, ays: np.ndarray, azs: np.ndarray, a_id: np.ndarray,
    b_start: np.ndarray, bxs: np.ndarray, bys: np.ndarray, bzs: np.ndarray, b_ord: np.ndarray, b_id: np.ndarray,
    out_nb: np.ndarray, out_d: np.ndarray, out_cnt: np.ndarray,
) -> None:
    """The k nearest B atoms and the count within ``r_max`` of the A atoms [i_lo, i_hi).

    Cells are at least ``r_max / reach`` wide, so partners lie within ``reach``
    cells along each axis. Per atom, rows of cells along the last axis are
    visited nearest first (``order01``) and trimmed to the cells the cut-off
    sphere can reach; every slot is tested against ``r_max`` for the count, and
    only slots closer than the current k-th neighbour reach the sorted top-k
    buffer of (float32 distance bits, index) keys.
    """
    k = out_nb.shape[2]
    r2 = r_max * r_max
    # Trimming bounds are padded so that rounding can only add candidates, never drop one.
    rr = r_max * (1.0 + 1e-9) + 1e-9
    h0 = widths[0] / n0
    h1 = widths[1] / n1
    h2 = widths[2] / n2
    keys = np.empty(k, dtype=np.uint64)
    hits = np.empty(b_start[-1] + 1, dtype=np.int64)
    hit_d2 = np.empty(b_start[-1] + 1, dtype=np.float64)
    # Cell index and image shift of every reachable offset along each axis, instead of divisions per row.
    n_ax = (n0, n1, n2)
    wrap_q = np.empty((3, max(n0, n1, n2) + 2 * reach), dtype=np.int64)
    wrap_s = np.empty((3, max(n0, n1, n2) + 2 * reach), dtype=np.int64)
    for ax in range(3):
        for v in range(n_ax[ax] + 2 * reach):
            s = (v - reach) // n_ax[ax]
            wrap_s[ax, v] = s
            wrap_q[ax, v] = v - reach - s * n_ax[ax]
    empty = np.uint64(0xFFFFFFFFFFFFFFFF)
    one = np.empty(1, dtype=np.float32)
    one_bits = one.view(np.uint32)
    n_rows = order01.shape[0]
    # A atoms in index order: the outputs are then written sequentially, while B's sorted coordinates
    # (24 bytes an atom) stay in cache however the queries jump between cells.
    for i in range(i_lo, i_hi):
        ia = a_slot[i]
        c = a_cell[ia]
        c2 = c % n2
        c1 = (c // n2) % n1
        c0 = c // (n1 * n2)
        xi = axs[ia]
        yi = ays[ia]
        zi = azs[ia]
        idi = a_id[ia]
        # Position within the cell as fractions of the cell widths (clamped against rounding).
        if ortho:
            f0 = xi * inv[0, 0]
            f1 = yi * inv[1, 1]
            f2 = zi * inv[2, 2]
        else:
            f0 = xi * inv[0, 0] + yi * inv[1, 0] + zi * inv[2, 0]
            f1 = xi * inv[0, 1] + yi * inv[1, 1] + zi * inv[2, 1]
            f2 = xi * inv[0, 2] + yi * inv[1, 2] + zi * inv[2, 2]
        u0 = min(max(f0 * n0 - c0, 0.0), 1.0)
        u1 = min(max(f1 * n1 - c1, 0.0), 1.0)
        u2 = min(max(f2 * n2 - c2, 0.0), 1.0)
        for q in range(k):
            keys[q] = empty
        thr = r2  # slots at d2 >= thr cannot enter the buffer
        cnt = 0
        for m in range(n_rows):
            o0 = order01[m, 0]
            o1 = order01[m, 1]
            d0 = _slab(o0, u0, h0)
            d1 = _slab(o1, u1, h1)
            # Lower bound on the distance to the row: exact per-axis slabs when orthogonal, else the max.
            if ortho:
                rem = rr * rr - d0 * d0 - d1 * d1
                if rem <= 0.0:
                    continue
                s2max = math.sqrt(rem)
            else:
                if d0 >= rr or d1 >= rr:
                    continue
                s2max = rr
            lo2 = -min(reach, math.ceil(1.0 - u2 + s2max / h2) - 1)
            hi2 = min(reach, math.ceil(u2 + s2max / h2) - 1)
            q0 = wrap_q[0, c0 + o0 + reach]
            s0 = wrap_s[0, c0 + o0 + reach]
            q1 = wrap_q[1, c1 + o1 + reach]
            s1 = wrap_s[1, c1 + o1 + reach]
            base = (q0 * n1 + q1) * n2
            o2 = lo2
            while o2 <= hi2:
                q2 = wrap_q[2, c2 + o2 + reach]
                s2 = wrap_s[2, c2 + o2 + reach]
                run = min(hi2 - o2, n2 - 1 - q2)  # further cells contiguous in memory with the same image
                j0 = b_start[base + q2]
                j1 = b_start[base + q2 + run + 1]
                o2 += run + 1
                px = xi - (s0 * box[0, 0] + s1 * box[1, 0] + s2 * box[2, 0])
                py = yi - (s0 * box[0, 1] + s1 * box[1, 1] + s2 * box[2, 1])
                pz = zi - (s0 * box[0, 2] + s1 * box[1, 2] + s2 * box[2, 2])
                # Pass 1, branch-free: count within r_max, compact the slots that may enter the buffer.
                nk = 0
                for jb in range(j0, j1):
                    dx = bxs[jb] - px
                    dy = bys[jb] - py
                    dz = bzs[jb] - pz
                    d2 = dx * dx + dy * dy + dz * dz
                    other = b_id[jb] != idi
                    cnt += (d2 < r2) & other
                    hits[nk] = jb
                    hit_d2[nk] = d2
                    nk += (d2 < thr) & other
                # Pass 2: insert the few hits into the sorted buffer.
                for h in range(nk):
                    d2 = hit_d2[h]
                    if d2 >= thr:
                        continue
                    one[0] = np.float32(math.sqrt(d2))
                    key = (np.uint64(one_bits[0]) << np.uint64(32)) | np.uint64(b_ord[hits[h]])
                    if key < keys[k - 1]:
                        p = k - 1
                        while p > 0 and keys[p - 1] > key:
                            keys[p] = keys[p - 1]
                            p -= 1
                        keys[p] = key
                        if keys[k - 1] != empty:
                            # Full: only a float32 distance <= the k-th can still enter. Any d2 at or
                            # above the square of the next float32 up rounds to a larger distance.
                            one_bits[0] = np.uint32(keys[k - 1] >> np.uint64(32)) + np.uint32(1)
                            bound = np.float64(one[0])
                            thr = min(r2, bound * bound)
        out_cnt[t, i] = cnt
        for q in range(k):
            key = keys[q]
            if key == empty:
                out_nb[t, i, q] = -1
                out_d[t, i, q] = np.inf
            else:
                out_nb[t, i, q] = np.int64(key & np.uint64(0xFFFFFFFF))
                one_bits[0] = np.uint32(key >> np.uint64(32))
                out_d[t, i, q] = one[0]


@numba.njit(nogil=True, parallel=True, cache=True)
def _knn_kernel(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, invs: np.ndarray, widths: np.ndarray,
    ncells: np.ndarray, reach: int, ortho: bool, r_max: float, ids_a: np.ndarray, ids_b: np.ndarray,
    order01: np.ndarray, per_frame: bool, n_split: int,
    out_nb: np.ndarray, out_d: np.ndarray, out_cnt: np.ndarray, err: np.ndarray,
) -> None:
    """k nearest neighbours and counts of a chunk (overwritten); ``err[t] = 1`` on non-finite input."""
    n_frames = pos_a.shape[0]
    n_a = pos_a.shape[1]
    if per_frame:
        for tp in numba.prange(n_frames):
            t = np.int64(tp)  # prange indices are unsigned: one signature for the helpers
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            a_slot, a_cell = _slots_and_cells(a_start, a_ord)
            _knn_cells(
                t, np.int64(0), n_a, a_slot, a_cell, n0, n1, n2, reach, boxes[t], invs[t], widths[t], ortho, r_max, order01,
                axs, ays, azs, _gather(ids_a, a_ord),
                b_start, bxs, bys, bzs, b_ord, _gather(ids_b, b_ord), out_nb, out_d, out_cnt,
            )
    else:
        for t in range(n_frames):
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            a_slot, a_cell = _slots_and_cells(a_start, a_ord)
            a_id = _gather(ids_a, a_ord)
            b_id = _gather(ids_b, b_ord)
            for s in numba.prange(n_split):
                _knn_cells(
                    t, s * n_a // n_split, (s + 1) * n_a // n_split, a_slot, a_cell, n0, n1, n2, reach, boxes[t],
                    invs[t], widths[t], ortho, r_max, order01, axs, ays, azs, a_id,
                    b_start, bxs, bys, bzs, b_ord, b_id, out_nb, out_d, out_cnt,
                )


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def _row_order(reach: int) -> np.ndarray:
    """Offsets (o0, o1) of the stencil rows, (m, 2) int64, nearest first so the top-k buffer fills early."""
    o = np.arange(-reach, reach + 1)
    pairs = np.array([(a, b) for a in o for b in o], dtype=np.int64)
    gap = np.maximum(np.abs(pairs) - 1, 0)
    key = (gap**2).sum(axis=1) * 100 + np.abs(pairs).sum(axis=1)
    return np.ascontiguousarray(pairs[np.argsort(key, kind="stable")])


def knn_neighbors(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    r_max: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    k: int,
    out_neighbors: np.ndarray,
    out_distances: np.ndarray,
    out_counts: np.ndarray,
    *,
    device: str = "cpu",
    count_all: bool = True,
) -> None:
    """The ``k`` nearest B atoms within ``r_max`` of every A atom, and how many lie within ``r_max``.

    One pass: each row keeps a sorted top-k buffer and counts its partners
    within ``r_max``, so rows cut short are known (``out_counts > k``). With
    ``count_all=True`` every partner within ``r_max`` is examined and counted.
    With ``count_all=False`` the count stops at ``k + 1``, which still tells
    which rows were cut short, and the search is pruned: finer cells are
    visited nearest first and the walk of a row stops once no further cell can
    hold one of its ``k + 1`` nearest partners (orthorhombic boxes bound the
    distance to a cell more tightly than triclinic ones, so they prune more).

    Parameters
    ----------
    pos_a : ndarray, shape (F, Na, 3), float32
        Positions of selection A in Å.
    pos_b : ndarray, shape (F, Nb, 3), float32
        Positions of selection B in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices with the box vectors as rows, in Å.
    r_max : float
        Cut-off in Å (``d < r_max``), at most half the shortest perpendicular
        box width of every frame.
    ids_a, ids_b : ndarray, shape (Na,) and (Nb,), int64
        Topology indices; equal ids are the same atom and never neighbours.
    k : int
        Neighbours kept per row, ``k >= 1``.
    out_neighbors : ndarray, shape (F, Na, k), int64
        Overwritten with indices into B (``0 .. Nb - 1``), nearest first, ties
        by index; slots beyond a row's neighbours hold -1.
    out_distances : ndarray, shape (F, Na, k), float32
        Overwritten with the minimum-image distances in Å; unused slots hold +inf.
    out_counts : ndarray, shape (F, Na), int64
        Overwritten with the number of B atoms within ``r_max``: the total
        (may exceed ``k``) with ``count_all=True``, else ``min(total, k + 1)``.
    device : {"cpu", "cuda"}
        Where to run.
    count_all : bool
        Count every partner within ``r_max`` (True), or only up to ``k + 1``
        and prune the search (False). Neighbours and distances are the same.

    Raises
    ------
    ValueError, TypeError
        On bad shapes, dtypes or values (see :func:`~trajml.kernels.histograms.pair_histogram`).

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.array([[[0.0, 0.0, 0.0], [9.0, 0.0, 0.0], [3.0, 0.0, 0.0]]], dtype=np.float32)
    >>> box = np.diag([10.0, 10.0, 10.0])[None]
    >>> ids = np.arange(3)
    >>> nbrs = np.empty((1, 3, 1), np.int64)
    >>> dist = np.empty((1, 3, 1), np.float32)
    >>> counts = np.empty((1, 3), np.int64)
    >>> knn_neighbors(pos, pos, box, 4.0, ids, ids, 1, nbrs, dist, counts)
    >>> nbrs[0, :, 0].tolist(), dist[0, :, 0].tolist(), counts[0].tolist()
    ([1, 0, 0], [1.0, 1.0, 3.0], [2, 1, 1])
    >>> knn_neighbors(pos, pos, box, 4.0, ids, ids, 1, nbrs, dist, counts, count_all=False)
    >>> nbrs[0, :, 0].tolist(), counts[0].tolist()
    ([1, 0, 0], [2, 1, 1])
    """
    func = "knn_neighbors"
    if _check_device(func, device) == "cuda":
        from .cuda.knn import knn_neighbors as twin

        return twin(
            pos_a, pos_b, boxes, r_max, ids_a, ids_b, k, out_neighbors, out_distances, out_counts,
            count_all=count_all,
        )
    p, r, k, out_nb, out_d, out_cnt = _check_knn_args(
        func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, k, out_neighbors, out_distances, out_counts
    )
    count_all = _check_count_all(func, count_all)
    n_frames, n_a, n_b = p.pos_a.shape[0], p.pos_a.shape[1], p.pos_b.shape[1]
    if n_frames == 0 or n_a == 0:
        return
    if n_b == 0:
        out_nb[...] = -1
        out_d[...] = np.inf
        out_cnt[...] = 0
        return
    widths = _widths(p.boxes)
    err = np.zeros(n_frames, dtype=np.int8)
    if not count_all:
        reach = _pruned_reach(n_b, p.boxes, r)
        ncells = _cell_grid(widths, r / reach, max(n_a, n_b))
        _knn_pruned_kernel(
            p.pos_a, p.pos_b, p.boxes, p.invs, widths, ncells, reach, p.ortho, r, p.ids_a, p.ids_b,
            _per_frame(n_frames), _n_split(), out_nb, out_d, out_cnt, err,
        )
        _raise_nonfinite(func, err)
        return
    ncells = _cell_grid(widths, r / _KNN_REACH, max(n_a, n_b))
    _knn_kernel(
        p.pos_a, p.pos_b, p.boxes, p.invs, widths, ncells, _KNN_REACH, p.ortho, r, p.ids_a, p.ids_b,
        _row_order(_KNN_REACH), _per_frame(n_frames), _n_split(), out_nb, out_d, out_cnt, err,
    )
    _raise_nonfinite(func, err)


@numba.njit(nogil=True, parallel=True, cache=True)
def _compact_rows_kernel(neighbors: np.ndarray, distances: np.ndarray, offsets: np.ndarray,
                         out_neighbors: np.ndarray, out_distances: np.ndarray) -> None:
    for r in numba.prange(offsets.shape[0] - 1):
        o = offsets[r]
        for s in range(offsets[r + 1] - o):
            out_neighbors[o + s] = neighbors[r, s]
            out_distances[o + s] = distances[r, s]


def knn_to_csr(neighbors: np.ndarray, distances: np.ndarray, counts: np.ndarray,
               k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compact the fixed-width output of :func:`knn_neighbors` into CSR rows.

    Parameters
    ----------
    neighbors : ndarray, shape (..., k), int64
        ``out_neighbors`` of :func:`knn_neighbors` (unused slots -1).
    distances : ndarray, shape (..., k), float32
        ``out_distances`` of :func:`knn_neighbors`, in Å.
    counts : ndarray, shape (...), int64
        ``out_counts`` of :func:`knn_neighbors`; each row keeps ``min(count, k)`` entries.
    k : int
        Width of the rows.

    Returns
    -------
    offsets : ndarray, shape (R + 1,), int64
        Row ``r`` holds entries ``offsets[r]:offsets[r + 1]``; R is the number of rows.
    neighbors : ndarray, int64
        Neighbour indices, each row sorted by increasing distance.
    distances : ndarray, float32
        Distances in Å.
    """
    nb = np.ascontiguousarray(neighbors).reshape(-1, k)
    d = np.ascontiguousarray(distances).reshape(-1, k)
    kept = np.minimum(np.asarray(counts).reshape(-1), k)
    offsets = np.zeros(kept.size + 1, dtype=np.int64)
    np.cumsum(kept, out=offsets[1:])
    if kept.size and int(kept.min()) == k:  # every row is full: the arrays are already CSR
        return offsets, nb.reshape(-1), d.reshape(-1)
    out_nb = np.empty(int(offsets[-1]), dtype=np.int64)
    out_d = np.empty(int(offsets[-1]), dtype=np.float32)
    _compact_rows_kernel(nb, d, offsets, out_nb, out_d)
    return offsets, out_nb, out_d
