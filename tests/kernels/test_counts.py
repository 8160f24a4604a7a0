"""Neighbour counts and lists against the NumPy reference, MDAnalysis, freud and analytic physics."""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest
from pair_systems import (
    KINDS,
    TRICLINIC_DIMS,
    both_modes,
    make_data,
    selections,
    set_per_frame,
    small_system,
    triclinic_vectors,
)

from trajml.kernels import counts, reference
from trajml.kernels.counts import count_neighbors, fill_neighbors, neighbor_counts, radius_neighbors
from trajml.kernels.geometry import max_cutoff
from trajml.kernels.histograms import pair_histogram


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("r_frac", [0.1, 0.3, 1.0])  # 0.1: more cells than atoms, the grid is capped
def test_neighbor_counts_match_reference(kind, same, r_frac, monkeypatch):
    pos, boxes, ids, mol = make_data(kind, seed=1)
    pa, pb, ia, ib, _, _ = selections(pos, ids, mol, same)
    cutoff = r_frac * max_cutoff(boxes)
    species = (np.arange(pb.shape[1]) % 3).astype(np.int32)
    ref = np.empty((pa.shape[0], pa.shape[1], 3), dtype=np.int32)
    reference.neighbor_counts_reference(pa, pb, boxes, cutoff, ia, ib, species, 3, ref)
    assert ref.sum() > 0
    counts_ref = np.empty(pa.shape[:2], dtype=np.int64)
    reference.count_neighbors_reference(pa, pb, boxes, cutoff, ia, ib, counts_ref)
    np.testing.assert_array_equal(counts_ref, ref.sum(axis=2))
    for _ in both_modes(monkeypatch):
        out = np.full(ref.shape, -1, dtype=np.int32)  # overwritten
        neighbor_counts(pa, pb, boxes, cutoff, ia, ib, species, 3, out)
        np.testing.assert_array_equal(out, ref)
        counts = np.full(counts_ref.shape, -1, dtype=np.int64)
        count_neighbors(pa, pb, boxes, cutoff, ia, ib, counts)
        np.testing.assert_array_equal(counts, counts_ref)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("per_frame", [True, False])
def test_neighbor_lists_match_reference(kind, same, per_frame, monkeypatch):
    set_per_frame(monkeypatch, per_frame)
    pos, boxes, ids, mol = make_data(kind, seed=2)
    pa, pb, ia, ib, _, _ = selections(pos, ids, mol, same)
    r_max = 0.8 * max_cutoff(boxes)
    offsets, nbrs, dist = radius_neighbors(pa, pb, boxes, r_max, ia, ib)
    offsets_ref, nbrs_ref, dist_ref = reference.radius_neighbors_reference(pa, pb, boxes, r_max, ia, ib)
    np.testing.assert_array_equal(offsets, offsets_ref)
    np.testing.assert_array_equal(nbrs, nbrs_ref)
    np.testing.assert_allclose(dist, dist_ref, rtol=0, atol=1e-5)
    assert dist.dtype == np.float32 and nbrs.dtype == np.int64 and offsets.dtype == np.int64
    # Rows sorted by (distance, index).
    for r in range(0, offsets.shape[0] - 1, 17):
        row_d, row_j = dist[offsets[r] : offsets[r + 1]], nbrs[offsets[r] : offsets[r + 1]]
        np.testing.assert_array_equal(np.lexsort((row_j, row_d)), np.arange(row_d.size))

    # Pass 2 on its own, into caller-given arrays.
    out_nb = np.full(offsets[-1], -1, dtype=np.int64)
    out_d = np.full(offsets[-1], -1.0, dtype=np.float32)
    fill_neighbors(pa, pb, boxes, r_max, ia, ib, offsets, out_nb, out_d)
    np.testing.assert_array_equal(out_nb, nbrs)
    np.testing.assert_array_equal(out_d, dist)

    # The M nearest within the radius.
    got = radius_neighbors(pa, pb, boxes, r_max, ia, ib, max_neighbors=5)
    want = reference.radius_neighbors_reference(pa, pb, boxes, r_max, ia, ib, max_neighbors=5)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert np.diff(got[0]).max() == 5


