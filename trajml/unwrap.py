"""No-jump unwrapping of wrapped trajectories, streamed and in parallel.

Atoms in a wrapped trajectory jump by a box vector when they cross a periodic
boundary. No-jump unwrapping (the rule of MDAnalysis'
:class:`~MDAnalysis.transformations.nojump.NoJump`, Kulke & Vermaas, JCTC 2022)
undoes this by never letting an atom move more than half a box between
consecutive frames. trajml writes the rule with integer image counts ``n``:

.. math::

    f_t = x_t L_t^{-1}, \\qquad n_t = n_{t-1} - \\operatorname{rint}(f_t - f_{t-1}),
    \\qquad u_t = x_t + n_t L_t ,

with box vectors as the rows of ``L_t`` (so NPT boxes that change every frame
are handled exactly). The first frame unwrapped is the reference (``n = 0``)
and is returned unchanged. Integer counts make chunked evaluation exact:

* :class:`Unwrapper` carries the counts from one chunk to the next (serial
  streaming; :func:`iter_unwrapped` wraps it around a source);
* :func:`trajml.parallel.unwrapping.unwrap_parallel` (also importable from here)
  computes each chunk's net change of the counts (:func:`chunk_image_shift`) in
  parallel on the engine's schedulers, and a prefix sum gives every chunk its
  starting counts; :func:`read_unwrapped` (or :func:`unwrap_chunk`) then unwraps
  any chunk on its own, in any order, on any worker.

Both routes give identical results, equal to MDAnalysis' ``NoJump`` up to its
float32 round-off. Fractional coordinates are evaluated in float64; unwrapped
positions are float32 Å like every :class:`~trajml.chunk.Chunk`.

Examples
--------
>>> import numpy as np
>>> from trajml.chunk import Chunk
>>> box = np.diag([10.0, 10.0, 10.0]).astype(np.float32)
>>> x = np.array([[[9.5, 5, 5]], [[0.5, 5, 5]], [[1.5, 5, 5]]], dtype=np.float32)
>>> chunk = Chunk(x, np.stack([box] * 3), np.arange(3.0), np.arange(3))
>>> Unwrapper()(chunk).positions[:, 0, 0]
array([ 9.5, 10.5, 11.5], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from trajml.chunk import Chunk, ChunkSpec
from trajml.errors import MissingBoxError

__all__ = [
    "Unwrapper",
    "chunk_image_shift",
    "unwrap_chunk",
    "iter_unwrapped",
    "read_unwrapped",
]

_EMPTY_FRAC = np.empty((0, 3), dtype=np.float64)


def _kernels() -> Any:
    # Imported lazily: numba compilation (or loading its cache) happens on first use,
    # not on ``import trajml``.
    from trajml.kernels import unwrap as kernels

    return kernels


# --------------------------------------------------------------------------- #
# validation helpers
# --------------------------------------------------------------------------- #


def _checked_boxes(chunk: Chunk, role: str = "") -> np.ndarray:
    """Return the chunk's boxes, or raise MissingBoxError naming trajectory and frame."""
    what = f"{role} " if role else ""
    if chunk.boxes is None:
        frame = int(chunk.frames[-1 if role else 0]) if chunk.n_frames else "?"
        raise MissingBoxError(
            f"No-jump unwrapping needs a periodic box in every frame, but the {what}chunk of "
            f"trajectory {chunk.traj_id} has no box (frame {frame})."
        )
    boxes = chunk.boxes
    if boxes.shape[0]:
        volumes = np.abs(np.linalg.det(boxes.astype(np.float64)))
        bad = np.flatnonzero(~(np.isfinite(volumes) & (volumes > 0.0)))
        if bad.size:
            frame = int(chunk.frames[bad[0]])
            raise MissingBoxError(
                f"No-jump unwrapping needs a periodic box in every frame, but trajectory "
                f"{chunk.traj_id} frame {frame} has a box of zero or undefined volume "
                f"({boxes[bad[0]].tolist()} Å)."
            )
    return boxes


