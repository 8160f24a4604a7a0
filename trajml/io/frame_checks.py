"""Errors for a frame selection that selects nothing: trajectory ids outside a source, empty slices.

Both are :class:`~trajml.errors.InvalidParameterError` naming the run option (``traj_ids``,
``start``), so Python shows the keyword, the command line the flag (``--traj-ids``, ``--start``) and
a pipeline the YAML key; each names the valid range and the files it refers to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trajml.errors import InvalidParameterError, TrajectoryIdError

__all__ = ["traj_id_error", "empty_range_error", "check_frame_selection"]


def traj_id_error(members: Sequence[Any], traj_ids: Sequence[int], name: str = "traj_ids",
                  owner: str = "run") -> TrajectoryIdError:
    """Trajectory ids outside ``members`` (a source's trajectories): the valid range and trajectory 0's files."""
    n = len(members)
    bad = [int(t) for t in traj_ids if not 0 <= int(t) < n]
    if n:
        first = ", ".join(f"'{p}'" for p in members[0].parts)
        many = "trajectory" if n == 1 else "trajectories"
        constraint = f"trajectory ids in [0, {n - 1}] (this source has {n} {many}; 0 is {first})"
    else:
        constraint = "empty: this source has no trajectories"
    got = bad if len(bad) > 1 else bad[0]
    return TrajectoryIdError(f"The '{name}' parameter of {owner} must be {constraint}. Got {got} instead.",
                             parameter=name, owner=owner, constraint=constraint, value=got)


def empty_range_error(parts: Sequence[str], traj_id: int, start: int, stop: int | None, step: int,
                      n_frames: int) -> InvalidParameterError:
    """A slice ``start:stop:step`` that selects no frame of trajectory ``traj_id`` (files ``parts``)."""
    files = ", ".join(f"'{p}'" for p in parts)
    end = "" if stop is None else stop
    constraint = (f"below the stop and the number of frames: start:stop:step = {start}:{end}:{step} selects no "
                  f"frame of trajectory {traj_id} ({files}), which has {n_frames} frames (0 to {n_frames - 1})")
    return InvalidParameterError(f"The 'start' parameter of run must be {constraint}. Got {start} instead.",
                                 parameter="start", owner="run", constraint=constraint, value=start)


def check_frame_selection(source: Any, start: int, stop: int | None, step: int,
                          traj_ids: Sequence[int] | None) -> None:
    """Refuse trajectory ids outside ``source`` and a slice that selects no frame of a chosen trajectory.

    For analyses: a run over no frames would report NaN as if it were a result. (``Source.partition``
    itself returns no chunk for an empty slice, for callers that stream a part of a run.)
    """
    members = source.members
    ids = range(len(members)) if traj_ids is None else traj_ids
    if any(not 0 <= int(t) < len(members) for t in ids):
        raise traj_id_error(members, ids)
    for t in ids:
        n = source.n_frames_of(int(t))
        if not range(start, n if stop is None else min(stop, n), step):
            raise empty_range_error(members[int(t)].parts, int(t), start, stop, step, n)
