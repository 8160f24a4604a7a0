"""Stores of unwrapped coordinate time series: on disk, or in memory when small.

Time-correlation analyses need every frame of a particle at once, while
trajectories come frame by frame. :func:`stream_to_store` reads one trajectory
once, in chunks of frames, no-jump unwraps it and writes the selected
particles' series into a store: atoms as float32 (their unwrapped coordinates
exactly), molecule centres of mass as float64. Tasks then read blocks of
particles with every frame (:meth:`StoredSeries.load`).

Both stores are **frame-major** ``(T, P, 3)``, so every chunk is written as one
contiguous slab (no transposition while streaming); a block of particles is a
strided ``(T, B, 3)`` read, handed to the kernels as a ``(B, T, 3)`` view.

* :class:`StoredSeries` is a ``.npy`` file in a :class:`SeriesStore` folder:
  memory is bounded by ``chunk_size × atoms read`` while streaming and by
  ``block × T`` per task, never by ``atoms × frames``. Files are written under
  a temporary name and renamed once complete (atomic: a reader never sees a
  half-written store) with plain buffered writes (written pages stay in the
  page cache, not in the process' resident memory), and :class:`SeriesStore`
  removes its folder on exit; a killed process cannot, so the folder's name
  carries the PID and host (``trajml-series-PID@HOST.XXXX``) and
  :func:`remove_stale_series_stores` removes those of dead processes. With a multi-machine dask cluster the folder must
  be on a file system every worker sees (the ``tmpdir`` parameter of
  :class:`~trajml.transport.MSD`).
* :class:`MemorySeries` keeps the same array in memory
  (:meth:`SeriesStore.create` with ``in_memory=True``): for selections whose
  series fit a memory budget, with tasks that run in this process.

Unwrapping follows :class:`trajml.unwrap.Unwrapper` (integer image counts,
float64 fractional coordinates). Reads of fewer than
:data:`NUMBA_UNWRAP_MIN_ATOMS` atoms use :class:`NumpyNoJump`, a NumPy
evaluation of the same arithmetic (bit-identical output), so that small
selections do not load the numba runtime (~100 MiB resident, ~0.3 s).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml._processes import pid_alive
from trajml.chunk import Chunk
from trajml.errors import MissingBoxError

__all__ = ["StoredSeries", "MemorySeries", "SeriesStore", "remove_stale_series_stores", "StreamedSeries", "NumpyNoJump",
           "stream_to_store", "NUMBA_UNWRAP_MIN_ATOMS"]

#: Reads of at least this many atoms per frame are unwrapped by the numba kernel, smaller ones by NumPy.
NUMBA_UNWRAP_MIN_ATOMS = 8192


@dataclass(frozen=True)
class StoredSeries:
    """A picklable handle on one frame-major ``.npy`` series file.

    Attributes
    ----------
    path : str
        The ``.npy`` file; array shape ``(T, P, 3)`` (frame-major), coordinates in Å.
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
            Coordinates in Å (a writable copy, a transposed view of a
            ``(T, hi - lo, 3)`` array; the file is unmapped afterwards).
        """
        mapped = np.load(self.path, mmap_mode="r")
        try:
            return np.array(mapped[:, lo:hi], dtype=np.float64).transpose(1, 0, 2)
        finally:
            del mapped

    def view(self, lo: int, hi: int) -> np.ndarray:
        """Particles ``lo:hi`` with every frame, in the stored dtype (for read-only use).

        Returns
        -------
        ndarray, shape (hi - lo, T, 3), float32 or float64
            Coordinates in Å (a particle-major copy of the block, so a particle's frames are
            contiguous for the time-block reshapes; the file is unmapped afterwards).
        """
        mapped = np.load(self.path, mmap_mode="r")
        try:
            return np.ascontiguousarray(mapped[:, lo:hi].transpose(1, 0, 2))
        finally:
            del mapped


@dataclass(frozen=True, eq=False)
class MemorySeries:
    """Particle series held in memory: the in-memory twin of :class:`StoredSeries`.

    Attributes
    ----------
    array : ndarray, shape (T, P, 3), float32 or float64
        Coordinates in Å, frame-major.
    """

    array: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """tuple of int: ``(P, T, 3)``: particles, frames, xyz."""
        n_frames, n_part, _ = self.array.shape
        return (n_part, n_frames, 3)

    @property
    def dtype(self) -> str:
        """str: ``"float32"`` or ``"float64"``."""
        return self.array.dtype.name

    @property
    def n_particles(self) -> int:
        """int: number of particles P."""
        return self.array.shape[1]

    @property
    def n_frames(self) -> int:
        """int: number of frames T."""
        return self.array.shape[0]

    def load(self, lo: int, hi: int) -> np.ndarray:
        """Particles ``lo:hi`` with every frame: ndarray (hi - lo, T, 3), float64, Å (a writable copy)."""
        return np.array(self.array[:, lo:hi], dtype=np.float64).transpose(1, 0, 2)

    def view(self, lo: int, hi: int) -> np.ndarray:
        """Particles ``lo:hi`` with every frame: a read-only ``(hi - lo, T, 3)`` view, stored dtype, Å."""
        out = self.array[:, lo:hi].transpose(1, 0, 2)
        out.flags.writeable = False
        return out


_SERIES_PREFIX = "trajml-series-"


def remove_stale_series_stores(tmpdir: str | os.PathLike | None = None) -> list[str]:
    """Remove the series store folders that processes of this host left when killed; return their paths.

    Only folders named by :class:`SeriesStore` on this host whose PID is no longer running are
    removed, so the stores of runs still working (of any user) are left alone.

    Parameters
    ----------
    tmpdir : str, optional
        The folder the stores were made in (default: the system's temporary folder).
    """
    base, host, removed = os.fspath(tmpdir) if tmpdir else tempfile.gettempdir(), socket.gethostname(), []
    try:
        names = os.listdir(base)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(_SERIES_PREFIX) or "@" not in name:
            continue
        pid, _, rest = name[len(_SERIES_PREFIX):].partition("@")
        if not pid.isdigit() or rest.rpartition(".")[0] != host or pid_alive(int(pid)):
            continue
        path = os.path.join(base, name)
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):  # another user's folder stays (no permission): not ours to report
            removed.append(path)
    return removed


class SeriesStore:
    """A temporary folder of series files, removed by :meth:`close` (or on leaving a ``with`` block).

    Parameters
    ----------
    tmpdir : str, optional
        Parent folder (default: the system's temporary folder).
    """

    def __init__(self, tmpdir: str | os.PathLike | None = None) -> None:
        # PID and host in the name: a killed process's folder can be told from a live one's.
        self.folder = tempfile.mkdtemp(prefix=f"{_SERIES_PREFIX}{os.getpid()}@{socket.gethostname()}.", dir=tmpdir)

    def create(self, name: str, n_particles: int, n_frames: int, dtype: Any, *,
               in_memory: bool = False) -> "_SeriesWriter | _MemoryWriter":
        """Start writing the series ``name`` of ``n_particles`` particles and ``n_frames`` frames.

        With ``in_memory`` the series is kept in a NumPy array
        (:class:`MemorySeries`) instead of a file in the folder.
        """
        shape = (n_particles, n_frames, 3)
        if in_memory:
            return _MemoryWriter(shape, np.dtype(dtype))
        return _SeriesWriter(os.path.join(self.folder, f"{name}.npy"), shape, np.dtype(dtype))

    def close(self) -> None:
        """Remove the folder and everything in it."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "SeriesStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _SeriesWriter:
    """Appends frame slabs to a frame-major .npy file, then renames it into place."""

    def __init__(self, path: str, shape: tuple[int, int, int], dtype: np.dtype) -> None:
        self.path = path
        self.partial = path + ".part"
        self.shape = shape
        self.dtype = dtype
        n_part, n_frames, _ = shape
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                  "shape": (n_frames, n_part, 3)}
        self._fh = open(self.partial, "wb")  # noqa: SIM115 (closed by commit/close)
        np.lib.format.write_array_header_2_0(self._fh, header)
        self.written = 0

    def write(self, values: np.ndarray) -> None:
        """Append frames: ``values`` (F, P, 3) in Å, frame-major as read (one contiguous write)."""
        if values.shape[1:] != (self.shape[0], 3):
            raise ValueError(f"Series slabs must have shape (F, {self.shape[0]}, 3); got {values.shape}.")
        self._fh.write(np.ascontiguousarray(values, dtype=self.dtype).data)
        self.written += values.shape[0]

    def buffer(self, n_frames: int) -> np.ndarray | None:
        """A slab to fill in place before :meth:`write` (None: give any array to :meth:`write`)."""
        return None

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self._fh.closed:
            self._fh.close()

    def commit(self) -> StoredSeries:
        """Check completeness and rename into place; return the handle."""
        self.close()
        if self.written != self.shape[1]:
            raise RuntimeError(f"Series file got {self.written} of {self.shape[1]} frames.")
        os.replace(self.partial, self.path)
        return StoredSeries(self.path, self.shape, self.dtype.name)


class _MemoryWriter:
    """Fills a frame-major in-memory array; :meth:`buffer` hands out the next slab to write in place."""

    def __init__(self, shape: tuple[int, int, int], dtype: np.dtype) -> None:
        self.shape = shape
        self.dtype = dtype
        n_part, n_frames, _ = shape
        self.array = np.empty((n_frames, n_part, 3), dtype=dtype)
        self.written = 0

    def buffer(self, n_frames: int) -> np.ndarray:
        """The next ``n_frames`` frames of the array, to fill before :meth:`write`."""
        return self.array[self.written:self.written + n_frames]

    def write(self, values: np.ndarray) -> None:
        """Append frames: ``values`` (F, P, 3) in Å (copied unless it is the slab from :meth:`buffer`)."""
        slab = self.array[self.written:self.written + values.shape[0]]
        if not np.shares_memory(slab, values):
            slab[...] = values
        self.written += values.shape[0]

    def close(self) -> None:
        """Nothing to release."""

    def commit(self) -> MemorySeries:
        """Check completeness; return the series."""
        if self.written != self.shape[1]:
            raise RuntimeError(f"Series array got {self.written} of {self.shape[1]} frames.")
        return MemorySeries(self.array)


@dataclass(frozen=True)
class StreamedSeries:
    """What :func:`stream_to_store` wrote and measured.

    Attributes
    ----------
    series : StoredSeries or MemorySeries
        Particle series (atoms or molecule centres of mass), Å.
    times : ndarray, shape (T,), float64
        Time of each stored frame in ps.
    frames : ndarray, shape (T,), int64
        Frame numbers stored.
    drift : ndarray, shape (T, 3), float64, or None
        Displacement of the system's mass-weighted centre of mass from the first
        stored frame, in Å (None unless asked for).
    """

    series: StoredSeries | MemorySeries
    times: np.ndarray
    frames: np.ndarray
    drift: np.ndarray | None


def _files(source: Any, traj_id: int) -> str:
    return ", ".join(f"'{p}'" for p in source.members[traj_id].parts)


_DIAG = (np.arange(3), np.arange(3))
_OFF_DIAG = (np.array([0, 0, 1, 1, 2, 2]), np.array([1, 2, 0, 2, 0, 1]))


def _box_inverses(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses (F, 3, 3) float64 of box matrices by cofactors (the arithmetic of the numba kernel), and
    determinants."""
    b = boxes.astype(np.float64)
    a, b_, c = b[:, 0, 0], b[:, 0, 1], b[:, 0, 2]
    d, e, f = b[:, 1, 0], b[:, 1, 1], b[:, 1, 2]
    g, h, k = b[:, 2, 0], b[:, 2, 1], b[:, 2, 2]
    c00, c01, c02 = e * k - f * h, f * g - d * k, d * h - e * g
    det = a * c00 + b_ * c01 + c * c02
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_det = 1.0 / det
    out = np.empty(b.shape)
    out[:, 0, 0], out[:, 0, 1], out[:, 0, 2] = c00 * inv_det, (c * h - b_ * k) * inv_det, (b_ * f - c * e) * inv_det
    out[:, 1, 0], out[:, 1, 1], out[:, 1, 2] = c01 * inv_det, (a * k - c * g) * inv_det, (c * d - a * f) * inv_det
    out[:, 2, 0], out[:, 2, 1], out[:, 2, 2] = c02 * inv_det, (b_ * g - a * h) * inv_det, (a * e - b_ * d) * inv_det
    return out, det


class NumpyNoJump:
    """Streaming no-jump unwrapper in NumPy, bit-identical to :class:`trajml.unwrap.Unwrapper`.

    It evaluates the integer-image rule of :mod:`trajml.unwrap` with the same
    float64 operations in the same order as the numba kernel (cofactor box
    inverses, ``f = x·inv`` term by term, ``n -= rint(Δf)``, ``u = x + n·L``
    rounded once to float32), so its output equals the kernel's bit for bit.
    It is meant for small atom counts, where loading numba costs more than it
    saves; chunks must be consecutive frames of one trajectory (as from
    :meth:`~trajml.io.Source.partition`).

    Parameters
    ----------
    block : int
        Atoms per inner step (bounds the float64 work arrays to ``F × block × 3``).
    """

    def __init__(self, block: int = 2048) -> None:
        self.block = int(block)
        self.fractional: np.ndarray | None = None  # (N, 3) float64, last frame seen
        self.images: np.ndarray | None = None  # (N, 3) float64 integral image counts of the last frame

    def __call__(self, positions: np.ndarray, boxes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Unwrap the next chunk.

        Parameters
        ----------
        positions : ndarray, shape (F, N, 3), float32
            Wrapped coordinates in Å.
        boxes : ndarray, shape (F, 3, 3), float32 or float64
            Box matrices (rows are box vectors) in Å; callers check they are invertible.
        out : ndarray, shape (F, N, 3), optional
            Where to write the unwrapped coordinates (float32 values, in Å).

        Returns
        -------
        ndarray, shape (F, N, 3)
            ``out`` (a new float32 array when None).
        """
        n_frames, n_atoms = positions.shape[:2]
        if out is None:
            out = np.empty(positions.shape, dtype=np.float32)
        if n_frames == 0:
            return out
        inv, _ = _box_inverses(boxes)
        vectors = boxes.astype(np.float64)
        ortho = not (np.any(inv[:, _OFF_DIAG[0], _OFF_DIAG[1]]) or np.any(vectors[:, _OFF_DIAG[0], _OFF_DIAG[1]]))
        first = self.fractional is None
        if first:
            self.fractional = np.empty((n_atoms, 3))
            self.images = np.zeros((n_atoms, 3))
        width = min(self.block, n_atoms)
        x_buf, f_buf, n_buf = (np.empty((n_frames, width, 3)) for _ in range(3))
        inv_d = inv[:, None, _DIAG[0], _DIAG[1]]
        vec_d = vectors[:, None, _DIAG[0], _DIAG[1]]
        for i0 in range(0, n_atoms, width):
            i1 = min(n_atoms, i0 + width)
            x, frac, n = x_buf[:, :i1 - i0], f_buf[:, :i1 - i0], n_buf[:, :i1 - i0]
            x[...] = positions[:, i0:i1]
            if ortho:  # the off-diagonal terms are exact zeros: dropping them changes no bit
                np.multiply(x, inv_d, out=frac)
            else:
                np.multiply(x[..., 0:1], inv[:, None, 0, :], out=frac)
                frac += x[..., 1:2] * inv[:, None, 1, :]
                frac += x[..., 2:3] * inv[:, None, 2, :]
            if first:
                n[0] = 0.0
            else:
                np.subtract(frac[0], self.fractional[i0:i1], out=n[0])
            np.subtract(frac[1:], frac[:-1], out=n[1:])
            np.rint(n, out=n)
            np.cumsum(n, axis=0, out=n)
            np.subtract(self.images[i0:i1], n, out=n)  # image counts of every frame
            self.fractional[i0:i1] = frac[-1]
            self.images[i0:i1] = n[-1]
            if ortho:
                n *= vec_d
                n += x
                out[:, i0:i1] = n
            else:
                np.add(x, n[..., 0:1] * vectors[:, None, 0, :], out=frac)
                frac += n[..., 1:2] * vectors[:, None, 1, :]
                frac += n[..., 2:3] * vectors[:, None, 2, :]
                out[:, i0:i1] = frac
        return out


def _check_boxes(chunk: Chunk, source: Any, traj_id: int, start: int) -> None:
    if chunk.boxes is None:
        raise MissingBoxError(
            f"MSD needs unwrapped coordinates, but trajectory {traj_id} ({_files(source, traj_id)}) has no "
            f"periodic box at frame {start} to unwrap them with. Give a trajectory with boxes, or pass "
            "unwrap=False (--no-unwrap) if its coordinates are already unwrapped."
        )
    if chunk.n_frames:
        _, det = _box_inverses(chunk.boxes)
        bad = np.flatnonzero(~(np.isfinite(det) & (det != 0.0)))
        if bad.size:
            raise MissingBoxError(
                f"No-jump unwrapping needs a periodic box in every frame, but trajectory {traj_id} frame "
                f"{int(chunk.frames[bad[0]])} has a box of zero or undefined volume "
                f"({chunk.boxes[bad[0]].tolist()} Å). Files: {_files(source, traj_id)}."
            )


def _chunks(source: Any, read_atoms: np.ndarray | None, traj_id: int, start: int, stop: int | None,
            chunk_size: int, unwrap: bool) -> Iterator[tuple[Chunk, Any]]:
    """Consecutive chunks of frames start:stop (step 1), each with a function that unwraps it.

    The function takes an optional ``out`` array and returns the chunk's
    (unwrapped, when asked) float32 positions; call it once per chunk, in order.
    """
    n_read = source.n_atoms if read_atoms is None else read_atoms.size
    numba_unwrap = unwrap and n_read >= NUMBA_UNWRAP_MIN_ATOMS
    if numba_unwrap:
        from trajml.unwrap import Unwrapper

        unwrapper: Any = Unwrapper()
    else:
        unwrapper = NumpyNoJump()
    for spec in source.partition(chunk_size, start=start, stop=stop, traj_ids=[traj_id]):
        chunk = source.read(spec, read_atoms)
        if not unwrap:
            yield chunk, lambda out=None, c=chunk: c.positions
            continue
        _check_boxes(chunk, source, traj_id, spec.start)
        if numba_unwrap:
            yield chunk, lambda out=None, c=chunk: unwrapper(c).positions
        else:
            yield chunk, lambda out=None, c=chunk: unwrapper(c.positions, c.boxes, out)


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
    in_memory: bool = False,
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
    in_memory : bool
        Keep the series in memory (:class:`MemorySeries`, ``T × P × 3`` values)
        instead of a file of ``store``.

    Returns
    -------
    StreamedSeries
    """
    from tqdm.auto import tqdm

    from trajml.kernels.correlation import segment_weighted_sums

    n_total = source.n_frames_of(traj_id)
    end = n_total if stop is None else min(stop, n_total)
    keep_frames = np.arange(start, end, step, dtype=np.int64)
    n_keep = keep_frames.size
    every_atom = atoms.size == source.n_atoms and np.array_equal(atoms, np.arange(source.n_atoms))
    read_atoms = None if (remove_drift or every_atom) else atoms
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
    writer = store.create("series", n_part, n_keep, dtype, in_memory=in_memory)
    direct = segments is None and not remove_drift  # unwrapped positions are the stored values
    times = np.empty(n_keep)
    drift = np.empty((n_keep, 3)) if remove_drift else None
    done = 0
    bar = tqdm(total=max(end - start, 0), desc="MSD: unwrap and store", unit="frame", disable=not progress, leave=False)
    try:
        for chunk, unwrapped in _chunks(source, read_atoms, traj_id, start, end, chunk_size, unwrap):
            bar.update(chunk.n_frames)
            keep = np.flatnonzero((chunk.frames - start) % step == 0)
            whole = keep.size == chunk.n_frames
            # every chunk is unwrapped (frames left out by the step still carry the image counts)
            pos = unwrapped(writer.buffer(keep.size) if (direct and whole) else None)
            if keep.size == 0:
                continue
            if not whole:
                pos = np.ascontiguousarray(pos[keep])
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
        writer.close()
    series = writer.commit()
    if drift is not None:
        drift -= drift[:1].copy()
    return StreamedSeries(series=series, times=times, frames=keep_frames, drift=drift)