def _atom_ids(chunk: Chunk) -> np.ndarray:
    return chunk.atom_indices if chunk.atom_indices is not None else np.arange(chunk.n_atoms)


def _check_same_atoms(chunk: Chunk, other: Chunk, what: str) -> None:
    if chunk.n_atoms != other.n_atoms or (
        (chunk.atom_indices is not None or other.atom_indices is not None)
        and not np.array_equal(_atom_ids(chunk), _atom_ids(other))
    ):
        raise ValueError(
            f"The chunk of trajectory {chunk.traj_id} starting at frame {int(chunk.frames[0])} holds "
            f"{chunk.n_atoms} atoms, which are not the {other.n_atoms} atoms of {what}; "
            f"unwrap the same atom selection throughout."
        )


def _internal_step(chunk: Chunk) -> int | None:
    """The chunk's constant frame step, None for a single frame; raise if uneven."""
    if chunk.n_frames < 2:
        return None
    steps = np.diff(chunk.frames)
    if np.any(steps != steps[0]) or steps[0] < 1:
        raise ValueError(
            f"No-jump unwrapping needs evenly spaced, increasing frames; the chunk of trajectory "
            f"{chunk.traj_id} has frames {chunk.frames.tolist()}."
        )
    return int(steps[0])


def _check_prev(chunk: Chunk, prev: Chunk) -> None:
    """Check that ``prev``'s last frame is the frame just before ``chunk``."""
    if prev.traj_id != chunk.traj_id:
        raise ValueError(
            f"The previous frame given for a chunk of trajectory {chunk.traj_id} belongs to "
            f"trajectory {prev.traj_id}."
        )
    if prev.n_frames == 0:
        raise ValueError("The previous-frame chunk is empty; pass None at the start of a trajectory.")
    _check_same_atoms(chunk, prev, "the previous frame")
    if chunk.n_frames == 0:
        return
    gap = int(chunk.frames[0]) - int(prev.frames[-1])
    step = _internal_step(chunk)
    if gap < 1 or (step is not None and gap != step):
        raise ValueError(
            f"The previous frame ({int(prev.frames[-1])}) is not the frame just before the chunk of "
            f"trajectory {chunk.traj_id} that starts at frame {int(chunk.frames[0])}"
            + (f" with step {step}" if step is not None else "")
            + "."
        )


def _prev_frac(prev: Chunk | None) -> np.ndarray:
    """Fractional coordinates (N, 3) float64 of ``prev``'s last frame, or an empty (0, 3) array."""
    if prev is None:
        return _EMPTY_FRAC
    boxes = _checked_boxes(prev, "previous")
    out = np.empty((1, prev.n_atoms, 3), dtype=np.float64)
    _kernels().fractional_coordinates(
        np.ascontiguousarray(prev.positions[-1:]), np.ascontiguousarray(boxes[-1:]), out
    )
    return out[0]


def _as_images(images: np.ndarray | None, n_atoms: int, name: str) -> np.ndarray:
    if images is None:
        return np.zeros((n_atoms, 3), dtype=np.int64)
    arr = np.asarray(images)
    if arr.shape != (n_atoms, 3) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"The '{name}' parameter must be an integer array of shape ({n_atoms}, 3); "
            f"got {arr.dtype} {arr.shape}."
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


def _unwrap_arrays(
    chunk: Chunk, boxes: np.ndarray, prev_frac: np.ndarray, start_images: np.ndarray
) -> tuple[Chunk, np.ndarray]:
    out = np.empty(chunk.positions.shape, dtype=np.float32)
    last = np.empty((chunk.n_atoms, 3), dtype=np.int64)
    _kernels().nojump_unwrap(
        np.ascontiguousarray(chunk.positions), np.ascontiguousarray(boxes), prev_frac, start_images, out, last
    )
    unwrapped = Chunk(
        positions=out,
        boxes=chunk.boxes,
        times=chunk.times,
        frames=chunk.frames,
        traj_id=chunk.traj_id,
        atom_indices=chunk.atom_indices,
    )
    return unwrapped, last


