"""The arrays of a stored pipeline unit: one netCDF-4 file (``arrays.nc``) beside its JSON.

A stage's result is a nested dict of numbers, labels and arrays. :func:`split_arrays` takes
every numeric array out of it (a non-empty, rectangular list or ndarray of ints or floats;
booleans, strings and ragged lists stay in the JSON) and leaves a placeholder
``{"__array__": NAME, "shape": [...]}`` in its place; :func:`write_arrays` writes them into one
netCDF-4/HDF5 file (through h5netcdf), which :func:`read_arrays` and :func:`join_arrays` put back.

The file is self-describing, so ``xarray.open_dataset("…/arrays.nc")`` opens it directly:

- a variable per array, named by its path in the result (``msd_A2``; ``timescales.lags_ps`` for a
  nested dict), with its unit in ``attrs["units"]`` taken from the ``"units"`` dict beside it;
- dimension names from the ``"dims"`` dict beside it (a result's ``_DIMS``: ``r``, ``lag_ps``,
  ``species``, ``frames``…), prefixed with the path of a nested dict, so that a dimension of
  one length is one dimension; an array without declared dimensions (or whose declared length
  clashes) gets ``NAME_dim0``, ``NAME_dim1``…;
- a 1-D array whose name is its dimension's is that dimension's coordinate (``r``, ``lag_ps``);
  a list of labels named like a dimension of its length (``species``) is written as that
  dimension's coordinate too (it also stays in the JSON, which trajml reads it from);
- arrays of more than :data:`CHUNKED_ABOVE` values are chunked and compressed (gzip, shuffle); a
  smaller one is compressed too where that saves more than :data:`COMPRESS_GAIN` bytes of data,
  else it is stored in its object header (the compact layout: no data block of its own). Both
  are plain HDF5, read by every netCDF-4 library without plugins.

Floats are stored as float64 and integers as int64, what the JSON lists held, so reading an
entry back gives the numbers the JSON-era store gave, bit for bit. That is the default
precision; ``precision="float32"`` (a pipeline's ``store_precision``) rounds each float array to
the nearest float32 instead, halving its bytes, and marks the file with the global attribute
``store_precision``; :func:`read_arrays` widens such arrays back to float64 (exactly: the
values are the float32 ones). An array with a nonzero magnitude outside float32's normal range
(below 1.2e-38 or above 3.4e38) keeps float64, so no value becomes 0 or infinite.

Why the default is not float32: the float64 values the stages compute (averages over many
frames) carry about 6 of their 8 bytes as incompressible noise, so lossless compression gains
little on them (see ``benchmarks/bench_store_size.py``).
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import numpy as np

__all__ = ["ARRAYS", "PLACEHOLDER", "CHUNKED_ABOVE", "CHUNK_VALUES", "COMPRESS_GAIN", "PRECISIONS", "split_arrays",
           "write_arrays", "read_arrays", "join_arrays", "numeric_arrays", "placeholders"]

#: The file of an entry that holds its arrays.
ARRAYS = "arrays.nc"
#: The key of the JSON object that stands for an array in ``result.json``.
PLACEHOLDER = "__array__"
#: Arrays with more values than this are chunked and gzip-compressed; smaller ones are stored contiguous.
CHUNKED_ABOVE = 256
#: About how many values one chunk holds (1 MiB of float64): a per-particle MSD of a large system is
#: read a block of particles at a time, a small array is one chunk.
CHUNK_VALUES = 1 << 17
#: A small array is compressed only where that saves more bytes of data than this: a compressed
#: dataset has more HDF5 metadata than a compact one. Of 0, 64, 128, 192 and 320, 64 gave the demo
#: pipeline's stores the fewest bytes at both precisions (1-3 % apart; benchmarks/bench_store_size.py).
COMPRESS_GAIN = 64
#: The precisions float arrays may be stored at: bit for bit (the default), or rounded to float32.
PRECISIONS = ("float64", "float32")
#: gzip level of compressed arrays.
_GZIP_LEVEL = 4


def _as_array(value: Any) -> np.ndarray | None:
    """``value`` as a float64 or int64 array when it is a non-empty rectangular numeric list, else None."""
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (list, tuple)) and value:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):  # ragged
            return None
    else:
        return None
    if arr.size == 0 or arr.ndim == 0:
        return None
    if arr.dtype.kind == "f":
        return arr.astype(np.float64, copy=False)
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
            return None
        return arr.astype(np.int64, copy=False)
    return None  # bool, str, object (None inside), complex: the JSON keeps them


def _labels(value: Any) -> np.ndarray | None:
    """A 1-D list of strings as an array of str, else None."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return np.asarray(value, dtype=object)
    return None


