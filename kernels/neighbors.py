"""Periodic pair-search kernels: pair-distance histograms, neighbour counts and lists.

Every kernel here searches pairs ``(i, j)`` of two atom selections A and B under
the minimum-image convention of a periodic box that may be orthorhombic or
triclinic and may change from frame to frame (NPT). They back the structure
featurizers (radial distribution functions, coordination numbers) and the
graph builders (CSR neighbour lists for graph networks).

Algorithm
---------
A periodic cell list in fractional coordinates ``s = x @ inv(B)`` (box vectors
as the rows of ``B``). Along axis ``k`` the box is cut into
``n_k = floor(w_k / r_max)`` slabs, where ``w_k = V / |b_i x b_j|`` is the
perpendicular width of the box along ``k``; every slab is then at least
``r_max`` thick, so any partner within ``r_max`` lies in one of the 27 cells
around an atom's cell, for any triclinic box. Each stencil offset carries an
explicit periodic image shift, so that with only one or two cells along an axis
every (cell, image) combination is still a distinct image of the partner.
Because ``r_max`` must not exceed half the shortest perpendicular width, at
most one image of a partner lies within ``r_max`` and no pair is counted twice.
The number of cells is capped at about one per atom (coarser cells stay exact).

Atoms are counting-sorted into cells once per frame, with wrapped float64
coordinates stored contiguously in cell order. Cells next to each other along
the last box vector with the same image shift are contiguous in that order, so
the pair loops walk ~9 rows of ~3 cells, each with one precomputed Cartesian
image shift: a triclinic box then costs nothing extra in the pair loops, and
orthorhombic boxes only take a cheaper path for fractional coordinates. Pairs
are screened branch-free on squared distances before any square root. When A
and B are the same atoms, histograms use half of the stencil and count each
unordered pair twice.

Conventions shared by all kernels here:

* ``pos_a``, ``pos_b`` : float32 ``(F, Na, 3)`` and ``(F, Nb, 3)`` in Å (other
  float dtypes are converted to float32); positions need not be wrapped.
* ``boxes`` : float32 or float64 ``(F, 3, 3)`` in Å with box vectors as rows.
* ``ids_a``, ``ids_b`` : int64 topology indices; a pair with equal ids is the
  same atom and is never counted. ``mol_a``, ``mol_b`` : int64 molecule ids.
* Distances are evaluated in float64 from the float32 positions; a pair is
  within ``r`` when ``d**2 < r**2``.
* ``r_max`` (or ``cutoff``) must be in ``(0, w_min / 2]`` for every frame, where
  ``w_min`` is the frame's shortest perpendicular box width.

The public functions validate their inputs and call compiled numba kernels
(``nogil``, ``parallel`` over the frames of a chunk, or over the cells of each
frame when a chunk has fewer frames than twice the threads) that write into
caller-given ``out`` arrays. ``device="cuda"`` runs the twins in
:mod:`trajml.kernels.neighbors_cuda` instead. Every public kernel has a brute-force
NumPy twin ``<name>_reference`` (same arguments, no validation) that
enumerates the 27 periodic images explicitly; the tests compare the two.

Layout
------
This module holds the public wrappers and the compiled numba kernels. Their
input validation (and the per-chunk box inverses and cell grids) lives in
:mod:`trajml.kernels._validation`; the NumPy references live in
:mod:`trajml.kernels.neighbors_reference` and are re-exported from here.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# The CUDA twins in neighbors_cuda reach the argument checks and the error
# helpers through this module (``neighbors._check_histogram_args`` and so on).
from ._validation import (
    _cell_grid,
    _check_count_all,
    _check_count_args,
    _check_device,
    _check_fill_args,
    _check_histogram_args,
    _check_knn_args,
    _check_neighbor_counts_args,
    _check_positions,
    _Prepared,
    _raise_nonfinite,
    _raise_offsets,
    _same_selection,
    _widths,
)
from .neighbors_reference import (
    _minimum_image_sq,
    count_neighbors_reference,
    fill_neighbors_reference,
    knn_neighbors_reference,
    neighbor_counts_reference,
    pair_histogram_reference,
    radius_neighbors_reference,
)

__all__ = [
    "pair_histogram",
    "neighbor_counts",
    "count_neighbors",
    "fill_neighbors",
    "radius_neighbors",
    "knn_neighbors",
    "knn_to_csr",
    "minimum_image_distances",
    "max_cutoff",
    "pair_histogram_reference",
    "neighbor_counts_reference",
    "count_neighbors_reference",
    "fill_neighbors_reference",
    "radius_neighbors_reference",
    "knn_neighbors_reference",
]


def _per_frame(n_frames: int) -> bool:
    """Parallelise over frames when there are enough of them, else over the cells of each frame."""
    return n_frames >= 2 * numba.get_num_threads()


def _n_split() -> int:
    return 4 * numba.get_num_threads()


# --------------------------------------------------------------------------- #
# numba kernels
# --------------------------------------------------------------------------- #


@numba.njit(nogil=True, cache=True)
def _bin_atoms(
    pos: np.ndarray, t: int, box: np.ndarray, inv: np.ndarray, n0: int, n1: int, n2: int, ortho: bool,
    start: np.ndarray, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray, order: np.ndarray,
) -> bool:
    """Counting-sort the atoms of frame ``t`` into the cells of a periodic grid.

    Writes ``start`` (ncell + 1 prefix offsets), the wrapped Cartesian
    coordinates ``xs, ys, zs`` (float64, Å) in cell order and ``order`` (the
    original atom index of each sorted slot; stable within a cell). Returns
    False when a coordinate is not finite (the atom is then put in cell 0).
    """
    n = pos.shape[1]
    ncell = n0 * n1 * n2
    cell = np.empty(n, dtype=np.int64)
    wrapped = np.empty((n, 3), dtype=np.float64)
    for c in range(ncell + 1):
        start[c] = 0
    ok = True
    for i in range(n):
        x = np.float64(pos[t, i, 0])
        y = np.float64(pos[t, i, 1])
        z = np.float64(pos[t, i, 2])
        if ortho:
            f0 = x * inv[0, 0]
            f1 = y * inv[1, 1]
            f2 = z * inv[2, 2]
        else:
            f0 = x * inv[0, 0] + y * inv[1, 0] + z * inv[2, 0]
            f1 = x * inv[0, 1] + y * inv[1, 1] + z * inv[2, 1]
            f2 = x * inv[0, 2] + y * inv[1, 2] + z * inv[2, 2]
        if not (math.isfinite(f0) and math.isfinite(f1) and math.isfinite(f2)):
            ok = False
            x = y = z = f0 = f1 = f2 = 0.0
        k0 = math.floor(f0)
        k1 = math.floor(f1)
        k2 = math.floor(f2)
        # Shift by whole box vectors only: an already wrapped position is kept bit for bit.
        if ortho:
            x -= k0 * box[0, 0]
            y -= k1 * box[1, 1]
            z -= k2 * box[2, 2]
        else:
            x -= k0 * box[0, 0] + k1 * box[1, 0] + k2 * box[2, 0]
            y -= k0 * box[0, 1] + k1 * box[1, 1] + k2 * box[2, 1]
            z -= k0 * box[0, 2] + k1 * box[1, 2] + k2 * box[2, 2]
        c0 = min(max(int((f0 - k0) * n0), 0), n0 - 1)
        c1 = min(max(int((f1 - k1) * n1), 0), n1 - 1)
        c2 = min(max(int((f2 - k2) * n2), 0), n2 - 1)
        c = (c0 * n1 + c1) * n2 + c2
        cell[i] = c
        wrapped[i, 0] = x
        wrapped[i, 1] = y
        wrapped[i, 2] = z
        start[c + 1] += 1
    for c in range(ncell):
        start[c + 1] += start[c]
    cursor = start[:ncell].copy()
    for i in range(n):
        c = cell[i]
        k = cursor[c]
        cursor[c] = k + 1
        xs[k] = wrapped[i, 0]
        ys[k] = wrapped[i, 1]
        zs[k] = wrapped[i, 2]
        order[k] = i
    return ok


@numba.njit(nogil=True, cache=True)
def _stencil(
    c: int, n0: int, n1: int, n2: int, box: np.ndarray, half: bool, b_start: np.ndarray,
    r0: np.ndarray, r1: np.ndarray, sx: np.ndarray, sy: np.ndarray, sz: np.ndarray,
) -> int:
    """Rows of B atoms around cell ``c``, each a slot range with one Cartesian image shift (Å).

    Walks the 27 offsets (14 with ``half``: the zero offset first, then the 13
    offsets lexicographically after it); each carries the periodic image shift
    that makes every (cell, offset) a distinct image. Cells adjacent along the
    last axis with the same shift are contiguous in cell order and are merged
    into one row, so the inner loops run over ~3 cells at a time. Writes
    ``[r0[m], r1[m])`` and the shift of each row, and returns the number of rows;
    with ``half`` row 0 starts at cell ``c`` (callers start it after atom i).
    """
    c2 = c % n2
    c1 = (c // n2) % n1
    c0 = c // (n1 * n2)
    m = 0
    for o0 in range(-1, 2):
        if half and o0 < 0:
            continue
        q0 = c0 + o0
        s0 = 0
        if q0 < 0:
            q0 += n0
            s0 = -1
        elif q0 >= n0:
            q0 -= n0
            s0 = 1
        for o1 in range(-1, 2):
            if half and o0 == 0 and o1 < 0:
                continue
            q1 = c1 + o1
            s1 = 0
            if q1 < 0:
                q1 += n1
                s1 = -1
            elif q1 >= n1:
                q1 -= n1
                s1 = 1
            base = (q0 * n1 + q1) * n2
            prev_q2 = -2
            prev_s2 = 0
            for o2 in range(-1, 2):
                if half and o0 == 0 and o1 == 0 and o2 < 0:
                    continue
                q2 = c2 + o2
                s2 = 0
                if q2 < 0:
                    q2 += n2
                    s2 = -1
                elif q2 >= n2:
                    q2 -= n2
                    s2 = 1
                if q2 == prev_q2 + 1 and s2 == prev_s2:
                    r1[m - 1] = b_start[base + q2 + 1]  # contiguous, same image: extend the row
                else:
                    r0[m] = b_start[base + q2]
                    r1[m] = b_start[base + q2 + 1]
                    sx[m] = s0 * box[0, 0] + s1 * box[1, 0] + s2 * box[2, 0]
                    sy[m] = s0 * box[0, 1] + s1 * box[1, 1] + s2 * box[2, 1]
                    sz[m] = s0 * box[0, 2] + s1 * box[1, 2] + s2 * box[2, 2]
                    m += 1
                prev_q2 = q2
                prev_s2 = s2
    return m


@numba.njit(nogil=True, cache=True)
def _cells(pos: np.ndarray, t: int, box: np.ndarray, inv: np.ndarray, n0: int, n1: int, n2: int, ortho: bool):
    """Allocate and fill the cell list of one selection in frame ``t``; returns (start, xs, ys, zs, order, ok)."""
    n = pos.shape[1]
    start = np.empty(n0 * n1 * n2 + 1, dtype=np.int64)
    xs = np.empty(n, dtype=np.float64)
    ys = np.empty(n, dtype=np.float64)
    zs = np.empty(n, dtype=np.float64)
    order = np.empty(n, dtype=np.int64)
    ok = _bin_atoms(pos, t, box, inv, n0, n1, n2, ortho, start, xs, ys, zs, order)
    return start, xs, ys, zs, order, ok


@numba.njit(nogil=True, cache=True)
def _gather(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = np.empty(order.shape[0], dtype=values.dtype)
    for k in range(order.shape[0]):
        out[k] = values[order[k]]
    return out


@numba.njit(nogil=True, cache=True)
def _hist_cells(
    c_lo: int, c_hi: int, n0: int, n1: int, n2: int, box: np.ndarray, half: bool,
    a_start: np.ndarray, axs: np.ndarray, ays: np.ndarray, azs: np.ndarray, a_id: np.ndarray, a_mol: np.ndarray,
    b_start: np.ndarray, bxs: np.ndarray, bys: np.ndarray, bzs: np.ndarray, b_id: np.ndarray, b_mol: np.ndarray,
    use_mol: bool, r_min: float, r_max2: float, dr: float, hist: np.ndarray,
) -> None:
    """Histogram the pairs of the A atoms in cells [c_lo, c_hi) into ``hist`` (+=)."""
    nb = hist.shape[0]
    r0 = np.empty(27, dtype=np.int64)
    r1 = np.empty(27, dtype=np.int64)
    sx = np.empty(27, dtype=np.float64)
    sy = np.empty(27, dtype=np.float64)
    sz = np.empty(27, dtype=np.float64)
    hits = np.empty(b_start[-1] + 1, dtype=np.int64)
    hit_d2 = np.empty(b_start[-1] + 1, dtype=np.float64)
    for c in range(c_lo, c_hi):
        i0 = a_start[c]
        i1 = a_start[c + 1]
        if i0 == i1:
            continue
        m = _stencil(c, n0, n1, n2, box, half, b_start, r0, r1, sx, sy, sz)
        for ia in range(i0, i1):
            idi = a_id[ia]
            moli = a_mol[ia] if use_mol else 0
            for s in range(m):
                j0 = r0[s]
                j1 = r1[s]
                if half and s == 0:
                    j0 = ia + 1  # own cell, no shift: each unordered pair once
                px = axs[ia] - sx[s]
                py = ays[ia] - sy[s]
                pz = azs[ia] - sz[s]
                # Pass 1, branch-free: compact the slots within r_max (about 1 in 6 candidates).
                nk = 0
                for jb in range(j0, j1):
                    dx = bxs[jb] - px
                    dy = bys[jb] - py
                    dz = bzs[jb] - pz
                    d2 = dx * dx + dy * dy + dz * dz
                    hits[nk] = jb
                    hit_d2[nk] = d2
                    nk += d2 < r_max2
                # Pass 2: exclusions and binning on the hits only.
                for q in range(nk):
                    jb = hits[q]
                    if b_id[jb] != idi and (not use_mol or b_mol[jb] != moli):
                        d = math.sqrt(hit_d2[q])
                        if d >= r_min:
                            k = int((d - r_min) / dr)
                            if k >= nb:
                                k = nb - 1
                            hist[k] += 1


@numba.njit(nogil=True, parallel=True, cache=True)
def _pair_histogram_kernel(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, invs: np.ndarray, ncells: np.ndarray, ortho: bool,
    r_min: float, r_max: float, ids_a: np.ndarray, ids_b: np.ndarray, mol_a: np.ndarray, mol_b: np.ndarray,
    use_mol: bool, half: bool, per_frame: bool, n_split: int, partial: np.ndarray, err: np.ndarray,
) -> None:
    """Pair-distance histogram of a chunk into ``partial[thread]`` (+=); ``err[t] = 1`` on non-finite input."""
    n_frames = pos_a.shape[0]
    n_bins = partial.shape[1]
    r_max2 = r_max * r_max
    dr = (r_max - r_min) / n_bins
    if per_frame:
        for t in numba.prange(n_frames):
            tid = numba.get_thread_id()
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if half:
                b_start, bxs, bys, bzs, b_ord, ok_b = a_start, axs, ays, azs, a_ord, ok_a
            else:
                b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            a_id = _gather(ids_a, a_ord)
            b_id = _gather(ids_b, b_ord)
            a_mol = _gather(mol_a, a_ord) if use_mol else mol_a
            b_mol = _gather(mol_b, b_ord) if use_mol else mol_b
            _hist_cells(
                0, n0 * n1 * n2, n0, n1, n2, boxes[t], half,
                a_start, axs, ays, azs, a_id, a_mol, b_start, bxs, bys, bzs, b_id, b_mol,
                use_mol, r_min, r_max2, dr, partial[tid],
            )
    else:
        for t in range(n_frames):
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            ncell = n0 * n1 * n2
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if half:
                b_start, bxs, bys, bzs, b_ord, ok_b = a_start, axs, ays, azs, a_ord, ok_a
            else:
                b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            a_id = _gather(ids_a, a_ord)
            b_id = _gather(ids_b, b_ord)
            a_mol = _gather(mol_a, a_ord) if use_mol else mol_a
            b_mol = _gather(mol_b, b_ord) if use_mol else mol_b
            for s in numba.prange(n_split):
                tid = numba.get_thread_id()
                _hist_cells(
                    s * ncell // n_split, (s + 1) * ncell // n_split, n0, n1, n2, boxes[t], half,
                    a_start, axs, ays, azs, a_id, a_mol, b_start, bxs, bys, bzs, b_id, b_mol,
                    use_mol, r_min, r_max2, dr, partial[tid],
                )


@numba.njit(nogil=True, cache=True)
def _count_cells(
    t: int, c_lo: int, c_hi: int, n0: int, n1: int, n2: int, box: np.ndarray,
    a_start: np.ndarray, axs: np.ndarray, ays: np.ndarray, azs: np.ndarray, a_ord: np.ndarray, a_id: np.ndarray,
    b_start: np.ndarray, bxs: np.ndarray, bys: np.ndarray, bzs: np.ndarray, b_cls: np.ndarray, b_id: np.ndarray,
    r_max2: float, out: np.ndarray,
) -> None:
    """Neighbour counts of the A atoms in cells [c_lo, c_hi): ``out[t, i, b_cls[j]]`` (overwritten)."""
    n_cls = out.shape[2]
    r0 = np.empty(27, dtype=np.int64)
    r1 = np.empty(27, dtype=np.int64)
    sx = np.empty(27, dtype=np.float64)
    sy = np.empty(27, dtype=np.float64)
    sz = np.empty(27, dtype=np.float64)
    acc = np.empty(n_cls, dtype=np.int64)
    for c in range(c_lo, c_hi):
        i0 = a_start[c]
        i1 = a_start[c + 1]
        if i0 == i1:
            continue
        m = _stencil(c, n0, n1, n2, box, False, b_start, r0, r1, sx, sy, sz)
        for ia in range(i0, i1):
            idi = a_id[ia]
            i = a_ord[ia]
            if n_cls == 1:
                # Branch-free count: the compiler can vectorise this loop.
                cnt = 0
                for s in range(m):
                    px = axs[ia] - sx[s]
                    py = ays[ia] - sy[s]
                    pz = azs[ia] - sz[s]
                    for jb in range(r0[s], r1[s]):
                        dx = bxs[jb] - px
                        dy = bys[jb] - py
                        dz = bzs[jb] - pz
                        cnt += (dx * dx + dy * dy + dz * dz < r_max2) & (b_id[jb] != idi)
                out[t, i, 0] = cnt
                continue
            acc[:] = 0
            for s in range(m):
                px = axs[ia] - sx[s]
                py = ays[ia] - sy[s]
                pz = azs[ia] - sz[s]
                for jb in range(r0[s], r1[s]):
                    dx = bxs[jb] - px
                    dy = bys[jb] - py
                    dz = bzs[jb] - pz
                    if dx * dx + dy * dy + dz * dz < r_max2 and b_id[jb] != idi:
                        acc[b_cls[jb]] += 1
            for k in range(n_cls):
                out[t, i, k] = acc[k]


@numba.njit(nogil=True, parallel=True, cache=True)
def _neighbor_counts_kernel(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, invs: np.ndarray, ncells: np.ndarray, ortho: bool,
    cutoff: float, ids_a: np.ndarray, ids_b: np.ndarray, cls_b: np.ndarray, per_frame: bool, n_split: int,
    out: np.ndarray, err: np.ndarray,
) -> None:
    """Neighbour counts per class of B, ``out`` (F, Na, n_cls), any integer dtype (overwritten).

    Serves both :func:`neighbor_counts` (classes = species) and
    :func:`count_neighbors` (one class).
    """
    n_frames = pos_a.shape[0]
    r_max2 = cutoff * cutoff
    if per_frame:
        for t in numba.prange(n_frames):
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            _count_cells(
                t, 0, n0 * n1 * n2, n0, n1, n2, boxes[t],
                a_start, axs, ays, azs, a_ord, _gather(ids_a, a_ord),
                b_start, bxs, bys, bzs, _gather(cls_b, b_ord), _gather(ids_b, b_ord), r_max2, out,
            )
    else:
        for t in range(n_frames):
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            ncell = n0 * n1 * n2
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            a_id = _gather(ids_a, a_ord)
            b_id = _gather(ids_b, b_ord)
            b_cls = _gather(cls_b, b_ord)
            for s in numba.prange(n_split):
                _count_cells(
                    t, s * ncell // n_split, (s + 1) * ncell // n_split, n0, n1, n2, boxes[t],
                    a_start, axs, ays, azs, a_ord, a_id, b_start, bxs, bys, bzs, b_cls, b_id, r_max2, out,
                )


@numba.njit(nogil=True, cache=True)
def _insertion_sort(keys: np.ndarray, n: int) -> None:
    """Sort ``keys[:n]`` in place; faster than a quicksort for the short rows of sparse systems."""
    for q in range(1, n):
        key = keys[q]
        p = q - 1
        while p >= 0 and keys[p] > key:
            keys[p + 1] = keys[p]
            p -= 1
        keys[p + 1] = key


@numba.njit(nogil=True, cache=True)
def _fill_cells(
    t: int, c_lo: int, c_hi: int, n0: int, n1: int, n2: int, box: np.ndarray,
    a_start: np.ndarray, axs: np.ndarray, ays: np.ndarray, azs: np.ndarray, a_ord: np.ndarray, a_id: np.ndarray,
    b_start: np.ndarray, bxs: np.ndarray, bys: np.ndarray, bzs: np.ndarray, b_ord: np.ndarray, b_id: np.ndarray,
    r_max2: float, offsets: np.ndarray, out_nb: np.ndarray, out_d: np.ndarray, keys: np.ndarray,
) -> bool:
    """Neighbour rows of the A atoms in cells [c_lo, c_hi), each sorted by (distance, index).

    Returns False when a row does not hold exactly ``offsets[r + 1] - offsets[r]``
    entries (nothing is written outside the row).
    """
    n_a = a_ord.shape[0]
    r0 = np.empty(27, dtype=np.int64)
    r1 = np.empty(27, dtype=np.int64)
    sx = np.empty(27, dtype=np.float64)
    sy = np.empty(27, dtype=np.float64)
    sz = np.empty(27, dtype=np.float64)
    hits = np.empty(b_start[-1] + 1, dtype=np.int64)
    hit_d2 = np.empty(b_start[-1] + 1, dtype=np.float64)
    one = np.empty(1, dtype=np.float32)
    one_bits = one.view(np.uint32)  # reinterprets a float32 distance as its bits
    cap = keys.shape[0]
    ok = True
    for c in range(c_lo, c_hi):
        i0 = a_start[c]
        i1 = a_start[c + 1]
        if i0 == i1:
            continue
        m = _stencil(c, n0, n1, n2, box, False, b_start, r0, r1, sx, sy, sz)
        for ia in range(i0, i1):
            idi = a_id[ia]
            row = t * n_a + a_ord[ia]
            lo = offsets[row]
            n = 0
            for s in range(m):
                px = axs[ia] - sx[s]
                py = ays[ia] - sy[s]
                pz = azs[ia] - sz[s]
                # Pass 1, branch-free: compact the slots within r_max.
                nk = 0
                for jb in range(r0[s], r1[s]):
                    dx = bxs[jb] - px
                    dy = bys[jb] - py
                    dz = bzs[jb] - pz
                    d2 = dx * dx + dy * dy + dz * dz
                    hits[nk] = jb
                    hit_d2[nk] = d2
                    nk += d2 < r_max2
                # Pass 2: sort keys (float32 distance bits, index); non-negative float32 bits order like the values.
                for q in range(nk):
                    jb = hits[q]
                    if b_id[jb] != idi:
                        if n < cap:
                            one[0] = np.float32(math.sqrt(hit_d2[q]))
                            keys[n] = (np.uint64(one_bits[0]) << np.uint64(32)) | np.uint64(b_ord[jb])
                        n += 1
            if n != offsets[row + 1] - lo:
                ok = False  # the caller's offsets disagree: write nothing
                continue
            if n <= 48:
                _insertion_sort(keys, n)
            else:
                keys[:n].sort()
            for q in range(n):
                key = keys[q]
                out_nb[lo + q] = np.int64(key & np.uint64(0xFFFFFFFF))
                one_bits[0] = np.uint32(key >> np.uint64(32))
                out_d[lo + q] = one[0]
    return ok


@numba.njit(nogil=True, parallel=True, cache=True)
def _fill_neighbors_kernel(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, invs: np.ndarray, ncells: np.ndarray, ortho: bool,
    r_max: float, ids_a: np.ndarray, ids_b: np.ndarray, offsets: np.ndarray, max_row: int,
    per_frame: bool, n_split: int, out_nb: np.ndarray, out_d: np.ndarray, err: np.ndarray,
) -> None:
    """CSR neighbour rows of a chunk; ``err[t, 0]``: non-finite input, ``err[t, 1]``: rows disagree with ``offsets``."""
    n_frames = pos_a.shape[0]
    r_max2 = r_max * r_max
    if per_frame:
        for t in numba.prange(n_frames):
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t, 0] = 1
            keys = np.empty(max_row + 1, dtype=np.uint64)
            if not _fill_cells(
                t, 0, n0 * n1 * n2, n0, n1, n2, boxes[t],
                a_start, axs, ays, azs, a_ord, _gather(ids_a, a_ord),
                b_start, bxs, bys, bzs, b_ord, _gather(ids_b, b_ord), r_max2, offsets, out_nb, out_d, keys,
            ):
                err[t, 1] = 1
    else:
        for t in range(n_frames):
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            ncell = n0 * n1 * n2
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t, 0] = 1
            a_id = _gather(ids_a, a_ord)
            b_id = _gather(ids_b, b_ord)
            for s in numba.prange(n_split):
                keys = np.empty(max_row + 1, dtype=np.uint64)
                if not _fill_cells(
                    t, s * ncell // n_split, (s + 1) * ncell // n_split, n0, n1, n2, boxes[t],
                    a_start, axs, ays, azs, a_ord, a_id, b_start, bxs, bys, bzs, b_ord, b_id,
                    r_max2, offsets, out_nb, out_d, keys,
                ):
                    err[t, 1] = 1


@numba.njit(nogil=True, cache=True)
def _slab(o: int, u: float, h: float) -> float:
    """Distance (Å) from a point at fraction ``u`` of its cell's width ``h`` to the slab of cells ``o`` away."""
    if o > 0:
        return (o - u) * h
    if o < 0:
        return (-o - 1 + u) * h
    return 0.0


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


