"""No-jump unwrapping kernels with integer image counts.

The no-jump rule of MDAnalysis' ``NoJump`` transformation (Kulke & Vermaas
2022, eq. B6) keeps every atom from moving more than half a box between two
consecutive frames. With fractional coordinates ``f_t = x_t @ inv(L_t)`` (box
vectors as the rows of ``L_t``) it is equivalent to integer image counts

.. math::

    n_t = n_{t-1} - \\operatorname{rint}(f_t - f_{t-1}), \\qquad
    u_t = x_t + n_t L_t ,

where ``u_t`` are the unwrapped Cartesian positions. Because the image counts
are integers, a trajectory cut into chunks can be unwrapped exactly and in
parallel: :func:`image_shift` gives each chunk's net change of the counts (pass
1), a prefix sum over chunks gives each chunk's starting counts, and
:func:`nojump_unwrap` unwraps each chunk on its own (pass 2).

Conventions shared by all kernels here:

* ``positions`` : float32 ``(F, N, 3)`` in Å; ``boxes`` : float32 or float64
  ``(F, 3, 3)`` in Å with box vectors as rows (any non-singular matrix, not only
  lower-triangular ones).
* Fractional coordinates are computed in float64.
* ``prev_frac`` : float64 ``(N, 3)`` fractional coordinates of the frame just
  before the chunk, or an empty ``(0, 3)`` array when the chunk starts the
  trajectory (then the chunk's first frame is the reference and gets no jump).
* Rounding is round-half-to-even (``np.rint``), as ``np.round`` in MDAnalysis.
* Boxes must be invertible; callers check this (a singular box gives inf/nan).

Every kernel writes into caller-given ``out`` arrays, is compiled with numba
``nogil=True`` (and ``parallel=True`` over blocks of atoms), and has a plain
NumPy twin ``<name>_reference`` in :mod:`trajml.kernels.reference` used by the tests.
"""

from __future__ import annotations

import numba
import numpy as np

# The NumPy twins live in trajml.kernels.reference; importable from here for one release.
from .reference import (  # noqa: F401
    apply_images_reference,
    box_inverses_reference,
    fractional_coordinates_reference,
    image_jumps_reference,
    image_shift_reference,
    nojump_unwrap_reference,
)

__all__ = [
    "box_inverses",
    "fractional_coordinates",
    "image_shift",
    "image_jumps",
    "apply_images",
    "nojump_unwrap",
]

#: Atoms per parallel work item: each thread walks all frames of one block, so
#: per-frame reads stay contiguous and the per-atom state stays in cache.
_BLOCK = 512


# --------------------------------------------------------------------------- #
# numba kernels
# --------------------------------------------------------------------------- #


@numba.njit(nogil=True, cache=True)
def box_inverses(boxes: np.ndarray, out: np.ndarray) -> None:
    """Invert 3x3 box matrices in float64.

    Parameters
    ----------
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices (rows are box vectors), in Å.
    out : ndarray, shape (F, 3, 3), float64
        Written with ``inv(boxes[t])`` (in 1/Å). A singular box gives inf/nan.
    """
    for t in range(boxes.shape[0]):
        a = np.float64(boxes[t, 0, 0])
        b = np.float64(boxes[t, 0, 1])
        c = np.float64(boxes[t, 0, 2])
        d = np.float64(boxes[t, 1, 0])
        e = np.float64(boxes[t, 1, 1])
        f = np.float64(boxes[t, 1, 2])
        g = np.float64(boxes[t, 2, 0])
        h = np.float64(boxes[t, 2, 1])
        k = np.float64(boxes[t, 2, 2])
        c00 = e * k - f * h
        c01 = f * g - d * k
        c02 = d * h - e * g
        inv_det = 1.0 / (a * c00 + b * c01 + c * c02)
        out[t, 0, 0] = c00 * inv_det
        out[t, 0, 1] = (c * h - b * k) * inv_det
        out[t, 0, 2] = (b * f - c * e) * inv_det
        out[t, 1, 0] = c01 * inv_det
        out[t, 1, 1] = (a * k - c * g) * inv_det
        out[t, 1, 2] = (c * d - a * f) * inv_det
        out[t, 2, 0] = c02 * inv_det
        out[t, 2, 1] = (b * g - a * h) * inv_det
        out[t, 2, 2] = (a * e - b * d) * inv_det


