"""The values that flow through trajml: chunk specifications and chunks of frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ChunkSpec", "Chunk"]


@dataclass(frozen=True, order=True)
class ChunkSpec:
    """Which frames of which trajectory one task reads.

    A ChunkSpec is a small, picklable value: a worker that receives it reopens
    the trajectory files itself.

    Parameters
    ----------
    traj_id : int
        Index of the trajectory in its :class:`~trajml.io.Source` (ensemble member).
    start, stop, step : int
        Frame slice ``start:stop:step`` in the trajectory's own frame numbering
        (continuation parts are numbered consecutively).
    """

    traj_id: int
    start: int
    stop: int
    step: int = 1

    def __post_init__(self) -> None:
        if self.step < 1:
            raise ValueError(f"ChunkSpec step must be >= 1; got {self.step}.")
        if self.start < 0 or self.stop < self.start:
            raise ValueError(f"ChunkSpec needs 0 <= start <= stop; got start={self.start}, stop={self.stop}.")

    @property
    def frames(self) -> range:
        """range: the frame numbers this chunk covers."""
        return range(self.start, self.stop, self.step)

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True, eq=False)
class Chunk:
    """Consecutive frames of one trajectory, owning their arrays.

    Attributes
    ----------
    positions : ndarray, shape (F, N, 3), float32
        Coordinates in Å, as stored in the file (not unwrapped).
    boxes : ndarray, shape (F, 3, 3), float32, or None
        Box matrices (rows are box vectors) in Å; None when the file has no box.
    times : ndarray, shape (F,), float64
        Simulation time of each frame in ps.
    frames : ndarray, shape (F,), int64
        Frame number of each frame within its trajectory.
    traj_id : int
        Index of the trajectory in its source.
    atom_indices : ndarray, shape (N,), int64, or None
        Topology indices of the atoms in ``positions``; None means all atoms, in order.
    """

    positions: np.ndarray
    boxes: np.ndarray | None
    times: np.ndarray
    frames: np.ndarray
    traj_id: int = 0
    atom_indices: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        pos = self.positions
        if pos.ndim != 3 or pos.shape[2] != 3 or pos.dtype != np.float32:
            raise ValueError(f"Chunk positions must be float32 (F, N, 3); got {pos.dtype} {pos.shape}.")
        n_frames = pos.shape[0]
        if self.boxes is not None and (self.boxes.shape != (n_frames, 3, 3) or self.boxes.dtype != np.float32):
            raise ValueError(f"Chunk boxes must be float32 ({n_frames}, 3, 3); "
                             f"got {self.boxes.dtype} {self.boxes.shape}.")
        if self.times.shape != (n_frames,) or self.frames.shape != (n_frames,):
            raise ValueError(
                f"Chunk times and frames must have shape ({n_frames},); got {self.times.shape} and {self.frames.shape}."
            )
        if self.atom_indices is not None and self.atom_indices.shape != (pos.shape[1],):
            raise ValueError(
                f"Chunk atom_indices must have shape ({pos.shape[1]},); got {self.atom_indices.shape}."
            )

    @property
    def n_frames(self) -> int:
        """int: number of frames F."""
        return int(self.positions.shape[0])

    @property
    def n_atoms(self) -> int:
        """int: number of atoms N."""
        return int(self.positions.shape[1])

    @property
    def has_box(self) -> bool:
        """bool: whether every frame carries a box."""
        return self.boxes is not None

    @property
    def volumes(self) -> np.ndarray:
        """ndarray, shape (F,), float64: box volumes in Å³."""
        if self.boxes is None:
            raise ValueError(f"Chunk of trajectory {self.traj_id} (frames {self.frames[:1]}...) has no box.")
        return np.abs(np.linalg.det(self.boxes.astype(np.float64)))

    def take_atoms(self, indices: np.ndarray) -> "Chunk":
        """Return a chunk with only the atoms at ``indices`` (positions into this chunk)."""
        indices = np.asarray(indices, dtype=np.int64)
        base = self.atom_indices if self.atom_indices is not None else np.arange(self.n_atoms)
        return Chunk(
            positions=np.ascontiguousarray(self.positions[:, indices]),
            boxes=self.boxes,
            times=self.times,
            frames=self.frames,
            traj_id=self.traj_id,
            atom_indices=base[indices],
        )
