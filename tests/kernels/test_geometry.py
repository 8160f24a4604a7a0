"""Minimum image and the largest cut-off against a wide brute-force image search."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from pair_systems import TRICLINIC_DIMS, images_bruteforce, triclinic_vectors

from trajml.kernels import geometry
from trajml.kernels.counts import radius_neighbors
from trajml.kernels.geometry import max_cutoff, minimum_image_distances


@pytest.mark.parametrize(
    "box",
    [
        triclinic_vectors(TRICLINIC_DIMS),
        # Strongly skewed (not lattice-reduced) box: the raw difference needs more than 27 images.
        np.array([[20.0, 0.0, 0.0], [17.0, 19.0, 0.0], [-15.0, 14.0, 18.0]]),
    ],
)
def test_minimum_image_equals_wide_bruteforce(box):
    rng = np.random.default_rng(4)
    frac = rng.uniform(0.0, 1.0, (150, 3))
    pos = (frac @ box).astype(np.float32)
    pos_b = pos + (rng.integers(-2, 3, (150, 3)) @ box).astype(np.float32)  # far images of the same points
    d = minimum_image_distances(pos, pos_b, box)
    wide = images_bruteforce(pos, pos_b, box, reach=4)
    half = max_cutoff(box)
    within = wide <= half
    assert within.sum() > 1000
    np.testing.assert_allclose(d[within], wide[within], atol=1e-9, rtol=0)
    assert np.all(d >= wide - 1e-9)  # beyond half the width, 27 images still give an upper bound ≥ the truth

    # The cell-list kernel at the largest admissible cut-off against the 9^3-image search.
    ids = np.arange(150, dtype=np.int64)
    offsets, nbrs, dist = radius_neighbors(pos[None], pos_b[None], box[None], half, ids, ids + 1000)
    rows = np.repeat(np.arange(150), np.diff(offsets))
    got = set(zip(rows.tolist(), nbrs.tolist()))
    want = set(zip(*np.nonzero(wide < half)))
    assert got == {(int(i), int(j)) for i, j in want}
    np.testing.assert_allclose(dist, wide[rows, nbrs], atol=1e-5)


def test_docstring_examples():
    result = doctest.testmod(geometry, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0
