"""Atom-major on-disk stores of unwrapped coordinate time series.

Time-correlation analyses need every frame of a particle at once, while
trajectories come frame by frame. :func:`stream_to_store` reads one trajectory
once, in chunks of frames, unwraps it (:class:`trajml.unwrap.Unwrapper`) and
writes the selected particles' series into a particle-major ``.npy`` file of
shape ``(P, T, 3)``: atoms as float32 (their unwrapped coordinates exactly),
molecule centres of mass as float64. Tasks then read blocks of particles with
every frame (:meth:`StoredSeries.load`), so memory is bounded by
``chunk_size × atoms read`` while streaming and by ``block × T`` per task,
never by ``atoms × frames``.

Files are written under a temporary name and renamed once complete (atomic:
a reader never sees a half-written store), each chunk is written through a
short-lived memory map (so written pages do not accumulate in the process'
resident memory), and :class:`SeriesStore` removes its folder on exit. With a
multi-machine dask cluster the folder must be on a file system every worker
sees (the ``tmpdir`` parameter of :class:`~trajml.transport.MSD`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.chunk import Chunk
from trajml.errors import MissingBoxError

__all__ = ["StoredSeries", "SeriesStore", "StreamedSeries", "stream_to_store"]


@dataclass(frozen=True)
class StoredSeries:
    """A picklable handle on one particle-major ``.npy`` series file.

    Attributes
    ----------
    path : str
        The ``.npy`` file; shape ``(P, T, 3)``, coordinates in Å.
    shape : tuple of int
        ``(P, T, 3)``: particles, frames, xyz.
    dtype : str
        ``"float32"`` or ``"float64"``.
    """

    path: str
    shape: tuple[int, int, int]
    dtype: str

    @property
    def n_particles(self) -> int:
        """int: number of particles P."""
        return self.shape[0]

    @property
    def n_frames(self) -> int:
        """int: number of frames T."""
        return self.shape[1]

    def load(self, lo: int, hi: int) -> np.ndarray:
        """Particles ``lo:hi`` with every frame.

        Returns
        -------
        ndarray, shape (hi - lo, T, 3), float64
            Coordinates in Å (a copy; the file is unmapped afterwards).
        """
        mapped = np.load(self.path, mmap_mode="r")
        try:
            return np.array(mapped[lo:hi], dtype=np.float64)
        finally:
            del mapped


class SeriesStore:
    """A temporary folder of series files, removed by :meth:`close` (or on leaving a ``with`` block).

    Parameters
    ----------
    tmpdir : str, optional
        Parent folder (default: the system's temporary folder).
    """

    def __init__(self, tmpdir: str | os.PathLike | None = None) -> None:
        self.folder = tempfile.mkdtemp(prefix="trajml-series-", dir=tmpdir)

    def create(self, name: str, n_particles: int, n_frames: int, dtype: Any) -> "_SeriesWriter":
        """Start writing the series ``name`` of shape (n_particles, n_frames, 3)."""
        return _SeriesWriter(os.path.join(self.folder, f"{name}.npy"), (n_particles, n_frames, 3), np.dtype(dtype))

    def close(self) -> None:
        """Remove the folder and everything in it."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "SeriesStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _SeriesWriter:
    """Writes frame slabs into a particle-major .npy file, then renames it into place."""

    def __init__(self, path: str, shape: tuple[int, int, int], dtype: np.dtype) -> None:
        self.path = path
        self.partial = path + ".part"
        self.shape = shape
        self.dtype = dtype
        np.lib.format.open_memmap(self.partial, mode="w+", dtype=dtype, shape=shape).flush()
        self.written = 0

    def write(self, values: np.ndarray) -> None:
        """Append frames: ``values`` (F, P, 3) in Å, frame-major as read."""
        mapped = np.lib.format.open_memmap(self.partial, mode="r+")
        try:
            mapped[:, self.written:self.written + values.shape[0], :] = values.transpose(1, 0, 2)
            mapped.flush()
        finally:
            del mapped
        self.written += values.shape[0]

    def commit(self) -> StoredSeries:
        """Check completeness and rename into place; return the handle."""
        if self.written != self.shape[1]:
            raise RuntimeError(f"Series file got {self.written} of {self.shape[1]} frames.")
        os.replace(self.partial, self.path)
        return StoredSeries(self.path, self.shape, self.dtype.name)


@dataclass(frozen=True)
class StreamedSeries:
    """What :func:`stream_to_store` wrote and measured.

    Attributes
    ----------
    series : StoredSeries
        Particle series (atoms or molecule centres of mass), Å.
    times : ndarray, shape (T,), float64
        Time of each stored frame in ps.
    frames : ndarray, shape (T,), int64
        Frame numbers stored.
    drift : ndarray, shape (T, 3), float64, or None
        Displacement of the system's mass-weighted centre of mass from the first
        stored frame, in Å (None unless asked for).
    """

    series: StoredSeries
    times: np.ndarray
    frames: np.ndarray
    drift: np.ndarray | None


def _files(source: Any, traj_id: int) -> str:
    return ", ".join(f"'{p}'" for p in source.members[traj_id].parts)


def _chunks(source: Any, read_atoms: np.ndarray | None, traj_id: int, start: int, stop: int | None,
            chunk_size: int, unwrap: bool) -> Iterator[Chunk]:
    """Consecutive chunks of frames start:stop (step 1), unwrapped when asked."""
    from trajml.unwrap import Unwrapper

    unwrapper = Unwrapper()
    for spec in source.partition(chunk_size, start=start, stop=stop, traj_ids=[traj_id]):
        chunk = source.read(spec, read_atoms)
        if not unwrap:
            yield chunk
            continue
        if chunk.boxes is None:
            raise MissingBoxError(
                f"MSD needs unwrapped coordinates, but trajectory {traj_id} ({_files(source, traj_id)}) has no "
                f"periodic box at frame {spec.start} to unwrap them with. Give a trajectory with boxes, or pass "
                "unwrap=False (--no-unwrap) if its coordinates are already unwrapped."
            )
        try:
            yield unwrapper(chunk)
        except MissingBoxError as exc:
            raise MissingBoxError(f"{exc} Files: {_files(source, traj_id)}.") from None


def stream_to_store(
    source: Any,
    store: SeriesStore,
    atoms: np.ndarray,
    *,
    segments: np.ndarray | None = None,
    masses: np.ndarray | None = None,
    remove_drift: bool = False,
    unwrap: bool = True,
    traj_id: int = 0,
    start: int = 0,
    stop: int | None = None,
    step: int = 1,
    chunk_size: int = 100,
    progress: bool = False,
) -> StreamedSeries:
    """Read a trajectory once and store the selected particles' unwrapped series.

    Parameters
    ----------
    source : trajml.io.Source
        The trajectories.
    store : SeriesStore
        Where the series file goes.
    atoms : ndarray, shape (K,), int64
        Topology indices of the selected atoms; with ``segments`` they must be
        grouped by segment (molecule).
    segments : ndarray, shape (G + 1,), int64, optional
        Molecule boundaries into ``atoms``: store the mass-weighted centre of
        mass of each ``atoms[segments[g]:segments[g + 1]]`` (float64) instead of
        the atoms (float32).
    masses : ndarray, shape (N,), float64, optional
        Topology masses in amu (needed for ``segments`` and ``remove_drift``).
    remove_drift : bool
        Also compute the system's centre-of-mass displacement over **all** atoms.
    unwrap : bool
        No-jump unwrap (needs boxes); False for coordinates already unwrapped.
    traj_id, start, stop, step : int
        Trajectory and frames ``start:stop:step``. Every frame of ``start:stop``
        is read and unwrapped and every ``step``-th is stored, so unwrapping
        stays exact for any step.
    chunk_size : int
        Frames per read.
    progress : bool
        Show a progress bar.

    Returns
    -------
    StreamedSeries
    """
    from tqdm.auto import tqdm

    from trajml.kernels.msd import segment_weighted_sums

    n_total = source.n_frames_of(traj_id)
    end = n_total if stop is None else min(stop, n_total)
    keep_frames = np.arange(start, end, step, dtype=np.int64)
    n_keep = keep_frames.size
    read_atoms = None if remove_drift else atoms
    cols = atoms if remove_drift else np.arange(atoms.size, dtype=np.int64)
    if segments is not None:
        sel_mass = masses[atoms]
        seg_mass = np.add.reduceat(sel_mass, segments[:-1])
        weights = sel_mass / np.repeat(seg_mass, np.diff(segments))
        n_part, dtype = segments.size - 1, np.float64
    else:
        n_part, dtype = atoms.size, np.float32
    if remove_drift:
        all_atoms = np.arange(source.n_atoms, dtype=np.int64)
        all_w = masses / masses.sum()
        all_off = np.array([0, source.n_atoms], dtype=np.int64)
    writer = store.create("series", n_part, n_keep, dtype)
    times = np.empty(n_keep)
    drift = np.empty((n_keep, 3)) if remove_drift else None
    done = 0
    bar = tqdm(total=max(end - start, 0), desc="MSD: unwrap and store", unit="frame", disable=not progress, leave=False)
    try:
        for chunk in _chunks(source, read_atoms, traj_id, start, end, chunk_size, unwrap):
            bar.update(chunk.n_frames)
            keep = np.flatnonzero((chunk.frames - start) % step == 0)
            if keep.size == 0:
                continue
            pos = chunk.positions if keep.size == chunk.n_frames else np.ascontiguousarray(chunk.positions[keep])
            if segments is not None:
                values = np.empty((pos.shape[0], n_part, 3))
                segment_weighted_sums(pos, cols, weights, segments, values)
            else:
                values = pos if not remove_drift else pos[:, cols]
            writer.write(values)
            if drift is not None:
                com = np.empty((pos.shape[0], 1, 3))
                segment_weighted_sums(pos, all_atoms, all_w, all_off, com)
                drift[done:done + keep.size] = com[:, 0]
            times[done:done + keep.size] = chunk.times[keep]
            done += keep.size
    finally:
        bar.close()
    series = writer.commit()
    if drift is not None:
        drift -= drift[:1].copy()
    return StreamedSeries(series=series, times=times, frames=keep_frames, drift=drift)
