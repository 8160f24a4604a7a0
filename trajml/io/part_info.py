"""What probing one trajectory file revealed: :class:`PartInfo` (frame count, atoms, timing, box, damage)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trajml.io.time_axis import TimeAxis

__all__ = ["PartInfo"]


@dataclass(frozen=True)
class PartInfo:
    """What opening one trajectory file revealed.

    Attributes
    ----------
    n_frames : int
        Number of readable frames (after any damage).
    n_atoms : int
        Atoms per frame.
    dt : float
        Time between frames in ps (NaN when unknown); fitted to every time stamp where the
        format stores them (see :mod:`trajml.io.time_axis`).
    first_time, last_time : float
        Times of the first and last readable frames as stored in the file, ps.
    has_box : bool
        Whether the first frame carries a periodic box.
    damage : str or None
        Why the file ends early, or None when it is whole.
    axis : TimeAxis or None
        The file's time axis: regular (``t0 + k * dt``) or where it first breaks.
    head_times : tuple of float
        The first few time stamps as stored, ps (to find restart overlaps).
    max_cutoff : float or None
        Half the smallest perpendicular box width over the readable frames, Å, where the frame
        headers give every box without decoding coordinates (XTC); None when unknown. It lets a
        cut-off be checked against every frame's box without reading the file again.
    frame_offsets : ndarray of int64 or None
        Byte offset of every readable frame where the header walk found them (XTC), so that each
        frame's compressed data can be checked before it is decoded (:mod:`trajml.io.xtc_payload`);
        None for other formats.
    """

    n_frames: int
    n_atoms: int
    dt: float
    first_time: float
    last_time: float
    has_box: bool
    damage: str | None = None
    axis: TimeAxis | None = None
    head_times: tuple[float, ...] = ()
    max_cutoff: float | None = None
    frame_offsets: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def regular(self) -> bool:
        """bool: whether every frame time is ``t0 + k * dt`` within the precision of the stamps."""
        return self.axis is None or self.axis.regular

    @property
    def irregularity(self) -> str | None:
        """str or None: the first irregular time (file and frame named), or None when regular."""
        return None if self.axis is None else self.axis.irregularity
