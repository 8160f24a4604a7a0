"""A whole pipeline's stored results as one labelled table or one xarray Dataset.

``trajml run PIPELINE --outputs OUTPUTS`` leaves ``OUTPUTS/summary.json`` (the latest run's
units and their keys) and ``OUTPUTS/store`` (:class:`~trajml.store.results.ResultStore`).
:func:`results_table` gives the key numbers of every finished unit as a pandas DataFrame with
one row per system; :func:`open_results` gives those numbers and the units' arrays as one
:class:`xarray.Dataset` along a ``system`` dimension. Each unit's own arrays are also one
netCDF file, ``STORE/objects/ab/KEY/arrays.nc``, that ``xarray.open_dataset`` opens directly.

Names are ``STAGE_ID.QUANTITY`` (``rdf_li_o.first_min_r``, ``msd.msd_A2``), the columns of the
report's ``summary.csv`` without their unit, which is in ``attrs["units"]`` instead.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from trajml.store.arrays import ARRAYS, split_arrays
from trajml.store.results import Entry, ResultStore

__all__ = ["open_results", "results_table", "unit_dataset"]


def _finished(outputs: str | os.PathLike) -> tuple[ResultStore, list[dict[str, Any]], str]:
    """The store, the finished outcomes of the latest run (in run order) and the pipeline path."""
    folder = os.path.abspath(os.fspath(outputs))
    path = os.path.join(folder, "summary.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"'{path}' does not exist: '{folder}' is not the outputs folder of a finished "
                                "trajml run. Fix: give the folder passed to `trajml run ... --outputs`, or run "
                                "the pipeline first.")
    with open(path, encoding="utf-8") as fh:
        summary = json.load(fh)
    outcomes = [o for o in summary.get("outcomes", []) if o.get("status") in ("computed", "reused")]
    return ResultStore(os.path.join(folder, "store")), outcomes, str(summary.get("pipeline", ""))


def _systems(outcomes: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(o["system"] for o in outcomes))


def results_table(outputs: str | os.PathLike) -> Any:
    """The key numbers of every finished unit of the latest run: one row per system.

    Parameters
    ----------
    outputs : str or path-like
        A pipeline's outputs folder (``trajml run ... --outputs OUTPUTS``).

    Returns
    -------
    pandas.DataFrame
        Index ``system``; the system's scalar metadata (``temperature`` in K…) then one column per
        stage and number, ``STAGE_ID.NAME`` (NaN where a unit did not finish or has no value).
        ``attrs["units"]`` maps each number's column to its unit ("" when dimensionless).

    Raises
    ------
    FileNotFoundError
        ``OUTPUTS/summary.json`` does not exist.
    DamagedEntryError
        A stored unit fails its checksums (run the pipeline again to compute it anew).
    """
    import pandas as pd

    store, outcomes, pipeline = _finished(outputs)
    rows: dict[str, dict[str, Any]] = {s: {} for s in _systems(outcomes)}
    meta_cols: list[str] = []
    cols: list[str] = []
    units: dict[str, str] = {}
    for o in outcomes:
        entry = store.get(o["key"])
        for k, v in (entry.meta.get("metadata") or {}).items():
            if isinstance(v, (str, int, float, bool)) and k not in rows[o["system"]]:
                rows[o["system"]][k] = v
                meta_cols += [k] if k not in meta_cols else []
        for name, (value, unit) in entry.meta.get("numbers", {}).items():
            col = f"{o['stage_id']}.{name}"
            rows[o["system"]][col] = np.nan if value is None else float(value)
            cols += [col] if col not in cols else []
            units[col] = unit
    df = pd.DataFrame.from_dict(rows, orient="index", columns=[*meta_cols, *cols])
    df.index.name = "system"
    df.attrs.update(units=units, pipeline=pipeline)
    return df


def unit_dataset(entry: Entry, like: Any = None) -> Any:
    """The arrays of one stored unit as an :class:`xarray.Dataset`, units in ``attrs["units"]``.

    Opens the entry's ``arrays.nc``. An entry written before arrays were stored there (JSON lists
    only, no dimension names) gives the same variables, built from its ``result.json``, with the
    dimensions of the same variables in ``like`` (a Dataset of the same stage from a newer entry)
    where their lengths agree, else ``NAME_dim0``, ``NAME_dim1``….

    Parameters
    ----------
    entry : Entry
        A stored unit (:meth:`ResultStore.get`).
    like : xarray.Dataset, optional
        A Dataset of the same stage from a newer entry, whose dimension names an older entry takes.

    Returns
    -------
    xarray.Dataset
    """
    import xarray as xr

    path = entry.file(ARRAYS)
    if os.path.isfile(path):
        import h5netcdf

        # Read through h5netcdf (a core dependency; netCDF4 is not) without HDF5 file locks, which the
        # shared file systems of clusters often refuse; a finished entry never changes.
        with h5netcdf.File(path, "r", locking=False) as f, xr.open_dataset(xr.backends.H5NetCDFStore(f)) as ds:
            return ds.load()
    _, arrays = split_arrays(entry.data)
    sizes: dict[str, int] = {}
    variables: dict[str, Any] = {}
    for name, a in arrays.items():
        dims = a["dims"]
        if like is not None and name in like.variables and like[name].ndim == a["values"].ndim:
            wanted = like[name].dims
            if all(sizes.get(d, n) == n for d, n in zip(wanted, a["values"].shape)):
                dims = wanted
        sizes.update(zip(dims, a["values"].shape))
        variables[name] = xr.Variable(dims, a["values"], attrs={"units": a["units"]} if a["units"] is not None
                                      else {})
    if like is not None:  # labels (species names) that the newer entry has as coordinates
        for name in like.coords:
            value = _at(entry.data, name)
            if name not in variables and like[name].dims == (name,) and isinstance(value, list) \
                    and sizes.get(name) == len(value):
                variables[name] = xr.Variable((name,), np.asarray(value, dtype=object))
    coords = {n: v for n, v in variables.items() if v.dims == (n,)}
    return xr.Dataset({n: v for n, v in variables.items() if n not in coords}, coords=coords)


def _at(data: Any, name: str) -> Any:
    """The value at the dotted path ``name`` of a result dict (None when there is none)."""
    for part in name.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _prefixed(ds: Any, stage_id: str, label: set[str]) -> Any:
    """``ds`` with every variable and dimension named ``STAGE_ID.NAME``; dimensions in ``label`` get 0, 1, 2…."""
    ds = ds.assign_coords({d: np.arange(n) for d, n in ds.sizes.items() if d in label and d not in ds.coords})
    names = {n: f"{stage_id}.{n}" for n in [*ds.variables, *ds.dims]}
    ds = ds.rename(names)
    ds.attrs = {}
    return ds


def _datasets(units: list[tuple[str, Entry]]) -> list[tuple[str, Any]]:
    """(system, Dataset) of the units of one stage; entries of earlier releases take the newer ones' dimensions."""
    newer = next((e for _, e in units if os.path.isfile(e.file(ARRAYS))), None)
    like = unit_dataset(newer) if newer is not None else None
    return [(system, unit_dataset(e, like)) for system, e in units]


