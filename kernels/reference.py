"""NumPy references of every kernel of :mod:`trajml.kernels`: slow, obvious twins the tests compare against.

Each compiled kernel ``<name>`` has a twin ``<name>_reference`` here with the
same arguments and no validation (unless noted):

* pair search (:mod:`~trajml.kernels.histograms`, :mod:`~trajml.kernels.counts`,
  :mod:`~trajml.kernels.knn`): brute force over all pairs, enumerating the 27
  periodic images of every pair explicitly (exact for any triclinic box below
  half the shortest perpendicular width);
* displacement moments (:mod:`~trajml.kernels.correlation`): loops over lags,
  vectorised over time origins;
* no-jump unwrapping (:mod:`~trajml.kernels.unwrap`): image counts from
  ``np.rint`` of the fractional steps and a cumulative sum.

Pure NumPy; nothing here is compiled, and no other kernel module is imported
but the geometry and validation helpers, so every module may re-export these.
"""

from __future__ import annotations

import numpy as np

from ._validation import _check_moments
from .geometry import _minimum_image_sq

__all__ = [
    "pair_histogram_reference",
    "neighbor_counts_reference",
    "count_neighbors_reference",
    "fill_neighbors_reference",
    "radius_neighbors_reference",
    "shell_groups_reference",
    "knn_neighbors_reference",
    "knn_neighbors_csr_reference",
    "msd_fft_reference",
    "msd_fft_run_sums_reference",
    "displacement_moments_fft_reference",
    "displacement_moments_direct_reference",
    "segment_weighted_sums_reference",
    "box_inverses_reference",
    "fractional_coordinates_reference",
    "image_shift_reference",
    "image_jumps_reference",
    "apply_images_reference",
    "nojump_unwrap_reference",
    "frame_extents_reference",
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


def shell_groups_reference(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, cutoff: float, ids_a: np.ndarray, ids_b: np.ndarray,
    group_b: np.ndarray, n_groups: int, *, index_a: np.ndarray | None = None, index_b: np.ndarray | None = None,
    mol_a: np.ndarray | None = None, mol_b: np.ndarray | None = None,
) -> np.ndarray:
    """NumPy twin of :func:`~trajml.kernels.shells.shell_groups` (no validation)."""
    ia = np.arange(pos_a.shape[1]) if index_a is None else np.asarray(index_a)
    ib = np.arange(pos_b.shape[1]) if index_b is None else np.asarray(index_b)
    keys = []
    for t in range(pos_a.shape[0]):
        within = _minimum_image_sq(pos_a[t, ia], pos_b[t, ib], boxes[t]) < cutoff * cutoff
        within &= np.asarray(ids_a)[:, None] != np.asarray(ids_b)[None, :]
        if mol_a is not None:
            within &= np.asarray(mol_a)[:, None] != np.asarray(mol_b)[None, :]
        i, j = np.nonzero(within)
        keys.append((t * ia.size + i) * n_groups + np.asarray(group_b)[j])
    return np.unique(np.concatenate(keys)).astype(np.int64) if keys else np.empty(0, np.int64)


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


def knn_neighbors_csr_reference(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, r_max: float, ids_a: np.ndarray, ids_b: np.ndarray,
    k: int, *, count_all: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """NumPy twin of :func:`~trajml.kernels.knn.knn_neighbors_csr`: the reference rows, compacted."""
    shape = (pos_a.shape[0], pos_a.shape[1])
    nbrs = np.empty(shape + (k,), dtype=np.int64)
    dist = np.empty(shape + (k,), dtype=np.float32)
    counts = np.empty(shape, dtype=np.int64)
    knn_neighbors_reference(pos_a, pos_b, boxes, r_max, ids_a, ids_b, k, nbrs, dist, counts, count_all=count_all)
    kept = np.minimum(counts.reshape(-1), k)
    offsets = np.concatenate([[0], np.cumsum(kept)]).astype(np.int64)
    used = np.arange(k) < kept[:, None]
    return offsets, nbrs.reshape(-1, k)[used], dist.reshape(-1, k)[used], counts


# --------------------------------------------------------------------------- #
# displacement moments
# --------------------------------------------------------------------------- #


def displacement_moments_direct_reference(positions: np.ndarray, out_msd: np.ndarray,
                                          out_m4: np.ndarray | None) -> None:
    """NumPy twin of the displacement-moment kernels: a loop over lags, vectorised over origins.

    Parameters
    ----------
    positions : ndarray, shape (T, N, 3), float64
        Unwrapped positions in Å.
    out_msd : ndarray, shape (T,), float64
        Filled with the MSD (Å²) at each lag.
    out_m4 : ndarray, shape (T,), float64, optional
        Filled with the mean fourth power of the displacement (Å⁴), or None.
    """
    _check_moments(positions, out_msd, out_m4)
    x = np.asarray(positions, dtype=np.float64)
    n_frames = x.shape[1]
    out_msd[:, 0] = 0.0
    if out_m4 is not None:
        out_m4[:, 0] = 0.0
    for m in range(1, n_frames):
        d2 = ((x[:, m:] - x[:, :-m]) ** 2).sum(axis=2)
        out_msd[:, m] = d2.mean(axis=1)
        if out_m4 is not None:
            out_m4[:, m] = (d2 * d2).mean(axis=1)


def msd_fft_reference(positions: np.ndarray, out: np.ndarray) -> None:
    """NumPy twin of :func:`~trajml.kernels.correlation.msd_fft` (direct sums over every origin)."""
    displacement_moments_direct_reference(positions, out, None)


displacement_moments_fft_reference = displacement_moments_direct_reference


def msd_fft_run_sums_reference(positions: np.ndarray, weights: np.ndarray, run: int) -> np.ndarray:
    """NumPy twin of :func:`~trajml.kernels.correlation.msd_fft_run_sums` (direct per-particle MSDs, then sums)."""
    n_part, n_frames = positions.shape[:2]
    msd = np.empty((n_part, n_frames))
    displacement_moments_direct_reference(positions, msd, None)
    w = np.asarray(weights, dtype=np.float64)
    return np.stack([w[e:e + run].T @ msd[e:e + run] for e in range(0, n_part, run)]).reshape(-1, w.shape[1], n_frames)


def segment_weighted_sums_reference(positions: np.ndarray, atoms: np.ndarray, weights: np.ndarray,
                                    offsets: np.ndarray, out: np.ndarray) -> None:
    """NumPy twin of :func:`~trajml.kernels.correlation.segment_weighted_sums`."""
    x = np.asarray(positions, dtype=np.float64)[:, atoms] * np.asarray(weights, dtype=np.float64)[None, :, None]
    for g in range(len(offsets) - 1):
        out[:, g] = x[:, offsets[g]:offsets[g + 1]].sum(axis=1)


# --------------------------------------------------------------------------- #
# no-jump unwrapping
# --------------------------------------------------------------------------- #


def box_inverses_reference(boxes: np.ndarray, out: np.ndarray) -> None:
    """NumPy twin of :func:`~trajml.kernels.unwrap.box_inverses`."""
    out[...] = np.linalg.inv(np.asarray(boxes, dtype=np.float64))


def fractional_coordinates_reference(positions: np.ndarray, boxes: np.ndarray, out: np.ndarray) -> None:
    """NumPy twin of :func:`~trajml.kernels.unwrap.fractional_coordinates`."""
    inv = np.linalg.inv(np.asarray(boxes, dtype=np.float64))
    out[...] = np.einsum("fnj,fjk->fnk", positions.astype(np.float64), inv)


def image_jumps_reference(
    positions: np.ndarray, boxes: np.ndarray, prev_frac: np.ndarray, out_images: np.ndarray
) -> None:
    """NumPy twin of :func:`~trajml.kernels.unwrap.image_jumps`."""
    frac = np.empty(positions.shape, dtype=np.float64)
    fractional_coordinates_reference(positions, boxes, frac)
    if prev_frac.shape[0] != 0:
        steps = np.diff(frac, axis=0, prepend=prev_frac[None])
    else:
        steps = np.diff(frac, axis=0, prepend=frac[:1])
    out_images[...] = -np.cumsum(np.rint(steps).astype(np.int64), axis=0)


def image_shift_reference(
    positions: np.ndarray, boxes: np.ndarray, prev_frac: np.ndarray, out_shift: np.ndarray
) -> None:
    """NumPy twin of :func:`~trajml.kernels.unwrap.image_shift`."""
    images = np.empty(positions.shape, dtype=np.int64)
    image_jumps_reference(positions, boxes, prev_frac, images)
    out_shift[...] = images[-1] if positions.shape[0] else 0


def apply_images_reference(
    positions: np.ndarray, boxes: np.ndarray, images: np.ndarray, start_images: np.ndarray, out: np.ndarray
) -> None:
    """NumPy twin of :func:`~trajml.kernels.unwrap.apply_images`."""
    counts = (images + start_images[None]).astype(np.float64)
    shift = np.einsum("fnj,fjk->fnk", counts, np.asarray(boxes, dtype=np.float64))
    out[...] = (positions.astype(np.float64) + shift).astype(np.float32)


def nojump_unwrap_reference(
    positions: np.ndarray,
    boxes: np.ndarray,
    prev_frac: np.ndarray,
    start_images: np.ndarray,
    out: np.ndarray,
    out_images: np.ndarray,
) -> None:
    """NumPy twin of :func:`~trajml.kernels.unwrap.nojump_unwrap`."""
    images = np.empty(positions.shape, dtype=np.int64)
    image_jumps_reference(positions, boxes, prev_frac, images)
    apply_images_reference(positions, boxes, images, start_images, out)
    out_images[...] = start_images + (images[-1] if positions.shape[0] else 0)


def frame_extents_reference(positions: np.ndarray, inverse_boxes: np.ndarray | None) -> np.ndarray:
    """NumPy twin of :func:`~trajml.kernels.extents.frame_extents`."""
    pos = np.asarray(positions, dtype=np.float64)
    out = np.empty((len(pos), 4))
    out[:, 0] = np.abs(pos).max(axis=(1, 2))
    if inverse_boxes is None:
        out[:, 1:] = (np.inf, -np.inf, 0.0)
        return out
    frac = np.einsum("fnj,fjk->fnk", pos, np.asarray(inverse_boxes, dtype=np.float64))
    out[:, 1] = frac.min(axis=(1, 2))
    out[:, 2] = frac.max(axis=(1, 2))
    out[0, 3] = 0.0
    out[1:, 3] = np.abs(np.diff(frac, axis=0)).max(axis=(1, 2))
    return out
