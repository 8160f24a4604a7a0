"""Fault-proof runs: a damaged store heals, the outputs folder is locked and never a user's, specs stay small.

The oracle of a healed store is a clean run of the same spec into another folder: the stored
results (result.json and CSV tables, byte for byte) must be equal.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from pipeline_helpers import batch_yaml, make_systems, stored_results, write_pipeline

from trajml.pipelines import PipelineSpecError, parse_pipeline, run_pipeline
from trajml.pipelines.outputs import LOCK, MARKER, OutputsFolderError, OutputsLockedError, StaleLockWarning
from trajml.pipelines.runner import DamagedEntryWarning
from trajml.store.results import DamagedEntryError, ResultStore

#: Two units per system: info (result.json, arrays.nc, a CSV table) and an RDF (the same and a PNG figure).
TINY = """\
stages:
  - {stage: info, stop: 4}
  - {stage: rdf, id: rdf_li_o, select_a: name Li, select_b: name O, r_max: 8.0, n_bins: 20, stop: 4}
"""


def _run(path: Path, **kw):
    return run_pipeline(path, scheduler="serial", progress=False, report=False, **kw)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """One system, the tiny spec run once into ``out``; returns the folder and the stored results."""
    folder = tmp_path_factory.mktemp("faults")
    make_systems(folder, 1)
    path = write_pipeline(folder, batch_yaml(str(folder / "clean"), TINY))
    summary = _run(path)
    assert summary.computed == 2
    return folder, stored_results(folder / "clean")


def _fresh_run(folder: Path, name: str):
    path = write_pipeline(folder, batch_yaml(str(folder / name), TINY), name=f"{name}.yaml")
    summary = _run(path)
    rdf = next(o for o in summary.outcomes if o.stage_id == "rdf_li_o")
    return path, ResultStore(folder / name / "store").path(rdf.key)


def _truncate(entry: str) -> str:
    with open(os.path.join(entry, "result.json"), "r+b") as fh:
        fh.truncate(0)
    return "result.json does not match its checksum"


def _flip(entry: str) -> str:
    csv = next(f for f in os.listdir(entry) if f.endswith(".csv"))
    data = bytearray(Path(entry, csv).read_bytes())
    data[-3] ^= 0x01  # a digit of the last row: still a valid CSV, a wrong number
    Path(entry, csv).write_bytes(bytes(data))
    return f"{csv} does not match its checksum"


def _delete(entry: str) -> str:
    png = next(f for f in os.listdir(entry) if f.endswith(".png"))
    os.remove(os.path.join(entry, png))
    return f"{png} is missing"


def _flip_arrays(entry: str) -> str:
    data = bytearray(Path(entry, "arrays.nc").read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of the binary arrays
    Path(entry, "arrays.nc").write_bytes(bytes(data))
    return "arrays.nc does not match its checksum"


@pytest.mark.parametrize("damage", [_truncate, _flip, _delete, _flip_arrays])
def test_damaged_entry_is_named_recomputed_and_equals_a_clean_run(clean, damage):
    folder, expected = clean
    name = damage.__name__.strip("_")
    path, entry = _fresh_run(folder, name)
    reason = damage(entry)
    store = ResultStore(folder / name / "store")
    key = os.path.basename(entry)
    assert store.check(key) == reason
    if reason.startswith(("result.json", "arrays.nc")):  # get() verifies the files it reads
        with pytest.raises(DamagedEntryError, match=f"{entry} is damaged: {reason}"):
            store.get(key)
    else:  # a table or figure is its reader's to name (the report says which one is missing)
        assert len(store.get(key).data["edges"]) == 21  # 20 bins
    with pytest.warns(DamagedEntryWarning, match=rf"^sys0/rdf_li_o: the stored result {entry} is damaged "
                                                 rf"\({reason}\); it is discarded and computed again"):
        again = _run(path)
    assert {o.stage_id: o.status for o in again.outcomes} == {"info": "reused", "rdf_li_o": "computed"}
    assert store.check(key) is None
    assert stored_results(folder / name) == expected


def test_entry_without_checksums_is_verified_as_far_as_it_can_be(clean):
    folder, expected = clean
    path, entry = _fresh_run(folder, "legacy")
    os.remove(os.path.join(entry, "sha256.json"))  # as written before checksums existed
    store, key = ResultStore(folder / "legacy" / "store"), os.path.basename(entry)
    assert store.check(key) is None  # whole: trusted, not recomputed
    assert {o.status for o in _run(path).outcomes} == {"reused"}
    Path(entry, "result.json").write_text('{"n_bins": 2')  # cut short
    with pytest.warns(DamagedEntryWarning, match="result.json is not valid JSON"):
        again = _run(path)
    assert {o.stage_id: o.status for o in again.outcomes} == {"info": "reused", "rdf_li_o": "computed"}
    assert stored_results(folder / "legacy") == expected


def _as_previous_release(store: ResultStore, key: str) -> None:
    """Rewrite an entry as the release before arrays.nc wrote it: arrays as JSON lists, result.json checksummed."""
    entry = store.path(key)
    data = store.get(key).data
    Path(entry, "result.json").write_text(json.dumps(_plain(data), sort_keys=True, indent=1))
    os.remove(os.path.join(entry, "arrays.nc"))
    sums = json.loads(Path(entry, "sha256.json").read_text())
    del sums["arrays.nc"]
    sums["result.json"] = hashlib.sha256(Path(entry, "result.json").read_bytes()).hexdigest()
    Path(entry, "sha256.json").write_text(json.dumps(sums, sort_keys=True, indent=1))


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value.tolist() if hasattr(value, "tolist") else value


def _same(a, b) -> bool:
    """Equal values, arrays equal in dtype and bits (NaN where NaN)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b or (a != a and b != b)