# --------------------------------------------------------------------------- #
# chunk-level functions
# --------------------------------------------------------------------------- #


def chunk_image_shift(chunk: Chunk, prev: Chunk | None) -> np.ndarray:
    """Net change of the integer image counts over a chunk (pass 1).

    Parameters
    ----------
    chunk : Chunk
        Wrapped frames ``s .. e`` of one trajectory, with boxes.
    prev : Chunk or None
        A chunk whose **last** frame is the frame just before ``chunk`` (usually
        a one-frame chunk); None when ``chunk`` starts the trajectory, whose
        first frame is then the reference.

    Returns
    -------
    ndarray, shape (N, 3), int64
        ``n_e - n_{s-1}``: the image counts gained over the chunk, including the
        step from the previous frame. Summing the shifts of the chunks before a
        chunk gives that chunk's ``start_images`` for :func:`unwrap_chunk`.

    Raises
    ------
    MissingBoxError
        If a frame of ``chunk`` or ``prev`` has no (or a singular) box.
    ValueError
        If ``prev`` is not the frame just before ``chunk`` or holds other atoms.
    """
    boxes = _checked_boxes(chunk)
    if prev is not None:
        _check_prev(chunk, prev)
    prev_frac = _prev_frac(prev)
    out = np.empty((chunk.n_atoms, 3), dtype=np.int64)
    _kernels().image_shift(np.ascontiguousarray(chunk.positions), np.ascontiguousarray(boxes), prev_frac, out)
    return out


def unwrap_chunk(chunk: Chunk, prev: Chunk | None, start_images: np.ndarray | None = None) -> Chunk:
    """Unwrap one chunk given the frame before it and that frame's image counts (pass 2).

    Parameters
    ----------
    chunk : Chunk
        Wrapped frames of one trajectory, with boxes.
    prev : Chunk or None
        A chunk whose last frame is the frame just before ``chunk``; None when
        ``chunk`` starts the trajectory (its first frame is the reference).
    start_images : ndarray, shape (N, 3), int, optional
        Image counts of ``prev``'s last frame (the prefix sum of
        :func:`chunk_image_shift` over the earlier chunks). Defaults to zeros,
        which is right at the trajectory start.

    Returns
    -------
    Chunk
        The same frames with unwrapped positions (float32, Å); boxes, times,
        frames and atoms are shared with ``chunk``.

    Raises
    ------
    MissingBoxError
        If a frame of ``chunk`` or ``prev`` has no (or a singular) box.
    ValueError
        If ``prev`` is not the frame just before ``chunk``, holds other atoms,
        or ``start_images`` has the wrong shape.
    """
    boxes = _checked_boxes(chunk)
    if prev is not None:
        _check_prev(chunk, prev)
    start = _as_images(start_images, chunk.n_atoms, "start_images")
    unwrapped, _ = _unwrap_arrays(chunk, boxes, _prev_frac(prev), start)
    return unwrapped


