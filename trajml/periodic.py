"""Periodic-boundary checks every pair analysis makes: a cut-off must fit half the box, frames need boxes.

Messages name the parameter, the limit and the trajectory and frame where it fails, in the
declared wording (``The 'r_max' parameter of RDF must be at most half the smallest perpendicular
box width, 15 Å in trajectory 0 frame 3 (minimum image). Got 20 Å instead.``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_cutoff_fits", "check_chunk", "check_source_boxes", "missing_box_error", "source_max_cutoff"]


def check_cutoff_fits(boxes: np.ndarray, r: float, name: str, owner: str, *, traj_id: int,
                      frames: np.ndarray) -> None:
    """Raise ValueError when ``r`` exceeds half the smallest perpendicular box width of any frame.

    The message names the parameter, the limit and the trajectory and frame where it fails.

    Parameters
    ----------
    boxes : ndarray, shape (F, 3, 3)
        Box vectors in Å.
    r : float
        The cut-off in Å.
    name, owner : str
        Parameter and analysis, for the message.
    traj_id : int
        Trajectory of the frames.
    frames : ndarray, shape (F,), int64
        Their frame indices.
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

    Parameters
    ----------
    owner : str
        The analysis, for the message.
    chunk : Chunk
    bound : bool
        Whether the analysis is bound to a source.
    **cutoffs : float
        Cut-offs in Å by parameter name.
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


def source_max_cutoff(source: Any) -> float | None:
    """Half the smallest perpendicular box width (Å) over every frame of a source; None without boxes.

    From the file probes where they know every frame's box (XTC headers), else by reading the boxes
    (one atom per frame).

    Parameters
    ----------
    source : Source
    """
    from trajml.kernels.geometry import max_cutoff

    known = [info.max_cutoff for member in getattr(source, "members", ()) for info in getattr(member, "infos", ())]
    if known and all(k is not None for k in known):
        return float(min(known))
    one = np.zeros(1, dtype=np.int64)
    limit: float | None = None
    for t in range(source.n_trajectories):
        if source.n_frames_of(t) == 0:
            continue
        for chunk in source.iter_chunks(chunk_size=1000, atoms=one, traj_ids=[t]):
            if chunk.boxes is None:
                return None
            if len(chunk.boxes):
                value = max_cutoff(chunk.boxes)
                limit = value if limit is None else min(limit, value)
    return limit


def check_source_boxes(source: Any, r: float, name: str, owner: str) -> None:
    """Check ``r`` against the boxes of every frame of every trajectory, once, before a run.

    The boxes of all frames are read (one atom per frame), so a cut-off that fits the first
    frame but not a later, smaller one (an NPT run, a shearing triclinic cell) is reported here
    once, with the largest allowed value over the whole source and the frame that sets it,
    rather than one chunk at a time during the run.

    Parameters
    ----------
    source : Source
    r : float
        The cut-off in Å.
    name, owner : str
        Parameter and analysis, for the message.

    Raises
    ------
    MissingBoxError
        A trajectory without boxes; the message names its files and how to give a box.
    InvalidParameterError
        ``r`` exceeds half the smallest perpendicular box width of some frame.
    """
    from trajml._validation import invalid
    from trajml.kernels.geometry import max_cutoff

    # Fast path: the file probes already know every frame's box (XTC headers); only a cut-off that
    # might not fit is checked by reading the boxes, which also finds the frame to name.
    known = [info.max_cutoff for member in getattr(source, "members", ()) for info in getattr(member, "infos", ())]
    if known and all(k is not None for k in known) and r <= min(known):
        return
    one = np.zeros(1, dtype=np.int64)
    worst: tuple[float, int, int] | None = None
    for t in range(source.n_trajectories):
        if source.n_frames_of(t) == 0:
            continue
        for chunk in source.iter_chunks(chunk_size=1000, atoms=one, traj_ids=[t]):
            if chunk.boxes is None:
                raise missing_box_error(source, t, owner, int(chunk.frames[0]) if chunk.n_frames else 0)
            if not len(chunk.boxes) or r <= max_cutoff(chunk.boxes):
                continue
            limits = [max_cutoff(chunk.boxes[i:i + 1]) for i in range(len(chunk.boxes))]
            i = int(np.argmin(limits))
            if worst is None or limits[i] < worst[0]:
                worst = (limits[i], t, int(chunk.frames[i]))
    if worst is not None:
        limit, t, frame = worst
        n = source.n_frames
        raise invalid(name, owner, f"at most half the smallest perpendicular box width, {limit:.4g} Å in trajectory "
                      f"{t} frame {frame} (the smallest over all {n} frames; minimum image)", float(r),
                      shown=f"{r:g} Å")


def missing_box_error(source: Any, traj_id: int, owner: str, frame: int = 0) -> Exception:
    """A :class:`~trajml.errors.MissingBoxError` naming the files and how to give a box, in the user's syntax.

    Parameters
    ----------
    source : Source
    traj_id : int
        The trajectory without boxes.
    owner : str
        The analysis, for the message.
    frame : int
        The frame without a box.
    """
    from trajml._fixes import cli_text, with_cli_text
    from trajml.errors import MissingBoxError

    member = source.members[traj_id]
    files = ", ".join(f"'{p}'" for p in member.parts)
    python, cli = cli_text(f"{owner} needs periodic boxes, but trajectory {traj_id} ({files}) has no box at frame "
                           f"{frame}. Give the box when opening the files: {{box}} (Å, degrees; or 9 numbers of "
                           "box vectors)", box="<[a, b, c, alpha, beta, gamma]>")
    python = python.replace("box=<[a, b, c, alpha, beta, gamma]>", "open_source(..., box=[a, b, c, alpha, beta, "
                            "gamma])") + "; in a pipeline input: reader: {box: [a, b, c, alpha, beta, gamma]}."
    cli = cli.replace("--box <[a, b, c, alpha, beta, gamma]>", "--box A B C ALPHA BETA GAMMA") + "."
    return with_cli_text(MissingBoxError(python), cli)
