"""Parallel no-jump unwrapping: every chunk's starting image counts, computed on the engine's schedulers.

The arithmetic lives in :mod:`trajml.unwrap` (core); this module maps it over the chunks of a
trajectory with :func:`trajml.parallel.map_specs`, so it sits in the engine layer.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from trajml.chunk import ChunkSpec
from trajml.parallel.schedulers import map_specs
from trajml.unwrap import _read_with_prev, chunk_image_shift

__all__ = ["unwrap_parallel"]


def _shift_task(source: Any, atoms: np.ndarray | None, spec: ChunkSpec) -> np.ndarray:
    chunk, prev = _read_with_prev(source, spec, atoms)
    return chunk_image_shift(chunk, prev)


def unwrap_parallel(
    source: Any,
    chunk_size: int = 100,
    atoms: np.ndarray | Sequence[int] | None = None,
    traj_id: int = 0,
    scheduler: Any = "serial",
    progress: bool = False,
) -> list[tuple[ChunkSpec, np.ndarray]]:
    """Starting image counts of every chunk of a trajectory (parallel pass 1).

    Each chunk's net image change (:func:`chunk_image_shift`) is computed in
    parallel (a task reads the chunk plus the frame before it); a prefix sum
    over the chunks then gives each chunk the image counts of the frame just
    before it. Hand a pair to :func:`read_unwrapped` to unwrap that chunk
    exactly, anywhere and in any order. Frame 0 is the reference.

    Parameters
    ----------
    source : trajml.io.Source
        The trajectories (picklable; workers reopen the files).
    chunk_size : int, optional
        Frames per chunk.
    atoms : array_like of int, shape (N,), optional
        Topology indices of the atoms to unwrap; all atoms by default.
    traj_id : int, optional
        Which trajectory of the source.
    scheduler : str or distributed.Client, optional
        ``"serial"``, ``"threads"``, ``"processes"``, a dask Client or a
        scheduler address (see :func:`trajml.parallel.map_specs`).
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    list of (ChunkSpec, ndarray of shape (N, 3), int64)
        The chunk specs of the trajectory (``start:stop`` in steps of 1, in
        order) with the image counts of the frame before each chunk (zeros for
        the first). They take ``n_chunks * N * 24`` bytes.
    """
    atoms = None if atoms is None else np.asarray(atoms, dtype=np.int64)
    specs = list(source.partition(chunk_size, traj_ids=[traj_id]))
    shifts = map_specs(
        functools.partial(_shift_task, source, atoms), specs, scheduler=scheduler, progress=progress,
        desc="unwrap: image counts",
    )
    result: list[tuple[ChunkSpec, np.ndarray]] = []
    running: np.ndarray | None = None
    for spec, shift in zip(specs, shifts):
        if running is None:
            running = np.zeros_like(shift, dtype=np.int64)
        result.append((spec, running.copy()))
        running += shift
    return result
