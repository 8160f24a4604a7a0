"""Time-correlation kernels: mean-squared displacement and ⟨Δr⁴⟩ over all time origins, centre-of-mass sums.

For one particle with positions ``r(t)``, ``t = 0 .. T-1``, the all-origins
moments at lag ``m`` are

.. math::

    \\mathrm{MSD}(m) = \\frac{1}{T-m} \\sum_{t=0}^{T-1-m} |r(t+m) - r(t)|^2, \\qquad
    M_4(m) = \\frac{1}{T-m} \\sum_{t=0}^{T-1-m} |r(t+m) - r(t)|^4 .

The FFT kernels evaluate both exactly over every origin (no sampling of
origins) in O(T log T) per particle, by expanding the powers of
``|a - b|² = |a|² + |b|² - 2 a·b`` (``a = r(t+m)``, ``b = r(t)``) into sums of
the form ``Σ_t f(t+m) g(t)`` (correlations, evaluated as zero-padded FFTs,
Wiener–Khinchin) and partial sums of ``f(t)`` (cumulative sums):

* ``Σ |a-b|² = Σ (|a|² + |b|²) - 2 Σ_α c[r_α, r_α]`` (the fast correlation
  algorithm of Kneller et al., as in nMOLDYN and tidynamics);
* ``Σ |a-b|⁴ = Σ (|a|⁴ + |b|⁴) + 2 c[D, D] - 4 Σ_α (c[D r_α, r_α] + c[r_α, D r_α])
  + 4 Σ_{α,β} c[r_α r_β, r_α r_β]`` with ``D = |r|²``,

where ``c[f, g](m) = Σ_t f(t+m) g(t)``. All correlations are combined in
frequency space, so each particle costs 3 forward FFTs and 1 inverse FFT for
the MSD and 10 more forward FFTs and 1 inverse FFT for ``M_4``.

Round-off: every particle's series is first centred on its time average, in
float64 (displacements do not change), so the expanded sums stay small; FFT
results then agree with the direct sums to ~1e-12 relative for the MSD and
~1e-9 for ``M_4`` on typical trajectories.

Conventions shared by the kernels here:

* ``positions`` : ``(B, T, 3)`` float32 or float64, in Å, particle-major (one
  particle's whole time series is contiguous); it is never modified.
* ``out`` arrays : ``(B, T)`` float64, written in place; lag 0 is exactly 0.

The FFT kernels use :mod:`scipy.fft` (which releases the GIL); the direct
kernel and the segment sums are numba ``njit(nogil=True)``, compiled (or loaded
from numba's cache) on their first call, so that importing this module, or
using only the FFT kernels, does not import numba. Each kernel has a
plain NumPy twin ``<name>_reference`` (direct loops over lags) in
:mod:`trajml.kernels.reference` that the tests compare against.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import fft as _fft

from ._validation import _check_moments

__all__ = [
    "msd_fft",
    "msd_fft_run_sums",
    "displacement_moments_fft",
    "displacement_moments_direct",
    "segment_weighted_sums",
]


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #

#: ``numba.prange`` once a kernel here has been compiled; plain ``range`` before (the bodies below
#: are read by numba only at compile time, when this global names ``numba.prange``).
prange = range


class _LazyNjit:
    """``numba.njit(**options)(func)``, applied on the first call (numba is imported then, not before)."""

    def __init__(self, func: Callable[..., Any], **options: Any) -> None:
        functools.update_wrapper(self, func)
        self.py_func = func
        self._options = options
        self._compiled: Any = None

    @property
    def dispatcher(self) -> Any:
        """The compiled numba dispatcher."""
        if self._compiled is None:
            import numba

            globals()["prange"] = numba.prange
            self._compiled = numba.njit(**self._options)(self.py_func)
        return self._compiled

    def __call__(self, *args: Any) -> Any:
        return self.dispatcher(*args)


def _njit(**options: Any) -> Callable[[Callable[..., Any]], _LazyNjit]:
    return lambda func: _LazyNjit(func, **options)



def _padded_size(n_frames: int) -> int:
    return int(_fft.next_fast_len(2 * n_frames, real=True))


def _two_sided_partial_sums(values: np.ndarray) -> np.ndarray:
    """``Σ_{t=0}^{T-1-m} (v(t+m) + v(t))`` for every lag m; ``values`` (B, T) -> (B, T).

    With one cumulative sum ``c(k) = Σ_{t≤k} v(t)`` (``c(-1) = 0``) this is
    ``c(T-1-m) + c(T-1) - c(m-1)``.
    """
    n = values.shape[1]
    head = np.cumsum(values, axis=1)
    out = head[:, ::-1] + head[:, -1:]  # c(T-1-m) + c(T-1)
    if n > 1:
        out[:, 1:] -= head[:, :-1]
    return out


# --------------------------------------------------------------------------- #
# FFT kernels
# --------------------------------------------------------------------------- #


def msd_fft(positions: np.ndarray, out: np.ndarray, *, workers: int = 1) -> None:
    """Per-particle MSD over all time origins, by FFT (fast correlation algorithm).

    Parameters
    ----------
    positions : ndarray, shape (B, T, 3), float32 or float64
        Unwrapped positions in Å, particle-major (any strides: a transposed
        view of frame-major ``(T, B, 3)`` data is read as is, without a copy).
    out : ndarray, shape (B, T), float64
        Written with ``MSD(m)`` in Å² for lags ``m = 0 .. T-1``.
    workers : int
        Threads of each FFT call (:func:`scipy.fft.rfft`); results do not depend on it.
    """
    displacement_moments_fft(positions, out, None, workers=workers)


def _power(spec: np.ndarray) -> np.ndarray:
    """``Σ_α |R_α(f)|²``: the power spectra ``(B, 3, nf)`` complex summed over x, y, z, ``(B, nf)``."""
    power = np.einsum("bkf,bkf->bf", spec.real, spec.real)
    power += np.einsum("bkf,bkf->bf", spec.imag, spec.imag)
    return power


def _msd_from_spectra(sq: np.ndarray, power: np.ndarray, size: int, out: np.ndarray, workers: int) -> None:
    """Write the MSD ``(Σ (D(t+m) + D(t)) - 2 c[r, r](m)) / (T - m)`` from ``D = |r|²`` ``(B, T)`` and the
    power spectra ``(B, nf)`` of the series padded to ``size`` (lag 0 exactly 0). Both are linear in
    the particles, so sums over particles give the sum of their MSDs."""
    n_frames = sq.shape[1]
    corr = _fft.irfft(power, n=size, axis=-1, workers=workers)[:, :n_frames]
    out[...] = _two_sided_partial_sums(sq)
    corr *= 2.0
    out -= corr
    out /= n_frames - np.arange(n_frames, dtype=np.float64)
    out[:, 0] = 0.0


def _centred_padded(positions: np.ndarray, size: int) -> np.ndarray:
    """``(B, 3, size)`` float64: each coordinate's series, centred on its time average, then zeros."""
    n_part, n_frames = positions.shape[:2]
    x = np.empty((n_part, 3, size))
    body = x[:, :, :n_frames]
    body[...] = positions.transpose(0, 2, 1)
    body -= body.mean(axis=2, keepdims=True)
    x[:, :, n_frames:] = 0.0
    return x


