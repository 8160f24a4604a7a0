"""Plausibility checks on every chunk read: damage that decodes cleanly but cannot be physical.

A flipped bit inside an XTC frame (its header's ``minint`` or the compressed coordinates) leaves
the file structurally whole, so :mod:`trajml.io.integrity` cannot see it, yet it moves atoms by
tens of Å or to 1e30 Å. :func:`find_implausible` looks at the positions (Å) and boxes (Å, box
vectors as rows) of one chunk, vectorised over frames and atoms, for:

``coordinate``
    A coordinate beyond :data:`MAX_ABS_A` (1e6 Å) or more than :data:`MAX_BOX_LENGTHS` (100) box
    lengths outside the box. Unwrapped coordinates drift out of the box by diffusion, but not by a
    hundred box lengths.
``jump``
    An atom moving more than :data:`MAX_JUMP_BOX` (1.5) box lengths, along any box vector, between
    two consecutive frames read. A wrapped atom that crosses the boundary jumps by one box length
    plus its small real motion (< 1.5); an unwrapped one moves far less than a box length per frame.
    Compared in box fractions, so the threshold needs no assumption about temperature or time step.
``box``
    A degenerate box (volume below 1 Å³, or non-positive), named at its own frame.
``volume``
    The box volume changing by more than a factor :data:`MAX_VOLUME_RATIO` (1.5) between consecutive
    frames read; barostats change it by a few per cent.

Every finding is an error (:class:`~trajml.errors.ImplausibleFrameError`, raised by
:func:`check_plausible`): each threshold is far beyond what a simulation produces, so a finding
means a damaged frame, not an unusual run. Jumps and volume ratios are compared within one chunk;
a jump exactly at a chunk boundary is seen by :func:`scan_source` (``trajml info --scan``), which
reads the trajectory in order and carries the previous frame. Files without a box get only the
``coordinate`` check against :data:`MAX_ABS_A`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from trajml._fixes import cli_text, with_cli_text
from trajml.errors import ImplausibleFrameError

__all__ = ["Finding", "find_implausible", "check_plausible", "scan_source", "iter_findings",
           "MAX_ABS_A", "MAX_BOX_LENGTHS", "MAX_JUMP_BOX", "MAX_VOLUME_RATIO"]

#: Largest plausible absolute coordinate, Å.
MAX_ABS_A = 1e6
#: Largest plausible distance of a coordinate outside the box, in box lengths.
MAX_BOX_LENGTHS = 100.0
#: Largest plausible displacement between consecutive frames read, in box lengths along a box vector.
MAX_JUMP_BOX = 1.5
#: Largest plausible ratio of the box volumes of consecutive frames read.
MAX_VOLUME_RATIO = 1.5
#: Smallest non-degenerate box volume, Å³.
_MIN_VOLUME_A3 = 1.0


@dataclass(frozen=True)
class Finding:
    """One implausible frame.

    Attributes
    ----------
    frame : int
        Frame index in its file.
    kind : str
        ``"coordinate"``, ``"jump"``, ``"box"`` or ``"volume"``.
    atom : int or None
        Topology index of the first offending atom (None for box findings).
    value : float
        The offending value: the coordinate beyond 1e6 Å (Å) or the distance outside the box (box
        lengths), the displacement (Å), the degenerate box's volume (Å³) or the volume ratio.
    n_atoms : int
        How many atoms of the frame are affected (0 for box findings).
    message : str
        The finding in words.
    """

    frame: int
    kind: str
    atom: int | None
    value: float
    n_atoms: int
    message: str


def _volumes(boxes: np.ndarray) -> np.ndarray:
    return np.linalg.det(boxes.astype(np.float64))


def _fractions(pos: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Coordinates in box fractions (float32): a triangular solve for the lower-triangular boxes
    MDAnalysis gives (a few elementwise passes), a matrix product otherwise."""
    if not (np.any(boxes[:, 0, 1:]) or boxes[:, 1, 2].any()):
        inv = 1.0 / np.stack([boxes[:, 0, 0], boxes[:, 1, 1], boxes[:, 2, 2]], axis=1).astype(np.float32)
        if not (boxes[:, 1, 0].any() or boxes[:, 2, :2].any()):  # orthorhombic: one product
            return np.multiply(pos, inv[:, None, :], dtype=np.float32)
        frac = np.empty(pos.shape, np.float32)
        sc = np.multiply(pos[..., 2], inv[:, 2, None], out=frac[..., 2])
        sb = np.subtract(pos[..., 1], sc * boxes[:, 2, 1, None], out=frac[..., 1])
        sb *= inv[:, 1, None]
        sa = np.subtract(pos[..., 0], sb * boxes[:, 1, 0, None], out=frac[..., 0])
        sa -= sc * boxes[:, 2, 0, None]
        sa *= inv[:, 0, None]
        return frac
    return np.matmul(pos, np.linalg.inv(boxes.astype(np.float64)).astype(np.float32))


