"""The info stage's net charge: the topology's charges when it has them, else the metadata's per species.

Regression: metadata charges keyed by residue name (``{"LI": 0.8, "TFSI": -0.8}`` of the all-atom sample)
were looked up among atom names only, so the TFSI⁻ charge was dropped and the net charge read +11.2 e.
"""

from __future__ import annotations

import types

import MDAnalysis as mda
import numpy as np
import pytest

from trajml.data import sample_aa_topology, sample_aa_trajectory
from trajml.io import open_source
from trajml.pipelines.stages.structure import _net_charge


@pytest.fixture(scope="module")
def aa_source():
    return open_source(sample_aa_topology(), sample_aa_trajectory())


def test_topology_charges_are_summed(aa_source):
    oracle = mda.Universe(sample_aa_topology()).atoms.charges.sum()
    species = aa_source.atoms.species_counts("names")
    net = _net_charge(aa_source, species, {"LI": 0.8, "TFSI": -0.8})
    assert net == pytest.approx(oracle, abs=1e-5) and abs(net) < 1e-4


def test_metadata_charges_by_residue_count_molecules(aa_source):
    table = aa_source.atoms
    stripped = types.SimpleNamespace(atoms=types.SimpleNamespace(
        charges=None, resnames=table.resnames, molecules=table.molecules))
    species = aa_source.atoms.species_counts("names")
    u = mda.Universe(sample_aa_topology())
    n_li, n_tfsi = (len(u.select_atoms(f"resname {r}").residues) for r in ("LI", "TFSI"))
    assert _net_charge(stripped, species, {"LI": 1.0, "TFSI": -1.0}) == pytest.approx(n_li - n_tfsi)
    assert _net_charge(stripped, species, {"LI": 1.0, "TFSI": -2.0}) == pytest.approx(n_li - 2 * n_tfsi)
    # A key naming no atom and no residue leaves the net charge unknown rather than a partial sum.
    assert _net_charge(stripped, species, {"LI": 1.0, "PF6": -1.0}) is None
    assert np.isfinite(_net_charge(stripped, species, {"LI": 1.0}))
