"""``trajml simulate``: coarse-grained solid-polymer-electrolyte simulations on OpenMM.

A Kremer–Grest style model of PEO/LiTFSI (after Wang et al., Chem. Mater. 2020):
linear chains of alternating backbone (``C``) and ether-oxygen (``O``) beads,
Li⁺ beads (``Li``, +1 e) and TFSI-like anion beads (``TFSI``, −1 e) in a cubic
periodic box. FENE bonds, WCA repulsion, an attractive Li–O Lennard-Jones well,
screened (Yukawa) Coulomb between ions, optional bending stiffness, Langevin
thermostat. See :mod:`trajml.sim.parameters` for the mapping of reduced units
(σ = 5 Å, ε = k_B·300 K, m = 44 amu, τ ≈ 2.1 ps) and every knob.

``--model all-atom`` (:func:`simulate_allatom`, :class:`AllAtomParameters`) runs the all-atom twin:
OPLS-AA PEO chains CH3–O–(CH2CH2O)n–CH3 with CL&P Li⁺ and TFSI⁻ (ion charges scaled by 0.8 by default),
geometric combining rules, PME, from the force-field XML bundled in ``trajml/sim/forcefields/``.

Only :func:`simulate` and :func:`simulate_allatom` need OpenMM (the ``sim`` extra); parameters, the builder
and the PSF writer are plain NumPy.

Examples
--------
>>> from trajml.sim import SimulationParameters
>>> p = SimulationParameters(n_chains=8, chain_length=20, eo_li_ratio=10)
>>> p.n_li, p.n_beads
(8, 176)
"""

from trajml.sim.allatom_builder import AllAtomTopology, build_allatom
from trajml.sim.allatom_forcefield import forcefield_path
from trajml.sim.allatom_parameters import AllAtomParameters
from trajml.sim.allatom_run import simulate_allatom
from trajml.sim.builder import SPETopology, build_topology, initial_positions
from trajml.sim.hopping import HoppingSystem, hopping_system
from trajml.sim.parameters import UNIT_MAPPING, SimulationParameters
from trajml.sim.psf import write_psf
from trajml.sim.run import SimulationResult, simulate

__all__ = [
    "SimulationParameters",
    "SimulationResult",
    "simulate",
    "UNIT_MAPPING",
    "SPETopology",
    "build_topology",
    "initial_positions",
    "write_psf",
    "HoppingSystem",
    "hopping_system",
    "AllAtomParameters",
    "AllAtomTopology",
    "build_allatom",
    "simulate_allatom",
    "forcefield_path",
]
