"""CUDA twin of :func:`trajml.kernels.knn.knn_neighbors`.

One thread per (frame, atom of A) keeps its sorted top-k buffer in its own
output row, (distance, index) with unused slots (+inf, -1), and counts every
partner within ``r_max``; ``count_all=False`` saturates the counts at ``k + 1``
afterwards, so rows and distances are the same either way.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba import float32, float64, int64

from .._validation import _check_count_all, _check_knn_args
from ._device import _THREADS, _check_cuda_device, _check_finite, _cuda, _device_inputs, _launch, _min_image_d2

__all__ = ["knn_neighbors"]


@functools.lru_cache(maxsize=None)
def _kernels() -> dict[str, Any]:
    """Compile-on-demand CUDA kernel (defined here so that importing this module needs no CUDA)."""
    # A module global, not a closure variable: the CUDA simulator swaps the kernels' global `cuda`.
    global cuda
    cuda = _cuda()
    min_image_d2 = _min_image_d2()

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

    return {"knn": knn}


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
    """CUDA twin of :func:`trajml.kernels.knn.knn_neighbors` (overwrites the three ``out`` arrays).

    Brute force over all pairs either way; ``count_all=False`` only saturates
    the counts at ``k + 1``, as on the CPU.
    """
    func = "knn_neighbors"
    _check_cuda_device(func, device)
    p, r, k, out_nb, out_d, out_cnt = _check_knn_args(
        func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, k, out_neighbors, out_distances, out_counts
    )
    count_all = _check_count_all(func, count_all)
    n_frames, n_a = p.pos_a.shape[0], p.pos_a.shape[1]
    if n_frames == 0 or n_a == 0:
        return
    _check_finite(func, p)
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