class _Layout:
    """Names of variables and dimensions while the arrays of one result are collected."""

    def __init__(self) -> None:
        self.arrays: dict[str, dict[str, Any]] = {}
        self.dims: dict[str, int] = {}
        self.labels: dict[str, dict[str, Any]] = {}

    def name(self, path: str, avoid_dims: bool = False) -> str:
        base = path.replace("/", "_") or "value"
        name, k = base, 2
        while name in self.arrays or name in self.labels or (avoid_dims and name in self.dims):
            name, k = f"{base}_{k}", k + 1
        return name

    def add(self, path: str, arr: np.ndarray, declared: Any, prefix: str, unit: Any) -> str:
        """Register an array; return its variable name."""
        name = self.name(path)
        dims = self.dims_for(name, arr.shape, declared, prefix)
        if name in self.dims and dims != (name,):  # named like a dimension it is not the coordinate of
            name = self.name(f"{path}_values", avoid_dims=True)
        self.arrays[name] = {"values": arr, "dims": dims, "units": unit if isinstance(unit, str) else None}
        return name

    def dims_for(self, name: str, shape: tuple[int, ...], declared: Any, prefix: str) -> tuple[str, ...]:
        if isinstance(declared, (list, tuple)) and len(declared) == len(shape) and \
                all(isinstance(d, str) for d in declared):
            wanted = [prefix + d.replace("/", "_") for d in declared]
        else:
            wanted = [f"{name}_dim{i}" for i in range(len(shape))]
        dims = []
        for i, (dim, size) in enumerate(zip(wanted, shape)):
            other = self.arrays.get(dim)
            if self.dims.get(dim, size) != size or dim in dims or (other is not None and other["dims"] != (dim,)):
                dim = f"{name}_dim{i}"  # a clash of lengths or of names: a dimension of its own
            self.dims[dim] = size
            dims.append(dim)
        return tuple(dims)


