"""Reader backends: the only code in trajml that knows file formats and their units.

Three backends read coordinates: MDAnalysis (default; every format it reads),
mdtraj, and ASE (ab-initio formats; the file is its own topology). Topologies and
selections always go through MDAnalysis, so selection syntax is the same whichever
backend reads the frames.

This module probes a file (:func:`probe_part`: integrity, frame count, time axis) and reads frames
(:func:`read_frames`) with either backend. The pieces live beside it:

* :mod:`trajml.io.mdanalysis_reader` — :func:`open_universe` and its per-thread cache;
* :mod:`trajml.io.mdanalysis_formats` — file and format checks, open errors that name the file;
* :mod:`trajml.io.integrity` — frame-structure scans of XTC, TRR and DCD files (:func:`scan_frames`);
* :mod:`trajml.io.mdtraj_reader` — the mdtraj backend;
* :mod:`trajml.io.ase_reader` — the ase backend (VASP XDATCAR, extended XYZ, ASE ``.traj``; optional extra);
* :mod:`trajml.io.part_info` — :class:`PartInfo`;
* :mod:`trajml.io.time_axis` — time axes: ``t0 + k * dt`` within the precision of the stamps.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from trajml.errors import CorruptTrajectoryError
from trajml.io.ase_reader import ase_universe, probe_ase, read_ase
from trajml.io.integrity import _integrity_times, check_leading_bytes, scan_frames
from trajml.io.mdanalysis_reader import clear_reader_cache, open_universe
from trajml.io.mdtraj_reader import _mdtraj_n_frames, _read_mdtraj
from trajml.io.part_info import PartInfo
from trajml.io.reader_options import BACKENDS, TIME_UNITS
from trajml.io.time_axis import probe_axis
from trajml.io.xtc_frames import read_xtc_frames
from trajml.io.xtc_payload import check_xtc_frames

__all__ = [
    "PartInfo",
    "open_universe",
    "probe_part",
    "read_frames",
    "clear_reader_cache",
    "scan_frames",
    "BACKENDS",
]



def _check_readable(*paths: str) -> None:
    """Raise PermissionError naming the first existing file this process may not read: a damaged-file
    message for it would send the user to restore a sound file."""
    for path in paths:
        if os.path.isfile(path) and not os.access(path, os.R_OK):
            raise PermissionError(f"Permission denied: cannot read '{path}' (the file is not damaged; "
                                  "grant read permission, e.g. chmod u+r, or run as its owner).")


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
    backend : {"mdanalysis", "mdtraj", "ase"}
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
    IrregularTimeError
        A ``dt`` in ``reader_kwargs`` that contradicts the file's time stamps beyond
        their precision (see :mod:`trajml.io.time_axis`).
    PermissionError
        A topology or trajectory file this process may not read (named, not called damaged).
    """
    _check_readable(topology, part)
    if os.path.isfile(part) and backend != "ase":
        check_leading_bytes(part, format)
    if backend == "ase":
        if type_map:
            raise TypeError(f"type_map does not apply to '{part}': backend='ase' names atoms by their "
                            "chemical symbols.")
        return _probe_ase(topology, part, topology_format=topology_format, format=format,
                          reader_kwargs=reader_kwargs, on_damage=on_damage)
    universe = open_universe(topology, part, topology_format=topology_format, format=format,
                             type_map=type_map, **reader_kwargs)
    reader = universe.trajectory
    header_boxes: list[tuple[float, ...]] = []
    offsets: list[int] = []
    n_good, damage, stamps, precision = _integrity_times(reader, part, header_boxes, offsets)
    frame_offsets = np.asarray(offsets[:n_good], dtype=np.int64) if offsets else None
    if stamps is not None and reader_kwargs.get("time_unit"):  # header stamps are in the format's ps
        stamps = stamps * TIME_UNITS[reader_kwargs["time_unit"]]
    # A frame that is structurally whole can still fail to decode: step back to the last good one.
    first_time = last_time = float("nan")
    has_box = False
    while n_good > 0:
        try:
            if frame_offsets is not None:  # never hand the decoder a frame that would crash it
                check_xtc_frames(part, frame_offsets, np.array([n_good - 1]), len(universe.atoms))
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
            from trajml._fixes import cli_text, with_cli_text

            python, cli = cli_text(f"Trajectory '{part}' is truncated or corrupt: {damage}. {keep}"
                                   + ("; open it with {on_damage} to use them." if n_good else "."),
                                   on_damage="truncate")
            raise with_cli_text(CorruptTrajectoryError(python), cli)
        warnings.warn(f"Trajectory '{part}' is truncated or corrupt: {damage}. Using frames 0 to {n_good - 1}.",
                      RuntimeWarning, stacklevel=3)
    if n_good == 0:
        raise CorruptTrajectoryError(f"Trajectory '{part}' has no frame.")
    try:
        if frame_offsets is not None:
            check_xtc_frames(part, frame_offsets, np.array([0]), len(universe.atoms))
        ts = reader[0]
        first_time = float(ts.time)
        has_box = ts.dimensions is not None and bool(np.all(np.asarray(ts.dimensions[:3]) > 0))
    except Exception as exc:
        raise CorruptTrajectoryError(f"Trajectory '{part}': cannot read frame 0: {exc}") from exc
    try:
        dt = float(reader.dt)
    except Exception:
        dt = float("nan")
    given = reader_kwargs.get("dt")
    axis, head, first_time, last_time = probe_axis(reader, part, n_good, stamps, precision, first_time, last_time,
                                                   dt, None if given is None else float(given))
    if backend == "mdtraj":
        n_md = _mdtraj_n_frames(part, format)
        if n_md < n_good:
            from trajml._fixes import cli_text, with_cli_text

            python, cli = cli_text(f"Trajectory '{part}': mdtraj reads {n_md} frames but MDAnalysis reads {n_good}; "
                                   "use {backend} for this file.", backend="mdanalysis")
            raise with_cli_text(CorruptTrajectoryError(python), cli)
    limit = None if reader_kwargs.get("box") is not None else _header_max_cutoff(header_boxes[:n_good])
    return PartInfo(n_frames=n_good, n_atoms=len(universe.atoms), dt=axis.dt, first_time=first_time,
                    last_time=last_time, has_box=has_box, damage=damage, axis=axis, head_times=head,
                    max_cutoff=limit, frame_offsets=None if frame_offsets is None else frame_offsets[:n_good])