def find_implausible(positions: np.ndarray, boxes: np.ndarray | None, frames: np.ndarray,
                     atoms: np.ndarray | None = None, previous: tuple[np.ndarray, np.ndarray | None, int] | None = None
                     ) -> list[Finding]:
    """Every implausible frame of a chunk (at most one finding per frame and kind).

    Whole frames are reduced first in one pass (:func:`trajml.kernels.extents.frame_extents`: their
    extreme coordinate, box-fraction range and largest step); atoms are looked at only in a frame
    that fails, so a sound chunk costs one pass over its array.

    Parameters
    ----------
    positions : ndarray, shape (n_frames, n_atoms, 3)
        Coordinates, Å; must be finite (NaN is reported by the finite check before this).
    boxes : ndarray, shape (n_frames, 3, 3), or None
        Box vectors as rows, Å.
    frames : ndarray of int
        Each frame's index in its file (named in the findings).
    atoms : ndarray of int, optional
        Topology index of each column (default: the column itself).
    previous : (positions, box, frame), optional
        The frame read just before the chunk (positions (n_atoms, 3), box (3, 3) or None, index),
        so a jump at the chunk boundary is seen.

    Returns
    -------
    list of Finding
        In frame order.
    """
    pos = np.asarray(positions)
    frames = np.asarray(frames)
    if previous is not None:
        pos = np.concatenate([previous[0][None], pos])
        frames = np.concatenate([[previous[2]], frames])
        if boxes is not None and previous[1] is not None:
            boxes = np.concatenate([previous[1][None], boxes])
        else:
            boxes = None
    topo = (lambda j: int(atoms[j])) if atoms is not None else int  # noqa: E731
    found: list[Finding] = []
    first = 1 if previous is not None else 0  # the previous frame was checked with its own chunk

    def add(i: int, kind: str, atom: int | None, value: float, n: int, text: str) -> None:
        if i >= first:
            found.append(Finding(int(frames[i]), kind, atom, float(value), int(n), text))

    if pos.shape[0] == 0 or pos.shape[1] == 0:
        return found
    from trajml.kernels.extents import frame_extents

    if boxes is not None:
        vol = _volumes(boxes)
        bad_box = ~(vol >= _MIN_VOLUME_A3)
        safe = np.where(bad_box[:, None, None], np.eye(3), boxes.astype(np.float64))  # degenerate: fractions unused
        ext = frame_extents(pos, np.linalg.inv(safe))
    else:
        ext = frame_extents(pos, None)
    huge_frame = ext[:, 0] > MAX_ABS_A
    for i in np.flatnonzero(huge_frame):
        mag = np.abs(pos[i]).max(axis=1)
        j = int(np.argmax(mag))
        v = float(pos[i, j][np.argmax(np.abs(pos[i, j]))])
        add(i, "coordinate", topo(j), v, (mag > MAX_ABS_A).sum(),
            f"atom {topo(j)} is at {v:.4g} Å, beyond {MAX_ABS_A:g} Å")
    if boxes is None:
        return sorted(found, key=lambda f: f.frame)
    for i in np.flatnonzero(bad_box):
        add(i, "box", None, vol[i], 0, f"the box is degenerate (volume {vol[i]:.4g} Å³, box vectors "
            f"{np.round(boxes[i].astype(float), 3).tolist()} Å)")
    skip = bad_box | huge_frame  # frames already reported: their fractions mean nothing
    far_frame = ((ext[:, 2] > 1.0 + MAX_BOX_LENGTHS) | (ext[:, 1] < -MAX_BOX_LENGTHS)) & ~skip
    for i in np.flatnonzero(far_frame):  # atoms are looked at only in a frame that fails
        frac = _fractions(pos[i:i + 1].astype(np.float32, copy=False), safe[i:i + 1].astype(np.float32))[0]
        outside = np.maximum(-frac, frac - 1.0).max(axis=1)
        j = int(np.argmax(outside))
        add(i, "coordinate", topo(j), outside[j], (outside > MAX_BOX_LENGTHS).sum(),
            f"atom {topo(j)} at {np.round(pos[i, j].astype(float), 3).tolist()} Å is {outside[j]:.3g} box "
            f"lengths outside the box (more than {MAX_BOX_LENGTHS:g})")
    skip |= far_frame
    if pos.shape[0] > 1:
        ok = ~skip[1:] & ~skip[:-1]
        for k in np.flatnonzero((ext[1:, 3] > MAX_JUMP_BOX) & ok):
            pair = _fractions(pos[k:k + 2].astype(np.float32, copy=False), safe[k:k + 2].astype(np.float32))
            per_atom = np.abs(pair[1] - pair[0]).max(axis=1)
            j = int(np.argmax(per_atom))
            n_jump = int((per_atom > MAX_JUMP_BOX).sum())
            dist = float(np.linalg.norm(pos[k + 1, j].astype(float) - pos[k, j]))
            add(k + 1, "jump", topo(j), dist, n_jump,
                f"atom {topo(j)} moved {dist:.4g} Å ({per_atom[j]:.3g} box lengths) since frame {int(frames[k])}, "
                f"more than {MAX_JUMP_BOX:g} box lengths (atoms affected: {n_jump})")
        ok &= ~bad_box[1:] & ~bad_box[:-1]
        ratio = vol[1:] / np.where(ok, vol[:-1], 1.0)
        jumpv = ok & ((ratio > MAX_VOLUME_RATIO) | (ratio < 1.0 / MAX_VOLUME_RATIO))
        for k in np.flatnonzero(jumpv):
            add(k + 1, "volume", None, ratio[k], 0,
                f"the box volume changed by a factor {ratio[k]:.4g} since frame {int(frames[k])} "
                f"({vol[k]:.6g} -> {vol[k + 1]:.6g} Å³; more than {MAX_VOLUME_RATIO:g})")
    return sorted(found, key=lambda f: f.frame)


