"""Contracts every structure featurizer keeps: chunking, schedulers, purity, pickling, exact merges."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from trajml.features import RDF, Coordination, NeighborGraphs, Solvation
from trajml.io import open_source
from trajml.parallel import run

FEATURIZERS = {
    "rdf": lambda: RDF("name Li", "name O", r_max=10.0, n_bins=40),
    "rdf-molecule": lambda: RDF("name O", r_max=10.0, n_bins=40, exclude="molecule"),
    "coordination": lambda: Coordination("name Li", "name O", cutoff=5.0, keep_per_frame=True),
    "solvation": lambda: Solvation(cutoff_o=5.0, cutoff_anion=7.0, keep_per_frame=True),
    "graphs": lambda: NeighborGraphs("name Li", r_max=6.0, max_neighbors=4),
}


def assert_same(a, b):
    """Exact equality of two results' computed fields (NaN equal to NaN)."""
    da, db = a.to_dict(), b.to_dict()
    assert da.keys() == db.keys()
    for key in da:
        x, y = da[key], db[key]
        if isinstance(x, float) or (isinstance(x, list) and np.asarray(x).dtype.kind in "iuf"):
            np.testing.assert_array_equal(np.asarray(x, dtype=float), np.asarray(y, dtype=float), err_msg=key)
        else:
            assert x == y, key
    assert a.units == b.units


@pytest.fixture(scope="module")
def source(spe_triclinic):
    return open_source(*spe_triclinic)


@pytest.mark.parametrize("name", FEATURIZERS)
def test_one_chunk_equals_many_chunks_merged(source, name):
    whole = run(FEATURIZERS[name](), source, chunk_size=1000, progress=False)
    for size in (1, 5):
        parts = run(FEATURIZERS[name](), source, chunk_size=size, progress=False)
        assert parts.provenance["n_chunks"] == -(-source.n_frames // size)
        assert_same(parts, whole)


@pytest.mark.parametrize("name", FEATURIZERS)
def test_merge_is_associative_and_has_an_identity(source, name):
    bound = FEATURIZERS[name]().bind(source)
    states = [bound.update(bound.init_state(), source.read(spec, bound.atoms)) for spec in source.partition(4)]
    a, b, c = states[:3]
    left = bound.merge(bound.merge(a, b), c)
    right = bound.merge(a, bound.merge(b, c))
    with_identity = bound.merge(bound.init_state(), bound.merge(left, bound.init_state()))
    for s in (right, with_identity):
        assert_same(bound.finalize(s, {}), bound.finalize(left, {}))


@pytest.mark.parametrize("name", FEATURIZERS)
def test_serial_threads_processes_agree(source, name):
    serial = run(FEATURIZERS[name](), source, chunk_size=4, progress=False)
    for scheduler in ("threads", "processes"):
        other = run(FEATURIZERS[name](), source, chunk_size=4, scheduler=scheduler, n_workers=2, progress=False)
        assert_same(other, serial)
        assert other.provenance["scheduler"] == scheduler


@pytest.mark.parametrize("name", FEATURIZERS)
def test_inputs_are_not_modified(source, name):
    bound = FEATURIZERS[name]().bind(source)
    chunk = source.read(source.partition(6)[0], bound.atoms)
    before = (chunk.positions.copy(), chunk.boxes.copy(), chunk.times.copy(), chunk.frames.copy())
    bound.update(bound.init_state(), chunk)
    for x, y in zip(before, (chunk.positions, chunk.boxes, chunk.times, chunk.frames)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", FEATURIZERS)
def test_featurizers_states_and_results_pickle(source, name):
    featurizer = FEATURIZERS[name]()
    bound = featurizer.bind(source)
    state = bound.update(bound.init_state(), source.read(source.partition(3)[0], bound.atoms))
    for obj in (featurizer, bound, state):
        assert type(pickle.loads(pickle.dumps(obj))) is type(obj)
    again = pickle.loads(pickle.dumps(bound))
    assert_same(again.finalize(pickle.loads(pickle.dumps(state)), {}), bound.finalize(state, {}))
    result = bound.finalize(state, {"note": "x"})
    assert_same(pickle.loads(pickle.dumps(result)), result)


@pytest.mark.parametrize("name", FEATURIZERS)
def test_bind_leaves_the_featurizer_unbound_and_reads_only_needed_atoms(source, name):
    featurizer = FEATURIZERS[name]()
    bound = featurizer.bind(source)
    assert bound is not featurizer and featurizer.atoms is None
    if name != "graphs":  # graphs search neighbours among every atom
        assert bound.atoms is not None and len(bound.atoms) < source.n_atoms
