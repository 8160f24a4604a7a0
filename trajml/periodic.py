"""Periodic-boundary checks every pair analysis makes: a cut-off must fit half the box, frames need boxes.

Messages name the parameter, the limit and the trajectory and frame where it fails, in the
declared wording (``The 'r_max' parameter of RDF must be at most half the smallest perpendicular
box width, 15 Å in trajectory 0 frame 3 (minimum image). Got 20 Å instead.``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trajml.chunk import ChunkSpec

__all__ = ["check_cutoff_fits", "check_chunk", "check_source_boxes"]


def check_cutoff_fits(boxes: np.ndarray, r: float, name: str, owner: str, *, traj_id: int,
                      frames: np.ndarray) -> None:
    """Raise ValueError when ``r`` exceeds half the smallest perpendicular box width of any frame.

    The message names the parameter, the limit and the trajectory and frame where it fails.
    """
    from trajml.kernels.geometry import max_cutoff

    if len(boxes) == 0 or r <= max_cutoff(boxes):
        return
    limits = [max_cutoff(boxes[i:i + 1]) for i in range(len(boxes))]
    i = int(np.argmin(limits))
    from trajml._validation import invalid

    raise invalid(name, owner, f"at most half the smallest perpendicular box width, {limits[i]:.4g} Å in trajectory "
                  f"{traj_id} frame {int(frames[i])} (minimum image)", float(r), shown=f"{r:g} Å")


def check_chunk(owner: str, chunk: Any, bound: bool, **cutoffs: float) -> None:
    """Checks every periodic analysis makes before it touches a chunk.

    Raises RuntimeError for an unbound featurizer, MissingBoxError for a chunk
    without boxes, and ValueError (via :func:`check_cutoff_fits`) when a cut-off
    (``name=value`` in Å) exceeds half the smallest perpendicular box width.
    """
    from trajml.errors import MissingBoxError

    if not bound:
        raise RuntimeError(f"{owner}.update needs a bound featurizer: call bind(source) first "
                           "(trajml.parallel.run does this for you).")
    if chunk.boxes is None:
        frame = int(chunk.frames[0]) if chunk.n_frames else 0
        raise MissingBoxError(f"{owner} needs periodic boxes, but trajectory {chunk.traj_id} has no box "
                              f"at frame {frame}.")
    for name, value in cutoffs.items():
        check_cutoff_fits(chunk.boxes, value, name, owner, traj_id=chunk.traj_id, frames=chunk.frames)


def check_source_boxes(source: Any, r: float, name: str, owner: str) -> None:
    """Check ``r`` against the first frame of every trajectory (fails early, on the driver)."""
    one = np.zeros(1, dtype=np.int64)
    for t in range(source.n_trajectories):
        if source.n_frames_of(t) == 0:
            continue
        chunk = source.read(ChunkSpec(t, 0, 1), one)
        if chunk.boxes is not None:
            check_cutoff_fits(chunk.boxes, r, name, owner, traj_id=t, frames=chunk.frames)
