"""Species (a selection plus a counting rule) and Coordination counting molecules.

Oracles: solvation_analysis 0.4.2 on its own BN/FEC/PF₆ test system (it counts each solvent
residue once per Li⁺), and a brute-force NumPy minimum-image count per Li⁺ (tests/features/brute_shells.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _systems import write_system
from brute_shells import atoms_within, molecules_within, universe

from trajml.errors import EmptySelectionError, SelectionError
from trajml.features import RDF, Coordination
from trajml.io import open_source
from trajml.parallel import run
from trajml.species import Species

LI, PF6, BN = "type 22", "byres type 20", "byres type 5"
RADII = {"pf6": 2.8, "bn": 2.61468, "fec": 2.43158}  # solvation_analysis' own test radii


@pytest.fixture(scope="module")
def solute(bn_fec):
    """solvation_analysis' Solute on the same frames, with its test radii."""
    from solvation_analysis.solute import Solute

    u = universe(bn_fec)
    groups = {"pf6": u.select_atoms(PF6), "bn": u.select_atoms(BN), "fec": u.select_atoms("byres type 19")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = Solute.from_atoms(u.select_atoms(LI), groups, radii=dict(RADII), skip_rdf=True,
                              analysis_classes=["coordination", "speciation", "pairing", "networking"],
                              networking_solvents="pf6")
        s.run()
    return s


def test_text_form_round_trips():
    assert Species.parse("any[name P]:resname PF6") == Species("resname PF6", "any", "molecule", "name P")
    assert Species.parse("residue-com:resid 1:10") == Species("resid 1:10", "com", "residue")
    assert Species.parse("name O") == Species("name O")
    assert Species.parse({"select": "resname EC", "rule": "com"}).text() == "com:resname EC"
    for text in ("any[name P]:resname PF6", "residue-any:resname EC", "com:resname BN"):
        assert Species.parse(text).text() == text
    assert Species(np.arange(3), "any") == Species([0, 1, 2], "any") != Species(np.arange(4), "any")
    assert Species(np.arange(3), "any") != Species("index 0:2", "any")
    assert len({Species("name O"), Species.parse("atom:name O")}) == 1
    with pytest.raises(ValueError, match=r"rule must be one of 'atom', 'com', 'any'. Got 'mol'"):
        Species("name O", rule="mol")
    with pytest.raises(ValueError, match=r"'site' \('name P'\) needs rule='any'"):
        Species("resname PF6", rule="com", site="name P")


@pytest.fixture(params=["scan", "cells"])
def pair_search(request, monkeypatch):
    """Both CPU pair searches of shell_pairs: the brute-force scan around a few centres, and the cell list."""
    import trajml.species

    monkeypatch.setattr(trajml.species, "_BRUTE_MAX_CENTRES", 10**9 if request.param == "scan" else -1)
    return request.param


def test_molecules_are_counted_once_as_solvation_analysis_does(bn_fec, solute, pair_search):
    u = universe(bn_fec)
    src = open_source(*bn_fec)
    for name, sel in (("pf6", PF6), ("bn", BN)):
        res = run(Coordination(LI, "any:" + sel, cutoff=RADII[name], keep_per_frame=True), src, chunk_size=4,
                  progress=False)
        held = molecules_within(u, LI, sel, RADII[name])
        np.testing.assert_array_equal(res.per_frame, held.sum(axis=2))
        assert res.mean == pytest.approx(solute.coordination.coordination_numbers[name], rel=1e-12)
        assert res.n_ligands == len(u.select_atoms(sel).residues)
    # Counting atoms instead (the default) gives the larger per-atom number.
    atoms = run(Coordination(LI, PF6, cutoff=2.8), src, progress=False)
    assert atoms.mean == pytest.approx(atoms_within(u, LI, PF6, 2.8).mean(), rel=1e-12)
    assert atoms.mean > solute.coordination.coordination_numbers["pf6"] + 0.02


def test_site_and_centre_of_mass_rules_equal_brute_force(bn_fec, pair_search):
    u = universe(bn_fec)
    src = open_source(*bn_fec)
    site = run(Coordination(LI, Species(PF6, "any", site="type 20"), cutoff=3.6, keep_per_frame=True), src,
               progress=False)
    np.testing.assert_array_equal(site.per_frame, molecules_within(u, LI, PF6, 3.6, site="type 20").sum(axis=2))
    com = run(Coordination(LI, "com:" + BN, cutoff=4.5, keep_per_frame=True), src, chunk_size=3, progress=False)
    np.testing.assert_array_equal(com.per_frame, molecules_within(u, LI, BN, 4.5, com=True).sum(axis=2))
    assert com.mean > 0.5
    # Molecule centres: each BN counted around Li⁺ is the transpose of Li⁺ around each BN.
    around = run(Coordination("any:" + BN, LI, cutoff=2.61468, keep_per_frame=True), src, progress=False)
    held = molecules_within(u, LI, BN, 2.61468)
    np.testing.assert_array_equal(around.per_frame, held.sum(axis=1))


def test_centre_of_mass_needs_a_given_cutoff(bn_fec):
    with pytest.raises(ValueError, match=r"give the 'cutoff' parameter"):
        run(Coordination(LI, "com:" + BN), open_source(*bn_fec), progress=False)


def test_rdf_refuses_a_molecule_species(bn_fec):
    with pytest.raises(SelectionError, match=r"'select_b' parameter of RDF takes atoms.*'any:byres type 20'"):
        run(RDF(LI, Species(PF6, "any")), open_source(*bn_fec), progress=False)


@pytest.fixture(scope="module")
def no_molecules(tmp_path_factory):
    """Six atoms in one residue, no bonds (a bare PDB): neither molecules nor residues."""
    pos = np.random.default_rng(0).uniform(0, 10, size=(2, 6, 3))
    return write_system(tmp_path_factory.mktemp("nomol"), ["Li", "O", "O", "P", "F", "F"], np.zeros(6, int), pos,
                        np.array([[10.0, 10, 10, 90, 90, 90]] * 2))


def test_bad_species_say_what_is_missing(no_molecules, bn_fec):
    src = open_source(*no_molecules)
    with pytest.raises(SelectionError, match=r"'select_b' species of Coordination counts molecules, but the "
                                             r"topology has neither bonds nor residues \(all 6 atoms"):
        run(Coordination("name Li", "any:name O", cutoff=3.0), src, progress=False)
    with pytest.raises(SelectionError, match=r"counts residues, but the topology has no residues"):
        run(Coordination("name Li", "residue-any:name O", cutoff=3.0), src, progress=False)
    with pytest.raises(EmptySelectionError, match=r"'name Zr'"):
        run(Coordination("name Li", "any:name Zr", cutoff=3.0), src, progress=False)
    with pytest.raises(EmptySelectionError, match=r"site 'type 5' of the 'select_b' species .* matches none"):
        run(Coordination(LI, Species(PF6, "any", site="type 5"), cutoff=3.0), open_source(*bn_fec), progress=False)
    with pytest.raises(ValueError, match=r"'cutoff' parameter of Coordination must be at most half"):
        run(Coordination(LI, "any:" + PF6, cutoff=30.0), open_source(*bn_fec), progress=False)