class Unwrapper:
    """Serial streaming no-jump unwrapper for one trajectory.

    Feed it the chunks of one trajectory in order; it returns each chunk
    unwrapped and keeps the last frame's fractional coordinates and integer
    image counts for the next chunk, so the result does not depend on how the
    trajectory is cut. The first frame it sees is the reference and is
    returned unchanged.

    Attributes
    ----------
    traj_id : int or None
        Trajectory being unwrapped; None before the first chunk.
    last_frame : int or None
        Frame number of the last frame seen.
    step : int or None
        Frame step of the stream, once known.
    images : ndarray, shape (N, 3), int64, or None
        Image counts of the last frame seen.
    last_fractional : ndarray, shape (N, 3), float64, or None
        Fractional coordinates of the last frame seen.

    Examples
    --------
    >>> unwrapper = Unwrapper()
    >>> unwrapped = [unwrapper(chunk) for chunk in chunks]  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the stream; the next chunk starts a new trajectory (reference frame)."""
        self.traj_id: int | None = None
        self.last_frame: int | None = None
        self.step: int | None = None
        self.images: np.ndarray | None = None
        self.last_fractional: np.ndarray | None = None
        self._atom_ids: np.ndarray | None = None

    def _check_continuation(self, chunk: Chunk) -> int | None:
        step = _internal_step(chunk)
        if self.last_frame is None:
            return step
        if chunk.traj_id != self.traj_id:
            raise ValueError(
                f"This Unwrapper is unwrapping trajectory {self.traj_id} but got a chunk of trajectory "
                f"{chunk.traj_id}; use one Unwrapper per trajectory (or call reset() first)."
            )
        atoms = _atom_ids(chunk)
        if atoms.shape != self._atom_ids.shape or not np.array_equal(atoms, self._atom_ids):
            raise ValueError(
                f"The chunk of trajectory {chunk.traj_id} starting at frame {int(chunk.frames[0])} holds "
                f"other atoms ({chunk.n_atoms}) than the earlier chunks ({self._atom_ids.shape[0]}); "
                f"unwrap the same atom selection throughout."
            )
        gap = int(chunk.frames[0]) - self.last_frame
        expected = self.step if self.step is not None else step
        if gap < 1 or (expected is not None and gap != expected) or (step is not None and step != gap):
            want = self.last_frame + (expected if expected is not None else 1)
            raise ValueError(
                f"Chunks must be consecutive: the previous chunk of trajectory {self.traj_id} ended at "
                f"frame {self.last_frame}, so the next must start at frame {want}"
                + (f" (step {expected})" if expected is not None else "")
                + f", but it starts at frame {int(chunk.frames[0])}"
                + (f" with step {step}" if step is not None else "")
                + "."
            )
        return gap

    def __call__(self, chunk: Chunk) -> Chunk:
        """Unwrap the next chunk of the stream.

        Parameters
        ----------
        chunk : Chunk
            The frames following the previous chunk's last frame (same
            trajectory, same atoms, same frame step), with boxes.

        Returns
        -------
        Chunk
            The chunk with unwrapped positions (float32, Å).

        Raises
        ------
        MissingBoxError
            If the chunk has no box (the message names trajectory and frame).
        ValueError
            If the chunk does not continue the stream.
        """
        boxes = _checked_boxes(chunk)
        if chunk.n_frames == 0:
            return chunk
        step = self._check_continuation(chunk)
        if self.images is None:
            prev_frac, start = _EMPTY_FRAC, np.zeros((chunk.n_atoms, 3), dtype=np.int64)
        else:
            prev_frac, start = self.last_fractional, self.images
        unwrapped, last_images = _unwrap_arrays(chunk, boxes, prev_frac, start)
        last_frac = np.empty((1, chunk.n_atoms, 3), dtype=np.float64)
        _kernels().fractional_coordinates(
            np.ascontiguousarray(chunk.positions[-1:]), np.ascontiguousarray(boxes[-1:]), last_frac
        )
        if self.last_frame is None:
            self.traj_id = chunk.traj_id
            self._atom_ids = _atom_ids(chunk).copy()
        self.step = step if step is not None else self.step
        self.last_frame = int(chunk.frames[-1])
        self.images = last_images
        self.last_fractional = last_frac[0]
        return unwrapped


# --------------------------------------------------------------------------- #
# source-level functions
# --------------------------------------------------------------------------- #


