"""Deprecated name of :mod:`trajml.kernels.correlation` (the displacement-moment kernels).

Kept importable for one release: the kernels live in
:mod:`trajml.kernels.correlation`, their NumPy twins in :mod:`trajml.kernels.reference`.
"""

from __future__ import annotations

from .correlation import displacement_moments_direct, displacement_moments_fft, msd_fft, segment_weighted_sums
from .reference import (
    displacement_moments_direct_reference,
    displacement_moments_fft_reference,
    msd_fft_reference,
    segment_weighted_sums_reference,
)

__all__ = [
    "msd_fft",
    "displacement_moments_fft",
    "displacement_moments_direct",
    "segment_weighted_sums",
    "msd_fft_reference",
    "displacement_moments_fft_reference",
    "displacement_moments_direct_reference",
    "segment_weighted_sums_reference",
]
