"""How arrays.nc stores numbers: small arrays compact or compressed, bit for bit; float32 only when asked.

Oracles: the arrays handed to the store (bit for bit, through trajml's reader and both of xarray's
netCDF engines), NumPy's own float64 -> float32 rounding for the opt-in reduced precision, h5py's
view of each dataset's layout and filters, and the key recipe written out here with hashlib.
"""

from __future__ import annotations

import hashlib
import json
import os

import h5py
import numpy as np
import pytest
import xarray as xr

from trajml.pipelines import StageOutput
from trajml.store.arrays import ARRAYS, write_arrays
from trajml.store.results import SCHEMA_VERSION, ResultStore, canonical_json, unit_key

RNG = np.random.default_rng(11)
NOISE = RNG.random((60, 300)) * 50.0  # an MSD per particle: incompressible float64
SMALL_NOISE = RNG.random(40)


def _data() -> dict:
    return {"small_noise": SMALL_NOISE.copy(), "small_zeros": np.zeros(200), "small_ints": np.arange(4),
            "lag_ps": np.arange(300) * 5.0, "per_particle": NOISE, "huge": np.array([1e39, -2.5, 0.0]),
            "tiny": np.array([1e-40, 3.0]), "nan_inf": np.array([np.nan, np.inf, -np.inf, 1.0 / 3.0]),
            "D": 0.25, "species": ["Li", "TFSI"],
            "units": {"per_particle": "Å^2", "lag_ps": "ps", "small_noise": "Å"},
            "dims": {"per_particle": ["particle", "lag_ps"], "lag_ps": ["lag_ps"]}}


def _put(store: ResultStore, data: dict, precision: str = "float64") -> str:
    key = unit_key("x", 1, {}, "0" * 64, precision=precision)
    store.put(key, StageOutput(data=data, numbers={"D": (0.25, "Å^2/ps")}), {"stage": "x", "system": "s"}, precision)
    return key


@pytest.mark.parametrize("engine", ["h5netcdf", "netcdf4"])
def test_small_arrays_are_compact_or_compressed_and_come_back_bit_for_bit(tmp_path, engine):
    store = ResultStore(tmp_path / "store")
    key = _put(store, _data())
    path = os.path.join(store.path(key), ARRAYS)
    with h5py.File(path, "r") as f:
        layouts = {n: f[n].id.get_create_plist().get_layout() for n in ("small_noise", "small_zeros", "small_ints")}
        assert layouts["small_noise"] == h5py.h5d.COMPACT  # 320 B of noise: compression would not pay
        assert layouts["small_ints"] == h5py.h5d.COMPACT  # 32 B: too few to pay
        assert layouts["small_zeros"] == h5py.h5d.CHUNKED and f["small_zeros"].compression == "gzip"
        assert f["per_particle"].compression == "gzip" and f["per_particle"].shuffle
        assert "store_precision" not in f.attrs
    want = _data()
    back = store.get(key).data
    with xr.open_dataset(path, engine=engine) as ds:
        for k in ("small_noise", "small_zeros", "small_ints", "lag_ps", "per_particle", "huge", "tiny", "nan_inf"):
            assert back[k].dtype == want[k].dtype and ds[k].dtype == want[k].dtype
            assert np.array_equal(back[k], want[k], equal_nan=True)
            assert np.array_equal(ds[k].values, want[k], equal_nan=True)
        assert ds["per_particle"].attrs["units"] == "Å^2" and ds["small_noise"].attrs["units"] == "Å"
        assert ds["per_particle"].dims == ("particle", "lag_ps")


def test_float32_precision_rounds_each_float_as_numpy_does_and_still_opens_in_xarray(tmp_path):
    store = ResultStore(tmp_path / "store")
    key = _put(store, _data(), "float32")
    path = os.path.join(store.path(key), ARRAYS)
    want = _data()
    with xr.open_dataset(path) as ds:
        assert ds.attrs["store_precision"] == "float32"
        assert ds["per_particle"].dtype == np.float32 and ds["per_particle"].attrs["units"] == "Å^2"
        assert ds["per_particle"].dims == ("particle", "lag_ps")
        np.testing.assert_array_equal(ds["per_particle"].values, NOISE.astype(np.float32))
        assert ds["small_ints"].dtype == np.int64  # integers stay whole
        # magnitudes float32 cannot hold (they would become inf or 0) keep float64, bit for bit
        assert ds["huge"].dtype == np.float64 and ds["tiny"].dtype == np.float64
    back = store.get(key).data
    for k in ("small_noise", "small_zeros", "lag_ps", "per_particle", "nan_inf"):
        assert back[k].dtype == np.float64  # widened back on reading
        assert np.array_equal(back[k], want[k].astype(np.float32).astype(np.float64), equal_nan=True)
        finite = np.isfinite(want[k]) & (want[k] != 0)
        assert np.all(np.abs(back[k][finite] - want[k][finite]) <= np.abs(want[k][finite]) * 2.0 ** -24)
    for k in ("huge", "tiny", "small_ints"):
        assert np.array_equal(back[k], want[k])
    assert back["D"] == 0.25 and store.get(key).meta["numbers"]["D"] == [0.25, "Å^2/ps"]  # numbers stay exact
    assert store.get(key).meta["store_precision"] == "float32"
    lossless = _put(ResultStore(tmp_path / "other"), _data())
    assert os.path.getsize(path) < 0.6 * os.path.getsize(os.path.join(tmp_path, "other", "objects", lossless[:2],
                                                                      lossless, ARRAYS))


