"""Energies of the all-atom model against brute-force NumPy sums built from the XML by the test itself.

The oracle reads sigma, epsilon, charges and bond parameters straight from the force-field file with
ElementTree, finds 1-2/1-3/1-4 pairs by a breadth-first search over the bonds, and sums each term in
NumPy; OpenMM evaluates the same system per force group.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import deque

import numpy as np
import pytest

from trajml.sim.allatom_builder import build_allatom
from trajml.sim.allatom_forcefield import forcefield_path
from trajml.sim.allatom_parameters import AllAtomParameters

KE = 138.935457644382  # kJ/mol nm / e^2
# 1 chain CH3-O-CH2-CH2-O-CH3 (eo_units = 1, two ether O) + 1 Li + 1 TFSI = 31 atoms.
TINY = dict(n_chains=1, eo_units=1, eo_li_ratio=2.0, initial_density=0.05, seed=3)


def _xml():
    root = ET.parse(forcefield_path()).getroot()
    lj = {a.get("type"): (float(a.get("sigma")), float(a.get("epsilon")))
          for a in root.find("NonbondedForce").iter("Atom")}
    charge = {a.get("type"): float(a.get("charge")) for a in root.iter("Atom") if a.get("charge") is not None}
    klass = {t.get("name"): t.get("class") for t in root.find("AtomTypes")}
    bonds = {frozenset((b.get("class1"), b.get("class2"))): (float(b.get("length")), float(b.get("k")))
             for b in root.find("HarmonicBondForce")}
    return lj, charge, klass, bonds


def _separations(n: int, bonds: np.ndarray) -> np.ndarray:
    """Bond-count distance between every pair (large when unconnected)."""
    adj = [[] for _ in range(n)]
    for i, j in bonds:
        adj[i].append(j)
        adj[j].append(i)
    sep = np.full((n, n), 99, dtype=int)
    for s in range(n):
        sep[s, s] = 0
        queue = deque([s])
        while queue:
            a = queue.popleft()
            for b in adj[a]:
                if sep[s, b] == 99:
                    sep[s, b] = sep[s, a] + 1
                    queue.append(b)
    return sep


@pytest.fixture(scope="module")
def fragment():
    mm = pytest.importorskip("openmm")
    from trajml.sim.allatom_system import build_allatom_system

    params = AllAtomParameters(**TINY)
    top, pos = build_allatom(params)
    system = build_allatom_system(top, periodic=False, constrain_h_bonds=False)
    context = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    context.setPositions(pos * 0.1)

    def group_energy(group: int) -> float:
        return context.getState(getEnergy=True, groups={group}).getPotentialEnergy()._value

    return params, top, pos * 0.1, group_energy


def test_fragment_charges_are_scaled_ions_and_neutral_total(fragment):
    params, top, _, _ = fragment
    _, charge, _, _ = _xml()
    li = top.resnames == "LI"
    tfsi = top.resnames == "TFSI"
    assert np.sum(top.charges[li]) == pytest.approx(0.8 * 1.0, abs=1e-12)
    assert np.sum(top.charges[tfsi]) == pytest.approx(0.8 * -1.0, abs=1e-12)
    assert np.sum(top.charges) == pytest.approx(0.0, abs=1e-12)
    peo = top.resnames == "PEO"
    np.testing.assert_allclose(top.charges[peo], [charge[t] for t in top.types[peo]])
    np.testing.assert_allclose(top.charges[tfsi], [0.8 * charge[t] for t in top.types[tfsi]])


def test_lennard_jones_coulomb_and_14_groups_match_brute_force(fragment):
    from trajml.sim.allatom_system import GROUP_COULOMB, GROUP_LJ, GROUP_PAIRS14

    _, top, x, group_energy = fragment
    lj, charge, _, _ = _xml()
    n = top.n_atoms
    sig = np.array([lj[t][0] for t in top.types])
    eps = np.array([lj[t][1] for t in top.types])
    scale = np.where(np.isin(top.resnames, ["LI", "TFSI"]), 0.8, 1.0)
    q = np.array([charge[t] for t in top.types]) * scale
    sep = _separations(n, top.bonds)
    i, j = np.triu_indices(n, 1)
    r = np.linalg.norm(x[i] - x[j], axis=1)
    s = np.sqrt(sig[i] * sig[j])
    e = np.sqrt(eps[i] * eps[j])
    u_lj = 4 * e * ((s / r) ** 12 - (s / r) ** 6)
    u_c = KE * q[i] * q[j] / r
    far = sep[i, j] > 3
    one4 = sep[i, j] == 3
    assert np.sum(one4) > 0
    assert group_energy(GROUP_LJ) == pytest.approx(np.sum(u_lj[far]), rel=1e-6, abs=1e-6)
    assert group_energy(GROUP_COULOMB) == pytest.approx(np.sum(u_c[far]), rel=1e-6, abs=1e-6)
    assert group_energy(GROUP_PAIRS14) == pytest.approx(0.5 * np.sum(u_lj[one4] + u_c[one4]), rel=1e-6, abs=1e-6)


def test_one_li_ether_oxygen_pair_uses_geometric_mixing():
    """Hand value: Li (2.126 Å, 0.07648 kJ/mol, CL&P) with ether O (2.90 Å, 0.58576 kJ/mol, OPLS-AA) at 2.2 Å."""
    mm = pytest.importorskip("openmm")
    from trajml.sim.allatom_system import GROUP_LJ, build_allatom_system

    top, pos = build_allatom(AllAtomParameters(**TINY))
    o = int(np.flatnonzero(top.types == "OS")[0])
    li = int(np.flatnonzero(top.resnames == "LI")[0])
    system = build_allatom_system(top, periodic=False, constrain_h_bonds=False)
    lj = system.getForce([k for k in range(system.getNumForces()) if system.getForce(k).getForceGroup() == GROUP_LJ][0])
    lj.addInteractionGroup([li], [o])
    context = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    x = pos.copy()
    x[li] = x[o] + np.array([2.2, 0.0, 0.0])
    context.setPositions(x * 0.1)
    got = context.getState(getEnergy=True, groups={GROUP_LJ}).getPotentialEnergy()._value
    s = math.sqrt(0.2126 * 0.290)
    e = math.sqrt(0.07648 * 0.58576)
    assert got == pytest.approx(4 * e * ((s / 0.22) ** 12 - (s / 0.22) ** 6), rel=1e-6)


def test_bond_group_matches_harmonic_sum(fragment):
    from trajml.sim.allatom_system import GROUP_BONDS

    _, top, x, group_energy = fragment
    _, _, klass, bonds = _xml()
    total = 0.0
    for i, j in top.bonds:
        r0, k = bonds[frozenset((klass[top.types[i]], klass[top.types[j]]))]
        total += 0.5 * k * (np.linalg.norm(x[i] - x[j]) - r0) ** 2
    assert group_energy(GROUP_BONDS) == pytest.approx(total, rel=1e-6)


def test_every_proper_dihedral_has_a_torsion_term(fragment):
    """A torsion class missing from the XML would be dropped silently by OpenMM; count them."""
    from trajml.sim.allatom_system import build_allatom_system

    _, top, _, _ = fragment
    sep = _separations(top.n_atoms, top.bonds)
    adj = [set(np.flatnonzero(sep[a] == 1)) for a in range(top.n_atoms)]
    n_dihedrals = sum(len(adj[b] - {c}) * len(adj[c] - {b}) for b, c in top.bonds)
    system = build_allatom_system(top, periodic=False, constrain_h_bonds=False)
    n_terms = 0
    for force in system.getForces():
        if type(force).__name__ == "RBTorsionForce":
            n_terms += force.getNumTorsions()
        elif type(force).__name__ == "PeriodicTorsionForce":
            # One periodic term per (dihedral, periodicity): count distinct atom quadruples.
            n_terms += len({tuple(force.getTorsionParameters(k)[:4]) for k in range(force.getNumTorsions())})
    assert n_terms == n_dihedrals
