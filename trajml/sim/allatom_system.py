"""The OpenMM system of the all-atom PEO/LiTFSI model: the bundled XML plus OPLS combining rules.

OpenMM's ``ForceField`` assigns types, bonds, angles and torsions from the XML. Its ``NonbondedForce``
would mix Lennard-Jones parameters with the Lorentz–Berthelot rule, while OPLS-AA and CL&P use geometric
means, so :func:`build_allatom_system` rebuilds the nonbonded part:

* ``NonbondedForce`` (group :data:`GROUP_COULOMB`): charges only (ion charges times ``charge_scale``),
  PME when periodic; every 1–2, 1–3 and 1–4 pair excluded;
* ``CustomNonbondedForce`` (group :data:`GROUP_LJ`): 4 ε_ij ((σ_ij/r)¹² − (σ_ij/r)⁶) with
  σ_ij = √(σ_i σ_j), ε_ij = √(ε_i ε_j), plain cut-off with the long-range dispersion correction when
  periodic, the same exclusions;
* ``CustomBondForce`` (group :data:`GROUP_PAIRS14`): the 1–4 pairs, 0.5 × the geometric LJ plus
  0.5 × q_i q_j / (4π ε0 r).

Bonded terms: group :data:`GROUP_BONDS` (harmonic bonds), :data:`GROUP_ANGLES`, :data:`GROUP_TORSIONS`
(RB for PEO, periodic for TFSI). OpenMM works in nm; this module converts from Å. openmm is imported only
inside functions, through :func:`trajml.errors.require_extra`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trajml.errors import require_extra
from trajml.sim.allatom_builder import AllAtomTopology
from trajml.sim.allatom_forcefield import atom_type_table, forcefield_path

__all__ = [
    "build_allatom_system",
    "openmm_topology",
    "GROUP_BONDS",
    "GROUP_ANGLES",
    "GROUP_TORSIONS",
    "GROUP_COULOMB",
    "GROUP_LJ",
    "GROUP_PAIRS14",
    "SCALE_14",
]

GROUP_BONDS, GROUP_ANGLES, GROUP_TORSIONS, GROUP_COULOMB, GROUP_LJ, GROUP_PAIRS14 = 0, 1, 2, 3, 4, 5
#: Scaling of the 1–4 Lennard-Jones and Coulomb terms (OPLS-AA and CL&P).
SCALE_14: float = 0.5
#: 1/(4π ε0) in kJ/mol · nm / e².
_KE_NM = 138.935457644382
_NM = 0.1  # Å → nm
_GROUP_OTHER = 6  # the centre-of-mass motion remover
_BONDED_GROUPS = {"HarmonicBondForce": GROUP_BONDS, "HarmonicAngleForce": GROUP_ANGLES,
                  "RBTorsionForce": GROUP_TORSIONS, "PeriodicTorsionForce": GROUP_TORSIONS}


def _plain(value: Any) -> float:
    """A number from an OpenMM Quantity (in OpenMM's default units) or a float."""
    return float(getattr(value, "_value", value))


def _modules() -> tuple[Any, Any]:
    mm = require_extra("openmm", "sim", "trajml simulate --model all-atom")
    app = require_extra("openmm.app", "sim", "trajml simulate --model all-atom")
    return mm, app


def openmm_topology(topology: AllAtomTopology, box_length: float | None = None) -> Any:
    """An ``openmm.app.Topology`` with one chain per molecule and the XML's template residues.

    Parameters
    ----------
    topology : AllAtomTopology
    box_length : float, optional
        Cubic box edge in Å; None for a non-periodic topology.
    """
    mm, app = _modules()
    omm = app.Topology()
    atoms: list[Any] = [None] * topology.n_atoms
    chain = None
    last_resid = -1
    for name, idx in topology.templates:
        resid = int(topology.resids[idx[0]])
        if resid != last_resid:
            chain = omm.addChain()
            last_resid = resid
        residue = omm.addResidue(name, chain)
        for i in idx:
            element = app.Element.getBySymbol(str(topology.elements[i]))
            atoms[int(i)] = omm.addAtom(str(topology.names[i]), element, residue)
    for i, j in topology.bonds:
        omm.addBond(atoms[int(i)], atoms[int(j)])
    if box_length is not None:
        omm.setPeriodicBoxVectors(np.eye(3) * box_length * _NM)
    return omm


def build_allatom_system(topology: AllAtomTopology, *, cutoff: float = 10.0, periodic: bool = True,
                         constrain_h_bonds: bool = True, hydrogen_mass: float | None = None) -> Any:
    """The all-atom model as an ``openmm.System``.

    Parameters
    ----------
    topology : AllAtomTopology
        Charges are taken from ``topology.charges`` (already scaled).
    cutoff : float
        Real-space cut-off of PME and Lennard-Jones in Å (periodic systems only).
    periodic : bool
        PME and periodic cut-offs in the start box when True; no cut-off at all when False (small test
        fragments).
    constrain_h_bonds : bool
        Constrain bonds to hydrogen (their harmonic terms are then left out, as OpenMM does).
    hydrogen_mass : float or None
        Mass in amu given to every H, taken from its bonded heavy atom (hydrogen mass repartitioning);
        None keeps the force-field masses.

    Returns
    -------
    openmm.System

    Raises
    ------
    ValueError
        If the cut-off is not below half the box.
    """
    mm, app = _modules()
    box = topology.box_length if periodic else None
    if periodic and 2.0 * cutoff >= topology.box_length:
        raise ValueError(
            f"The 'cutoff' parameter of simulate must be below half the {topology.box_length:.3g} Å box. "
            f"Got {cutoff!r} instead; lower it or raise the system size ('n_chains', 'eo_units')."
        )
    ff = app.ForceField(forcefield_path())
    system = ff.createSystem(
        openmm_topology(topology, box),
        nonbondedMethod=app.PME if periodic else app.NoCutoff,
        nonbondedCutoff=cutoff * _NM,
        constraints=app.HBonds if constrain_h_bonds else None,
        removeCMMotion=True,
        hydrogenMass=hydrogen_mass,  # amu; OpenMM reads a plain number as daltons
    )
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    table = atom_type_table()
    sig = np.array([table[t].sigma for t in topology.types]) * _NM
    eps = np.array([table[t].epsilon for t in topology.types])
    q = np.asarray(topology.charges, dtype=np.float64)
    for i in range(topology.n_atoms):
        nb.setParticleParameters(i, float(q[i]), 1.0, 0.0)

    lj = mm.CustomNonbondedForce("4*e*((s/r)^12 - (s/r)^6); s = sqrt(s1*s2); e = sqrt(e1*e2)")
    lj.addPerParticleParameter("s")
    lj.addPerParticleParameter("e")
    for i in range(topology.n_atoms):
        lj.addParticle([float(sig[i]), float(eps[i])])
    pairs = mm.CustomBondForce(f"{SCALE_14}*(4*e*((s/r)^12 - (s/r)^6) + ke*qq/r)")
    pairs.addGlobalParameter("ke", _KE_NM)
    for name in ("s", "e", "qq"):
        pairs.addPerBondParameter(name)
    for k in range(nb.getNumExceptions()):
        i, j, qq, _, e14 = nb.getExceptionParameters(k)
        lj.addExclusion(i, j)
        nb.setExceptionParameters(k, i, j, 0.0, 1.0, 0.0)
        if _plain(qq) != 0.0 or _plain(e14) != 0.0:  # OpenMM kept these as the (scaled) 1-4 pairs
            pairs.addBond(i, j, [float(np.sqrt(sig[i] * sig[j])), float(np.sqrt(eps[i] * eps[j])), float(q[i] * q[j])])
    if periodic:
        lj.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
        lj.setCutoffDistance(cutoff * _NM)
        lj.setUseLongRangeCorrection(True)
        pairs.setUsesPeriodicBoundaryConditions(True)
    else:
        lj.setNonbondedMethod(mm.CustomNonbondedForce.NoCutoff)
    nb.setUseDispersionCorrection(False)
    for force in system.getForces():
        force.setForceGroup(GROUP_COULOMB if isinstance(force, mm.NonbondedForce)
                            else _BONDED_GROUPS.get(type(force).__name__, _GROUP_OTHER))
    lj.setForceGroup(GROUP_LJ)
    pairs.setForceGroup(GROUP_PAIRS14)
    system.addForce(lj)
    system.addForce(pairs)
    return system
