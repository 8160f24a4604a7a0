"""Reader backends: the only code in trajml that knows file formats and their units.

Two backends read coordinates: MDAnalysis (default; every format it reads) and
mdtraj. Topologies and selections always go through MDAnalysis, so selection
syntax is the same whichever backend reads the frames.

Opened readers are cached per thread (a reader holds a file cursor, so two
threads must never share one) and per process; workers receive only paths.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.errors import AtomCountMismatchError, CorruptTrajectoryError, UnknownFormatError

__all__ = ["PartInfo", "open_universe", "probe_part", "read_frames", "BACKENDS"]

BACKENDS = ("mdanalysis", "mdtraj")
_CACHE_SIZE = 8
_local = threading.local()


def _mda() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import MDAnalysis

    return MDAnalysis


def _check_exists(path: str, role: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{role} file '{path}' does not exist.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{role} file '{path}' is a directory, not a file.")


def _apply_type_map(universe: Any, type_map: tuple[tuple[str, str], ...], topology: str) -> None:
    """Rename numeric (LAMMPS) types and give atoms the mapped names."""
    if not type_map:
        return
    mapping = dict(type_map)
    types = np.asarray(universe.atoms.types).astype(str)
    unknown = sorted(set(types) - set(mapping))
    if unknown:
        raise ValueError(
            f"The type map given for '{topology}' has no entry for atom type(s) {unknown}; "
            f"it maps {sorted(mapping)}."
        )
    mapped = np.array([mapping[t] for t in types], dtype=object)
    universe.atoms.types = mapped
    if hasattr(universe.atoms, "names"):
        universe.atoms.names = mapped
    else:
        universe.add_TopologyAttr("names", mapped)


def _universe_key(topology: str, trajectory: str | None, topology_format: str | None, fmt: str | None,
                  type_map: tuple) -> tuple:
    return (topology, trajectory, topology_format, fmt, type_map)


def open_universe(
    topology: str,
    trajectory: str | None = None,
    *,
    topology_format: str | None = None,
    format: str | None = None,
    type_map: tuple[tuple[str, str], ...] = (),
    **kwargs: Any,
) -> Any:
    """Open (or fetch from this thread's cache) an MDAnalysis Universe.

    Errors are rephrased to name the file: a missing file raises
    FileNotFoundError, an unknown format :class:`UnknownFormatError`, and an
    atom-count mismatch :class:`AtomCountMismatchError` with both counts.
    """
    cache: OrderedDict = getattr(_local, "universes", None)
    if cache is None:
        cache = _local.universes = OrderedDict()
    key = _universe_key(topology, trajectory, topology_format, format, type_map)
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    mda = _mda()
    _check_exists(topology, "Topology")
    if trajectory is not None:
        _check_exists(trajectory, "Trajectory")
    args = (topology,) if trajectory is None else (topology, trajectory)
    opts = dict(kwargs)
    if topology_format:
        opts["topology_format"] = topology_format
    if format:
        opts["format"] = format
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            universe = mda.Universe(*args, **opts)
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        if "same number of atoms" in msg:
            n_top = _count_topology_atoms(topology, topology_format)
            n_traj = _count_trajectory_atoms(trajectory, format)
            raise AtomCountMismatchError(
                f"Topology '{topology}' has {n_top} atoms but trajectory '{trajectory}' has {n_traj}."
            ) from None
        if "Unknown coordinate trajectory format" in msg or "appropriate coordinate reader" in msg:
            known = ", ".join(sorted(mda._READERS))
            raise UnknownFormatError(
                f"Trajectory '{trajectory}' has a format trajml cannot read (extension "
                f"'{os.path.splitext(str(trajectory))[1]}'). Readable formats: {known}. "
                "Pass format='XTC' (or another) if the extension is misleading."
            ) from None
        if "topology format" in msg.lower() or "appropriate topology parser" in msg or "Unknown topology" in msg:
            known = ", ".join(sorted(mda._PARSERS))
            raise UnknownFormatError(
                f"Topology '{topology}' has a format trajml cannot read (extension "
                f"'{os.path.splitext(topology)[1]}'). Readable topology formats: {known}. "
                "Pass topology_format='PSF' (or another) if the extension is misleading."
            ) from None
        raise ValueError(f"Could not open topology '{topology}' with trajectory '{trajectory}': {msg}") from exc
    except (EOFError, OSError, IndexError, KeyError) as exc:
        bad = trajectory if trajectory is not None else topology
        raise CorruptTrajectoryError(f"Could not read '{bad}': {type(exc).__name__}: {exc}") from exc
    _apply_type_map(universe, type_map, topology)
    cache[key] = universe
    while len(cache) > _CACHE_SIZE:
        _, old = cache.popitem(last=False)
        try:
            old.trajectory.close()
        except Exception:
            pass
    return universe


def _count_topology_atoms(topology: str, topology_format: str | None) -> int:
    mda = _mda()
    opts = {"topology_format": topology_format} if topology_format else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return len(mda.Universe(topology, **opts).atoms)


def _count_trajectory_atoms(trajectory: str | None, fmt: str | None) -> int | str:
    if trajectory is None:
        return "?"
    from MDAnalysis.coordinates.core import get_reader_for

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = get_reader_for(trajectory, format=fmt)(trajectory)
        n = reader.n_atoms
        reader.close()
        return int(n)
    except Exception:
        return "?"


@dataclass(frozen=True)
class PartInfo:
    """What opening one trajectory file revealed.

    Attributes
    ----------
    n_frames : int
        Number of readable frames (after any damage).
    n_atoms : int
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


def _integrity(reader: Any, path: str) -> tuple[int, str | None]:
    """Find frames lost to truncation or corruption that MDAnalysis drops silently.

    MDAnalysis counts XTC/TRR frames by scanning frame headers and DCD frames by
    file size; a damaged tail silently shortens the trajectory. Returns the
    number of readable frames and a description of the damage (or None).
    """
    n = int(reader.n_frames)
    size = os.path.getsize(path)
    xdr = getattr(reader, "_xdr", None)
    if xdr is not None and hasattr(xdr, "_bytes_tell") and n > 0:
        try:
            xdr.seek(n - 1)
            xdr.read()
        except Exception as exc:
            return n - 1, f"frame {n - 1} cannot be decoded ({exc})"
        end = int(xdr._bytes_tell())
        if end != size:
            return n, f"frame {n} is damaged: the file has {size - end} bytes after frame {n - 1} that do not form a frame"
        return n, None
    dcd = getattr(reader, "_file", None)
    if dcd is not None and hasattr(dcd, "_framesize") and n > 0:
        expected = int(dcd._header_size) + int(dcd._firstframesize) + (n - 1) * int(dcd._framesize)
        if size > expected:
            return n, f"frame {n} is truncated ({size - expected} of {int(dcd._framesize)} bytes present)"
    return n, None


def probe_part(
    backend: str,
    topology: str,
    part: str,
    *,
    topology_format: str | None,
    format: str | None,
    type_map: tuple,
    reader_kwargs: dict,
    on_damage: str,
) -> PartInfo:
    """Open one trajectory file, check its integrity and report its frame count and timing."""
    universe = open_universe(topology, part, topology_format=topology_format, format=format,
                             type_map=type_map, **reader_kwargs)
    reader = universe.trajectory
    n_good, damage = _integrity(reader, part)
    if damage is not None:
        message = (f"Trajectory '{part}' is truncated or corrupt: {damage}. Frames 0 to {n_good - 1} are readable; "
                   "open it with on_damage='truncate' to use them.")
        if on_damage == "raise":
            raise CorruptTrajectoryError(message)
        warnings.warn(f"Trajectory '{part}' is truncated or corrupt: {damage}. Using frames 0 to {n_good - 1}.",
                      RuntimeWarning, stacklevel=3)
    if n_good == 0:
        raise CorruptTrajectoryError(f"Trajectory '{part}' has no readable frame.")
    try:
        ts = reader[0]
        first_time = float(ts.time)
        has_box = ts.dimensions is not None and bool(np.all(np.asarray(ts.dimensions[:3]) > 0))
        last_time = float(reader[n_good - 1].time)
    except Exception as exc:
        raise CorruptTrajectoryError(f"Trajectory '{part}': cannot read frame 0 or {n_good - 1}: {exc}") from exc
    try:
        dt = float(reader.dt)
    except Exception:
        dt = float("nan")
    if backend == "mdtraj":
        _mdtraj_n_frames(part)  # fail early if mdtraj cannot read it
    return PartInfo(n_frames=n_good, n_atoms=len(universe.atoms), dt=dt, first_time=first_time,
                    last_time=last_time, has_box=has_box, damage=damage)


def read_frames(
    backend: str,
    topology: str,
    part: str,
    local_frames: np.ndarray,
    atoms: np.ndarray | None,
    *,
    topology_format: str | None,
    format: str | None,
    type_map: tuple,
    reader_kwargs: dict,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Read frames of one file.

    Returns
    -------
    positions : ndarray, shape (F, N, 3), float32, Å
    boxes : ndarray, shape (F, 3, 3), float32, Å, or None
    times : ndarray, shape (F,), float64, ps
    """
    if backend == "mdtraj":
        return _read_mdtraj(topology, part, local_frames, atoms)
    universe = open_universe(topology, part, topology_format=topology_format, format=format,
                             type_map=type_map, **reader_kwargs)
    reader = universe.trajectory
    n_atoms = len(universe.atoms) if atoms is None else len(atoms)
    n = len(local_frames)
    positions = np.empty((n, n_atoms, 3), dtype=np.float32)
    boxes = np.empty((n, 3, 3), dtype=np.float32)
    times = np.empty(n, dtype=np.float64)
    has_box = True
    for i, frame in enumerate(local_frames):  # one file read per frame: I/O bound, not a compute loop
        try:
            ts = reader[int(frame)]
        except Exception as exc:
            raise CorruptTrajectoryError(
                f"Trajectory '{part}': cannot read frame {int(frame)}: {type(exc).__name__}: {exc}"
            ) from exc
        positions[i] = ts.positions if atoms is None else ts.positions[atoms]
        times[i] = ts.time
        tri = ts.triclinic_dimensions
        if tri is None:
            has_box = False
        else:
            boxes[i] = tri
    return positions, (boxes if has_box else None), times


def _mdtraj_n_frames(part: str) -> int:
    import mdtraj

    with mdtraj.open(part) as handle:
        return len(handle)


_mdtraj_topologies: dict[str, Any] = {}


def _read_mdtraj(topology: str, part: str, local_frames: np.ndarray,
                 atoms: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Read frames with mdtraj and convert nm to Å."""
    import mdtraj

    top = _mdtraj_topologies.get(topology)
    if top is None:
        top = _mdtraj_topologies[topology] = mdtraj.load_topology(topology)
    frames = np.asarray(local_frames, dtype=np.int64)
    first, last = int(frames[0]), int(frames[-1])
    stride = int(frames[1] - frames[0]) if len(frames) > 1 else 1
    with mdtraj.open(part) as handle:
        handle.seek(first)
        traj = handle.read_as_traj(top, n_frames=(last - first) // stride + 1, stride=stride,
                                   atom_indices=None if atoms is None else np.asarray(atoms))
    positions = np.ascontiguousarray(traj.xyz * np.float32(10.0), dtype=np.float32)
    boxes = None
    if traj.unitcell_vectors is not None:
        boxes = np.ascontiguousarray(traj.unitcell_vectors * np.float32(10.0), dtype=np.float32)
    return positions, boxes, np.asarray(traj.time, dtype=np.float64)
