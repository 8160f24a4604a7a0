"""Arguments shared by the sub-commands."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from trajml._files import atomic_savez, atomic_write, atomic_write_text


def add_input_arguments(parser: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """Add TOP and TRAJ positionals plus the reader options, generated from their declaration.

    The options (``--backend``, ``--format``, ``--topology-format``, ``--dt``, ``--time-unit``,
    ``--lammps-units``, ``--atom-style``, ``--box``, ``--type-map``, ``--on-damage``) are
    :data:`trajml.io.reader_options.READER_OPTIONS`, the same names and checks as
    :func:`trajml.io.open_source` and a pipeline input's ``reader:`` mapping.
    """
    from trajml.cli._options import add_parameters
    from trajml.io.reader_options import READER_OPTIONS

    nargs = "?" if optional else None
    default_note = " (default: the bundled sample SPE)" if optional else ""
    parser.add_argument("topology", metavar="TOP", nargs=nargs,
                        help=f"topology file (PSF, PDB, GRO, TPR, LAMMPS data, ...){default_note}")
    parser.add_argument("trajectories", metavar="TRAJ", nargs="*" if optional else "+",
                        help="trajectory file(s); several files are read as consecutive parts of one run")
    g = parser.add_argument_group("reading the files")
    add_parameters(g, READER_OPTIONS, owner="open_source")


def parse_type_map(items: list[str] | None) -> dict[str, str] | None:
    """Parse ``["1=C", "2=O"]`` into ``{"1": "C", "2": "O"}``."""
    if not items:
        return None
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"--type-map entries must look like TYPE=NAME (e.g. 3=Li); got {item!r}.")
        out[key] = value
    return out


def reader_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`trajml.io.open_source` from parsed options (those not given left out)."""
    from trajml.io.reader_options import READER_OPTIONS

    out = {k: getattr(args, k) for k in READER_OPTIONS if hasattr(args, k)}
    return {k: v for k, v in out.items() if v is not None or READER_OPTIONS[k].default is not None}


def open_from_args(args: Any, *, show_notes: bool = True) -> Any:
    """Open the Source the input arguments describe (the bundled sample when TOP is omitted).

    With ``show_notes``, what opening it changed (a restart overlap dropped, :attr:`Source.notes`)
    is printed once to standard error as ``trajml COMMAND: note: ...``, where the results on
    standard output stay clean.
    """
    from trajml.io import open_source

    check_plot_path(getattr(args, "plot", None))  # before the analysis runs, not after
    topology, trajectories = args.topology, list(args.trajectories or [])
    if topology is None:
        from trajml.data import sample_topology, sample_trajectory

        topology, trajectories = sample_topology(), [sample_trajectory()]
    source = open_source(topology, trajectories or None, **reader_options(args))
    if show_notes:
        print_notes(f"trajml {getattr(args, 'command', None) or ''}".strip(), source.notes)
    return source


def print_notes(prog: str, notes: Any) -> None:
    """Print each distinct note once to standard error, ``PROG: note: ...``."""
    for note in dict.fromkeys(notes):  # in order, without repeats
        print(f"{prog}: note: {note}", file=sys.stderr)


def _number(convert: Callable[[str], Any], minimum: float, strict: bool, requirement: str,
            doc: str) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)``, finite, and > ``minimum`` (``strict``) or >= it."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {requirement}; got {text!r}") from None
        if not np.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"must be {requirement}; got {text!r}")
        return value

    parse.__doc__ = f"argparse type: {doc}."
    return parse


positive_int = _number(int, 1, False, "an int >= 1", "an int >= 1")
non_negative_int = _number(int, 0, False, "an int >= 0", "an int >= 0")
positive_float = _number(float, 0.0, True, "a float > 0 (Å)", "a finite float > 0 (a length in Å)")
non_negative_time = _number(float, 0.0, False, "a float >= 0 (ps)", "a finite time >= 0 in ps (fit windows)")


def positive_temperature(text: str) -> float:
    """argparse type: a temperature in K, in the range every declared temperature has."""
    from trajml._validation import temperature_param
    from trajml.errors import InvalidParameterError

    try:
        return temperature_param(name="temperature").parse_text(text, "fes")
    except InvalidParameterError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def add_run_arguments(parser: argparse.ArgumentParser, *, skip: tuple[str, ...] = ()) -> None:
    """Add the run options (frames, chunking, scheduler, workers, progress), generated from their declaration."""
    from trajml.cli._options import add_parameters
    from trajml.parallel.options import RUN_OPTIONS

    g = parser.add_argument_group("frames and execution")
    add_parameters(g, RUN_OPTIONS, skip=skip, owner="run")


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`trajml.parallel.run` from parsed options."""
    from trajml.parallel.options import RUN_OPTIONS

    return {k: getattr(args, k) for k in RUN_OPTIONS if hasattr(args, k)}


#: Parsed attributes that are plumbing, not parameters of the computation.
_NOT_PARAMETERS = frozenset({"func", "analysis", "command", "argv"})


def provenance(args: argparse.Namespace) -> dict[str, Any]:
    """What made an output file: the trajml version, the command as typed, and every parameter.

    ``parameters`` holds every parsed option, defaults included, so a file can be remade (or
    compared) without the shell history; the one place output files take their provenance from.
    """
    from trajml._version import __version__

    argv = getattr(args, "argv", None)
    command = f"trajml {shlex.join(argv)}" if argv is not None else f"trajml {getattr(args, 'command', '')}".strip()
    params = {k: v for k, v in sorted(vars(args).items())
              if k not in _NOT_PARAMETERS and not k.startswith("_") and not callable(v) and not isinstance(v, type)}
    # Round-trip through JSON so paths and tuples become plain strings and lists.
    return {"version": __version__, "command": command,
            "parameters": json.loads(json.dumps(params, default=str))}


def provenance_comment(args: argparse.Namespace) -> str:
    """:func:`provenance` as one CSV comment line, ``# trajml VERSION; command: ...; parameters: {JSON}``."""
    p = provenance(args)
    line = f"# trajml {p['version']}; command: {p['command']}; parameters: {json.dumps(p['parameters'])}"
    return " ".join(line.splitlines())  # one line whatever a path holds


