"""Atoms, bonds and a starting geometry of each all-atom molecule: a PEO chain, Li⁺ and TFSI⁻ (NumPy only).

A molecule is a :class:`Molecule`: per-atom names, force-field types and OpenMM template residues, bonds,
and coordinates in Å. Geometries come from internal coordinates (bond lengths and angles near the force
field's minima, chosen dihedrals) placed with the natural-extension reference frame (NeRF); minimisation
relaxes them. The PEO chain is CH3–O–(CH2–CH2–O)n–CH3: ``n`` repeat units and ``n + 1`` ether oxygens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Molecule", "peo_chain", "tfsi", "lithium", "place_atom"]

_TETRA = np.deg2rad(109.5)
_C_O, _C_C, _C_H = 1.41, 1.529, 1.09  # Å, OPLS-AA equilibrium lengths


@dataclass(frozen=True, eq=False)
class Molecule:
    """One molecule's atoms.

    Attributes
    ----------
    names : ndarray of str, shape (n,)
        Atom names written to the PSF (``CM``, ``C``, ``OE``, ``H`` for PEO; ``NT``, ``S``, ``OT``, ``CF``,
        ``F`` for TFSI; ``LI``).
    types : ndarray of str, shape (n,)
        Force-field atom types (the XML's ``Type`` names).
    elements : ndarray of str, shape (n,)
        Element symbols.
    template_residues : ndarray of int, shape (n,)
        Index of the OpenMM template residue each atom belongs to (0-based within the molecule).
    template_names : tuple of str
        Name of each template residue (``PEH``/``PEM``/``PET``, ``LI``, ``TFSI``).
    bonds : ndarray of int, shape (B, 2)
        0-based atom indices within the molecule.
    positions : ndarray, shape (n, 3)
        Coordinates in Å.
    resname : str
        Residue name in the PSF (``PEO``, ``LI``, ``TFSI``).
    """

    names: np.ndarray
    types: np.ndarray
    elements: np.ndarray
    template_residues: np.ndarray
    template_names: tuple[str, ...]
    bonds: np.ndarray
    positions: np.ndarray
    resname: str

    @property
    def n_atoms(self) -> int:
        """int: number of atoms."""
        return int(self.names.shape[0])


def place_atom(a: np.ndarray, b: np.ndarray, c: np.ndarray, length: float, angle: float, dihedral: float) -> np.ndarray:
    """Position of atom d with |cd| = ``length`` (Å), angle b–c–d = ``angle`` and dihedral a–b–c–d = ``dihedral``
    (rad)."""
    bc = c - b
    bc /= np.linalg.norm(bc)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    d = np.array([-length * np.cos(angle), length * np.sin(angle) * np.cos(dihedral),
                  length * np.sin(angle) * np.sin(dihedral)])
    return c + d[0] * bc + d[1] * m + d[2] * n


def _backbone(n_units: int, rng: np.random.Generator, box: float | None, min_gap: float = 3.0) -> np.ndarray:
    """Heavy atoms CM O (C C O)*n CM as a random trans/gauche walk that keeps atoms >= ``min_gap`` Å apart."""
    n_heavy = 3 * n_units + 3
    lengths = np.full(n_heavy, _C_O)
    # bond k joins atom k-1 and k; C-C bonds are the first bond of each repeat unit (atoms 2+3j -> 3+3j).
    for j in range(n_units):
        lengths[3 + 3 * j] = _C_C
    pos = np.zeros((n_heavy, 3))
    pos[1] = [lengths[1], 0.0, 0.0]
    pos[2] = pos[1] + lengths[2] * np.array([-np.cos(_TETRA), np.sin(_TETRA), 0.0])
    choices = np.deg2rad([180.0, 60.0, -60.0])
    for k in range(3, n_heavy):
        for attempt in range(60):
            phi = choices[rng.choice(3, p=[0.6, 0.2, 0.2])] if attempt < 50 else rng.uniform(-np.pi, np.pi)
            trial = place_atom(pos[k - 3], pos[k - 2], pos[k - 1], lengths[k], _TETRA, phi)
            d = pos[: k - 3] - trial
            if box is not None:
                d -= box * np.round(d / box)
            if k < 4 or np.min(np.einsum("ij,ij->i", d, d)) >= min_gap**2:
                break
        pos[k] = trial
    return pos


def peo_chain(n_units: int, rng: np.random.Generator, box: float | None = None) -> Molecule:
    """A CH3–O–(CH2–CH2–O)``n_units``–CH3 chain with a random trans/gauche backbone (``n_units`` >= 0).

    Parameters
    ----------
    n_units : int
        Number of CH2–CH2–O repeat units; the chain has ``n_units + 1`` ether oxygens.
    rng : numpy.random.Generator
        Source of the backbone dihedrals.
    box : float, optional
        Cubic box edge in Å; when given, the self-avoidance test uses minimum images.
    """
    heavy = _backbone(n_units, rng, box)
    n_heavy = heavy.shape[0]
    names, types, elements, residues, positions, bonds = [], [], [], [], [], []
    heavy_index: list[int] = []
    last_res = n_units + 1

    def add(name: str, typ: str, element: str, residue: int, xyz: np.ndarray) -> int:
        names.append(name)
        types.append(typ)
        elements.append(element)
        residues.append(residue)
        positions.append(xyz)
        return len(names) - 1

    for k in range(n_heavy):
        is_o = k % 3 == 1
        residue = 0 if k <= 1 else last_res if k == n_heavy - 1 else 1 + (k - 2) // 3
        if is_o:
            idx = add("OE", "OS", "O", residue, heavy[k])
        else:
            methyl = k in (0, n_heavy - 1)
            idx = add("CM" if methyl else "C", "CT3" if methyl else "CT2", "C", residue, heavy[k])
        heavy_index.append(idx)
        if k:
            bonds.append((heavy_index[k - 1], idx))
        if is_o:
            continue
        # Hydrogens, tetrahedral around the carbon: reference frame from two backbone neighbours.
        if k == 0:
            a, b, dihedrals = heavy[2], heavy[1], (180.0, 60.0, -60.0)
        elif k == n_heavy - 1:
            a, b, dihedrals = heavy[k - 2], heavy[k - 1], (180.0, 60.0, -60.0)
        else:
            a, b, dihedrals = heavy[k + 1], heavy[k - 1], (120.0, -120.0)
        for dih in dihedrals:
            h = add("H", "HC", "H", residue, place_atom(a, b, heavy[k], _C_H, _TETRA, np.deg2rad(dih)))
            bonds.append((idx, h))
    template_names = ("PEH",) + ("PEM",) * n_units + ("PET",)
    return Molecule(
        names=np.array(names), types=np.array(types), elements=np.array(elements),
        template_residues=np.array(residues, dtype=np.int64), template_names=template_names,
        bonds=np.array(bonds, dtype=np.int64), positions=np.array(positions), resname="PEO",
    )


def tfsi() -> Molecule:
    """One TFSI⁻ anion, (CF3SO2)2N⁻, near the CL&P equilibrium geometry (trans, C–S–N–S ≈ ±90°)."""
    deg = np.deg2rad
    n = np.zeros(3)
    s1 = np.array([1.570, 0.0, 0.0])
    s2 = 1.570 * np.array([np.cos(deg(125.6)), np.sin(deg(125.6)), 0.0])
    c1 = place_atom(s2, n, s1, 1.818, deg(103.5), deg(90.0))
    c2 = place_atom(s1, n, s2, 1.818, deg(103.5), deg(90.0))
    o = [place_atom(s2, n, s1, 1.437, deg(113.6), deg(d)) for d in (-30.0, -150.0)]
    o += [place_atom(s1, n, s2, 1.437, deg(113.6), deg(d)) for d in (-30.0, -150.0)]
    f = [place_atom(n, s1, c1, 1.323, deg(111.7), deg(d)) for d in (180.0, 60.0, -60.0)]
    f += [place_atom(n, s2, c2, 1.323, deg(111.7), deg(d)) for d in (180.0, 60.0, -60.0)]
    xyz = np.array([n, s1, s2, *o, c1, c2, *f])
    names = np.array(["NT", "S", "S", "OT", "OT", "OT", "OT", "CF", "CF", "F", "F", "F", "F", "F", "F"])
    types = np.array(["NBT", "SBT", "SBT", "OBT", "OBT", "OBT", "OBT", "CBT", "CBT",
                      "F1", "F1", "F1", "F1", "F1", "F1"])
    elements = np.array(["N", "S", "S", "O", "O", "O", "O", "C", "C", "F", "F", "F", "F", "F", "F"])
    bonds = np.array([(0, 1), (0, 2), (1, 3), (1, 4), (2, 5), (2, 6), (1, 7), (2, 8),
                      (7, 9), (7, 10), (7, 11), (8, 12), (8, 13), (8, 14)], dtype=np.int64)
    return Molecule(names=names, types=types, elements=elements, template_residues=np.zeros(15, dtype=np.int64),
                    template_names=("TFSI",), bonds=bonds, positions=xyz - xyz.mean(axis=0), resname="TFSI")


def lithium() -> Molecule:
    """One Li⁺ ion at the origin."""
    return Molecule(names=np.array(["LI"]), types=np.array(["Li"]), elements=np.array(["Li"]),
                    template_residues=np.zeros(1, dtype=np.int64), template_names=("LI",),
                    bonds=np.zeros((0, 2), dtype=np.int64), positions=np.zeros((1, 3)), resname="LI")