def displacement_moments_fft(positions: np.ndarray, out_msd: np.ndarray, out_m4: np.ndarray | None, *,
                             workers: int = 1) -> None:
    """Per-particle second and fourth displacement moments over all origins, by FFT.

    Parameters
    ----------
    positions : ndarray, shape (B, T, 3), float32 or float64
        Unwrapped positions in Å, particle-major (any strides).
    out_msd : ndarray, shape (B, T), float64
        Written with ``⟨|Δr|²⟩`` in Å² per lag (average over the ``T - m`` origins).
    out_m4 : ndarray, shape (B, T), float64, or None
        Written with ``⟨|Δr|⁴⟩`` in Å⁴ per lag; None skips the fourth moment (and its FFTs).
    workers : int
        Threads of each FFT call (:func:`scipy.fft.rfft`); results do not depend on it.

    Notes
    -----
    Every particle's three coordinate series are centred and zero-padded to a
    fast real-FFT length ``≥ 2T`` in one ``(B, 3, L)`` float64 buffer and
    transformed in one batched real FFT along the contiguous time axis; the
    power spectra summed over x, y, z go through one batched inverse FFT.
    """
    _check_moments(positions, out_msd, out_m4)
    n_part, n_frames = positions.shape[:2]
    if n_part == 0 or n_frames == 0:
        return
    size = _padded_size(n_frames)
    x = _centred_padded(positions, size)
    body = x[:, :, :n_frames]
    counts = n_frames - np.arange(n_frames, dtype=np.float64)

    sq = np.einsum("bkt,bkt->bt", body, body)  # D(t) = |r(t)|²
    spec_r = _fft.rfft(x, axis=-1, workers=workers)  # (B, 3, nf) complex
    del x
    if out_m4 is None:
        del body
    _msd_from_spectra(sq, _power(spec_r), size, out_msd, workers)
    if out_m4 is None:
        return

    # Fourier-space sum of all correlation terms of Σ|a-b|⁴ (see the module docstring).
    buf = np.zeros((n_part, size))

    def spectrum(values: np.ndarray) -> np.ndarray:
        buf[:, :n_frames] = values
        return _fft.rfft(buf, axis=-1, workers=workers)

    spec_d = spectrum(sq)
    total = 2.0 * (spec_d.real**2 + spec_d.imag**2)
    del spec_d
    for a in range(3):
        spec_p = spectrum(body[:, a] * sq)  # D r_α
        total -= 8.0 * (spec_p.real * spec_r.real[:, a] + spec_p.imag * spec_r.imag[:, a])
    del spec_p, spec_r
    for a in range(3):
        for b in range(a, 3):
            spec_q = spectrum(body[:, a] * body[:, b])
            total += (4.0 if a == b else 8.0) * (spec_q.real**2 + spec_q.imag**2)
    corr = _fft.irfft(total, n=size, axis=-1, workers=workers)[:, :n_frames]
    out_m4[...] = (_two_sided_partial_sums(sq * sq) + corr) / counts
    out_m4[:, 0] = 0.0


