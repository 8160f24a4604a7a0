"""Deprecated home of the pair-search NumPy references: they live in :mod:`trajml.kernels.reference`.

Kept importable for one release; import from :mod:`trajml.kernels.reference`.
"""

from __future__ import annotations

from .geometry import _minimum_image_sq  # noqa: F401 (former home: private name re-exported)
from .reference import (
    count_neighbors_reference,
    fill_neighbors_reference,
    knn_neighbors_reference,
    neighbor_counts_reference,
    pair_histogram_reference,
    radius_neighbors_reference,
)

__all__ = [
    "pair_histogram_reference",
    "neighbor_counts_reference",
    "count_neighbors_reference",
    "fill_neighbors_reference",
    "radius_neighbors_reference",
    "knn_neighbors_reference",
]
