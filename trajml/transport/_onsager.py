"""Internals of :mod:`trajml.transport.conductivity`: one streaming pass, per-block tasks, cross-MSD kernel.

* :func:`stream_ions` reads one trajectory once, in chunks of frames, no-jump
  unwraps it and writes every ion particle's series (an atom, or the
  mass-weighted centre of the selected atoms of a molecule) to a particle-major
  float64 store (:class:`~trajml.transport.store.SeriesStore`). The same pass
  records each frame's box volume and, when asked, the whole system's
  centre-of-mass displacement (over **all** atoms). It is a sibling of
  :func:`~trajml.transport.store.stream_to_store` that also keeps volumes.
* :func:`ion_block_task` loads a block of particles with every frame,
  subtracts the drift, and returns their per-particle MSDs (for self-diffusion
  and its error over particles) and the per-species **sums** of their
  positions, ``M_s(t) = Σ_{i∈s} r_i(t)`` (Å), so the collective displacements
  need only ``(S, T, 3)`` memory.
* :func:`cross_msd_fft` evaluates ``Z_ij(m) = ⟨ΔM_i(m) · ΔM_j(m)⟩`` over all
  time origins by FFT; :func:`cross_msd_direct` is its O(T²) NumPy twin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import fft as _fft

from trajml.errors import MissingBoxError
from trajml.transport.store import SeriesStore, StoredSeries, _files

__all__ = ["IonStream", "stream_ions", "ion_block_task", "cross_msd_fft", "cross_msd_direct", "linear_weights"]


@dataclass(frozen=True)
class IonStream:
    """What :func:`stream_ions` wrote and measured.

    Attributes
    ----------
    series : StoredSeries
        Ion particle series ``(P, T, 3)`` float64 in Å.
    times : ndarray, shape (T,), float64
        Time of each stored frame in ps.
    volumes : ndarray, shape (T,), float64, or None
        Box volume of each stored frame in Å³ (None without boxes).
    drift : ndarray, shape (T, 3), float64, or None
        The system's centre-of-mass displacement from the first stored frame, in Å.
    """

    series: StoredSeries
    times: np.ndarray
    volumes: np.ndarray | None
    drift: np.ndarray | None


def stream_ions(source: Any, store: SeriesStore, atoms: np.ndarray, weights: np.ndarray, offsets: np.ndarray, *,
                masses: np.ndarray | None, remove_drift: bool, unwrap: bool, traj_id: int, start: int,
                stop: int | None, step: int, chunk_size: int, progress: bool, owner: str) -> IonStream:
    """Stream one trajectory once and store the ions' unwrapped particle series.

    Parameters
    ----------
    source : trajml.io.Source
        The trajectories.
    store : SeriesStore
        Where the series file goes.
    atoms : ndarray, shape (K,), int64
        Topology indices, grouped by particle.
    weights : ndarray, shape (K,), float64
        Weight of each atom in its particle (1 for atom particles, mass fractions for molecules).
    offsets : ndarray, shape (P + 1,), int64
        Particle ``p`` holds ``atoms[offsets[p]:offsets[p + 1]]``.
    masses : ndarray, shape (N,), float64, or None
        Topology masses in amu (needed with ``remove_drift``).
    remove_drift : bool
        Also compute the system's mass-weighted centre-of-mass displacement over all atoms.
    unwrap : bool
        No-jump unwrap (needs boxes).
    traj_id, start, stop, step : int
        Trajectory and frames ``start:stop:step`` (every frame of ``start:stop`` is read and unwrapped).
    chunk_size : int
        Frames per read.
    progress : bool
        Show a progress bar.
    owner : str
        Name of the analysis, for messages.

    Returns
    -------
    IonStream
    """
    from tqdm.auto import tqdm

    from trajml.kernels.correlation import segment_weighted_sums
    from trajml.unwrap import Unwrapper

    n_total = source.n_frames_of(traj_id)
    end = n_total if stop is None else min(stop, n_total)
    n_keep = len(range(start, end, step))
    n_part = offsets.size - 1
    if remove_drift:
        read_atoms = None
        cols = atoms
        all_atoms = np.arange(source.n_atoms, dtype=np.int64)
        all_w = masses / masses.sum()
        all_off = np.array([0, source.n_atoms], dtype=np.int64)
    else:
        read_atoms = np.unique(atoms)
        cols = np.searchsorted(read_atoms, atoms).astype(np.int64)
    writer = store.create("ions", n_part, n_keep, np.float64)
    times = np.empty(n_keep)
    volumes: np.ndarray | None = np.empty(n_keep)
    drift = np.empty((n_keep, 3)) if remove_drift else None
    unwrapper = Unwrapper()
    done = 0
    bar = tqdm(total=max(end - start, 0), desc=f"{owner}: unwrap and store", unit="frame", disable=not progress,
               leave=False)
    try:
        for spec in source.partition(chunk_size, start=start, stop=end, traj_ids=[traj_id]):
            chunk = source.read(spec, read_atoms)
            if chunk.boxes is None:
                if unwrap:
                    raise MissingBoxError(
                        f"{owner} needs unwrapped coordinates, but trajectory {traj_id} ({_files(source, traj_id)}) "
                        f"has no periodic box at frame {spec.start} to unwrap them with. Give a trajectory with "
                        "boxes, or pass unwrap=False (--no-unwrap) and the volume if its coordinates are already "
                        "unwrapped.")
                volumes = None
            elif unwrap:
                try:
                    chunk = unwrapper(chunk)
                except MissingBoxError as exc:
                    raise MissingBoxError(f"{exc} Files: {_files(source, traj_id)}.") from None
            bar.update(chunk.n_frames)
            keep = np.flatnonzero((chunk.frames - start) % step == 0)
            if keep.size == 0:
                continue
            pos = chunk.positions if keep.size == chunk.n_frames else np.ascontiguousarray(chunk.positions[keep])
            values = np.empty((pos.shape[0], n_part, 3))
            segment_weighted_sums(pos, cols, weights, offsets, values)
            writer.write(values)
            if drift is not None:
                com = np.empty((pos.shape[0], 1, 3))
                segment_weighted_sums(pos, all_atoms, all_w, all_off, com)
                drift[done:done + keep.size] = com[:, 0]
            if volumes is not None and chunk.boxes is not None:
                volumes[done:done + keep.size] = np.abs(np.linalg.det(chunk.boxes[keep].astype(np.float64)))
            times[done:done + keep.size] = chunk.times[keep]
            done += keep.size
    finally:
        bar.close()
    series = writer.commit()
    if drift is not None:
        drift -= drift[:1].copy()
    return IonStream(series=series, times=times, volumes=volumes, drift=drift)


def ion_block_task(series: StoredSeries, drift: np.ndarray | None, labels: np.ndarray, n_groups: int,
                   max_lag: int, bounds: tuple[int, int]) -> dict[str, np.ndarray]:
    """Per-particle MSDs and per-species position sums of particles ``bounds[0]:bounds[1]`` (runs on a worker).

    Returns
    -------
    dict
        ``"msd"``: (B, max_lag + 1) float64 per-particle MSD in Å² (lags 0..max_lag);
        ``"msd_sum"``: (G, T) float64 per-species sum of the particles' MSDs in Å²;
        ``"sums"``: (G, T, 3) float64 per-species sums of drift-corrected positions in Å.
    """
    from trajml.kernels.correlation import msd_fft

    lo, hi = bounds
    pos = series.load(lo, hi)
    if drift is not None:
        pos -= drift[None, :, :]
    msd = np.empty(pos.shape[:2])
    msd_fft(pos, msd)
    onehot = (labels[lo:hi, None] == np.arange(n_groups)[None, :]).astype(np.float64)  # (B, G)
    sums = np.einsum("bg,btk->gtk", onehot, pos)
    return {"msd": msd[:, :max_lag + 1].copy(), "msd_sum": onehot.T @ msd, "sums": sums}


def _two_sided_partial_sums(values: np.ndarray) -> np.ndarray:
    """``Σ_{t=0}^{T-1-m} (v(t+m) + v(t))`` for every lag m along the last axis."""
    n = values.shape[-1]
    total = 2.0 * values.sum(axis=-1, keepdims=True)
    head = np.cumsum(values, axis=-1)
    tail = np.cumsum(values[..., ::-1], axis=-1)
    out = np.empty_like(values)
    out[..., 0] = total[..., 0]
    if n > 1:
        out[..., 1:] = total - head[..., :-1] - tail[..., :-1]
    return out


def cross_msd_fft(series: np.ndarray) -> np.ndarray:
    """Cross mean-squared displacements of collective coordinates over all time origins, by FFT.

    Parameters
    ----------
    series : ndarray, shape (..., S, T, 3), float64
        Collective coordinates ``M_s(t)`` in Å (e.g. sums of unwrapped positions per species).

    Returns
    -------
    ndarray, shape (..., S, S, T), float64
        ``Z_ij(m) = (1/(T-m)) Σ_t [M_i(t+m) − M_i(t)] · [M_j(t+m) − M_j(t)]`` in Å², symmetric in i, j;
        lag 0 is exactly 0.

    Notes
    -----
    ``ΔM_i·ΔM_j = a_i·a_j + b_i·b_j − a_i·b_j − b_i·a_j`` with ``a = M(t+m)``, ``b = M(t)``: the first two
    terms are partial sums of ``M_i(t)·M_j(t)`` and the last two the correlations ``c_ij + c_ji``, which
    equal ``2 irfft(Re(F_i F_j*))`` of zero-padded spectra. Series are centred on their time average
    first (displacements do not change) to keep round-off small.
    """
    x = np.asarray(series, dtype=np.float64)
    x = x - x.mean(axis=-2, keepdims=True)
    n = x.shape[-2]
    size = int(_fft.next_fast_len(2 * n, real=True))
    spec = _fft.rfft(x, n=size, axis=-2)  # (..., S, F, 3)
    cross = np.einsum("...ifk,...jfk->...ijf", spec, spec.conj()).real
    corr = _fft.irfft(cross, n=size, axis=-1)[..., :n]
    dots = np.einsum("...itk,...jtk->...ijt", x, x)
    counts = n - np.arange(n, dtype=np.float64)
    out = (_two_sided_partial_sums(dots) - 2.0 * corr) / counts
    out[..., 0] = 0.0
    return out


def cross_msd_direct(series: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`cross_msd_fft`: a loop over lags, vectorised over origins (O(T²))."""
    x = np.asarray(series, dtype=np.float64)
    n = x.shape[-2]
    out = np.zeros(x.shape[:-3] + (x.shape[-3], x.shape[-3], n))
    for m in range(1, n):
        d = x[..., m:, :] - x[..., :-m, :]
        out[..., m] = np.einsum("...itk,...jtk->...ij", d, d) / (n - m)
    return out


def linear_weights(t: np.ndarray) -> np.ndarray:
    """Weights ``w`` with ``slope = w · y`` for the least-squares line through ``(t, y)``."""
    dt = np.asarray(t, dtype=np.float64) - np.mean(t)
    return dt / np.dot(dt, dt)


def delta_method(func: Any, theta: np.ndarray, cov: np.ndarray) -> float:
    """Standard error of ``func(theta)`` from the covariance of ``theta`` (first-order propagation)."""
    theta = np.asarray(theta, dtype=np.float64)
    base = float(func(theta))
    grad = np.empty(theta.size)
    for k in range(theta.size):
        h = 1e-6 * max(abs(theta[k]), 1e-300) if theta[k] != 0 else 1e-12
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        grad[k] = (func(up) - func(down)) / (2 * h)
    var = float(grad @ cov @ grad)
    return math.sqrt(var) if var >= 0 and math.isfinite(base) else math.nan