def write_csv(path: str | None, columns: dict[str, np.ndarray], args: argparse.Namespace | None = None) -> None:
    """Write columns as CSV to ``path``, or to stdout when None or "-".

    A file starts with one ``#`` comment line of :func:`provenance` (when ``args`` are given),
    then the column names, then the rows; standard output gets the names and rows only, for
    piping into other tools.
    """
    names = list(columns)
    data = np.column_stack([np.asarray(columns[k], dtype=np.float64) for k in names])
    ints = [np.issubdtype(np.asarray(columns[k]).dtype, np.integer) for k in names]
    fmt = ["%d" if i else "%.12g" for i in ints]
    if path in (None, "-"):
        np.savetxt(sys.stdout, data, fmt=fmt, delimiter=",", header=",".join(names), comments="")
        return
    with atomic_write(path, "w") as fh:
        if args is not None:
            fh.write(provenance_comment(args) + "\n")
        np.savetxt(fh, data, fmt=fmt, delimiter=",", header=",".join(names), comments="")


def add_npz_provenance(path: str, args: argparse.Namespace) -> None:
    """Add a ``provenance`` entry (:func:`provenance` as JSON) to an ``.npz`` a library writer made.

    For model files, whose writers know nothing of the command line: the file is read whole and
    rewritten atomically; readers of the model format ignore the extra entry.
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    if "provenance" not in arrays:
        arrays["provenance"] = np.array(json.dumps(provenance(args)))
        atomic_savez(path, arrays, what="model file")


def with_provenance(value: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """``value`` with a ``"trajml"`` key of :func:`provenance` first (an existing key is kept)."""
    return value if "trajml" in value else {"trajml": provenance(args), **value}


def write_json(path: str | None, text: str, args: argparse.Namespace | None = None) -> Any:
    """Write JSON ``text`` to ``path`` (stdout when None or "-").

    A file written with ``args`` gets a ``"trajml"`` key of :func:`provenance`
    (version, command, parameters); standard output gets ``text`` as it is.

    Returns
    -------
    file object
        Where a human-readable summary should go: stdout when the JSON went to a
        file, stderr when it went to stdout (so the JSON stays parseable).
    """
    if path in (None, "-"):
        print(text)
        return sys.stderr
    if args is not None:
        value = json.loads(text)
        if isinstance(value, dict):
            text = json.dumps(with_provenance(value, args), indent=2)
    atomic_write_text(path, text + "\n")
    return sys.stdout


#: Figure metadata keys each format accepts for (the program, the provenance JSON).
_PLOT_KEYS = {".png": ("Software", "Description"), ".pdf": ("Creator", "Subject"), ".svg": ("Creator", "Description")}


def check_plot_path(path: str | None) -> None:
    """Refuse a ``--plot`` file whose extension Matplotlib cannot write, naming the flag and the file."""
    if not path:
        return
    from matplotlib.backend_bases import FigureCanvasBase

    ext = os.path.splitext(path)[1].lower().lstrip(".")
    formats = FigureCanvasBase.get_supported_filetypes()
    if ext and ext not in formats:  # no extension: Matplotlib's default format, as before
        raise ValueError(f"argument --plot: '{path}' must end in an image format Matplotlib writes "
                         f"({', '.join('.' + f for f in sorted(formats))}); got .{ext}.")


def save_plot(fig: Any, path: str, args: argparse.Namespace | None = None) -> None:
    """Save a figure (PNG, PDF, SVG by extension); with ``args``, its metadata holds :func:`provenance`."""
    metadata = None
    keys = _PLOT_KEYS.get(os.path.splitext(path)[1].lower())
    if args is not None and keys:
        p = provenance(args)
        metadata = {keys[0]: f"trajml {p['version']}", keys[1]: json.dumps(p)}
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    # written beside and renamed over the destination, as every other output: a killed run or a full
    # disk never leaves a truncated figure in place of the previous one
    with atomic_write(path, "wb", what="plot file") as fh:
        fig.savefig(fh, dpi=150, metadata=metadata, format=ext or None)


def warn_results(*results: Any) -> None:
    """Raise each result's ``warnings`` as Python warnings.

    The command line shows every warning once on standard error (``trajml transport: warning: ...``),
    so the caveats of a number are printed beside it rather than only stored in the JSON.
    """
    import warnings

    for res in results:
        for text in getattr(res, "warnings", ()):
            warnings.warn(text, UserWarning, stacklevel=2)


def _use_agg() -> None:
    """Render off-screen: the CLI only writes files."""
    from trajml.plotting import use_offscreen_backend

    use_offscreen_backend()
