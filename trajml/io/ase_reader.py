"""The ASE reader: ab-initio trajectories (VASP XDATCAR, extended XYZ, ASE ``.traj``) through ASE.

Needs the optional dependency ASE (``pip install 'trajml[ase]'``). The trajectory file is also the
topology: ASE's chemical symbols become the atom names, types and elements of an MDAnalysis
Universe built in memory (one residue per atom, masses from ASE), so selections such as
``"name Li"`` work as with every other backend, while coordinates come from ASE.

Units and conventions follow every trajml reader: positions float32 Å, boxes float32 (F, 3, 3) Å
with the box vectors as rows in the lower-triangular form of :mod:`trajml.box` (a cell that ASE
stores in another orientation is rotated rigidly into it, positions with it), times float64 ps.

Times come from the file when its frames carry one in ``atoms.info`` (``time_ps`` in ps;
``time_fs`` in fs; a bare ``time`` is read as fs, with a warning saying so), else from ``dt=`` (ps)
given to :func:`trajml.io.open_source` (``t_k = k·dt``); with neither, a warning states the
assumed spacing of 1 ps between frames. File times win over a ``dt`` that disagrees (with a warning).

Of the reader options (:data:`trajml.io.reader_options.READER_OPTIONS`) the ase backend takes those
that mean something for ASE's files: ``dt``; ``time_unit``, the unit of the numbers stored in
``atoms.info`` (it replaces the unit a bare ``time`` is assumed to be in, and, with a warning, the
one a ``time_ps``/``time_fs`` key states); ``box``, put on every frame as for the other backends (a
file's own cell is replaced, with a warning). The MDAnalysis options (``atom_style``,
``lammps_units``, ``type_map``, and ``topology_format`` without a separate topology file) are refused.

Random access: ASE ``.traj`` files are read frame by frame through :class:`ase.io.Trajectory` (one
handle per thread: a handle holds a file cursor). Text formats (XDATCAR, extxyz) have no frame
index, and ASE parses the whole file on every ``read``, so they are parsed once per process into
arrays (``F × N × 3`` float32, ~12 bytes per atom and frame) that later reads slice. Compressed
files (``.gz``, ``.bz2``, ``.xz``, e.g. ``XDATCAR.gz``) are decompressed by ASE transparently.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.errors import CorruptTrajectoryError
from trajml.io.ase_frames import (
    _CACHE_SIZE,
    _TIME_KEYS,
    _TRAJ_MAGIC,
    _convert,
    _explicit_time_unit,
    _frame_time,
    _Frames,
    _handle,
    _lock,
    _n_frames,
    _signature,
    _time_of,
    _TrajHandle,
    clear_ase_cache,
)
from trajml.io.part_info import PartInfo

__all__ = ["is_ase_file", "ase_universe", "probe_ase", "read_ase", "clear_ase_cache"]

_COMPRESSED = (".gz", ".bz2", ".xz")
#: Frame spacing (ps) assumed, with a warning, for a file without times when no ``dt=`` is given.
DEFAULT_DT_PS = 1.0
# Reader options the ase backend understands (open_source's **reader_kwargs); the others are MDAnalysis'.
_OPTIONS = ("dt", "time_unit", "box")

def _plain_name(path: str) -> str:
    """The file name without a compression suffix."""
    name = os.path.basename(path)
    for suffix in _COMPRESSED:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def is_ase_file(path: str) -> bool:
    """Whether ``path`` is a file only the ase backend reads (MDAnalysis has no reader for it).

    True for VASP XDATCAR files (a name holding ``XDATCAR``, as ASE recognises them, unless its
    extension is one MDAnalysis reads), ``*.extxyz`` and ASE ``*.traj`` files (the latter
    recognised by their header, since other programs use ``.traj`` too), compressed or not.
    """
    name = _plain_name(os.fspath(path)).upper()
    if name.endswith(".EXTXYZ"):
        return True
    if "XDATCAR" in name:
        from trajml.io.mdanalysis_formats import _mda

        ext = os.path.splitext(name)[1].lstrip(".")
        return ext == "XDATCAR" or ext not in _mda()._READERS
    if name.endswith(".TRAJ") and os.path.basename(os.fspath(path)).upper().endswith(".TRAJ"):
        try:
            with open(path, "rb") as fh:
                return fh.read(len(_TRAJ_MAGIC)) == _TRAJ_MAGIC
        except OSError:
            return False
    return False


@dataclass(frozen=True)
class _Options:
    """The reader options the ase backend applies (validated; None when not given)."""

    dt: float | None = None  # ps between frames
    time_unit: str | None = None  # unit of the times stored in atoms.info
    box: tuple[float, ...] | None = None  # a b c alpha beta gamma (Å, degrees)


def _check_options(path: str, options: Mapping[str, Any], topology_format: str | None = None) -> _Options:
    """The options the ase backend applies, refusing those it does not know.

    ``topology_format`` is the one given when the file is its own topology (it has no meaning then).
    """
    from trajml.io.reader_options import READER_OPTIONS

    unknown = sorted(set(options) - set(_OPTIONS)) + (["topology_format"] if topology_format is not None else [])
    if unknown:
        from trajml._fixes import with_cli_text
        from trajml.errors import InvalidParameterError

        def words(names: Any) -> str:
            return ", ".join(READER_OPTIONS[n].cli_flag if n in READER_OPTIONS else n for n in names)

        tail = f"for '{path}' (MDAnalysis options do not apply to ASE files)."
        raise with_cli_text(InvalidParameterError(
            f"backend='ase' takes the reader option(s) {list(_OPTIONS)}; got {unknown} {tail}",
            parameter=unknown[0], owner="open_source", value=options.get(unknown[0], topology_format),
        ), f"--backend ase takes the reader option(s) {words(_OPTIONS)}; got {words(unknown)} {tail}")
    dt, unit, box = (options.get(k) for k in _OPTIONS)
    if dt is not None:
        dt = float(dt)
        if not (np.isfinite(dt) and dt > 0):
            raise ValueError(f"The 'dt' reader option for '{path}' must be a positive time in ps. "
                             f"Got {options['dt']!r} instead.")
    # time_unit and box arrive checked (open_source); a direct caller gets the declared checks
    if unit is not None:
        unit = READER_OPTIONS["time_unit"].validate(unit, "open_source")
    if box is not None:
        box = tuple(READER_OPTIONS["box"].validate(box, "open_source"))
    return _Options(dt, unit, box)


def _time_scale(handle: "_Frames | _TrajHandle", path: str, unit: str | None, warn: bool = True) -> float:
    """Factor from the times as read (ps, by their key's unit) to ps when the stored numbers are in ``unit``."""
    info = handle.first.info if handle.first is not None else {}
    key, factor = next(((k, f) for k, f in _TIME_KEYS if info.get(k) is not None), (None, 1.0))
    if unit is None or key is None:
        return 1.0
    from trajml.io.reader_options import TIME_UNITS, ReaderWarning

    stated = {"time_ps": "ps", "time_fs": "fs"}.get(key)
    if warn and stated is not None and stated != unit:  # said once, when the file is probed
        warnings.warn(ReaderWarning(f"Trajectory '{path}' stores its times as atoms.info['{key}'] ({stated}); "
                                    f"the given time_unit={unit!r} replaces that unit.",
                                    f"Trajectory '{path}' stores its times as atoms.info['{key}'] ({stated}); "
                                    f"the given --time-unit {unit} replaces that unit."), stacklevel=5)
    return TIME_UNITS[unit] / factor


_universes: OrderedDict[tuple, Any] = OrderedDict()
# Per-atom arrays of extended XYZ (LAMMPS, ASE) and PDB-derived frames that name each atom's molecule.
_MOLECULE_ARRAYS = ("mol-id", "mol_id", "molecule_id", "molid", "residuenumbers")


def _molecules(atoms: Any) -> tuple[np.ndarray, np.ndarray]:
    """Residue ids and each atom's residue index: the file's molecule ids, else one residue per atom."""
    for key in _MOLECULE_ARRAYS:
        ids = atoms.arrays.get(key)
        if ids is not None and np.issubdtype(np.asarray(ids).dtype, np.integer):
            resids, resindex = np.unique(np.asarray(ids, dtype=np.int64), return_inverse=True)
            return resids, resindex.reshape(-1)
    return np.arange(1, len(atoms) + 1), np.arange(len(atoms))


def ase_universe(path: str, fmt: str | None = None, truncate: bool = False) -> Any:
    """An MDAnalysis Universe (topology only) of the atoms of an ASE-readable file.

    Residues (resname ``ASE``) are the molecules of a per-atom ``mol-id`` / ``molecule_id`` array
    when the file has one (extended XYZ from LAMMPS), else one per atom; names, types and elements
    are the chemical symbols and masses ASE's (amu). Cached per process per file; the Universe has no coordinates.
    The caller must not modify it.

    Parameters
    ----------
    path : str
        XDATCAR, extxyz, ASE ``.traj`` (or any file ASE reads).
    fmt : str, optional
        ASE format name when the file name does not tell it.
    truncate : bool
        Accept a truncated XDATCAR (its whole frames).

    Returns
    -------
    MDAnalysis.Universe
    """
    handle = _handle(path, fmt, truncate)
    key = (_signature(path), fmt)
    with _lock:
        if key in _universes:
            _universes.move_to_end(key)
            return _universes[key]
    import MDAnalysis as mda

    first = handle.first
    if first is None:
        raise CorruptTrajectoryError(f"Trajectory '{path}' has no frame.")
    n = len(first)
    symbols = np.array(first.get_chemical_symbols(), dtype=object)
    resids, resindex = _molecules(first)
    universe = mda.Universe.empty(n, n_residues=resids.size, atom_resindex=resindex, trajectory=False)
    universe.add_TopologyAttr("names", symbols)
    universe.add_TopologyAttr("types", symbols)
    universe.add_TopologyAttr("elements", symbols)
    universe.add_TopologyAttr("masses", np.asarray(first.get_masses(), dtype=np.float64))
    universe.add_TopologyAttr("resnames", np.array(["ASE"] * resids.size, dtype=object))
    universe.add_TopologyAttr("resids", resids)
    if first.has("initial_charges") and np.any(first.get_initial_charges()):
        universe.add_TopologyAttr("charges", np.asarray(first.get_initial_charges(), dtype=np.float64))
    with _lock:
        _universes[key] = universe
        while len(_universes) > _CACHE_SIZE:
            _universes.popitem(last=False)
    return universe


def probe_ase(path: str, *, fmt: str | None, reader_kwargs: dict, on_damage: str = "raise",
              topology_format: str | None = None) -> PartInfo:
    """Open an ASE-readable file and report its frame count, atoms, timing and box.

    Parameters
    ----------
    path : str
        The trajectory file (also its topology).
    fmt : str, optional
        ASE format name (``"vasp-xdatcar"``, ``"extxyz"``, ``"traj"``, ...); None guesses.
    reader_kwargs : dict
        Reader options; the ase backend takes ``dt`` (ps between frames), ``time_unit`` (of the
        stored times) and ``box`` (for every frame), and refuses the others.
    on_damage : {"raise", "truncate"}
        A truncated XDATCAR: raise :class:`CorruptTrajectoryError` naming the file and frame, or
        warn and keep the whole frames before the damage.
    topology_format : str, optional
        The topology format given for a file that is its own topology: refused (it has no meaning).

    Returns
    -------
    PartInfo

    Raises
    ------
    InvalidParameterError
        A reader option the ase backend does not take (a ``TypeError`` too).

    Warns
    -----
    UserWarning
        The file stores no times and no ``dt`` was given: the message states the assumed spacing
        (:data:`DEFAULT_DT_PS`) and names the ``dt=`` keyword. A given ``box`` replaces the file's
        own cell, or a given ``time_unit`` the unit its time key states.
    """
    opts = _check_options(path, reader_kwargs, topology_format)
    given_dt = opts.dt
    handle = _handle(path, fmt, on_damage == "truncate")
    damage = None if isinstance(handle, _TrajHandle) else handle.first.info.get("trajml_damage")
    if damage is not None:
        warnings.warn(f"Trajectory '{path}' is truncated or corrupt: {damage}. Using frames 0 to "
                      f"{_n_frames(handle) - 1}.", RuntimeWarning, stacklevel=4)
    n = _n_frames(handle)
    if n == 0:
        raise CorruptTrajectoryError(f"Trajectory '{path}' has no frame.")
    scale = _time_scale(handle, path, opts.time_unit)
    first, last = _time_of(handle, 0) * scale, _time_of(handle, n - 1) * scale
    second = _time_of(handle, 1) * scale if n > 1 else float("nan")
    if np.isfinite(first) and (n == 1 or np.isfinite(second)):
        dt = second - first if n > 1 else (given_dt if given_dt is not None else float("nan"))
        if given_dt is not None and n > 1 and not np.isclose(dt, given_dt, rtol=1e-6):
            warnings.warn(f"Trajectory '{path}' stores frame times {dt:g} ps apart; they are used and dt={given_dt:g} "
                          "ps is ignored.", UserWarning, stacklevel=4)
        elif given_dt is None and opts.time_unit is None and not _explicit_time_unit(handle):
            # a bare 'time' has no unit: say which one was assumed
            from trajml._fixes import cli_text
            from trajml.io.reader_options import ReaderWarning

            python, cli = cli_text(f"Trajectory '{path}': frame times read from atoms.info['time'] as fs ({dt:g} ps "
                                   "between frames). Store 'time_ps' or 'time_fs' to state the unit, or give "
                                   "{time_unit} (or {dt}) to confirm.", time_unit="fs", dt="<DT>")
            warnings.warn(ReaderWarning(python, cli), stacklevel=4)
    else:
        if given_dt is None:
            from trajml._fixes import cli_text
            from trajml.io.reader_options import ReaderWarning

            python, cli = cli_text(
                f"Trajectory '{path}' stores no frame times and no dt was given: assuming {DEFAULT_DT_PS:g} ps "
                "between frames. Give the time between saved frames in ps, {dt} (e.g. 0.1 for a VASP run with "
                "POTIM = 2 fs and NBLOCK = 50).", dt="<DT>")
            warnings.warn(ReaderWarning(python, cli), stacklevel=4)
        dt = given_dt if given_dt is not None else DEFAULT_DT_PS
        first, last = 0.0, (n - 1) * dt
    own = _convert(handle.first)[1] if isinstance(handle, _TrajHandle) else (
        None if handle.boxes is None else handle.boxes[0])
    has_box = own is not None or opts.box is not None
    if own is not None and opts.box is not None:
        from trajml.box import dimensions_from_matrices
        from trajml.io.reader_options import warn_box_replaced

        warn_box_replaced(path, dimensions_from_matrices(np.asarray(own)[None])[0], opts.box, stacklevel=4)
    return PartInfo(n_frames=n, n_atoms=len(handle.first), dt=float(dt), first_time=float(first),
                    last_time=float(last), has_box=has_box, damage=damage)


def read_ase(path: str, local_frames: np.ndarray, atoms: np.ndarray | None, *, fmt: str | None,
             info: PartInfo | None, options: Mapping[str, Any] | None = None,
             ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Read frames of an ASE-readable file (the Chunk contract of :func:`trajml.io.backends.read_frames`).

    ``options`` are the reader options, as given to :func:`probe_ase`: a ``box`` replaces every
    frame's cell, a ``time_unit`` rescales the file's times.

    Returns
    -------
    positions : ndarray, shape (F, N, 3), float32, Å
    boxes : ndarray, shape (F, 3, 3), float32, Å, or None
    times : ndarray, shape (F,), float64, ps
        The file's times, else ``info.first_time + frame × info.dt``.
    """
    opts = _check_options(path, options or {})
    handle = _handle(path, fmt, info is not None and info.damage is not None)
    frames = np.asarray(local_frames, dtype=np.int64)
    n = _n_frames(handle)
    if frames.size and (frames.min() < 0 or frames.max() >= n):
        raise CorruptTrajectoryError(f"Trajectory '{path}': cannot read frame {int(frames.max())}: it has {n} frames.")
    if isinstance(handle, _Frames):
        positions = handle.positions[frames] if atoms is None else handle.positions[frames[:, None], atoms[None, :]]
        boxes = None if handle.boxes is None else handle.boxes[frames]
        times = handle.times[frames]
    else:
        n_atoms = len(handle.first) if atoms is None else len(atoms)
        positions = np.empty((frames.size, n_atoms, 3), dtype=np.float32)
        boxes = np.empty((frames.size, 3, 3), dtype=np.float32)
        times = np.empty(frames.size, dtype=np.float64)
        for i, k in enumerate(frames):  # one ASE frame object per frame: I/O bound
            try:
                frame = handle.trajectory[int(k)]
            except Exception as exc:
                raise CorruptTrajectoryError(
                    f"Trajectory '{path}': cannot read frame {int(k)}: {type(exc).__name__}: {exc}") from exc
            pos, box = _convert(frame)
            positions[i] = pos if atoms is None else pos[atoms]
            if box is None:
                boxes = None
            elif boxes is not None:
                boxes[i] = box
            times[i] = _frame_time(frame)
    if opts.box is not None:
        from trajml.io.reader_options import box_vectors

        boxes = box_vectors(opts.box, frames.size)
    times = times * _time_scale(handle, path, opts.time_unit, warn=False)
    if not np.isfinite(times).all():
        if info is None:
            from trajml._fixes import cli_text, with_cli_text

            python, cli = cli_text(f"Trajectory '{path}' stores no frame times; give {{dt}}.", dt="<DT>")
            raise with_cli_text(ValueError(python), cli)
        times = info.first_time + frames.astype(np.float64) * info.dt
    return np.ascontiguousarray(positions, dtype=np.float32), boxes, np.asarray(times, dtype=np.float64)
