"""Selections against a Source's topology: topology indices, molecules, species, short descriptions.

Everything here runs on the driver (when an analysis is bound to a source) or on plain arrays;
nothing holds a file open, so analyses built with these helpers stay picklable.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

import numpy as np

from trajml.errors import EmptySelectionError, SelectionError

__all__ = ["resolve_atoms", "union_positions", "molecule_ids", "species_codes", "describe_selection",
           "AtomGroupSelection", "is_atomgroup"]


def describe_selection(selection: Any) -> Any:
    """A JSON-friendly, short description of a selection (string as is, arrays as lists, AtomGroups as text).

    Parameters
    ----------
    selection : str, array_like or AtomGroup
    """
    if isinstance(selection, str) or selection is None:
        return selection
    if callable(getattr(selection, "text", None)):  # a trajml.species.Species: its text form
        return selection.text()
    if is_atomgroup(selection):
        selection = AtomGroupSelection.from_atomgroup(selection)
    if isinstance(selection, AtomGroupSelection):
        return selection.describe()
    return np.asarray(selection).tolist()


def is_atomgroup(value: Any) -> bool:
    """Whether ``value`` is an MDAnalysis AtomGroup (without importing MDAnalysis: none exists before it is).

    Parameters
    ----------
    value : object
    """
    groups = sys.modules.get("MDAnalysis.core.groups")
    return groups is not None and isinstance(value, groups.AtomGroup)


def _ranges(indices: np.ndarray, limit: int = 60) -> str:
    """Indices as compact ranges (``"0-9, 12, 15-19"``), cut at about ``limit`` characters."""
    if indices.size == 0:
        return ""
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    pieces = []
    for run in np.split(indices, breaks):
        pieces.append(str(run[0]) if run.size == 1 else f"{run[0]}-{run[-1]}")
    text = ", ".join(pieces)
    return text if len(text) <= limit else text[:limit].rsplit(",", 1)[0] + ", ..."


class AtomGroupSelection:
    """An MDAnalysis AtomGroup given as a selection parameter: its indices plus the Universe it came from.

    Analyses keep this instead of the AtomGroup, so they stay small and picklable (an AtomGroup
    pickles its whole Universe); :func:`resolve_atoms` checks the origin against the source the
    analysis is bound to.

    Parameters
    ----------
    indices : array_like of int
        Topology indices.
    n_atoms : int
        Atoms of the Universe.
    topology : str or None
        Its topology file.

    Attributes
    ----------
    indices : ndarray of int64
        Topology indices, in the AtomGroup's order.
    n_atoms : int
        Atoms of the AtomGroup's Universe.
    topology : str or None
        Topology file of that Universe (None: built in memory, e.g. ``Universe.empty``).
    """

    __slots__ = ("indices", "n_atoms", "topology")

    def __init__(self, indices: Any, n_atoms: int, topology: str | None) -> None:
        self.indices = np.array(indices, dtype=np.int64).ravel()
        self.indices.setflags(write=False)
        self.n_atoms = int(n_atoms)
        self.topology = None if topology is None else os.fspath(topology)

    @classmethod
    def from_atomgroup(cls, group: Any) -> "AtomGroupSelection":
        """Record an AtomGroup; an UpdatingAtomGroup (re-evaluated every frame) is refused.

        Raises
        ------
        SelectionError
            ``group`` is an UpdatingAtomGroup: trajml resolves a selection once.
        """
        if type(group).__name__ == "UpdatingAtomGroup":
            raise SelectionError(
                "An UpdatingAtomGroup changes with every frame, but trajml resolves a selection once for the "
                "whole run; pass its selection string for a fixed group, or a static AtomGroup.")
        universe = group.universe
        filename = getattr(universe, "filename", None)
        return cls(group.indices, universe.atoms.n_atoms, filename if isinstance(filename, str) else None)

    def __len__(self) -> int:
        return int(self.indices.size)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.indices.astype(dtype) if dtype is not None else self.indices.copy()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AtomGroupSelection):
            return NotImplemented
        return (self.n_atoms, self.topology) == (other.n_atoms, other.topology) and np.array_equal(
            self.indices, other.indices)

    def __hash__(self) -> int:
        return hash((self.n_atoms, self.topology, self.indices.tobytes()))

    def __getstate__(self) -> tuple[np.ndarray, int, str | None]:
        return (np.asarray(self.indices), self.n_atoms, self.topology)

    def __setstate__(self, state: tuple[np.ndarray, int, str | None]) -> None:
        self.__init__(*state)  # type: ignore[misc]

    def describe(self) -> str:
        """``"AtomGroup of 20 atoms [0-19]"``; a long index list is cut and closed by a digest of all of them."""
        shown = _ranges(self.indices)
        if shown.endswith("..."):
            shown += "; sha1:" + hashlib.sha1(self.indices.tobytes()).hexdigest()[:10]
        return f"AtomGroup of {len(self)} atoms [{shown}]"

    def __repr__(self) -> str:
        return f"<AtomGroup of {len(self)} atoms>"  # short, for an analysis' repr; describe() lists indices

    def check_source(self, source: Any, name: str, owner: str) -> np.ndarray:
        """The indices, once the AtomGroup's Universe is known to match ``source``'s topology.

        Raises
        ------
        SelectionError
            Another atom count, or a topology file none of the source's trajectories uses.
        """
        tops = list(dict.fromkeys(m.topology for m in source.members))
        here = ", ".join(f"'{t}'" for t in tops)
        fix = ("Build the AtomGroup from the source's own Universe (source.universe()), or pass the "
               "selection string instead.")
        if self.n_atoms != source.n_atoms:
            raise SelectionError(
                f"The '{name}' parameter of {owner} is an AtomGroup of a Universe of {self.n_atoms} atoms "
                f"('{self.topology}'), but the source has {source.n_atoms} atoms ({here}). {fix}")
        if self.topology is None or not any(_same_file(self.topology, t) for t in tops):
            origin = ("a Universe with no topology file (built in memory)" if self.topology is None
                      else f"a Universe of '{self.topology}'")
            raise SelectionError(
                f"The '{name}' parameter of {owner} is an AtomGroup of {origin}, but the source reads {here}. "
                f"{fix} If it is the same system, pass its indices (ag.indices).")
        return np.array(self.indices, dtype=np.int64)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def resolve_atoms(source: Any, selection: Any, name: str, owner: str) -> np.ndarray:
    """Turn a selection string or an index array into topology indices.

    Parameters
    ----------
    source : trajml.io.Source
        The source whose topology resolves strings (:meth:`~trajml.io.Source.select`).
    selection : str, AtomGroup or array_like of int
        MDAnalysis selection string, an MDAnalysis AtomGroup (or its :class:`AtomGroupSelection`)
        of a Universe of the source's topology, or topology indices (0-based, unique).
    name, owner : str
        Parameter and class names, for error messages.

    Returns
    -------
    ndarray, shape (K,), int64
        Topology indices: sorted for strings, in the given order for arrays and AtomGroups.

    Raises
    ------
    EmptySelectionError
        A string that matches no atom (the message quotes it), or an empty AtomGroup.
    SelectionError
        An AtomGroup of another Universe (other topology file or atom count); the message names both.
    ValueError, TypeError
        An index array that is empty, not integer, repeats an index or leaves ``[0, n_atoms)``.
    """
    if callable(getattr(selection, "resolve", None)):  # a trajml.species.Species
        if selection.rule != "atom":
            raise SelectionError(
                f"The '{name}' parameter of {owner} takes atoms, but got the species {selection.text()!r} "
                f"(rule {selection.rule!r}); pass its selection {describe_selection(selection.select)!r}, or use an "
                "analysis that counts molecules (Coordination, SolvationShells).")
        selection = selection.select
    if isinstance(selection, str):
        return source.select(selection)
    if is_atomgroup(selection):
        selection = AtomGroupSelection.from_atomgroup(selection)
    if isinstance(selection, AtomGroupSelection):
        if not len(selection):
            raise EmptySelectionError(f"The '{name}' parameter of {owner} is an empty AtomGroup.")
        selection = selection.check_source(source, name, owner)
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

    Parameters
    ----------
    *groups : ndarray of int64
        Topology indices.

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

    Parameters
    ----------
    source : Source

    Returns
    -------
    ndarray, shape (n_atoms,), int64
        0-based molecule ids.
    """
    return np.asarray(source.atoms.molecules, dtype=np.int64)


def species_codes(source: Any, by: str = "names") -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer species codes of every atom, from atom names (or types).

    Parameters
    ----------
    source : Source
    by : {"names", "types"}
        The atom attribute that labels a species.

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
