"""k nearest neighbours against scipy's cKDTree and a brute-force NumPy search, with the tie rule spelled out.

The rule under test: rows list the B atoms within ``r_max`` (``d < r_max``), nearest first by the
float32 distance, ties (equal float32 distances) by index into B; counts are every partner within
``r_max`` (``count_all=True``) or that number capped at ``k + 1``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pair_systems import knn_out, make_data, selections, set_per_frame
from scipy.spatial import cKDTree

from trajml.kernels import knn_cells, reference
from trajml.kernels.geometry import max_cutoff
from trajml.kernels.knn import knn_neighbors, knn_neighbors_csr


def _wrap(pos: np.ndarray, box: np.ndarray) -> np.ndarray:
    frac = pos.astype(np.float64) @ np.linalg.inv(box)
    frac -= np.floor(frac)
    return frac @ box


def _rows_by_rule(d: np.ndarray, j: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first k of (index, float64 distance) pairs ordered by float32 distance, then index."""
    d32 = d.astype(np.float32)
    order = np.lexsort((j, d32))[:k]
    return j[order], d32[order]


def _ckdtree_knn(pa, pb, boxes, r_max, ia, ib, k):
    """Rows and counts from cKDTree: periodic ``boxsize`` for orthorhombic boxes, explicit images otherwise."""
    n_frames, n_a = pa.shape[:2]
    n_b = pb.shape[1]
    nbrs, dist, counts = knn_out(n_frames, n_a, k)
    nbrs[...] = -1
    dist[...] = np.inf
    for t in range(n_frames):
        box = boxes[t].astype(np.float64)
        if np.count_nonzero(box - np.diag(np.diag(box))) == 0:
            lengths = np.diag(box)
            tree = cKDTree(np.mod(pb[t].astype(np.float64), lengths), boxsize=lengths)
            d, j = tree.query(np.mod(pa[t].astype(np.float64), lengths), k=n_b, distance_upper_bound=r_max)
        else:
            # r_max <= half the shortest width: one of the 27 images of a wrapped pair is the nearest.
            shifts = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=np.float64) @ box
            images = (_wrap(pb[t], box)[None] + shifts[:, None]).reshape(-1, 3)
            tree = cKDTree(images)
            d, j = tree.query(_wrap(pa[t], box), k=n_b, distance_upper_bound=r_max)
            j = np.where(np.isfinite(d), j % n_b, n_b)
        for i in range(n_a):
            keep = np.isfinite(d[i]) & (d[i] < r_max)
            jj = j[i][keep]
            dd = d[i][keep]
            other = ib[jj] != ia[i]
            jj, dd = jj[other], dd[other]
            counts[t, i] = jj.size
            row_j, row_d = _rows_by_rule(dd, jj, k)
            nbrs[t, i, : row_j.size] = row_j
            dist[t, i, : row_j.size] = row_d
    return nbrs, dist, counts


def _brute_knn(pa, pb, boxes, r_max, ia, ib, k):
    """Rows and counts from all pairs over the 125 images (reach 2) of the raw difference, in plain NumPy."""
    n_frames, n_a = pa.shape[:2]
    nbrs, dist, counts = knn_out(n_frames, n_a, k)
    nbrs[...] = -1
    dist[...] = np.inf
    for t in range(n_frames):
        delta = pb[t][None].astype(np.float64) - pa[t][:, None].astype(np.float64)
        d2 = np.full(delta.shape[:2], np.inf)
        for n in itertools.product(range(-2, 3), repeat=3):
            v = delta + np.asarray(n, dtype=np.float64) @ boxes[t].astype(np.float64)
            np.minimum(d2, (v * v).sum(-1), out=d2)
        for i in range(n_a):
            jj = np.flatnonzero((d2[i] < r_max * r_max) & (ib != ia[i]))
            counts[t, i] = jj.size
            row_j, row_d = _rows_by_rule(np.sqrt(d2[i, jj]), jj, k)
            nbrs[t, i, : row_j.size] = row_j
            dist[t, i, : row_j.size] = row_d
    return nbrs, dist, counts


def _assert_rows(got, want, *, count_cap=None):
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6, atol=0)
    counts = want[2] if count_cap is None else np.minimum(want[2], count_cap)
    np.testing.assert_array_equal(got[2], counts)


