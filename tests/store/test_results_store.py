"""The content-addressed store: keys, atomic entries, harmless races."""

from __future__ import annotations

import os

import numpy as np
import pytest

from trajml.pipelines import StageOutput
from trajml.store.results import SCHEMA_VERSION, ResultStore, canonical_json, unit_key


def test_key_depends_on_every_input_and_not_on_order():
    base = unit_key("rdf", 1, {"r_max": 12.0, "n_bins": 60}, "f" * 64)
    assert base == unit_key("rdf", 1, {"n_bins": 60, "r_max": 12.0}, "f" * 64)
    assert len({base, unit_key("rdf", 1, {"r_max": 11.0, "n_bins": 60}, "f" * 64),
                unit_key("rdf", 2, {"r_max": 12.0, "n_bins": 60}, "f" * 64),
                unit_key("coordination", 1, {"r_max": 12.0, "n_bins": 60}, "f" * 64),
                unit_key("rdf", 1, {"r_max": 12.0, "n_bins": 60}, "e" * 64),
                unit_key("rdf", 1, {"r_max": 12.0, "n_bins": 60}, "f" * 64, {"cutoff_from": "a" * 64}),
                unit_key("rdf", 1, {"r_max": 12.0, "n_bins": 60}, "f" * 64, metadata={"temperature": 300})}) == 7
    assert canonical_json({"b": np.float64(1.5), "a": np.arange(2)}) == '{"a":[0,1],"b":1.5}'
    assert SCHEMA_VERSION == 1


def test_put_is_atomic_and_get_reads_back(tmp_path):
    store = ResultStore(tmp_path / "store")
    key = unit_key("x", 1, {}, "0" * 64)
    assert not store.has(key)
    out = StageOutput(data={"g": np.array([1.0, np.nan])}, numbers={"peak": (2.5, "Å")},
                      tables={"t": {"r": np.array([0.5, 1.5]), "n": np.array([1, 2])}})
    folder = store.put(key, out, {"stage": "x"})
    assert store.has(key) and store.keys() == [key]
    entry = store.get(key)
    assert entry.path == folder and entry.meta["numbers"] == {"peak": [2.5, "Å"]}
    assert entry.data["g"][0] == 1.0 and np.isnan(entry.data["g"][1])
    assert open(entry.file("t.csv")).read() == "r,n\n0.5,1\n1.5,2\n"
    assert os.listdir(tmp_path / "store" / "tmp") == []  # nothing half-written left behind
    # A second writer of the same key (a race between workers) leaves the first entry intact.
    assert store.put(key, StageOutput(data={"g": [0.0]}), {"stage": "x"}) == folder
    assert store.get(key).data["g"][0] == 1.0
    with pytest.raises(KeyError, match=r"No stored result with key 0123456789ab"):
        store.get("0123456789ab" + "0" * 52)


def test_failed_write_leaves_no_entry(tmp_path):
    store = ResultStore(tmp_path / "store")

    class Broken:
        def savefig(self, *a, **k):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.put("ab" * 32, StageOutput(data={}, figures={"f": Broken()}), {})
    assert not store.has("ab" * 32) and os.listdir(tmp_path / "store" / "tmp") == []


def test_pipelines_reexport_the_results_store():
    import trajml.pipelines
    import trajml.pipelines.store
    import trajml.store

    for name in trajml.pipelines.store.__all__:
        assert (getattr(trajml.pipelines.store, name) is getattr(trajml.store.results, name)
                is getattr(trajml.store, name))
    assert trajml.pipelines.ResultStore is ResultStore and trajml.pipelines.unit_key is unit_key