def test_an_outputs_folder_of_the_previous_release_is_reused_with_the_same_results(clean):
    folder, _ = clean
    path, entry = _fresh_run(folder, "previous")
    store = ResultStore(folder / "previous" / "store")
    before = {k: store.get(k).data for k in store.keys()}
    for key in store.keys():
        _as_previous_release(store, key)
        assert not os.path.exists(os.path.join(store.path(key), "arrays.nc"))
        assert isinstance(json.loads(Path(store.path(key), "result.json").read_text())["n_frames"], int)
    again = _run(path)
    assert {o.status for o in again.outcomes} == {"reused"}  # same keys: nothing recomputed
    for key, data in before.items():  # the JSON lists read back as the arrays arrays.nc gave
        assert _same(store.get(key).data, data)


def test_stale_tmp_entries_are_removed_at_the_start_of_a_run(clean):
    folder, _ = clean
    path, _ = _fresh_run(folder, "stale")
    tmp = folder / "stale" / "store" / "tmp"
    (tmp / "abc.0123").mkdir()
    (tmp / "abc.0123" / "result.json").write_text('{"half": ')
    assert {o.status for o in _run(path).outcomes} == {"reused"}
    assert list(tmp.iterdir()) == []


def test_a_second_run_on_a_locked_folder_is_refused_naming_the_first(clean):
    folder, _ = clean
    path, _ = _fresh_run(folder, "locked")
    lock = folder / "locked" / LOCK
    assert not lock.exists()  # released by the run that finished
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": "2026-01-02T03:04:05Z"}
    lock.write_text(json.dumps(holder))
    with pytest.raises(OutputsLockedError, match=rf"in use by another trajml run \(PID {os.getpid()} on host "
                                                 rf"{socket.gethostname()}, started 2026-01-02T03:04:05Z\)\. "
                                                 "Fix: wait for it"):
        _run(path)
    assert json.loads(lock.read_text()) == holder  # the first run's lock is left alone
    other = {**holder, "host": "another-host.invalid"}  # cannot be checked: never taken over
    lock.write_text(json.dumps(other))
    with pytest.raises(OutputsLockedError, match="another-host.invalid"):
        _run(path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({**holder, "pid": dead.pid}))
    with pytest.warns(StaleLockWarning, match=rf"locked by PID {dead.pid} on this host .* taken over"):
        assert {o.status for o in _run(path).outcomes} == {"reused"}
    assert not lock.exists()


def test_outputs_dot_in_a_users_folder_is_refused_and_nothing_changes(tmp_path, monkeypatch):
    make_systems(tmp_path, 1)
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "mine.txt").write_text("my notes")
    (tmp_path / "summary.json").write_text('{"mine": 1}')
    path = write_pipeline(tmp_path, batch_yaml(".", TINY))
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(OutputsFolderError, match=rf"The outputs folder '{tmp_path}' holds files trajml did not "
                                                 r"write \(pipeline.yaml, report, sims, summary.json\).*Fix: give a "
                                                 "new or empty folder"):
        _run(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "report" / "mine.txt").read_text() == "my notes"
    assert (tmp_path / "summary.json").read_text() == '{"mine": 1}'
    assert isinstance(OutputsFolderError("x"), FileExistsError)


def test_a_former_trajml_output_without_marker_is_adopted(clean):
    folder, _ = clean
    path, _ = _fresh_run(folder, "former")
    (folder / "former" / MARKER).unlink()
    assert {o.status for o in _run(path).outcomes} == {"reused"}
    assert (folder / "former" / MARKER).is_file()


BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_alias_bomb_is_refused_quickly_with_bounded_memory(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)  # 9**9 ~ 387 million strings once expanded
    import argparse

    from trajml.cli import run as run_cmd

    parser = argparse.ArgumentParser(prog="trajml")
    run_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["run", str(path), "--check"])
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(PipelineSpecError, match=rf"{path}, line 7: 'yaml' expands its aliases to more than "
                                                    "100,000 values"):
            args.func(args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 5.0
    assert peak < 20 * 2**20


def test_self_referring_alias_and_oversized_spec_are_refused(tmp_path):
    with pytest.raises(PipelineSpecError, match="s.yaml, line 2: 'yaml' an alias refers to the list or mapping"):
        parse_pipeline("version: 1\ninputs: &x [1, *x]\n", filename="s.yaml")
    big = tmp_path / "big.yaml"
    big.write_text("version: 1\n" + "# padding\n" * 120_000)
    from trajml.pipelines import load_pipeline

    with pytest.raises(PipelineSpecError, match=r"big.yaml, line 104858: 'pipeline' is longer than 1,048,576 "
                                                "characters"):
        load_pipeline(big)
    with pytest.raises(PipelineSpecError, match="deep.yaml, line 1: 'yaml' is nested too deeply"):
        parse_pipeline("[" * 5000 + "]" * 5000, filename="deep.yaml")
    # A few aliases (shared metadata) stay welcome.
    with pytest.raises(PipelineSpecError) as info:
        parse_pipeline("version: 1\nx: &m {temperature: 300}\ny: *m\n", filename="ok.yaml")
    assert "alias" not in str(info.value) and "'x' is not a known top-level key" in str(info.value)
