"""The periodic pair-search API in one namespace: a facade over the modules that implement it.

Each algorithm lives in its own module; this one only re-exports them, so that
``from trajml.kernels.neighbors import pair_histogram`` keeps working:

========================================  ===========================================
:mod:`trajml.kernels.cells`               cell lists and stencils (the algorithm and the
                                          conventions shared by the pair searches)
:mod:`trajml.kernels.histograms`          :func:`pair_histogram`
:mod:`trajml.kernels.counts`              :func:`neighbor_counts`, :func:`count_neighbors`,
                                          :func:`fill_neighbors`, :func:`radius_neighbors`
:mod:`trajml.kernels.knn`                 :func:`knn_neighbors`, :func:`knn_neighbors_csr`,
                                          :func:`knn_to_csr`
:mod:`trajml.kernels.knn_cells`           the gathered-cell search of :func:`knn_neighbors`
:mod:`trajml.kernels.knn_pruned`          its pruned search on dense B (``count_all=False``)
:mod:`trajml.kernels.geometry`            :func:`max_cutoff`, :func:`minimum_image_distances`
:mod:`trajml.kernels.reference`           the NumPy twins ``<name>_reference``
:mod:`trajml.kernels.cuda`                the CUDA twins, chosen with ``device="cuda"``
========================================  ===========================================

The public functions choose the device themselves (``device="cpu"|"cuda"``).
Tuning knobs and test hooks (``_per_frame``, ``_PRUNED_ABOVE``, ``_PRUNED_REACH``)
are re-exported for reading only: the kernels read them from the modules that
define them, so patch them there.
"""

from __future__ import annotations

from .cells import _n_split, _per_frame  # noqa: F401 (former home: private names re-exported)
from .counts import count_neighbors, fill_neighbors, neighbor_counts, radius_neighbors
from .geometry import _minimum_image_sq, max_cutoff, minimum_image_distances  # noqa: F401 (former home: private names re-exported)
from .histograms import pair_histogram
from .knn import _PRUNED_ABOVE, knn_neighbors, knn_neighbors_csr, knn_to_csr  # noqa: F401 (former home: private names re-exported)
from .knn_pruned import _PRUNED_REACH, _pruned_reach  # noqa: F401 (former home: private names re-exported)
from .reference import (
    count_neighbors_reference,
    fill_neighbors_reference,
    knn_neighbors_reference,
    neighbor_counts_reference,
    pair_histogram_reference,
    radius_neighbors_reference,
)

__all__ = [
    "pair_histogram",
    "neighbor_counts",
    "count_neighbors",
    "fill_neighbors",
    "radius_neighbors",
    "knn_neighbors",
    "knn_neighbors_csr",
    "knn_to_csr",
    "minimum_image_distances",
    "max_cutoff",
    "pair_histogram_reference",
    "neighbor_counts_reference",
    "count_neighbors_reference",
    "fill_neighbors_reference",
    "radius_neighbors_reference",
    "knn_neighbors_reference",
]
