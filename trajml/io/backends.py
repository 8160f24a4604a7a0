"""Reader backends: the only code in trajml that knows file formats and their units.

Two backends read coordinates: MDAnalysis (default; every format it reads) and
mdtraj. Topologies and selections always go through MDAnalysis, so selection
syntax is the same whichever backend reads the frames.

Opened MDAnalysis Universes are cached per thread (a reader holds a file
cursor, so two threads must never share one) and per process; workers receive
only paths. A cache entry is keyed by the files' paths *and* their size,
modification time and inode, plus every reading option, so a file rewritten in
place is reopened rather than served from a stale reader.

Integrity
---------
MDAnalysis counts XTC/TRR frames by scanning frame headers and DCD frames from
the file size, and a damaged file silently loses frames or fails only when the
damaged frame is read. :func:`probe_part` therefore walks the frame structure
of XTC, TRR and DCD files itself (XDR frame headers and byte counts; DCD
Fortran record markers) from the public file layouts, without MDAnalysis
internals, and reports the first damaged frame. Garbage that lands inside the
compressed coordinates of an XTC frame, or inside the coordinate block of a
DCD/TRR frame, leaves the structure intact and cannot be detected this way.
"""

from __future__ import annotations

import os
import struct
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.errors import AtomCountMismatchError, CorruptTrajectoryError, UnknownFormatError

__all__ = [
    "PartInfo",
    "open_universe",
    "probe_part",
    "read_frames",
    "clear_reader_cache",
    "scan_frames",
    "BACKENDS",
]

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


def _signature(path: str | None) -> tuple[int, int, int] | None:
    """Size, modification time (ns) and inode of ``path``: changes when the file is rewritten."""
    if path is None:
        return None
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _kwargs_key(kwargs: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), repr(v)) for k, v in kwargs.items()))


def _apply_type_map(universe: Any, type_map: tuple[tuple[str, str], ...], topology: str) -> None:
    """Rename numeric (LAMMPS) types and give atoms the mapped names.

    Raises
    ------
    ValueError
        If an atom type of the topology has no entry in the map; the message
        names the missing type(s) and the file.
    """
    if not type_map:
        return
    mapping = dict(type_map)
    try:
        types = np.asarray(universe.atoms.types).astype(str)
    except Exception:  # NoDataError: the topology has no types at all
        raise ValueError(
            f"A type map was given, but topology '{topology}' has no atom types to map."
        ) from None
    unknown = sorted({str(t) for t in types} - set(mapping), key=lambda t: (len(t), t))
    if unknown:
        shown = ", ".join(repr(t) for t in unknown[:12]) + (f" and {len(unknown) - 12} more" if len(unknown) > 12 else "")
        raise ValueError(
            f"The 'type_map' given for '{topology}' has no entry for atom type(s) {shown}; "
            f"it maps {sorted(mapping, key=lambda t: (len(t), t))}."
        )
    # Map each distinct type once (vectorised over atoms).
    uniq, inverse = np.unique(types, return_inverse=True)
    mapped = np.array([mapping[str(t)] for t in uniq], dtype=object)[inverse]
    universe.atoms.types = mapped
    if hasattr(universe.atoms, "names"):
        universe.atoms.names = mapped
    else:
        universe.add_TopologyAttr("names", mapped)


def _format_names(registry: Mapping[str, Any]) -> str:
    return ", ".join(sorted(registry))


