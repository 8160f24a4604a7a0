"""Shell membership (:func:`shell_groups`) against its NumPy twin, MDAnalysis' pair search and a hand count."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from pair_systems import KINDS, make_data

from trajml.kernels import reference, shells
from trajml.kernels.geometry import max_cutoff
from trajml.kernels.shells import shell_groups


def _case(kind: str, seed: int = 3):
    """Eight centres among 240 atoms; the other atoms are sites in molecules of six (some overlap the centres)."""
    pos, boxes, ids, mol = make_data(kind, seed=seed)
    index_a = np.arange(0, 240, 30)
    index_b = np.arange(5, 240)  # holds the centres too: the same atom and (with mol) its molecule are skipped
    return pos, boxes, ids, mol, index_a, index_b


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_mol", [False, True])
@pytest.mark.parametrize("r_frac", [0.3, 1.0])
def test_shell_groups_equal_the_numpy_twin(kind, with_mol, r_frac):
    pos, boxes, ids, mol, ia, ib = _case(kind)
    cutoff = r_frac * max_cutoff(boxes)
    args = (pos, pos, boxes, cutoff, ids[ia], ids[ib], mol[ib], int(mol.max()) + 1)
    kw = {"index_a": ia, "index_b": ib, "mol_a": mol[ia] if with_mol else None, "mol_b": mol[ib] if with_mol else None}
    got = shell_groups(*args, **kw)
    want = reference.shell_groups_reference(*args, **kw)
    assert want.size > 20
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", KINDS)
def test_shell_groups_equal_mdanalysis_capped_distance(kind):
    """An independent pair search: MDAnalysis' capped_distance, reduced to molecules with NumPy."""
    from MDAnalysis.lib.distances import capped_distance
    from MDAnalysis.lib.mdamath import triclinic_box

    pos, boxes, ids, mol, ia, ib = _case(kind, seed=11)
    cutoff = 0.8 * max_cutoff(boxes)
    got = shell_groups(pos, pos, boxes, cutoff, ids[ia], ids[ib], mol[ib], int(mol.max()) + 1, index_a=ia,
                       index_b=ib, mol_a=mol[ia], mol_b=mol[ib])
    keys = []
    for t in range(pos.shape[0]):
        dims = triclinic_box(*boxes[t].astype(np.float32))
        pairs, d = capped_distance(pos[t, ia], pos[t, ib], cutoff, box=dims)
        i, j = pairs[d < cutoff].T
        keep = mol[ia][i] != mol[ib][j]
        keys.append((t * ia.size + i[keep]) * (int(mol.max()) + 1) + mol[ib][j[keep]])
    np.testing.assert_array_equal(got, np.unique(np.concatenate(keys)))


def test_a_molecule_counts_once_and_its_nearest_atom_decides():
    """One centre; molecule 0 has two atoms within 2.5 Å (counted once), molecule 1 only beyond, across the box."""
    box = np.diag([10.0, 10.0, 10.0])[None]
    pos = np.array([[[0.5, 0.5, 0.5], [9.0, 0.5, 0.5], [2.0, 0.5, 0.5], [5.5, 0.5, 0.5], [3.5, 0.5, 0.5]]],
                   dtype=np.float32)
    groups = np.array([0, 0, 1, 1])
    got = shell_groups(pos, pos, box, 2.5, np.array([0]), np.arange(1, 5), groups, 2, index_a=np.array([0]),
                       index_b=np.arange(1, 5))
    assert got.tolist() == [0]
    got = shell_groups(pos, pos, box, 3.1, np.array([0]), np.arange(1, 5), groups, 2, index_a=np.array([0]),
                       index_b=np.arange(1, 5))
    assert got.tolist() == [0, 1]  # 3.0 Å to the molecule 1 atom at x = 3.5


def test_keys_grow_past_the_first_guess():
    """Every site within the cut-off of every centre: far more keys than the kernel first allocates."""
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 10, (2, 60, 3)).astype(np.float32)
    box = np.repeat(np.diag([40.0, 40.0, 40.0])[None], 2, axis=0)
    ids = np.arange(60)
    got = shell_groups(pos, pos, box, 19.9, ids[:3], ids, ids, 60, index_a=np.arange(3))
    assert got.size == 2 * 3 * 59
    np.testing.assert_array_equal(got, reference.shell_groups_reference(pos, pos, box, 19.9, ids[:3], ids, ids, 60,
                                                                         index_a=np.arange(3)))


def test_bad_input_names_the_parameter():
    pos = np.zeros((1, 4, 3), np.float32)
    box = np.diag([10.0, 10.0, 10.0])[None]
    ids = np.arange(4)
    with pytest.raises(ValueError, match="'cutoff' parameter .* exceeds half .* cutoff <= 5.0"):
        shell_groups(pos, pos, box, 5.5, ids, ids, ids, 4)
    with pytest.raises(ValueError, match="'group_b' parameter .* n_groups=3"):
        shell_groups(pos, pos, box, 2.0, ids, ids, ids, 3)
    with pytest.raises(ValueError, match="'index_b' parameter .* the 4 atoms"):
        shell_groups(pos, pos, box, 2.0, ids, ids[:2], ids[:2], 4, index_b=np.array([0, 4]))
    with pytest.raises(ValueError, match="'mol_a' and 'mol_b'"):
        shell_groups(pos, pos, box, 2.0, ids, ids, ids, 4, mol_a=ids)
    bad = pos.copy()
    bad[0, 2, 1] = np.nan
    with pytest.raises(ValueError, match="Non-finite coordinates .* frame 0"):
        shell_groups(bad, bad, box, 2.0, ids, ids, ids, 4)


def test_no_centres_or_sites_give_no_keys():
    pos = np.zeros((2, 4, 3), np.float32)
    box = np.repeat(np.diag([10.0, 10.0, 10.0])[None], 2, axis=0)
    empty = np.empty(0, np.int64)
    assert shell_groups(pos, pos, box, 2.0, empty, np.arange(4), np.arange(4), 4, index_a=empty).size == 0


def test_doctest():
    assert doctest.testmod(shells).failed == 0
