"""Helpers shared by the structure featurizers: selections, molecules, species, checks, exact sums.

Everything here runs on the driver (in ``bind``) or on plain arrays; nothing
holds a file open, so featurizers built with these helpers stay picklable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trajml._validation import DEVICES, check_choice, check_device, check_float, check_int
from trajml.chunk import ChunkSpec

__all__ = [
    "ExactSum",
    "check_float",
    "check_int",
    "check_choice",
    "check_device",
    "resolve_atoms",
    "union_positions",
    "molecule_ids",
    "species_codes",
    "check_cutoff_fits",
    "check_source_boxes",
    "describe_selection",
    "add_padded",
    "distribution",
    "DEVICES",
]


# -- exact, associative float sums ---------------------------------------------------------------
@dataclass
class ExactSum:
    """A float sum kept exactly, so merging partial sums in any grouping gives the same value.

    Holds Shewchuk's non-overlapping partials (the algorithm behind
    :func:`math.fsum`): their real-number sum equals the exact sum of every value
    added, so :meth:`merge` is exact and associative and :attr:`value` is the
    correctly rounded total, independent of how a trajectory was chunked.

    Attributes
    ----------
    partials : list of float
        Non-overlapping partial sums, smallest magnitude first.
    """

    partials: list[float] = field(default_factory=list)

    def add(self, x: float) -> "ExactSum":
        """Add one finite float in place and return ``self``."""
        x = float(x)
        kept = []
        for y in self.partials:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                kept.append(lo)
            x = hi
        kept.append(x)
        self.partials = kept
        return self

    def add_many(self, values: np.ndarray) -> "ExactSum":
        """Add every value of a 1-D float array in place and return ``self``."""
        for v in np.asarray(values, dtype=np.float64).ravel():
            self.add(v)
        return self

    def merge(self, other: "ExactSum") -> "ExactSum":
        """A new sum holding both operands exactly."""
        out = ExactSum(list(self.partials))
        for p in other.partials:
            out.add(p)
        return out

    @property
    def value(self) -> float:
        """float: the correctly rounded total."""
        return math.fsum(self.partials)


def describe_selection(selection: Any) -> Any:
    """A JSON-friendly, short description of a selection (string as is, arrays as lists)."""
    if isinstance(selection, str) or selection is None:
        return selection
    return np.asarray(selection).tolist()


# -- selections and topology ---------------------------------------------------------------------
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


# -- periodic boundaries -------------------------------------------------------------------------
def check_cutoff_fits(boxes: np.ndarray, r: float, name: str, owner: str, *, traj_id: int,
                      frames: np.ndarray) -> None:
    """Raise ValueError when ``r`` exceeds half the smallest perpendicular box width of any frame.

    The message names the parameter, the limit and the trajectory and frame where it fails.
    """
    from trajml.kernels.geometry import max_cutoff

    if len(boxes) == 0 or r <= max_cutoff(boxes):
        return
    limits = [max_cutoff(boxes[i:i + 1]) for i in range(len(boxes))]
    i = int(np.argmin(limits))
    from trajml._validation import invalid

    raise invalid(name, owner, f"at most half the smallest perpendicular box width, {limits[i]:.4g} Å in trajectory "
                  f"{traj_id} frame {int(frames[i])} (minimum image)", float(r), shown=f"{r:g} Å")


def check_chunk(owner: str, chunk: Any, bound: bool, **cutoffs: float) -> None:
    """Checks every periodic analysis makes before it touches a chunk.

    Raises RuntimeError for an unbound featurizer, MissingBoxError for a chunk
    without boxes, and ValueError (via :func:`check_cutoff_fits`) when a cut-off
    (``name=value`` in Å) exceeds half the smallest perpendicular box width.
    """
    from trajml.errors import MissingBoxError

    if not bound:
        raise RuntimeError(f"{owner}.update needs a bound featurizer: call bind(source) first "
                           "(trajml.parallel.run does this for you).")
    if chunk.boxes is None:
        frame = int(chunk.frames[0]) if chunk.n_frames else 0
        raise MissingBoxError(f"{owner} needs periodic boxes, but trajectory {chunk.traj_id} has no box "
                              f"at frame {frame}.")
    for name, value in cutoffs.items():
        check_cutoff_fits(chunk.boxes, value, name, owner, traj_id=chunk.traj_id, frames=chunk.frames)


def check_source_boxes(source: Any, r: float, name: str, owner: str) -> None:
    """Check ``r`` against the first frame of every trajectory (fails early, on the driver)."""
    one = np.zeros(1, dtype=np.int64)
    for t in range(source.n_trajectories):
        if source.n_frames_of(t) == 0:
            continue
        chunk = source.read(ChunkSpec(t, 0, 1), one)
        if chunk.boxes is not None:
            check_cutoff_fits(chunk.boxes, r, name, owner, traj_id=t, frames=chunk.frames)


# -- growing histograms ----------------------------------------------------------------------------
def add_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum two integer histograms of any equal rank, zero-padding each axis to the longer one.

    Parameters
    ----------
    a, b : ndarray, int64
        Histograms indexed by count (``h[k]`` = occurrences of value k); neither is modified.

    Returns
    -------
    ndarray, int64
        A new array with ``shape = max(a.shape, b.shape)`` per axis.
    """
    shape = tuple(max(x, y) for x, y in zip(a.shape, b.shape))
    out = np.zeros(shape, dtype=np.int64)
    out[tuple(slice(0, n) for n in a.shape)] += a
    out[tuple(slice(0, n) for n in b.shape)] += b
    return out


def distribution(histogram: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Probabilities, mean and standard deviation of a histogram over counts 0, 1, 2, ...

    Returns
    -------
    probability : ndarray, shape (K,), float64
        ``histogram / histogram.sum()`` (NaN when empty).
    mean, std : float
        Mean and standard deviation of the count (NaN when empty).
    """
    total = int(histogram.sum())
    if total == 0:
        return np.full(histogram.shape, np.nan), float("nan"), float("nan")
    p = histogram / total
    k = np.arange(len(histogram), dtype=np.float64)
    mean = float(k @ p)
    return p, mean, float(np.sqrt(max(((k - mean) ** 2) @ p, 0.0)))
