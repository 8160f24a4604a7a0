"""Streaming a trajectory into a series file on a scheduler: every chunk read once, chunks in parallel.

:func:`~trajml.transport.store.stream_to_store` reads and unwraps a trajectory chunk after chunk
in one process. On a scheduler with workers (a Dask cluster, a pipeline unit's cluster, threads)
:func:`stream_to_file_parallel` writes the same frame-major ``.npy`` series file with tasks:

1. each task reads one chunk plus the frame before it, writes the chunk's wrapped positions into
   its rows of the file and the frame before it into a side file, and returns the chunk's net
   change of the integer image counts (:func:`trajml.unwrap.chunk_image_shift`), its boxes and
   times;
2. the driver sums the changes in chunk order into each chunk's starting image counts (a side
   file: memory stays bounded by one chunk);
3. each task unwraps its rows in place (:func:`trajml.unwrap.unwrap_chunk`).

The trajectory is decoded once, and the stored values are bitwise those of the serial stream:
the same integer image counts and the same float64 arithmetic on the same float32 positions
(:mod:`trajml.unwrap`). It handles atom series at frame step 1 (what the msd stage streams by
default); molecule centres of mass, drift removal and frame steps stream serially.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from trajml.chunk import Chunk, ChunkSpec
from trajml.parallel.schedulers import imap_ordered, map_specs
from trajml.transport.store import StoredSeries, StreamedSeries, _check_boxes
from trajml.unwrap import _read_with_prev, chunk_image_shift, unwrap_chunk

__all__ = ["stream_to_file_parallel"]


def _write_rows(path: str, row: int, values: np.ndarray) -> None:
    """Write ``values`` (rows of an ``.npy`` file's first axis, its dtype) from row ``row`` on.

    A positioned write instead of a writable memory map: the rows go to the page cache in one call
    each rather than a page fault per 4 KiB page (several times faster for a chunk's tens of MB).
    """
    mapped = np.load(path, mmap_mode="r")  # for its header only: no page is read
    shape, dtype, offset = mapped.shape, mapped.dtype, mapped.offset
    del mapped
    data = np.ascontiguousarray(values, dtype=dtype)
    offset += row * int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
    view = memoryview(data).cast("B")
    fd = os.open(path, os.O_WRONLY)
    try:
        while view.nbytes:
            written = os.pwrite(fd, view, offset)
            view, offset = view[written:], offset + written
    finally:
        os.close(fd)


def _read_task(source: Any, read_atoms: np.ndarray | None, path: str, prev_path: str, origin: int, unwrap: bool,
               item: tuple[int, ChunkSpec]) -> tuple[Any, ...]:
    """Step 1 of one chunk (runs on a worker): wrapped rows into the file; image change, boxes, times back."""
    k, spec = item
    chunk, prev = _read_with_prev(source, spec, read_atoms)
    if spec.start == origin:
        prev = None  # the stream's first frame is the reference, as in the serial Unwrapper
    if unwrap:
        _check_boxes(chunk, source, spec.traj_id, spec.start)
    _write_rows(path, spec.start - origin, chunk.positions)
    if not unwrap:
        return None, None, chunk.times
    prev_box = None
    if prev is not None:  # kept aside: step 3 of the chunk before overwrites it in the series
        _write_rows(prev_path, k, prev.positions[:1])
        prev_box = prev.boxes[0]
    return chunk_image_shift(chunk, prev), (chunk.boxes, prev_box), chunk.times


def _unwrap_task(path: str, prev_path: str, images_path: str, origin: int, traj_id: int,
                 item: tuple[int, ChunkSpec, np.ndarray, np.ndarray | None]) -> None:
    """Step 3 of one chunk (runs on a worker): unwrap its rows of the file in place."""
    k, spec, boxes, prev_box = item
    frames = np.arange(spec.start, spec.stop, dtype=np.int64)
    series = np.load(path, mmap_mode="r")
    try:
        rows = np.array(series[spec.start - origin:spec.stop - origin])
    finally:
        del series
    chunk = Chunk(rows, boxes, frames.astype(np.float64), frames, traj_id)
    prev = None
    if prev_box is not None:
        last = np.array(np.load(prev_path, mmap_mode="r")[k][None])
        prev = Chunk(last, prev_box[None], np.array([spec.start - 1.0]), np.array([spec.start - 1], dtype=np.int64),
                     traj_id)
    start = np.array(np.load(images_path, mmap_mode="r")[k])
    _write_rows(path, spec.start - origin, unwrap_chunk(chunk, prev, start).positions)


def _create(path: str, shape: tuple[int, ...], dtype: Any) -> None:
    """An ``.npy`` file of ``shape`` for tasks to fill (its pages are written as they fill it)."""
    mapped = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    del mapped


def stream_to_file_parallel(source: Any, folder: str, atoms: np.ndarray, *, unwrap: bool = True, traj_id: int = 0,
                            start: int = 0, stop: int | None = None, chunk_size: int = 100,
                            scheduler: Any = "threads", n_workers: int | None = None,
                            progress: bool = False) -> StreamedSeries:
    """Read frames ``start:stop`` of a trajectory once, in parallel, into an unwrapped atom series file.

    Parameters
    ----------
    source : trajml.io.Source
        The trajectories (workers reopen its files).
    folder : str
        Folder of the series file, seen by every worker (a :class:`~trajml.transport.store.SeriesStore`'s).
    atoms : ndarray, shape (P,), int64
        Topology indices of the atoms whose series are stored (float32, Å).
    unwrap : bool
        No-jump unwrap (needs boxes); False for coordinates already unwrapped.
    traj_id, start : int
        Trajectory, and its first frame (the unwrapping reference).
    stop : int, optional
        Stop before this frame (default: the end).
    chunk_size : int
        Frames per task.
    scheduler : str or dask.distributed.Client
        Where the tasks run (see :func:`trajml.parallel.imap_ordered`).
    n_workers : int, optional
        Workers of the local schedulers.
    progress : bool
        Show progress bars.

    Returns
    -------
    StreamedSeries
        Its series a :class:`~trajml.transport.store.StoredSeries` (frame-major ``(T, P, 3)`` float32).
    """
    n_total = source.n_frames_of(traj_id)
    end = n_total if stop is None else min(stop, n_total)
    every_atom = atoms.size == source.n_atoms and np.array_equal(atoms, np.arange(source.n_atoms))
    read_atoms = None if every_atom else atoms
    specs = list(source.partition(chunk_size, start=start, stop=end, traj_ids=[traj_id]))
    n_part, n_frames = atoms.size, end - start
    path, prev_path, images_path = (os.path.join(folder, name) for name in ("series.npy.part", "prev.npy",
                                                                             "images.npy"))
    _create(path, (n_frames, n_part, 3), np.float32)
    if unwrap:
        _create(prev_path, (len(specs), n_part, 3), np.float32)
    items = list(enumerate(specs))
    read = functools.partial(_read_task, source, read_atoms, path, prev_path, start, unwrap)
    times = np.empty(n_frames)
    geometry = []
    images = None
    if unwrap:
        images = np.lib.format.open_memmap(images_path, mode="w+", dtype=np.int64, shape=(len(specs), n_part, 3))
    running = np.zeros((n_part, 3), dtype=np.int64)
    for (k, spec), (shift, boxes, chunk_times) in zip(items, imap_ordered(
            read, items, scheduler=scheduler, n_workers=n_workers, progress=progress, desc="MSD: read and store")):
        times[spec.start - start:spec.stop - start] = chunk_times
        if images is not None:
            images[k] = running  # the counts of the frame before chunk k: the changes of the chunks before it
            running += shift
            geometry.append((k, spec, *boxes))
    if images is not None:
        images.flush()
        del images
        map_specs(functools.partial(_unwrap_task, path, prev_path, images_path, start, traj_id), geometry,
                  scheduler=scheduler, n_workers=n_workers, progress=progress, desc="MSD: unwrap")
        os.remove(prev_path)
        os.remove(images_path)
    final = path[:-len(".part")]
    os.replace(path, final)
    frames = np.arange(start, end, dtype=np.int64)
    return StreamedSeries(series=StoredSeries(final, (n_part, n_frames, 3), "float32"), times=times, frames=frames,
                          drift=None)
