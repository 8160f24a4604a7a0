"""Molecule ids of a topology: the bonded fragments MDAnalysis finds, numbered as its ``fragindices``.

trajml labels the bond graph's connected components itself (MDAnalysis builds fragments in Python,
a quarter of a second at 50 000 atoms, paid by every ``open_source``); the oracle is MDAnalysis'
own ``fragindices`` on topologies with bonds, and its residue indices on one without.
"""

from __future__ import annotations

import warnings

import MDAnalysis as mda
import numpy as np
import pytest
from MDAnalysisTests.datafiles import PSF, TPR, LAMMPSdata, PDB_small

from trajml.data import sample_aa_topology, sample_topology
from trajml.io.topology import AtomTable


def _universe(path: str) -> mda.Universe:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # topology-only files: "no coordinate reader"
        return mda.Universe(str(path))


@pytest.mark.parametrize("path", [PSF, TPR, LAMMPSdata, sample_topology(), sample_aa_topology()],
                         ids=["adk-psf", "adk-tpr", "lammps-data", "cg-sample", "all-atom-sample"])
def test_molecules_are_mdanalysis_fragments_in_its_order(path):
    u = _universe(path)
    assert len(u.bonds) > 0
    table = AtomTable.from_universe(u)
    np.testing.assert_array_equal(table.molecules, u.atoms.fragindices)
    assert table.molecules.dtype == np.int64


def test_a_topology_without_bonds_gives_residues():
    u = _universe(PDB_small)
    with pytest.raises(AttributeError):
        u.bonds  # noqa: B018 - the premise: this PDB carries no bonds
    np.testing.assert_array_equal(AtomTable.from_universe(u).molecules, u.atoms.resindices)


def test_an_isolated_atom_is_a_molecule_of_its_own():
    """Ions have no bonds: each is its own fragment, numbered where its atom stands (one residue for all)."""
    u = mda.Universe.empty(6, n_residues=1, atom_resindex=[0] * 6, trajectory=False)
    u.add_TopologyAttr("bonds", [(0, 1), (1, 2), (4, 5)])
    np.testing.assert_array_equal(AtomTable.from_universe(u).molecules, [0, 0, 0, 1, 2, 2])
    np.testing.assert_array_equal(AtomTable.from_universe(u).molecules, u.atoms.fragindices)
