"""MDAnalysis interop: a :class:`~trajml.io.Source` rebuilt from an existing ``MDAnalysis.Universe``.

A Source holds paths and reopens them on every worker, so a Universe is taken apart into the
files it was opened from (topology ``u.filename``; trajectory ``u.trajectory.filename``, or the
parts ``u.trajectory.filenames`` of a ChainReader), the format names and the reader options
it was given (``dt``, ``atom_style``, ...), and passed to :func:`~trajml.io.open_source` like
paths would be: ``open_source(u)`` and ``open_source(u.filename, u.trajectory.filename)`` give the
same Source and the same results.

What the files cannot reproduce is refused, with the reason and the fix
(:class:`UniverseNotReopenableError`):

* coordinates held in memory (``in_memory=True``, ``transfer_to_memory()``, ``MemoryReader``);
* a Universe without a topology file (``Universe.empty``, a Topology object, a file-like object);
* on-the-fly transformations: workers read the files as they are and would not apply them, so
  the results would silently differ. Write the transformed trajectory to a file first;
* a topology changed after loading (``add_TopologyAttr``, guessing options such as ``to_guess``):
  the attributes read back from the file must equal the Universe's.

When trajml's own rule for continuation parts (a first frame that repeats the previous part's
last frame is dropped) gives fewer frames than the ChainReader, a ``RuntimeWarning`` says so.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from trajml.errors import TrajmlError

__all__ = ["is_universe", "source_from_universe", "universe_files", "UniverseNotReopenableError"]

# Universe keywords that are not reader options: dropped, or handled below.
_UNIVERSE_KEYS = ("transformations", "guess_bonds", "vdwradii", "fudge_factor", "lower_bound", "in_memory",
                  "in_memory_step", "format", "topology_format", "all_coordinates", "continuous")
# Bond guessing reproduces only with the same options.
_GUESS_KEYS = ("guess_bonds", "vdwradii", "fudge_factor", "lower_bound")
# Topology attributes a reopened Universe must reproduce (those trajml reads: species, molecules, masses).
_ATTRS = ("names", "types", "resids", "masses", "charges")


class UniverseNotReopenableError(TrajmlError, ValueError):
    """A Universe that its files cannot reproduce (in memory, transformed, modified); the message gives the fix."""


def _mda_class(module: str, name: str) -> type | None:
    # No Universe exists before MDAnalysis is imported: look it up without importing it.
    mod = sys.modules.get(module)
    return getattr(mod, name, None) if mod is not None else None


def is_universe(obj: Any) -> bool:
    """Whether ``obj`` is an ``MDAnalysis.Universe`` (or an AtomGroup, which is refused with a hint)."""
    universe = _mda_class("MDAnalysis.core.universe", "Universe")
    group = _mda_class("MDAnalysis.core.groups", "AtomGroup")
    return (universe is not None and isinstance(obj, universe)) or (group is not None and isinstance(obj, group))


def _refuse(problem: str, fix: str) -> UniverseNotReopenableError:
    return UniverseNotReopenableError(
        f"open_source cannot use this Universe: {problem}. trajml workers reopen files by path, so a Source "
        f"must be rebuilt from files. {fix}")


def _reader_format(reader: Any, path: str) -> str | None:
    """The reader's format name when the file's extension would pick another reader, else None."""
    from MDAnalysis.coordinates.core import get_reader_for

    try:
        if get_reader_for(path) is type(reader):
            return None
    except (ValueError, TypeError):
        pass
    fmt = getattr(type(reader), "format", None)
    return fmt[0] if isinstance(fmt, (list, tuple)) else fmt


def universe_files(u: Any) -> tuple[str, str | list[str] | None, dict[str, Any]]:
    """The topology path, trajectory path(s) and open_source keywords a Universe was opened with.

    Raises
    ------
    UniverseNotReopenableError
        In-memory coordinates, no topology file, transformations, or a non-file trajectory.
    """
    from MDAnalysis.coordinates.chain import ChainReader
    from MDAnalysis.coordinates.memory import MemoryReader

    reader = u.trajectory
    top = u.filename
    if not isinstance(top, (str, os.PathLike)) or not os.path.isfile(top):
        raise _refuse("it has no topology file (built with Universe.empty, from a Topology object, a stream or "
                      "another library's object)", "Write it to files (u.atoms.write('top.pdb') and an "
                      "mda.Writer for the frames) and call open_source('top.pdb', 'traj.xtc').")
    if isinstance(reader, MemoryReader):
        raise _refuse("its coordinates are held in memory (MemoryReader: in_memory=True, transfer_to_memory() "
                      "or an array), and may differ from any file", "Write the frames to a file with "
                      "mda.Writer and open that, or open_source(topology, trajectory) on the original files.")
    transforms = list(getattr(reader, "transformations", None) or [])
    if transforms:
        names = ", ".join(type(t).__name__ for t in transforms)
        raise _refuse(f"it has on-the-fly transformations ({names}) that workers would not apply, so results "
                      "would differ from what the Universe shows", "Write the transformed trajectory to a "
                      "file (mda.Writer over u.trajectory) and open that, or open the Universe's files without "
                      "transformations (trajml unwraps and wraps where an analysis needs it).")
    if isinstance(reader, ChainReader):
        parts = [p if p is None else os.fspath(p) for p in reader.filenames]
        if any(p is None or not os.path.isfile(p) for p in parts):
            raise _refuse("a part of its ChainReader is not a file", "Pass the parts' paths to open_source.")
        readers = list(reader.readers)
    else:
        path = getattr(reader, "filename", None)
        if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
            raise _refuse(f"its trajectory ({type(reader).__name__}) is not read from a file",
                          "Write the frames to a file with mda.Writer and open that.")
        parts, readers = [os.fspath(path)], [reader]
    kwargs = dict(u.kwargs)
    options: dict[str, Any] = {k: v for k, v in kwargs.items() if k not in _UNIVERSE_KEYS and v is not None}
    if kwargs.get("guess_bonds"):
        options.update({k: kwargs[k] for k in _GUESS_KEYS if kwargs.get(k) is not None})
    options["topology_format"] = kwargs.get("topology_format")
    fmt = kwargs.get("format")
    options["format"] = fmt if isinstance(fmt, str) else _reader_format(readers[0], parts[0])
    top = os.fspath(top)
    trajectories: str | list[str] | None = parts if len(parts) > 1 else parts[0]
    if len(parts) == 1 and os.path.realpath(parts[0]) == os.path.realpath(top):
        trajectories = None  # coordinates read from the topology file itself (a PDB, a GRO)
    return top, trajectories, options


def source_from_universe(open_source: Callable[..., Any], topology: Any, trajectories: Any = None,
                         reader_kwargs: Mapping[str, Any] | None = None, **options: Any) -> Any:
    """Build a Source from the files of an ``MDAnalysis.Universe`` (the hook of :func:`~trajml.io.open_source`).

    Parameters
    ----------
    open_source : callable
        :func:`trajml.io.open_source` itself (passed in, so this module never imports source.py).
    topology : MDAnalysis.Universe
        The Universe.
    trajectories : None
        Must be None: the Universe names its own trajectory.
    reader_kwargs : mapping, optional
        Reader options given to ``open_source`` explicitly; they override the Universe's.
    **options
        The other ``open_source`` keywords; a format given explicitly overrides the Universe's.

    Returns
    -------
    Source

    Raises
    ------
    UniverseNotReopenableError
        See the module docstring.
    TypeError
        An AtomGroup, or trajectories given beside the Universe.
    """
    u = topology
    if not hasattr(u, "trajectory") or not hasattr(u, "kwargs"):  # an AtomGroup
        raise TypeError("open_source takes a Universe, not an AtomGroup: call open_source(ag.universe) and pass "
                        "the AtomGroup as the analysis' selection (e.g. RDF(ag, ...)).")
    if trajectories is not None:
        raise TypeError("open_source(universe) takes no 'trajectories': the Universe names its own files. Give "
                        "open_source(topology, trajectories) paths instead to read other files.")
    top, trajs, found = universe_files(u)
    kwargs = {k: v for k, v in found.items() if k not in ("topology_format", "format")}
    for key in list(kwargs):  # a reader option open_source names (dt, atom_style, ...): the explicit one wins
        if key in options:
            if options[key] is not None:
                del kwargs[key]
            else:
                del options[key]
    kwargs.update(reader_kwargs or {})
    for key in ("topology_format", "format"):
        if options.get(key) is None:
            options[key] = found[key]
    source = open_source(top, trajs, **options, **kwargs)
    _check_same(u, source, type_mapped=bool(options.get("type_map")))
    return source


def _check_same(u: Any, source: Any, *, type_mapped: bool) -> None:
    """Refuse a Universe whose topology its files do not reproduce; warn when frame counts differ."""
    again = source.universe(0)
    top = source.members[0].topology
    fix = ("Write the modified topology to a file (u.atoms.write(...), a format that keeps these attributes) "
           "and open that, or open_source(paths) and select by index.")
    if again.atoms.n_atoms != u.atoms.n_atoms:
        raise _refuse(f"it has {u.atoms.n_atoms} atoms but '{top}' reopens with {again.atoms.n_atoms}", fix)
    for attr in _ATTRS:
        if type_mapped and attr in ("names", "types"):
            continue  # type_map renames them on purpose
        have, got = hasattr(u.atoms, attr), hasattr(again.atoms, attr)
        if have != got:
            where = "the Universe" if have else f"'{top}' reopened"
            raise _refuse(f"only {where} has atom {attr} (was the topology changed after loading, e.g. with "
                          "add_TopologyAttr or guessing options?)", fix)
        if have and not np.array_equal(np.asarray(getattr(u.atoms, attr)), np.asarray(getattr(again.atoms, attr))):
            raise _refuse(f"its atom {attr} differ from those of '{top}' reopened (changed after loading?)", fix)
    n_bonds = len(u.bonds) if hasattr(u, "bonds") else 0
    n_again = len(again.bonds) if hasattr(again, "bonds") else 0
    if n_bonds != n_again:
        raise _refuse(f"it has {n_bonds} bonds but '{top}' reopens with {n_again} (bonds guessed or added after "
                      "loading define trajml's molecules)", fix)
    n_frames = u.trajectory.n_frames
    if source.n_frames != n_frames:
        warnings.warn(f"The Source of this Universe has {source.n_frames} frames, the Universe {n_frames}: trajml "
                      "drops a continuation part's first frame when it repeats the previous part's last one "
                      "(same time).", RuntimeWarning, stacklevel=3)