def _header_max_cutoff(boxes: list[tuple[float, ...]]) -> float | None:
    """Half the smallest perpendicular width (Å) of boxes read from frame headers (nm); None if any is empty."""
    from trajml.kernels.geometry import max_cutoff

    if not boxes:
        return None
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 3, 3) * 10.0
    if not np.all(np.isfinite(b)) or np.any(np.abs(np.linalg.det(b)) <= 0):
        return None
    return float(max_cutoff(b))


#: Reader options that change an XTC file's times or boxes: with any of them, MDAnalysis reads it.
_CHANGES_XTC_NUMBERS = ("dt", "time_unit", "lammps_units", "box")


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
    backend : {"mdanalysis", "mdtraj", "ase"}
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
        None when any frame has no box in a file without one (``info.has_box`` false); a zero
        matrix for a frame without a box in a file with one, which the plausibility checks
        (:mod:`trajml.io.plausibility`) name at its frame.
    times : ndarray, shape (F,), float64, ps
    """
    local_frames = np.asarray(local_frames, dtype=np.int64)
    if backend == "ase":
        return read_ase(part, local_frames, atoms, fmt=format, info=info, options=reader_kwargs)
    if backend == "mdtraj":
        if info is None:
            universe = open_universe(topology, part, topology_format=topology_format, format=format,
                                     type_map=type_map, **reader_kwargs)
            reader = universe.trajectory
            info = PartInfo(reader.n_frames, len(universe.atoms), float(reader.dt), float(reader[0].time),
                            float("nan"), True)
        if info.frame_offsets is not None and len(local_frames):
            check_xtc_frames(part, info.frame_offsets, local_frames, info.n_atoms)
        positions, boxes, times = _read_mdtraj(part, local_frames, atoms, info, format)
        # The reader options (trajml.io.reader_options) apply to mdtraj's frames too; the probe's
        # timing already follows them.
        if reader_kwargs.get("box") is not None:
            from trajml.io.reader_options import box_vectors

            boxes = box_vectors(reader_kwargs["box"], len(positions))
        if any(reader_kwargs.get(k) is not None for k in ("dt", "time_unit", "lammps_units")):
            times = info.first_time + local_frames.astype(np.float64) * info.dt
        return positions, boxes, times
    if (info is not None and info.frame_offsets is not None and len(local_frames)
            and not any(reader_kwargs.get(k) is not None for k in _CHANGES_XTC_NUMBERS)):
        return read_xtc_frames(part, info, local_frames, atoms)  # one bounds-checked decode per chunk
    universe = open_universe(topology, part, topology_format=topology_format, format=format,
                             type_map=type_map, **reader_kwargs)
    reader = universe.trajectory
    if info is not None and info.frame_offsets is not None and len(local_frames):
        check_xtc_frames(part, info.frame_offsets, local_frames, len(universe.atoms))
    n_atoms = len(universe.atoms) if atoms is None else len(atoms)
    n = len(local_frames)
    positions = np.empty((n, n_atoms, 3), dtype=np.float32)
    boxes = np.empty((n, 3, 3), dtype=np.float32)
    times = np.empty(n, dtype=np.float64)
    missing = np.zeros(n, dtype=bool)
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
            missing[i] = True
        else:
            boxes[i] = tri
    if missing.any():
        if info is None or not info.has_box:
            return positions, None, times
        boxes[missing] = 0.0  # a file with a box that loses it in one frame: damage, named at its frame
    return positions, boxes, times


def _probe_ase(topology: str, part: str, *, topology_format: str | None, format: str | None,
               reader_kwargs: dict, on_damage: str) -> PartInfo:
    """Probe a file with the ase backend; a separate topology file must hold as many atoms."""
    # a file that is its own topology has no topology format to give
    info = probe_ase(part, fmt=format, reader_kwargs=reader_kwargs, on_damage=on_damage,
                     topology_format=topology_format if topology == part else None)
    if topology != part:
        n_top = len(ase_universe(topology, topology_format).atoms)
        if n_top != info.n_atoms:
            from trajml.errors import AtomCountMismatchError

            raise AtomCountMismatchError(
                f"Topology '{topology}' has {n_top} atoms but trajectory '{part}' has {info.n_atoms}.")
    return info
