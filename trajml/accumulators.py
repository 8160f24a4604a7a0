"""Exact, mergeable accumulators: float sums that do not depend on chunking, growing count histograms.

Featurizer states are merged in any grouping; these keep the merge exact and associative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ExactSum", "add_padded", "distribution"]


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

    Parameters
    ----------
    histogram : ndarray, shape (K,)
        Occurrences of the counts 0, 1, ..., K - 1.

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
