"""CUDA twins of the pair-search kernels in :mod:`trajml.kernels.neighbors`.

Same public signatures and results as the CPU kernels (select them with
``device="cuda"`` there, or call these directly). Brute force on the GPU: one
thread per (frame, atom of A) walks every atom of B, which is staged through
shared memory in tiles of ``_THREADS``. Histograms accumulate in a per-block
shared-memory histogram (int32) that is added to a global int64 histogram with
``cuda.atomic.add``. The k-nearest search keeps each thread's sorted top-k
buffer in its own output row.

Minimum image: the difference vector is wrapped in fractional coordinates,
``g = f - rint(f)``, and mapped back with the box. This is exact for every
distance below half the shortest perpendicular width ``w``, which the callers
guarantee for ``r_max``: a minimum image ``v`` with ``|v| < w / 2`` has
fractional components ``|g_k| <= |v| / w_k < 1/2``, so it is the one ``rint``
selects. (Longer differences may come out longer than their minimum image,
but they are beyond ``r_max`` either way.) Distances are evaluated in float64,
as on the CPU, so counts agree exactly.

:mod:`numba.cuda` is imported on first use only. Without a GPU, set
``NUMBA_ENABLE_CUDASIM=1`` before :mod:`numba.cuda` is first imported to run
these kernels on numba's CUDA simulator (slow; for tests).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba import float32, float64, int32, int64
from numba.core import config as _numba_config

from . import neighbors as _cpu

__all__ = [
    "pair_histogram", "neighbor_counts", "count_neighbors", "fill_neighbors", "radius_neighbors", "knn_neighbors",
]

#: Threads per block, also the tile of B atoms staged in shared memory (the
#: simulator runs every thread as a Python thread: keep its blocks small).
_THREADS = 32 if _numba_config.ENABLE_CUDASIM else 128
#: Histograms with at most this many bins accumulate in shared memory first.
_SHARED_BINS = 2048
#: CUDA's limit on the second grid dimension (frames per launch).
_MAX_GRID_Y = 65535


def _cuda() -> Any:
    """numba.cuda, or a RuntimeError that says what is missing."""
    try:
        from numba import cuda
    except ImportError as exc:  # pragma: no cover - depends on the numba build
        raise RuntimeError(
            "device='cuda' needs numba's CUDA target, which could not be imported "
            f"({exc}); install the 'cuda' extra (pip install 'trajml[cuda]') or use device='cpu'."
        ) from exc
    if not cuda.is_available():
        raise RuntimeError(
            "device='cuda' found no usable CUDA GPU (no device, driver or CUDA toolkit) and numba's CUDA "
            "simulator is off. Use device='cpu', or set NUMBA_ENABLE_CUDASIM=1 before numba.cuda is first "
            "imported to run the CUDA kernels on the (slow) simulator."
        )
    return cuda


@functools.lru_cache(maxsize=None)
def _kernels() -> dict[str, Any]:
    """Compile-on-demand CUDA kernels (defined here so that importing this module needs no CUDA)."""
    # A module global, not a closure variable: the CUDA simulator swaps the kernels' global `cuda`.
    global cuda
    cuda = _cuda()

    @cuda.jit(device=True, inline=True)
    def min_image_d2(dx, dy, dz, ortho, box, inv):
        if ortho:
            dx -= box[0, 0] * math.floor(dx * inv[0, 0] + 0.5)
            dy -= box[1, 1] * math.floor(dy * inv[1, 1] + 0.5)
            dz -= box[2, 2] * math.floor(dz * inv[2, 2] + 0.5)
            return dx * dx + dy * dy + dz * dz
        f0 = dx * inv[0, 0] + dy * inv[1, 0] + dz * inv[2, 0]
        f1 = dx * inv[0, 1] + dy * inv[1, 1] + dz * inv[2, 1]
        f2 = dx * inv[0, 2] + dy * inv[1, 2] + dz * inv[2, 2]
        f0 -= math.floor(f0 + 0.5)
        f1 -= math.floor(f1 + 0.5)
        f2 -= math.floor(f2 + 0.5)
        wx = f0 * box[0, 0] + f1 * box[1, 0] + f2 * box[2, 0]
        wy = f0 * box[0, 1] + f1 * box[1, 1] + f2 * box[2, 1]
        wz = f0 * box[0, 2] + f1 * box[1, 2] + f2 * box[2, 2]
        return wx * wx + wy * wy + wz * wz

    @cuda.jit
    def histogram(pos_a, pos_b, boxes, invs, ortho, t0, r_min, r_max2, dr, ids_a, ids_b, mol_a, mol_b, use_mol, hist):
        t = t0 + cuda.blockIdx.y
        tx = cuda.threadIdx.x
        i = cuda.blockIdx.x * _THREADS + tx
        n_a = pos_a.shape[1]
        n_b = pos_b.shape[1]
        n_bins = hist.shape[0]
        local = n_bins <= _SHARED_BINS
        sh_hist = cuda.shared.array(_SHARED_BINS, int32)
        sx = cuda.shared.array(_THREADS, float64)
        sy = cuda.shared.array(_THREADS, float64)
        sz = cuda.shared.array(_THREADS, float64)
        sid = cuda.shared.array(_THREADS, int64)
        smol = cuda.shared.array(_THREADS, int64)
        if local:
            for k in range(tx, n_bins, _THREADS):
                sh_hist[k] = 0
        active = i < n_a
        xi = yi = zi = 0.0
        idi = moli = 0
        if active:
            xi = float64(pos_a[t, i, 0])
            yi = float64(pos_a[t, i, 1])
            zi = float64(pos_a[t, i, 2])
            idi = ids_a[i]
            if use_mol:
                moli = mol_a[i]
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
                if use_mol:
                    smol[tx] = mol_b[j]
            cuda.syncthreads()
            if active:
                for k in range(min(_THREADS, n_b - j0)):
                    d2 = min_image_d2(sx[k] - xi, sy[k] - yi, sz[k] - zi, ortho, box, inv)
                    if d2 < r_max2 and sid[k] != idi and (not use_mol or smol[k] != moli):
                        d = math.sqrt(d2)
                        if d >= r_min:
                            b = int((d - r_min) / dr)
                            if b >= n_bins:
                                b = n_bins - 1
                            if local:
                                cuda.atomic.add(sh_hist, b, 1)
                            else:
                                cuda.atomic.add(hist, b, 1)
        cuda.syncthreads()
        if local:
            for k in range(tx, n_bins, _THREADS):
                if sh_hist[k] != 0:
                    cuda.atomic.add(hist, k, int64(sh_hist[k]))

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

    @cuda.jit
    def knn(pos_a, pos_b, boxes, invs, ortho, t0, r_max2, ids_a, ids_b, out_nb, out_d, out_cnt):
        t = t0 + cuda.blockIdx.y
        tx = cuda.threadIdx.x
        i = cuda.blockIdx.x * _THREADS + tx
        n_a = pos_a.shape[1]
        n_b = pos_b.shape[1]
        k = out_nb.shape[2]
        sx = cuda.shared.array(_THREADS, float64)
        sy = cuda.shared.array(_THREADS, float64)
        sz = cuda.shared.array(_THREADS, float64)
        sid = cuda.shared.array(_THREADS, int64)
        active = i < n_a
        xi = yi = zi = 0.0
        idi = 0
        cnt = 0
        if active:
            xi = float64(pos_a[t, i, 0])
            yi = float64(pos_a[t, i, 1])
            zi = float64(pos_a[t, i, 2])
            idi = ids_a[i]
            # The thread's own output row is its sorted top-k buffer: (distance, index), unused = (+inf, -1).
            for q in range(k):
                out_nb[t, i, q] = -1
                out_d[t, i, q] = math.inf
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
                for m in range(min(_THREADS, n_b - j0)):
                    d2 = min_image_d2(sx[m] - xi, sy[m] - yi, sz[m] - zi, ortho, box, inv)
                    if d2 < r_max2 and sid[m] != idi:
                        cnt += 1
                        d = float32(math.sqrt(d2))
                        jj = j0 + m
                        # Candidates arrive in index order, so an equal distance never displaces an entry.
                        if d < out_d[t, i, k - 1]:
                            p = k - 1
                            while p > 0 and out_d[t, i, p - 1] > d:
                                out_d[t, i, p] = out_d[t, i, p - 1]
                                out_nb[t, i, p] = out_nb[t, i, p - 1]
                                p -= 1
                            out_d[t, i, p] = d
                            out_nb[t, i, p] = jj
        if active:
            out_cnt[t, i] = cnt

    return {"histogram": histogram, "counts": counts, "fill": fill, "knn": knn}


def _check_cuda_device(func: str, device: object) -> None:
    if device != "cuda":
        raise ValueError(
            f"The 'device' parameter of neighbors_cuda.{func} must be 'cuda'. Got {device!r} instead; "
            "call trajml.kernels.neighbors for other devices."
        )


def _launch(kernel: Any, n_frames: int, n_a: int, *args: Any) -> None:
    """Launch over (atom blocks, frames), in frame batches that fit CUDA's grid limit."""
    if n_frames == 0 or n_a == 0:
        return
    blocks = (n_a + _THREADS - 1) // _THREADS
    for t0 in range(0, n_frames, _MAX_GRID_Y):
        grid = (blocks, min(_MAX_GRID_Y, n_frames - t0))
        kernel[grid, _THREADS](*args[:5], t0, *args[5:])


