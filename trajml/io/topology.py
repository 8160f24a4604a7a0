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
            raise ValueError("The 'by' parameter of species_counts must be 'names', 'types' or 'resnames'. "
                             f"Got {by!r} instead.")
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
            molecules=_molecule_ids(universe),
        )


def _molecule_ids(universe: Any) -> np.ndarray:
    """Bonded fragments when the topology has bonds, else residue indices (0-based, int64).

    Fragments are the connected components of the bond graph, numbered in the order of their first
    atom: MDAnalysis' ``fragindices``, which builds them in Python (0.24 s at 51 200 atoms, against
    0.02 s for the sparse-graph labelling; every ``open_source`` pays it).
    """
    try:
        pairs = np.asarray(universe.bonds.indices, dtype=np.int64).reshape(-1, 2)
    except AttributeError:  # no bonds in the topology (MDAnalysis' NoDataError)
        pairs = np.empty((0, 2), dtype=np.int64)
    if len(pairs) == 0:
        return np.asarray(universe.atoms.resindices, dtype=np.int64)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(universe.atoms)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    # undirected labelling visits atoms in index order: component k is the k-th by its first atom
    return np.asarray(connected_components(graph, directed=False)[1], dtype=np.int64)