def open_results(outputs: str | os.PathLike, stages: list[str] | tuple[str, ...] | None = None) -> Any:
    """A pipeline's results as one :class:`xarray.Dataset` along a ``system`` dimension.

    Parameters
    ----------
    outputs : str or path-like
        A pipeline's outputs folder (``trajml run ... --outputs OUTPUTS``).
    stages : list of str, optional
        Stage ids to include (default: every stage). A per-particle MSD of many systems is large:
        name only the stages you need.

    Returns
    -------
    xarray.Dataset
        Coordinate ``system``; for every finished unit of the latest run its key numbers
        (``STAGE_ID.NAME``, dimension ``system``) and its arrays (``STAGE_ID.NAME``, dimensions
        ``system`` then the array's own, named ``STAGE_ID.DIM``: ``rdf_li_o.g`` over
        ``rdf_li_o.r``). Arrays of systems with different coordinates (lags of runs of different
        lengths) are aligned on the union of them and filled with NaN; a dimension without a
        coordinate whose length differs between systems is labelled 0, 1, 2…. Each variable's
        ``attrs["units"]`` holds its unit.

    Raises
    ------
    FileNotFoundError
        ``OUTPUTS/summary.json`` does not exist.
    ValueError
        ``stages`` names a stage id the run does not have.
    DamagedEntryError
        A stored unit fails its checksums (run the pipeline again to compute it anew).
    """
    import xarray as xr

    store, outcomes, pipeline = _finished(outputs)
    systems = _systems(outcomes)
    known = list(dict.fromkeys(o["stage_id"] for o in outcomes))
    if stages is not None:
        unknown = [s for s in stages if s not in known]
        if unknown:
            raise ValueError(f"The 'stages' of open_results name {unknown}, which the run in '{outputs}' does not "
                             f"have; its finished stages are {known}.")
        outcomes = [o for o in outcomes if o["stage_id"] in stages]
    numbers: dict[str, Any] = {}
    per_stage: dict[str, list[Any]] = {}
    for o in outcomes:
        entry = store.get(o["key"])
        for name, (value, unit) in entry.meta.get("numbers", {}).items():
            var = numbers.setdefault(f"{o['stage_id']}.{name}", {"values": {}, "unit": unit})
            var["values"][o["system"]] = np.nan if value is None else float(value)
        per_stage.setdefault(o["stage_id"], []).append((o["system"], entry))
    per_stage = {sid: _datasets(units) for sid, units in per_stage.items()}
    parts = []
    for stage_id, units in per_stage.items():
        # A dimension without a coordinate whose length differs between systems is labelled 0, 1, 2… so
        # that the systems align on the longest and the shorter are filled with NaN.
        sizes: dict[str, set[int]] = {}
        for _, ds in units:
            for d, n in ds.sizes.items():
                sizes.setdefault(d, set()).add(n)
        label = {d for d, ns in sizes.items() if len(ns) > 1}
        datasets = [_prefixed(ds, stage_id, label).expand_dims(system=[system]) for system, ds in units]
        parts.append(xr.concat(datasets, dim="system", join="outer", combine_attrs="override",
                               coords="different", compat="equals"))
    taken = {name for p in parts for name in p.variables}
    parts.insert(0, xr.Dataset({(name if name not in taken else f"{name}_number"): xr.Variable(
        "system", [v["values"].get(s, np.nan) for s in systems], attrs={"units": v["unit"]})
        for name, v in numbers.items()}, coords={"system": systems}))
    out = xr.merge(parts, join="outer", combine_attrs="drop_conflicts", compat="no_conflicts")
    out = out.reindex(system=[s for s in systems if s in out["system"].values])
    out.attrs = {"pipeline": pipeline, "outputs": os.path.abspath(os.fspath(outputs))}
    return out
