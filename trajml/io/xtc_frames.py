"""Read XTC frames with trajml's own decoder: one call per chunk, numbers identical to MDAnalysis'.

MDAnalysis decodes an XTC file one frame at a time through a Python-level timestep
(coordinates, box conversions, unit scaling per frame). Where trajml knows every frame's
byte offset from the header walk done at open (:mod:`trajml.io.integrity`), it reads a
chunk's bytes at once and decodes all its frames in one bounds-checked kernel
(:func:`trajml.kernels.xtc.xtc_decode`), so a damaged frame is refused instead of crashing
the process and no per-frame Python runs for coordinates. The numbers are MDAnalysis':
coordinates are bitwise xdrfile's times 10 in float32 (nm to Å, as MDAnalysis scales them),
and each distinct box goes through MDAnalysis' own box conversions (vectors to lengths and
angles and back), so results do not depend on which path read a file.
"""

from __future__ import annotations

import numpy as np

from trajml.io.part_info import PartInfo
from trajml.io.xtc_payload import frame_bytes, raise_damaged

__all__ = ["read_xtc_frames"]


def _boxes(headers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box matrices in Å (float32) from header boxes (F, 9) in nm, as MDAnalysis' timestep gives them.

    Returns the boxes and a mask of frames without a box (MDAnalysis' ``dimensions`` is None there).
    """
    from MDAnalysis.lib.mdamath import triclinic_box, triclinic_vectors

    unique, inverse = np.unique(headers, axis=0, return_inverse=True)  # NVT: one conversion for all frames
    out = np.zeros((len(unique), 3, 3), dtype=np.float32)
    none = np.zeros(len(unique), dtype=bool)
    for u, box in enumerate(unique):
        dims = triclinic_box(*box.reshape(3, 3))
        if not np.any(dims):
            none[u] = True
            continue
        dims[:3] *= 10.0  # MDAnalysis scales the lengths in place, in float32
        out[u] = triclinic_vectors(dims)
    inverse = inverse.reshape(-1)
    return out[inverse], none[inverse]


def read_xtc_frames(path: str, info: PartInfo, local_frames: np.ndarray, atoms: np.ndarray | None
                    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Positions, boxes and times of ``local_frames`` of an XTC file whose frame offsets are known.

    Parameters
    ----------
    path : str
        The XTC file.
    info : PartInfo
        Its probe, with :attr:`~PartInfo.frame_offsets`.
    local_frames : ndarray of int64
        Frames of the file, increasing.
    atoms : ndarray of int64 or None
        Atom indices to keep; None keeps all.

    Returns
    -------
    positions : ndarray, shape (F, N, 3), float32, Å
    boxes : ndarray, shape (F, 3, 3), float32, Å, or None
        As :func:`trajml.io.backends.read_frames` gives them (zeros for a frame without a box in
        a file with one; None when the file has none).
    times : ndarray, shape (F,), float64, ps
        The float32 stamps of the frame headers.

    Raises
    ------
    CorruptTrajectoryError
        A frame whose compressed data would not decode safely (file and frame named).
    """
    from trajml.kernels.xtc import xtc_decode

    frames = np.asarray(local_frames, dtype=np.int64)
    n_atoms = int(info.n_atoms)
    data, starts = frame_bytes(path, info.frame_offsets, frames)
    xyz = np.empty((len(frames), n_atoms, 3), dtype=np.float32)
    status = xtc_decode(data, starts, n_atoms, xyz)
    if status.any():
        raise_damaged(path, frames, status)
    positions = xyz if atoms is None else np.ascontiguousarray(xyz[:, atoms])
    positions *= np.float32(10.0)
    head = data[starts[:, None] + np.arange(12, 52)]  # time stamp and 9 box floats, big-endian
    times = head[:, :4].copy().view(">f4").reshape(-1).astype(np.float64)
    boxes, missing = _boxes(head[:, 4:].copy().view(">f4").astype(np.float32))
    if missing.any():
        if not info.has_box:
            return positions, None, times
        boxes[missing] = 0.0
    return positions, boxes, times