def damage_error(path: str, finding: Finding, more: int = 0) -> ImplausibleFrameError:
    """The error for a finding, naming the file, frame, atom, value and the fix."""
    extra = f" ({more} more implausible frames in this chunk)" if more else ""
    python, cli = cli_text(
        f"Trajectory '{path}' frame {finding.frame} is implausible, the file is probably damaged: "
        f"{finding.message}{extra}. Replace the file, or analyse only the frames before it ({{stop}}); "
        "`trajml info --scan` lists every implausible frame.",
        stop=finding.frame)
    python += " If the frame is genuine, open the source with check_finite=False."
    return with_cli_text(ImplausibleFrameError(python), cli)  # type: ignore[return-value]


def check_plausible(positions: np.ndarray, boxes: np.ndarray | None, path: str, frames: np.ndarray,
                    atoms: np.ndarray | None = None, previous: Callable[[int], tuple] | None = None) -> None:
    """Raise :class:`~trajml.errors.ImplausibleFrameError` for the first implausible frame of a chunk.

    ``frames`` is each frame's index in ``path`` (``stop`` in the fix counts frames of a one-file
    trajectory; a later part of a multi-file trajectory is named by its file and frame).
    ``previous(frame)`` reads one earlier frame of the file (positions, boxes, times, as
    :func:`~trajml.io.backends.read_frames`): the frame before the chunk is then compared too, so an
    atom that jumps in the chunk's first frame names that frame, not the next one, where it jumps back.
    """
    frames = np.asarray(frames)
    before = None
    if previous is not None and frames.size and frames[0] > 0:
        p_pos, p_box, _ = previous(int(frames[0]) - 1)
        if np.isfinite(p_pos).all() and (p_box is None or np.isfinite(p_box).all()):
            before = (p_pos[0], None if p_box is None else p_box[0], int(frames[0]) - 1)
    found = find_implausible(positions, boxes, frames, atoms, previous=before)
    if found:
        raise damage_error(path, found[0], len({f.frame for f in found}) - 1)


