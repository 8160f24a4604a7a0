"""Li⁺ solvation: a hand-built configuration with known answers, and a brute-force recount."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _systems import write_system

from trajml.features import Solvation
from trajml.io import open_source
from trajml.parallel import run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysis.lib.distances import distance_array


@pytest.fixture(scope="module")
def hand_built(tmp_path_factory):
    """Six Li⁺ with known shells (cut-offs 3 Å) in a 40 Å box, in three rigidly translated frames.

    Li0: O from chains A, A, B, no anion -> free, 3 O, 2 chains.
    Li1: anion X0 alone, one O of chain B -> CIP.
    Li2, Li3: share anion X1 -> AGG, AGG.
    Li4: anions X2 and X3 -> AGG.
    Li5: anion X5 across the periodic boundary, one O of chain C -> CIP.
    X4: no Li.
    """
    atoms = [  # (name, residue, position)
        ("C", 0, (30, 10, 30)), ("O", 0, (7, 5, 5)), ("O", 0, (5, 7, 5)),
        ("C", 1, (30, 15, 30)), ("O", 1, (5, 5, 7)), ("O", 1, (20, 7, 5)),
        ("C", 2, (30, 20, 30)), ("O", 2, (0.5, 22, 35)),
        ("Li", 3, (5, 5, 5)), ("Li", 4, (20, 5, 5)), ("Li", 5, (5, 20, 20)), ("Li", 6, (9, 20, 20)),
        ("Li", 7, (25, 25, 25)), ("Li", 8, (0.5, 20, 35)),
        ("TFSI", 9, (22, 5, 5)), ("TFSI", 10, (7, 20, 20)), ("TFSI", 11, (27, 25, 25)),
        ("TFSI", 12, (23, 25, 25)), ("TFSI", 13, (35, 35, 5)), ("TFSI", 14, (39, 20, 35)),
    ]
    names = [a[0] for a in atoms]
    resindex = np.array([a[1] for a in atoms])
    base = np.array([a[2] for a in atoms], dtype=float)
    shifts = np.array([[0, 0, 0], [13.3, -7.1, 21.7], [-2.2, 31.0, 4.4]])
    pos = base[None] + shifts[:, None]
    dims = np.tile([40.0, 40.0, 40.0, 90.0, 90.0, 90.0], (3, 1))
    bonds = [(0, 1), (1, 2), (3, 4), (4, 5), (6, 7)]
    return write_system(tmp_path_factory.mktemp("hand"), names, resindex, pos, dims, bonds=bonds)


def test_hand_built_speciation_and_shells(hand_built):
    res = run(Solvation(cutoff_o=3.0, cutoff_anion=3.0, keep_per_frame=True), open_source(*hand_built),
              chunk_size=2, progress=False)
    assert (res.fraction_free, res.fraction_cip, res.fraction_agg) == pytest.approx((1 / 6, 2 / 6, 3 / 6))
    np.testing.assert_allclose(res.per_frame_speciation, np.tile([1 / 6, 2 / 6, 3 / 6], (3, 1)))
    np.testing.assert_allclose(res.n_o_probability, np.array([3, 2, 0, 1]) / 6)
    np.testing.assert_allclose(res.n_anion_probability, np.array([1, 4, 1]) / 6)
    np.testing.assert_allclose(res.n_chains_probability, np.array([3, 2, 1]) / 6)
    np.testing.assert_allclose(res.anion_li_probability, np.array([1, 4, 1]) / 6)
    assert res.mean_n_o == pytest.approx(5 / 6) and res.mean_n_chains == pytest.approx(4 / 6)
    expected_comp = np.zeros((4, 3))
    for n_o, n_a in [(3, 0), (1, 1), (0, 1), (0, 1), (0, 2), (1, 1)]:
        expected_comp[n_o, n_a] += 1 / 6
    np.testing.assert_allclose(res.composition, expected_comp)
    assert res.composition_occurrences.sum() == 18
    assert res.cutoff_sources == {"cutoff_o": "given", "cutoff_anion": "given"}
    assert (res.n_li, res.n_polymer_o, res.n_anions, res.n_frames) == (6, 5, 6, 3)


def brute_force(files, cutoff_o, cutoff_anion, stop=None):
    """Speciation counts, chains, O and anion counts per (frame, Li) from MDAnalysis distance arrays."""
    u = mda.Universe(*files)
    li, o, an = u.select_atoms("name Li"), u.select_atoms("name O"), u.select_atoms("name TFSI")
    mol = o.fragindices
    classes, n_o, n_a, chains = [], [], [], []
    for ts in u.trajectory[:stop]:
        lo = distance_array(li.positions, o.positions, box=ts.dimensions) < cutoff_o
        la = distance_array(li.positions, an.positions, box=ts.dimensions) < cutoff_anion
        per_anion = la.sum(axis=0)
        for i in range(len(li)):
            partners = np.flatnonzero(la[i])
            if len(partners) == 0:
                classes.append(0)
            elif len(partners) == 1 and per_anion[partners[0]] == 1:
                classes.append(1)
            else:
                classes.append(2)
            n_o.append(lo[i].sum())
            n_a.append(len(partners))
            chains.append(len(set(mol[lo[i]])))
    return np.array(classes), np.array(n_o), np.array(n_a), np.array(chains)


def test_sample_equals_brute_force_recount(sample_files):
    src = open_source(*sample_files)
    res = run(Solvation(cutoff_frames=20), src, stop=20, progress=False)
    assert res.cutoff_sources == {"cutoff_o": "first minimum of g(r)", "cutoff_anion": "first minimum of g(r)"}
    classes, n_o, n_a, chains = brute_force(sample_files, res.cutoff_o, res.cutoff_anion, stop=20)
    frac = np.bincount(classes, minlength=3) / len(classes)
    assert (res.fraction_free, res.fraction_cip, res.fraction_agg) == pytest.approx(tuple(frac), abs=1e-12)
    np.testing.assert_allclose(res.n_o_probability, np.bincount(n_o) / len(n_o), atol=1e-12)
    np.testing.assert_allclose(res.n_anion_probability, np.bincount(n_a) / len(n_a), atol=1e-12)
    np.testing.assert_allclose(res.n_chains_probability, np.bincount(chains) / len(chains), atol=1e-12)
    assert res.mean_n_o > 1.0  # Li+ is solvated by ether O in the sample


def test_random_system_equals_brute_force_recount(spe_triclinic):
    res = run(Solvation(cutoff_o=5.0, cutoff_anion=7.0), open_source(*spe_triclinic), chunk_size=4, progress=False)
    classes, n_o, n_a, chains = brute_force(spe_triclinic, 5.0, 7.0)
    np.testing.assert_allclose([res.fraction_free, res.fraction_cip, res.fraction_agg],
                               np.bincount(classes, minlength=3) / len(classes), atol=1e-12)
    np.testing.assert_allclose(res.n_chains_probability, np.bincount(chains) / len(chains), atol=1e-12)
    assert res.mean_n_anion == pytest.approx(n_a.mean(), rel=1e-12)


def test_tables_and_labelled_arrays(hand_built):
    res = run(Solvation(cutoff_o=3.0, cutoff_anion=3.0), open_source(*hand_built), progress=False)
    df = res.to_pandas()
    assert list(df.columns) == ["count", "n_o", "n_anion", "n_chains"]
    np.testing.assert_allclose(df["n_o"].to_numpy(), [3 / 6, 2 / 6, 0, 1 / 6])
    ds = res.to_xarray()
    assert ds["composition"].dims == ("n_o", "n_anion")
    assert float(ds["fraction_cip"]) == pytest.approx(1 / 3)
    assert res.units["cutoff_o"] == "Å" and res.units["fraction_agg"] == ""


def test_errors_name_parameters(hand_built):
    with pytest.raises(ValueError, match=r"The 'cutoff_anion' parameter of Solvation must be a float in \(0, inf\)"):
        Solvation(cutoff_anion=0.0)
    with pytest.raises(ValueError, match=r"'name Na' matched no atom"):
        run(Solvation(cation="name Na", cutoff_o=3.0, cutoff_anion=3.0), open_source(*hand_built), progress=False)
    with pytest.raises(ValueError, match=r"'cutoff_o' parameter of Solvation must be at most half"):
        run(Solvation(cutoff_o=25.0, cutoff_anion=3.0), open_source(*hand_built), progress=False)


def test_overlapping_selections_are_rejected(hand_built):
    src = open_source(*hand_built)
    with pytest.raises(ValueError, match=r"The 'cation' \('name Li'\) and 'anion' \('name Li or name TFSI'\) "
                                         r"selections of Solvation must not overlap; they share \d+ atoms"):
        run(Solvation(anion="name Li or name TFSI", cutoff_o=3.0, cutoff_anion=3.0), src, progress=False)


def test_an_anion_selection_with_several_atoms_per_molecule_is_refused(bn_fec):
    """All PF₆⁻ atoms as 'anion' would make one PF₆⁻ near a Li⁺ look like an aggregate."""
    with pytest.raises(ValueError, match=r"'anion' selection of Solvation \('byres type 20'\) holds 7 atoms of "
                                         r"molecule \d+ \(49 molecules hold several\).*SolvationShells"):
        run(Solvation("type 22", "type 5", "byres type 20", cutoff_o=2.6, cutoff_anion=2.8), open_source(*bn_fec),
            progress=False)
    one_site = run(Solvation("type 22", "type 5", "type 20", cutoff_o=2.6, cutoff_anion=3.6), open_source(*bn_fec),
                   progress=False)  # type 20 is one atom per PF₆⁻
    assert one_site.n_anions == 49


def test_species_count_each_molecule_once(bn_fec):
    """anion='any:…' and polymer_o='any:…' count molecules: equal to a brute-force per-Li⁺ count."""
    from brute_shells import brute_classes, molecules_within, universe

    u = universe(bn_fec)
    res = run(Solvation("type 22", "any:byres type 5", "any:byres type 20", cutoff_o=2.61468, cutoff_anion=2.8,
                        keep_per_frame=True), open_source(*bn_fec), chunk_size=3, progress=False)
    bn = molecules_within(u, "type 22", "byres type 5", 2.61468)
    pf6 = molecules_within(u, "type 22", "byres type 20", 2.8)
    assert res.mean_n_o == pytest.approx(bn.sum(axis=2).mean(), rel=1e-12)
    assert res.mean_n_anion == pytest.approx(pf6.sum(axis=2).mean(), rel=1e-12)
    assert res.mean_n_chains == res.mean_n_o  # each BN molecule is its own chain
    classes = brute_classes(pf6)
    expected = np.stack([(classes == k).mean(axis=1) for k in range(3)], axis=1)
    np.testing.assert_allclose(res.per_frame_speciation, expected, rtol=1e-12)
    assert (res.n_polymer_o, res.n_anions) == (363, 49)