def test_the_precision_is_part_of_the_key_and_the_default_key_is_unchanged():
    doc = {"schema": SCHEMA_VERSION, "stage": "rdf", "version": 2, "params": {"r_max": 12.0}, "source": "f" * 64,
           "deps": {}, "metadata": {}}
    recipe = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert unit_key("rdf", 2, {"r_max": 12.0}, "f" * 64) == recipe
    assert unit_key("rdf", 2, {"r_max": 12.0}, "f" * 64, precision="float64") == recipe
    reduced = hashlib.sha256(canonical_json({**doc, "store_precision": "float32"}).encode()).hexdigest()
    assert unit_key("rdf", 2, {"r_max": 12.0}, "f" * 64, precision="float32") == reduced != recipe


def test_an_unknown_precision_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match=r"store_precision must be one of float64, float32; got 'float16'"):
        write_arrays(tmp_path / "a.nc", {"x": {"values": np.ones(3), "dims": ("n",), "units": None}}, {}, "float16")
    store = ResultStore(tmp_path / "store")
    with pytest.raises(ValueError, match="store_precision"):
        _put(store, {"x": np.ones(3)}, "half")
    assert store.keys() == [] and os.listdir(tmp_path / "store" / "tmp") == []  # nothing half-written left


def test_the_same_arrays_in_another_dict_order_write_the_same_bytes(tmp_path):
    # A result's dict order can differ between code paths (an MSD in memory or streamed through a series
    # file); the chunked data of two variables then landed in the file in the other order.
    lag = {"values": np.arange(400) * 5.0, "dims": ("lag_ps",), "units": "ps"}
    msd = {"values": RNG.random(400) * 30.0, "dims": ("lag_ps",), "units": "Å^2"}
    write_arrays(tmp_path / "a.nc", {"lag_ps": lag, "msd_A2": msd}, {"stage": "msd"})
    write_arrays(tmp_path / "b.nc", {"msd_A2": msd, "lag_ps": lag}, {"stage": "msd"})
    assert (tmp_path / "a.nc").read_bytes() == (tmp_path / "b.nc").read_bytes()


def test_a_dataset_held_open_until_the_file_closes_does_not_move_its_chunk(tmp_path, monkeypatch):
    # In a dask worker another thread (its sampling profiler) can hold a frame, and with it a dataset
    # object, a little longer than the code that wrote it; with HDF5's chunk cache a chunk got its place
    # in the file only when its dataset closed, so one unit's arrays.nc had two chunks swapped against
    # the serial run's (same values, other bytes). Holding datasets open must not change a byte.
    arrays = {name: {"values": RNG.random(300) * 3.0, "dims": ("r",), "units": None} for name in "bgnr"}
    write_arrays(tmp_path / "a.nc", arrays, {"stage": "rdf"})
    held, create = [], h5py.Group.create_dataset

    def create_and_hold(self, name, *args, **kwargs):
        dataset = create(self, name, *args, **kwargs)
        if name in ("b", "g"):  # data variables (not the dimension's coordinate r)
            held.append(dataset)
        return dataset

    monkeypatch.setattr(h5py.Group, "create_dataset", create_and_hold)
    write_arrays(tmp_path / "b.nc", arrays, {"stage": "rdf"})
    monkeypatch.undo()
    assert len(held) == 2
    del held[:]
    with h5py.File(tmp_path / "a.nc") as a, h5py.File(tmp_path / "b.nc") as b:
        assert [a[n].id.get_chunk_info(0).byte_offset for n in "bgn"] == \
            [b[n].id.get_chunk_info(0).byte_offset for n in "bgn"]
    assert (tmp_path / "a.nc").read_bytes() == (tmp_path / "b.nc").read_bytes()
