"""Periodic simulation boxes as 3x3 matrices.

A :class:`Box` is the one box type in trajml. Its matrix holds the box vectors
**a**, **b**, **c** as rows, in Å, in the lower-triangular form used by
MDAnalysis and GROMACS (``a`` along x, ``b`` in the xy plane). Positions ``x``
(row vectors) convert to fractional coordinates as ``x @ inv(M)``.

Boxes are only built through named constructors. A bare 6-vector is ambiguous
(lengths + angles? lengths + tilt factors?), so the plain constructor refuses it
and names the constructors to use instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Box", "matrices_from_dimensions", "dimensions_from_matrices"]

_CONSTRUCTORS = (
    "Box.from_lengths_angles(lengths, angles), Box.from_matrix(matrix), "
    "Box.from_mdanalysis(dimensions) or Box.from_mdtraj(unitcell_vectors)"
)


def matrices_from_dimensions(dimensions: np.ndarray) -> np.ndarray:
    """Convert ``[a, b, c, alpha, beta, gamma]`` rows to box matrices.

    Parameters
    ----------
    dimensions : ndarray, shape (6,) or (F, 6), float
        Box lengths in Å and angles in degrees, as MDAnalysis stores them.

    Returns
    -------
    ndarray, shape (3, 3) or (F, 3, 3), float64
        Lower-triangular box matrices (rows are box vectors), in Å. Angles of
        exactly 90° give exact zeros off the diagonal.
    """
    dims = np.asarray(dimensions, dtype=np.float64)
    single = dims.ndim == 1
    dims = np.atleast_2d(dims)
    if dims.shape[-1] != 6:
        raise ValueError(
            f"Box dimensions must have 6 entries [a, b, c, alpha, beta, gamma]; got shape {dims.shape}."
        )
    a, b, c = dims[:, 0], dims[:, 1], dims[:, 2]
    alpha, beta, gamma = (np.deg2rad(dims[:, k]) for k in (3, 4, 5))
    # Exact zeros for right angles keep orthorhombic boxes on the fast path.
    cos_a = np.where(dims[:, 3] == 90.0, 0.0, np.cos(alpha))
    cos_b = np.where(dims[:, 4] == 90.0, 0.0, np.cos(beta))
    cos_g = np.where(dims[:, 5] == 90.0, 0.0, np.cos(gamma))
    sin_g = np.where(dims[:, 5] == 90.0, 1.0, np.sin(gamma))
    m = np.zeros((dims.shape[0], 3, 3))
    m[:, 0, 0] = a
    m[:, 1, 0] = b * cos_g
    m[:, 1, 1] = b * sin_g
    m[:, 2, 0] = c * cos_b
    cy = c * (cos_a - cos_b * cos_g) / sin_g
    m[:, 2, 1] = cy
    m[:, 2, 2] = np.sqrt(np.maximum(c * c - m[:, 2, 0] ** 2 - cy * cy, 0.0))
    return m[0] if single else m


def dimensions_from_matrices(matrices: np.ndarray) -> np.ndarray:
    """Convert box matrices to ``[a, b, c, alpha, beta, gamma]`` (Å, degrees).

    Parameters
    ----------
    matrices : ndarray, shape (3, 3) or (F, 3, 3), float
        Box matrices with box vectors as rows, in Å.

    Returns
    -------
    ndarray, shape (6,) or (F, 6), float64
    """
    m = np.asarray(matrices, dtype=np.float64)
    single = m.ndim == 2
    m = m.reshape(-1, 3, 3)
    lengths = np.linalg.norm(m, axis=2)

    def angle(u: np.ndarray, v: np.ndarray, nu: np.ndarray, nv: np.ndarray) -> np.ndarray:
        cos = np.einsum("ij,ij->i", u, v) / (nu * nv)
        return np.rad2deg(np.arccos(np.clip(cos, -1.0, 1.0)))

    alpha = angle(m[:, 1], m[:, 2], lengths[:, 1], lengths[:, 2])
    beta = angle(m[:, 0], m[:, 2], lengths[:, 0], lengths[:, 2])
    gamma = angle(m[:, 0], m[:, 1], lengths[:, 0], lengths[:, 1])
    out = np.column_stack([lengths, alpha, beta, gamma])
    return out[0] if single else out


@dataclass(frozen=True, eq=False, init=False)
class Box:
    """A periodic box: a 3x3 matrix whose rows are the box vectors, in Å.

    Build one with :meth:`from_lengths_angles`, :meth:`from_matrix`,
    :meth:`from_mdanalysis` or :meth:`from_mdtraj`.

    Attributes
    ----------
    matrix : ndarray, shape (3, 3), float64
        Box vectors **a**, **b**, **c** as rows, in Å (read-only).

    Examples
    --------
    >>> box = Box.from_lengths_angles([10.0, 10.0, 10.0], [90.0, 90.0, 90.0])
    >>> box.volume
    1000.0
    >>> box.is_orthorhombic
    True
    """

    matrix: np.ndarray

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError(
            "Box cannot be built from a bare array: a 6-vector is ambiguous (lengths + angles, or "
            f"lengths + tilt factors?). Use {_CONSTRUCTORS}."
        )

    @classmethod
    def _new(cls, matrix: np.ndarray) -> "Box":
        m = np.array(matrix, dtype=np.float64)
        if m.shape != (3, 3):
            raise ValueError(f"A box matrix must have shape (3, 3); got {m.shape}.")
        if not np.all(np.isfinite(m)):
            raise ValueError(f"A box matrix must be finite; got {m.tolist()}.")
        if abs(np.linalg.det(m)) <= 0.0:
            raise ValueError(f"A box matrix must have a non-zero volume; got {m.tolist()}.")
        m.setflags(write=False)
        obj = object.__new__(cls)
        object.__setattr__(obj, "matrix", m)
        return obj

    @classmethod
    def from_lengths_angles(cls, lengths: object, angles: object = (90.0, 90.0, 90.0)) -> "Box":
        """Build a box from lengths (Å) and angles (degrees).

        Parameters
        ----------
        lengths : array_like, shape (3,), float
            Box lengths a, b, c in Å; each must be > 0.
        angles : array_like, shape (3,), float, optional
            Angles alpha (b, c), beta (a, c), gamma (a, b) in degrees, each in (0, 180).
        """
        lengths = np.asarray(lengths, dtype=np.float64).reshape(-1)
        angles = np.asarray(angles, dtype=np.float64).reshape(-1)
        if lengths.shape != (3,) or angles.shape != (3,):
            raise ValueError(
                f"Box.from_lengths_angles needs 3 lengths and 3 angles; got {lengths.shape[0]} and {angles.shape[0]}."
            )
        if np.any(lengths <= 0) or not np.all(np.isfinite(lengths)):
            raise ValueError(f"Box lengths must be finite and > 0 Å; got {lengths.tolist()}.")
        if np.any(angles <= 0) or np.any(angles >= 180):
            raise ValueError(f"Box angles must lie in (0, 180) degrees; got {angles.tolist()}.")
        return cls._new(matrices_from_dimensions(np.concatenate([lengths, angles])))

    @classmethod
    def from_matrix(cls, matrix: object) -> "Box":
        """Build a box from a 3x3 matrix whose rows are the box vectors, in Å."""
        return cls._new(np.asarray(matrix))

    @classmethod
    def from_mdanalysis(cls, dimensions: object) -> "Box":
        """Build a box from MDAnalysis ``ts.dimensions`` ``[a, b, c, alpha, beta, gamma]`` (Å, degrees)."""
        if dimensions is None:
            raise ValueError("This MDAnalysis frame has no box (dimensions is None).")
        dims = np.asarray(dimensions, dtype=np.float64).reshape(-1)
        if dims.shape != (6,):
            raise ValueError(f"MDAnalysis dimensions must have 6 entries; got {dims.shape[0]}.")
        return cls.from_lengths_angles(dims[:3], dims[3:])

    @classmethod
    def from_mdtraj(cls, unitcell_vectors: object) -> "Box":
        """Build a box from one mdtraj ``unitcell_vectors`` frame (3x3, nm)."""
        v = np.asarray(unitcell_vectors, dtype=np.float64)
        if v.shape == (1, 3, 3):
            v = v[0]
        return cls._new(v * 10.0)

    @property
    def lengths(self) -> np.ndarray:
        """ndarray, shape (3,): box lengths a, b, c in Å."""
        return dimensions_from_matrices(self.matrix)[:3]

    @property
    def angles(self) -> np.ndarray:
        """ndarray, shape (3,): angles alpha, beta, gamma in degrees."""
        return dimensions_from_matrices(self.matrix)[3:]

    @property
    def dimensions(self) -> np.ndarray:
        """ndarray, shape (6,): ``[a, b, c, alpha, beta, gamma]`` (Å, degrees), MDAnalysis style."""
        return dimensions_from_matrices(self.matrix)

    @property
    def volume(self) -> float:
        """float: box volume in Å³."""
        return float(abs(np.linalg.det(self.matrix)))

    @property
    def is_orthorhombic(self) -> bool:
        """bool: True when every off-diagonal element is zero."""
        return bool(np.all(self.matrix[~np.eye(3, dtype=bool)] == 0.0))

    @property
    def inverse(self) -> np.ndarray:
        """ndarray, shape (3, 3): inverse matrix, for fractional coordinates ``x @ inverse``."""
        return np.linalg.inv(self.matrix)

    @property
    def min_width(self) -> float:
        """float: the shortest distance between opposite faces, in Å.

        Minimum-image distances are unambiguous only up to half this width.
        """
        m = self.matrix
        vol = self.volume
        areas = [
            np.linalg.norm(np.cross(m[1], m[2])),
            np.linalg.norm(np.cross(m[0], m[2])),
            np.linalg.norm(np.cross(m[0], m[1])),
        ]
        return float(vol / max(areas))

    def wrap(self, positions: np.ndarray) -> np.ndarray:
        """Wrap positions (Å, shape (..., 3)) into the primary cell [0, 1) in fractional coordinates."""
        frac = np.asarray(positions, dtype=np.float64) @ self.inverse
        return (frac - np.floor(frac)) @ self.matrix

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and np.array_equal(self.matrix, other.matrix)

    def __hash__(self) -> int:
        return hash(self.matrix.tobytes())

    def __repr__(self) -> str:
        if self.is_orthorhombic:
            a, b, c = np.diag(self.matrix)
            return f"Box.from_lengths_angles([{a:g}, {b:g}, {c:g}])  # Å, orthorhombic"
        d = self.dimensions
        return (
            f"Box.from_lengths_angles([{d[0]:g}, {d[1]:g}, {d[2]:g}], "
            f"[{d[3]:g}, {d[4]:g}, {d[5]:g}])  # Å, degrees, triclinic"
        )

    def __reduce__(self) -> tuple:
        return (Box.from_matrix, (self.matrix.copy(),))
