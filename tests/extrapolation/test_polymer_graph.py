"""Repeat units closed into rings: RDKit (parsing an independently written ring SMILES) is the oracle."""

from __future__ import annotations

import numpy as np
import pytest

Chem = pytest.importorskip("rdkit.Chem")
pytest.importorskip("torch_geometric")

from trajml.extrapolation.deep.polymer_graph import cg_graph, cg_graph_from_topology, smiles_graph  # noqa: E402
from trajml.extrapolation.polymer_rings import ELEMENTS, morgan_fingerprints, ring_molecule  # noqa: E402


def _canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


# repeat unit -> the same ring written by hand with a ring-closure bond between the atoms next to the stars
RINGS = [
    ("*CCO*", "C%10CO%10"),                      # PEO: 3-ring C-C-O
    ("*CC(C)O*", "C%10C(C)O%10"),                # PPO
    ("*OC(=O)OCC*", "O%10C(=O)OCC%10"),          # a polycarbonate
    ("*c1ccc(cc1)S*", "c%101ccc(cc1)S%10"),      # poly(phenylene sulfide)
    ("*CC*", "C%10CCC%10"),                      # too short: two units, a 4-ring
    ("*C*", "C%10CC%10"),                        # one atom: three units, a 3-ring
    ("*/C=C/*", "C%10=CC=C%10"),                 # the double bond of the stars is kept
]


def _skeleton(mol) -> str:
    """Canonical SMILES of the bare graph: elements and connectivity, every bond single, nothing aromatic."""
    rw = Chem.RWMol(mol)
    for b in rw.GetBonds():
        b.SetBondType(Chem.BondType.SINGLE)
        b.SetIsAromatic(False)
    for a in rw.GetAtoms():
        a.SetIsAromatic(False)
        a.SetNoImplicit(True)
    rw.UpdatePropertyCache(strict=False)
    return Chem.MolToSmiles(rw)


@pytest.mark.parametrize("unit, ring", RINGS)
def test_ring_closure_matches_rdkit(unit, ring):
    mol = ring_molecule(unit)
    assert _skeleton(mol) == _skeleton(Chem.MolFromSmiles(ring))
    if not any(a.GetIsAromatic() for a in mol.GetAtoms()):  # bond orders and hydrogens too
        assert Chem.MolToSmiles(mol) == _canonical(ring)


def test_closing_the_ring_keeps_the_open_units_aromaticity():
    """A para-aramid unit closed on itself must not become an aromatic pyridone (RDKit would perceive one)."""
    unit = "*Nc1ccc(cc1)C(=O)*"
    open_unit = Chem.MolFromSmiles(unit)
    ring = ring_molecule(unit)
    assert sum(a.GetIsAromatic() for a in ring.GetAtoms()) == sum(a.GetIsAromatic() for a in open_unit.GetAtoms())
    carbonyl = [b for b in ring.GetBonds() if {b.GetBeginAtom().GetSymbol(), b.GetEndAtom().GetSymbol()} == {"C", "O"}]
    assert [str(b.GetBondType()) for b in carbonyl] == ["DOUBLE"]
    assert [a.GetTotalNumHs() for a in ring.GetAtoms() if a.GetSymbol() == "N"] == [1]


@pytest.mark.parametrize("unit, ring", RINGS[:4])
def test_graph_counts_and_closure_bond(unit, ring):
    """Nodes = heavy atoms of the unit, edges = its bonds without the two star bonds, plus the closure."""
    mol = Chem.MolFromSmiles(unit)
    heavy = [a for a in mol.GetAtoms() if a.GetAtomicNum() > 0]
    stars = [a for a in mol.GetAtoms() if a.GetAtomicNum() == 0]
    g = smiles_graph(unit)
    assert g.x.shape == (len(heavy), len(ELEMENTS) + 4)
    assert g.edge_index.shape[1] == 2 * (mol.GetNumBonds() - 2 + 1)
    # symmetric edges
    pairs = {tuple(e) for e in g.edge_index.T.tolist()}
    assert all((j, i) in pairs for i, j in pairs)
    # element one-hot = RDKit's element counts
    symbols = [a.GetSymbol() for a in heavy]
    np.testing.assert_array_equal(g.x[:, :len(ELEMENTS)].sum(0).numpy(),
                                  [symbols.count(e) for e in ELEMENTS])
    # the closure joins the two atoms bonded to the stars (indices shift by the stars that precede them)
    heads = [s.GetNeighbors()[0].GetIdx() for s in stars]
    star_idx = [s.GetIdx() for s in stars]
    a, b = (h - sum(s < h for s in star_idx) for h in heads)
    assert (a, b) in pairs
    assert Chem.MolFromSmiles(unit).GetRingInfo().NumRings() + 1 == ring_molecule(unit).GetRingInfo().NumRings()


def test_where_the_unit_is_cut_does_not_matter():
    cuts = ["*CCO*", "*COC*", "*OCC*"]
    assert len({Chem.MolToSmiles(ring_molecule(c)) for c in cuts}) == 1
    fps = morgan_fingerprints(cuts, n_bits=256)
    assert (fps == fps[0]).all() and fps[0].sum() > 0


@pytest.mark.parametrize("unit, match", [
    ("*CC(*", r"Invalid SMILES '\*CC\(\*' \(row 4, id 'x7'\)"),
    ("CCO*", r"\(row 4, id 'x7'\) has 1 attachment points"),
    ("CCO", r"has 0 attachment points"),
    ("*C(*)C*", r"has 3 attachment points"),
    ("CC*C*", r"must be bonded to exactly one atom; it has 2"),
    ("*C[Xe]C*", r"\(row 4, id 'x7'\) contains element\(s\) \['Xe'\]"),
    ("", r"Empty SMILES \(row 4, id 'x7'\)"),
])
def test_bad_smiles_name_row_and_id(unit, match):
    with pytest.raises(ValueError, match=match):
        smiles_graph(unit, row=4, id="x7")


def test_cg_ring_of_the_simulated_topology():
    from trajml.sim.builder import build_topology
    from trajml.sim.parameters import SimulationParameters

    topo = build_topology(SimulationParameters(n_chains=2, chain_length=8, eo_li_ratio=4.0))
    g = cg_graph_from_topology(topo)              # C-O repeat unit: two units in a 4-ring
    assert g.x.shape == (4, 2)
    np.testing.assert_array_equal(g.x.argmax(1).numpy(), [0, 1, 0, 1])  # vocabulary ['C', 'O']
    degree = np.bincount(g.edge_index[0].numpy(), minlength=4)
    np.testing.assert_array_equal(degree, [2, 2, 2, 2])
    h = cg_graph(["C", "C", "O", "X"], ["C", "O", "X"])
    assert h.x.shape == (4, 3) and h.edge_index.shape[1] == 8
    with pytest.raises(ValueError, match=r"row 2, id 'b'.*bead type\(s\) \['Q'\]"):
        cg_graph(["C", "Q"], ["C", "O"], row=2, id="b")


def test_missing_rdkit_names_the_chem_extra(monkeypatch):
    import sys

    from trajml.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "rdkit", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'trajml\[chem\]'"):
        ring_molecule("*CCO*")