@numba.njit(nogil=True, cache=True, inline="always")
def _frac(positions: np.ndarray, inv: np.ndarray, t: int, i: int) -> tuple[float, float, float]:
    x = np.float64(positions[t, i, 0])
    y = np.float64(positions[t, i, 1])
    z = np.float64(positions[t, i, 2])
    return (
        x * inv[t, 0, 0] + y * inv[t, 1, 0] + z * inv[t, 2, 0],
        x * inv[t, 0, 1] + y * inv[t, 1, 1] + z * inv[t, 2, 1],
        x * inv[t, 0, 2] + y * inv[t, 1, 2] + z * inv[t, 2, 2],
    )


@numba.njit(nogil=True, parallel=True, cache=True)
def fractional_coordinates(positions: np.ndarray, boxes: np.ndarray, out: np.ndarray) -> None:
    """Fractional coordinates ``x_t @ inv(L_t)`` in float64.

    Parameters
    ----------
    positions : ndarray, shape (F, N, 3), float32
        Cartesian coordinates in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices (rows are box vectors) in Å.
    out : ndarray, shape (F, N, 3), float64
        Written with the fractional coordinates (dimensionless).
    """
    n_frames, n_atoms = positions.shape[0], positions.shape[1]
    inv = np.empty((n_frames, 3, 3), dtype=np.float64)
    box_inverses(boxes, inv)
    n_blocks = (n_atoms + _BLOCK - 1) // _BLOCK
    for item in numba.prange(n_frames * n_blocks):
        t = item // n_blocks
        i0 = (item % n_blocks) * _BLOCK
        i1 = min(n_atoms, i0 + _BLOCK)
        for i in range(i0, i1):
            f0, f1, f2 = _frac(positions, inv, t, i)
            out[t, i, 0] = f0
            out[t, i, 1] = f1
            out[t, i, 2] = f2


@numba.njit(nogil=True, cache=True, inline="always")
def _start_block(
    positions: np.ndarray, inv: np.ndarray, prev_frac: np.ndarray, i0: int, i1: int, fprev: np.ndarray
) -> int:
    """Fill ``fprev`` for atoms [i0, i1); return the first frame that can jump."""
    if prev_frac.shape[0] != 0:
        for i in range(i0, i1):
            fprev[i - i0, 0] = prev_frac[i, 0]
            fprev[i - i0, 1] = prev_frac[i, 1]
            fprev[i - i0, 2] = prev_frac[i, 2]
        return 0
    if positions.shape[0] > 0:
        for i in range(i0, i1):
            f0, f1, f2 = _frac(positions, inv, 0, i)
            fprev[i - i0, 0] = f0
            fprev[i - i0, 1] = f1
            fprev[i - i0, 2] = f2
    return 1


@numba.njit(nogil=True, cache=True, inline="always")
def _step(
    positions: np.ndarray, inv: np.ndarray, t: int, i: int, j: int, fprev: np.ndarray, n: np.ndarray
) -> None:
    """Advance atom ``i`` (row ``j`` of the block state) to frame ``t``: update fprev and counts n."""
    f0, f1, f2 = _frac(positions, inv, t, i)
    n[j, 0] -= np.int64(np.rint(f0 - fprev[j, 0]))
    n[j, 1] -= np.int64(np.rint(f1 - fprev[j, 1]))
    n[j, 2] -= np.int64(np.rint(f2 - fprev[j, 2]))
    fprev[j, 0] = f0
    fprev[j, 1] = f1
    fprev[j, 2] = f2


