"""k nearest neighbours (full and pruned search) against the NumPy reference and a wide image search."""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest
from pair_systems import KINDS, both_modes, images_bruteforce, knn_out, make_data, selections, small_system

from trajml.kernels import knn, knn_cells, knn_pruned, reference
from trajml.kernels.counts import radius_neighbors
from trajml.kernels.geometry import max_cutoff, minimum_image_distances
from trajml.kernels.knn import knn_neighbors, knn_to_csr


def _knn_bruteforce(pa, pb, boxes, r_max, ia, ib, k):
    """Sorted (distance, index) rows from the wide image search, independent of the module's references."""
    n_frames, n_a = pa.shape[:2]
    nbrs, dist, counts = knn_out(n_frames, n_a, k)
    nbrs[...] = -1
    dist[...] = np.inf
    for t in range(n_frames):
        d = images_bruteforce(pa[t], pb[t], boxes[t].astype(np.float64), reach=2).astype(np.float64)
        d2 = np.einsum("ij,ij->ij", d, d)
        for i in range(n_a):
            j = np.flatnonzero((d2[i] < r_max * r_max) & (ib != ia[i]))
            counts[t, i] = j.size
            rows = sorted(zip(d[i, j].astype(np.float32).tolist(), j.tolist()))[:k]
            nbrs[t, i, : len(rows)] = [q for _, q in rows]
            dist[t, i, : len(rows)] = [x for x, _ in rows]
    return nbrs, dist, counts


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("same", [True, False])
def test_knn_matches_reference_and_bruteforce(kind, same, monkeypatch):
    pos, boxes, ids, mol = make_data(kind, seed=9, n_frames=3, n_atoms=150)
    pa, pb, ia, ib, _, _ = selections(pos, ids, mol, same)
    r_max = 0.9 * max_cutoff(boxes)
    for k in (1, 6, 400):  # 400: more than any row holds
        want = knn_out(pa.shape[0], pa.shape[1], k)
        reference.knn_neighbors_reference(pa, pb, boxes, r_max, ia, ib, k, *want)
        assert want[2].max() > 6 and want[2].max() < 400
        brute = _knn_bruteforce(pa, pb, boxes, r_max, ia, ib, k)
        np.testing.assert_array_equal(want[0], brute[0])
        np.testing.assert_array_equal(want[2], brute[2])
        np.testing.assert_allclose(want[1], brute[1], rtol=0, atol=1e-5)
        for _ in both_modes(monkeypatch):
            # The trial radius only changes the time: one far too small (grown in tiny steps), one too large.
            for trial, grow in ((1.3, 1.6), (0.05, 1.01), (4.0, 2.0)):
                monkeypatch.setattr(knn_cells, "_TRIAL", trial)
                monkeypatch.setattr(knn_cells, "_GROW", grow)
                got = knn_out(pa.shape[0], pa.shape[1], k)
                knn_neighbors(pa, pb, boxes, r_max, ia, ib, k, *got)
                for g, w in zip(got, want):
                    np.testing.assert_array_equal(g, w)
    # The capped CSR lists are the first min(count, M) slots of the rows.
    offsets, nbrs, dist = radius_neighbors(pa, pb, boxes, r_max, ia, ib, max_neighbors=6)
    want = reference.radius_neighbors_reference(pa, pb, boxes, r_max, ia, ib, max_neighbors=6)
    for g, w in zip((offsets, nbrs, dist), want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("same", [True, False])
def test_knn_pruned_matches_reference_and_bruteforce(kind, same, monkeypatch):
    # count_all=False: the same rows, counts saturated at k + 1.
    pos, boxes, ids, mol = make_data(kind, seed=11, n_frames=3, n_atoms=150)
    pa, pb, ia, ib, _, _ = selections(pos, ids, mol, same)
    for r_frac, ks in ((0.9, (1, 6, 400)), (0.3, (3,))):  # 0.3: a few zero-neighbour rows
        r_max = r_frac * max_cutoff(boxes)
        for k in ks:
            want = knn_out(pa.shape[0], pa.shape[1], k)
            reference.knn_neighbors_reference(pa, pb, boxes, r_max, ia, ib, k, *want, count_all=False)
            brute = _knn_bruteforce(pa, pb, boxes, r_max, ia, ib, k)
            assert want[2].min() == 0 if r_frac == 0.3 else want[2].max() == min(k + 1, brute[2].max())
            np.testing.assert_array_equal(want[0], brute[0])
            np.testing.assert_array_equal(want[2], np.minimum(brute[2], k + 1))
            np.testing.assert_allclose(want[1], brute[1], rtol=0, atol=1e-5)
            for _ in both_modes(monkeypatch):
                # The gathered cells, then the pruned walk with cells of width r_max, r_max / 2, r_max / 3.
                for above, reach in ((np.inf, None), (0.0, 1), (0.0, 2), (0.0, 3)):
                    monkeypatch.setattr(knn, "_PRUNED_ABOVE", above)
                    monkeypatch.setattr(knn_pruned, "_PRUNED_REACH", reach)
                    got = knn_out(pa.shape[0], pa.shape[1], k)
                    knn_neighbors(pa, pb, boxes, r_max, ia, ib, k, *got, count_all=False)
                    for g, w in zip(got, want):
                        np.testing.assert_array_equal(g, w)


def test_knn_pruned_dense_rows_and_reach_choice(monkeypatch):
    # Many more neighbours than k, so the walk stops early; reach picked from the density.
    monkeypatch.setattr(knn, "_PRUNED_ABOVE", 0.0)
    rng = np.random.default_rng(5)
    box = np.diag([18.0, 19.0, 20.0])[None].repeat(2, axis=0)
    pos = rng.uniform(0.0, 1.0, (2, 600, 3)).astype(np.float32) * np.float32([18.0, 19.0, 20.0])
    ids = np.arange(600, dtype=np.int64)
    assert knn_pruned._pruned_reach(600, box, 6.0) > 1
    for k in (1, 12):
        want = knn_out(2, 600, k)
        reference.knn_neighbors_reference(pos, pos, box, 6.0, ids, ids, k, *want, count_all=False)
        assert np.all(want[2] == k + 1)
        got = knn_out(2, 600, k)
        knn_neighbors(pos, pos, box, 6.0, ids, ids, k, *got, count_all=False)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        full = knn_out(2, 600, k)
        knn_neighbors(pos, pos, box, 6.0, ids, ids, k, *full)
        np.testing.assert_array_equal(full[0], got[0])
        np.testing.assert_array_equal(full[1], got[1])
        assert np.all(full[2] > k + 1)


def test_knn_empty_rows_and_ties(monkeypatch):
    # Simple cubic lattice, spacing 3 Å in a 15 Å box: six neighbours tie at exactly 3 Å.
    grid = np.array(list(itertools.product(range(5), repeat=3)), dtype=np.float32) * 3.0
    pos = grid[None]
    box = np.diag([15.0, 15.0, 15.0])[None]
    ids = np.arange(grid.shape[0], dtype=np.int64)
    k = 4
    got = knn_out(1, grid.shape[0], k)
    knn_neighbors(pos, pos, box, 3.5, ids, ids, k, *got)
    assert np.all(got[2] == 6) and np.all(got[1] == 3.0)
    d = minimum_image_distances(grid, grid, box[0])
    for i in range(grid.shape[0]):
        ties = np.flatnonzero(np.abs(d[i] - 3.0) < 1e-6)
        np.testing.assert_array_equal(got[0][0, i], np.sort(ties)[:k])  # ties broken by index
    # Below the spacing nothing is within r_max: empty rows.
    knn_neighbors(pos, pos, box, 2.9, ids, ids, k, *got)
    assert np.all(got[0] == -1) and np.all(np.isinf(got[1])) and np.all(got[2] == 0)
    # An empty B: every row empty.
    knn_neighbors(pos, pos[:, :0], box, 3.5, ids, ids[:0], k, *got)
    assert np.all(got[0] == -1) and np.all(got[2] == 0)
    # Counts stopped at k + 1 (gathered cells, then the pruned walk): six ties at 3 Å still break by index.
    for above, reach in ((np.inf, None), (0.0, 1), (0.0, 2), (0.0, 3)):
        monkeypatch.setattr(knn, "_PRUNED_ABOVE", above)
        monkeypatch.setattr(knn_pruned, "_PRUNED_REACH", reach)
        for kk in (4, 5, 6, 30):
            pruned = knn_out(1, grid.shape[0], kk)
            knn_neighbors(pos, pos, box, 3.5, ids, ids, kk, *pruned, count_all=False)
            assert np.all(pruned[2] == min(6, kk + 1))
            for i in range(grid.shape[0]):
                ties = np.sort(np.flatnonzero(np.abs(d[i] - 3.0) < 1e-6))[:kk]
                np.testing.assert_array_equal(pruned[0][0, i, : ties.size], ties)
                assert np.all(pruned[0][0, i, ties.size:] == -1)
        knn_neighbors(pos, pos, box, 2.9, ids, ids, k, *got, count_all=False)
        assert np.all(got[0] == -1) and np.all(np.isinf(got[1])) and np.all(got[2] == 0)


def test_knn_bad_arguments():
    pos, boxes, ids, _ = small_system()
    nbrs, dist, counts = knn_out(4, 30, 3)
    for bad in (0, -2, 2.5, True, None):
        with pytest.raises(ValueError, match=rf"The 'k' parameter of knn_neighbors must be an int >= 1. Got {bad!r}"):
            knn_neighbors(pos, pos, boxes, 4.0, ids, ids, bad, nbrs, dist, counts)
    message = r"'out_neighbors' parameter of knn_neighbors must have shape \(4, 30, 3\)"
    with pytest.raises(ValueError, match=message):
        knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs[:, :, :2].copy(), dist, counts)
    with pytest.raises(TypeError, match="'out_distances' parameter of knn_neighbors must be a float32 ndarray"):
        knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs, dist.astype(np.float64), counts)
    with pytest.raises(ValueError, match=r"'out_counts' parameter of knn_neighbors must have shape \(4, 30\)"):
        knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs, dist, counts[:, :29].copy())
    with pytest.raises(TypeError, match="'out_counts' parameter of knn_neighbors must be a int64 ndarray"):
        knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs, dist, counts.astype(np.int32))
    with pytest.raises(ValueError, match="'r_max' parameter of knn_neighbors must be a float in"):
        knn_neighbors(pos, pos, boxes, -1.0, ids, ids, 3, nbrs, dist, counts)
    with pytest.raises(ValueError, match=r"'device' parameter of knn_neighbors must be one of"):
        knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs, dist, counts, device="gpu")
    with pytest.raises(TypeError, match=r"The 'count_all' parameter of knn_neighbors must be a bool. Got 1"):
        knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs, dist, counts, count_all=1)
    nan_pos = pos.copy()
    nan_pos[3, 1, 2] = np.nan
    with pytest.raises(ValueError, match="Non-finite coordinates .* of knn_neighbors at frame 3 of this chunk"):
        knn_neighbors(pos, nan_pos, boxes, 4.0, ids, ids, 3, nbrs, dist, counts)


def test_knn_to_csr_keeps_the_first_min_count_k_slots_of_every_row():
    rng = np.random.default_rng(5)
    k = 4
    counts = rng.integers(0, 7, size=(3, 5)).astype(np.int64)
    nbrs = rng.integers(0, 100, size=(3, 5, k)).astype(np.int64)
    d = rng.random((3, 5, k)).astype(np.float32)
    off, out_nb, out_d = knn_to_csr(nbrs, d, counts, k)
    kept = np.minimum(counts.ravel(), k)
    np.testing.assert_array_equal(np.diff(off), kept)
    used = np.arange(k) < kept[:, None]
    np.testing.assert_array_equal(out_nb, nbrs.reshape(-1, k)[used])
    np.testing.assert_array_equal(out_d, d.reshape(-1, k)[used])
    full = np.full((3, 5), k + 1, dtype=np.int64)  # every row full: returned as views, same values
    off, out_nb, out_d = knn_to_csr(nbrs, d, full, k)
    np.testing.assert_array_equal(out_nb, nbrs.reshape(-1))
    assert off[-1] == 15 * k


def test_docstring_examples():
    result = doctest.testmod(knn, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
