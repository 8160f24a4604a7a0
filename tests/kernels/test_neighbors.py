"""The periodic pair-search kernels against brute force, MDAnalysis, freud and analytic physics."""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest

from trajml.kernels import neighbors as nb

N_ATOMS = 240
N_FRAMES = 5
KINDS = ["orthorhombic", "triclinic", "npt"]
# Skewed triclinic box: lengths 20-25 Å, angles 60/75/110 degrees.
TRICLINIC_DIMS = np.array([20.0, 23.0, 25.0, 60.0, 75.0, 110.0])


def _triclinic_vectors(dims: np.ndarray) -> np.ndarray:
    """Box matrix (rows) from [a, b, c, alpha, beta, gamma] via MDAnalysis (an independent oracle)."""
    from MDAnalysis.lib.mdamath import triclinic_vectors

    return triclinic_vectors(np.asarray(dims, dtype=np.float32)).astype(np.float64)


def _boxes(kind: str, n_frames: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "orthorhombic":
        return np.repeat(np.diag([21.0, 23.0, 25.0])[None], n_frames, axis=0).astype(np.float32)
    base = _triclinic_vectors(TRICLINIC_DIMS)
    if kind == "triclinic":
        return np.repeat(base[None], n_frames, axis=0)
    # NPT-like: every frame its own (anisotropically scaled) triclinic box.
    scale = 1.0 + 0.03 * rng.standard_normal((n_frames, 3))
    return (base[None] * scale[:, :, None]).astype(np.float32)


def _data(kind: str, seed: int = 0, n_frames: int = N_FRAMES, n_atoms: int = N_ATOMS):
    rng = np.random.default_rng(seed)
    boxes = _boxes(kind, n_frames, rng)
    frac = rng.uniform(-0.3, 1.3, (n_frames, n_atoms, 3))  # wrapped and unwrapped positions mixed
    pos = np.einsum("fnj,fjk->fnk", frac, boxes.astype(np.float64)).astype(np.float32)
    ids = np.arange(n_atoms, dtype=np.int64) + 1000
    mol = np.arange(n_atoms, dtype=np.int64) // 6
    return pos, boxes, ids, mol


def _selections(pos, ids, mol, same: bool):
    """A and B: the same atoms, or two overlapping, unordered subsets."""
    if same:
        return pos, pos, ids, ids, mol, mol
    a = np.arange(0, pos.shape[1], 3)
    b = np.arange(pos.shape[1] - 1, 40, -1)  # overlaps A: shared atoms must be excluded by id
    return pos[:, a], pos[:, b], ids[a], ids[b], mol[a], mol[b]


def _both_modes(monkeypatch):
    """Run the loop body with the kernels parallel over frames, then over the cells of each frame."""
    for per_frame in (True, False):
        monkeypatch.setattr(nb, "_per_frame", lambda n_frames, v=per_frame: v)
        yield per_frame


# --------------------------------------------------------------------------- #
# kernels == NumPy references
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("with_mol", [True, False])
@pytest.mark.parametrize("r_frac", [0.45, 1.0])  # 4-5 cells along an axis, or only 1-2
def test_pair_histogram_matches_reference(kind, same, with_mol, r_frac, monkeypatch):
    pos, boxes, ids, mol = _data(kind)
    pa, pb, ia, ib, ma, mb = _selections(pos, ids, mol, same)
    if not with_mol:
        ma = mb = None
    r_max = r_frac * nb.max_cutoff(boxes)
    for r_min, n_bins in [(0.0, 37), (2.0, 1)]:
        ref = np.full(n_bins, 7, dtype=np.int64)
        nb.pair_histogram_reference(pa, pb, boxes, r_min, r_max, ia, ib, ma, mb, ref)
        assert ref.sum() > 7 * n_bins + 100
        for _ in _both_modes(monkeypatch):
            out = np.full(n_bins, 7, dtype=np.int64)  # += semantics
            nb.pair_histogram(pa, pb, boxes, r_min, r_max, ia, ib, ma, mb, out)
            np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("r_frac", [0.1, 0.3, 1.0])  # 0.1: more cells than atoms, the grid is capped
def test_neighbor_counts_match_reference(kind, same, r_frac, monkeypatch):
    pos, boxes, ids, mol = _data(kind, seed=1)
    pa, pb, ia, ib, _, _ = _selections(pos, ids, mol, same)
    cutoff = r_frac * nb.max_cutoff(boxes)
    species = (np.arange(pb.shape[1]) % 3).astype(np.int32)
    ref = np.empty((pa.shape[0], pa.shape[1], 3), dtype=np.int32)
    nb.neighbor_counts_reference(pa, pb, boxes, cutoff, ia, ib, species, 3, ref)
    assert ref.sum() > 0
    counts_ref = np.empty(pa.shape[:2], dtype=np.int64)
    nb.count_neighbors_reference(pa, pb, boxes, cutoff, ia, ib, counts_ref)
    np.testing.assert_array_equal(counts_ref, ref.sum(axis=2))
    for _ in _both_modes(monkeypatch):
        out = np.full(ref.shape, -1, dtype=np.int32)  # overwritten
        nb.neighbor_counts(pa, pb, boxes, cutoff, ia, ib, species, 3, out)
        np.testing.assert_array_equal(out, ref)
        counts = np.full(counts_ref.shape, -1, dtype=np.int64)
        nb.count_neighbors(pa, pb, boxes, cutoff, ia, ib, counts)
        np.testing.assert_array_equal(counts, counts_ref)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("per_frame", [True, False])
def test_neighbor_lists_match_reference(kind, same, per_frame, monkeypatch):
    monkeypatch.setattr(nb, "_per_frame", lambda n_frames: per_frame)
    pos, boxes, ids, mol = _data(kind, seed=2)
    pa, pb, ia, ib, _, _ = _selections(pos, ids, mol, same)
    r_max = 0.8 * nb.max_cutoff(boxes)
    offsets, nbrs, dist = nb.radius_neighbors(pa, pb, boxes, r_max, ia, ib)
    offsets_ref, nbrs_ref, dist_ref = nb.radius_neighbors_reference(pa, pb, boxes, r_max, ia, ib)
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
    nb.fill_neighbors(pa, pb, boxes, r_max, ia, ib, offsets, out_nb, out_d)
    np.testing.assert_array_equal(out_nb, nbrs)
    np.testing.assert_array_equal(out_d, dist)

    # The M nearest within the radius.
    got = nb.radius_neighbors(pa, pb, boxes, r_max, ia, ib, max_neighbors=5)
    want = nb.radius_neighbors_reference(pa, pb, boxes, r_max, ia, ib, max_neighbors=5)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert np.diff(got[0]).max() == 5


def test_dense_rows_match_reference(monkeypatch):
    """Rows of ~200 neighbours (sorted by the long-row path) in a dense triclinic system."""
    rng = np.random.default_rng(8)
    box = _triclinic_vectors(np.array([18.0, 19.0, 20.0, 80.0, 95.0, 100.0]))
    boxes = np.stack([box, box * 1.01])
    pos = np.einsum("fnj,fjk->fnk", rng.uniform(0.0, 1.0, (2, 450, 3)), boxes).astype(np.float32)
    ids = np.arange(450, dtype=np.int64)
    r_max = nb.max_cutoff(boxes)
    want = nb.radius_neighbors_reference(pos, pos, boxes, r_max, ids, ids)
    assert np.diff(want[0]).min() > 100
    for _ in _both_modes(monkeypatch):
        got = nb.radius_neighbors(pos, pos, boxes, r_max, ids, ids)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_allclose(got[2], want[2], rtol=0, atol=1e-5)


def test_float64_positions_and_empty_inputs():
    pos, boxes, ids, mol = _data("triclinic", seed=3, n_frames=2, n_atoms=60)
    r_max = nb.max_cutoff(boxes)
    out32 = np.zeros(10, dtype=np.int64)
    out64 = np.zeros(10, dtype=np.int64)
    nb.pair_histogram(pos, pos, boxes, 0.0, r_max, ids, ids, None, None, out32)
    nb.pair_histogram(pos.astype(np.float64), pos.astype(np.float64), boxes, 0.0, r_max, ids, ids, None, None, out64)
    np.testing.assert_array_equal(out32, out64)
    # Zero frames or empty selections: nothing to count, nothing raised.
    out = np.zeros(10, dtype=np.int64)
    nb.pair_histogram(pos[:0], pos[:0], boxes[:0], 0.0, r_max, ids, ids, None, None, out)
    nb.pair_histogram(pos[:, :0], pos, boxes, 0.0, r_max, ids[:0], ids, None, None, out)
    assert not out.any()
    offsets, nbrs, dist = nb.radius_neighbors(pos, pos[:, :0], boxes, r_max, ids, ids[:0])
    assert offsets.shape == (2 * 60 + 1,) and not offsets.any() and nbrs.size == 0


# --------------------------------------------------------------------------- #
# minimum image
# --------------------------------------------------------------------------- #


def _images_bruteforce(pos_a: np.ndarray, pos_b: np.ndarray, box: np.ndarray, reach: int) -> np.ndarray:
    """Shortest distance over all (2 reach + 1)^3 images of the raw (unwrapped) difference."""
    delta = pos_b[None].astype(np.float64) - pos_a[:, None].astype(np.float64)
    best = np.full(delta.shape[:2], np.inf)
    for n in itertools.product(range(-reach, reach + 1), repeat=3):
        d = delta + np.asarray(n, dtype=np.float64) @ box
        best = np.minimum(best, np.sqrt((d * d).sum(-1)))
    return best


@pytest.mark.parametrize(
    "box",
    [
        _triclinic_vectors(TRICLINIC_DIMS),
        # Strongly skewed (not lattice-reduced) box: the raw difference needs more than 27 images.
        np.array([[20.0, 0.0, 0.0], [17.0, 19.0, 0.0], [-15.0, 14.0, 18.0]]),
    ],
)
def test_minimum_image_equals_wide_bruteforce(box):
    rng = np.random.default_rng(4)
    frac = rng.uniform(0.0, 1.0, (150, 3))
    pos = (frac @ box).astype(np.float32)
    pos_b = pos + (rng.integers(-2, 3, (150, 3)) @ box).astype(np.float32)  # far images of the same points
    d = nb.minimum_image_distances(pos, pos_b, box)
    wide = _images_bruteforce(pos, pos_b, box, reach=4)
    half = nb.max_cutoff(box)
    within = wide <= half
    assert within.sum() > 1000
    np.testing.assert_allclose(d[within], wide[within], atol=1e-9, rtol=0)
    assert np.all(d >= wide - 1e-9)  # beyond half the width, 27 images still give an upper bound ≥ the truth

    # The cell-list kernel at the largest admissible cut-off against the 9^3-image search.
    ids = np.arange(150, dtype=np.int64)
    offsets, nbrs, dist = nb.radius_neighbors(pos[None], pos_b[None], box[None], half, ids, ids + 1000)
    rows = np.repeat(np.arange(150), np.diff(offsets))
    got = set(zip(rows.tolist(), nbrs.tolist()))
    want = set(zip(*np.nonzero(wide < half)))
    assert got == {(int(i), int(j)) for i, j in want}
    np.testing.assert_allclose(dist, wide[rows, nbrs], atol=1e-5)


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
    box = _triclinic_vectors(dims)
    n = 400
    frac = rng.uniform(0.0, 1.0, (n, 3))
    pos = (frac @ box).astype(np.float32)
    a, b = np.arange(0, n, 2), np.arange(n)
    r = 0.9 * nb.max_cutoff(box)
    ids = np.arange(n, dtype=np.int64)
    offsets, nbrs, dist = nb.radius_neighbors(pos[None, a], pos[None, b], box[None], r, ids[a], ids[b])
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
        nb.count_neighbors(pos32, pos32, box[None], cutoff, ids, ids, counts)
        assert np.all(counts == shell)
    # The histogram puts all 12 N ordered nearest-neighbour pairs in the bin holding a / sqrt(2).
    out = np.zeros(40, dtype=np.int64)
    nb.pair_histogram(pos32, pos32, box[None], 0.0, first, ids, ids, None, None, out)
    assert out.sum() == 12 * n and out[-1] == 12 * n
    species = (ids % 2).astype(np.int32)
    sc = np.empty((1, n, 2), dtype=np.int32)
    nb.neighbor_counts(pos32, pos32, box[None], first, ids, ids, species, 2, sc)
    assert np.all(sc.sum(axis=2) == 12)


def test_ideal_gas_histogram_is_flat():
    rng = np.random.default_rng(6)
    n, n_frames, length, r_max, n_bins = 1500, 4, 30.0, 12.0, 24
    box = np.diag([length, length, length])
    boxes = np.repeat(box[None], n_frames, axis=0)
    pos = rng.uniform(0.0, length, (n_frames, n, 3)).astype(np.float32)
    ids = np.arange(n, dtype=np.int64)
    out = np.zeros(n_bins, dtype=np.int64)
    nb.pair_histogram(pos, pos, boxes, 0.0, r_max, ids, ids, None, None, out)
    assert np.all(out % 2 == 0)  # A == B: each unordered pair counts twice
    edges = np.linspace(0.0, r_max, n_bins + 1)
    shell = 4.0 / 3.0 * np.pi * np.diff(edges**3)
    expected = n_frames * n * (n - 1) / 2 * shell / length**3  # unordered pairs, Poisson-like
    z = (out / 2 - expected) / np.sqrt(expected)
    assert np.all(np.abs(z) < 5.0)
    assert np.sum(z**2) < n_bins + 5.0 * np.sqrt(2.0 * n_bins)


# --------------------------------------------------------------------------- #
# validation messages
# --------------------------------------------------------------------------- #


def _small():
    pos, boxes, ids, mol = _data("npt", seed=7, n_frames=4, n_atoms=30)
    return pos, boxes, ids, mol


def test_r_max_beyond_half_width_names_the_frame():
    pos, boxes, ids, _ = _small()
    boxes = boxes.copy()
    boxes[2] *= 0.5  # frame 2 shrinks
    half = nb.max_cutoff(boxes[2])
    r = 0.5 * (half + nb.max_cutoff(boxes[[0, 1, 3]]))
    out = np.zeros(10, dtype=np.int64)
    message = (
        r"'r_max' parameter \(.* Å\) exceeds half the shortest perpendicular box width \(.* Å\) at frame 2 of "
        r"this chunk; minimum-image pair search needs r_max <= .* Å."
    )
    with pytest.raises(ValueError, match=message):
        nb.pair_histogram(pos, pos, boxes, 0.0, r, ids, ids, None, None, out)
    with pytest.raises(ValueError, match="'cutoff' parameter .* at frame 2"):
        nb.neighbor_counts(pos, pos, boxes, r, ids, ids, np.zeros(30, np.int32), 1, np.zeros((4, 30, 1), np.int32))
    with pytest.raises(ValueError, match="at frame 2"):
        nb.radius_neighbors(pos, pos, boxes, r, ids, ids)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_r_max(bad):
    pos, boxes, ids, _ = _small()
    out = np.zeros(10, dtype=np.int64)
    message = r"The 'r_max' parameter of pair_histogram must be a float in \(0, inf\) Å. Got"
    with pytest.raises(ValueError, match=message):
        nb.pair_histogram(pos, pos, boxes, 0.0, bad, ids, ids, None, None, out)
    with pytest.raises(ValueError, match=r"The 'cutoff' parameter of neighbor_counts must be a float in \(0, inf\) Å"):
        nb.neighbor_counts(pos, pos, boxes, bad, ids, ids, np.zeros(30, np.int32), 1, np.zeros((4, 30, 1), np.int32))
    with pytest.raises(ValueError, match=r"The 'r_max' parameter of count_neighbors"):
        nb.count_neighbors(pos, pos, boxes, bad, ids, ids, np.zeros((4, 30), np.int64))


def test_bad_arguments():
    pos, boxes, ids, mol = _small()
    out = np.zeros(10, dtype=np.int64)
    args = (pos, pos, boxes, 0.0, 3.0, ids, ids, None, None)
    with pytest.raises(ValueError, match=r"'out' parameter of pair_histogram must have shape \(n_bins,\) with n_bins"):
        nb.pair_histogram(*args, np.zeros(0, dtype=np.int64))
    with pytest.raises(TypeError, match="'out' parameter of pair_histogram must be a int64 ndarray"):
        nb.pair_histogram(*args, np.zeros(10))
    with pytest.raises(ValueError, match=r"'r_min' parameter of pair_histogram must be a float in \[0, r_max\)"):
        nb.pair_histogram(pos, pos, boxes, 3.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(TypeError, match="'r_max' parameter of pair_histogram must be a float"):
        nb.pair_histogram(pos, pos, boxes, 0.0, "3", ids, ids, None, None, out)
    with pytest.raises(TypeError, match="'pos_a' parameter of pair_histogram must be a float32 ndarray"):
        nb.pair_histogram(pos.astype(np.int64), pos, boxes, 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(ValueError, match=r"'pos_b' parameter of pair_histogram must have shape \(F, N, 3\)"):
        nb.pair_histogram(pos, pos[..., :2], boxes, 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(ValueError, match="'pos_b' parameter of pair_histogram has 3 frames but 'pos_a' has 4"):
        nb.pair_histogram(pos, pos[:3], boxes, 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(ValueError, match="6-vector is ambiguous"):
        nb.pair_histogram(pos, pos, np.ones((4, 6)), 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(ValueError, match=r"'boxes' parameter of pair_histogram must have shape \(F, 3, 3\)"):
        nb.pair_histogram(pos, pos, boxes[:2], 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(ValueError, match="box of frame 1 of this chunk in pair_histogram is singular"):
        flat = boxes.copy()
        flat[1, 2] = 0.0
        nb.pair_histogram(pos, pos, flat, 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(TypeError, match="'ids_a' parameter of pair_histogram must be an int64 ndarray"):
        nb.pair_histogram(pos, pos, boxes, 0.0, 3.0, ids.astype(float), ids, None, None, out)
    with pytest.raises(ValueError, match=r"'ids_b' parameter of pair_histogram must have shape \(30,\)"):
        nb.pair_histogram(pos, pos, boxes, 0.0, 3.0, ids, ids[:5], None, None, out)
    with pytest.raises(ValueError, match="'mol_a' and 'mol_b' parameters of pair_histogram must both be None"):
        nb.pair_histogram(pos, pos, boxes, 0.0, 3.0, ids, ids, mol, None, out)
    message = r"'device' parameter of pair_histogram must be one of \['cpu', 'cuda'\]. Got 'gpu'"
    with pytest.raises(ValueError, match=message):
        nb.pair_histogram(*args, out, device="gpu")
    nan_pos = pos.copy()
    nan_pos[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="Non-finite coordinates .* of pair_histogram at frame 1 of this chunk"):
        nb.pair_histogram(nan_pos, pos, boxes, 0.0, 3.0, ids, ids, None, None, out)
    assert not out.any()  # left unchanged on error


def test_bad_neighbor_arguments():
    pos, boxes, ids, _ = _small()
    message = r"'species_b' parameter of neighbor_counts must hold codes in \[0, n_species\) = \[0, 2\). Got 2"
    with pytest.raises(ValueError, match=message):
        species = np.arange(30, dtype=np.int32) % 3
        nb.neighbor_counts(pos, pos, boxes, 3.0, ids, ids, species, 2, np.zeros((4, 30, 2), np.int32))
    with pytest.raises(ValueError, match="'n_species' parameter of neighbor_counts must be an int >= 1. Got 0"):
        nb.neighbor_counts(pos, pos, boxes, 3.0, ids, ids, np.zeros(30, np.int32), 0, np.zeros((4, 30, 0), np.int32))
    with pytest.raises(TypeError, match="'out' parameter of neighbor_counts must be a int32 ndarray"):
        nb.neighbor_counts(pos, pos, boxes, 3.0, ids, ids, np.zeros(30, np.int32), 1, np.zeros((4, 30, 1), np.int64))
    with pytest.raises(ValueError, match=r"'out_counts' parameter of count_neighbors must have shape \(4, 30\)"):
        nb.count_neighbors(pos, pos, boxes, 3.0, ids, ids, np.zeros((4, 29), np.int64))
    counts = np.empty((4, 30), dtype=np.int64)
    nb.count_neighbors(pos, pos, boxes, 5.0, ids, ids, counts)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    nbrs, dist = np.empty(offsets[-1], np.int64), np.empty(offsets[-1], np.float32)
    message = "'offsets' parameter of fill_neighbors disagrees with the neighbour counts at frame 0"
    with pytest.raises(ValueError, match=message):
        nb.fill_neighbors(pos, pos, boxes, 4.0, ids, ids, offsets, nbrs, dist)  # counted with another r_max
    message = r"'offsets' parameter of fill_neighbors must have shape \(F \* Na \+ 1,\) = \(121,\)"
    with pytest.raises(ValueError, match=message):
        nb.fill_neighbors(pos, pos, boxes, 5.0, ids, ids, offsets[:-1], nbrs, dist)
    with pytest.raises(ValueError, match=r"'out_distances' parameter of fill_neighbors must have shape"):
        nb.fill_neighbors(pos, pos, boxes, 5.0, ids, ids, offsets, nbrs, dist[:-1])
    message = "'max_neighbors' parameter of radius_neighbors must be None or an int >= 1. Got 0"
    with pytest.raises(ValueError, match=message):
        nb.radius_neighbors(pos, pos, boxes, 5.0, ids, ids, max_neighbors=0)
    nan_pos = pos.copy()
    nan_pos[2, 0, 1] = np.inf
    with pytest.raises(ValueError, match="Non-finite coordinates .* of fill_neighbors at frame 2 of this chunk"):
        nb.fill_neighbors(nan_pos, pos, boxes, 5.0, ids, ids, offsets, nbrs, dist)
    with pytest.raises(ValueError, match="Non-finite coordinates .* of count_neighbors at frame 2 of this chunk"):
        nb.radius_neighbors(pos, nan_pos, boxes, 5.0, ids, ids)


# --------------------------------------------------------------------------- #
# k nearest neighbours
# --------------------------------------------------------------------------- #


def _knn_out(n_frames: int, n_a: int, k: int):
    """Output arrays pre-filled with garbage (every slot must be overwritten)."""
    return (
        np.full((n_frames, n_a, k), 77, dtype=np.int64),
        np.full((n_frames, n_a, k), -3.0, dtype=np.float32),
        np.full((n_frames, n_a), -5, dtype=np.int64),
    )


def _knn_bruteforce(pa, pb, boxes, r_max, ia, ib, k):
    """Sorted (distance, index) rows from the wide image search, independent of the module's references."""
    n_frames, n_a = pa.shape[:2]
    nbrs, dist, counts = _knn_out(n_frames, n_a, k)
    nbrs[...] = -1
    dist[...] = np.inf
    for t in range(n_frames):
        d = _images_bruteforce(pa[t], pb[t], boxes[t].astype(np.float64), reach=2).astype(np.float64)
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
    pos, boxes, ids, mol = _data(kind, seed=9, n_frames=3, n_atoms=150)
    pa, pb, ia, ib, _, _ = _selections(pos, ids, mol, same)
    r_max = 0.9 * nb.max_cutoff(boxes)
    for k in (1, 6, 400):  # 400: more than any row holds
        want = _knn_out(pa.shape[0], pa.shape[1], k)
        nb.knn_neighbors_reference(pa, pb, boxes, r_max, ia, ib, k, *want)
        assert want[2].max() > 6 and want[2].max() < 400
        brute = _knn_bruteforce(pa, pb, boxes, r_max, ia, ib, k)
        np.testing.assert_array_equal(want[0], brute[0])
        np.testing.assert_array_equal(want[2], brute[2])
        np.testing.assert_allclose(want[1], brute[1], rtol=0, atol=1e-5)
        for _ in _both_modes(monkeypatch):
            for reach in (1, 2):  # cells of width r_max, or r_max / 2 with a trimmed 5^3 stencil
                monkeypatch.setattr(nb, "_KNN_REACH", reach)
                got = _knn_out(pa.shape[0], pa.shape[1], k)
                nb.knn_neighbors(pa, pb, boxes, r_max, ia, ib, k, *got)
                for g, w in zip(got, want):
                    np.testing.assert_array_equal(g, w)
    # The capped CSR lists are the first min(count, M) slots of the rows.
    offsets, nbrs, dist = nb.radius_neighbors(pa, pb, boxes, r_max, ia, ib, max_neighbors=6)
    want = nb.radius_neighbors_reference(pa, pb, boxes, r_max, ia, ib, max_neighbors=6)
    for g, w in zip((offsets, nbrs, dist), want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("same", [True, False])
def test_knn_pruned_matches_reference_and_bruteforce(kind, same, monkeypatch):
    # count_all=False: the same rows, counts saturated at k + 1.
    pos, boxes, ids, mol = _data(kind, seed=11, n_frames=3, n_atoms=150)
    pa, pb, ia, ib, _, _ = _selections(pos, ids, mol, same)
    for r_frac, ks in ((0.9, (1, 6, 400)), (0.3, (3,))):  # 0.3: a few zero-neighbour rows
        r_max = r_frac * nb.max_cutoff(boxes)
        for k in ks:
            want = _knn_out(pa.shape[0], pa.shape[1], k)
            nb.knn_neighbors_reference(pa, pb, boxes, r_max, ia, ib, k, *want, count_all=False)
            brute = _knn_bruteforce(pa, pb, boxes, r_max, ia, ib, k)
            assert want[2].min() == 0 if r_frac == 0.3 else want[2].max() == min(k + 1, brute[2].max())
            np.testing.assert_array_equal(want[0], brute[0])
            np.testing.assert_array_equal(want[2], np.minimum(brute[2], k + 1))
            np.testing.assert_allclose(want[1], brute[1], rtol=0, atol=1e-5)
            for _ in _both_modes(monkeypatch):
                for reach in (1, 2, 3):  # cells of width r_max, r_max / 2, r_max / 3
                    monkeypatch.setattr(nb, "_PRUNED_REACH", reach)
                    got = _knn_out(pa.shape[0], pa.shape[1], k)
                    nb.knn_neighbors(pa, pb, boxes, r_max, ia, ib, k, *got, count_all=False)
                    for g, w in zip(got, want):
                        np.testing.assert_array_equal(g, w)


def test_knn_pruned_dense_rows_and_reach_choice(monkeypatch):
    # Many more neighbours than k, so the walk stops early; reach picked from the density.
    rng = np.random.default_rng(5)
    box = np.diag([18.0, 19.0, 20.0])[None].repeat(2, axis=0)
    pos = rng.uniform(0.0, 1.0, (2, 600, 3)).astype(np.float32) * np.float32([18.0, 19.0, 20.0])
    ids = np.arange(600, dtype=np.int64)
    assert nb._pruned_reach(600, box, 6.0) > 1
    for k in (1, 12):
        want = _knn_out(2, 600, k)
        nb.knn_neighbors_reference(pos, pos, box, 6.0, ids, ids, k, *want, count_all=False)
        assert np.all(want[2] == k + 1)
        got = _knn_out(2, 600, k)
        nb.knn_neighbors(pos, pos, box, 6.0, ids, ids, k, *got, count_all=False)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        full = _knn_out(2, 600, k)
        nb.knn_neighbors(pos, pos, box, 6.0, ids, ids, k, *full)
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
    got = _knn_out(1, grid.shape[0], k)
    nb.knn_neighbors(pos, pos, box, 3.5, ids, ids, k, *got)
    assert np.all(got[2] == 6) and np.all(got[1] == 3.0)
    d = nb.minimum_image_distances(grid, grid, box[0])
    for i in range(grid.shape[0]):
        ties = np.flatnonzero(np.abs(d[i] - 3.0) < 1e-6)
        np.testing.assert_array_equal(got[0][0, i], np.sort(ties)[:k])  # ties broken by index
    # Below the spacing nothing is within r_max: empty rows.
    nb.knn_neighbors(pos, pos, box, 2.9, ids, ids, k, *got)
    assert np.all(got[0] == -1) and np.all(np.isinf(got[1])) and np.all(got[2] == 0)
    # An empty B: every row empty.
    nb.knn_neighbors(pos, pos[:, :0], box, 3.5, ids, ids[:0], k, *got)
    assert np.all(got[0] == -1) and np.all(got[2] == 0)
    # Pruned: six ties at 3 Å, counts stop at k + 1 and ties still break by index.
    for reach in (1, 2, 3):
        monkeypatch.setattr(nb, "_PRUNED_REACH", reach)
        for kk in (4, 5, 6, 30):
            pruned = _knn_out(1, grid.shape[0], kk)
            nb.knn_neighbors(pos, pos, box, 3.5, ids, ids, kk, *pruned, count_all=False)
            assert np.all(pruned[2] == min(6, kk + 1))
            for i in range(grid.shape[0]):
                ties = np.sort(np.flatnonzero(np.abs(d[i] - 3.0) < 1e-6))[:kk]
                np.testing.assert_array_equal(pruned[0][0, i, : ties.size], ties)
                assert np.all(pruned[0][0, i, ties.size:] == -1)
        nb.knn_neighbors(pos, pos, box, 2.9, ids, ids, k, *got, count_all=False)
        assert np.all(got[0] == -1) and np.all(np.isinf(got[1])) and np.all(got[2] == 0)


def test_knn_bad_arguments():
    pos, boxes, ids, _ = _small()
    nbrs, dist, counts = _knn_out(4, 30, 3)
    for bad in (0, -2, 2.5, True, None):
        with pytest.raises(ValueError, match=rf"The 'k' parameter of knn_neighbors must be an int >= 1. Got {bad!r}"):
            nb.knn_neighbors(pos, pos, boxes, 4.0, ids, ids, bad, nbrs, dist, counts)
    message = r"'out_neighbors' parameter of knn_neighbors must have shape \(4, 30, 3\)"
    with pytest.raises(ValueError, match=message):
        nb.knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs[:, :, :2].copy(), dist, counts)
    with pytest.raises(TypeError, match="'out_distances' parameter of knn_neighbors must be a float32 ndarray"):
        nb.knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs, dist.astype(np.float64), counts)
    with pytest.raises(ValueError, match=r"'out_counts' parameter of knn_neighbors must have shape \(4, 30\)"):
        nb.knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs, dist, counts[:, :29].copy())
    with pytest.raises(TypeError, match="'out_counts' parameter of knn_neighbors must be a int64 ndarray"):
        nb.knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs, dist, counts.astype(np.int32))
    with pytest.raises(ValueError, match="'r_max' parameter of knn_neighbors must be a float in"):
        nb.knn_neighbors(pos, pos, boxes, -1.0, ids, ids, 3, nbrs, dist, counts)
    with pytest.raises(ValueError, match=r"'device' parameter of knn_neighbors must be one of"):
        nb.knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs, dist, counts, device="gpu")
    with pytest.raises(TypeError, match=r"The 'count_all' parameter of knn_neighbors must be a bool. Got 1"):
        nb.knn_neighbors(pos, pos, boxes, 4.0, ids, ids, 3, nbrs, dist, counts, count_all=1)
    nan_pos = pos.copy()
    nan_pos[3, 1, 2] = np.nan
    with pytest.raises(ValueError, match="Non-finite coordinates .* of knn_neighbors at frame 3 of this chunk"):
        nb.knn_neighbors(pos, nan_pos, boxes, 4.0, ids, ids, 3, nbrs, dist, counts)


def test_docstring_examples():
    result = doctest.testmod(nb, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0


def test_knn_to_csr_keeps_the_first_min_count_k_slots_of_every_row():
    from trajml.kernels.neighbors import knn_to_csr

    rng = np.random.default_rng(5)
    k = 4
    counts = rng.integers(0, 7, size=(3, 5)).astype(np.int64)
    nb = rng.integers(0, 100, size=(3, 5, k)).astype(np.int64)
    d = rng.random((3, 5, k)).astype(np.float32)
    off, out_nb, out_d = knn_to_csr(nb, d, counts, k)
    kept = np.minimum(counts.ravel(), k)
    np.testing.assert_array_equal(np.diff(off), kept)
    used = np.arange(k) < kept[:, None]
    np.testing.assert_array_equal(out_nb, nb.reshape(-1, k)[used])
    np.testing.assert_array_equal(out_d, d.reshape(-1, k)[used])
    full = np.full((3, 5), k + 1, dtype=np.int64)  # every row full: returned as views, same values
    off, out_nb, out_d = knn_to_csr(nb, d, full, k)
    np.testing.assert_array_equal(out_nb, nb.reshape(-1))
    assert off[-1] == 15 * k
