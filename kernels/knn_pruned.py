"""The pruned k-nearest search behind ``knn_neighbors(..., count_all=False)`` on dense B.

:func:`trajml.kernels.knn.knn_neighbors` takes it when rows hold on average many
times ``k + 1`` partners within ``r_max`` (``_PRUNED_ABOVE`` there), so that the
walk stops well inside the cut-off; below that the gathered cells of
:mod:`trajml.kernels.knn` are faster.

Cells are finer (about ``_PRUNED_ATOMS_PER_CELL`` atoms of B each, at least
``r_max / reach`` wide). Per atom, the cells of the stencil of its half-cell
octant are visited in order of increasing lower bound on their distance, into
a sorted buffer of the ``k + 1`` nearest keys; the walk stops once no further
cell can change the buffer, so counts saturate at ``k + 1``. Orthorhombic boxes
bound the distance to a cell by the Euclidean norm of the per-axis gaps,
triclinic ones by the largest gap (they prune less). The public entry is
:func:`trajml.kernels.knn.knn_neighbors`; see :mod:`trajml.kernels.cells` for
the cell list.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .cells import _cells, _gather, _slab, _slots_and_cells

#: The pruned search (``count_all=False``) picks cells holding about this many
#: B atoms on average: finer cells bound the distance to a cell more tightly,
#: coarser ones cost less per visit.
_PRUNED_ATOMS_PER_CELL = 2.5

#: Largest reach of the pruned search (its stencils hold ``(2 reach + 1)**3`` cells).
_PRUNED_MAX_REACH = 4

#: Force the pruned reach (tests); None picks it from the density of B.
_PRUNED_REACH: int | None = None


def _pruned_reach(n_b: int, boxes: np.ndarray, r_max: float) -> int:
    """Reach of the pruned search: cells about ``_PRUNED_ATOMS_PER_CELL`` atoms of B big, at least ``r_max / reach``
    wide."""
    if _PRUNED_REACH is not None:
        return int(_PRUNED_REACH)
    volume = float(np.abs(np.linalg.det(boxes)).mean())
    width = (_PRUNED_ATOMS_PER_CELL * volume / max(n_b, 1)) ** (1.0 / 3.0)
    return int(min(max(math.ceil(r_max / width), 1), _PRUNED_MAX_REACH))


#: Padding (Å) subtracted from every pruning lower bound, so that rounding in the
#: fractional coordinates can only make the search visit more cells, never fewer.
_LB_PAD = 1e-7


@numba.njit(nogil=True, cache=True)
def _gap(o: int, upper: int, h: float) -> float:
    """Smallest distance (Å) along one axis from a half cell (lower or ``upper``) to the cell ``o`` away."""
    if o > 0:
        g = (o - 0.5 - 0.5 * upper) * h
    elif o < 0:
        g = (-o - 1.0 + 0.5 * upper) * h
    else:
        return 0.0
    return max(g - _LB_PAD, 0.0)


@numba.njit(nogil=True, cache=True)
def _octant_stencils(reach: int, h0: float, h1: float, h2: float, ortho: bool) -> tuple[np.ndarray, np.ndarray]:
    """Stencil offsets sorted by a lower bound on the distance from each half-cell octant to the cell.

    An atom in octant ``b`` (bit 2, 1, 0: upper half along box vector 0, 1, 2)
    of its cell is at least ``sqrt(lb2[b, m])`` Å from every atom of the cell at
    offset ``offs[b, m]``; ``lb2[b]`` is non-decreasing. Orthorhombic boxes use
    the Euclidean norm of the per-axis gaps; triclinic boxes the largest gap
    (each gap is a distance between parallel lattice planes, so this is safe).
    Returns ``offs`` (8, M, 3) int64, the offsets plus ``reach`` (table
    indices in ``[0, 2 reach]``), and ``lb2`` (8, M) float64 in Å², with
    ``M = (2 reach + 1)**3``.
    """
    w = 2 * reach + 1
    m = w * w * w
    offs = np.empty((8, m, 3), dtype=np.int64)
    lb2 = np.empty((8, m), dtype=np.float64)
    tmp_o = np.empty((m, 3), dtype=np.int64)
    tmp_d = np.empty(m, dtype=np.float64)
    for b in range(8):
        q = 0
        for o0 in range(-reach, reach + 1):
            g0 = _gap(o0, (b >> 2) & 1, h0)
            for o1 in range(-reach, reach + 1):
                g1 = _gap(o1, (b >> 1) & 1, h1)
                for o2 in range(-reach, reach + 1):
                    g2 = _gap(o2, b & 1, h2)
                    if ortho:
                        tmp_d[q] = g0 * g0 + g1 * g1 + g2 * g2
                    else:
                        g = max(g0, g1, g2)
                        tmp_d[q] = g * g
                    tmp_o[q, 0] = o0 + reach
                    tmp_o[q, 1] = o1 + reach
                    tmp_o[q, 2] = o2 + reach
                    q += 1
        idx = np.argsort(tmp_d, kind="mergesort")
        for q in range(m):
            offs[b, q, 0] = tmp_o[idx[q], 0]
            offs[b, q, 1] = tmp_o[idx[q], 1]
            offs[b, q, 2] = tmp_o[idx[q], 2]
            lb2[b, q] = tmp_d[idx[q]]
    return offs, lb2


@numba.njit(nogil=True, cache=True)
def _knn_pruned_cells(
    t: int, i_lo: int, i_hi: int, a_ord: np.ndarray, a_cell: np.ndarray, n0: int, n1: int, n2: int, reach: int,
    box: np.ndarray, inv: np.ndarray, widths: np.ndarray, ortho: bool, r_max: float,
    axs: np.ndarray, ays: np.ndarray, azs: np.ndarray, a_id: np.ndarray,
    b_start: np.ndarray, bxs: np.ndarray, bys: np.ndarray, bzs: np.ndarray, b_ord: np.ndarray, b_id: np.ndarray,
    out_nb: np.ndarray, out_d: np.ndarray, out_cnt: np.ndarray,
) -> None:
    """The k nearest B atoms of the A atoms in slots [i_lo, i_hi) (cell order), with counts saturated at k + 1.

    Cells are at least ``r_max / reach`` wide. Per atom, the cells of the
    stencil of its half-cell octant are visited in order of increasing lower
    bound on their distance, into a sorted buffer of the k + 1 smallest
    (float32 distance bits, index) keys; the walk stops as soon as the next
    bound reaches the (k + 1)-th distance (or ``r_max``), since no later cell can
    change the buffer. The count is then the number of filled slots,
    ``min(total within r_max, k + 1)``.
    """
    k = out_nb.shape[2]
    k1 = k + 1
    r2 = r_max * r_max
    h0 = widths[0] / n0
    h1 = widths[1] / n1
    h2 = widths[2] / n2
    offs, lb2 = _octant_stencils(reach, h0, h1, h2, ortho)
    n_sten = offs.shape[1]
    keys = np.empty(k1, dtype=np.uint64)
    n_ax = (n0, n1, n2)
    w = 2 * reach + 1
    wrap_q = np.empty((3, max(n0, n1, n2) + 2 * reach), dtype=np.int64)
    wrap_s = np.empty((3, max(n0, n1, n2) + 2 * reach), dtype=np.int64)
    for ax in range(3):
        for v in range(n_ax[ax] + 2 * reach):
            s = (v - reach) // n_ax[ax]
            wrap_s[ax, v] = s
            wrap_q[ax, v] = v - reach - s * n_ax[ax]
    # Per atom and axis, for each offset o in [-reach, reach]: the lower bound from the atom's own position
    # in its cell (tighter than its octant's), the cell index term and the image shift, so that a visited
    # cell costs three table lookups per quantity instead of wrapping and a 3x3 shift product.
    lbt = np.empty((3, w), dtype=np.float64)
    cellt = np.empty((3, w), dtype=np.int64)
    pt = np.empty((3, w, 3), dtype=np.float64)
    strides = (n1 * n2, n2, 1)
    hs = (h0, h1, h2)
    empty = np.uint64(0xFFFFFFFFFFFFFFFF)
    one = np.empty(1, dtype=np.float32)
    one_bits = one.view(np.uint32)
    for ia in range(i_lo, i_hi):
        i = a_ord[ia]
        c = a_cell[ia]
        c2 = c % n2
        c1 = (c // n2) % n1
        c0 = c // (n1 * n2)
        cc = (c0, c1, c2)
        xi = axs[ia]
        yi = ays[ia]
        zi = azs[ia]
        idi = a_id[ia]
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
        uu = (u0, u1, u2)
        b = (4 if u0 >= 0.5 else 0) + (2 if u1 >= 0.5 else 0) + (1 if u2 >= 0.5 else 0)
        for ax in range(3):
            for v in range(w):
                g = max(_slab(v - reach, uu[ax], hs[ax]) - _LB_PAD, 0.0)
                lbt[ax, v] = g * g if ortho else g
                cellt[ax, v] = wrap_q[ax, cc[ax] + v] * strides[ax]
                s = wrap_s[ax, cc[ax] + v]
                # The atom's coordinates (axis 0 only) minus this axis' share of the image shift.
                pt[ax, v, 0] = (xi if ax == 0 else 0.0) - s * box[ax, 0]
                pt[ax, v, 1] = (yi if ax == 0 else 0.0) - s * box[ax, 1]
                pt[ax, v, 2] = (zi if ax == 0 else 0.0) - s * box[ax, 2]
        for q in range(k1):
            keys[q] = empty
        n_keys = 0
        thr = r2  # slots at d2 >= thr cannot enter the buffer
        for m in range(n_sten):
            if lb2[b, m] >= thr:
                break  # sorted bounds: no further cell can hold a candidate
            v0 = offs[b, m, 0]
            v1 = offs[b, m, 1]
            v2 = offs[b, m, 2]
            if ortho:
                lb = lbt[0, v0] + lbt[1, v1] + lbt[2, v2]
            else:
                lb = max(lbt[0, v0], lbt[1, v1], lbt[2, v2])
                lb *= lb
            if lb >= thr:
                continue
            cell = cellt[0, v0] + cellt[1, v1] + cellt[2, v2]
            j0 = b_start[cell]
            j1 = b_start[cell + 1]
            if j0 == j1:
                continue
            px = pt[0, v0, 0] + pt[1, v1, 0] + pt[2, v2, 0]
            py = pt[0, v0, 1] + pt[1, v1, 1] + pt[2, v2, 1]
            pz = pt[0, v0, 2] + pt[1, v1, 2] + pt[2, v2, 2]
            for jb in range(j0, j1):
                dx = bxs[jb] - px
                dy = bys[jb] - py
                dz = bzs[jb] - pz
                d2 = dx * dx + dy * dy + dz * dz
                if d2 >= thr or b_id[jb] == idi:
                    continue
                one[0] = np.float32(math.sqrt(d2))
                key = (np.uint64(one_bits[0]) << np.uint64(32)) | np.uint64(b_ord[jb])
                if key < keys[k1 - 1]:
                    if keys[k1 - 1] == empty:
                        n_keys += 1
                    p = k1 - 1
                    while p > 0 and keys[p - 1] > key:
                        keys[p] = keys[p - 1]
                        p -= 1
                    keys[p] = key
                    if n_keys == k1:
                        # Full: only a float32 distance <= the (k+1)-th can still enter (see _knn_cells).
                        one_bits[0] = np.uint32(keys[k1 - 1] >> np.uint64(32)) + np.uint32(1)
                        bound = np.float64(one[0])
                        thr = min(r2, bound * bound)
        out_cnt[t, i] = n_keys
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
def _knn_pruned_kernel(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, invs: np.ndarray, widths: np.ndarray,
    ncells: np.ndarray, reach: int, ortho: bool, r_max: float, ids_a: np.ndarray, ids_b: np.ndarray,
    per_frame: bool, n_split: int, out_nb: np.ndarray, out_d: np.ndarray, out_cnt: np.ndarray, err: np.ndarray,
) -> None:
    """k nearest neighbours of a chunk with counts saturated at k + 1 (overwritten); ``err[t] = 1`` on
    non-finite input."""
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
            _, a_cell = _slots_and_cells(a_start, a_ord)
            _knn_pruned_cells(
                t, np.int64(0), n_a, a_ord, a_cell, n0, n1, n2, reach, boxes[t], invs[t], widths[t], ortho, r_max,
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
            _, a_cell = _slots_and_cells(a_start, a_ord)
            a_id = _gather(ids_a, a_ord)
            b_id = _gather(ids_b, b_ord)
            for s in numba.prange(n_split):
                _knn_pruned_cells(
                    t, s * n_a // n_split, (s + 1) * n_a // n_split, a_ord, a_cell, n0, n1, n2, reach, boxes[t],
                    invs[t], widths[t], ortho, r_max, axs, ays, azs, a_id,
                    b_start, bxs, bys, bzs, b_ord, b_id, out_nb, out_d, out_cnt,
                )
