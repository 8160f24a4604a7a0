"""Per-frame extents of a chunk in one pass: the largest coordinate, the box-fraction range, the largest step.

The plausibility checks of every chunk read (:mod:`trajml.io.plausibility`) ask, per
frame, how far any atom lies from the origin, how far outside its box (in box
fractions), and how far any atom moved since the frame before (in box fractions, so
an atom wrapped across the box does not count). With NumPy that is several passes and
chunk-sized temporaries; :func:`frame_extents` reduces each frame in one pass over the
coordinates, parallel over frames (serial for a small chunk), and the caller looks at atoms only in the rare frame
that fails.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["frame_extents"]


@numba.njit(nogil=True, inline="always")
def _frac(pos: np.ndarray, t: int, i: int, inv: np.ndarray, k: int) -> float:
    return (np.float64(pos[t, i, 0]) * inv[t, 0, k] + np.float64(pos[t, i, 1]) * inv[t, 1, k]
            + np.float64(pos[t, i, 2]) * inv[t, 2, k])


#: Atom-frames below which a chunk is reduced on one thread (a few ms of work): waking the thread pool
#: costs tens of microseconds on an idle machine but milliseconds when other processes hold the cores.
_PARALLEL_MIN_ATOMS = 2_000_000


@numba.njit(nogil=True, cache=True)
def _extents_frame(pos: np.ndarray, inv: np.ndarray, use_box: bool, t: int, out: np.ndarray, prev: np.ndarray,
                   keep: bool) -> None:
    """Frame ``t``'s row of ``out``. With ``keep`` (frames in order on one thread), ``prev`` holds the
    frame before's box fractions and is overwritten with this frame's; otherwise (frames in parallel)
    the frame before's fractions are computed again and ``prev`` is not used."""
    n_atoms = pos.shape[1]
    big = 0.0
    lo = np.inf
    hi = -np.inf
    step = 0.0
    for i in range(n_atoms):
        for k in range(3):
            a = abs(np.float64(pos[t, i, k]))
            if a > big:
                big = a
            if use_box:
                f = _frac(pos, t, i, inv, k)
                if f < lo:
                    lo = f
                if f > hi:
                    hi = f
                if t > 0:
                    d = abs(f - (prev[i, k] if keep else _frac(pos, t - 1, i, inv, k)))
                    if d > step:
                        step = d
                if keep:
                    prev[i, k] = f
    out[t, 0] = big
    out[t, 1] = lo
    out[t, 2] = hi
    out[t, 3] = step


@numba.njit(nogil=True, parallel=True, cache=True)
def _extents_kernel(pos: np.ndarray, inv: np.ndarray, use_box: bool, out: np.ndarray) -> None:
    unused = np.empty((0, 3), dtype=np.float64)
    for tp in numba.prange(pos.shape[0]):
        _extents_frame(pos, inv, use_box, np.int64(tp), out, unused, False)


@numba.njit(nogil=True, cache=True)
def _extents_serial(pos: np.ndarray, inv: np.ndarray, use_box: bool, out: np.ndarray) -> None:
    """As :func:`_extents_kernel` on one thread, in one pass per frame: each frame's box fractions are
    kept for the next frame's steps instead of being computed again."""
    prev = np.empty((pos.shape[1] if use_box else 0, 3), dtype=np.float64)
    for t in range(pos.shape[0]):
        _extents_frame(pos, inv, use_box, t, out, prev, True)


def frame_extents(positions: np.ndarray, inverse_boxes: np.ndarray | None) -> np.ndarray:
    """Each frame's largest absolute coordinate, its box-fraction range and its largest step.

    Parameters
    ----------
    positions : ndarray, shape (F, N, 3), float32 or float64
        Coordinates in Å.
    inverse_boxes : ndarray, shape (F, 3, 3), float64, or None
        Inverses of the box matrices (box vectors as rows), so that fractions are ``x @ inv``;
        None when there is no box (then only the first column is computed).

    Returns
    -------
    ndarray, shape (F, 4), float64
        Columns: the largest absolute coordinate (Å); the smallest and largest box fraction over
        atoms and axes; the largest change of any fraction since the frame before (0 for the first
        frame). Columns 1-3 are inf, -inf and 0 without a box.
    """
    pos = np.ascontiguousarray(positions)
    use_box = inverse_boxes is not None
    inv = (np.ascontiguousarray(inverse_boxes, dtype=np.float64) if use_box
           else np.zeros((len(pos), 3, 3), dtype=np.float64))
    out = np.empty((len(pos), 4), dtype=np.float64)
    if len(pos):
        kernel = _extents_kernel if pos.shape[0] * pos.shape[1] >= _PARALLEL_MIN_ATOMS else _extents_serial
        kernel(pos, inv, use_box, out)
    return out
