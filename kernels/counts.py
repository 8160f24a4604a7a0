"""Neighbour counts and neighbour lists within a cut-off, on the periodic cell list.

* :func:`neighbor_counts` : neighbours of every A atom per species of B.
* :func:`count_neighbors` then :func:`fill_neighbors` : a CSR neighbour list in
  two passes (counts, then rows sorted by distance into caller-given arrays).
* :func:`radius_neighbors` : both passes in one call, or one top-k pass of
  :func:`trajml.kernels.knn.knn_neighbors` when the rows are capped.

The kernels walk the 27-cell stencils of :mod:`trajml.kernels.cells` (see there
for the algorithm and the conventions). Rows are sorted by (float32 distance,
index) keys packed into one uint64, so ties are broken by index.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._csr import _radius_rows
from ._validation import (
    _check_count_args,
    _check_device,
    _check_fill_args,
    _check_neighbor_counts_args,
    _Prepared,
    _raise_nonfinite,
    _raise_offsets,
)
from .cells import _cells, _gather, _n_split, _per_frame, _stencil
from .knn import knn_neighbors

__all__ = ["neighbor_counts", "count_neighbors", "fill_neighbors", "radius_neighbors"]


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
        for tp in numba.prange(n_frames):
            t = np.int64(tp)  # prange indices are unsigned: one signature for the helpers
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            _count_cells(
                t, np.int64(0), n0 * n1 * n2, n0, n1, n2, boxes[t],
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
        for tp in numba.prange(n_frames):
            t = np.int64(tp)  # prange indices are unsigned: one signature for the helpers
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t, 0] = 1
            keys = np.empty(max_row + 1, dtype=np.uint64)
            if not _fill_cells(
                t, np.int64(0), n0 * n1 * n2, n0, n1, n2, boxes[t],
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


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


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
        from .cuda.counts import neighbor_counts as twin

        return twin(pos_a, pos_b, boxes, cutoff, ids_a, ids_b, species_b, n_species, out)
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
    # The kernel always counts into int64: one compiled signature for every caller's dtype (compiling
    # this kernel costs seconds on a fresh install).
    work = out if out.dtype == np.int64 else np.empty(out.shape, dtype=np.int64)
    _neighbor_counts_kernel(
        p.pos_a, p.pos_b, p.boxes, p.invs, p.ncells, p.ortho, cutoff, p.ids_a, p.ids_b, classes,
        _per_frame(n_frames), _n_split(), work, err,
    )
    _raise_nonfinite(func, err)
    if work is not out:
        out[...] = work


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
        from .cuda.counts import count_neighbors as twin

        return twin(pos_a, pos_b, boxes, r_max, ids_a, ids_b, out_counts)
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
        from .cuda.counts import fill_neighbors as twin

        return twin(pos_a, pos_b, boxes, r_max, ids_a, ids_b, offsets, out_neighbors, out_distances)
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
    ``max_neighbors`` one :func:`~trajml.kernels.knn.knn_neighbors` pass.
    There is no silent cap: without ``max_neighbors`` every neighbour within
    ``r_max`` is returned.

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
    if _check_device(func, device) == "cuda":
        from .cuda.counts import radius_neighbors as twin

        return twin(pos_a, pos_b, boxes, r_max, ids_a, ids_b, max_neighbors=max_neighbors)
    return _radius_rows(
        func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, max_neighbors, count_neighbors, fill_neighbors, knn_neighbors
    )