def _check_formats(topology: str, trajectory: str | None, topology_format: str | None, fmt: str | None) -> None:
    """Raise :class:`UnknownFormatError` naming the file when MDAnalysis has no reader or parser for it."""
    from MDAnalysis.core._get_readers import get_parser_for, get_reader_for

    mda = _mda()
    if trajectory is not None:
        try:
            get_reader_for(trajectory, format=fmt)
        except (ValueError, TypeError):
            given = f"format {fmt!r}" if fmt else f"extension '{os.path.splitext(trajectory)[1]}'"
            raise UnknownFormatError(
                f"Trajectory '{trajectory}' has a format trajml cannot read ({given}). "
                f"Readable formats: {_format_names(mda._READERS)}. "
                "Pass format='XTC' (or another) if the extension is misleading."
            ) from None
    if isinstance(topology_format, str) and topology_format.upper() not in mda._PARSERS:
        # MDAnalysis would silently fall back to a minimal topology read with another reader.
        raise UnknownFormatError(
            f"Topology '{topology}': unknown topology_format {topology_format!r}. "
            f"Readable topology formats: {_format_names(mda._PARSERS)}."
        )
    try:
        get_parser_for(topology, format=topology_format)
    except (ValueError, TypeError):
        raise UnknownFormatError(
            f"Topology '{topology}' has a format trajml cannot read (extension "
            f"'{os.path.splitext(topology)[1]}'). Readable topology formats: {_format_names(mda._PARSERS)}. "
            "Pass topology_format='PSF' (or another) if the extension is misleading."
        ) from None


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

    Parameters
    ----------
    topology : str
        Topology file path.
    trajectory : str, optional
        Trajectory file path; None reads the coordinates of the topology file.
    topology_format, format : str, optional
        MDAnalysis format names overriding the file extensions.
    type_map : tuple of (str, str) pairs
        Numeric atom types to names (see :func:`trajml.io.open_source`).
    **kwargs
        Passed to ``MDAnalysis.Universe``.

    Returns
    -------
    MDAnalysis.Universe
        Cached per thread; do not share it with another thread.

    Raises
    ------
    FileNotFoundError
        A file does not exist (the message names it).
    UnknownFormatError
        No MDAnalysis reader or parser for a file (the message names it).
    AtomCountMismatchError
        Topology and trajectory disagree on the atom count (the message gives both).
    CorruptTrajectoryError
        The file exists and has a known format but cannot be read.
    """
    cache: OrderedDict | None = getattr(_local, "universes", None)
    if cache is None:
        cache = _local.universes = OrderedDict()
    _check_exists(topology, "Topology")
    if trajectory is not None:
        _check_exists(trajectory, "Trajectory")
    key = (topology, _signature(topology), trajectory, _signature(trajectory), topology_format, format,
           type_map, _kwargs_key(kwargs))
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    mda = _mda()
    _check_formats(topology, trajectory, topology_format, format)
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
    except Exception as exc:
        _raise_open_error(exc, topology, trajectory, topology_format, format, kwargs)
    _apply_type_map(universe, type_map, topology)
    cache[key] = universe
    while len(cache) > _CACHE_SIZE:
        _, old = cache.popitem(last=False)
        _close(old)
    return universe


def _close(universe: Any) -> None:
    try:
        universe.trajectory.close()
    except Exception:
        pass


def clear_reader_cache() -> int:
    """Close and forget the Universes cached by the calling thread.

    Returns
    -------
    int
        Number of Universes closed.
    """
    cache: OrderedDict | None = getattr(_local, "universes", None)
    if not cache:
        return 0
    n = len(cache)
    while cache:
        _, universe = cache.popitem()
        _close(universe)
    return n


def _raise_open_error(exc: Exception, topology: str, trajectory: str | None, topology_format: str | None,
                      fmt: str | None, kwargs: Mapping[str, Any]) -> None:
    """Rephrase an exception from ``MDAnalysis.Universe`` so it names the file; always raises."""
    msg = f"{type(exc).__name__}: {exc}"
    if trajectory is not None and trajectory != topology and isinstance(exc, (ValueError, TypeError)):
        n_top = _count_topology_atoms(topology, topology_format, kwargs)
        n_traj = _count_trajectory_atoms(trajectory, fmt)
        if isinstance(n_top, int) and isinstance(n_traj, int) and n_top != n_traj:
            raise AtomCountMismatchError(
                f"Topology '{topology}' has {n_top} atoms but trajectory '{trajectory}' has {n_traj}."
            ) from None
    if isinstance(exc, (ValueError, TypeError, NotImplementedError)) and "topology" in str(exc).lower():
        raise ValueError(f"Could not parse topology '{topology}': {msg}") from exc
    bad = trajectory if trajectory is not None else topology
    if isinstance(exc, (TypeError,)) and "argument" in str(exc):  # e.g. a misspelt reader keyword
        raise TypeError(f"Could not open '{bad}' with options {dict(kwargs)}: {msg}") from exc
    raise CorruptTrajectoryError(
        f"Could not read trajectory '{bad}' (with topology '{topology}'): the file is damaged or not in the "
        f"format its extension says. {msg}"
    ) from exc


def _count_topology_atoms(topology: str, topology_format: str | None, kwargs: Mapping[str, Any]) -> int | str:
    from MDAnalysis.core._get_readers import get_parser_for

    try:
        parser = get_parser_for(topology, format=topology_format)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with parser(topology) as p:
                try:
                    top = p.parse(**kwargs)
                except TypeError:
                    top = p.parse()
        return int(top.n_atoms)
    except Exception:
        return "?"


def _count_trajectory_atoms(trajectory: str, fmt: str | None) -> int | str:
    from MDAnalysis.core._get_readers import get_reader_for

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


# -- integrity scans: public file layouts, no reader internals ----------------------------------

_XTC_MAGIC = 1995
_XTC_MAGIC_2023 = 2023
_TRR_MAGIC = 1993


def _scan_xtc(path: str, n_atoms: int) -> tuple[int, str | None]:
    """Walk XTC frame headers; return the number of structurally whole frames and the damage.

    Layout per frame (XDR, big-endian): magic, natoms, step, time, box (9 floats),
    natoms again; then for natoms <= 9 raw floats, else precision, minint[3],
    maxint[3], smallidx, byte count and the compressed bytes padded to 4.
    """
    size = os.path.getsize(path)
    pos = 0
    i = 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(92)
            if len(head) < 56:
                return i, f"frame {i} is truncated ({size - pos} bytes of a frame header at byte {pos})"
            magic, natoms = struct.unpack(">ii", head[:8])
            if magic == _XTC_MAGIC_2023 and i == 0:
                return -1, None  # the 64-bit XTC variant of GROMACS 2023: not scanned
            if magic != _XTC_MAGIC:
                return i, (f"frame {i} at byte {pos} is not an XTC frame header "
                           f"(magic number {magic}, expected {_XTC_MAGIC})")
            (lsize,) = struct.unpack(">i", head[52:56])
            if natoms != n_atoms or lsize != natoms:
                return i, f"frame {i} at byte {pos} has a damaged header (it says {natoms} atoms, expected {n_atoms})"
            if natoms <= 9:
                frame_size = 56 + 12 * natoms
            else:
                if len(head) < 92:
                    return i, f"frame {i} is truncated ({size - pos} bytes of a frame header at byte {pos})"
                (byte_cnt,) = struct.unpack(">i", head[88:92])
                if byte_cnt < 0:
                    return i, f"frame {i} at byte {pos} has a damaged header (byte count {byte_cnt})"
                frame_size = 92 + 4 * ((byte_cnt + 3) // 4)
            if pos + frame_size > size:
                return i, f"frame {i} is truncated ({size - pos} of {frame_size} bytes present)"
            pos += frame_size
            i += 1
    return i, None


def _scan_trr(path: str, n_atoms: int) -> tuple[int, str | None]:
    """Walk TRR frame headers; return the number of structurally whole frames and the damage.

    Layout per frame (XDR, big-endian): magic 1993, string length 13, the XDR string
    ``"GMX_trn_file"`` (length 12 + 12 bytes), ten block sizes, natoms, step, nre,
    time and lambda (float or double), then the box, virial, pressure, x, v and f blocks.
    """
    size = os.path.getsize(path)
    pos = 0
    i = 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(76)
            if len(head) < 76:
                return i, f"frame {i} is truncated ({size - pos} bytes of a frame header at byte {pos})"
            magic, slen, strlen = struct.unpack(">iii", head[:12])
            if magic != _TRR_MAGIC or slen != 13 or strlen != 12:
                return i, f"frame {i} at byte {pos} is not a TRR frame header (magic number {magic}, expected {_TRR_MAGIC})"
            (ir, e, box, vir, pres, top, sym, x, v, frc, natoms, _step, _nre) = struct.unpack(">13i", head[24:76])
            sizes = (ir, e, box, vir, pres, top, sym, x, v, frc)
            if natoms != n_atoms or min(sizes) < 0:
                return i, f"frame {i} at byte {pos} has a damaged header (it says {natoms} atoms, expected {n_atoms})"
            if box:
                real = box // 9
            elif x:
                real = x // (3 * natoms)
            elif v:
                real = v // (3 * natoms)
            elif frc:
                real = frc // (3 * natoms)
            else:
                real = 4
            if real not in (4, 8):
                return i, f"frame {i} at byte {pos} has a damaged header (block sizes {sizes})"
            frame_size = 76 + 2 * real + box + vir + pres + x + v + frc
            if pos + frame_size > size:
                return i, f"frame {i} is truncated ({size - pos} of {frame_size} bytes present)"
            pos += frame_size
            i += 1
    return i, None


def _scan_dcd(path: str) -> tuple[int, str | None]:
    """Check the Fortran record markers of a DCD file; return whole frames and the damage.

    Every DCD record is ``int n, n bytes, int n``. The header is three records
    (four with fixed atoms); each frame is an optional unit-cell record and
    three (or four) coordinate records. Frames after the first all have the
    same size, so their markers are checked at once through a memory map.
    """
    size = os.path.getsize(path)
    if size < 4:
        return 0, "the file is too short to hold a DCD header"
    with open(path, "rb") as f:
        first = f.read(4)
    if struct.unpack("<i", first)[0] == 84:
        end = "<"
    elif struct.unpack(">i", first)[0] == 84:
        end = ">"
    else:
        return -1, None  # 64-bit record markers or not a DCD: leave it to the reader
    data = np.memmap(path, dtype=np.uint8, mode="r")
    i4 = np.dtype(end + "i4")

    def marker(at: int) -> int | None:
        return int(data[at:at + 4].view(i4)[0]) if at + 4 <= size else None

    def record(at: int) -> int | None:
        """Position after the record starting at ``at``; None when damaged or truncated."""
        n = marker(at)
        if n is None or n < 0 or at + 8 + n > size or marker(at + 4 + n) != n:
            return None
        return at + 8 + n

    # Header as libdcd reads it: control record, title record (sized by NTITLE, whose
    # markers libdcd does not check), atom-count record, free-atom indices with fixed atoms.
    damaged = (0, "the DCD header is damaged")
    pos = record(0)
    if pos is None or pos != 92:
        return damaged
    icntrl = data[8:88].view(i4)
    n_title = marker(pos + 4)
    if n_title is None or n_title < 0:
        return damaged
    pos += 12 + 80 * n_title
    if marker(pos) != 4:
        return damaged
    pos = record(pos)
    if pos is None:
        return damaged
    if int(icntrl[8]) != 0:
        pos = record(pos)
        if pos is None:
            return damaged
    charmm = int(icntrl[19]) != 0
    per_frame = 3 + int(charmm and int(icntrl[10]) != 0) + int(charmm and int(icntrl[11]) == 1)

    def frame(at: int) -> tuple[int | None, list[int]]:
        starts = []
        for _ in range(per_frame):
            starts.append(at)
            at = record(at)
            if at is None:
                return None, starts
        return at, starts

    if pos == size:
        return 0, None
    end0, _ = frame(pos)
    if end0 is None:
        return 0, f"frame 0 is damaged or truncated (its records at byte {pos} do not match their lengths)"
    if end0 == size:
        return 1, None
    end1, starts = frame(end0)
    if end1 is None:
        return 1, f"frame 1 is damaged or truncated (its records at byte {end0} do not match their lengths)"
    framesize = end1 - end0
    n_rest, tail = divmod(size - end0, framesize)
    rel = np.array([s - end0 for s in starts], dtype=np.int64)
    lengths = np.array([marker(s) for s in starts], dtype=np.int64)
    base = end0 + framesize * np.arange(n_rest, dtype=np.int64)
    for r, n in zip(rel, lengths):
        for at in (base + r, base + r + 4 + n):
            idx = at[:, None] + np.arange(4)
            values = np.ascontiguousarray(data[idx]).view(i4)[:, 0]
            bad = np.flatnonzero(values != n)
            if bad.size:
                k = int(bad[0])
                n_rest = min(n_rest, k)
    n_good = 1 + int(n_rest)
    if n_good < 1 + (size - end0) // framesize:
        return n_good, (f"frame {n_good} is damaged (its Fortran record markers at byte "
                        f"{end0 + framesize * n_rest} do not match)")
    if tail:
        return n_good, f"frame {n_good} is truncated ({tail} of {framesize} bytes present)"
    return n_good, None


def scan_frames(reader: Any, path: str) -> tuple[int, str | None]:
    """Count the structurally whole frames of an XTC, TRR or DCD file.

    Parameters
    ----------
    reader : MDAnalysis reader
        The file's reader (its class selects the layout; its ``n_atoms`` is the expectation).
    path : str
        The file.

    Returns
    -------
    n_frames : int
        Frames before the first damaged one; -1 when the format is not scanned.
    damage : str or None
        What is wrong with frame ``n_frames``, or None when the file is whole.
    """
    from MDAnalysis.coordinates.DCD import DCDReader
    from MDAnalysis.coordinates.TRR import TRRReader
    from MDAnalysis.coordinates.XTC import XTCReader

    if isinstance(reader, XTCReader):
        return _scan_xtc(path, int(reader.n_atoms))
    if isinstance(reader, TRRReader):
        return _scan_trr(path, int(reader.n_atoms))
    if isinstance(reader, DCDReader):
        return _scan_dcd(path)
    return -1, None


def _integrity(reader: Any, path: str) -> tuple[int, str | None]:
    """Readable frames of a file and the damage that ends them early (None when whole)."""
    n = int(reader.n_frames)
    n_scan, damage = scan_frames(reader, path)
    if n_scan < 0:
        return n, None
    if damage is None and n_scan != n:
        damage = f"MDAnalysis counts {n} frames but the file holds {n_scan} whole frames"
    return min(n, n_scan), damage


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
    """Open one trajectory file, check its integrity and report its frame count and timing.

    Parameters
    ----------
    backend : {"mdanalysis", "mdtraj"}
        Library that will read the coordinates (mdtraj must be able to open the file too).
    topology, part : str
        Topology and trajectory file paths.
    topology_format, format, type_map, reader_kwargs
        As for :func:`open_universe`.
    on_damage : {"raise", "truncate"}
        Raise on a damaged file, or warn and keep the frames before the damage.

    Returns
    -------
    PartInfo

    Raises
    ------
    CorruptTrajectoryError
        A damaged file with ``on_damage="raise"`` (the message names the file and
        the first damaged frame), or a file with no readable frame.
    """
    universe = open_universe(topology, part, topology_format=topology_format, format=format,
                             type_map=type_map, **reader_kwargs)
    reader = universe.trajectory
    n_good, damage = _integrity(reader, part)
    # A frame that is structurally whole can still fail to decode: step back to the last good one.
    first_time = last_time = float("nan")
    has_box = False
    while n_good > 0:
        try:
            ts = reader[n_good - 1]
            last_time = float(ts.time)
            break
        except Exception as exc:
            damage = f"frame {n_good - 1} cannot be decoded ({type(exc).__name__}: {exc})"
            n_good -= 1
    if damage is not None:
        if n_good > 0:
            keep = f"Frames 0 to {n_good - 1} are readable"
        else:
            keep = "No frame is readable"
        if on_damage == "raise" or n_good == 0:
            raise CorruptTrajectoryError(
                f"Trajectory '{part}' is truncated or corrupt: {damage}. {keep}"
                + ("; open it with on_damage='truncate' to use them." if n_good else ".")
            )
        warnings.warn(f"Trajectory '{part}' is truncated or corrupt: {damage}. Using frames 0 to {n_good - 1}.",
                      RuntimeWarning, stacklevel=3)
    if n_good == 0:
        raise CorruptTrajectoryError(f"Trajectory '{part}' has no frame.")
    try:
        ts = reader[0]
        first_time = float(ts.time)
        has_box = ts.dimensions is not None and bool(np.all(np.asarray(ts.dimensions[:3]) > 0))
    except Exception as exc:
        raise CorruptTrajectoryError(f"Trajectory '{part}': cannot read frame 0: {exc}") from exc
    try:
        dt = float(reader.dt)
    except Exception:
        dt = float("nan")
    if backend == "mdtraj":
        n_md = _mdtraj_n_frames(part, format)
        if n_md < n_good:
            raise CorruptTrajectoryError(
                f"Trajectory '{part}': mdtraj reads {n_md} frames but MDAnalysis reads {n_good}; "
                "use backend='mdanalysis' for this file."
            )
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
    info: PartInfo | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Read frames of one file.

    Parameters
    ----------
    backend : {"mdanalysis", "mdtraj"}
        Library that reads the coordinates.
    topology, part : str
        Topology and trajectory file paths.
    local_frames : ndarray of int64
        Frame numbers within ``part``, increasing with a constant step.
    atoms : ndarray of int64 or None
        Topology indices to read; None reads all atoms.
    topology_format, format, type_map, reader_kwargs
        As for :func:`open_universe`.
    info : PartInfo, optional
        The part's probe; the mdtraj backend needs it (atom count, and times for
        formats that store none).

    Returns
    -------
    positions : ndarray, shape (F, N, 3), float32, Å
    boxes : ndarray, shape (F, 3, 3), float32, Å, or None
        None when any frame has no box.
    times : ndarray, shape (F,), float64, ps
    """
    local_frames = np.asarray(local_frames, dtype=np.int64)
    if backend == "mdtraj":
        if info is None:
            universe = open_universe(topology, part, topology_format=topology_format, format=format,
                                     type_map=type_map, **reader_kwargs)
            reader = universe.trajectory
            info = PartInfo(reader.n_frames, len(universe.atoms), float(reader.dt), float(reader[0].time),
                            float("nan"), True)
        return _read_mdtraj(part, local_frames, atoms, info, format)
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


