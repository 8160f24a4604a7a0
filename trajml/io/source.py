"""Sources: lazy, picklable views of one or many trajectories.

A :class:`Source` holds paths and a little metadata (frame counts per file),
never an open file: workers that receive it reopen the files themselves
(through a per-thread cache), so a Source crosses process boundaries freely.

Vocabulary
----------
part
    One trajectory file. Continuation runs (``run.part0001.xtc``,
    ``run.part0002.xtc``) are parts of one trajectory, concatenated in time.
trajectory (member)
    One continuous run: a topology and one or more parts, identified by its
    ``traj_id`` (its position in the source). Replicas and different systems
    of an ensemble are separate trajectories of one source.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from trajml.chunk import Chunk, ChunkSpec
from trajml.errors import (
    EmptySelectionError,
    NonFiniteCoordinatesError,
    SelectionError,
)
from trajml.io.ase_reader import ase_universe, is_ase_file
from trajml.io.backends import PartInfo, open_universe, probe_part, read_frames
from trajml.io.frame_checks import traj_id_error
from trajml.io.members import PathLike, TrajectoryMember, _normalise_members
from trajml.io.plausibility import check_plausible
from trajml.io.time_axis import link_parts
from trajml.io.topology import AtomTable
from trajml.io.universe import is_universe, source_from_universe

__all__ = ["Source", "open_source", "TrajectoryMember"]


class Source:
    """A lazy, picklable collection of trajectories sharing one atom layout.

    Build one with :func:`open_source`.

    Parameters
    ----------
    members, backend, topology_format, format, type_map, reader_kwargs, check_finite
        As :func:`open_source` makes them from its arguments (``members``: the trajectories).

    Attributes
    ----------
    members : tuple of TrajectoryMember
        The trajectories (ensemble members), indexed by ``traj_id``.
    backend : {"mdanalysis", "mdtraj"}
        Library that reads coordinates.
    n_atoms : int
        Atoms per frame.
    atoms : AtomTable
        Per-atom names, types, residue ids (molecule ids), charges (e) and masses (amu)
        of the first member's topology.
    """

    def __init__(
        self,
        members: Sequence[TrajectoryMember],
        *,
        backend: str,
        topology_format: str | None,
        format: str | None,
        type_map: tuple[tuple[str, str], ...],
        reader_kwargs: Mapping[str, Any],
        check_finite: bool,
    ) -> None:
        self.members = tuple(members)
        self.backend = backend
        self.topology_format = topology_format
        self.format = format
        self.type_map = type_map
        self.reader_kwargs = dict(reader_kwargs)
        self.check_finite = check_finite
        counts = {m.infos[0].n_atoms if m.infos else self._universe(i).atoms.n_atoms
                  for i, m in enumerate(self.members)}
        if len(counts) > 1:
            raise ValueError(
                f"All trajectories of one source must have the same number of atoms; got {sorted(counts)}. "
                "Analyse systems of different sizes as separate sources."
            )
        self.n_atoms = counts.pop()
        self._atoms: AtomTable | None = None

    # -- pickling: paths and metadata only -------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_atoms"] = None
        return state

    # -- structure --------------------------------------------------------------------------
    @property
    def n_trajectories(self) -> int:
        """int: number of trajectories (ensemble members)."""
        return len(self.members)

    def n_frames_of(self, traj_id: int) -> int:
        """Number of frames of trajectory ``traj_id``."""
        return self._member(traj_id).n_frames

    def frames_in_range(self, start: int = 0, stop: int | None = None, step: int = 1) -> list[int]:
        """Frames of each trajectory that ``start:stop:step`` takes (a ``stop`` past a trajectory's end
        stops at its end; None: every frame from ``start``). Not validated: see :meth:`partition`."""
        return [len(range(start, m.n_frames if stop is None else min(stop, m.n_frames), step)) for m in self.members]

    @property
    def n_frames(self) -> int:
        """int: total frames over every trajectory."""
        return sum(m.n_frames for m in self.members)

    @property
    def dt(self) -> float:
        """float: time between saved frames of the first trajectory, in ps (NaN if unknown)."""
        member = self.members[0]
        if member.axis is not None:
            return float(member.axis.dt)
        return float(member.infos[0].dt) if member.infos else float("nan")

    @property
    def notes(self) -> tuple[str, ...]:
        """tuple of str: what was done to join the parts of every trajectory (dropped restart overlaps)."""
        return tuple(n for m in self.members for n in m.notes)

    @property
    def has_box(self) -> bool:
        """bool: whether the trajectories carry periodic boxes."""
        return all(i.has_box for m in self.members for i in m.infos)

    @property
    def atoms(self) -> AtomTable:
        """AtomTable: per-atom attributes of the first trajectory's topology."""
        if self._atoms is None:
            self._atoms = AtomTable.from_universe(self._universe(0))
        return self._atoms

    def _member(self, traj_id: int) -> TrajectoryMember:
        if not 0 <= traj_id < len(self.members):
            raise traj_id_error(self.members, [traj_id], "traj_id")
        return self.members[traj_id]

    def _universe(self, traj_id: int, part: int | None = 0) -> Any:
        member = self._member(traj_id)
        path = member.parts[part] if (part is not None and member.parts) else None
        if self.backend == "ase":  # topology from ASE's symbols; the Universe holds no coordinates
            return ase_universe(member.topology, self.topology_format,
                                truncate=any(i.damage is not None for i in member.infos))
        return open_universe(member.topology, path, topology_format=self.topology_format, format=self.format,
                             type_map=self.type_map, **self.reader_kwargs)

    def universe(self, traj_id: int = 0) -> Any:
        """An MDAnalysis Universe on the first part of trajectory ``traj_id`` (for interactive use)."""
        return self._universe(traj_id)

    # -- selections -------------------------------------------------------------------------
    def select(self, selection: str, traj_id: int | None = None) -> np.ndarray:
        """Resolve an MDAnalysis selection string to topology indices.

        Parameters
        ----------
        selection : str
            MDAnalysis selection syntax, e.g. ``"name Li"`` or ``"type O and resname PEO"``.
        traj_id : int, optional
            Resolve against this trajectory's topology. By default every member's
            topology is used and they must agree.

        Returns
        -------
        ndarray, shape (K,), int64
            Sorted topology indices.

        Raises
        ------
        SelectionError
            If the string cannot be parsed, or members disagree.
        EmptySelectionError
            If no atom matches; the message quotes the selection.
        """
        if not isinstance(selection, str) or not selection.strip():
            raise SelectionError(f"A selection must be a non-empty string; got {selection!r}.")
        ids = range(len(self.members)) if traj_id is None else [traj_id]
        result: np.ndarray | None = None
        seen_tops: dict[str, np.ndarray] = {}
        for t in ids:
            top = self.members[t].topology
            if top in seen_tops:
                idx = seen_tops[top]
            else:
                universe = self._universe(t)  # file errors propagate as themselves
                try:
                    idx = universe.select_atoms(selection).indices.astype(np.int64)
                except Exception as exc:
                    raise SelectionError(
                        f"Selection {selection!r} could not be parsed for '{top}': {exc}"
                    ) from None
                seen_tops[top] = idx
            if result is None:
                result = idx
            elif not np.array_equal(result, idx):
                raise SelectionError(
                    f"Selection {selection!r} picks different atoms in trajectory {t} ('{top}') than in "
                    "trajectory 0; pass traj_id or use separate sources."
                )
        assert result is not None
        if result.size == 0:
            table = self.atoms
            names = ", ".join(list(table.species_counts("names"))[:12])
            raise EmptySelectionError(
                f"Selection {selection!r} matched no atom in '{self.members[0].topology}'. "
                f"Atom names present: {names}."
            )
        return result

    # -- chunks -----------------------------------------------------------------------------
    def partition(self, chunk_size: int = 100, start: int = 0, stop: int | None = None, step: int = 1,
                  traj_ids: Sequence[int] | None = None) -> list[ChunkSpec]:
        """Split frames ``start:stop:step`` of each trajectory into chunks.

        Parameters
        ----------
        chunk_size : int
            Frames per chunk (the last chunk of a trajectory may be shorter).
        start, stop, step : int
            Frame slice applied to every trajectory; ``stop=None`` means to the end.
        traj_ids : sequence of int, optional
            Trajectories to include (default: all).

        Returns
        -------
        list of ChunkSpec
            In trajectory order, then time order; none for a slice that selects no frame.

        Raises
        ------
        TrajectoryIdError
            A trajectory id outside the source (an ``IndexError``); the message names the valid range.
        """
        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        if not is_int(chunk_size) or chunk_size < 1:
            raise ValueError(f"The 'chunk_size' parameter must be an int >= 1. Got {chunk_size!r} instead.")
        if not is_int(step) or step < 1:
            raise ValueError(f"The 'step' parameter must be an int >= 1. Got {step!r} instead.")
        if not is_int(start) or start < 0:
            raise ValueError(f"The 'start' parameter must be an int >= 0. Got {start!r} instead.")
        if stop is not None and (not is_int(stop) or stop < 0):
            raise ValueError(f"The 'stop' parameter must be None or an int >= 0. Got {stop!r} instead.")
        specs = []
        ids = range(len(self.members)) if traj_ids is None else traj_ids
        if any(not 0 <= int(t) < len(self.members) for t in ids):
            raise traj_id_error(self.members, ids)
        for t in ids:
            n = self.n_frames_of(t)
            end = n if stop is None else min(stop, n)
            frames = range(start, end, step)
            for i in range(0, len(frames), chunk_size):
                sub = frames[i:i + chunk_size]
                specs.append(ChunkSpec(int(t), sub.start, sub[-1] + 1, step))
        return specs

    def read(self, spec: ChunkSpec, atoms: np.ndarray | None = None) -> Chunk:
        """Read the frames of one chunk.

        Parameters
        ----------
        spec : ChunkSpec
            Which trajectory and frames.
        atoms : ndarray of int, optional
            Topology indices to read (default: all atoms).

        Returns
        -------
        Chunk
            Positions (Å, float32), boxes (Å, float32, or None), times (ps), frames.

        Raises
        ------
        IndexError
            Frames beyond the end of the trajectory.
        NonFiniteCoordinatesError
            NaN or infinite coordinates (the message names the file and frame).
        """
        member = self._member(spec.traj_id)
        frames = np.arange(spec.start, spec.stop, spec.step, dtype=np.int64)
        if frames.size and frames[-1] >= member.n_frames:
            raise IndexError(
                f"Frames {spec.start}:{spec.stop} are beyond trajectory {spec.traj_id}, which has {member.n_frames}."
            )
        if atoms is not None:
            atoms = self._check_atoms(atoms)
        lengths = member.part_lengths
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        part_of = np.searchsorted(bounds, frames, side="right") - 1
        pieces = []
        for p in np.unique(part_of):
            mask = part_of == p
            local = frames[mask] - bounds[p] + int(member.skip_first[p])
            pos, box, times = read_frames(
                self.backend, member.topology, member.parts[p], local, atoms,
                topology_format=self.topology_format, format=self.format, type_map=self.type_map,
                reader_kwargs=self.reader_kwargs, info=member.infos[p],
            )
            if self.check_finite:
                _check_finite(pos, box, member.parts[p], local)
                check_plausible(pos, box, member.parts[p], local, atoms, previous=lambda f: read_frames(
                    self.backend, member.topology, member.parts[p], np.array([f]), atoms,
                    topology_format=self.topology_format, format=self.format, type_map=self.type_map,
                    reader_kwargs=self.reader_kwargs, info=member.infos[p]))
            part_axis = member.infos[p].axis
            if part_axis is not None:  # exact t0 + k*dt where regular, not float32 stamps
                times = part_axis.apply(local, times)
            pieces.append((pos, box, times))
        n_atoms = self.n_atoms if atoms is None else len(atoms)
        if len(pieces) == 1:
            pos, box, times = pieces[0]
        elif pieces:
            pos = np.concatenate([p[0] for p in pieces])
            box = None if any(p[1] is None for p in pieces) else np.concatenate([p[1] for p in pieces])
            times = np.concatenate([p[2] for p in pieces])
        else:
            pos = np.empty((0, n_atoms, 3), np.float32)
            box = np.empty((0, 3, 3), np.float32) if self.has_box else None
            times = np.empty(0)
        if member.axis is not None:  # the parts continue one axis (up to its first irregularity)
            times = member.axis.apply(frames, times)
        return Chunk(positions=pos, boxes=box, times=times, frames=frames, traj_id=spec.traj_id,
                     atom_indices=atoms)

    def _check_atoms(self, atoms: Any) -> np.ndarray:
        """Validate an atom index array: 1-D integers in [0, n_atoms)."""
        arr = np.asarray(atoms)
        if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
            raise TypeError(
                "The 'atoms' parameter must be a 1-D array of integer topology indices "
                f"(use np.flatnonzero for a boolean mask); got dtype {arr.dtype}, shape {arr.shape}."
            )
        arr = arr.astype(np.int64, copy=False)
        if arr.size and (arr.min() < 0 or arr.max() >= self.n_atoms):
            bad = int(arr[(arr < 0) | (arr >= self.n_atoms)][0])
            raise IndexError(
                f"The 'atoms' parameter holds index {bad}, outside [0, {self.n_atoms}) for "
                f"'{self.members[0].topology}'."
            )
        return arr

    def iter_chunks(self, chunk_size: int = 100, start: int = 0, stop: int | None = None, step: int = 1,
                    atoms: np.ndarray | None = None, traj_ids: Sequence[int] | None = None) -> Iterator[Chunk]:
        """Stream chunks serially, in trajectory then time order; memory stays bounded by ``chunk_size``."""
        for spec in self.partition(chunk_size, start, stop, step, traj_ids):
            yield self.read(spec, atoms)

    def fingerprint(self) -> str:
        """A hex digest identifying the input files (paths, sizes, modification times) and reading options."""
        h = hashlib.sha256()
        for m in self.members:
            for path in (m.topology, *m.parts):
                st = os.stat(path)
                h.update(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        h.update(repr((self.backend, self.topology_format, self.format, self.type_map,
                       sorted(self.reader_kwargs.items()))).encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        parts = sum(len(m.parts) for m in self.members)
        return (f"<Source {self.n_trajectories} trajectories, {parts} files, {self.n_frames} frames, "
                f"{self.n_atoms} atoms, backend={self.backend!r}>")


def _check_finite(positions: np.ndarray, boxes: np.ndarray | None, path: str, local: np.ndarray) -> None:
    bad = ~np.isfinite(positions).all(axis=(1, 2))
    if boxes is not None:
        bad |= ~np.isfinite(boxes).all(axis=(1, 2))
    if bad.any():
        i = int(np.argmax(bad))
        atoms_bad = np.flatnonzero(~np.isfinite(positions[i]).all(axis=1))
        raise NonFiniteCoordinatesError(
            f"Trajectory '{path}' frame {int(local[i])} has NaN or infinite coordinates "
            f"({atoms_bad.size} atoms, first at index {int(atoms_bad[0]) if atoms_bad.size else '-'})."
        )


def _member(top: str, parts: list[str], infos: tuple[PartInfo, ...], *, backend: str, topology_format: str | None,
            format: str | None, type_map: tuple, reader_kwargs: Mapping[str, Any]) -> TrajectoryMember:
    """A trajectory from its probed parts: restart overlaps dropped, one time axis (see ``link_parts``)."""
    def max_difference(p: int, frames_p: np.ndarray, q: int, frames_q: np.ndarray) -> tuple[float, float]:
        a, b = (read_frames(backend, top, parts[i], f, None, topology_format=topology_format, format=format,
                            type_map=type_map, reader_kwargs=dict(reader_kwargs), info=infos[i])[0]
                for i, f in ((p, frames_p), (q, frames_q)))
        return float(np.max(np.abs(a - b))), float(np.max(np.abs(a)))

    skip, axis, notes = link_parts(parts, infos, max_difference)
    return TrajectoryMember(top, tuple(parts), infos, skip, axis, notes)


def _type_map_tuple(type_map: Mapping[Any, str] | None) -> tuple[tuple[str, str], ...]:
    if type_map is None:
        return ()
    if not isinstance(type_map, Mapping):
        raise TypeError("The 'type_map' parameter must map LAMMPS types to names, e.g. {1: 'C'}; "
                        f"got {type(type_map).__name__}.")
    return tuple(sorted((str(k), str(v)) for k, v in type_map.items()))


def _only_ase_files(topology: Any, trajectories: Any) -> bool:
    """Whether every coordinate file of the arguments is one only the ase backend reads."""
    try:
        members = _normalise_members(topology, trajectories)
    except (TypeError, ValueError):
        return False  # open_source reports the bad arguments itself
    return all(is_ase_file(p) for top, parts in members for p in (parts or [top]))


def open_source(
    topology: PathLike | Sequence[PathLike],
    trajectories: PathLike | Sequence[PathLike] | Sequence[Sequence[PathLike]] | None = None,
    *,
    backend: str = "mdanalysis",
    topology_format: str | None = None,
    format: str | None = None,
    type_map: Mapping[Any, str] | None = None,
    on_damage: str = "raise",
    dt: float | None = None,
    time_unit: str | None = None,
    lammps_units: str | None = None,
    atom_style: str | None = None,
    box: Any = None,
    check_finite: bool = True,
    **reader_kwargs: Any,
) -> Source:
    """Open trajectories lazily as a :class:`Source`.

    Parameters
    ----------
    topology : path, sequence of paths, or MDAnalysis.Universe
        Topology file (PSF, PDB, GRO, TPR, LAMMPS data, ...), or one per trajectory; or a Universe,
        whose files, formats and reader options are reopened (see :mod:`trajml.io.universe`).
    trajectories : path, sequence of paths, or sequence of sequences of paths, optional
        One file; a list of files read as **consecutive parts of one run**; or a
        list of lists, one per trajectory (replicas or systems of an ensemble).
        ``None`` reads the coordinates stored in the topology file itself.
    backend : {"mdanalysis", "mdtraj", "ase"}
        Library that reads coordinates. Topologies and selections always use MDAnalysis.
        ``"ase"`` (optional extra ``trajml[ase]``) reads VASP XDATCAR, extended XYZ, ASE ``.traj``
        and other formats ASE reads; the file is its own topology (see :mod:`trajml.io.ase_reader`).
        It is chosen automatically, instead of the default, when every file is an ``XDATCAR*``,
        ``*.xdatcar``, ``*.extxyz`` or ASE ``.traj`` file (compressed or not).
    topology_format, format : str, optional
        MDAnalysis format names, when file extensions are misleading (e.g. ``"DATA"``, ``"LAMMPSDUMP"``);
        with ``backend="ase"``, ASE format names (``"vasp-xdatcar"``, ``"extxyz"``, ``"traj"``).
    type_map : mapping, optional
        Numeric LAMMPS atom types to names, e.g. ``{1: "C", 2: "O", 3: "Li", 4: "TFSI"}``;
        the names become both atom types and atom names.
    on_damage : {"raise", "truncate"}
        What to do with a truncated or corrupt trajectory file: raise
        :class:`~trajml.errors.CorruptTrajectoryError` naming the file and frame,
        or warn and keep the readable frames before the damage.
    dt : float, optional
        Time between saved frames in ps, replacing the file's (files with constant or wrong time stamps).
    time_unit : str, optional
        Unit of the file's times (``"fs"``, ``"ps"``, ``"ns"``, ``"AKMA"``, …), converted to ps.
    lammps_units : str, optional
        LAMMPS ``units`` style of the run that wrote a LAMMPS DCD or dump (``"real"``: fs, ``"metal"``: ps).
    atom_style : str, optional
        Atom columns of a LAMMPS data file, e.g. ``"id type x y z"`` for ``atom_style atomic``.
    box : array_like, optional
        Periodic box for every frame: ``[a, b, c, alpha, beta, gamma]`` (Å, degrees) or a 3×3 matrix of
        box vectors (Å); replaces a file's own box with a warning.
    check_finite : bool
        Raise :class:`~trajml.errors.NonFiniteCoordinatesError` on NaN or infinite coordinates, and
        :class:`~trajml.errors.ImplausibleFrameError` on a frame no simulation produces (a coordinate
        beyond 1e6 Å or 100 box lengths outside the box, an atom jumping more than 1.5 box lengths
        between frames read, a degenerate box, a volume jump by more than 1.5x), checked on every
        chunk read (see :mod:`trajml.io.plausibility`).
    **reader_kwargs
        Passed to ``MDAnalysis.Universe``.
        With ``backend="ase"`` only the declared ``dt``, ``time_unit`` and ``box`` apply
        (see :mod:`trajml.io.ase_reader`).

    Returns
    -------
    Source

    Notes
    -----
    The reader options are declared once in :data:`trajml.io.reader_options.READER_OPTIONS` (the
    command line's ``--dt``, ``--box``, … and a pipeline input's ``reader:`` mapping take the same).
    A LAMMPS-written DCD, a LAMMPS dump or a file that stores no times (XYZ, multi-frame PDB) opened
    without ``dt``, ``time_unit`` or ``lammps_units`` gives one warning stating the time step assumed.

    Frame times are ``t0 + frame * dt`` (float64, ps) unless the file's stamps are truly
    uneven; ``dt`` is fitted to every stamp within the precision the format stores them
    with (float32 in XTC), see :mod:`trajml.io.time_axis`. A ``dt=`` keyword that
    contradicts the stamps raises :class:`~trajml.errors.IrregularTimeError`.

    When a continuation part starts at or before the time its predecessor ended (a
    restart rewrites the last frame(s)), those frames are dropped so no frame appears
    twice, and the drop is recorded in :attr:`Source.notes`; overlapping frames whose
    coordinates differ from the previous part's raise
    :class:`~trajml.errors.IrregularTimeError`.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> src.n_atoms > 0
    True
    """
    if is_universe(topology):  # an MDAnalysis Universe: rebuilt from its files (trajml.io.universe)
        return source_from_universe(open_source, **locals())  # every keyword, whatever the list holds
    from trajml.io.reader_options import check_reader_options, warn_assumed_times

    if backend == "mdanalysis" and _only_ase_files(topology, trajectories):
        backend = "ase"  # MDAnalysis has no reader for these files
    given = {k: v for k, v in dict(dt=dt, time_unit=time_unit, lammps_units=lammps_units, atom_style=atom_style,
                                   box=box).items() if v is not None}
    if type_map is not None and not isinstance(type_map, Mapping):
        _type_map_tuple(type_map)  # its TypeError, as before
    opts = check_reader_options(backend=backend, format=format, topology_format=topology_format, on_damage=on_damage,
                                type_map=type_map, **given)
    reader_kwargs = {**reader_kwargs, **{k: opts[k] for k in given}}
    tmap = _type_map_tuple(opts["type_map"])
    members = []
    for top, parts in _normalise_members(topology, trajectories):
        if not parts:  # coordinates from the topology file itself
            parts = [top]
        infos = tuple(
            probe_part(backend, top, p, topology_format=topology_format, format=format, type_map=tmap,
                       reader_kwargs=reader_kwargs, on_damage=on_damage)
            for p in parts
        )
        members.append(_member(top, parts, infos, backend=backend, topology_format=topology_format, format=format,
                               type_map=tmap, reader_kwargs=reader_kwargs))
    if backend != "ase":  # the ase backend warns about assumed times itself
        warn_assumed_times([(m.topology, p, i) for m in members for p, i in zip(m.parts, m.infos)], format,
                           reader_kwargs, lambda top, part: open_universe(top, part, topology_format=topology_format,
                                                                          format=format, type_map=tmap,
                                                                          **reader_kwargs))
    return Source(members, backend=backend, topology_format=topology_format, format=format, type_map=tmap,
                  reader_kwargs=reader_kwargs, check_finite=check_finite)
