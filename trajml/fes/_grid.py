"""Regular grids on 1-3 collective variables and weighted bin counts on them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Grid", "BinnedSamples", "bin_samples", "bin_quadrature"]


@dataclass(frozen=True)
class Grid:
    """A regular grid of bins.

    Attributes
    ----------
    edges : tuple of ndarray, one per CV, shape (bins_k + 1,)
        Bin edges in CV units.
    """

    edges: tuple[np.ndarray, ...]

    @classmethod
    def regular(cls, ranges: tuple[tuple[float, float], ...], bins: tuple[int, ...]) -> "Grid":
        return cls(tuple(np.linspace(lo, hi, n + 1) for (lo, hi), n in zip(ranges, bins)))

    @property
    def ndim(self) -> int:
        return len(self.edges)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(e) - 1 for e in self.edges)

    @property
    def axes(self) -> tuple[np.ndarray, ...]:
        """Bin centres per CV (CV units)."""
        return tuple(0.5 * (e[1:] + e[:-1]) for e in self.edges)

    @property
    def widths(self) -> np.ndarray:
        """Bin width per CV (CV units), shape (d,)."""
        return np.array([e[1] - e[0] for e in self.edges])

    @property
    def bin_volume(self) -> float:
        """Volume of one bin, product of the CV units."""
        return float(np.prod(self.widths))

    def points(self) -> np.ndarray:
        """Bin centres as rows, shape (prod(shape), d), C order of the grid."""
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)


@dataclass(frozen=True)
class BinnedSamples:
    """Weighted counts per bin, as a Poisson model sees them.

    ``counts`` are Kish-scaled so that each bin carries its effective number of samples
    (for unweighted samples: the plain counts), and ``exposure`` is chosen so that
    ``counts / exposure`` is the weighted probability density; empty bins get the global
    scaling. A statistical inefficiency g >= 1 divides both.
    """

    grid: Grid
    weight_sums: np.ndarray   # (n_bins,) sum of weights per bin
    counts: np.ndarray        # (n_bins,) effective counts
    exposure: np.ndarray      # (n_bins,) expected count per unit density
    n_samples: int
    n_effective: float

    @property
    def density(self) -> np.ndarray:
        """Weighted probability density per bin (1 / product of CV units), flat."""
        return self.weight_sums / (self.weight_sums.sum() * self.grid.bin_volume)


def bin_samples(x: np.ndarray, weights: np.ndarray | None, grid: Grid, inefficiency: float = 1.0) -> BinnedSamples:
    """Bin samples (rows of ``x``, inside the grid) with optional weights."""
    w = np.ones(len(x)) if weights is None else weights
    idx = []
    for k, e in enumerate(grid.edges):
        i = np.floor((x[:, k] - e[0]) / (e[1] - e[0])).astype(np.int64)
        idx.append(np.clip(i, 0, len(e) - 2))  # the upper edge belongs to the last bin
    flat = np.ravel_multi_index(tuple(idx), grid.shape)
    n_bins = int(np.prod(grid.shape))
    s1 = np.bincount(flat, weights=w, minlength=n_bins)
    s2 = np.bincount(flat, weights=w * w, minlength=n_bins)
    total, total2 = s1.sum(), s2.sum()
    kappa_global = total / total2  # Kish: effective samples per unit weight
    kappa = np.where(s2 > 0, s1 / np.where(s2 > 0, s2, 1.0), kappa_global)
    counts = s1 * kappa / inefficiency
    exposure = total * grid.bin_volume * kappa / inefficiency
    return BinnedSamples(grid=grid, weight_sums=s1, counts=counts, exposure=exposure, n_samples=len(x),
                         n_effective=float(total * total / total2 / inefficiency))


def bin_quadrature(widths: np.ndarray, smooth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two-point Gauss–Legendre nodes per CV inside a bin: offsets (Q, d) in CV units and weights (Q,).

    A bin's count measures the bin average of exp(−F), not exp(−F) at its centre; averaging
    over these nodes is exact for quadratic F, which removes the O(width²) curvature bias that
    otherwise grows to several error bars in well-sampled wells. Axes where ``smooth`` is False
    (integer cells) keep the centre only.
    """
    d = len(widths)
    smooth = np.ones(d, dtype=bool) if smooth is None else smooth
    per_axis = [np.array([-0.5, 0.5]) * w / math.sqrt(3.0) if s else np.zeros(1) for w, s in zip(widths, smooth)]
    offsets = np.stack([m.ravel() for m in np.meshgrid(*per_axis, indexing="ij")], axis=1)
    return offsets, np.full(len(offsets), 1.0 / len(offsets))