def _device_inputs(cuda: Any, p: Any) -> tuple[Any, Any, Any, Any]:
    return (
        cuda.to_device(p.pos_a),
        cuda.to_device(p.pos_b),
        cuda.to_device(p.boxes),
        cuda.to_device(p.invs),
    )


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
    device: str = "cuda",
) -> None:
    """CUDA twin of :func:`trajml.kernels.neighbors.pair_histogram` (same parameters; adds to ``out``)."""
    func = "pair_histogram"
    _check_cuda_device(func, device)
    p, rmin, rmax, ma, mb, out = _cpu._check_histogram_args(
        func, pos_a, pos_b, boxes, r_min, r_max, ids_a, ids_b, mol_a, mol_b, out
    )
    n_frames, n_a, n_b = p.pos_a.shape[0], p.pos_a.shape[1], p.pos_b.shape[1]
    if n_frames == 0 or n_a == 0 or n_b == 0:
        return
    _cpu._raise_nonfinite(func, ~np.isfinite(p.pos_a).all(axis=(1, 2)) | ~np.isfinite(p.pos_b).all(axis=(1, 2)))
    cuda = _cuda()
    use_mol = ma is not None
    dummy = np.zeros(1, dtype=np.int64)
    hist = cuda.to_device(np.zeros(out.shape[0], dtype=np.int64))
    d_a, d_b, d_boxes, d_invs = _device_inputs(cuda, p)
    _launch(
        _kernels()["histogram"], n_frames, n_a,
        d_a, d_b, d_boxes, d_invs, p.ortho, rmin, rmax * rmax, (rmax - rmin) / out.shape[0],
        cuda.to_device(p.ids_a), cuda.to_device(p.ids_b),
        cuda.to_device(ma if use_mol else dummy), cuda.to_device(mb if use_mol else dummy), use_mol, hist,
    )
    out += hist.copy_to_host()


