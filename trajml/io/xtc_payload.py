"""Refuse XTC frames whose compressed coordinates would crash the decoder, before it sees them.

MDAnalysis decodes XTC coordinates with GROMACS' xdrfile code, which trusts the packed
bits: a damaged frame can make it write outside its buffers and take the whole process
down (a SIGSEGV, or "double free or corruption" frames later), which in a batch kills the
driver or a worker and names no file. :func:`check_xtc_frames` walks the packed bits of
the frames about to be read with every index bounds-checked
(:func:`trajml.kernels.xtc.xtc_decode`) and raises a
:class:`~trajml.errors.CorruptTrajectoryError` naming the file and the frame instead.
The frames' byte offsets come from the header walk done when the file was opened
(:mod:`trajml.io.integrity`), so the check reads only the frames' own bytes.
"""

from __future__ import annotations

import os

import numpy as np

from trajml.errors import CorruptTrajectoryError

__all__ = ["check_xtc_frames", "frame_bytes", "frame_status", "raise_damaged"]


def frame_bytes(path: str, offsets: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of ``frames`` of an XTC file (one read when they lie close together) and where each starts.

    ``offsets`` are the byte offsets of every frame of the file; ``frames`` increase.
    """
    size = os.path.getsize(path)
    ends = np.where(frames + 1 < len(offsets), offsets[np.minimum(frames + 1, len(offsets) - 1)], size)
    lo, hi = int(offsets[frames[0]]), int(ends[-1])
    needed = int((ends - offsets[frames]).sum())
    with open(path, "rb") as fh:
        if hi - lo <= 2 * needed:  # consecutive or nearly: one read, skipped frames included
            fh.seek(lo)
            data = np.frombuffer(fh.read(hi - lo), dtype=np.uint8)
            return data, offsets[frames] - lo
        pieces = []
        for a, b in zip(offsets[frames], ends):  # far-strided frames: read only their own bytes
            fh.seek(int(a))
            pieces.append(fh.read(int(b - a)))
    starts = np.concatenate([[0], np.cumsum([len(p) for p in pieces[:-1]], dtype=np.int64)])
    return np.frombuffer(b"".join(pieces), dtype=np.uint8), starts.astype(np.int64)


def frame_status(path: str, offsets: np.ndarray, frames: np.ndarray, n_atoms: int) -> np.ndarray:
    """Per frame of ``frames``: 0 when it decodes safely, else a key of :data:`trajml.kernels.xtc.XTC_STATUS`.

    ``offsets`` are the byte offsets of every frame of the XTC file; ``frames`` increase.
    """
    from trajml.kernels.xtc import xtc_decode

    frames = np.asarray(frames, dtype=np.int64)
    if frames.size == 0:
        return np.zeros(0, dtype=np.int64)
    data, starts = frame_bytes(path, np.asarray(offsets, dtype=np.int64), frames)
    return xtc_decode(data, starts, n_atoms)


def check_xtc_frames(path: str, offsets: np.ndarray, frames: np.ndarray, n_atoms: int) -> None:
    """Raise when any of ``frames`` of an XTC file would not decode safely.

    Parameters
    ----------
    path : str
        The XTC file.
    offsets : ndarray of int64
        Byte offset of every whole frame of the file (from its header walk).
    frames : ndarray of int64
        Frames of the file about to be read, increasing.
    n_atoms : int
        Atoms per frame.

    Raises
    ------
    CorruptTrajectoryError
        Naming the file, the first unsafe frame and what is wrong with it.
    """
    status = frame_status(path, offsets, frames, n_atoms)
    if status.any():
        raise_damaged(path, np.asarray(frames, dtype=np.int64), status)


def raise_damaged(path: str, frames: np.ndarray, status: np.ndarray) -> None:
    """Raise the :class:`CorruptTrajectoryError` for the first of ``frames`` with a non-zero ``status``."""
    from trajml._fixes import cli_text, with_cli_text
    from trajml.kernels.xtc import XTC_STATUS

    bad = np.flatnonzero(status)
    f = int(frames[bad[0]])
    more = f" ({bad.size - 1} more of the {len(frames)} frames read here too)" if bad.size > 1 else ""
    python, cli = cli_text(
        f"Trajectory '{path}' frame {f} is damaged: {XTC_STATUS[int(status[bad[0]])]}{more}. Decoding it would "
        "crash the XTC decoder, so it is refused. Restore the file from a good copy, or analyse only the frames "
        "before it ({stop}); `trajml info --scan` lists the damaged frames.", stop=f)
    raise with_cli_text(CorruptTrajectoryError(python), cli)