def _undecodable(member: Any, p: int, local: np.ndarray) -> np.ndarray:
    """Status per frame of part ``p`` (its own frame numbers ``local``): 0, or why the XTC decoder would choke."""
    offsets = getattr(member.infos[p], "frame_offsets", None)
    if offsets is None:
        return np.zeros(len(local), dtype=np.int64)
    from trajml.io.xtc_payload import frame_status

    return frame_status(member.parts[p], offsets, local, int(member.infos[p].n_atoms))


def _part_frames(source: Any, chunk_size: int, damaged: list[dict[str, Any]]
                 ) -> Iterator[tuple[str, Any, np.ndarray]]:
    """(file, chunk, frames in that file) in trajectory order, each chunk within one file, read without the
    checks. Frames the XTC decoder would choke on are appended to ``damaged`` and left out (a chunk ends there)."""
    from trajml.chunk import ChunkSpec
    from trajml.kernels.xtc import XTC_STATUS

    for t, member in enumerate(source.members):
        bounds = np.concatenate([[0], np.cumsum(member.part_lengths)])
        for p, path in enumerate(member.parts):
            for a in range(int(bounds[p]), int(bounds[p + 1]), chunk_size):
                b = min(a + chunk_size, int(bounds[p + 1]))
                shift = int(member.skip_first[p]) - int(bounds[p])
                status = _undecodable(member, p, np.arange(a, b) + shift)
                cuts = np.flatnonzero(status)
                for f in cuts:
                    damaged.append({"file": path, "frame": int(a + f + shift), "kind": "undecodable", "atom": None,
                                    "value": None, "n_atoms": 0, "message": XTC_STATUS[int(status[f])]})
                for lo, hi in zip(np.concatenate([[-1], cuts]) + 1, np.concatenate([cuts, [b - a]])):
                    if hi > lo:  # the runs of decodable frames between damaged ones
                        chunk = source.read(ChunkSpec(t, a + int(lo), a + int(hi)))
                        yield path, chunk, chunk.frames + shift


def iter_findings(source: Any, chunk_size: int = 100) -> Iterator[dict[str, Any]]:
    """Yield the implausible, non-finite and undecodable frames of a source as they are read.

    The lazy form of :func:`scan_source` (same dicts, same order), so that a caller who needs only
    the first damaged frame stops reading there (:mod:`trajml.io.file_check`).
    """
    pending: list[dict[str, Any]] = []
    checked = source.check_finite
    source.check_finite = False
    try:
        prev_path = None
        previous = None
        for path, chunk, local in _part_frames(source, chunk_size, pending):
            pos, box = chunk.positions, chunk.boxes
            finite = np.isfinite(pos).all(axis=(1, 2))
            if box is not None:
                finite &= np.isfinite(box).all(axis=(1, 2))
            for i in np.flatnonzero(~finite):
                pending.append({"file": path, "frame": int(local[i]), "kind": "nonfinite", "atom": None,
                                "value": None, "n_atoms": int((~np.isfinite(pos[i]).all(axis=1)).sum()),
                                "message": "NaN or infinite coordinates or box"})
            keep = np.flatnonzero(finite)
            prev = previous if (chunk.traj_id, path) == prev_path else None
            for f in find_implausible(pos[keep], None if box is None else box[keep], local[keep], previous=prev):
                pending.append({"file": path, "frame": f.frame, "kind": f.kind, "atom": f.atom, "value": f.value,
                                "n_atoms": f.n_atoms, "message": f.message})
            if keep.size:
                last = keep[-1]
                previous = (pos[last], None if box is None else box[last], int(local[last]))
                prev_path = (chunk.traj_id, path)
            pending.sort(key=lambda d: d["frame"])  # one file's: undecodable frames of this stretch and the chunk's
            yield from pending
            pending.clear()
        yield from pending  # undecodable frames after the last decodable chunk
    finally:
        source.check_finite = checked


def scan_source(source: Any, chunk_size: int = 100) -> list[dict[str, Any]]:
    """Every implausible frame of a source, read in order (jumps across chunk boundaries included).

    XTC frames whose compressed data would crash the decoder are listed with the kind
    ``"undecodable"`` and skipped, so the scan goes on past them and lists every damaged frame.

    Returns
    -------
    list of dict
        ``file``, ``frame`` (in that file), ``kind``, ``atom``, ``value``, ``n_atoms`` and ``message``,
        in reading order.
    """
    return list(iter_findings(source, chunk_size))
