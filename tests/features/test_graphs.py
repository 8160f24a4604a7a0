"""Periodic neighbour graphs against MDAnalysis capped_distance (top-M nearest)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from trajml.features import GraphChunk, NeighborGraphs
from trajml.io import open_source
from trajml.parallel import run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysis.lib.distances import capped_distance


def oracle_rows(files, targets, r_max, m):
    """Per (frame, target): (neighbour ids, distances) of the m nearest within r_max, and whether cut."""
    u = mda.Universe(*files)
    t = u.select_atoms(targets) if targets else u.atoms
    rows = []
    for ts in u.trajectory:
        pairs, dist = capped_distance(t.positions, u.atoms.positions, r_max, box=ts.dimensions)
        for i, atom in enumerate(t.indices):
            mask = (pairs[:, 0] == i) & (pairs[:, 1] != atom)
            d = dist[mask]
            nb = pairs[mask, 1]
            order = np.argsort(d, kind="stable")
            keep = order if m is None else order[:m]
            rows.append((nb[keep], d[keep], m is not None and mask.sum() > m))
    return rows


@pytest.mark.parametrize("fixture, targets, r_max, m", [
    ("spe_triclinic", "name Li", 6.0, 5),
    ("spe_nvt", None, 5.0, 3),
    ("spe_npt", "name TFSI", 6.0, None),
])
def test_rows_equal_capped_distance(request, fixture, targets, r_max, m):
    files = request.getfixturevalue(fixture)
    expected = oracle_rows(files, targets, r_max, m)
    graphs = NeighborGraphs(targets, r_max=r_max, max_neighbors=m)
    chunks = list(graphs.iter_graphs(open_source(*files), chunk_size=5))
    assert all(c.n_frames <= 5 for c in chunks)
    got = []
    for c in chunks:
        for f in range(c.n_frames):
            off, nb, dist = c.frame(f)
            got += [(nb[off[i]:off[i + 1]], dist[off[i]:off[i + 1]]) for i in range(c.n_targets)]
    assert len(got) == len(expected)
    for (nb, d), (nb_ref, d_ref, _) in zip(got, expected):
        np.testing.assert_array_equal(nb, nb_ref)
        np.testing.assert_allclose(d, d_ref, rtol=0, atol=1e-4)
        assert np.all(np.diff(d) >= 0)
    # statistics of the featurizer agree with the oracle
    stats = run(graphs, open_source(*files), chunk_size=4, progress=False)
    degrees = np.array([len(r[0]) for r in expected])
    np.testing.assert_array_equal(stats.occurrences, np.bincount(degrees))
    assert stats.mean_degree == pytest.approx(degrees.mean(), rel=1e-12)
    assert stats.fraction_truncated == pytest.approx(np.mean([r[2] for r in expected]), abs=1e-12)


def test_graph_chunk_layout(spe_nvt):
    src = open_source(*spe_nvt)
    chunk = next(NeighborGraphs("name Li", r_max=6.0).iter_graphs(src, chunk_size=4, start=2))
    assert isinstance(chunk, GraphChunk)
    u = mda.Universe(*spe_nvt)
    np.testing.assert_array_equal(chunk.targets, u.select_atoms("name Li").indices)
    np.testing.assert_array_equal(chunk.frames, [2, 3, 4, 5])
    assert chunk.offsets.shape == (4 * chunk.n_targets + 1,) and chunk.offsets.dtype == np.int64
    assert chunk.neighbors.dtype == np.int64 and chunk.distances.dtype == np.float32
    assert chunk.degree.shape == (4, chunk.n_targets) and chunk.degree.max() <= 12
    assert chunk.species.shape == (u.atoms.n_atoms,)
    assert [chunk.species_names[c] for c in chunk.species[:2]] == list(u.atoms.names[:2])
    assert chunk.boxes.shape == (4, 3, 3)
    # torch-geometric shifts attributes whose name contains "index" when batching
    assert not [f.name for f in dataclasses.fields(GraphChunk) if "index" in f.name]


def test_errors_name_parameters(spe_nvt):
    with pytest.raises(ValueError,
                       match=r"The 'max_neighbors' parameter of NeighborGraphs must be an int >= 1 or None"):
        NeighborGraphs(max_neighbors=0)
    with pytest.raises(ValueError, match=r"'r_max' parameter of NeighborGraphs must be at most half"):
        next(NeighborGraphs(r_max=16.0).iter_graphs(open_source(*spe_nvt)))