# -- mdtraj ---------------------------------------------------------------------------------------

# mdtraj handles whose files store a time per frame; for the others times follow the probe's t0 + k*dt.
_MDTRAJ_TIMED = ("XTCTrajectoryFile", "TRRTrajectoryFile", "NetCDFTrajectoryFile", "HDF5TrajectoryFile",
                 "DTRTrajectoryFile")
_mdtraj_lock = threading.Lock()
_mdtraj_topologies: OrderedDict[int, Any] = OrderedDict()


def _mdtraj_open(part: str, fmt: str | None) -> Any:
    """Open ``part`` with mdtraj (by extension, or by the MDAnalysis ``format`` name)."""
    import mdtraj
    from mdtraj.formats.registry import FormatRegistry

    cls = None
    if fmt:
        cls = FormatRegistry.fileobjects.get("." + fmt.lower())
    try:
        if cls is not None:
            return cls(part)
        return mdtraj.open(part)
    except Exception as exc:
        raise UnknownFormatError(
            f"mdtraj cannot read trajectory '{part}' ({type(exc).__name__}: {exc}); use backend='mdanalysis'."
        ) from None


def _mdtraj_n_frames(part: str, fmt: str | None = None) -> int:
    with _mdtraj_open(part, fmt) as handle:
        if not (hasattr(handle, "seek") and hasattr(handle, "read_as_traj")):
            raise UnknownFormatError(
                f"mdtraj cannot stream trajectory '{part}' ({type(handle).__name__} has no seek/read_as_traj); "
                "use backend='mdanalysis'."
            )
        return len(handle)