@numba.njit(nogil=True, parallel=True, cache=True)
def image_shift(positions: np.ndarray, boxes: np.ndarray, prev_frac: np.ndarray, out_shift: np.ndarray) -> None:
    """Net change of the image counts over a chunk (pass 1 of parallel unwrapping).

    Parameters
    ----------
    positions : ndarray, shape (F, N, 3), float32
        Wrapped coordinates of the chunk's frames in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices (rows are box vectors) in Å.
    prev_frac : ndarray, shape (N, 3) or (0, 3), float64
        Fractional coordinates of the frame just before the chunk; empty when
        the chunk starts the trajectory.
    out_shift : ndarray, shape (N, 3), int64
        Written with ``n_{last} - n_{before}``: the sum of ``-rint(Δf)`` over
        every step in the chunk, including the step from the previous frame.
    """
    n_atoms = positions.shape[1]
    n_frames = positions.shape[0]
    inv = np.empty((n_frames, 3, 3), dtype=np.float64)
    box_inverses(boxes, inv)
    n_blocks = (n_atoms + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        i0 = b * _BLOCK
        i1 = min(n_atoms, i0 + _BLOCK)
        fprev = np.empty((i1 - i0, 3), dtype=np.float64)
        n = np.zeros((i1 - i0, 3), dtype=np.int64)
        t0 = _start_block(positions, inv, prev_frac, i0, i1, fprev)
        for t in range(t0, n_frames):
            for i in range(i0, i1):
                _step(positions, inv, t, i, i - i0, fprev, n)
        for i in range(i0, i1):
            out_shift[i, 0] = n[i - i0, 0]
            out_shift[i, 1] = n[i - i0, 1]
            out_shift[i, 2] = n[i - i0, 2]


@numba.njit(nogil=True, parallel=True, cache=True)
def image_jumps(positions: np.ndarray, boxes: np.ndarray, prev_frac: np.ndarray, out_images: np.ndarray) -> None:
    """Per-frame image counts relative to the frame before the chunk.

    Parameters
    ----------
    positions : ndarray, shape (F, N, 3), float32
        Wrapped coordinates in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices (rows are box vectors) in Å.
    prev_frac : ndarray, shape (N, 3) or (0, 3), float64
        Fractional coordinates of the frame just before the chunk; empty when
        the chunk starts the trajectory (then ``out_images[0]`` is zero).
    out_images : ndarray, shape (F, N, 3), int64
        Written with ``n_t - n_{before}`` for every frame ``t`` of the chunk.
    """
    n_frames, n_atoms = positions.shape[0], positions.shape[1]
    inv = np.empty((n_frames, 3, 3), dtype=np.float64)
    box_inverses(boxes, inv)
    n_blocks = (n_atoms + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        i0 = b * _BLOCK
        i1 = min(n_atoms, i0 + _BLOCK)
        fprev = np.empty((i1 - i0, 3), dtype=np.float64)
        n = np.zeros((i1 - i0, 3), dtype=np.int64)
        t0 = _start_block(positions, inv, prev_frac, i0, i1, fprev)
        if t0 == 1:
            for i in range(i0, i1):
                out_images[0, i, 0] = 0
                out_images[0, i, 1] = 0
                out_images[0, i, 2] = 0
        for t in range(t0, n_frames):
            for i in range(i0, i1):
                j = i - i0
                _step(positions, inv, t, i, j, fprev, n)
                out_images[t, i, 0] = n[j, 0]
                out_images[t, i, 1] = n[j, 1]
                out_images[t, i, 2] = n[j, 2]


@numba.njit(nogil=True, cache=True, inline="always")
def _write_shifted(
    positions: np.ndarray, boxes: np.ndarray, t: int, i: int, n0: np.int64, n1: np.int64, n2: np.int64,
    out: np.ndarray,
) -> None:
    """out[t, i] = x[t, i] + n @ L_t, evaluated in float64 and stored as float32."""
    m0 = np.float64(n0)
    m1 = np.float64(n1)
    m2 = np.float64(n2)
    for k in range(3):
        out[t, i, k] = np.float32(
            np.float64(positions[t, i, k])
            + m0 * np.float64(boxes[t, 0, k])
            + m1 * np.float64(boxes[t, 1, k])
            + m2 * np.float64(boxes[t, 2, k])
        )


@numba.njit(nogil=True, parallel=True, cache=True)
def apply_images(
    positions: np.ndarray, boxes: np.ndarray, images: np.ndarray, start_images: np.ndarray, out: np.ndarray
) -> None:
    """Unwrapped positions ``x_t + (start_images + images_t) @ L_t``.

    Parameters
    ----------
    positions : ndarray, shape (F, N, 3), float32
        Wrapped coordinates in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices (rows are box vectors) in Å.
    images : ndarray, shape (F, N, 3), int64
        Image counts relative to ``start_images`` (as from :func:`image_jumps`).
    start_images : ndarray, shape (N, 3), int64
        Image counts of the frame before the chunk.
    out : ndarray, shape (F, N, 3), float32
        Written with the unwrapped coordinates in Å. May be ``positions`` itself.
    """
    n_frames, n_atoms = positions.shape[0], positions.shape[1]
    n_blocks = (n_atoms + _BLOCK - 1) // _BLOCK
    for item in numba.prange(n_frames * n_blocks):
        t = item // n_blocks
        i0 = (item % n_blocks) * _BLOCK
        i1 = min(n_atoms, i0 + _BLOCK)
        for i in range(i0, i1):
            _write_shifted(
                positions, boxes, t, i,
                start_images[i, 0] + images[t, i, 0],
                start_images[i, 1] + images[t, i, 1],
                start_images[i, 2] + images[t, i, 2],
                out,
            )


@numba.njit(nogil=True, parallel=True, cache=True)
def nojump_unwrap(
    positions: np.ndarray,
    boxes: np.ndarray,
    prev_frac: np.ndarray,
    start_images: np.ndarray,
    out: np.ndarray,
    out_images: np.ndarray,
) -> None:
    """Unwrap a chunk in one pass (pass 2 of parallel unwrapping; the serial path).

    Equivalent to :func:`image_jumps` followed by :func:`apply_images`, without
    the ``(F, N, 3)`` integer temporary.

    Parameters
    ----------
    positions : ndarray, shape (F, N, 3), float32
        Wrapped coordinates in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices (rows are box vectors) in Å.
    prev_frac : ndarray, shape (N, 3) or (0, 3), float64
        Fractional coordinates of the frame just before the chunk; empty when
        the chunk starts the trajectory (its first frame is then left as is,
        shifted only by ``start_images``).
    start_images : ndarray, shape (N, 3), int64
        Image counts of the frame before the chunk (zeros at trajectory start).
    out : ndarray, shape (F, N, 3), float32
        Written with the unwrapped coordinates in Å. May be ``positions`` itself.
    out_images : ndarray, shape (N, 3), int64
        Written with the image counts of the chunk's last frame (equal to
        ``start_images`` when F is 0).
    """
    n_frames, n_atoms = positions.shape[0], positions.shape[1]
    inv = np.empty((n_frames, 3, 3), dtype=np.float64)
    box_inverses(boxes, inv)
    n_blocks = (n_atoms + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        i0 = b * _BLOCK
        i1 = min(n_atoms, i0 + _BLOCK)
        fprev = np.empty((i1 - i0, 3), dtype=np.float64)
        n = np.empty((i1 - i0, 3), dtype=np.int64)
        for i in range(i0, i1):
            n[i - i0, 0] = start_images[i, 0]
            n[i - i0, 1] = start_images[i, 1]
            n[i - i0, 2] = start_images[i, 2]
        t0 = _start_block(positions, inv, prev_frac, i0, i1, fprev)
        if t0 == 1:
            for i in range(i0, i1):
                j = i - i0
                _write_shifted(positions, boxes, 0, i, n[j, 0], n[j, 1], n[j, 2], out)
        for t in range(t0, n_frames):
            for i in range(i0, i1):
                j = i - i0
                _step(positions, inv, t, i, j, fprev, n)
                _write_shifted(positions, boxes, t, i, n[j, 0], n[j, 1], n[j, 2], out)
        for i in range(i0, i1):
            out_images[i, 0] = n[i - i0, 0]
            out_images[i, 1] = n[i - i0, 1]
            out_images[i, 2] = n[i - i0, 2]

