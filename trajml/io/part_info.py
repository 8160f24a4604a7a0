"""What probing one trajectory file revealed: :class:`PartInfo` (frame count, atoms, timing, box, damage)."""

from __future__ import annotations

from dataclasses import dataclass

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
        Time between frames in ps (NaN when unknown).
    first_time, last_time : float
        Times of the first and last readable frames, ps.
    has_box : bool
        Whether the first frame carries a periodic box.
    damage : str or None
        Why the file ends early, or None when it is whole.
    """

    n_frames: int
    n_atoms: int
    dt: float
    first_time: float
    last_time: float
    has_box: bool
    damage: str | None = None