def test_dense_rows_match_reference(monkeypatch):
    """Rows of ~200 neighbours (sorted by the long-row path) in a dense triclinic system."""
    rng = np.random.default_rng(8)
    box = triclinic_vectors(np.array([18.0, 19.0, 20.0, 80.0, 95.0, 100.0]))
    boxes = np.stack([box, box * 1.01])
    pos = np.einsum("fnj,fjk->fnk", rng.uniform(0.0, 1.0, (2, 450, 3)), boxes).astype(np.float32)
    ids = np.arange(450, dtype=np.int64)
    r_max = max_cutoff(boxes)
    want = reference.radius_neighbors_reference(pos, pos, boxes, r_max, ids, ids)
    assert np.diff(want[0]).min() > 100
    for _ in both_modes(monkeypatch):
        got = radius_neighbors(pos, pos, boxes, r_max, ids, ids)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_allclose(got[2], want[2], rtol=0, atol=1e-5)


# --------------------------------------------------------------------------- #
# independent peers: MDAnalysis capped_distance and freud AABBQuery
# --------------------------------------------------------------------------- #


def _pair_dict(rows: np.ndarray, cols: np.ndarray, dist: np.ndarray, r: float, band: float) -> dict:
    keep = dist < r - band
    return {(int(i), int(j)): float(d) for i, j, d in zip(rows[keep], cols[keep], dist[keep])}


