"""Periodic cell lists: the machinery every pair-search kernel of :mod:`trajml.kernels` shares.

The pair searches (:mod:`~trajml.kernels.histograms`, :mod:`~trajml.kernels.counts`,
:mod:`~trajml.kernels.knn` with :mod:`~trajml.kernels.knn_cells` and
:mod:`~trajml.kernels.knn_pruned`) look for pairs
``(i, j)`` of two atom selections A and B under the minimum-image convention of
a periodic box that may be orthorhombic or triclinic and may change from frame
to frame (NPT). They back the structure featurizers (radial distribution
functions, coordination numbers) and the graph builders (CSR neighbour lists
for graph networks).

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

Conventions shared by all pair-search kernels:

* ``pos_a``, ``pos_b`` : float32 ``(F, Na, 3)`` and ``(F, Nb, 3)`` in Å (other
  float dtypes are converted to float32); positions need not be wrapped.
* ``boxes`` : float32 or float64 ``(F, 3, 3)`` in Å with box vectors as rows.
* ``ids_a``, ``ids_b`` : int64 topology indices; a pair with equal ids is the
  same atom and is never counted. ``mol_a``, ``mol_b`` : int64 molecule ids.
* Distances are evaluated in float64 from the float32 positions; a pair is
  within ``r`` when ``d**2 < r**2``.
* ``r_max`` (or ``cutoff``) must be in ``(0, w_min / 2]`` for every frame, where
  ``w_min`` is the frame's shortest perpendicular box width.

The public functions validate their inputs (:mod:`trajml.kernels._validation`,
which also computes the per-chunk box inverses and cell grids) and call
compiled numba kernels (``nogil``, ``parallel`` over the frames of a chunk, or
over the cells of each frame when a chunk has fewer frames than twice the
threads: :func:`_per_frame`) that write into caller-given ``out`` arrays.
``device="cuda"`` runs the twins in :mod:`trajml.kernels.cuda` instead. Every
public kernel has a brute-force NumPy twin ``<name>_reference`` in
:mod:`trajml.kernels.reference` that the tests compare it against.

This module holds the compiled building blocks: binning the atoms of a frame
into cells (:func:`_bin_atoms`, :func:`_cells`), the stencil rows around a cell
(:func:`_stencil`), gathers into cell order, the cell of every slot, and the
distance from an atom to a slab of cells (:func:`_slab`).
"""

from __future__ import annotations

import math

import numba
import numpy as np


def _per_frame(n_frames: int) -> bool:
    """Parallelise over frames when there are enough of them, else over the cells of each frame."""
    return n_frames >= 2 * numba.get_num_threads()


def _n_split() -> int:
    """Work items per frame when a frame's cells are split over the threads: a few per thread, for balance."""
    return 4 * numba.get_num_threads()


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
    """``values[order]`` as a new array: per-atom ids, molecules or classes in cell order."""
    out = np.empty(order.shape[0], dtype=values.dtype)
    for k in range(order.shape[0]):
        out[k] = values[order[k]]
    return out


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


@numba.njit(nogil=True, cache=True)
def _slab(o: int, u: float, h: float) -> float:
    """Distance (Å) from a point at fraction ``u`` of its cell's width ``h`` to the slab of cells ``o`` away."""
    if o > 0:
        return (o - u) * h
    if o < 0:
        return (-o - 1 + u) * h
    return 0.0
