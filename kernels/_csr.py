"""Device-agnostic CSR neighbour rows: the driver of ``radius_neighbors`` on either device.

:func:`_radius_rows` composes the passes it is given (the CPU kernels or their
CUDA twins): :func:`count_neighbors` then :func:`fill_neighbors`, or, when the
rows are capped, one :func:`knn_neighbors` pass compacted by
:func:`_knn_to_csr`. Pure NumPy and no dispatch, so the CUDA twins can use it
without importing the public modules.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validation import _check_max_neighbors, _check_positions


def _radius_rows(
    func: str,
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    r_max: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    max_neighbors: int | None,
    count_neighbors: Callable[..., None],
    fill_neighbors: Callable[..., None],
    knn_neighbors: Callable[..., None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``radius_neighbors`` (same arguments and results) with the given passes of one device."""
    _check_max_neighbors(func, max_neighbors)
    pa = _check_positions(func, "pos_a", pos_a, None)
    if max_neighbors is not None:
        # One top-k pass: no count pass, and no full rows to sort and cut.
        m = int(max_neighbors)
        shape = (pa.shape[0], pa.shape[1])
        nbrs = np.empty(shape + (m,), dtype=np.int64)
        dist = np.empty(shape + (m,), dtype=np.float32)
        counts = np.empty(shape, dtype=np.int64)
        knn_neighbors(pa, pos_b, boxes, r_max, ids_a, ids_b, m, nbrs, dist, counts)
        return _knn_to_csr(nbrs, dist, counts, m)
    counts = np.empty((pa.shape[0], pa.shape[1]), dtype=np.int64)
    count_neighbors(pa, pos_b, boxes, r_max, ids_a, ids_b, counts)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts.ravel(), out=offsets[1:])
    neighbors = np.empty(offsets[-1], dtype=np.int64)
    distances = np.empty(offsets[-1], dtype=np.float32)
    fill_neighbors(pa, pos_b, boxes, r_max, ids_a, ids_b, offsets, neighbors, distances)
    return offsets, neighbors, distances


def _knn_to_csr(
    neighbors: np.ndarray, distances: np.ndarray, counts: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR rows (offsets, neighbours, distances) from top-k arrays: the first min(count, k) slots of each row."""
    kept = np.minimum(counts.ravel(), k)
    offsets = np.zeros(kept.size + 1, dtype=np.int64)
    np.cumsum(kept, out=offsets[1:])
    used = np.arange(k) < kept[:, None]
    return offsets, neighbors.reshape(-1, k)[used], distances.reshape(-1, k)[used]
