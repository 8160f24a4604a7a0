"""The MDAnalysis reader: opening Universes, with a per-thread cache keyed by file identity.

Topologies and selections always go through MDAnalysis, whichever backend reads the frames.
Opened MDAnalysis Universes are cached per thread (a reader holds a file
cursor, so two threads must never share one) and per process; workers receive
only paths. A cache entry is keyed by the files' paths *and* their size,
modification time and inode, plus every reading option, so a file rewritten in
place is reopened rather than served from a stale reader.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from trajml.io.mdanalysis_formats import _check_exists, _check_formats, _mda, _raise_open_error

__all__ = ["open_universe", "clear_reader_cache"]

_CACHE_SIZE = 8
_local = threading.local()


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
        shown = ", ".join(repr(t) for t in unknown[:12]) + (
            f" and {len(unknown) - 12} more" if len(unknown) > 12 else "")
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
        Passed to ``MDAnalysis.Universe``, except the options trajml applies itself (``dt``,
        ``time_unit``, ``lammps_units``, ``box``: see :mod:`trajml.io.reader_options`). A ``.dump`` or
        ``.lammpstrj`` file is read as a LAMMPS dump and a LAMMPS-written DCD with LAMMPS time units.

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
    from trajml.io.reader_options import _reader_format, apply_to_universe, split_reader_kwargs

    mda = _mda()
    ours, kwargs = split_reader_kwargs(kwargs)
    format = _reader_format(trajectory, format)
    _check_formats(topology, trajectory, topology_format, format)
    args = (topology,) if trajectory is None else (topology, trajectory)
    opts = dict(kwargs)
    if topology_format:
        opts["topology_format"] = topology_format
    if format:
        opts["format"] = format
    if format == "LAMMPSDUMP":
        opts.setdefault("dt", 1.0)  # MDAnalysis' own default, given so it stops warning on every frame
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            universe = mda.Universe(*args, **opts)
    except Exception as exc:
        _raise_open_error(exc, topology, trajectory, topology_format, format, kwargs)
    _apply_type_map(universe, type_map, topology)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        universe.trajectory.dt  # a format without times: MDAnalysis assumes 1 ps, with a warning
    no_times = any("no dt information" in str(w.message) for w in seen)
    if no_times:
        # Keep MDAnalysis' 1 ps, said once: trajml's own warning (reader_options.warn_assumed_times)
        # names the file and the fix, and MDAnalysis would repeat its note on every new frame.
        universe.trajectory.ts.data["dt"] = 1.0
    universe.trajml_assumed_dt = no_times and universe.trajectory.n_frames > 1
    apply_to_universe(universe, ours, trajectory or topology)
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
