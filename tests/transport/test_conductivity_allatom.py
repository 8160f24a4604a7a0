"""Conductivity of the bundled all-atom PEO/LiTFSI sample against MDAnalysis + NumPy Einstein–Helfand.

The sample's ions carry scaled partial charges (±0.8 e per ion, declared in its metadata); TFSI⁻ is a
15-atom molecule followed by its centre of mass. The oracle unwraps with MDAnalysis' NoJump, takes
``center_of_mass(compound="fragments")`` and ``total_charge(compound="fragments")``, and fits
⟨|Σ q ΔR|²⟩ over the same window (see tests/transport/test_conductivity_species.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.transport.test_conductivity_species import mdanalysis_oracle
from trajml.data import sample_aa_topology, sample_aa_trajectory
from trajml.transport.conductivity import Conductivity

SPECIES = {"LI": "resname LI", "TFSI": "resname TFSI"}
WINDOW = {"fit_start": 10.0, "fit_stop": 60.0}


def test_allatom_sample_matches_mdanalysis_einstein_helfand():
    from trajml.io import open_source

    files = (sample_aa_topology(), sample_aa_trajectory())
    res = Conductivity(species=SPECIES, per_molecule=True, n_blocks=3, **WINDOW).run(open_source(*files),
                                                                                     progress=False)
    oracle = mdanalysis_oracle(files, SPECIES, dt=1.0, temperature=400.0, window=WINDOW)
    assert res.temperature_K == 400.0 and res.temperature_source == "metadata"
    assert "charge_scale=0.8 declared in" in res.charge_source
    np.testing.assert_allclose(res.charges_e, oracle["charges"], rtol=1e-5)
    np.testing.assert_allclose(res.charges_e, [0.8, -0.8], rtol=1e-5)
    assert list(res.n_ions) == oracle["n"] == [14, 14]
    assert res.sigma_S_m == pytest.approx(oracle["sigma"], rel=1e-3)
    np.testing.assert_allclose(res.L_mol2_J_m_s, oracle["L"], rtol=1e-3, atol=1e-5 * np.abs(oracle["L"]).max())