def _assert_same_pairs(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    diff = max(abs(ours[k] - theirs[k]) for k in ours)
    assert diff < 1e-4


@pytest.mark.parametrize("dims", [np.array([24.0, 26.0, 28.0, 90.0, 90.0, 90.0]), TRICLINIC_DIMS])
def test_neighbor_lists_match_mdanalysis_and_freud(dims):
    import freud
    from MDAnalysis.lib.distances import capped_distance

    rng = np.random.default_rng(5)
    box = triclinic_vectors(dims)
    n = 400
    frac = rng.uniform(0.0, 1.0, (n, 3))
    pos = (frac @ box).astype(np.float32)
    a, b = np.arange(0, n, 2), np.arange(n)
    r = 0.9 * max_cutoff(box)
    ids = np.arange(n, dtype=np.int64)
    offsets, nbrs, dist = radius_neighbors(pos[None, a], pos[None, b], box[None], r, ids[a], ids[b])
    rows = np.repeat(np.arange(a.size), np.diff(offsets))
    band = 1e-3  # pairs this close to the cut-off may fall either side in float32 peers
    ours = _pair_dict(rows, nbrs, dist, r, band)

    pairs, d_mda = capped_distance(pos[a], pos[b], r, box=dims.astype(np.float32))
    not_self = a[pairs[:, 0]] != b[pairs[:, 1]]
    _assert_same_pairs(ours, _pair_dict(pairs[not_self, 0], pairs[not_self, 1], d_mda[not_self], r, band))

    fbox = freud.box.Box.from_matrix(box.T)  # freud takes the box vectors as columns
    points = fbox.make_absolute(frac)  # freud's positions are centred on the origin
    query = freud.locality.AABBQuery(fbox, points[b]).query(points[a], {"r_max": r})
    nl = query.toNeighborList()
    qi, pj, d_freud = nl.query_point_indices, nl.point_indices, nl.distances
    not_self = a[qi] != b[pj]
    _assert_same_pairs(ours, _pair_dict(qi[not_self], pj[not_self], d_freud[not_self], r, band))


# --------------------------------------------------------------------------- #
# analytic physics
# --------------------------------------------------------------------------- #


def _fcc(a: float, cells: int) -> tuple[np.ndarray, np.ndarray]:
    basis = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    grid = np.array(list(itertools.product(range(cells), repeat=3)), dtype=np.float64)
    pos = (grid[:, None, :] + basis[None]).reshape(-1, 3) * a
    return pos, np.diag([a * cells] * 3)


def _fcc_primitive(a: float, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """The same crystal in a rhombohedral (60°) supercell of the primitive cell: a triclinic box."""
    prim = 0.5 * a * np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    grid = np.array(list(itertools.product(range(cells), repeat=3)), dtype=np.float64)
    return grid @ prim + 0.01, cells * prim


@pytest.mark.parametrize("build", [_fcc, _fcc_primitive])
def test_fcc_shells(build):
    a = 4.0
    pos, box = build(a, 5 if build is _fcc else 7)
    n = pos.shape[0]
    pos32 = pos.astype(np.float32)[None]
    ids = np.arange(n, dtype=np.int64)
    first, second = a / np.sqrt(2) + 0.05, a + 0.05
    for cutoff, shell in [(first, 12), (second, 18)]:
        counts = np.empty((1, n), dtype=np.int64)
        count_neighbors(pos32, pos32, box[None], cutoff, ids, ids, counts)
        assert np.all(counts == shell)
    # The histogram puts all 12 N ordered nearest-neighbour pairs in the bin holding a / sqrt(2).
    out = np.zeros(40, dtype=np.int64)
    pair_histogram(pos32, pos32, box[None], 0.0, first, ids, ids, None, None, out)
    assert out.sum() == 12 * n and out[-1] == 12 * n
    species = (ids % 2).astype(np.int32)
    sc = np.empty((1, n, 2), dtype=np.int32)
    neighbor_counts(pos32, pos32, box[None], first, ids, ids, species, 2, sc)
    assert np.all(sc.sum(axis=2) == 12)


# --------------------------------------------------------------------------- #
# validation messages
# --------------------------------------------------------------------------- #


def test_bad_neighbor_arguments():
    pos, boxes, ids, _ = small_system()
    message = r"'species_b' parameter of neighbor_counts must hold codes in \[0, n_species\) = \[0, 2\). Got 2"
    with pytest.raises(ValueError, match=message):
        species = np.arange(30, dtype=np.int32) % 3
        neighbor_counts(pos, pos, boxes, 3.0, ids, ids, species, 2, np.zeros((4, 30, 2), np.int32))
    with pytest.raises(ValueError, match="'n_species' parameter of neighbor_counts must be an int >= 1. Got 0"):
        neighbor_counts(pos, pos, boxes, 3.0, ids, ids, np.zeros(30, np.int32), 0, np.zeros((4, 30, 0), np.int32))
    with pytest.raises(TypeError, match="'out' parameter of neighbor_counts must be a int32 ndarray"):
        neighbor_counts(pos, pos, boxes, 3.0, ids, ids, np.zeros(30, np.int32), 1, np.zeros((4, 30, 1), np.int64))
    with pytest.raises(ValueError, match=r"'out_counts' parameter of count_neighbors must have shape \(4, 30\)"):
        count_neighbors(pos, pos, boxes, 3.0, ids, ids, np.zeros((4, 29), np.int64))
    counts = np.empty((4, 30), dtype=np.int64)
    count_neighbors(pos, pos, boxes, 5.0, ids, ids, counts)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    nbrs, dist = np.empty(offsets[-1], np.int64), np.empty(offsets[-1], np.float32)
    message = "'offsets' parameter of fill_neighbors disagrees with the neighbour counts at frame 0"
    with pytest.raises(ValueError, match=message):
        fill_neighbors(pos, pos, boxes, 4.0, ids, ids, offsets, nbrs, dist)  # counted with another r_max
    message = r"'offsets' parameter of fill_neighbors must have shape \(F \* Na \+ 1,\) = \(121,\)"
    with pytest.raises(ValueError, match=message):
        fill_neighbors(pos, pos, boxes, 5.0, ids, ids, offsets[:-1], nbrs, dist)
    with pytest.raises(ValueError, match=r"'out_distances' parameter of fill_neighbors must have shape"):
        fill_neighbors(pos, pos, boxes, 5.0, ids, ids, offsets, nbrs, dist[:-1])
    message = "'max_neighbors' parameter of radius_neighbors must be None or an int >= 1. Got 0"
    with pytest.raises(ValueError, match=message):
        radius_neighbors(pos, pos, boxes, 5.0, ids, ids, max_neighbors=0)
    nan_pos = pos.copy()
    nan_pos[2, 0, 1] = np.inf
    with pytest.raises(ValueError, match="Non-finite coordinates .* of fill_neighbors at frame 2 of this chunk"):
        fill_neighbors(nan_pos, pos, boxes, 5.0, ids, ids, offsets, nbrs, dist)
    with pytest.raises(ValueError, match="Non-finite coordinates .* of count_neighbors at frame 2 of this chunk"):
        radius_neighbors(pos, nan_pos, boxes, 5.0, ids, ids)


def test_docstring_examples():
    result = doctest.testmod(counts, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
