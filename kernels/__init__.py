"""Compute kernels of trajml, installed as :mod:`trajml.kernels`.

Kernels take only NumPy arrays and scalars, write their results into arrays the
caller allocates (``out`` parameters), release the GIL (numba ``nogil``) and
know nothing of files, units, chunks or dask. One module per algorithm:

* :mod:`~trajml.kernels.cells` : periodic cell lists shared by the pair searches
  (the algorithm and its conventions are documented there);
* :mod:`~trajml.kernels.histograms` : pair-distance histograms;
* :mod:`~trajml.kernels.counts` : neighbour counts and CSR neighbour lists;
* :mod:`~trajml.kernels.knn`, :mod:`~trajml.kernels.knn_cells`, :mod:`~trajml.kernels.knn_pruned` :
  k nearest neighbours;
* :mod:`~trajml.kernels.geometry` : the largest cut-off, brute-force minimum images;
* :mod:`~trajml.kernels.shells` : which molecules lie within a cut-off of a few centres, in one scan;
* :mod:`~trajml.kernels.correlation` : displacement moments (MSD, ⟨Δr⁴⟩) over all origins;
* :mod:`~trajml.kernels.unwrap` : no-jump unwrapping with integer image counts;
* :mod:`~trajml.kernels.reference` : the slow NumPy twin ``<kernel>_reference`` of
  every kernel, which the tests compare against;
* :mod:`~trajml.kernels.cuda` : CUDA twins of the pair searches, chosen by the
  public functions with ``device="cuda"``.

:mod:`~trajml.kernels.neighbors` gathers the pair-search API in one namespace.
:mod:`~trajml.kernels.neighbors_reference`, :mod:`~trajml.kernels.neighbors_cuda`
and :mod:`~trajml.kernels.msd` are the former homes, kept importable for one release.
No module imports one that imports it back (``tests/kernels/test_kernel_layout.py``).

Submodules are imported on demand (``from trajml.kernels.unwrap import ...``)
so that importing this package stays cheap and triggers no numba compilation.
"""
