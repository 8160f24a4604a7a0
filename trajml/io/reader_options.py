"""The reader options, declared once: how trajectory files are opened and what their numbers mean.

:func:`trajml.io.open_source`, every analysis command (``--dt``, ``--time-unit``, ``--box``, …)
and the pipeline YAML (``reader: {dt: 0.5, lammps_units: real}`` per input) take these with the
same names, defaults and checks, so a bad value reads the same everywhere:
``must be a float in (0, inf) ps. Got -1 instead.``

What they change
----------------
``dt`` (ps)
    The time between saved frames. Frame ``i`` of a file gets the time ``t0 + i * dt``, where
    ``t0`` keeps the file's own origin in frames (``first time / spacing``) when its time stamps
    increase, and is 0 when they are constant.
``time_unit``
    The unit the file's times are really in; MDAnalysis' reading (ps for most formats, AKMA for
    DCD, fs for a LAMMPS DCD, step numbers for a LAMMPS dump) is rescaled to ps.
``lammps_units``
    The LAMMPS ``units`` style of the run that wrote a LAMMPS DCD or dump: its time unit
    (``real`` → fs, ``metal`` → ps, …) becomes ``time_unit``.
``box``
    A periodic box (``a b c α β γ`` in Å and degrees, or a 3×3 matrix of box vectors in Å, one
    per row) put on every frame. A file that has its own box gets the given one instead, with a
    warning naming the file: the option is an explicit request, but a silent replacement of an
    NPT box would be wrong for every frame.

A LAMMPS-written DCD (its title says LAMMPS, or ``format="LAMMPS"`` is given) is read with
LAMMPS' time unit (``real``: fs) instead of MDAnalysis' CHARMM assumption (AKMA, 48.9 times
longer); when neither ``dt``,
``time_unit`` nor ``lammps_units`` is given, :func:`warn_assumed_times` states the time step it
assumed and how to set it.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from trajml._fixes import cli_text, fix_text, with_cli_text
from trajml._validation import Param

__all__ = ["READER_OPTIONS", "BACKENDS", "TIME_UNITS", "LAMMPS_TIME_UNITS", "check_reader_options", "ReaderWarning",
           "cli_text", "fix_text", "with_cli_text", "warn_assumed_times", "lammps_dump_format",
           "is_lammps_dcd", "warn_box_replaced"]

#: Picoseconds per unit of time (AKMA: the CHARMM time unit, 4.888821e-14 s).
TIME_UNITS: dict[str, float] = {"fs": 1e-3, "ps": 1.0, "ns": 1e3, "us": 1e6, "µs": 1e6, "ms": 1e9, "s": 1e12,
                                "AKMA": 4.888821e-2}

#: Units that are not of time, so a mistake names what was given.
_OTHER_UNITS = {
    "length": ("A", "Å", "Angstrom", "angstrom", "nm", "pm", "fm", "m", "cm", "um", "nanometer"),
    "energy": ("kJ/mol", "kcal/mol", "eV", "J", "kT", "Hartree"),
    "mass": ("amu", "u", "Da", "g", "kg"),
    "charge": ("e", "C"),
    "temperature": ("K",),
}

#: The time unit of each LAMMPS ``units`` style (``lj`` has none: its time is in τ).
LAMMPS_TIME_UNITS: dict[str, str | None] = {"real": "fs", "metal": "ps", "si": "s", "cgs": "s", "electron": "fs",
                                            "micro": "us", "nano": "ns", "lj": None}

#: Extensions of LAMMPS dump files (MDAnalysis knows neither as LAMMPSDUMP).
_DUMP_EXTENSIONS = (".dump", ".lammpstrj")


def _time_unit(value: str) -> str:
    for unit in TIME_UNITS:
        if value == unit or value.lower() == unit.lower():
            return unit
    known = "a unit of time (" + ", ".join(u for u in TIME_UNITS if u != "µs") + ")"
    for kind, names in _OTHER_UNITS.items():
        if value in names or value.lower() in (n.lower() for n in names):
            raise ValueError(f"{known}; {value!r} is a unit of {kind}")
    raise ValueError(known)


def _atom_style(value: str) -> str:
    columns = value.split()
    missing = [c for c in ("id", "type", "x", "y", "z") if c not in columns]
    if missing:
        raise ValueError("the atom columns of a LAMMPS data file, with id, type, x, y and z among them "
                         "(e.g. 'id type x y z' for atom_style atomic)")
    return " ".join(columns)


def box_dimensions(value: Any) -> tuple[float, ...]:
    """A box as MDAnalysis dimensions ``(a, b, c, α, β, γ)`` (Å, degrees).

    Parameters
    ----------
    value : array_like
        Six numbers ``a b c α β γ`` or nine numbers (a 3×3 matrix of box vectors, one per row), Å.

    Raises
    ------
    ValueError
        Another count of numbers, or a box of non-positive volume (the text is a constraint).
    """
    what = "6 numbers a b c alpha beta gamma (Å, degrees) or 9 numbers of a 3x3 box matrix (Å)"
    arr = np.asarray(value, dtype=np.float64).ravel()
    if arr.size == 9:
        m = arr.reshape(3, 3)
        volume = float(np.linalg.det(m))
        if not volume > 0:
            raise ValueError(f"{what}, with a positive volume (this matrix's determinant is {volume:g} Å³)")
        lengths = np.linalg.norm(m, axis=1)
        cos = [m[1] @ m[2] / (lengths[1] * lengths[2]), m[0] @ m[2] / (lengths[0] * lengths[2]),
               m[0] @ m[1] / (lengths[0] * lengths[1])]
        angles = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        return tuple(float(x) for x in (*lengths, *angles))
    if arr.size != 6:
        raise ValueError(what)
    a, b, c, al, be, ga = arr
    if 0 < max(al, be, ga) < 2 * math.pi:  # no cell has three angles under 6.3°: these are radians
        raise ValueError(f"{what}: angles in degrees, not radians (all three of {al:g} {be:g} {ga:g} are below "
                         f"2π; 90° is 1.5708 rad)")
    ca, cb, cg = (math.cos(math.radians(x)) for x in (al, be, ga))
    square = 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg
    if min(a, b, c) <= 0 or min(al, be, ga) <= 0 or max(al, be, ga) >= 180 or square <= 1e-10:
        raise ValueError(f"{what}, with a positive volume (lengths > 0, angles in (0, 180) that close a cell)")
    return tuple(float(x) for x in arr)


def box_vectors(dimensions: Sequence[float], n_frames: int) -> np.ndarray:
    """The box ``(a, b, c, α, β, γ)`` as box vectors (rows, Å) repeated for ``n_frames``: (F, 3, 3) float32."""
    from MDAnalysis.lib.mdamath import triclinic_vectors

    return np.repeat(triclinic_vectors(np.asarray(dimensions, dtype=np.float32))[None], n_frames, axis=0)


def _type_map(value: Mapping[Any, Any]) -> dict[str, str]:
    if any(not str(v).strip() for v in value.values()):
        raise ValueError("a mapping of LAMMPS atom types to names, e.g. {1: 'C', 2: 'O'}")
    return {str(k): str(v) for k, v in value.items()}


#: Libraries that read coordinates (:mod:`trajml.io.backends` dispatches on them).
BACKENDS = ("mdanalysis", "mdtraj", "ase")


#: Everything :func:`trajml.io.open_source` takes about reading files.
READER_OPTIONS: dict[str, Param] = {
    "backend": Param("str", "mdanalysis", "library that reads coordinates", choices=BACKENDS, name="backend"),
    "format": Param("str", None, "trajectory format (MDAnalysis name, e.g. XTC, DCD, LAMMPSDUMP) when the extension "
                    "misleads", nullable=True, none_help="from the extension", metavar="FORMAT", name="format"),
    "topology_format": Param("str", None, "topology format (MDAnalysis name, e.g. PSF, DATA)", nullable=True,
                             none_help="from the extension", metavar="FORMAT", name="topology_format"),
    "dt": Param("float", None, "time between saved frames; replaces the file's time step", unit="ps",
                positive=True, nullable=True, none_help="from the file", name="dt"),
    "time_unit": Param("str", None, "unit of the file's times (fs, ps, ns, us, ms, s, AKMA), converted to ps",
                       nullable=True, none_help="the format's own", check=_time_unit, metavar="UNIT",
                       name="time_unit"),
    "lammps_units": Param("str", None, "LAMMPS units style of the run (real: fs, metal: ps, ...) for its DCD or "
                          "dump times", choices=(*LAMMPS_TIME_UNITS, None), none_help="real for a LAMMPS DCD",
                          name="lammps_units"),
    "atom_style": Param("str", None, "LAMMPS data file atom columns, e.g. 'id type x y z' for atom_style atomic",
                        nullable=True, none_help="full", check=_atom_style, metavar="COLUMNS", name="atom_style"),
    "box": Param("floats", None, "periodic box for every frame: a b c alpha beta gamma (Å, degrees) or 9 numbers "
                 "of box vectors", unit="Å", nullable=True, none_help="from the file", check=box_dimensions,
                 describe="6 numbers a b c alpha beta gamma (Å, degrees) or 9 numbers of a 3x3 box matrix (Å)",
                 metavar="X", name="box"),
    "type_map": Param("mapping", None, "LAMMPS numeric atom types to names, e.g. 1=C 2=O 3=Li 4=TFSI",
                      nullable=True, none_help="none", check=_type_map, metavar="TYPE=NAME", name="type_map"),
    "on_damage": Param("str", "raise", "a truncated or corrupt file: fail, or keep the frames before the damage",
                       choices=("raise", "truncate"), name="on_damage"),
}

#: The options MDAnalysis does not know; trajml applies them to what it reads.
TRAJML_ONLY = ("dt", "time_unit", "lammps_units", "box")


def check_reader_options(owner: str = "open_source", **values: Any) -> dict[str, Any]:
    """Validate reader options (names of :data:`READER_OPTIONS`); return them normalised.

    Raises
    ------
    InvalidParameterError
        A value outside its declaration, or ``time_unit`` and ``lammps_units`` that disagree.
    """
    from trajml._validation import invalid

    out = {name: READER_OPTIONS[name].validate(value, owner) for name, value in values.items()}
    unit, style = out.get("time_unit"), out.get("lammps_units")
    if style is not None and unit is not None and LAMMPS_TIME_UNITS[style] != unit:
        raise invalid("time_unit", owner, f"the time unit of lammps_units={style!r} "
                      f"({LAMMPS_TIME_UNITS[style] or 'none: give dt'}) or None", unit)
    if style == "lj" and out.get("dt") is None:
        raise invalid("lammps_units", owner, "a LAMMPS units style with a time unit (lj times are in τ: give dt "
                      "in ps as well)", style)
    return out


# -- messages that name the fix in the user's syntax -------------------------------------------------
class ReaderWarning(UserWarning):
    """A reader assumption or override worth knowing; ``cli_message`` words its fix as flags."""

    def __init__(self, message: str, cli_message: str | None = None) -> None:
        super().__init__(message)
        self.cli_message = cli_message or message


# -- formats -----------------------------------------------------------------------------------------
def lammps_dump_format(path: str | None, fmt: str | None) -> str | None:
    """``"LAMMPSDUMP"`` for a ``.dump``/``.lammpstrj`` file (compressed too) without a given format."""
    if fmt is not None or path is None:
        return fmt
    stem = path
    for ext in (".gz", ".bz2"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
    return "LAMMPSDUMP" if stem.lower().endswith(_DUMP_EXTENSIONS) else None


def is_lammps_dcd(path: str | None, fmt: str | None) -> bool:
    """Whether ``path`` is a DCD file that LAMMPS wrote: its title records say so, or ``fmt="LAMMPS"``.

    A DCD rewritten by another program (e.g. MDAnalysis) may have blank titles; the given format is
    then the only sign that its times are in the run's LAMMPS units.
    """
    if path is None or (fmt is not None and fmt.upper() not in ("DCD", "LAMMPS")):
        return False
    if fmt is None and not path.lower().endswith(".dcd"):
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)  # the CHARMM header: 84-byte record, then the title records
    except OSError:
        return False
    return head[4:8] == b"CORD" and (b"LAMMPS" in head or (fmt or "").upper() == "LAMMPS")


def _reader_format(path: str | None, fmt: str | None) -> str | None:
    fmt = lammps_dump_format(path, fmt)
    if is_lammps_dcd(path, fmt) and (fmt is None or fmt.upper() == "DCD"):
        return "LAMMPS"  # MDAnalysis' DCD reader with LAMMPS time units instead of AKMA
    return fmt


def split_reader_kwargs(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate the options trajml applies itself from those passed to ``MDAnalysis.Universe``."""
    ours = {k: kwargs[k] for k in TRAJML_ONLY if kwargs.get(k) is not None}
    theirs = {k: v for k, v in kwargs.items() if k not in TRAJML_ONLY}
    return ours, theirs