def msd_fft_run_sums(positions: np.ndarray, weights: np.ndarray, run: int, *, workers: int = 1) -> np.ndarray:
    """Weighted sums of the per-particle MSDs over consecutive runs of particles, by FFT.

    Parameters
    ----------
    positions : ndarray, shape (B, T, 3), float32 or float64
        Unwrapped positions in Å, particle-major.
    weights : ndarray, shape (B, G), float64
        Weight of each particle in each sum (e.g. one-hot species labels).
    run : int
        Particles per run: particles ``0:run``, ``run:2 run``, ... are summed separately (the last
        run may be shorter).
    workers : int
        Threads of each FFT call (:func:`scipy.fft.rfft`).

    Returns
    -------
    ndarray, shape (ceil(B / run), G, T), float64
        ``Σ_{b in run r} weights[b, g] MSD_b(m)`` in Å² (times the weights' unit); lag 0 is 0.

    Notes
    -----
    The MSD is linear in each particle's squared norms and power spectrum, so both are summed
    over a run before the inverse FFT and the partial sums: one inverse FFT per run and sum
    instead of one per particle. The per-particle MSDs are never formed.
    """
    positions = np.asarray(positions)
    if positions.ndim != 3 or positions.shape[2] != 3:
        raise ValueError(f"positions must have shape (B, T, 3); got {positions.shape}.")
    n_part, n_frames = positions.shape[:2]
    if weights.shape[0] != n_part or weights.ndim != 2:
        raise ValueError(f"weights must have shape ({n_part}, G); got {weights.shape}.")
    if run < 1:
        raise ValueError(f"run must be >= 1; got {run}.")
    edges = range(0, n_part, run)
    out = np.zeros((len(edges), weights.shape[1], n_frames))
    if n_part == 0 or n_frames == 0:
        return out
    size = _padded_size(n_frames)
    x = _centred_padded(positions, size)
    body = x[:, :, :n_frames]
    sq = np.einsum("bkt,bkt->bt", body, body)
    spec = _fft.rfft(x, axis=-1, workers=workers)
    del x, body
    power = _power(spec)
    del spec
    w = np.asarray(weights, dtype=np.float64)
    power_sums = np.concatenate([w[e:e + run].T @ power[e:e + run] for e in edges])  # (R G, nf)
    sq_sums = np.concatenate([w[e:e + run].T @ sq[e:e + run] for e in edges])  # (R G, T)
    out = np.empty_like(sq_sums)
    _msd_from_spectra(sq_sums, power_sums, size, out, workers)
    return out.reshape(len(edges), weights.shape[1], n_frames)