def _counts(func: str, p: Any, cutoff: float, classes: np.ndarray, out: np.ndarray) -> None:
    n_frames, n_a = p.pos_a.shape[0], p.pos_a.shape[1]
    if n_frames == 0 or n_a == 0:
        return
    _cpu._raise_nonfinite(func, ~np.isfinite(p.pos_a).all(axis=(1, 2)) | ~np.isfinite(p.pos_b).all(axis=(1, 2)))
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
    """CUDA twin of :func:`trajml.kernels.neighbors.neighbor_counts` (overwrites ``out``)."""
    func = "neighbor_counts"
    _check_cuda_device(func, device)
    p, c, species, _, out = _cpu._check_neighbor_counts_args(
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
    """CUDA twin of :func:`trajml.kernels.neighbors.count_neighbors` (overwrites ``out_counts``)."""
    func = "count_neighbors"
    _check_cuda_device(func, device)
    p, r, out_counts = _cpu._check_count_args(func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, out_counts)
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
    """CUDA twin of :func:`trajml.kernels.neighbors.fill_neighbors` (rows sorted by distance, then index)."""
    func = "fill_neighbors"
    _check_cuda_device(func, device)
    p, r, offsets, out_nb, out_d = _cpu._check_fill_args(
        func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, offsets, out_neighbors, out_distances
    )
    n_frames, n_a = p.pos_a.shape[0], p.pos_a.shape[1]
    if n_frames == 0 or n_a == 0:
        return
    _cpu._raise_nonfinite(func, ~np.isfinite(p.pos_a).all(axis=(1, 2)) | ~np.isfinite(p.pos_b).all(axis=(1, 2)))
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
    _cpu._raise_offsets(func, d_err.copy_to_host())
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
    """CUDA twin of :func:`trajml.kernels.neighbors.radius_neighbors`."""
    return _cpu.radius_neighbors(pos_a, pos_b, boxes, r_max, ids_a, ids_b, max_neighbors=max_neighbors, device="cuda")


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
    device: str = "cuda",
    count_all: bool = True,
) -> None:
    """CUDA twin of :func:`trajml.kernels.neighbors.knn_neighbors` (overwrites the three ``out`` arrays).

    Brute force over all pairs either way; ``count_all=False`` only saturates
    the counts at ``k + 1``, as on the CPU.
    """
    func = "knn_neighbors"
    _check_cuda_device(func, device)
    p, r, k, out_nb, out_d, out_cnt = _cpu._check_knn_args(
        func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, k, out_neighbors, out_distances, out_counts
    )
    count_all = _cpu._check_count_all(func, count_all)
    n_frames, n_a = p.pos_a.shape[0], p.pos_a.shape[1]
    if n_frames == 0 or n_a == 0:
        return
    _cpu._raise_nonfinite(func, ~np.isfinite(p.pos_a).all(axis=(1, 2)) | ~np.isfinite(p.pos_b).all(axis=(1, 2)))
    cuda = _cuda()
    d_nb = cuda.device_array(out_nb.shape, dtype=np.int64)
    d_d = cuda.device_array(out_d.shape, dtype=np.float32)
    d_cnt = cuda.device_array(out_cnt.shape, dtype=np.int64)
    d_a, d_b, d_boxes, d_invs = _device_inputs(cuda, p)
    _launch(
        _kernels()["knn"], n_frames, n_a,
        d_a, d_b, d_boxes, d_invs, p.ortho, r * r,
        cuda.to_device(p.ids_a), cuda.to_device(p.ids_b), d_nb, d_d, d_cnt,
    )
    d_nb.copy_to_host(out_nb)
    d_d.copy_to_host(out_d)
    d_cnt.copy_to_host(out_cnt)
    if not count_all:
        np.minimum(out_cnt, k + 1, out=out_cnt)
