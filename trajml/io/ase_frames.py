"""ASE's frames, read once: text formats parsed into arrays per process, ``.traj`` files through handles.

The file layer of the ase backend (:mod:`trajml.io.ase_reader`): XDATCAR and extended XYZ have no
frame index and ASE parses the whole file on every read, so each is parsed once per process into
read-only arrays (positions float32 Å, boxes float32 Å in trajml's lower-triangular form, times
float64 ps) that threads share; an ASE ``.traj`` file is read frame by frame through one
:class:`ase.io.Trajectory` handle per thread (a handle holds a file cursor). Both caches are keyed
by the file's identity (path, size, mtime, inode), so a rewritten file is read again. A damaged
XDATCAR is located to its last whole frame.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.errors import CorruptTrajectoryError, UnknownFormatError, require_extra

__all__ = ["clear_ase_cache"]

_TRAJ_MAGIC = b"- of UlmASE-Trajectory"
# Keys of atoms.info read as frame times, with their factor to ps.
_TIME_KEYS = (("time_ps", 1.0), ("time_fs", 1e-3), ("time", 1e-3))
_CACHE_SIZE = 8

_lock = threading.Lock()
_arrays: OrderedDict[tuple, "_Frames"] = OrderedDict()  # per process: read-only arrays, shared by threads
_local = threading.local()  # per thread: open ase.io.Trajectory handles


def _ase() -> Any:
    return require_extra("ase.io", "ase", "Reading VASP XDATCAR, extended XYZ and ASE .traj files")


def _frame_time(atoms: Any) -> float:
    """Time of one ASE frame in ps from ``atoms.info``, NaN when it has none."""
    info = getattr(atoms, "info", None) or {}
    for key, factor in _TIME_KEYS:
        value = info.get(key)
        if value is not None:
            try:
                return float(value) * factor
            except (TypeError, ValueError):
                continue
    return float("nan")


def _standard_cell(cell: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Cell and positions rotated into trajml's lower-triangular box form; None without a cell.

    Cells already lower-triangular (VASP and most MD cells) keep ASE's positions bit for bit.
    """
    from trajml.box import dimensions_from_matrices, matrices_from_dimensions

    cell = np.asarray(cell, dtype=np.float64)
    if not np.isfinite(cell).all() or abs(np.linalg.det(cell)) <= 0.0:
        return None
    if cell[0, 1] == 0.0 and cell[0, 2] == 0.0 and cell[1, 2] == 0.0:
        return cell, positions
    standard = matrices_from_dimensions(dimensions_from_matrices(cell))
    rotation = np.linalg.solve(cell, standard)  # x_std = x @ inv(cell) @ standard
    return standard, positions @ rotation


