"""The k nearest neighbours within a cut-off, and their compaction into CSR rows.

:func:`knn_neighbors` works per cell of A on cells at least ``r_max`` wide: the
B atoms of the 27 cells around it are gathered once, image shifts applied, and
shared by every A atom of the cell. Per atom, one vectorised pass gives the
squared distances and the count within ``r_max``; the k smallest (float32
distance bits, index into B) keys among those within ``r_max`` (or within a
trial radius that holds at least k of them) are then selected branch-free, so
ties in float32 distance break by index. ``count_all=False`` caps the counts at
``k + 1``; where B is so dense that rows hold many times ``k + 1`` partners it
runs the pruned walk of :mod:`trajml.kernels.knn_pruned` instead (same rows).
:func:`knn_to_csr` turns the fixed-width rows into CSR arrays and
:func:`knn_neighbors_csr` produces CSR rows directly, frame by frame. See
:mod:`trajml.kernels.cells` for the cell list and the conventions shared by the
pair searches.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import knn_cells
from ._validation import (
    _cell_grid,
    _check_count_all,
    _check_device,
    _check_knn_args,
    _check_knn_inputs,
    _Prepared,
    _raise_nonfinite,
    _widths,
)
from .cells import _n_split, _per_frame
from .knn_cells import _knn_csr_kernel, _knn_kernel
from .knn_pruned import _knn_pruned_kernel, _pruned_reach

__all__ = ["knn_neighbors", "knn_neighbors_csr", "knn_to_csr"]


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


#: ``count_all=False`` walks the pruned search of :mod:`~trajml.kernels.knn_pruned` when B holds on
#: average more than this many times ``k + 1`` atoms within ``r_max`` of a point: its walk then stops
#: well inside the cut-off. Below it the gathered cells of :mod:`~trajml.kernels.knn_cells` are faster
#: (one CPU thread, 20 000 uniform atoms: 15 against 21 ms a frame at 6.4 times k + 1, r_max 7 Å, k = 12;
#: 44 against 38 ms at 13.5 times, r_max 9.3 Å, k = 24).
_PRUNED_ABOVE = 10.0


def _same(p: _Prepared) -> bool:
    """A and B are the same atoms (one array and equal ids): B then reuses A's cell list."""
    return p.pos_a is p.pos_b and (p.ids_a is p.ids_b or np.array_equal(p.ids_a, p.ids_b))


def _prune(n_b: int, boxes: np.ndarray, r_max: float, k: int) -> bool:
    """Whether ``count_all=False`` takes the pruned search (dense B relative to ``k``)."""
    volume = float(np.abs(np.linalg.det(boxes)).mean())
    within = n_b / volume * (4.0 / 3.0) * math.pi * r_max**3
    return within > _PRUNED_ABOVE * (k + 1)


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

    One pass: each row lists its nearest partners within ``r_max`` and counts
    them, so rows cut short are known (``out_counts > k``). Rows are ordered by
    the float32 distance, ties (equal float32 distances) by index into B. With
    ``count_all=True`` every partner within ``r_max`` is counted. With
    ``count_all=False`` the count stops at ``k + 1``, which still tells which
    rows were cut short; when B is dense enough that rows hold many times
    ``k + 1`` partners, the search is then pruned: finer cells are visited
    nearest first and the walk of a row stops once no further cell can hold one
    of its ``k + 1`` nearest partners. Neighbours and distances are the same
    either way.

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
        (False; the search is then pruned where B is dense). Neighbours and
        distances are the same.

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
    err = np.zeros(p.pos_a.shape[0], dtype=np.int8)
    _knn_frames(p, r, k, count_all, 0, p.pos_a.shape[0], out_nb, out_d, out_cnt, err)
    _raise_nonfinite(func, err)


def _knn_frames(p: _Prepared, r: float, k: int, count_all: bool, t0: int, t1: int, out_nb: np.ndarray,
                out_d: np.ndarray, out_cnt: np.ndarray, err: np.ndarray) -> None:
    """Run the CPU search over frames [t0, t1) of validated inputs into outputs holding those frames only."""
    n_a, n_b = p.pos_a.shape[1], p.pos_b.shape[1]
    if t1 <= t0 or n_a == 0:
        return
    if n_b == 0:
        out_nb[...] = -1
        out_d[...] = np.inf
        out_cnt[...] = 0
        return
    boxes = p.boxes[t0:t1]
    if not count_all and _prune(n_b, boxes, r, k):
        widths = _widths(boxes)
        reach = _pruned_reach(n_b, boxes, r)
        ncells = _cell_grid(widths, r / reach, max(n_a, n_b))
        _knn_pruned_kernel(
            p.pos_a[t0:t1], p.pos_b[t0:t1], boxes, p.invs[t0:t1], widths, ncells, reach, p.ortho, r, p.ids_a,
            p.ids_b, _per_frame(t1 - t0), _n_split(), out_nb, out_d, out_cnt, err[t0:t1],
        )
        return
    _knn_kernel(
        p.pos_a[t0:t1], p.pos_b[t0:t1], boxes, p.invs[t0:t1], p.ncells[t0:t1], p.ortho, r, count_all,
        knn_cells._TRIAL, knn_cells._GROW, p.ids_a, p.ids_b, _same(p), _per_frame(t1 - t0), _n_split(), out_nb, out_d,
        out_cnt, err[t0:t1],
    )


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


