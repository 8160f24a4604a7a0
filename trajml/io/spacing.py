"""Equal spacing for the analyses that need it (MSD, Conductivity, ResidenceTime...).

Frame-only analyses (RDF, coordination...) read any frames; analyses of time
correlations call :func:`equal_spacing` (or :func:`require_regular` before reading)
and get an :class:`~trajml.errors.IrregularTimeError` naming the file and frame of
the first real irregularity of the selected frames, found when the source was
opened (:mod:`trajml.io.time_axis`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trajml.errors import IrregularTimeError
from trajml.io.time_axis import FACTOR, MESSAGES, classify_step, stamp_resolution

__all__ = ["equal_spacing", "require_regular", "step_tolerance", "locate_frame"]


def locate_frame(member: Any, frame: int) -> tuple[str, int]:
    """File and frame within that file (counting dropped overlap frames) of trajectory frame ``frame``."""
    lengths = member.part_lengths
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    p = int(np.searchsorted(bounds, frame, side="right") - 1)
    p = min(p, len(member.parts) - 1)
    return member.parts[p], int(frame - bounds[p] + int(member.skip_first[p]))


def require_regular(source: Any, traj_id: int, frames: range, analysis: str) -> None:
    """Raise before any frame is read when frames ``frames`` of trajectory ``traj_id`` span an irregular time.

    Raises
    ------
    IrregularTimeError
        The trajectory's time axis breaks between the first and last frame selected.
    """
    members = getattr(source, "members", None)
    member = members[traj_id] if members is not None else None
    axis = getattr(member, "axis", None)
    if len(frames) > 1 and axis is not None and not axis.regular and frames[0] < axis.irregular_frame <= frames[-1]:
        raise _needs_even(analysis, traj_id, member, axis.irregularity, axis.irregular_frame, axis.kind)


def _needs_even(analysis: str, traj_id: int, member: Any, irregularity: str, frame: int,
                kind: str | None) -> IrregularTimeError:
    """The error of an analysis that needs equal spacing at trajectory frame ``frame``.

    Its ``path`` and ``frame`` are the file and the frame in it (the message gives the trajectory
    frame for ``start=``/``stop=``); the command line reads the fix as flags.
    """
    from trajml._fixes import with_cli_text

    path, local = (locate_frame(member, int(frame)) if member is not None and getattr(member, "parts", None)
                   else (None, int(frame)))
    text = MESSAGES["needs_even"].format(analysis=analysis, traj_id=traj_id, irregularity=irregularity, frame=frame)
    cli = text.replace(f"(stop={frame} or start={frame})", f"(--stop {frame} or --start {frame})")
    return with_cli_text(IrregularTimeError(text, path=path, frame=local, kind=kind), cli)


def step_tolerance(times: np.ndarray) -> float:
    """Tolerance (ps) on the steps of read times: float32 units of the largest time, a small factor over."""
    t = np.abs(np.asarray(times, dtype=np.float64))
    return 2 * FACTOR * float(stamp_resolution(t.max(keepdims=True), "float32")[0]) if t.size else 0.0


def equal_spacing(source: Any, traj_id: int, frames: np.ndarray, times: np.ndarray, analysis: str) -> float:
    """The time step of frames that must be equally spaced; a clear error when they are not.

    Parameters
    ----------
    source : Source
        The source the frames were read from.
    traj_id : int
        Their trajectory.
    frames : ndarray of int
        Trajectory frame numbers read (increasing).
    times : ndarray of float
        Their times, ps.
    analysis : str
        The analysis that needs equal spacing, for the message.

    Returns
    -------
    float
        The time between consecutive frames read, ps.

    Raises
    ------
    IrregularTimeError
        The frames span a gap, a repeated frame or a restart; the message names the file and frame.
    """
    frames = np.asarray(frames, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    members = getattr(source, "members", None)
    member = members[traj_id] if members is not None and 0 <= traj_id < len(members) else None
    axis = getattr(member, "axis", None)
    if times.size < 2:
        return float(axis.dt * (frames[1] - frames[0])) if axis is not None and frames.size > 1 else float("nan")
    if axis is not None and not axis.regular and frames[0] < axis.irregular_frame <= frames[-1]:
        raise _needs_even(analysis, traj_id, member, axis.irregularity, axis.irregular_frame, axis.kind)
    if axis is not None and not axis.regular and frames[-1] < axis.irregular_frame and axis.dt > 0:
        return float(axis.dt * (frames[1] - frames[0]))  # all on the regular stretch before the irregularity
    steps = np.diff(times)
    dt = float(np.median(steps))
    # regular trajectories carry exact t0 + k*dt; a safety net at float32 precision for raw stamps
    tol = step_tolerance(times) + 1e-9 * abs(dt)
    bad = np.abs(steps - dt) > tol
    if dt > 0 and not bad.any():
        if axis is not None and axis.regular and axis.dt > 0:
            return float(axis.dt * (frames[1] - frames[0]))
        return float(np.mean(steps))
    i = int(np.argmax(bad)) + 1 if dt > 0 else 1
    if member is not None:
        path, local = locate_frame(member, int(frames[i]))
        kind, text = classify_step(times, i, dt, tol, path)
        text = text.replace(f"frame {i} of", f"frame {local} of", 1).replace(f"(frame {i - 1})", "(previous frame)")
        text = text.replace(f"after frame {i - 1}", "after the previous frame read")
    else:
        kind = "uneven"
        text = (f"frame {int(frames[i])} comes {float(steps[i - 1]):.6g} ps after the previous frame read, where "
                f"the time step is {dt:.6g} ps")
    raise _needs_even(analysis, traj_id, member, text, int(frames[i]), kind)