def iter_unwrapped(
    source: Any,
    chunk_size: int = 100,
    atoms: np.ndarray | Sequence[int] | None = None,
    traj_id: int = 0,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[Chunk]:
    """Stream the unwrapped chunks of one trajectory of a source, serially.

    Parameters
    ----------
    source : trajml.io.Source
        The trajectories.
    chunk_size : int, optional
        Frames per chunk (memory is bounded by ``chunk_size * N * 3`` floats).
    atoms : array_like of int, shape (N,), optional
        Topology indices of the atoms to unwrap; all atoms by default.
    traj_id : int, optional
        Which trajectory of the source.
    start, stop : int, optional
        Frame range ``start:stop``; frame ``start`` is the reference frame
        (returned unchanged), so results match a full-trajectory unwrap only
        for ``start=0``.

    Yields
    ------
    Chunk
        Consecutive chunks with unwrapped positions (float32, Å).
    """
    atoms = None if atoms is None else np.asarray(atoms, dtype=np.int64)
    unwrapper = Unwrapper()
    for spec in source.partition(chunk_size, start=start, stop=stop, traj_ids=[traj_id]):
        yield unwrapper(source.read(spec, atoms))


def _read_with_prev(source: Any, spec: ChunkSpec, atoms: np.ndarray | None) -> tuple[Chunk, Chunk | None]:
    """Read ``spec`` at step 1 plus the frame just before it (one read)."""
    first = spec.start - 1 if spec.start > 0 else spec.start
    stop = spec.frames[-1] + 1 if len(spec) else spec.start
    block = source.read(ChunkSpec(spec.traj_id, first, stop, 1), atoms)
    if spec.start == 0:
        return block, None
    prev = Chunk(
        positions=block.positions[:1],
        boxes=None if block.boxes is None else block.boxes[:1],
        times=block.times[:1],
        frames=block.frames[:1],
        traj_id=block.traj_id,
        atom_indices=block.atom_indices,
    )
    chunk = Chunk(
        positions=block.positions[1:],
        boxes=None if block.boxes is None else block.boxes[1:],
        times=block.times[1:],
        frames=block.frames[1:],
        traj_id=block.traj_id,
        atom_indices=block.atom_indices,
    )
    return chunk, prev


def read_unwrapped(
    source: Any,
    spec: ChunkSpec,
    start_images: np.ndarray,
    atoms: np.ndarray | Sequence[int] | None = None,
) -> Chunk:
    """Read one chunk and unwrap it, given the image counts of the frame before it.

    Parameters
    ----------
    source : trajml.io.Source
        The trajectories.
    spec : ChunkSpec
        The frames to read. Frame 0 of the trajectory is the reference; for
        ``spec.start > 0`` the frame ``spec.start - 1`` is read too. With
        ``spec.step > 1`` all frames ``start .. stop`` are read and unwrapped
        and every ``step``-th is kept, so the result stays exact (memory grows
        with the step).
    start_images : ndarray, shape (N, 3), int
        Image counts of frame ``spec.start - 1``, as returned by
        :func:`unwrap_parallel` (zeros when ``spec.start == 0``).
    atoms : array_like of int, shape (N,), optional
        Topology indices of the atoms; must be those used for ``start_images``.

    Returns
    -------
    Chunk
        The frames of ``spec`` with unwrapped positions (float32, Å).
    """
    atoms = None if atoms is None else np.asarray(atoms, dtype=np.int64)
    chunk, prev = _read_with_prev(source, spec, atoms)
    unwrapped = unwrap_chunk(chunk, prev, start_images)
    if spec.step == 1:
        return unwrapped
    keep = slice(None, None, spec.step)
    return Chunk(
        positions=np.ascontiguousarray(unwrapped.positions[keep]),
        boxes=None if unwrapped.boxes is None else np.ascontiguousarray(unwrapped.boxes[keep]),
        times=unwrapped.times[keep].copy(),
        frames=unwrapped.frames[keep].copy(),
        traj_id=unwrapped.traj_id,
        atom_indices=unwrapped.atom_indices,
    )


def __getattr__(name: str) -> Any:
    # unwrap_parallel maps chunks on the engine's schedulers, one layer up: it lives in
    # trajml.parallel.unwrapping and is looked up from there on first use (no upward import).
    if name == "unwrap_parallel":
        import importlib

        return importlib.import_module("trajml.parallel.unwrapping").unwrap_parallel
    raise AttributeError(f"module 'trajml.unwrap' has no attribute {name!r}")
