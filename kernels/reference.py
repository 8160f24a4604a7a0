"""NumPy references of every kernel of :mod:`trajml.kernels`: slow, obvious twins the tests compare against.

Each compiled kernel ``<name>`` has a twin ``<name>_reference`` here with the
same arguments and no validation (unless noted):

* pair search (:mod:`~trajml.kernels.histograms`, :mod:`~trajml.kernels.counts`,
  :mod:`~trajml.kernels.knn`): brute force over all pairs, enumerating the 27
  periodic images of every pair explicitly (exact for any triclinic box below
  half the shortest perpendicular width).

Pure NumPy; nothing here is compiled, and no other kernel module is imported
but the geometry and validation helpers, so every module may re-export these.
"""

from __future__ import annotations

import numpy as np

from .geometry import _minimum_image_sq

__all__ = [
    "pair_histogram_reference",
    "neighbor_counts_reference",
    "count_neighbors_reference",
    "fill_neighbors_reference",
    "radius_neighbors_reference",
    "knn_neighbors_reference",
]


# --------------------------------------------------------------------------- #
# pair search
# --------------------------------------------------------------------------- #


def _truncate_rows(offsets: np.ndarray, neighbors: np.ndarray, distances: np.ndarray, m: int):
    counts = np.diff(offsets)
    keep_counts = np.minimum(counts, m)
    within = np.arange(neighbors.shape[0], dtype=np.int64) - np.repeat(offsets[:-1], counts)
    keep = within < m
    new_offsets = np.zeros_like(offsets)
    np.cumsum(keep_counts, out=new_offsets[1:])
    return new_offsets, neighbors[keep], distances[keep]


def _reference_masks(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, t: int, r_max: float, ids_a: np.ndarray, ids_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    d2 = _minimum_image_sq(pos_a[t].astype(np.float64), pos_b[t].astype(np.float64), boxes[t])
    mask = (d2 < r_max * r_max) & (np.asarray(ids_a)[:, None] != np.asarray(ids_b)[None, :])
    return d2, mask


def pair_histogram_reference(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, r_min: float, r_max: float,
    ids_a: np.ndarray, ids_b: np.ndarray, mol_a: np.ndarray | None, mol_b: np.ndarray | None, out: np.ndarray,
) -> None:
    """NumPy twin of :func:`~trajml.kernels.histograms.pair_histogram` (no validation)."""
    n_bins = out.shape[0]
    dr = (r_max - r_min) / n_bins
    for t in range(pos_a.shape[0]):
        d2, mask = _reference_masks(pos_a, pos_b, boxes, t, r_max, ids_a, ids_b)
        if mol_a is not None:
            mask &= np.asarray(mol_a)[:, None] != np.asarray(mol_b)[None, :]
        d = np.sqrt(d2[mask])
        d = d[d >= r_min]
        k = np.clip(np.floor((d - r_min) / dr).astype(np.int64), 0, n_bins - 1)
        out += np.bincount(k, minlength=n_bins)


def neighbor_counts_reference(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, cutoff: float, ids_a: np.ndarray, ids_b: np.ndarray,
    species_b: np.ndarray, n_species: int, out: np.ndarray,
) -> None:
    """NumPy twin of :func:`~trajml.kernels.counts.neighbor_counts` (no validation)."""
    onehot = np.eye(n_species, dtype=np.int64)[np.asarray(species_b)]
    for t in range(pos_a.shape[0]):
        _, mask = _reference_masks(pos_a, pos_b, boxes, t, cutoff, ids_a, ids_b)
        out[t] = mask.astype(np.int64) @ onehot


def count_neighbors_reference(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, r_max: float, ids_a: np.ndarray, ids_b: np.ndarray,
    out_counts: np.ndarray,
) -> None:
    """NumPy twin of :func:`~trajml.kernels.counts.count_neighbors` (no validation)."""
    for t in range(pos_a.shape[0]):
        _, mask = _reference_masks(pos_a, pos_b, boxes, t, r_max, ids_a, ids_b)
        out_counts[t] = mask.sum(axis=1)


def fill_neighbors_reference(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, r_max: float, ids_a: np.ndarray, ids_b: np.ndarray,
    offsets: np.ndarray, out_neighbors: np.ndarray, out_distances: np.ndarray,
) -> None:
    """NumPy twin of :func:`~trajml.kernels.counts.fill_neighbors` (no validation beyond the row lengths)."""
    n_a = pos_a.shape[1]
    for t in range(pos_a.shape[0]):
        d2, mask = _reference_masks(pos_a, pos_b, boxes, t, r_max, ids_a, ids_b)
        for i in range(n_a):
            j = np.flatnonzero(mask[i])
            d = np.sqrt(d2[i, j]).astype(np.float32)
            order = np.lexsort((j, d))
            lo, hi = offsets[t * n_a + i], offsets[t * n_a + i + 1]
            if hi - lo != j.size:
                raise ValueError(f"offsets disagree with the neighbour count of row {t * n_a + i}.")
            out_neighbors[lo:hi] = j[order]
            out_distances[lo:hi] = d[order]


def radius_neighbors_reference(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, r_max: float, ids_a: np.ndarray, ids_b: np.ndarray,
    *, max_neighbors: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NumPy twin of :func:`~trajml.kernels.counts.radius_neighbors` (no validation)."""
    counts = np.empty(pos_a.shape[:2], dtype=np.int64)
    count_neighbors_reference(pos_a, pos_b, boxes, r_max, ids_a, ids_b, counts)
    offsets = np.concatenate([[0], np.cumsum(counts.ravel())]).astype(np.int64)
    neighbors = np.empty(offsets[-1], dtype=np.int64)
    distances = np.empty(offsets[-1], dtype=np.float32)
    fill_neighbors_reference(pos_a, pos_b, boxes, r_max, ids_a, ids_b, offsets, neighbors, distances)
    if max_neighbors is not None:
        return _truncate_rows(offsets, neighbors, distances, int(max_neighbors))
    return offsets, neighbors, distances


def knn_neighbors_reference(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, r_max: float, ids_a: np.ndarray, ids_b: np.ndarray,
    k: int, out_neighbors: np.ndarray, out_distances: np.ndarray, out_counts: np.ndarray, *,
    count_all: bool = True,
) -> None:
    """NumPy twin of :func:`~trajml.kernels.knn.knn_neighbors`; ``count_all=False`` caps the counts at k + 1."""
    out_neighbors[...] = -1
    out_distances[...] = np.inf
    for t in range(pos_a.shape[0]):
        d2, mask = _reference_masks(pos_a, pos_b, boxes, t, r_max, ids_a, ids_b)
        out_counts[t] = mask.sum(axis=1) if count_all else np.minimum(mask.sum(axis=1), k + 1)
        for i in range(pos_a.shape[1]):
            j = np.flatnonzero(mask[i])
            d = np.sqrt(d2[i, j]).astype(np.float32)
            keep = np.lexsort((j, d))[:k]
            out_neighbors[t, i, : keep.size] = j[keep]
            out_distances[t, i, : keep.size] = d[keep]
