"""Selections against a Source's topology: topology indices, molecules, species, short descriptions.

Everything here runs on the driver (when an analysis is bound to a source) or on plain arrays;
nothing holds a file open, so analyses built with these helpers stay picklable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["resolve_atoms", "union_positions", "molecule_ids", "species_codes", "describe_selection"]


def describe_selection(selection: Any) -> Any:
    """A JSON-friendly, short description of a selection (string as is, arrays as lists)."""
    if isinstance(selection, str) or selection is None:
        return selection
    return np.asarray(selection).tolist()


def resolve_atoms(source: Any, selection: Any, name: str, owner: str) -> np.ndarray:
    """Turn a selection string or an index array into topology indices.

    Parameters
    ----------
    source : trajml.io.Source
        The source whose topology resolves strings (:meth:`~trajml.io.Source.select`).
    selection : str or array_like of int
        MDAnalysis selection string, or topology indices (0-based, unique).
    name, owner : str
        Parameter and class names, for error messages.

    Returns
    -------
    ndarray, shape (K,), int64
        Topology indices: sorted for strings, in the given order for arrays.

    Raises
    ------
    EmptySelectionError
        A string that matches no atom (the message quotes it).
    ValueError, TypeError
        An index array that is empty, not integer, repeats an index or leaves ``[0, n_atoms)``.
    """
    if isinstance(selection, str):
        return source.select(selection)
    arr = np.asarray(selection)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"The '{name}' parameter of {owner} must be an MDAnalysis selection string or a non-empty 1-D "
            f"array of integer topology indices. Got {type(selection).__name__} "
            f"(dtype {arr.dtype}, shape {arr.shape}) instead."
        )
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= source.n_atoms)
    if bad.any():
        raise ValueError(
            f"The '{name}' parameter of {owner} holds index {int(arr[bad][0])}, outside [0, {source.n_atoms}) "
            "for this source."
        )
    if np.unique(arr).size != arr.size:
        raise ValueError(f"The '{name}' parameter of {owner} repeats atom indices; give each atom once.")
    return arr


def union_positions(*groups: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The sorted union of index groups, and where each group sits in it.

    Returns
    -------
    atoms : ndarray, shape (U,), int64
        Sorted unique topology indices (what a chunk must read).
    positions : list of ndarray of int64
        For each group, positions into ``atoms`` (``atoms[positions[k]] == groups[k]``).
    """
    atoms = np.unique(np.concatenate(groups)).astype(np.int64)
    return atoms, [np.searchsorted(atoms, g).astype(np.int64) for g in groups]


def molecule_ids(source: Any) -> np.ndarray:
    """Molecule id of every atom of the source's topology.

    A molecule is a bonded fragment when the topology has bonds (a polymer chain
    split over many residues is still one molecule), otherwise a residue (PSF,
    LAMMPS data and GRO files of coarse-grained SPEs give one residue per molecule).

    Returns
    -------
    ndarray, shape (n_atoms,), int64
        0-based molecule ids.
    """
    return np.asarray(source.atoms.molecules, dtype=np.int64)


def species_codes(source: Any, by: str = "names") -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer species codes of every atom, from atom names (or types).

    Returns
    -------
    codes : ndarray, shape (n_atoms,), int32
        Code of each atom: its label's position in ``labels``.
    labels : tuple of str
        Species labels, sorted alphabetically.
    """
    values = getattr(source.atoms, by)
    labels, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return codes.astype(np.int32), tuple(str(x) for x in labels)
