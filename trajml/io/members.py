"""The trajectories of a source: :class:`TrajectoryMember`, and the ``open_source`` arguments turned into
(topology, parts) pairs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.io.backends import PartInfo
from trajml.io.time_axis import TimeAxis

__all__ = ["TrajectoryMember"]

PathLike = str | os.PathLike


@dataclass(frozen=True)
class TrajectoryMember:
    """One trajectory of a source: a topology and its consecutive parts.

    Attributes
    ----------
    topology : str
        Topology file path.
    parts : tuple of str
        Trajectory files in time order.
    infos : tuple of PartInfo
        What probing each part found (frame counts, times).
    skip_first : tuple of int
        For each part, how many leading frames repeat the previous part's last frames
        (a restart overlap: same times, same coordinates) and are dropped.
    axis : TimeAxis or None
        The time axis over the kept frames: regular (``t0 + k * dt``) or where it first breaks.
    notes : tuple of str
        What was done to join the parts (dropped overlaps).
    """

    topology: str
    parts: tuple[str, ...]
    infos: tuple[PartInfo, ...]
    skip_first: tuple[int, ...]
    axis: TimeAxis | None = None
    notes: tuple[str, ...] = ()

    @property
    def part_lengths(self) -> np.ndarray:
        """ndarray of int64: frames each part contributes after overlap removal."""
        return np.array([i.n_frames - int(s) for i, s in zip(self.infos, self.skip_first)], dtype=np.int64)

    @property
    def n_frames(self) -> int:
        """int: total frames of the trajectory."""
        return int(self.part_lengths.sum())


def _as_path(value: PathLike, role: str) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{role} must be a path (str or os.PathLike); got {type(value).__name__}.")
    return os.fspath(value)


def _normalise_members(topology: PathLike | Sequence[PathLike], trajectories: Any) -> list[tuple[str, list[str]]]:
    """Turn the flexible ``open_source`` arguments into (topology, [parts]) pairs."""
    if trajectories is None:
        trajectories = [[]]
    elif isinstance(trajectories, (str, os.PathLike)):
        trajectories = [[trajectories]]
    else:
        trajectories = list(trajectories)
        if not trajectories:
            raise ValueError("The 'trajectories' parameter of open_source is empty: give at least one file.")
        if all(isinstance(t, (str, os.PathLike)) for t in trajectories):
            trajectories = [trajectories]  # one trajectory in several parts
    if isinstance(topology, (str, os.PathLike)):
        tops = [_as_path(topology, "topology")] * len(trajectories)
    else:
        tops = [_as_path(t, "topology") for t in topology]
        if len(tops) != len(trajectories):
            raise ValueError(
                f"open_source got {len(tops)} topologies for {len(trajectories)} trajectories; "
                "give one topology, or one per trajectory."
            )
    members = []
    for top, parts in zip(tops, trajectories):
        if isinstance(parts, (str, os.PathLike)):
            parts = [parts]
        members.append((top, [_as_path(p, "trajectory") for p in parts]))
    return members
