"""CUDA twin of :func:`trajml.kernels.histograms.pair_histogram`.

One thread per (frame, atom of A) walks the atoms of B in shared-memory tiles;
pairs are binned into a per-block shared-memory histogram (int32, up to
``_SHARED_BINS`` bins) added to the global int64 histogram once per block.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba import float64, int32, int64

from .._validation import _check_histogram_args
from ._device import _THREADS, _check_cuda_device, _check_finite, _cuda, _device_inputs, _launch, _min_image_d2

__all__ = ["pair_histogram"]

#: Histograms with at most this many bins accumulate in shared memory first.
_SHARED_BINS = 2048


@functools.lru_cache(maxsize=None)
def _kernels() -> dict[str, Any]:
    """Compile-on-demand CUDA kernel (defined here so that importing this module needs no CUDA)."""
    # A module global, not a closure variable: the CUDA simulator swaps the kernels' global `cuda`.
    global cuda
    cuda = _cuda()
    min_image_d2 = _min_image_d2()

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

    return {"histogram": histogram}


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
    """CUDA twin of :func:`trajml.kernels.histograms.pair_histogram` (same parameters; adds to ``out``)."""
    func = "pair_histogram"
    _check_cuda_device(func, device)
    p, rmin, rmax, ma, mb, out = _check_histogram_args(
        func, pos_a, pos_b, boxes, r_min, r_max, ids_a, ids_b, mol_a, mol_b, out
    )
    n_frames, n_a, n_b = p.pos_a.shape[0], p.pos_a.shape[1], p.pos_b.shape[1]
    if n_frames == 0 or n_a == 0 or n_b == 0:
        return
    _check_finite(func, p)
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