# -- applying them to an MDAnalysis reader --------------------------------------------------------------
_noted: set[tuple] = set()


def apply_to_universe(universe: Any, options: Mapping[str, Any], trajectory: str | None) -> None:
    """Make ``universe``'s frames carry the given time step, time unit and box.

    Installs an MDAnalysis on-the-fly transformation, so every frame read (probing, reading,
    any backend's timing) sees times in ps with the given spacing and the given box.
    """
    if not options:
        return
    reader = universe.trajectory
    dt, box = options.get("dt"), options.get("box")
    unit = options.get("time_unit") or (LAMMPS_TIME_UNITS.get(options.get("lammps_units") or "") or None)
    native = (getattr(reader, "units", {}) or {}).get("time") or "ps"
    scale = TIME_UNITS[unit] / TIME_UNITS.get(native, 1.0) if unit else 1.0
    from MDAnalysis.coordinates.DCD import DCDReader
    from MDAnalysis.coordinates.LAMMPS import DumpReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no dt information, set to 1.0 ps": the point of these options
        ts = reader[0]
        dt_native = float(reader.dt)
    # DCD and dump readers compute each frame's time from the timestep's dt, which the transformation
    # below replaces; other formats store times (XTC, TRR) or have none (time = frame × dt).
    derived = isinstance(reader, (DCDReader, DumpReader))
    stored = not derived and "time" in ts.data
    offset = float(ts.time)
    state = {"dt": dt_native}  # the dt the reader used for the frame being transformed

    def raw(frame_ts: Any) -> float:
        if isinstance(reader, DumpReader):  # its LAMMPS step number, times MDAnalysis' dt
            return float(frame_ts.data["step"]) * dt_native
        if derived:
            return float(frame_ts.data["time"]) * dt_native / state["dt"]
        return float(frame_ts.data["time"]) if stored else offset + frame_ts.frame * dt_native

    if box is not None:
        own = ts.dimensions
        if own is not None and np.all(np.asarray(own[:3]) > 0):
            warn_box_replaced(trajectory, own, box, stacklevel=4)
    t0 = 0.0
    if dt is not None and reader.n_frames > 1:
        r0 = raw(ts)
        r1 = raw(reader[1])
        t0 = r0 / (r1 - r0) * dt if r1 != r0 and math.isfinite(r0 / (r1 - r0)) else 0.0
    dims = np.asarray(box, dtype=np.float32) if box is not None else None

    def transform(frame_ts: Any) -> Any:
        time = raw(frame_ts)
        if dt is not None:
            frame_ts.data["time"], frame_ts.data["dt"] = t0 + frame_ts.frame * dt, dt
        elif unit:
            frame_ts.data["time"], frame_ts.data["dt"] = time * scale, dt_native * scale
        state["dt"] = frame_ts.data.get("dt", dt_native)
        if dims is not None:
            frame_ts.dimensions = dims
        return frame_ts

    reader.rewind()
    reader.add_transformations(transform)