@numba.njit(nogil=True, cache=True)
def _slots_and_cells(start: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slot of every atom (inverse of ``order``) and the cell of every slot."""
    n = order.shape[0]
    slot = np.empty(n, dtype=np.int64)
    cell = np.empty(n, dtype=np.int64)
    for k in range(n):
        slot[order[k]] = k
    for c in range(start.shape[0] - 1):
        for k in range(start[c], start[c + 1]):
            cell[k] = c
    return slot, cell


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
        for t in numba.prange(n_frames):
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            a_slot, a_cell = _slots_and_cells(a_start, a_ord)
            _knn_cells(
                t, 0, n_a, a_slot, a_cell, n0, n1, n2, reach, boxes[t], invs[t], widths[t], ortho, r_max, order01,
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
    """k nearest neighbours of a chunk with counts saturated at k + 1 (overwritten); ``err[t] = 1`` on non-finite input."""
    n_frames = pos_a.shape[0]
    n_a = pos_a.shape[1]
    if per_frame:
        for t in numba.prange(n_frames):
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            _, a_cell = _slots_and_cells(a_start, a_ord)
            _knn_pruned_cells(
                t, 0, n_a, a_ord, a_cell, n0, n1, n2, reach, boxes[t], invs[t], widths[t], ortho, r_max,
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


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def _cuda():
    from . import neighbors_cuda

    return neighbors_cuda


def pair_histogram(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    r_min: float,
    r_max: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    mol_a: np.ndarray | None,
    mol_b: np.ndarray | None,
    out: np.ndarray,
    *,
    device: str = "cpu",
) -> None:
    """Add the minimum-image pair-distance histogram of a chunk to ``out``.

    Counts ordered pairs ``(i, j)``, ``i`` in A and ``j`` in B, over all frames,
    whose distance ``d`` lies in ``[r_min, r_max)``, in ``n_bins = len(out)``
    equal bins: ``bin = floor((d - r_min) / ((r_max - r_min) / n_bins))``
    (clipped to ``n_bins - 1`` against rounding at the top edge). When A and B
    are the same atoms each unordered pair counts twice, as in MDAnalysis'
    ``InterRDF``.

    Parameters
    ----------
    pos_a : ndarray, shape (F, Na, 3), float32
        Positions of selection A in Å (other float dtypes are converted).
    pos_b : ndarray, shape (F, Nb, 3), float32
        Positions of selection B in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices with the box vectors as rows, in Å; orthorhombic or
        triclinic, may change per frame.
    r_min : float
        Lower edge of the first bin in Å, ``0 <= r_min < r_max``.
    r_max : float
        Upper edge of the last bin in Å, at most half the shortest
        perpendicular box width of every frame (see :func:`max_cutoff`).
    ids_a, ids_b : ndarray, shape (Na,) and (Nb,), int64
        Topology indices; pairs with ``ids_a[i] == ids_b[j]`` are skipped.
    mol_a, mol_b : ndarray, shape (Na,) and (Nb,), int64, or None
        Molecule ids; when given, pairs in the same molecule are skipped.
        Both or neither must be given.
    out : ndarray, shape (n_bins,), int64
        Histogram the counts are added to (``+=``); ``n_bins >= 1``.
    device : {"cpu", "cuda"}
        Where to run; ``"cuda"`` uses :mod:`trajml.kernels.neighbors_cuda`.

    Raises
    ------
    ValueError
        On bad shapes or values (``r_max`` beyond half the box width names
        the frame), or non-finite coordinates (naming the frame; ``out`` is
        then left unchanged).
    TypeError
        On wrong dtypes or non-array arguments.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.array([[[0.0, 0.0, 0.0], [9.0, 0.0, 0.0]]], dtype=np.float32)
    >>> box = np.diag([10.0, 10.0, 10.0])[None]
    >>> ids = np.arange(2)
    >>> out = np.zeros(5, dtype=np.int64)
    >>> pair_histogram(pos, pos, box, 0.0, 5.0, ids, ids, None, None, out)
    >>> out  # the two ordered pairs at 1 Å (minimum image)
    array([0, 2, 0, 0, 0])
    """
    func = "pair_histogram"
    if _check_device(func, device) == "cuda":
        return _cuda().pair_histogram(pos_a, pos_b, boxes, r_min, r_max, ids_a, ids_b, mol_a, mol_b, out)
    p, rmin, rmax, ma, mb, out = _check_histogram_args(
        func, pos_a, pos_b, boxes, r_min, r_max, ids_a, ids_b, mol_a, mol_b, out
    )
    n_frames = p.pos_a.shape[0]
    if n_frames == 0 or p.pos_a.shape[1] == 0 or p.pos_b.shape[1] == 0:
        return
    half = _same_selection(p, ma, mb)
    use_mol = ma is not None
    empty = np.empty(0, dtype=np.int64)
    # One row per worker of numba's pool: get_thread_id() < NUMBA_NUM_THREADS always.
    partial = np.zeros((numba.config.NUMBA_NUM_THREADS, out.shape[0]), dtype=np.int64)
    err = np.zeros(n_frames, dtype=np.int8)
    _pair_histogram_kernel(
        p.pos_a, p.pos_a if half else p.pos_b, p.boxes, p.invs, p.ncells, p.ortho, rmin, rmax,
        p.ids_a, p.ids_b, ma if use_mol else empty, mb if use_mol else empty, use_mol, half,
        _per_frame(n_frames), _n_split(), partial, err,
    )
    _raise_nonfinite(func, err)
    total = partial.sum(axis=0)
    out += 2 * total if half else total


def neighbor_counts(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    cutoff: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    species_b: np.ndarray,
    n_species: int,
    out: np.ndarray,
    *,
    device: str = "cpu",
) -> None:
    """Count the neighbours of every A atom within ``cutoff``, split by species of B.

    Parameters
    ----------
    pos_a : ndarray, shape (F, Na, 3), float32
        Positions of selection A in Å.
    pos_b : ndarray, shape (F, Nb, 3), float32
        Positions of selection B in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices with the box vectors as rows, in Å.
    cutoff : float
        Neighbour cut-off in Å (``d < cutoff``), at most half the shortest
        perpendicular box width of every frame.
    ids_a, ids_b : ndarray, shape (Na,) and (Nb,), int64
        Topology indices; ``j`` with ``ids_b[j] == ids_a[i]`` is not a neighbour of ``i``.
    species_b : ndarray, shape (Nb,), int32
        Species code of each B atom, in ``[0, n_species)``.
    n_species : int
        Number of species codes.
    out : ndarray, shape (F, Na, n_species), int32
        Overwritten with the counts.
    device : {"cpu", "cuda"}
        Where to run.

    Raises
    ------
    ValueError, TypeError
        On bad shapes, dtypes or values (see :func:`pair_histogram`).
    """
    func = "neighbor_counts"
    if _check_device(func, device) == "cuda":
        return _cuda().neighbor_counts(pos_a, pos_b, boxes, cutoff, ids_a, ids_b, species_b, n_species, out)
    p, c, species, _, out = _check_neighbor_counts_args(
        func, pos_a, pos_b, boxes, cutoff, ids_a, ids_b, species_b, n_species, out
    )
    _run_counts(func, p, c, species, out)


def _run_counts(func: str, p: _Prepared, cutoff: float, classes: np.ndarray, out: np.ndarray) -> None:
    n_frames = p.pos_a.shape[0]
    if n_frames == 0 or p.pos_a.shape[1] == 0:
        return
    if p.pos_b.shape[1] == 0:
        out[...] = 0
        return
    err = np.zeros(n_frames, dtype=np.int8)
    _neighbor_counts_kernel(
        p.pos_a, p.pos_b, p.boxes, p.invs, p.ncells, p.ortho, cutoff, p.ids_a, p.ids_b, classes,
        _per_frame(n_frames), _n_split(), out, err,
    )
    _raise_nonfinite(func, err)


def count_neighbors(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    r_max: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    out_counts: np.ndarray,
    *,
    device: str = "cpu",
) -> None:
    """Count the B atoms within ``r_max`` of every A atom (pass 1 of a neighbour list).

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
    out_counts : ndarray, shape (F, Na), int64
        Overwritten with the number of neighbours of each A atom per frame.
    device : {"cpu", "cuda"}
        Where to run.

    See Also
    --------
    fill_neighbors : pass 2, given ``offsets`` from the prefix sum of the counts.
    radius_neighbors : both passes in one call.
    """
    func = "count_neighbors"
    if _check_device(func, device) == "cuda":
        return _cuda().count_neighbors(pos_a, pos_b, boxes, r_max, ids_a, ids_b, out_counts)
    p, r, out_counts = _check_count_args(func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, out_counts)
    zeros = np.zeros(p.pos_b.shape[1], dtype=np.int32)
    _run_counts(func, p, r, zeros, out_counts.reshape(out_counts.shape + (1,)))


def fill_neighbors(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    r_max: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    offsets: np.ndarray,
    out_neighbors: np.ndarray,
    out_distances: np.ndarray,
    *,
    device: str = "cpu",
) -> None:
    """Write the neighbour lists of every A atom, sorted by distance (pass 2).

    Row ``r = t * Na + i`` (frame ``t``, atom ``i`` of A) occupies
    ``offsets[r]:offsets[r + 1]`` and is sorted by increasing distance, ties
    by neighbour index.

    Parameters
    ----------
    pos_a : ndarray, shape (F, Na, 3), float32
        Positions of selection A in Å.
    pos_b : ndarray, shape (F, Nb, 3), float32
        Positions of selection B in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices with the box vectors as rows, in Å.
    r_max : float
        Cut-off in Å (``d < r_max``); the same as given to :func:`count_neighbors`.
    ids_a, ids_b : ndarray, shape (Na,) and (Nb,), int64
        Topology indices; equal ids are never neighbours.
    offsets : ndarray, shape (F * Na + 1,), int64
        Exclusive prefix sum of :func:`count_neighbors`' counts flattened
        row-major over (frame, atom).
    out_neighbors : ndarray, shape (offsets[-1],), int64
        Written with neighbour indices into B (``0 .. Nb - 1``).
    out_distances : ndarray, shape (offsets[-1],), float32
        Written with the minimum-image distances in Å.
    device : {"cpu", "cuda"}
        Where to run.

    Raises
    ------
    ValueError
        Also when a row's number of neighbours disagrees with ``offsets``.
    """
    func = "fill_neighbors"
    if _check_device(func, device) == "cuda":
        return _cuda().fill_neighbors(pos_a, pos_b, boxes, r_max, ids_a, ids_b, offsets, out_neighbors, out_distances)
    p, r, offsets, out_nb, out_d = _check_fill_args(
        func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, offsets, out_neighbors, out_distances
    )
    n_frames = p.pos_a.shape[0]
    if n_frames == 0 or p.pos_a.shape[1] == 0:
        return
    max_row = int(np.diff(offsets).max())
    err = np.zeros((n_frames, 2), dtype=np.int8)
    _fill_neighbors_kernel(
        p.pos_a, p.pos_b, p.boxes, p.invs, p.ncells, p.ortho, r, p.ids_a, p.ids_b, offsets, max_row,
        _per_frame(n_frames), _n_split(), out_nb, out_d, err,
    )
    _raise_nonfinite(func, err[:, 0])
    _raise_offsets(func, err[:, 1])


def radius_neighbors(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    r_max: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    *,
    max_neighbors: int | None = None,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour lists within ``r_max`` as CSR arrays, optionally the M nearest only.

    Runs :func:`count_neighbors` then :func:`fill_neighbors`, or with
    ``max_neighbors`` one :func:`knn_neighbors` pass. There is no silent cap:
    without ``max_neighbors`` every neighbour within ``r_max`` is returned.

    Parameters
    ----------
    pos_a : ndarray, shape (F, Na, 3), float32
        Positions of selection A in Å.
    pos_b : ndarray, shape (F, Nb, 3), float32
        Positions of selection B in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices with the box vectors as rows, in Å.
    r_max : float
        Cut-off in Å (``d < r_max``).
    ids_a, ids_b : ndarray, shape (Na,) and (Nb,), int64
        Topology indices; equal ids are never neighbours.
    max_neighbors : int, optional
        Keep at most this many nearest neighbours per row (ties by index).
    device : {"cpu", "cuda"}
        Where to run.

    Returns
    -------
    offsets : ndarray, shape (F * Na + 1,), int64
        Row ``t * Na + i`` is ``offsets[r]:offsets[r + 1]``.
    neighbors : ndarray, shape (offsets[-1],), int64
        Indices into B, each row sorted by increasing distance.
    distances : ndarray, shape (offsets[-1],), float32
        Minimum-image distances in Å.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.array([[[0.0, 0.0, 0.0], [9.0, 0.0, 0.0], [3.0, 0.0, 0.0]]], dtype=np.float32)
    >>> box = np.diag([10.0, 10.0, 10.0])[None]
    >>> ids = np.arange(3)
    >>> offsets, nbrs, dist = radius_neighbors(pos, pos, box, 4.0, ids, ids)
    >>> offsets.tolist(), nbrs.tolist(), dist.tolist()
    ([0, 2, 3, 4], [1, 2, 0, 0], [1.0, 3.0, 1.0, 3.0])
    """
    func = "radius_neighbors"
    _check_device(func, device)
    if max_neighbors is not None and (
        isinstance(max_neighbors, (bool, np.bool_))
        or not isinstance(max_neighbors, (int, np.integer))
        or max_neighbors < 1
    ):
        raise ValueError(
            f"The 'max_neighbors' parameter of {func} must be None or an int >= 1. Got {max_neighbors!r} instead."
        )
    pa = _check_positions(func, "pos_a", pos_a, None)
    if max_neighbors is not None:
        # One top-k pass: no count pass, and no full rows to sort and cut.
        m = int(max_neighbors)
        shape = (pa.shape[0], pa.shape[1])
        nbrs = np.empty(shape + (m,), dtype=np.int64)
        dist = np.empty(shape + (m,), dtype=np.float32)
        counts = np.empty(shape, dtype=np.int64)
        knn_neighbors(pa, pos_b, boxes, r_max, ids_a, ids_b, m, nbrs, dist, counts, device=device)
        return _knn_to_csr(nbrs, dist, counts, m)
    counts = np.empty((pa.shape[0], pa.shape[1]), dtype=np.int64)
    count_neighbors(pa, pos_b, boxes, r_max, ids_a, ids_b, counts, device=device)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts.ravel(), out=offsets[1:])
    neighbors = np.empty(offsets[-1], dtype=np.int64)
    distances = np.empty(offsets[-1], dtype=np.float32)
    fill_neighbors(pa, pos_b, boxes, r_max, ids_a, ids_b, offsets, neighbors, distances, device=device)
    return offsets, neighbors, distances


