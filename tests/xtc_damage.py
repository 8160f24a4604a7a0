"""Copies of XTC files with frames whose compressed data would make the reference decoder overrun its buffer."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from trajml.kernels.xtc import xtc_decode


def frame_offsets(data: np.ndarray) -> np.ndarray:
    """Byte offsets of the frames of an intact XTC file (its published layout)."""
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        natoms = struct.unpack(">i", data[pos + 4:pos + 8].tobytes())[0]
        if natoms <= 9:
            pos += 56 + 12 * natoms
        else:
            nbytes = struct.unpack(">i", data[pos + 88:pos + 92].tobytes())[0]
            pos += 92 + 4 * ((nbytes + 3) // 4)
    return np.array(offsets, dtype=np.int64)


def damage_frames(source: str | Path, target: str | Path, frames: tuple[int, ...], seed: int = 3) -> None:
    """Write ``source`` to ``target`` with random bytes in ``frames`` until each has a run past its atom count.

    A run past the atom count (status 3 of :func:`~trajml.kernels.xtc.xtc_decode`) is the damage that makes
    xdrfile write outside its buffer.
    """
    bad = np.fromfile(source, dtype=np.uint8)
    offsets = frame_offsets(bad)
    n_atoms = struct.unpack(">i", bad[4:8].tobytes())[0]
    rng = np.random.default_rng(seed)
    for frame in frames:
        end = offsets[frame + 1] if frame + 1 < len(offsets) else len(bad)
        for _ in range(500):
            trial = bad.copy()
            at = rng.integers(offsets[frame] + 92, end, size=4)
            trial[at] = rng.integers(0, 256, size=4)
            if xtc_decode(trial, offsets, n_atoms)[frame] == 3:
                bad = trial
                break
        else:
            raise RuntimeError(f"no overrunning damage found for frame {frame}")
    bad.tofile(target)