def knn_neighbors_csr(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    r_max: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    k: int,
    *,
    device: str = "cpu",
    count_all: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`knn_neighbors` followed by :func:`knn_to_csr`, through one small reused buffer.

    With enough frames to run parallel over frames, each frame's fixed-width
    rows go through a small per-frame buffer and are compacted at once, so the
    full ``(F, Na, k)`` arrays are never written and read back. The result
    equals ``knn_to_csr`` of :func:`knn_neighbors` over the same frames.

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
    device : {"cpu", "cuda"}
        Where to run.
    count_all : bool
        As in :func:`knn_neighbors`: count every partner within ``r_max``
        (True), or only up to ``k + 1`` (False, the default).

    Returns
    -------
    offsets : ndarray, shape (F * Na + 1,), int64
        Row ``t * Na + i`` (atom ``i`` of A in frame ``t``) holds entries
        ``offsets[r]:offsets[r + 1]``.
    neighbors : ndarray, int64
        Indices into B, each row nearest first, ties by index.
    distances : ndarray, float32
        Minimum-image distances in Å.
    counts : ndarray, shape (F, Na), int64
        B atoms within ``r_max`` (capped at ``k + 1`` unless ``count_all``);
        rows with ``counts > k`` were cut to the nearest ``k``.

    Raises
    ------
    ValueError, TypeError
        On bad shapes, dtypes or values, as :func:`knn_neighbors`.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.array([[[0.0, 0.0, 0.0], [9.0, 0.0, 0.0], [3.0, 0.0, 0.0]]], dtype=np.float32)
    >>> box = np.diag([10.0, 10.0, 10.0])[None]
    >>> ids = np.arange(3)
    >>> offsets, nbrs, dist, counts = knn_neighbors_csr(pos, pos, box, 2.5, ids, ids, 2)
    >>> offsets.tolist(), nbrs.tolist(), dist.tolist(), counts.tolist()
    ([0, 1, 2, 2], [1, 0], [1.0, 1.0], [[1, 1, 0]])
    """
    func = "knn_neighbors_csr"
    if _check_device(func, device) == "cuda":
        from .cuda.knn import knn_neighbors as twin

        p, r, k = _check_knn_inputs(func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, k)
        shape = p.pos_a.shape[:2]
        nbrs = np.empty(shape + (k,), dtype=np.int64)
        dist = np.empty(shape + (k,), dtype=np.float32)
        counts = np.empty(shape, dtype=np.int64)
        twin(p.pos_a, p.pos_b, p.boxes, r, p.ids_a, p.ids_b, k, nbrs, dist, counts, count_all=count_all)
        return (*knn_to_csr(nbrs, dist, counts, k), counts)
    p, r, k = _check_knn_inputs(func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, k)
    count_all = _check_count_all(func, count_all)
    n_frames, n_a, n_b = p.pos_a.shape[0], p.pos_a.shape[1], p.pos_b.shape[1]
    counts = np.empty((n_frames, n_a), dtype=np.int64)
    if n_b == 0 or not _per_frame(n_frames) or (not count_all and _prune(n_b, p.boxes, r, k)):
        # Few frames (parallel over cells) or dense rows (the pruned walk): rows first, then compaction.
        nbrs = np.empty((n_frames, n_a, k), dtype=np.int64)
        dist = np.empty((n_frames, n_a, k), dtype=np.float32)
        err = np.zeros(n_frames, dtype=np.int8)
        _knn_frames(p, r, k, count_all, 0, n_frames, nbrs, dist, counts, err)
        _raise_nonfinite(func, err)
        return (*knn_to_csr(nbrs, dist, counts, k), counts)
    offsets = np.empty(n_frames * n_a + 1, dtype=np.int64)
    # Upper bounds: only the pages of the entries written are touched.
    out_nb = np.empty(n_frames * n_a * k, dtype=np.int64)
    out_d = np.empty(n_frames * n_a * k, dtype=np.float32)
    err = np.zeros(n_frames, dtype=np.int8)
    _knn_csr_kernel(
        p.pos_a, p.pos_b, p.boxes, p.invs, p.ncells, p.ortho, r, count_all, knn_cells._TRIAL, knn_cells._GROW,
        p.ids_a, p.ids_b, _same(p), k, counts, offsets, out_nb, out_d, err,
    )
    _raise_nonfinite(func, err)
    e = int(offsets[-1])
    return offsets, out_nb[:e], out_d[:e], counts