#: Cells of the k-nearest search are at least ``r_max / _KNN_REACH`` wide and
#: the stencil spans ``2 * _KNN_REACH + 1`` cells along each axis, trimmed to the
#: cut-off sphere of each atom. Finer cells (2, 3) examine fewer candidates but
#: cost more per row; on uniform beads at 0.058 and 0.0068 Å⁻³ (r_max = 7 Å,
#: k = 12) 1 was fastest, since every pair within r_max must be counted anyway.
_KNN_REACH = 1

#: The pruned search (``count_all=False``) picks cells holding about this many
#: B atoms on average: finer cells bound the distance to a cell more tightly,
#: coarser ones cost less per visit.
_PRUNED_ATOMS_PER_CELL = 2.5

#: Largest reach of the pruned search (its stencils hold ``(2 reach + 1)**3`` cells).
_PRUNED_MAX_REACH = 4

#: Force the pruned reach (tests); None picks it from the density of B.
_PRUNED_REACH: int | None = None


def _pruned_reach(n_b: int, boxes: np.ndarray, r_max: float) -> int:
    """Reach of the pruned search: cells about ``_PRUNED_ATOMS_PER_CELL`` atoms of B big, at least ``r_max / reach`` wide."""
    if _PRUNED_REACH is not None:
        return int(_PRUNED_REACH)
    volume = float(np.abs(np.linalg.det(boxes)).mean())
    width = (_PRUNED_ATOMS_PER_CELL * volume / max(n_b, 1)) ** (1.0 / 3.0)
    return int(min(max(math.ceil(r_max / width), 1), _PRUNED_MAX_REACH))


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
        On bad shapes, dtypes or values (see :func:`pair_histogram`).

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
        return _cuda().knn_neighbors(
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


def _knn_to_csr(
    neighbors: np.ndarray, distances: np.ndarray, counts: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR rows (offsets, neighbours, distances) from top-k arrays: the first min(count, k) slots of each row."""
    kept = np.minimum(counts.ravel(), k)
    offsets = np.zeros(kept.size + 1, dtype=np.int64)
    np.cumsum(kept, out=offsets[1:])
    used = np.arange(k) < kept[:, None]
    return offsets, neighbors.reshape(-1, k)[used], distances.reshape(-1, k)[used]


def max_cutoff(boxes: np.ndarray) -> float:
    """The largest cut-off the minimum-image pair search accepts for these boxes.

    Parameters
    ----------
    boxes : ndarray, shape (F, 3, 3) or (3, 3), float
        Box matrices with the box vectors as rows, in Å.

    Returns
    -------
    float
        Half the smallest perpendicular box width over all frames, in Å.

    Examples
    --------
    >>> import numpy as np
    >>> max_cutoff(np.diag([20.0, 30.0, 40.0]))
    10.0
    """
    b = np.asarray(boxes, dtype=np.float64)
    if b.shape == (3, 3):
        b = b[None]
    if b.ndim != 3 or b.shape[1:] != (3, 3) or b.shape[0] == 0:
        raise ValueError(
            "The 'boxes' parameter of max_cutoff must have shape (F, 3, 3) with F >= 1 or (3, 3). "
            f"Got shape {b.shape} instead."
        )
    return float(0.5 * _widths(b).min())


def minimum_image_distances(pos_a: np.ndarray, pos_b: np.ndarray, box: np.ndarray) -> np.ndarray:
    """All minimum-image distances between two sets of positions in one frame.

    The difference vectors are wrapped in fractional coordinates and the 27
    neighbouring images of each are searched explicitly, which is exact for
    any triclinic box when the distance is below half the shortest
    perpendicular width (and an upper bound beyond). Brute force, O(Na Nb):
    the oracle of the tests, and a helper for small systems.

    Parameters
    ----------
    pos_a : ndarray, shape (Na, 3), float
        Positions in Å.
    pos_b : ndarray, shape (Nb, 3), float
        Positions in Å.
    box : ndarray, shape (3, 3), float
        Box matrix with the box vectors as rows, in Å.

    Returns
    -------
    ndarray, shape (Na, Nb), float64
        Distances in Å.

    Examples
    --------
    >>> import numpy as np
    >>> minimum_image_distances(np.zeros((1, 3)), np.array([[9.0, 0.0, 0.0]]), np.diag([10.0, 10.0, 10.0]))
    array([[1.]])
    """
    a = np.asarray(pos_a, dtype=np.float64)
    b = np.asarray(pos_b, dtype=np.float64)
    bx = np.asarray(box, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3 or b.ndim != 2 or b.shape[1] != 3:
        raise ValueError(
            f"The 'pos_a' and 'pos_b' parameters of minimum_image_distances must have shapes (Na, 3) and (Nb, 3). "
            f"Got {a.shape} and {b.shape} instead."
        )
    if bx.shape != (3, 3):
        raise ValueError(
            f"The 'box' parameter of minimum_image_distances must have shape (3, 3). Got shape {bx.shape} instead."
        )
    return np.sqrt(_minimum_image_sq(a, b, bx))


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
