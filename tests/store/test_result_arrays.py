"""Stored units keep their arrays in arrays.nc: opened by xarray with units, read back bit for bit, checksummed.

The oracles are the arrays handed to the store (what was written must come back, through trajml's
reader and through xarray's netCDF readers alike) and the result.json an entry of the previous
release held (JSON lists), written here by hand as that release wrote it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from trajml.pipelines import StageOutput
from trajml.store import open_results, results_table
from trajml.store.arrays import ARRAYS, PLACEHOLDER
from trajml.store.results import DamagedEntryError, ResultStore, unit_key

RNG = np.random.default_rng(7)
R = np.linspace(0.05, 11.95, 120)
G = RNG.random(120)
EDGES = np.linspace(0.0, 12.0, 121)
PER_PARTICLE = RNG.random((60, 300)) * 50.0


def _data() -> dict:
    """A result as a stage stores it (``_data``): fields, units, dims, and a nested result."""
    return {"r": R.tolist(), "g": G, "edges": EDGES.tolist(), "counts": np.arange(120), "first_min_r": 8.05,
            "species": ["Li", "TFSI"], "D_A2_ps": [0.2, 0.1], "flags": [True, False], "ragged": [[1], [1, 2]],
            "empty": [], "with_none": [1.0, None], "per_particle": PER_PARTICLE,
            "units": {"r": "Å", "g": "", "edges": "Å", "first_min_r": "Å", "D_A2_ps": "Å^2/ps",
                      "per_particle": "Å^2"},
            "dims": {"r": ["r"], "g": ["r"], "counts": ["r"], "edges": ["edge"], "species": ["species"],
                     "D_A2_ps": ["species"], "per_particle": ["particle", "lag"]},
            "timescales": {"lags": [1, 2, 4], "timescales_ps": [[9.0, 3.0], [9.5, 3.1], [9.9, 3.2]],
                           "units": {"timescales_ps": "ps"}, "dims": {"lags": ["lags"],
                                                                     "timescales_ps": ["lags", "process"]}}}


def _put(store: ResultStore, data: dict, stage: str = "x", system: str = "sys0") -> str:
    key = unit_key(stage, 1, {"system": system}, "0" * 64)
    store.put(key, StageOutput(data=data, numbers={"first_min_r": (8.05, "Å")}),
              {"stage": stage, "stage_id": stage, "system": system})
    return key


def test_xarray_opens_a_stored_unit_with_units_and_named_dimensions(tmp_path):
    store = ResultStore(tmp_path / "store")
    key = _put(store, _data())
    with xr.open_dataset(os.path.join(store.path(key), ARRAYS)) as ds:
        assert ds["g"].dims == ("r",) and ds["g"].attrs["units"] == ""
        assert ds["r"].attrs["units"] == "Å" and "r" in ds.coords  # r is g's coordinate
        np.testing.assert_array_equal(ds["r"].values, R)
        np.testing.assert_array_equal(ds["g"].values, G)
        assert ds["edges"].dims == ("edge",) and ds.sizes["edge"] == 121
        assert ds["counts"].dtype == np.int64
        assert ds["per_particle"].dims == ("particle", "lag") and ds["per_particle"].attrs["units"] == "Å^2"
        np.testing.assert_array_equal(ds["per_particle"].values, PER_PARTICLE)
        # labels of a declared dimension become its coordinate
        assert list(ds["D_A2_ps"].coords["species"].values) == ["Li", "TFSI"]
        assert ds["D_A2_ps"].attrs["units"] == "Å^2/ps"
        # a nested result's dimensions are prefixed with its path: no clash with the outer ones
        assert ds["timescales.timescales_ps"].dims == ("timescales.lags", "timescales.process")
        assert ds["timescales.timescales_ps"].attrs["units"] == "ps"
        assert ds.attrs["stage"] == "x" and ds.attrs["system"] == "sys0" and ds.attrs["key"] == key
    # both netCDF readers xarray has read the same file
    with xr.open_dataset(os.path.join(store.path(key), ARRAYS), engine="h5netcdf") as ds:
        np.testing.assert_array_equal(ds["per_particle"].values, PER_PARTICLE)


def test_arrays_leave_result_json_and_come_back_bit_for_bit(tmp_path):
    store = ResultStore(tmp_path / "store")
    key = _put(store, _data())
    stored = json.loads(Path(store.path(key), "result.json").read_text())
    assert stored["g"] == {PLACEHOLDER: "g", "shape": [120]}
    assert stored["timescales"]["timescales_ps"] == {PLACEHOLDER: "timescales.timescales_ps", "shape": [3, 2]}
    # numbers and what is no numeric array stay JSON
    for k in ("first_min_r", "species", "flags", "ragged", "empty", "with_none", "units"):
        assert stored[k] == _data()[k]
    data = store.get(key).data
    for k, want in (("r", R), ("g", G), ("edges", EDGES), ("per_particle", PER_PARTICLE)):
        assert data[k].dtype == np.float64 and np.array_equal(data[k], want)
    assert data["counts"].dtype == np.int64 and np.array_equal(data["counts"], np.arange(120))
    assert np.array_equal(data["timescales"]["lags"], [1, 2, 4])
    assert data["species"] == ["Li", "TFSI"] and data["with_none"] == [1.0, None]


def test_arrays_are_several_times_smaller_than_json_lists(tmp_path):
    """60 particles x 300 lags of float64 noise (incompressible): binary is 8 bytes a value, JSON ~19 characters."""
    store = ResultStore(tmp_path / "store")
    key = _put(store, {"msd_per_particle_A2": PER_PARTICLE})
    as_json = len(json.dumps({"msd_per_particle_A2": PER_PARTICLE.tolist()}, indent=1))
    now = sum(os.path.getsize(os.path.join(store.path(key), f)) for f in ("result.json", ARRAYS))
    assert now < as_json / 2.2


def _legacy_entry(store: ResultStore, key: str, data: dict, meta: dict) -> str:
    """An entry as the previous release wrote it: arrays as JSON lists in result.json, with checksums."""
    folder = Path(store.path(key))
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(data, sort_keys=True, indent=1))
    (folder / "entry.json").write_text(json.dumps({**meta, "key": key, "schema": 1, "files": []}, indent=1))
    sums = {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in ("entry.json", "result.json")}
    (folder / "sha256.json").write_text(json.dumps(sums))
    return str(folder)


def test_an_entry_of_the_previous_release_loads_with_the_same_arrays(tmp_path):
    store = ResultStore(tmp_path / "store")
    key = unit_key("rdf", 1, {}, "1" * 64)
    lists = {"r": R.tolist(), "g": G.tolist(), "first_min_r": 8.05, "species": ["Li", "TFSI"], "D_A2_ps": [0.2, 0.1],
             "units": {"r": "Å"}}
    _legacy_entry(store, key, lists, {"stage": "rdf", "stage_id": "rdf", "system": "old",
                                      "numbers": {"first_min_r": [8.05, "Å"]}})
    assert store.check(key) is None
    data = store.get(key).data
    assert np.array_equal(data["r"], R) and np.array_equal(data["g"], G) and data["first_min_r"] == 8.05
    # and in the pipeline reader beside a unit stored since: on the newer unit's dimensions and labels
    new = unit_key("rdf", 1, {}, "2" * 64)
    store.put(new, StageOutput(data={**lists, "units": {"r": "Å"}, "dims": {"r": ["r"], "g": ["r"],
                                                                              "D_A2_ps": ["species"]}},
                               numbers={"first_min_r": (8.05, "Å")}), {"stage": "rdf", "stage_id": "rdf"})
    (tmp_path / "summary.json").write_text(json.dumps({"pipeline": "p.yaml", "outcomes": [
        {"system": "old", "stage_id": "rdf", "key": key, "status": "reused"},
        {"system": "new", "stage_id": "rdf", "key": new, "status": "computed"}]}))
    ds = open_results(tmp_path)
    assert ds["rdf.g"].dims == ("system", "rdf.r") and ds["rdf.D_A2_ps"].dims == ("system", "rdf.species")
    assert list(ds["rdf.species"].values) == ["Li", "TFSI"]
    np.testing.assert_array_equal(ds["rdf.r"].values, R)
    np.testing.assert_array_equal(ds["rdf.g"].values, [G, G])
    assert ds["rdf.r"].attrs["units"] == "Å" and float(ds["rdf.first_min_r"].sel(system="old")) == 8.05


def test_a_damaged_arrays_file_is_named_by_its_checksum(tmp_path):
    store = ResultStore(tmp_path / "store")
    key = _put(store, _data())
    path = Path(store.path(key), ARRAYS)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    assert store.check(key) == f"{ARRAYS} does not match its checksum"
    with pytest.raises(DamagedEntryError, match=rf"{store.path(key)} is damaged: {ARRAYS} does not match its "
                                                r"checksum\. Run the pipeline again"):
        store.get(key)
    path.unlink()
    assert store.check(key) == f"{ARRAYS} is missing"
    os.remove(os.path.join(store.path(key), "sha256.json"))  # no checksums left to say so
    assert store.check(key) == f"{ARRAYS} is missing"


def _outputs(tmp_path: Path, units: list[tuple[str, str, dict, float]]) -> Path:
    """An outputs folder with one stored unit per (system, stage id, data, number) and its summary.json."""
    store = ResultStore(tmp_path / "store")
    outcomes = []
    for system, stage_id, data, value in units:
        key = unit_key(stage_id, 1, {"system": system}, "0" * 64)
        store.put(key, StageOutput(data=data, numbers={"D": (value, "Å^2/ps"), "n": (float("nan"), "")}),
                  {"stage": stage_id, "stage_id": stage_id, "system": system, "metadata": {"temperature": 300.0}})
        outcomes.append({"system": system, "stage_id": stage_id, "key": key, "status": "computed"})
    outcomes.append({"system": "broken", "stage_id": "msd", "key": "", "status": "failed"})
    (tmp_path / "summary.json").write_text(json.dumps({"pipeline": "p.yaml", "outcomes": outcomes}))
    return tmp_path


def test_open_results_aligns_systems_of_different_lengths_and_keeps_units(tmp_path):
    short, long_ = np.arange(5) * 5.0, np.arange(8) * 5.0
    msd_short, msd_long = RNG.random(5), RNG.random(8)
    per = {"units": {"lag_ps": "ps", "msd_A2": "Å^2"}, "dims": {"lag_ps": ["lag_ps"], "msd_A2": ["lag_ps"]}}
    out = _outputs(tmp_path, [("a", "msd", {"lag_ps": short, "msd_A2": msd_short, **per}, 0.25),
                              ("b", "msd", {"lag_ps": long_, "msd_A2": msd_long, **per}, 0.5)])
    ds = open_results(out)
    assert list(ds["system"].values) == ["a", "b"]  # the failed unit's system has nothing stored
    np.testing.assert_array_equal(ds["msd.lag_ps"].values, long_)
    np.testing.assert_array_equal(ds["msd.msd_A2"].sel(system="b").values, msd_long)
    np.testing.assert_array_equal(ds["msd.msd_A2"].sel(system="a").values[:5], msd_short)
    assert np.isnan(ds["msd.msd_A2"].sel(system="a").values[5:]).all()
    assert ds["msd.msd_A2"].attrs["units"] == "Å^2" and ds["msd.D"].attrs["units"] == "Å^2/ps"
    np.testing.assert_array_equal(ds["msd.D"].values, [0.25, 0.5])
    table = results_table(out)
    assert list(table.index) == ["a", "b"] and list(table.columns) == ["temperature", "msd.D", "msd.n"]
    np.testing.assert_array_equal(table["msd.D"].values, [0.25, 0.5])
    assert np.isnan(table["msd.n"]).all() and table.attrs["units"]["msd.D"] == "Å^2/ps"


def test_the_reader_names_a_folder_that_is_no_pipelines_outputs(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"summary\.json' does not exist: .* is not the outputs folder of "
                                                r"a finished trajml run\. Fix: give the folder passed to"):
        results_table(tmp_path)
    out = _outputs(tmp_path, [("a", "msd", {"lag_ps": np.arange(3.0)}, 0.1)])
    with pytest.raises(ValueError, match=r"'stages' of open_results name \['rdf'\], .* finished stages are "
                                         r"\['msd'\]"):
        open_results(out, stages=["rdf"])


def test_awkward_names_and_dimensions_still_store_and_open(tmp_path):
    """Declared lengths that clash, a field named like another's dimension, '/' in keys, int keys, NaN."""
    data = {"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0], "r": [[1.0, 2.0], [3.0, 4.0]], "x/y": [5, 6], 3: [7.5, np.nan],
            "dims": {"a": ["n"], "b": ["n"], "g": ["r"]}, "g": [0.0, 1.0, 2.0, 4.0],
            "inner": {"a": [1.0], "dims": {"a": ["n"]}}}
    store = ResultStore(tmp_path / "store")
    key = _put(store, data)
    back = store.get(key).data
    for k in ("a", "b", "r", "g"):
        np.testing.assert_array_equal(back[k], data[k])
    np.testing.assert_array_equal(back["x/y"], [5, 6])
    np.testing.assert_array_equal(back["3"], [7.5, np.nan])
    np.testing.assert_array_equal(back["inner"]["a"], [1.0])
    with xr.open_dataset(os.path.join(store.path(key), ARRAYS)) as ds:
        assert ds["a"].dims == ("n",) and ds.sizes["n"] == 3 and ds["b"].dims != ("n",)  # 2 values: not n
        assert "r" in ds.data_vars and ds["g"].dims != ("r",)  # r is a 2-D field, not g's coordinate
        assert ds["inner.a"].dims == ("inner.n",)
    # the other order: g's dimension r exists before the 2-D field r, which is then stored as r_values
    key = _put(store, {"g": [0.0, 1.0], "r": [[1.0, 2.0], [3.0, 4.0]], "dims": {"g": ["r"]}}, system="sys1")
    np.testing.assert_array_equal(store.get(key).data["r"], [[1.0, 2.0], [3.0, 4.0]])
    with xr.open_dataset(os.path.join(store.path(key), ARRAYS)) as ds:
        assert ds["g"].dims == ("r",) and ds["r_values"].shape == (2, 2)
