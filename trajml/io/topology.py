"""Per-atom topology tables, independent of any reader library."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["AtomTable"]


@dataclass(frozen=True, eq=False)
class AtomTable:
    """Per-atom attributes of a topology, as plain arrays.

    Attributes
    ----------
    names : ndarray, shape (N,), str
        Atom (bead) names.
    types : ndarray, shape (N,), str
        Atom types; numeric LAMMPS types appear as their mapped names when a type map is given.
    resids : ndarray, shape (N,), int64
        Residue ids; for coarse-grained polymers and LAMMPS data files this is the molecule id.
    resnames : ndarray, shape (N,), str
        Residue names ("" when the topology has none).
    charges : ndarray, shape (N,), float64, or None
        Partial charges in e; None when the topology carries none.
    masses : ndarray, shape (N,), float64, or None
        Masses in amu; None when the topology carries none.
    resindices : ndarray, shape (N,), int64
        0-based residue indices (unique per residue even where ``resids``
        repeat across segments or chains).
    molecules : ndarray, shape (N,), int64
        0-based molecule ids: bonded fragments when the topology has bonds,
        else residue indices (a coarse-grained chain without bonds in its
        topology is one residue in the formats trajml writes).
    """

    names: np.ndarray
    types: np.ndarray
    resids: np.ndarray
    resnames: np.ndarray
    charges: np.ndarray | None
    masses: np.ndarray | None
    resindices: np.ndarray
    molecules: np.ndarray

    @property
    def n_atoms(self) -> int:
        """int: number of atoms."""
        return int(self.names.shape[0])

    def species_counts(self, by: str = "names") -> dict[str, int]:
        """Count atoms per species.

        Parameters
        ----------
        by : {"names", "types", "resnames"}
            Which attribute defines a species.

        Returns
        -------
        dict of str to int
            Species label to number of atoms, in order of first appearance.
        """
        if by not in ("names", "types", "resnames"):
            raise ValueError(f"The 'by' parameter of species_counts must be 'names', 'types' or 'resnames'. Got {by!r} instead.")
        labels = getattr(self, by)
        uniq, first, counts = np.unique(labels, return_index=True, return_counts=True)
        order = np.argsort(first)
        return {str(uniq[i]): int(counts[i]) for i in order}

    @classmethod
    def from_universe(cls, universe: Any) -> "AtomTable":
        """Build the table from an MDAnalysis Universe."""
        atoms = universe.atoms
        n = len(atoms)

        def attr(name: str, default: Any, dtype: Any) -> np.ndarray | None:
            try:
                return np.asarray(getattr(atoms, name), dtype=dtype)
            except Exception:  # MDAnalysis raises NoDataError (an AttributeError/ValueError) per attribute
                return None if default is None else np.full(n, default, dtype=dtype)

        names = attr("names", "", object)
        types = attr("types", "", object)
        if names is not None and np.all(names == ""):
            names = types
        return cls(
            names=np.asarray(names, dtype=str),
            types=np.asarray(types, dtype=str),
            resids=attr("resids", 0, np.int64),
            resnames=np.asarray(attr("resnames", "", object), dtype=str),
            charges=attr("charges", None, np.float64),
            masses=attr("masses", None, np.float64),
            resindices=np.asarray(atoms.resindices, dtype=np.int64),
            molecules=_molecule_ids(atoms),
        )


def _molecule_ids(atoms: Any) -> np.ndarray:
    """Bonded fragments when the topology has bonds, else residue indices (0-based, int64)."""
    has_bonds = hasattr(atoms, "bonds") and len(atoms.bonds) > 0
    ids = atoms.fragindices if has_bonds else atoms.resindices
    return np.asarray(ids, dtype=np.int64)
