"""Chunk and ChunkSpec values."""

import numpy as np
import pytest

from trajml.chunk import Chunk, ChunkSpec


def make_chunk(f=4, n=5, box=True):
    return Chunk(
        positions=np.zeros((f, n, 3), np.float32),
        boxes=np.tile(np.diag([10.0, 20.0, 30.0]).astype(np.float32), (f, 1, 1)) if box else None,
        times=np.arange(f, dtype=np.float64),
        frames=np.arange(f, dtype=np.int64),
    )


def test_spec_frames_and_len():
    spec = ChunkSpec(0, 3, 20, 4)
    assert list(spec.frames) == [3, 7, 11, 15, 19] and len(spec) == 5


@pytest.mark.parametrize("args, match", [((0, 5, 2, 1), "start <= stop"), ((0, 0, 5, 0), "step must be >= 1")])
def test_spec_rejects_bad_ranges(args, match):
    with pytest.raises(ValueError, match=match):
        ChunkSpec(*args)


def test_chunk_validates_dtypes_and_shapes():
    with pytest.raises(ValueError, match="float32"):
        Chunk(np.zeros((2, 3, 3)), None, np.zeros(2), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="times and frames"):
        Chunk(np.zeros((2, 3, 3), np.float32), None, np.zeros(3), np.zeros(2, np.int64))


def test_volumes_and_take_atoms():
    c = make_chunk()
    np.testing.assert_allclose(c.volumes, 6000.0)
    sub = c.take_atoms(np.array([4, 1]))
    assert sub.n_atoms == 2 and list(sub.atom_indices) == [4, 1]
    assert list(sub.take_atoms(np.array([1])).atom_indices) == [1]
    with pytest.raises(ValueError, match="has no box"):
        make_chunk(box=False).volumes