@pytest.mark.parametrize("kind", ["orthorhombic", "triclinic", "npt"])
@pytest.mark.parametrize("same", [True, False])
def test_knn_matches_ckdtree_and_bruteforce(kind, same, monkeypatch):
    pos, boxes, ids, mol = make_data(kind, seed=21, n_frames=5, n_atoms=160)
    pa, pb, ia, ib, _, _ = selections(pos, ids, mol, same)
    n_frames, n_a = pa.shape[:2]
    # r_max small (rows with fewer than k partners, some empty) and large (rows cut to the nearest k).
    for r_frac, k in ((0.25, 3), (0.9, 1), (0.9, 12)):
        r_max = r_frac * max_cutoff(boxes)
        tree = _ckdtree_knn(pa, pb, boxes, r_max, ia, ib, k)
        brute = _brute_knn(pa, pb, boxes, r_max, ia, ib, k)
        _assert_rows(brute, tree)
        if r_frac < 0.5:
            assert tree[2].min() == 0 and np.any((tree[2] > 0) & (tree[2] < k))
        else:
            assert np.any(tree[2] > k + 1)
        for per_frame in (True, False):
            set_per_frame(monkeypatch, per_frame)
            got = knn_out(n_frames, n_a, k)
            knn_neighbors(pa, pb, boxes, r_max, ia, ib, k, *got)
            _assert_rows(got, tree)
            knn_neighbors(pa, pb, boxes, r_max, ia, ib, k, *got, count_all=False)
            _assert_rows(got, tree, count_cap=k + 1)
        # The CSR rows are the first min(count, k) slots of every row.
        offsets, nb, dist, counts = knn_neighbors_csr(pa, pb, boxes, r_max, ia, ib, k)
        kept = np.minimum(tree[2].reshape(-1), k)
        np.testing.assert_array_equal(np.diff(offsets), kept)
        used = np.arange(k) < kept[:, None]
        np.testing.assert_array_equal(nb, tree[0].reshape(-1, k)[used])
        np.testing.assert_allclose(dist, tree[1].reshape(-1, k)[used], rtol=1e-6, atol=0)
        np.testing.assert_array_equal(counts, np.minimum(tree[2], k + 1))
        want = reference.knn_neighbors_csr_reference(pa, pb, boxes, r_max, ia, ib, k)
        for g, w in zip((offsets, nb, dist, counts), want):
            np.testing.assert_array_equal(g, w)


def _near_tie_clusters(delta: float = 4e-4):
    """Two copies of a centre with 12 partners at 3 Å in float32.

    Partners 1-6 of each copy sit at ``sqrt(9 + delta**2)`` (farther in float64), partners 7-12 at
    exactly 3 Å; all round to 3.0 in float32, so the rule keeps the lowest indices, the farther ones.
    """
    axes = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.float64)
    side = np.roll(axes, 1, axis=1) * delta  # perpendicular to each axis
    copies = []
    for centre in ((6.0, 6.0, 6.0), (16.0, 16.0, 16.0)):
        c = np.asarray(centre)
        copies.append(np.concatenate([c[None], c + 3.0 * axes + side, c + 3.0 * axes]))
    pos = np.concatenate(copies).astype(np.float32)[None]
    box = np.diag([30.0, 30.0, 30.0])[None].astype(np.float32)
    return pos, box


def test_float32_ties_break_by_index_even_when_float64_distances_differ(monkeypatch):
    pos, box = _near_tie_clusters()
    n = pos.shape[1]
    ids = np.arange(n, dtype=np.int64)
    centres = (0, 13)
    d = np.sqrt(((pos[0, 1:7].astype(np.float64) - pos[0, 0]) ** 2).sum(-1))
    assert np.all(d > 3.0) and np.all(d.astype(np.float32) == np.float32(3.0))
    k = 4
    want = knn_out(1, n, k)
    reference.knn_neighbors_reference(pos, pos, box, 3.5, ids, ids, k, *want)
    tree = _ckdtree_knn(pos, pos, box, 3.5, ids, ids, k)
    _assert_rows(want, tree)
    for c in centres:
        np.testing.assert_array_equal(tree[0][0, c], c + np.arange(1, 5))  # the farther, lower indices
        assert tree[2][0, c] == 12
    # The selection tries a radius from the previous row's k-th distance. Put it between 3 Å and the
    # farther partners: the exact ones fill the k slots, and the tie must still pull in the lower indices.
    bound2 = float(np.nextafter(np.float32(3.0), np.float32(np.inf))) ** 2
    trial = (9.0 + 0.5 * (float(d.min()) ** 2 - 9.0)) / bound2
    set_per_frame(monkeypatch, True)  # one block per frame: the second centre follows the first
    for t, g in ((trial, 1.6), (1.3, 1.6), (0.01, 1.0001)):
        monkeypatch.setattr(knn_cells, "_TRIAL", t)
        monkeypatch.setattr(knn_cells, "_GROW", g)
        for count_all in (True, False):
            got = knn_out(1, n, k)
            knn_neighbors(pos, pos, box, 3.5, ids, ids, k, *got, count_all=count_all)
            _assert_rows(got, tree, count_cap=None if count_all else k + 1)


def test_cutoff_is_strict_and_rows_shorter_than_k():
    # Simple cubic lattice, spacing 3 Å: d == r_max is outside, the next float above takes all six.
    grid = np.array(list(itertools.product(range(5), repeat=3)), dtype=np.float32)[None] * 3.0
    box = np.diag([15.0, 15.0, 15.0])[None]
    ids = np.arange(grid.shape[1], dtype=np.int64)
    k = 8
    for r_max, count in ((3.0, 0), (float(np.nextafter(3.0, 4.0)), 6)):
        got = knn_out(1, grid.shape[1], k)
        knn_neighbors(grid, grid, box, r_max, ids, ids, k, *got)
        tree = _ckdtree_knn(grid, grid, box, r_max, ids, ids, k)
        _assert_rows(got, tree)
        assert np.all(got[2] == count)
        assert np.all(got[0][..., count:] == -1) and np.all(np.isinf(got[1][..., count:]))
