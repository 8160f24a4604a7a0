"""Compute kernels of trajml, installed as :mod:`trajml.kernels`.

Kernels take only NumPy arrays and scalars, write their results into arrays the
caller allocates (``out`` parameters), release the GIL (numba ``nogil``) and
know nothing of files, units, chunks or dask. Each kernel has a slow, plain
NumPy twin named ``<kernel>_reference`` in the same module that the tests
compare it against.

Submodules are imported on demand (``from trajml.kernels.unwrap import ...``)
so that importing this package stays cheap and triggers no numba compilation.
"""
