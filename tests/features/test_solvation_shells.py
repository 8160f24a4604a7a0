"""SolvationShells (any number of species) against solvation_analysis 0.4.2 and brute-force NumPy shells.

solvation_analysis counts each solvent residue once per Li⁺, as the ``any`` rule does: compositions,
their populations, coordination numbers and pairing must equal it. Speciation is checked against a
brute-force per-Li⁺ classification; solvation_analysis' Networking counts aggregate *clusters*, not
ions, which the last test shows.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from brute_shells import brute_classes, molecules_within, universe
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from trajml.errors import EmptySelectionError, MissingExtraError
from trajml.features import Solvation, SolvationShells
from trajml.io import open_source
from trajml.parallel import run

LI = "type 22"
SEL = {"bn": "byres type 5", "fec": "byres type 19", "pf6": "byres type 20"}
RADII = {"pf6": 2.8, "bn": 2.61468, "fec": 2.43158}  # solvation_analysis' own test radii


@pytest.fixture(scope="module")
def oracle(bn_fec):
    from solvation_analysis.solute import Solute

    u = universe(bn_fec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = Solute.from_atoms(u.select_atoms(LI), {k: u.select_atoms(v) for k, v in SEL.items()}, radii=dict(RADII),
                              skip_rdf=True, analysis_classes=["coordination", "speciation", "pairing", "networking"],
                              networking_solvents="pf6")
        s.run()
    return s


@pytest.fixture(scope="module")
def held(bn_fec):
    """Brute force: (F, n_li, n_molecules) bool per species."""
    u = universe(bn_fec)
    return {k: molecules_within(u, LI, SEL[k], RADII[k]) for k in SEL}


@pytest.fixture(scope="module")
def shells(bn_fec):
    sh = SolvationShells(LI, {k: "any:" + v for k, v in SEL.items()}, cutoffs=dict(RADII), anions="pf6",
                         keep_per_frame=True)
    return run(sh, open_source(*bn_fec), chunk_size=4, progress=False)


def test_counts_and_compositions_equal_solvation_analysis_and_brute_force(shells, oracle, held):
    counts = np.stack([held[k].sum(axis=2) for k in SEL], axis=-1)
    np.testing.assert_array_equal(shells.per_frame_counts, counts)
    for s, name in enumerate(shells.species):
        assert shells.mean_coordination[s] == pytest.approx(oracle.coordination.coordination_numbers[name], rel=1e-12)
        assert shells.fraction_paired[s] == pytest.approx(oracle.pairing.solvent_pairing[name], rel=1e-12)
    theirs = oracle.speciation.speciation_fraction
    table = shells.to_pandas()
    assert len(table) == len(theirs)
    merged = table.merge(theirs, on=list(shells.species), suffixes=("", "_sa"))
    assert len(merged) == len(theirs)
    np.testing.assert_allclose(merged["fraction"], merged["fraction_sa"], rtol=1e-12)
    rows, pops = np.unique(counts.reshape(-1, 3), axis=0, return_counts=True)
    brute = {tuple(r): p for r, p in zip(rows.tolist(), pops.tolist())}
    assert {tuple(r): int(o) for r, o in zip(shells.compositions.tolist(), shells.composition_occurrences)} == brute
    assert shells.composition_fraction.sum() == pytest.approx(1.0)


def test_speciation_equals_a_brute_force_count_per_li(shells, held):
    classes = brute_classes(held["pf6"])
    np.testing.assert_array_equal(shells.per_frame_class, classes)
    fractions = np.bincount(classes.ravel(), minlength=3) / classes.size
    np.testing.assert_allclose([shells.fraction_free, shells.fraction_cip, shells.fraction_agg], fractions,
                               rtol=1e-12)
    li_per_anion = np.bincount(held["pf6"].sum(axis=1).ravel())
    np.testing.assert_allclose(shells.anion_cation_probability, li_per_anion / li_per_anion.sum(), rtol=1e-12)


def test_speciation_pools_every_anion_species(bn_fec, held):
    """Two anion species (FEC counted as one, for the test) are one pool: an ion pair with either is a CIP."""
    sh = SolvationShells(LI, {k: "any:" + v for k, v in SEL.items()}, cutoffs=dict(RADII), anions=("pf6", "fec"),
                         keep_per_frame=True)
    res = run(sh, open_source(*bn_fec), progress=False)
    np.testing.assert_array_equal(res.per_frame_class, brute_classes(np.concatenate([held["fec"], held["pf6"]], 2)))
    assert res.anions == ("fec", "pf6")


def test_solvation_analysis_counts_aggregate_clusters_not_ions(shells, oracle, held):
    """Its 'networked' fraction is (clusters of ≥ 3 ions) / n_Li; per Li⁺ the aggregate fraction is larger."""
    pairs = held["pf6"]
    n_li = pairs.shape[1]
    clusters_3 = li_in_agg = 0
    for frame in pairs:
        li, an = np.nonzero(frame)
        graph = coo_matrix((np.ones(li.size), (li, n_li + an)), shape=(n_li + frame.shape[1],) * 2)
        _, label = connected_components(graph, directed=False)
        sizes = np.bincount(label)
        clusters_3 += int((sizes >= 3).sum())
        li_in_agg += int((sizes[label[:n_li]] >= 3).sum())
    status = oracle.networking.solute_status
    assert status["networked"] == pytest.approx(clusters_3 / pairs.size * pairs.shape[2], rel=1e-12)
    assert shells.fraction_agg == pytest.approx(li_in_agg / (pairs.shape[0] * n_li), rel=1e-12)
    assert status["paired"] == pytest.approx(shells.fraction_cip, rel=1e-12)
    assert shells.fraction_agg > status["networked"]
    assert status["isolated"] > shells.fraction_free


def test_chains_per_shell_equal_brute_force(spe_nvt):
    u = universe(spe_nvt)
    res = run(SolvationShells("name Li", {"O": "name O", "anion": "name TFSI"}, cutoffs={"O": 5.0, "anion": 6.0},
                              chains="O", keep_per_frame=True), open_source(*spe_nvt), chunk_size=5, progress=False)
    held = molecules_within(u, "name Li", "name O", 5.0)  # chains are residues of the generated system
    n = held.sum(axis=2).ravel()
    np.testing.assert_array_equal(np.diff(res.chain_offsets), n)
    chain_res = u.select_atoms("name O").residues.resindices
    expected = np.concatenate([chain_res[np.flatnonzero(row)] for row in held.reshape(-1, held.shape[2])])
    np.testing.assert_array_equal(res.chain_ids, expected)
    np.testing.assert_allclose(res.n_chains_probability, np.bincount(n) / n.size, rtol=1e-12)


def test_the_two_species_call_equals_solvation(spe_triclinic):
    src = open_source(*spe_triclinic)
    old = run(Solvation("name Li", "name O", "name TFSI", cutoff_o=4.5, cutoff_anion=6.5), src, progress=False)
    new = run(SolvationShells("name Li", {"polymer_o": "name O", "anion": "name TFSI"},
                              cutoffs={"polymer_o": 4.5, "anion": 6.5}, chains="polymer_o"), src, progress=False)
    assert (new.fraction_free, new.fraction_cip, new.fraction_agg) == (old.fraction_free, old.fraction_cip,
                                                                      old.fraction_agg)
    grid = np.zeros_like(old.composition_occurrences)
    for (i, j), n in zip(new.compositions.tolist(), new.composition_occurrences):
        grid[i, j] = n
    np.testing.assert_array_equal(grid, old.composition_occurrences)
    np.testing.assert_allclose(new.n_chains_probability, old.n_chains_probability, rtol=1e-15)


def test_default_cutoffs_are_each_first_minimum(bn_fec):
    from trajml.features.first_shell import first_shell

    src = open_source(*bn_fec)
    res = SolvationShells(LI, {"pf6": "any:" + SEL["pf6"], "bn": "any[type 5]:" + SEL["bn"]}, anions="pf6").run(
        src, progress=False)
    assert res.cutoffs["pf6"] == first_shell(src, LI, SEL["pf6"]).cutoff
    assert res.cutoffs["bn"] == first_shell(src, LI, f"({SEL['bn']}) and (type 5)").cutoff
    assert res.cutoff_sources == {"pf6": "first minimum of g(r)", "bn": "first minimum of g(r)"}


def test_bad_input_is_named(bn_fec, monkeypatch, shells):
    src = open_source(*bn_fec)
    with pytest.raises(ValueError, match=r"'bn' and 'fec' selections of SolvationShells must not overlap .* share "
                                         r"\d+ atoms \(topology indices \d+"):
        run(SolvationShells(LI, {"bn": "any:" + SEL["bn"], "fec": "any:" + SEL["bn"], "anion": "any:" + SEL["pf6"]},
                            cutoffs={"bn": 2.6, "fec": 2.6, "anion": 2.8}), src, progress=False)
    with pytest.raises(ValueError, match=r"'pf6' and 'f' selections .* share 294 atoms"):  # not only site atoms
        run(SolvationShells(LI, {"pf6": "any[type 20]:" + SEL["pf6"], "f": f"any:({SEL['pf6']}) and not type 20"},
                            cutoffs={"pf6": 3.6, "f": 2.8}, anions="pf6"), src, progress=False)
    with pytest.raises(ValueError, match=r"'cation' and 'anion' selections .* share 49 atoms"):
        run(SolvationShells(LI, {"anion": "any:type 22 or " + SEL["pf6"]}, cutoffs={"anion": 2.8}), src,
            progress=False)
    with pytest.raises(ValueError, match=r"'anions' parameter of SolvationShells names 'tfsi', which is not a "
                                         r"species; the species are 'pf6'"):
        SolvationShells(LI, {"pf6": "any:" + SEL["pf6"]}, anions="tfsi")
    with pytest.raises(ValueError, match=r"needs the anion species .* give the 'anions' parameter \(names among "
                                         r"'bn', 'pf6'"):
        SolvationShells(LI, {"bn": "any:" + SEL["bn"], "pf6": "any:" + SEL["pf6"]})
    with pytest.raises(ValueError, match=r"give the 'cutoffs' parameter of SolvationShells a value for 'bn'"):
        run(SolvationShells(LI, {"bn": "com:" + SEL["bn"], "anion": "any:" + SEL["pf6"]}), src, progress=False)
    with pytest.raises(ValueError, match=r"'cutoffs\[anion\]' parameter of SolvationShells must be at most half"):
        run(SolvationShells(LI, {"anion": "any:" + SEL["pf6"]}, cutoffs={"anion": 25.0}), src, progress=False)
    with pytest.raises(ValueError, match=r"'cutoffs' parameter of SolvationShells must be a mapping of species "
                                         r"names to positive cut-offs in Å; 'anion' has -1"):
        SolvationShells(LI, {"anion": "name P"}, cutoffs={"anion": -1})
    with pytest.raises(EmptySelectionError, match=r"'type 99'"):
        run(SolvationShells(LI, {"anion": "any:type 99"}, cutoffs={"anion": 2.8}), src, progress=False)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'trajml\[tables\]'"):
        shells.to_pandas()
