"""CUDA twins of the pair-search kernels, chosen with ``device="cuda"`` by the public functions.

Same signatures and results as the CPU kernels of
:mod:`trajml.kernels.histograms`, :mod:`trajml.kernels.counts` and
:mod:`trajml.kernels.knn` (they may also be called directly, with
``device="cuda"``). Brute force on the GPU: one thread per (frame, atom of A)
walks every atom of B, which is staged through shared memory in tiles of
``_THREADS``. Histograms accumulate in a per-block shared-memory histogram
(int32) that is added to a global int64 histogram with ``cuda.atomic.add``.
The k-nearest search keeps each thread's sorted top-k buffer in its own output
row.

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
these kernels on numba's CUDA simulator (slow; for tests). :func:`cuda_problem`
says why CUDA kernels cannot run in this process (None when they can).

Layout: :mod:`._device` (numba.cuda on demand, the minimum-image device
function, launch helpers), :mod:`.histograms`, :mod:`.counts` (counts, CSR
fill, radius neighbours) and :mod:`.knn`. These modules import only the pure
helpers of :mod:`trajml.kernels` (validation, the CSR driver), never the public
modules that dispatch to them.
"""

from __future__ import annotations

from ._device import cuda_problem
from .counts import count_neighbors, fill_neighbors, neighbor_counts, radius_neighbors
from .histograms import pair_histogram
from .knn import knn_neighbors

__all__ = [
    "pair_histogram", "neighbor_counts", "count_neighbors", "fill_neighbors", "radius_neighbors", "knn_neighbors",
    "cuda_problem",
]
