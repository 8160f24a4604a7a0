"""CUDA twins of :mod:`trajml.kernels.counts`: neighbour counts, CSR rows, radius neighbours.

Counts: one thread per (frame, atom of A) owns its output row. Rows of
:func:`fill_neighbors` are written in index order and then heap-sorted in place
by (distance, index), with no scratch memory. :func:`radius_neighbors` composes
these twins (or :func:`trajml.kernels.cuda.knn.knn_neighbors` when the rows are
capped) with the same driver as the CPU.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba import float64, int32, int64

from .._csr import _radius_rows
from .._validation import _check_count_args, _check_fill_args, _check_neighbor_counts_args, _raise_offsets
from ._device import _THREADS, _check_cuda_device, _check_finite, _cuda, _device_inputs, _launch, _min_image_d2
from .knn import knn_neighbors

__all__ = ["neighbor_counts", "count_neighbors", "fill_neighbors", "radius_neighbors"]


@functools.lru_cache(maxsize=None)
def _kernels() -> dict[str, Any]:
    """Compile-on-demand CUDA kernels (defined here so that importing this module needs no CUDA)."""
    # A module global, not a closure variable: the CUDA simulator swaps the kernels' global `cuda`.
    global cuda
    cuda = _cuda()
    min_image_d2 = _min_image_d2()

    @cuda.jit
    def counts(pos_a, pos_b, boxes, invs, ortho, t0, r_max2, ids_a, ids_b, cls_b, out):
        t = t0 + cuda.blockIdx.y
        tx = cuda.threadIdx.x
        i = cuda.blockIdx.x * _THREADS + tx
        n_a = pos_a.shape[1]
        n_b = pos_b.shape[1]
        sx = cuda.shared.array(_THREADS, float64)
        sy = cuda.shared.array(_THREADS, float64)
        sz = cuda.shared.array(_THREADS, float64)
        sid = cuda.shared.array(_THREADS, int64)
        scls = cuda.shared.array(_THREADS, int32)
        active = i < n_a
        xi = yi = zi = 0.0
        idi = 0
        if active:
            xi = float64(pos_a[t, i, 0])
            yi = float64(pos_a[t, i, 1])
            zi = float64(pos_a[t, i, 2])
            idi = ids_a[i]
            for k in range(out.shape[2]):
                out[t, i, k] = 0
        box = boxes[t]
        inv = invs[t]
        for j0 in range(0, n_b, _THREADS):
            cuda.syncthreads()
            j = j0 + tx
            if j < n_b:
                sx[tx] = float64(pos_b[t, j, 0])
                sy[tx] = float64(pos_b[t, j, 1])
                sz[tx] = float64(pos_b[t, j, 2])
                sid[tx] = ids_b[j]
                scls[tx] = cls_b[j]
            cuda.syncthreads()
            if active:
                for k in range(min(_THREADS, n_b - j0)):
                    d2 = min_image_d2(sx[k] - xi, sy[k] - yi, sz[k] - zi, ortho, box, inv)
                    if d2 < r_max2 and sid[k] != idi:
                        out[t, i, scls[k]] += 1  # this thread owns row (t, i)

    @cuda.jit(device=True, inline=True)
    def before(dist, nbr, p, q):
        return dist[p] < dist[q] or (dist[p] == dist[q] and nbr[p] < nbr[q])

    @cuda.jit(device=True)
    def sift_down(dist, nbr, lo, root, end):
        while True:
            child = 2 * root + 1
            if child > end:
                return
            if child + 1 <= end and before(dist, nbr, lo + child, lo + child + 1):
                child += 1
            if before(dist, nbr, lo + root, lo + child):
                d = dist[lo + root]
                dist[lo + root] = dist[lo + child]
                dist[lo + child] = d
                n = nbr[lo + root]
                nbr[lo + root] = nbr[lo + child]
                nbr[lo + child] = n
                root = child
            else:
                return

    @cuda.jit(device=True)
    def heapsort_row(dist, nbr, lo, n):
        """In-place heapsort of one row by (distance, index): O(n log n), no scratch memory."""
        for start in range(n // 2 - 1, -1, -1):
            sift_down(dist, nbr, lo, start, n - 1)
        for end in range(n - 1, 0, -1):
            d = dist[lo]
            dist[lo] = dist[lo + end]
            dist[lo + end] = d
            m = nbr[lo]
            nbr[lo] = nbr[lo + end]
            nbr[lo + end] = m
            sift_down(dist, nbr, lo, 0, end - 1)

    @cuda.jit
    def fill(pos_a, pos_b, boxes, invs, ortho, t0, r_max2, ids_a, ids_b, offsets, out_nb, out_d, err):
        t = t0 + cuda.blockIdx.y
        tx = cuda.threadIdx.x
        i = cuda.blockIdx.x * _THREADS + tx
        n_a = pos_a.shape[1]
        n_b = pos_b.shape[1]
        sx = cuda.shared.array(_THREADS, float64)
        sy = cuda.shared.array(_THREADS, float64)
        sz = cuda.shared.array(_THREADS, float64)
        sid = cuda.shared.array(_THREADS, int64)
        active = i < n_a
        xi = yi = zi = 0.0
        idi = 0
        lo = hi = cursor = 0
        if active:
            xi = float64(pos_a[t, i, 0])
            yi = float64(pos_a[t, i, 1])
            zi = float64(pos_a[t, i, 2])
            idi = ids_a[i]
            lo = offsets[t * n_a + i]
            hi = offsets[t * n_a + i + 1]
            cursor = lo
        box = boxes[t]
        inv = invs[t]
        for j0 in range(0, n_b, _THREADS):
            cuda.syncthreads()
            j = j0 + tx
            if j < n_b:
                sx[tx] = float64(pos_b[t, j, 0])
                sy[tx] = float64(pos_b[t, j, 1])
                sz[tx] = float64(pos_b[t, j, 2])
                sid[tx] = ids_b[j]
            cuda.syncthreads()
            if active:
                for k in range(min(_THREADS, n_b - j0)):
                    d2 = min_image_d2(sx[k] - xi, sy[k] - yi, sz[k] - zi, ortho, box, inv)
                    if d2 < r_max2 and sid[k] != idi:
                        if cursor < hi:
                            out_nb[cursor] = j0 + k
                            out_d[cursor] = math.sqrt(d2)
                        cursor += 1
        if active:
            if cursor != hi:
                err[t] = 1
            else:
                heapsort_row(out_d, out_nb, lo, hi - lo)

    return {"counts": counts, "fill": fill}


def _counts(func: str, p: Any, cutoff: float, classes: np.ndarray, out: np.ndarray) -> None:
    n_frames, n_a = p.pos_a.shape[0], p.pos_a.shape[1]
    if n_frames == 0 or n_a == 0:
        return
    _check_finite(func, p)
    cuda = _cuda()
    d_out = cuda.device_array(out.shape, dtype=out.dtype)
    d_a, d_b, d_boxes, d_invs = _device_inputs(cuda, p)
    _launch(
        _kernels()["counts"], n_frames, n_a,
        d_a, d_b, d_boxes, d_invs, p.ortho, cutoff * cutoff,
        cuda.to_device(p.ids_a), cuda.to_device(p.ids_b), cuda.to_device(classes), d_out,
    )
    d_out.copy_to_host(out)


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
    device: str = "cuda",
) -> None:
    """CUDA twin of :func:`trajml.kernels.counts.neighbor_counts` (overwrites ``out``)."""
    func = "neighbor_counts"
    _check_cuda_device(func, device)
    p, c, species, _, out = _check_neighbor_counts_args(
        func, pos_a, pos_b, boxes, cutoff, ids_a, ids_b, species_b, n_species, out
    )
    _counts(func, p, c, species, out)


def count_neighbors(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    r_max: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    out_counts: np.ndarray,
    *,
    device: str = "cuda",
) -> None:
    """CUDA twin of :func:`trajml.kernels.counts.count_neighbors` (overwrites ``out_counts``)."""
    func = "count_neighbors"
    _check_cuda_device(func, device)
    p, r, out_counts = _check_count_args(func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, out_counts)
    classes = np.zeros(p.pos_b.shape[1], dtype=np.int32)
    _counts(func, p, r, classes, out_counts.reshape(out_counts.shape + (1,)))


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
    device: str = "cuda",
) -> None:
    """CUDA twin of :func:`trajml.kernels.counts.fill_neighbors` (rows sorted by distance, then index)."""
    func = "fill_neighbors"
    _check_cuda_device(func, device)
    p, r, offsets, out_nb, out_d = _check_fill_args(
        func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, offsets, out_neighbors, out_distances
    )
    n_frames, n_a = p.pos_a.shape[0], p.pos_a.shape[1]
    if n_frames == 0 or n_a == 0:
        return
    _check_finite(func, p)
    cuda = _cuda()
    n_pairs = out_nb.shape[0]
    d_nb = cuda.device_array(max(n_pairs, 1), dtype=np.int64)
    d_d = cuda.device_array(max(n_pairs, 1), dtype=np.float32)
    d_err = cuda.to_device(np.zeros(n_frames, dtype=np.int8))
    d_a, d_b, d_boxes, d_invs = _device_inputs(cuda, p)
    _launch(
        _kernels()["fill"], n_frames, n_a,
        d_a, d_b, d_boxes, d_invs, p.ortho, r * r,
        cuda.to_device(p.ids_a), cuda.to_device(p.ids_b), cuda.to_device(offsets), d_nb, d_d, d_err,
    )
    _raise_offsets(func, d_err.copy_to_host())
    if n_pairs:
        d_nb.copy_to_host(out_nb)
        d_d.copy_to_host(out_d)


def radius_neighbors(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    r_max: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    *,
    max_neighbors: int | None = None,
    device: str = "cuda",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CUDA twin of :func:`trajml.kernels.counts.radius_neighbors`."""
    func = "radius_neighbors"
    _check_cuda_device(func, device)
    return _radius_rows(
        func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, max_neighbors, count_neighbors, fill_neighbors, knn_neighbors
    )
