"""Per-frame extents (one-pass plausibility reductions) against their NumPy twin."""

from __future__ import annotations

import numpy as np
import pytest

from trajml.kernels.extents import frame_extents
from trajml.kernels.reference import frame_extents_reference


@pytest.mark.parametrize("triclinic", [False, True])
@pytest.mark.parametrize("parallel", [False, True])
def test_frame_extents_equal_the_numpy_twin(triclinic, parallel, monkeypatch):
    from trajml.kernels import extents

    monkeypatch.setattr(extents, "_PARALLEL_MIN_ATOMS", 0 if parallel else 2**62)  # both kernels, whatever the size
    rng = np.random.default_rng(0)
    boxes = np.tile(np.diag([20.0, 25.0, 30.0]), (7, 1, 1))
    if triclinic:
        boxes[:, 1, 0], boxes[:, 2, 0], boxes[:, 2, 1] = 4.0, -3.0, 5.0
    boxes *= rng.uniform(0.9, 1.1, size=(7, 1, 1))  # NPT-like: every frame its own box
    pos = (rng.uniform(-0.3, 1.3, size=(7, 50, 3)) @ boxes).astype(np.float32)
    pos[4, 17] += 1e3  # one atom far outside in frame 4 (and a large step into and out of it)
    inv = np.linalg.inv(boxes)
    got = frame_extents(pos, inv)
    np.testing.assert_allclose(got, frame_extents_reference(pos, inv), rtol=1e-12, atol=1e-12)
    assert np.argmax(got[:, 2]) == 4 and got[4, 3] > 10 and got[5, 3] > 10


def test_without_a_box_only_the_largest_coordinate_is_reduced():
    pos = np.zeros((3, 4, 3), np.float32)
    pos[1, 2, 0] = -5.0
    got = frame_extents(pos, None)
    np.testing.assert_array_equal(got, frame_extents_reference(pos, None))
    assert got[1, 0] == 5.0 and np.isinf(got[:, 1]).all()