def _convert(atoms: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Positions (N, 3) float64 Å and box (3, 3) float64 Å (None without a cell) of one ASE frame."""
    positions = np.asarray(atoms.get_positions(), dtype=np.float64)
    if not np.any(atoms.get_pbc()):
        return positions, None
    out = _standard_cell(atoms.cell.array, positions)
    if out is None:
        return positions, None
    return out[1], out[0]


@dataclass(frozen=True)
class _Frames:
    """A whole text-format file parsed once: read-only arrays shared by the threads of a process."""

    positions: np.ndarray  # (F, N, 3) float32, Å
    boxes: np.ndarray | None  # (F, 3, 3) float32, Å; None when any frame has no cell
    times: np.ndarray  # (F,) float64, ps; NaN where the file stores none
    first: Any  # the first ase.Atoms (symbols, masses, info)


class _TrajHandle:
    """Random access to an ASE ``.traj`` file (one per thread)."""

    def __init__(self, path: str) -> None:
        self.trajectory = _ase().Trajectory(path, "r")
        self.n_frames = len(self.trajectory)
        self.first = self.trajectory[0] if self.n_frames else None

    def close(self) -> None:
        try:
            self.trajectory.close()
        except Exception:
            pass


def _signature(path: str) -> tuple[str, int, int, int]:
    st = os.stat(path)
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ino)


def _is_traj(path: str, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt.lower() == "traj"
    try:
        with open(path, "rb") as fh:
            return fh.read(len(_TRAJ_MAGIC)) == _TRAJ_MAGIC
    except OSError:
        return False


def _complete_xdatcar(path: str) -> tuple[str, int, str] | None:
    """The text of a damaged XDATCAR up to its last whole frame, that frame count, and what is wrong.

    None when the file is not an XDATCAR whose damage this can locate. A VASP run killed while
    writing leaves a last frame with fewer coordinate lines than atoms (the common case).
    """
    opener = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}.get(os.path.splitext(path)[1].lower())
    if opener is not None:
        import importlib

        handle = importlib.import_module(opener).open(path, "rt")
    else:
        handle = open(path)
    with handle as fh:
        lines = fh.read().splitlines(keepends=True)
    n_atoms, kept, k, i = None, 0, 0, 0
    while i < len(lines):
        if "Direct configuration=" not in lines[i] and "Cartesian configuration=" not in lines[i]:
            try:  # a header: title, scale, three cell rows, symbols, counts
                n_atoms = sum(int(x) for x in lines[i + 6].split())
            except (IndexError, ValueError):
                return None if k == 0 else ("".join(lines[:kept]), k, f"frame {k} has a damaged header")
            i += 7
            continue
        if n_atoms is None:
            return None
        block = lines[i + 1:i + 1 + n_atoms]
        try:
            whole = len(block) == n_atoms and all(len([float(x) for x in b.split()[:3]]) == 3 for b in block)
        except ValueError:
            whole = False
        if not whole:
            return "".join(lines[:kept]), k, f"frame {k} is incomplete ({len(block)} of {n_atoms} coordinate lines)"
        i += 1 + n_atoms
        kept, k = i, k + 1
    return None


def _format_name(path: str, fmt: str | None) -> str | None:
    """ASE's name of the file's format (``fmt`` when given; None when ASE cannot tell)."""
    if fmt:
        return fmt
    try:
        return _ase().formats.filetype(path)
    except Exception:
        return None


def _parse_all(path: str, fmt: str | None, truncate: bool = False) -> _Frames:
    """Parse every frame of a text-format file with ASE (once per process).

    A damaged XDATCAR raises :class:`CorruptTrajectoryError` naming the file and frame, or with
    ``truncate`` keeps the whole frames before the damage (the caller warns).
    """
    aio = _ase()
    try:
        frames = aio.read(path, index=":", format=fmt)
    except Exception as exc:
        found = _complete_xdatcar(path) if _format_name(path, fmt) == "vasp-xdatcar" else None
        if found is None:
            raise _open_error(path, fmt, exc) from None
        text, n_good, damage = found
        if not truncate or n_good == 0:
            keep = f"; open it with on_damage='truncate' to use frames 0 to {n_good - 1}." if n_good else "."
            raise CorruptTrajectoryError(f"Trajectory '{path}' is truncated or corrupt: {damage}{keep}") from None
        import io

        frames = aio.read(io.StringIO(text), index=":", format="vasp-xdatcar")
        frames[0].info["trajml_damage"] = damage
    if not isinstance(frames, list):
        frames = [frames]
    if not frames:
        raise CorruptTrajectoryError(f"Trajectory '{path}' has no frame.")
    n_atoms = len(frames[0])
    positions = np.empty((len(frames), n_atoms, 3), dtype=np.float32)
    boxes = np.empty((len(frames), 3, 3), dtype=np.float32)
    times = np.empty(len(frames), dtype=np.float64)
    has_box = True
    for k, atoms in enumerate(frames):  # a Python loop over ASE objects: ASE holds one object per frame
        if len(atoms) != n_atoms:
            raise CorruptTrajectoryError(
                f"Trajectory '{path}' frame {k} has {len(atoms)} atoms, but frame 0 has {n_atoms}; "
                "trajml needs a constant number of atoms."
            )
        pos, box = _convert(atoms)
        positions[k] = pos
        if box is None:
            has_box = False
        else:
            boxes[k] = box
        times[k] = _frame_time(atoms)
    positions.setflags(write=False)
    return _Frames(positions, boxes if has_box else None, times, frames[0])


def _open_error(path: str, fmt: str | None, exc: Exception) -> Exception:
    if isinstance(exc, FileNotFoundError):
        return FileNotFoundError(f"Trajectory '{path}' does not exist.")
    how = f"format {fmt!r}" if fmt else "its format guessed from the name and contents"
    return UnknownFormatError(
        f"ASE cannot read trajectory '{path}' with {how} ({type(exc).__name__}: {exc}). Pass the ASE format "
        "name as format=..., e.g. 'vasp-xdatcar', 'extxyz' or 'traj'."
    )


def _handle(path: str, fmt: str | None, truncate: bool = False) -> _Frames | _TrajHandle:
    """The cached reader of ``path``: parsed arrays (text formats) or a per-thread ``.traj`` handle."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"Trajectory '{path}' does not exist.")
    key = (_signature(path), fmt, truncate)
    if _is_traj(path, fmt):
        cache: OrderedDict | None = getattr(_local, "handles", None)
        if cache is None:
            cache = _local.handles = OrderedDict()
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        try:
            handle = _TrajHandle(path)
        except Exception as exc:
            raise _open_error(path, fmt, exc) from None
        cache[key] = handle
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)[1].close()
        return handle
    with _lock:
        if key in _arrays:
            _arrays.move_to_end(key)
            return _arrays[key]
    frames = _parse_all(path, fmt, truncate)  # outside the lock: parsing takes time; a duplicate parse is harmless
    with _lock:
        _arrays[key] = frames
        while len(_arrays) > _CACHE_SIZE:
            _arrays.popitem(last=False)
    return frames


def clear_ase_cache() -> int:
    """Forget this process' parsed files and close this thread's ``.traj`` handles; returns how many."""
    with _lock:
        n = len(_arrays)
        _arrays.clear()
    cache: OrderedDict | None = getattr(_local, "handles", None)
    while cache:
        cache.popitem()[1].close()
        n += 1
    return n


def _n_frames(handle: _Frames | _TrajHandle) -> int:
    return handle.n_frames if isinstance(handle, _TrajHandle) else len(handle.positions)


def _explicit_time_unit(handle: _Frames | _TrajHandle) -> bool:
    """Whether the first frame's time carries its unit in its key (``time_ps``, ``time_fs``)."""
    info = handle.first.info if handle.first is not None else {}
    return any(key in info for key, _ in _TIME_KEYS[:2])


def _time_of(handle: _Frames | _TrajHandle, k: int) -> float:
    if isinstance(handle, _TrajHandle):
        return _frame_time(handle.trajectory[k])
    return float(handle.times[k])