def split_arrays(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Take the numeric arrays out of a result dict.

    Parameters
    ----------
    data : dict
        A stage's result (``StageOutput.data``): nested dicts whose ``"units"`` and ``"dims"``
        entries name the unit and the dimensions of their siblings.

    Returns
    -------
    (dict, dict)
        The result with a placeholder in place of each array, and the arrays by variable name:
        ``{"values": ndarray, "dims": tuple of str, "units": str or None}`` (string labels for
        coordinates carry ``"labels": True``).
    """
    layout = _Layout()
    left = _split(data, "", layout)
    for name, spec in layout.labels.items():
        if name in layout.dims and layout.dims[name] == len(spec["values"]) and name not in layout.arrays:
            layout.arrays[name] = {**spec, "labels": True}
    return left, layout.arrays


def _split(data: dict[str, Any], prefix: str, layout: _Layout) -> dict[str, Any]:
    units = data.get("units") if isinstance(data.get("units"), dict) else {}
    dims = data.get("dims") if isinstance(data.get("dims"), dict) else {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        key = str(key)
        if isinstance(value, dict):
            out[key] = _split(value, f"{prefix}{key}.", layout)
            continue
        arr = _as_array(value)
        if arr is None:
            out[key] = value.tolist() if isinstance(value, np.ndarray) else value
            labels = _labels(value)
            if labels is not None:  # the coordinate of the dimension of its name, if the arrays have one
                layout.labels[prefix + key] = {"values": labels, "dims": (prefix + key,), "units": None}
            continue
        name = layout.add(prefix + key, arr, dims.get(key), prefix, units.get(key))
        out[key] = {PLACEHOLDER: name, "shape": list(arr.shape)}
    return out


def write_arrays(path: str | os.PathLike, arrays: dict[str, dict[str, Any]], attrs: dict[str, Any],
                 precision: str = "float64") -> None:
    """Write the arrays of :func:`split_arrays` as a netCDF-4 file.

    Parameters
    ----------
    path : str or path-like
        The file (inside the entry's temporary folder: the entry is renamed into place whole).
    arrays : dict
        Variable name -> ``{"values", "dims", "units"}``.
    attrs : dict of str to str, int or float
        Global attributes (stage, system, key).
    precision : {"float64", "float32"}
        Float arrays bit for bit (the default), or rounded to the nearest float32 (see the module
        documentation); integers are always kept whole.

    Raises
    ------
    ValueError
        ``precision`` is not one of :data:`PRECISIONS`.
    """
    import h5netcdf
    import h5py

    if precision not in PRECISIONS:
        raise ValueError(f"store_precision must be one of {', '.join(PRECISIONS)}; got {precision!r}.")
    sizes: dict[str, int] = {}
    for spec in arrays.values():
        sizes.update(zip(spec["dims"], np.shape(spec["values"])))
    # HDF5 1.10 object headers: a third smaller for the many small variables of a result, and read by
    # every netCDF-4 library since 2018. Variables are created, and their data placed, in name order: a
    # result's dict order may differ between code paths (in-memory or streamed MSD), and the file's bytes
    # should not.
    # No HDF5 file locks: the file is private to its temporary folder until the entry's rename, and
    # the shared file systems of clusters (NFS, Lustre) often refuse them. No chunk cache: a cached
    # chunk gets its place in the file when its dataset closes, and a dask worker's sampling profiler
    # can keep a dataset object alive a little longer (one unit's file had two chunks swapped against
    # the serial run's); written through, chunks land in the order they are written.
    with h5netcdf.File(os.fspath(path), "w", track_order=True, libver="v110", locking=False,
                       rdcc_nbytes=0) as f:
        f.attrs.update({k: v for k, v in attrs.items() if v is not None})
        if precision != "float64":
            f.attrs["store_precision"] = precision
        f.dimensions.update(sizes)
        for name, spec in sorted(arrays.items()):
            values = spec["values"]
            if spec.get("labels"):
                var = f.create_variable(name, spec["dims"], dtype=h5py.string_dtype(), data=values)
            else:
                if precision == "float32" and values.dtype.kind == "f" and _float32_safe(values):
                    values = values.astype(np.float32)
                var = f.create_variable(name, spec["dims"], dtype=values.dtype, data=values, **_layout(values))
            if spec.get("units") is not None:
                var.attrs["units"] = spec["units"]


def _float32_safe(values: np.ndarray) -> bool:
    """Whether every nonzero finite magnitude lies in float32's normal range (no value becomes 0 or inf)."""
    mag = np.abs(values[np.isfinite(values)])
    mag = mag[mag > 0]
    info = np.finfo(np.float32)
    return mag.size == 0 or bool(mag.min() >= info.tiny and mag.max() <= info.max)


def _layout(values: np.ndarray) -> dict[str, Any]:
    """The storage keywords of one numeric array: compressed chunks, or compact (data in its header)."""
    import h5py

    compressed = {"chunks": _chunks(values.shape), "compression": "gzip", "compression_opts": _GZIP_LEVEL,
                  "shuffle": True}
    if values.size > CHUNKED_ABOVE:
        return compressed
    if values.nbytes - len(zlib.compress(_shuffled(values), _GZIP_LEVEL)) > COMPRESS_GAIN:
        return compressed
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)  # at most 256 values (2 KiB): well within a header's 64 KiB
    return {"dcpl": dcpl}


def _shuffled(values: np.ndarray) -> bytes:
    """The bytes of ``values`` as HDF5's shuffle filter orders them: byte 0 of every value, then byte 1…"""
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(-1, values.dtype.itemsize)
    return raw.T.tobytes()


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Chunks of whole trailing rows, about :data:`CHUNK_VALUES` values each (few chunks: little index)."""
    row = int(np.prod(shape[1:], dtype=np.int64))
    return (max(1, min(shape[0], CHUNK_VALUES // max(row, 1))), *shape[1:])


def read_arrays(path: str | os.PathLike, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``arrays.nc`` by variable name (all, or ``names``); labels are left out.

    Floats come back as float64 (those stored as float32 widened exactly), integers as int64.

    Parameters
    ----------
    path : str or path-like
        The file.
    names : list of str, optional
        The variables to read (default: every numeric one).
    """
    import h5netcdf

    out = {}
    with h5netcdf.File(os.fspath(path), "r", locking=False) as f:  # a finished entry never changes
        for name in (names if names is not None else list(f.variables)):
            var = f.variables[name]
            if var.dtype.kind == "f":
                out[name] = np.asarray(var[...], dtype=np.float64)
            elif var.dtype.kind == "i":
                out[name] = np.asarray(var[...])
    return out


def placeholders(data: Any) -> list[str]:
    """The variable names the placeholders of a stored result refer to."""
    if isinstance(data, dict):
        if PLACEHOLDER in data and isinstance(data[PLACEHOLDER], str):
            return [data[PLACEHOLDER]]
        return [n for v in data.values() for n in placeholders(v)]
    return []


def numeric_arrays(data: Any) -> Any:
    """``data`` with every numeric list :func:`split_arrays` would store as an array made an ndarray.

    Gives the result of an entry written before ``arrays.nc`` the types of one written since.
    """
    if isinstance(data, dict):
        return {k: numeric_arrays(v) for k, v in data.items()}
    arr = _as_array(data)
    return data if arr is None else arr


def join_arrays(data: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Put the arrays back in place of their placeholders (the inverse of :func:`split_arrays`).

    Raises
    ------
    KeyError
        A placeholder names an array ``arrays`` does not hold.
    """
    if isinstance(data, dict):
        if PLACEHOLDER in data and isinstance(data[PLACEHOLDER], str):
            return arrays[data[PLACEHOLDER]]
        return {k: join_arrays(v, arrays) for k, v in data.items()}
    return data
