"""Box against MDAnalysis and mdtraj box conventions and brute-force geometry."""

import itertools
import pickle

import numpy as np
import pytest
from MDAnalysis.lib.mdamath import triclinic_box, triclinic_vectors

from trajml.box import Box, dimensions_from_matrices, matrices_from_dimensions

DIMS = [
    [10.0, 10.0, 10.0, 90.0, 90.0, 90.0],
    [30.0, 32.0, 34.0, 80.0, 95.0, 70.0],
    [50.0, 50.0, 50.0, 60.0, 60.0, 90.0],  # rhombic dodecahedron-like
    [70.0, 70.0, 70.0, 70.5288, 109.4712, 70.5288],  # truncated octahedron
]


@pytest.mark.parametrize("dims", DIMS)
def test_matrix_equals_mdanalysis_triclinic_vectors(dims):
    ours = Box.from_mdanalysis(dims).matrix
    theirs = triclinic_vectors(np.array(dims, dtype=np.float64))
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


@pytest.mark.parametrize("dims", DIMS)
def test_dimensions_round_trip_equals_mdanalysis_triclinic_box(dims):
    m = matrices_from_dimensions(np.array(dims))
    np.testing.assert_allclose(dimensions_from_matrices(m), triclinic_box(*m), atol=1e-8)


def test_batched_conversion_matches_single():
    stack = matrices_from_dimensions(np.array(DIMS))
    for d, m in zip(DIMS, stack):
        np.testing.assert_array_equal(m, matrices_from_dimensions(np.array(d)))


def test_volume_and_mdtraj_conversion():
    import mdtraj

    box = Box.from_lengths_angles([30.0, 32.0, 34.0], [80.0, 95.0, 70.0])
    lengths_nm = box.lengths / 10.0
    a, b, c = mdtraj.utils.lengths_and_angles_to_box_vectors(*lengths_nm, *box.angles)
    from_mdtraj = Box.from_mdtraj(np.array([a, b, c]))
    np.testing.assert_allclose(from_mdtraj.matrix, box.matrix, atol=1e-9)
    assert box.volume == pytest.approx(abs(np.linalg.det(np.array([a, b, c]) * 10.0)))


def test_orthorhombic_flag_is_exact():
    assert Box.from_lengths_angles([10, 20, 30]).is_orthorhombic
    assert not Box.from_lengths_angles([10, 20, 30], [90, 90, 89.9]).is_orthorhombic


@pytest.mark.parametrize("dims", DIMS)
def test_min_width_equals_brute_force_plane_distance(dims):
    box = Box.from_mdanalysis(dims)
    m = box.matrix
    # Distance between opposite faces = V / |cross of the two spanning vectors|, brute force over pairs.
    widths = [box.volume / np.linalg.norm(np.cross(m[i], m[j])) for i, j in itertools.combinations(range(3), 2)]
    assert box.min_width == pytest.approx(min(widths))


def test_wrap_puts_points_in_cell_and_keeps_images():
    box = Box.from_lengths_angles([30.0, 32.0, 34.0], [80.0, 95.0, 70.0])
    rng = np.random.default_rng(0)
    x = rng.uniform(-100, 100, size=(200, 3))
    w = box.wrap(x)
    frac = w @ box.inverse
    assert np.all(frac >= 0) and np.all(frac < 1)
    shift = (x - w) @ box.inverse
    np.testing.assert_allclose(shift, np.round(shift), atol=1e-9)


def test_bare_constructor_rejects_six_vector_and_names_constructors():
    with pytest.raises(TypeError, match="ambiguous.*from_lengths_angles.*from_matrix"):
        Box([10, 10, 10, 90, 90, 90])


@pytest.mark.parametrize(
    "lengths, angles, match",
    [
        ([10, -1, 10], [90, 90, 90], "lengths must be finite and > 0"),
        ([10, 10, 10], [90, 90, 180], r"angles must lie in \(0, 180\)"),
        ([10, 10], [90, 90, 90], "needs 3 lengths and 3 angles"),
    ],
)
def test_bad_lengths_angles(lengths, angles, match):
    with pytest.raises(ValueError, match=match):
        Box.from_lengths_angles(lengths, angles)


def test_singular_and_nonfinite_matrices_rejected():
    with pytest.raises(ValueError, match="non-zero volume"):
        Box.from_matrix(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        Box.from_matrix(np.diag([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="no box"):
        Box.from_mdanalysis(None)


def test_box_is_immutable_hashable_and_picklable():
    box = Box.from_lengths_angles([10.0, 11.0, 12.0])
    with pytest.raises(ValueError):
        box.matrix[0, 0] = 3.0
    clone = pickle.loads(pickle.dumps(box))
    assert clone == box and hash(clone) == hash(box)
