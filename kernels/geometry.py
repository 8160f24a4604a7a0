"""Periodic-box geometry for the pair searches: the largest cut-off, and brute-force minimum images.

:func:`max_cutoff` is the bound every pair-search kernel checks ``r_max``
against (half the shortest perpendicular box width, from
:func:`trajml.kernels._validation._widths`). :func:`minimum_image_distances`
searches the 27 neighbouring images explicitly: exact for any triclinic box
below that bound, O(Na Nb), for small systems and as the tests' oracle (the
NumPy references of :mod:`trajml.kernels.reference` build on
:func:`_minimum_image_sq`). Pure NumPy.
"""

from __future__ import annotations

import numpy as np

from ._validation import _widths

__all__ = ["max_cutoff", "minimum_image_distances"]


def _minimum_image_sq(pos_a: np.ndarray, pos_b: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Squared minimum-image distances (Na, Nb) in Å² by an explicit 27-image search."""
    b = np.asarray(box, dtype=np.float64)
    inv = np.linalg.inv(b)
    delta = np.asarray(pos_b, dtype=np.float64)[None, :, :] - np.asarray(pos_a, dtype=np.float64)[:, None, :]
    frac = delta @ inv
    frac -= np.rint(frac)
    wrapped = frac @ b
    best = np.full(delta.shape[:2], np.inf)
    for n0 in (-1, 0, 1):
        for n1 in (-1, 0, 1):
            for n2 in (-1, 0, 1):
                shift = n0 * b[0] + n1 * b[1] + n2 * b[2]
                d = wrapped + shift
                np.minimum(best, np.einsum("ijk,ijk->ij", d, d), out=best)
    return best


def max_cutoff(boxes: np.ndarray) -> float:
    """The largest cut-off the minimum-image pair search accepts for these boxes.

    Parameters
    ----------
    boxes : ndarray, shape (F, 3, 3) or (3, 3), float
        Box matrices with the box vectors as rows, in Å.

    Returns
    -------
    float
        Half the smallest perpendicular box width over all frames, in Å.

    Examples
    --------
    >>> import numpy as np
    >>> max_cutoff(np.diag([20.0, 30.0, 40.0]))
    10.0
    """
    b = np.asarray(boxes, dtype=np.float64)
    if b.shape == (3, 3):
        b = b[None]
    if b.ndim != 3 or b.shape[1:] != (3, 3) or b.shape[0] == 0:
        raise ValueError(
            "The 'boxes' parameter of max_cutoff must have shape (F, 3, 3) with F >= 1 or (3, 3). "
            f"Got shape {b.shape} instead."
        )
    return float(0.5 * _widths(b).min())


def minimum_image_distances(pos_a: np.ndarray, pos_b: np.ndarray, box: np.ndarray) -> np.ndarray:
    """All minimum-image distances between two sets of positions in one frame.

    The difference vectors are wrapped in fractional coordinates and the 27
    neighbouring images of each are searched explicitly, which is exact for
    any triclinic box when the distance is below half the shortest
    perpendicular width (and an upper bound beyond). Brute force, O(Na Nb):
    the oracle of the tests, and a helper for small systems.

    Parameters
    ----------
    pos_a : ndarray, shape (Na, 3), float
        Positions in Å.
    pos_b : ndarray, shape (Nb, 3), float
        Positions in Å.
    box : ndarray, shape (3, 3), float
        Box matrix with the box vectors as rows, in Å.

    Returns
    -------
    ndarray, shape (Na, Nb), float64
        Distances in Å.

    Examples
    --------
    >>> import numpy as np
    >>> minimum_image_distances(np.zeros((1, 3)), np.array([[9.0, 0.0, 0.0]]), np.diag([10.0, 10.0, 10.0]))
    array([[1.]])
    """
    a = np.asarray(pos_a, dtype=np.float64)
    b = np.asarray(pos_b, dtype=np.float64)
    bx = np.asarray(box, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3 or b.ndim != 2 or b.shape[1] != 3:
        raise ValueError(
            f"The 'pos_a' and 'pos_b' parameters of minimum_image_distances must have shapes (Na, 3) and (Nb, 3). "
            f"Got {a.shape} and {b.shape} instead."
        )
    if bx.shape != (3, 3):
        raise ValueError(
            f"The 'box' parameter of minimum_image_distances must have shape (3, 3). Got shape {bx.shape} instead."
        )
    return np.sqrt(_minimum_image_sq(a, b, bx))
