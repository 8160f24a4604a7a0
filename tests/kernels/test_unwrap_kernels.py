"""The no-jump unwrapping kernels against their NumPy references (trajml.kernels.reference)."""

from __future__ import annotations

import numpy as np
import pytest

from trajml.kernels import reference
from trajml.kernels import unwrap as k

N_ATOMS = 1100  # more than two atom blocks of the kernels, the last one partial
N_FRAMES = 23


def _boxes(kind: str, n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Box matrices (rows are box vectors, Å): fixed orthorhombic, fixed triclinic, or NPT-like."""
    if kind == "orthorhombic":
        base = np.diag([21.0, 23.0, 25.0])
    else:
        base = np.array([[21.0, 0.0, 0.0], [6.0, 22.0, 0.0], [-4.0, 5.0, 24.0]])
    scale = 1.0 + 0.01 * rng.standard_normal(n_frames) if kind == "npt" else np.ones(n_frames)
    return (base[None] * scale[:, None, None]).astype(np.float32)


def _data(kind: str, seed: int = 0, n_frames: int = N_FRAMES, n_atoms: int = N_ATOMS):
    rng = np.random.default_rng(seed)
    boxes = _boxes(kind, n_frames, rng)
    frac = rng.uniform(-0.7, 1.7, (n_frames, n_atoms, 3))  # wrapped and unwrapped-looking mixed
    positions = np.einsum("fnj,fjk->fnk", frac, boxes.astype(np.float64)).astype(np.float32)
    prev = np.einsum("nj,jk->nk", rng.uniform(0, 1, (n_atoms, 3)), boxes[0].astype(np.float64))
    prev_frac = prev @ np.linalg.inv(boxes[0].astype(np.float64))
    start = rng.integers(-5, 6, (n_atoms, 3)).astype(np.int64)
    return positions, boxes, prev_frac, start


KINDS = ["orthorhombic", "triclinic", "npt"]


@pytest.mark.parametrize("kind", KINDS)
def test_box_inverses(kind):
    _, boxes, _, _ = _data(kind)
    out, ref = np.empty(boxes.shape), np.empty(boxes.shape)
    k.box_inverses(boxes, out)
    reference.box_inverses_reference(boxes, ref)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
def test_fractional_coordinates(kind):
    positions, boxes, _, _ = _data(kind)
    out, ref = np.empty(positions.shape), np.empty(positions.shape)
    k.fractional_coordinates(positions, boxes, out)
    reference.fractional_coordinates_reference(positions, boxes, ref)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_prev", [True, False])
def test_image_jumps_and_shift(kind, with_prev):
    positions, boxes, prev_frac, _ = _data(kind)
    if not with_prev:
        prev_frac = np.empty((0, 3))
    out = np.full(positions.shape, 99, dtype=np.int64)
    ref = np.empty(positions.shape, dtype=np.int64)
    k.image_jumps(positions, boxes, prev_frac, out)
    reference.image_jumps_reference(positions, boxes, prev_frac, ref)
    np.testing.assert_array_equal(out, ref)
    assert np.abs(ref).max() > 1  # the data really jumps
    if not with_prev:
        assert not out[0].any()

    shift = np.full((N_ATOMS, 3), 99, dtype=np.int64)
    shift_ref = np.empty((N_ATOMS, 3), dtype=np.int64)
    k.image_shift(positions, boxes, prev_frac, shift)
    reference.image_shift_reference(positions, boxes, prev_frac, shift_ref)
    np.testing.assert_array_equal(shift, shift_ref)
    np.testing.assert_array_equal(shift, out[-1])


@pytest.mark.parametrize("kind", KINDS)
def test_apply_images(kind):
    positions, boxes, _, start = _data(kind)
    rng = np.random.default_rng(1)
    images = rng.integers(-3, 4, positions.shape).astype(np.int64)
    out, ref = np.empty_like(positions), np.empty_like(positions)
    k.apply_images(positions, boxes, images, start, out)
    reference.apply_images_reference(positions, boxes, images, start, ref)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)
    assert out.dtype == np.float32


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_prev", [True, False])
def test_nojump_unwrap(kind, with_prev):
    positions, boxes, prev_frac, start = _data(kind)
    if not with_prev:
        prev_frac = np.empty((0, 3))
    out, ref = np.empty_like(positions), np.empty_like(positions)
    last = np.empty((N_ATOMS, 3), np.int64)
    last_ref = np.empty((N_ATOMS, 3), np.int64)
    k.nojump_unwrap(positions, boxes, prev_frac, start, out, last)
    reference.nojump_unwrap_reference(positions, boxes, prev_frac, start, out=ref, out_images=last_ref)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(last, last_ref)

    # the fused kernel equals image_jumps followed by apply_images
    images = np.empty(positions.shape, np.int64)
    two_step = np.empty_like(positions)
    k.image_jumps(positions, boxes, prev_frac, images)
    k.apply_images(positions, boxes, images, start, two_step)
    np.testing.assert_array_equal(out, two_step)
    if not with_prev:
        # the reference frame is only shifted by the starting image counts
        np.testing.assert_allclose(out[0], positions[0] + start @ boxes[0], atol=1e-4)


def test_nojump_unwrap_in_place_and_float64_boxes():
    positions, boxes, prev_frac, start = _data("triclinic", seed=3)
    expected = np.empty_like(positions)
    last = np.empty((N_ATOMS, 3), np.int64)
    k.nojump_unwrap(positions, boxes, prev_frac, start, expected, last)
    work = positions.copy()
    k.nojump_unwrap(work, boxes.astype(np.float64), prev_frac, start, work, last)
    np.testing.assert_array_equal(work, expected)


def test_chunked_kernels_equal_one_pass():
    """Splitting frames anywhere and carrying (prev_frac, images) gives the one-pass result."""
    positions, boxes, _, _ = _data("npt", seed=5, n_frames=40, n_atoms=700)
    zeros = np.zeros((700, 3), np.int64)
    whole = np.empty_like(positions)
    last = np.empty((700, 3), np.int64)
    k.nojump_unwrap(positions, boxes, np.empty((0, 3)), zeros, whole, last)
    cuts = [0, 1, 8, 9, 25, 40]
    images = zeros
    prev_frac = np.empty((0, 3))
    for s, e in zip(cuts[:-1], cuts[1:]):
        shift = np.empty((700, 3), np.int64)
        k.image_shift(positions[s:e], boxes[s:e], prev_frac, shift)
        out = np.empty_like(positions[s:e])
        new_images = np.empty((700, 3), np.int64)
        k.nojump_unwrap(positions[s:e], boxes[s:e], prev_frac, images, out, new_images)
        np.testing.assert_array_equal(out, whole[s:e])
        np.testing.assert_array_equal(new_images, images + shift)
        images = new_images
        prev_frac = np.empty((1, 700, 3))
        k.fractional_coordinates(positions[e - 1:e], boxes[e - 1:e], prev_frac)
        prev_frac = prev_frac[0]
    np.testing.assert_array_equal(images, last)


def test_empty_inputs():
    positions = np.empty((0, 5, 3), np.float32)
    boxes = np.empty((0, 3, 3), np.float32)
    start = np.arange(15, dtype=np.int64).reshape(5, 3)
    out = np.empty_like(positions)
    last = np.empty((5, 3), np.int64)
    k.nojump_unwrap(positions, boxes, np.zeros((5, 3)), start, out, last)
    np.testing.assert_array_equal(last, start)
    shift = np.full((5, 3), 7, np.int64)
    k.image_shift(positions, boxes, np.empty((0, 3)), shift)
    assert not shift.any()
