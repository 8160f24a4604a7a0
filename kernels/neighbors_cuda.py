"""Deprecated home of the CUDA twins of the pair-search kernels: they live in :mod:`trajml.kernels.cuda`.

Kept importable for one release; import from :mod:`trajml.kernels.cuda`, or
pass ``device="cuda"`` to the public functions. Importing it needs no CUDA.
"""

from __future__ import annotations

from .cuda import (
    count_neighbors,
    fill_neighbors,
    knn_neighbors,
    neighbor_counts,
    pair_histogram,
    radius_neighbors,
)

__all__ = [
    "pair_histogram", "neighbor_counts", "count_neighbors", "fill_neighbors", "radius_neighbors", "knn_neighbors",
]
