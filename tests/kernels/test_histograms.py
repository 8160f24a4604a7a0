"""Pair-distance histograms against the NumPy reference and analytic physics; argument checks."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from pair_systems import KINDS, both_modes, make_data, selections, small_system

from trajml.kernels import histograms, reference
from trajml.kernels.counts import count_neighbors, neighbor_counts, radius_neighbors
from trajml.kernels.geometry import max_cutoff
from trajml.kernels.histograms import pair_histogram


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("with_mol", [True, False])
@pytest.mark.parametrize("r_frac", [0.45, 1.0])  # 4-5 cells along an axis, or only 1-2
def test_pair_histogram_matches_reference(kind, same, with_mol, r_frac, monkeypatch):
    pos, boxes, ids, mol = make_data(kind)
    pa, pb, ia, ib, ma, mb = selections(pos, ids, mol, same)
    if not with_mol:
        ma = mb = None
    r_max = r_frac * max_cutoff(boxes)
    for r_min, n_bins in [(0.0, 37), (2.0, 1)]:
        ref = np.full(n_bins, 7, dtype=np.int64)
        reference.pair_histogram_reference(pa, pb, boxes, r_min, r_max, ia, ib, ma, mb, ref)
        assert ref.sum() > 7 * n_bins + 100
        for _ in both_modes(monkeypatch):
            out = np.full(n_bins, 7, dtype=np.int64)  # += semantics
            pair_histogram(pa, pb, boxes, r_min, r_max, ia, ib, ma, mb, out)
            np.testing.assert_array_equal(out, ref)


def test_float64_positions_and_empty_inputs():
    pos, boxes, ids, mol = make_data("triclinic", seed=3, n_frames=2, n_atoms=60)
    r_max = max_cutoff(boxes)
    out32 = np.zeros(10, dtype=np.int64)
    out64 = np.zeros(10, dtype=np.int64)
    pair_histogram(pos, pos, boxes, 0.0, r_max, ids, ids, None, None, out32)
    pair_histogram(pos.astype(np.float64), pos.astype(np.float64), boxes, 0.0, r_max, ids, ids, None, None, out64)
    np.testing.assert_array_equal(out32, out64)
    # Zero frames or empty selections: nothing to count, nothing raised.
    out = np.zeros(10, dtype=np.int64)
    pair_histogram(pos[:0], pos[:0], boxes[:0], 0.0, r_max, ids, ids, None, None, out)
    pair_histogram(pos[:, :0], pos, boxes, 0.0, r_max, ids[:0], ids, None, None, out)
    assert not out.any()
    offsets, nbrs, dist = radius_neighbors(pos, pos[:, :0], boxes, r_max, ids, ids[:0])
    assert offsets.shape == (2 * 60 + 1,) and not offsets.any() and nbrs.size == 0


# --------------------------------------------------------------------------- #
# analytic physics
# --------------------------------------------------------------------------- #


def test_ideal_gas_histogram_is_flat():
    rng = np.random.default_rng(6)
    n, n_frames, length, r_max, n_bins = 1500, 4, 30.0, 12.0, 24
    box = np.diag([length, length, length])
    boxes = np.repeat(box[None], n_frames, axis=0)
    pos = rng.uniform(0.0, length, (n_frames, n, 3)).astype(np.float32)
    ids = np.arange(n, dtype=np.int64)
    out = np.zeros(n_bins, dtype=np.int64)
    pair_histogram(pos, pos, boxes, 0.0, r_max, ids, ids, None, None, out)
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


def test_r_max_beyond_half_width_names_the_frame():
    pos, boxes, ids, _ = small_system()
    boxes = boxes.copy()
    boxes[2] *= 0.5  # frame 2 shrinks
    half = max_cutoff(boxes[2])
    r = 0.5 * (half + max_cutoff(boxes[[0, 1, 3]]))
    out = np.zeros(10, dtype=np.int64)
    message = (
        r"'r_max' parameter \(.* Å\) exceeds half the shortest perpendicular box width \(.* Å\) at frame 2 of "
        r"this chunk; minimum-image pair search needs r_max <= .* Å."
    )
    with pytest.raises(ValueError, match=message):
        pair_histogram(pos, pos, boxes, 0.0, r, ids, ids, None, None, out)
    with pytest.raises(ValueError, match="'cutoff' parameter .* at frame 2"):
        neighbor_counts(pos, pos, boxes, r, ids, ids, np.zeros(30, np.int32), 1, np.zeros((4, 30, 1), np.int32))
    with pytest.raises(ValueError, match="at frame 2"):
        radius_neighbors(pos, pos, boxes, r, ids, ids)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_r_max(bad):
    pos, boxes, ids, _ = small_system()
    out = np.zeros(10, dtype=np.int64)
    message = r"The 'r_max' parameter of pair_histogram must be a float in \(0, inf\) Å. Got"
    with pytest.raises(ValueError, match=message):
        pair_histogram(pos, pos, boxes, 0.0, bad, ids, ids, None, None, out)
    with pytest.raises(ValueError, match=r"The 'cutoff' parameter of neighbor_counts must be a float in \(0, inf\) Å"):
        neighbor_counts(pos, pos, boxes, bad, ids, ids, np.zeros(30, np.int32), 1, np.zeros((4, 30, 1), np.int32))
    with pytest.raises(ValueError, match=r"The 'r_max' parameter of count_neighbors"):
        count_neighbors(pos, pos, boxes, bad, ids, ids, np.zeros((4, 30), np.int64))


def test_bad_arguments():
    pos, boxes, ids, mol = small_system()
    out = np.zeros(10, dtype=np.int64)
    args = (pos, pos, boxes, 0.0, 3.0, ids, ids, None, None)
    with pytest.raises(ValueError, match=r"'out' parameter of pair_histogram must have shape \(n_bins,\) with n_bins"):
        pair_histogram(*args, np.zeros(0, dtype=np.int64))
    with pytest.raises(TypeError, match="'out' parameter of pair_histogram must be a int64 ndarray"):
        pair_histogram(*args, np.zeros(10))
    with pytest.raises(ValueError, match=r"'r_min' parameter of pair_histogram must be a float in \[0, r_max\)"):
        pair_histogram(pos, pos, boxes, 3.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(TypeError, match="'r_max' parameter of pair_histogram must be a float"):
        pair_histogram(pos, pos, boxes, 0.0, "3", ids, ids, None, None, out)
    with pytest.raises(TypeError, match="'pos_a' parameter of pair_histogram must be a float32 ndarray"):
        pair_histogram(pos.astype(np.int64), pos, boxes, 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(ValueError, match=r"'pos_b' parameter of pair_histogram must have shape \(F, N, 3\)"):
        pair_histogram(pos, pos[..., :2], boxes, 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(ValueError, match="'pos_b' parameter of pair_histogram has 3 frames but 'pos_a' has 4"):
        pair_histogram(pos, pos[:3], boxes, 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(ValueError, match="6-vector is ambiguous"):
        pair_histogram(pos, pos, np.ones((4, 6)), 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(ValueError, match=r"'boxes' parameter of pair_histogram must have shape \(F, 3, 3\)"):
        pair_histogram(pos, pos, boxes[:2], 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(ValueError, match="box of frame 1 of this chunk in pair_histogram is singular"):
        flat = boxes.copy()
        flat[1, 2] = 0.0
        pair_histogram(pos, pos, flat, 0.0, 3.0, ids, ids, None, None, out)
    with pytest.raises(TypeError, match="'ids_a' parameter of pair_histogram must be an int64 ndarray"):
        pair_histogram(pos, pos, boxes, 0.0, 3.0, ids.astype(float), ids, None, None, out)
    with pytest.raises(ValueError, match=r"'ids_b' parameter of pair_histogram must have shape \(30,\)"):
        pair_histogram(pos, pos, boxes, 0.0, 3.0, ids, ids[:5], None, None, out)
    with pytest.raises(ValueError, match="'mol_a' and 'mol_b' parameters of pair_histogram must both be None"):
        pair_histogram(pos, pos, boxes, 0.0, 3.0, ids, ids, mol, None, out)
    message = r"'device' parameter of pair_histogram must be one of \['cpu', 'cuda'\]. Got 'gpu'"
    with pytest.raises(ValueError, match=message):
        pair_histogram(*args, out, device="gpu")
    nan_pos = pos.copy()
    nan_pos[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="Non-finite coordinates .* of pair_histogram at frame 1 of this chunk"):
        pair_histogram(nan_pos, pos, boxes, 0.0, 3.0, ids, ids, None, None, out)
    assert not out.any()  # left unchanged on error


def test_docstring_examples():
    result = doctest.testmod(histograms, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