def _mdtraj_topology(n_atoms: int) -> Any:
    """A placeholder mdtraj Topology of ``n_atoms`` atoms (thread-safe, cached).

    mdtraj needs a Topology only to count atoms; atom identities come from the
    MDAnalysis topology, so any topology format MDAnalysis reads works here.
    """
    with _mdtraj_lock:
        top = _mdtraj_topologies.get(n_atoms)
        if top is not None:
            _mdtraj_topologies.move_to_end(n_atoms)
            return top
    import mdtraj

    top = mdtraj.Topology()
    residue = top.add_residue("X", top.add_chain())
    for _ in range(n_atoms):
        top.add_atom("X", None, residue)
    with _mdtraj_lock:
        _mdtraj_topologies[n_atoms] = top
        while len(_mdtraj_topologies) > _CACHE_SIZE:
            _mdtraj_topologies.popitem(last=False)
    return top


def _read_mdtraj(part: str, local_frames: np.ndarray, atoms: np.ndarray | None, info: PartInfo,
                 fmt: str | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Read frames with mdtraj and convert nm to Å."""
    n_atoms = info.n_atoms if atoms is None else len(atoms)
    if local_frames.size == 0:
        return np.empty((0, n_atoms, 3), np.float32), None, np.empty(0)
    first, last = int(local_frames[0]), int(local_frames[-1])
    stride = int(local_frames[1] - local_frames[0]) if len(local_frames) > 1 else 1
    top = _mdtraj_topology(info.n_atoms)
    # mdtraj's TRR reader corrupts the heap for atom indices that are not increasing:
    # hand it sorted unique indices and restore the caller's order here.
    order = None
    if atoms is not None:
        wanted, order = np.unique(np.asarray(atoms, dtype=np.int64), return_inverse=True)
    with _mdtraj_open(part, fmt) as handle:
        # mdtraj's TRR reader also overruns a buffer when it strides over the end of the file
        # with an atom subset: read all atoms there and select below.
        if order is not None and stride > 1 and type(handle).__name__ == "TRRTrajectoryFile":
            order = wanted[order]
            wanted = None
        try:
            handle.seek(first)
            traj = handle.read_as_traj(top, n_frames=(last - first) // stride + 1, stride=stride,
                                       atom_indices=None if atoms is None else wanted)
        except Exception as exc:
            raise CorruptTrajectoryError(
                f"Trajectory '{part}': mdtraj cannot read frames {first} to {last}: {type(exc).__name__}: {exc}"
            ) from exc
        timed = type(handle).__name__ in _MDTRAJ_TIMED
    if traj.n_frames != len(local_frames):
        raise CorruptTrajectoryError(
            f"Trajectory '{part}': mdtraj returned {traj.n_frames} frames for frames {first} to {last} "
            f"(expected {len(local_frames)})."
        )
    xyz = traj.xyz if order is None else traj.xyz[:, order]
    positions = np.ascontiguousarray(xyz * np.float32(10.0), dtype=np.float32)
    boxes = None
    if traj.unitcell_vectors is not None:
        with np.errstate(invalid="ignore"):
            vectors = np.ascontiguousarray(traj.unitcell_vectors * np.float32(10.0), dtype=np.float32)
        bad = ~np.isfinite(vectors).all(axis=(1, 2))
        if bad.any():
            raise UnknownFormatError(
                f"Trajectory '{part}' frame {int(local_frames[int(np.argmax(bad))])}: mdtraj cannot interpret "
                "this file's unit cell (its box vectors come out non-finite; CHARMM/NAMD triclinic DCD cells "
                "are one such convention); use backend='mdanalysis'."
            )
        # A box of zeros means "no box" (what MDAnalysis reports as dimensions None).
        if np.all(np.any(vectors != 0, axis=(1, 2))):
            boxes = vectors
    if timed:
        times = np.asarray(traj.time, dtype=np.float64)
    else:
        times = info.first_time + local_frames.astype(np.float64) * info.dt
    return positions, boxes, times
