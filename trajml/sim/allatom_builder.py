"""An all-atom PEO/LiTFSI system: per-atom arrays and a random start without overlaps (NumPy only).

Atom order: the chains one after another, then every TFSI⁻, then every Li⁺. Each chain and each ion is
one PSF residue (molecule), ``resids`` 1, 2, … in that order; resnames ``PEO``, ``TFSI``, ``LI``.

The start is built at low density (``initial_density``): each chain grows as a self-avoiding trans/gauche
random walk (heavy atoms >= 3 Å apart), then every molecule is put at a random place with a random
orientation and redrawn while any of its atoms comes within :data:`MIN_GAP` of an atom already
placed (minimum images). Coordinates are not wrapped: molecules stay whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajml.sim.allatom_forcefield import ION_RESIDUES, atom_type_table
from trajml.sim.allatom_molecules import Molecule, lithium, peo_chain, tfsi
from trajml.sim.allatom_parameters import AllAtomParameters

__all__ = ["AllAtomTopology", "build_allatom", "MIN_GAP"]

#: Smallest distance in Å between atoms of different molecules in the start configuration.
MIN_GAP: float = 2.2
_MAX_TRIES = 5000
_CHAIN_REDRAWS = 5  # new shapes tried for a chain that finds no room
_REDRAW_TRIES = 1000  # places tried for each new shape (an impossible density fails fast)


@dataclass(frozen=True, eq=False)
class AllAtomTopology:
    """Per-atom arrays of an all-atom system.

    Attributes
    ----------
    names, types, elements, resnames, segids : ndarray of str, shape (N,)
        Atom names, force-field types, element symbols, residue names (``PEO``, ``TFSI``, ``LI``) and
        segment ids (the resname).
    resids : ndarray of int64, shape (N,)
        Molecule number, 1-based.
    charges : ndarray, shape (N,)
        Charges in e as simulated (ion charges times ``charge_scale``).
    formal_charges : ndarray, shape (N,)
        The force field's unscaled charges in e.
    masses : ndarray, shape (N,)
        Masses in amu.
    bonds : ndarray of int64, shape (B, 2)
        0-based atom indices.
    templates : list of (str, ndarray)
        OpenMM template residues in order: name and 0-based atom indices.
    box_length : float
        Edge of the cubic start box in Å.
    """

    names: np.ndarray
    types: np.ndarray
    elements: np.ndarray
    resnames: np.ndarray
    segids: np.ndarray
    resids: np.ndarray
    charges: np.ndarray
    formal_charges: np.ndarray
    masses: np.ndarray
    bonds: np.ndarray
    templates: list[tuple[str, np.ndarray]]
    box_length: float

    @property
    def n_atoms(self) -> int:
        """int: number of atoms N."""
        return int(self.names.shape[0])

    def counts(self) -> dict[str, int]:
        """dict: number of molecules of each resname."""
        first = np.r_[True, self.resids[1:] != self.resids[:-1]]
        names, counts = np.unique(self.resnames[first], return_counts=True)
        return {str(n): int(c) for n, c in zip(names, counts)}


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1.0
    return q


def _place(placed: np.ndarray, xyz: np.ndarray, box: float, rng: np.random.Generator, rotate: bool,
           label: str, tries: int = _MAX_TRIES) -> np.ndarray:
    """Translate (and rotate) ``xyz`` to a random place at least MIN_GAP from every atom of ``placed``."""
    centred = xyz - xyz.mean(axis=0)
    for _ in range(tries):
        trial = (centred @ _random_rotation(rng).T if rotate else centred) + rng.uniform(0.0, box, size=3)
        if placed.shape[0] == 0:
            return trial
        # Minimum-image distances from every new atom to every placed one (a few thousand atoms: cheap).
        d = placed[:, None, :] - trial[None, :, :]
        d -= box * np.round(d / box)
        if np.min(np.einsum("ijk,ijk->ij", d, d)) >= MIN_GAP**2:
            return trial
    raise ValueError(
        f"Could not place {label} without overlaps after {tries} tries; lower 'initial_density' "
        "or use fewer or shorter chains ('n_chains', 'eo_units')."
    )


def _redrawn_chain(placed: np.ndarray, params: AllAtomParameters, box: float, m_index: int,
                   label: str) -> tuple[Molecule, np.ndarray]:
    """Place chain ``m_index`` with new random-walk shapes, from an RNG stream of its own."""
    for attempt in range(_CHAIN_REDRAWS):
        rng = np.random.default_rng([params.seed, m_index, attempt])
        mol = peo_chain(params.eo_units, rng, box)
        try:
            return mol, _place(placed, mol.positions, box, rng, rotate=True, label=label, tries=_REDRAW_TRIES)
        except ValueError:
            continue
    raise ValueError(
        f"Could not place {label} without overlaps with {_CHAIN_REDRAWS + 1} chain shapes ({_MAX_TRIES} tries for "
        f"the first, {_REDRAW_TRIES} for each other; seed {params.seed}); lower 'initial_density' (got "
        f"{params.initial_density:g} g/cm³), try another 'seed', or use fewer or shorter chains "
        "('n_chains', 'eo_units')."
    )


def build_allatom(params: AllAtomParameters) -> tuple[AllAtomTopology, np.ndarray]:
    """Build the per-atom arrays and a start configuration of the system ``params`` describes.

    Parameters
    ----------
    params : AllAtomParameters

    Returns
    -------
    topology : AllAtomTopology
    positions : ndarray, shape (N, 3)
        Start coordinates in Å (molecules whole, not wrapped).

    Raises
    ------
    ValueError
        If a molecule cannot be placed without overlaps.
    """
    rng = np.random.default_rng(params.seed)
    box = params.initial_box_length
    table = atom_type_table()
    molecules: list[Molecule] = [peo_chain(params.eo_units, rng, box) for _ in range(params.n_chains)]
    molecules += [tfsi() for _ in range(params.n_anions)] + [lithium() for _ in range(params.n_li)]

    positions = np.zeros((0, 3))
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("names", "types", "elements", "resnames", "resids")}
    bonds, templates = [], []
    offset = 0
    for m_index, mol in enumerate(molecules):
        label = f"molecule {m_index + 1} ({mol.resname})"
        try:
            xyz = _place(positions, mol.positions, box, rng, rotate=True, label=label)
        except ValueError:
            if m_index >= params.n_chains:
                raise
            # A stretched random-walk chain may find no free room late in the filling: redraw its shape
            # from a stream of its own, so the seeds that place every chain first time build as before.
            mol, xyz = _redrawn_chain(positions, params, box, m_index, label)
        positions = np.concatenate([positions, xyz])
        cols["names"].append(mol.names)
        cols["types"].append(mol.types)
        cols["elements"].append(mol.elements)
        cols["resnames"].append(np.full(mol.n_atoms, mol.resname))
        cols["resids"].append(np.full(mol.n_atoms, m_index + 1, dtype=np.int64))
        bonds.append(mol.bonds + offset)
        for r, name in enumerate(mol.template_names):
            templates.append((name, offset + np.flatnonzero(mol.template_residues == r)))
        offset += mol.n_atoms

    names = np.concatenate(cols["names"])
    types = np.concatenate(cols["types"])
    resnames = np.concatenate(cols["resnames"])
    formal = np.array([table[t].charge for t in types])
    scale = np.where(np.isin(resnames, ION_RESIDUES), float(params.charge_scale), 1.0)
    topology = AllAtomTopology(
        names=names, types=types, elements=np.concatenate(cols["elements"]), resnames=resnames,
        segids=resnames.copy(), resids=np.concatenate(cols["resids"]), charges=formal * scale,
        formal_charges=formal, masses=np.array([table[t].mass for t in types]),
        bonds=np.concatenate(bonds).astype(np.int64), templates=templates, box_length=box,
    )
    return topology, positions