def warn_box_replaced(trajectory: str | None, own: Sequence[float], box: Sequence[float],
                      stacklevel: int = 2) -> None:
    """Warn, once per file and box, that a given ``box`` replaces the file's ``own`` (both ``a b c α β γ``).

    ``stacklevel`` is the one the caller's own ``warnings.warn`` would take.

    Every backend says it the same way: the option is an explicit request, but a silent
    replacement of an NPT box would be wrong for every frame.
    """
    key = (trajectory, tuple(box))
    if key in _noted:
        return
    _noted.add(key)
    shown = " ".join(f"{x:g}" for x in np.round(np.asarray(own, dtype=np.float64), 3))
    warnings.warn(ReaderWarning(
        f"Trajectory '{trajectory}' has its own box ({shown} at frame 0); the given box "
        f"({' '.join(f'{x:g}' for x in box)}) replaces it on every frame.",
    ), stacklevel=stacklevel + 1)


def warn_assumed_times(parts: Sequence[tuple[str, str, Any]], fmt: str | None, options: Mapping[str, Any],
                       open_part: Callable[[str, str], Any]) -> None:
    """One warning for the files whose time step trajml had to assume (no dt, time_unit or lammps_units).

    Parameters
    ----------
    parts : sequence of (topology, part, PartInfo)
        Every file of a source with its probe.
    fmt : str or None
        The format given by the user.
    options : mapping
        The reader options given.
    open_part : callable
        ``open_part(topology, part)`` returns the (cached) MDAnalysis Universe of a file.
    """
    if any(options.get(k) is not None for k in ("dt", "time_unit", "lammps_units")):
        return
    assumed = []
    for top, part, info in parts:
        spacing = (info.last_time - info.first_time) / (info.n_frames - 1) if info.n_frames > 1 else info.dt
        name = os.path.basename(part)
        if is_lammps_dcd(part, fmt):
            assumed.append(f"'{name}' (a LAMMPS DCD, read as units real: fs): dt = {spacing:g} ps")
        elif lammps_dump_format(part, fmt) == "LAMMPSDUMP" or (fmt or "").upper() == "LAMMPSDUMP":
            assumed.append(f"'{name}' (a LAMMPS dump: step numbers read as ps): dt = {spacing:g} ps")
        elif info.n_frames > 1 and getattr(open_part(top, part), "trajml_assumed_dt", False):
            assumed.append(f"'{name}' (stores no times): dt = {spacing:g} ps")
    if not assumed:
        return
    lammps = any("LAMMPS" in a for a in assumed)
    template = (("LAMMPS stores times in the run's units, which the file does not record; " if lammps else "")
                + "trajml assumed " + "; ".join(assumed) + ". If that is wrong, give "
                + ("the units style ({lammps_units}) or " if lammps else "")
                + "the time between saved frames in ps ({dt}).")
    python, cli = cli_text(template, lammps_units="metal", dt="<DT>")
    warnings.warn(ReaderWarning(python, cli), stacklevel=3)