# --------------------------------------------------------------------------- #
# direct kernel (O(T²) per particle, exact sums)
# --------------------------------------------------------------------------- #


@_njit(nogil=True, parallel=True, cache=True)
def _moments_direct(x: np.ndarray, out_msd: np.ndarray, out_m4: np.ndarray, want_m4: bool) -> None:
    n_part, n_frames = x.shape[0], x.shape[1]
    for b in prange(n_part):
        out_msd[b, 0] = 0.0
        if want_m4:
            out_m4[b, 0] = 0.0
        for m in range(1, n_frames):
            s2 = 0.0
            s4 = 0.0
            for t in range(n_frames - m):
                dx = x[b, t + m, 0] - x[b, t, 0]
                dy = x[b, t + m, 1] - x[b, t, 1]
                dz = x[b, t + m, 2] - x[b, t, 2]
                d2 = dx * dx + dy * dy + dz * dz
                s2 += d2
                s4 += d2 * d2
            out_msd[b, m] = s2 / (n_frames - m)
            if want_m4:
                out_m4[b, m] = s4 / (n_frames - m)


def displacement_moments_direct(positions: np.ndarray, out_msd: np.ndarray, out_m4: np.ndarray | None) -> None:
    """Per-particle second and fourth displacement moments by direct sums over every origin.

    O(T²) per particle, no FFT round-off; for short series or as a check.

    Parameters
    ----------
    positions : ndarray, shape (B, T, 3), float32 or float64
        Unwrapped positions in Å, particle-major.
    out_msd : ndarray, shape (B, T), float64
        Written with ``⟨|Δr|²⟩`` in Å² per lag.
    out_m4 : ndarray, shape (B, T), float64, or None
        Written with ``⟨|Δr|⁴⟩`` in Å⁴ per lag; None skips it.
    """
    _check_moments(positions, out_msd, out_m4)
    x = np.ascontiguousarray(positions, dtype=np.float64)
    m4 = out_m4 if out_m4 is not None else np.empty((0, 0), dtype=np.float64)
    if x.shape[0] and x.shape[1]:
        _moments_direct(x, out_msd, m4, out_m4 is not None)


# --------------------------------------------------------------------------- #
# segment sums (centres of mass while streaming)
# --------------------------------------------------------------------------- #


@_njit(nogil=True, parallel=True, cache=True)
def segment_weighted_sums(positions: np.ndarray, atoms: np.ndarray, weights: np.ndarray,
                          offsets: np.ndarray, out: np.ndarray) -> None:
    """Weighted sums of positions over segments of atoms, frame by frame, in float64.

    Parameters
    ----------
    positions : ndarray, shape (F, N, 3), float32 or float64
        Positions in Å.
    atoms : ndarray, shape (K,), int64
        Column indices into ``positions``, grouped by segment.
    weights : ndarray, shape (K,), float64
        Weight of each entry of ``atoms`` (e.g. mass fractions of its molecule).
    offsets : ndarray, shape (G + 1,), int64
        Segment ``g`` holds ``atoms[offsets[g]:offsets[g + 1]]``.
    out : ndarray, shape (F, G, 3), float64
        Written with ``Σ_k weights[k] * positions[f, atoms[k]]`` per segment, in Å
        (the centre of mass when the weights of a segment are its mass fractions).
    """
    n_frames = positions.shape[0]
    n_seg = offsets.shape[0] - 1
    for f in prange(n_frames):
        for g in range(n_seg):
            sx = 0.0
            sy = 0.0
            sz = 0.0
            for k in range(offsets[g], offsets[g + 1]):
                i = atoms[k]
                w = weights[k]
                sx += w * np.float64(positions[f, i, 0])
                sy += w * np.float64(positions[f, i, 1])
                sz += w * np.float64(positions[f, i, 2])
            out[f, g, 0] = sx
            out[f, g, 1] = sy
            out[f, g, 2] = sz
