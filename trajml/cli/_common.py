"""Arguments shared by the sub-commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from trajml._files import atomic_write, atomic_write_text


def add_input_arguments(parser: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """Add TOP and TRAJ positionals plus the reading options every analysis takes."""
    nargs = "?" if optional else None
    default_note = " (default: the bundled sample SPE)" if optional else ""
    parser.add_argument("topology", metavar="TOP", nargs=nargs,
                        help=f"topology file (PSF, PDB, GRO, TPR, LAMMPS data, ...){default_note}")
    parser.add_argument("trajectories", metavar="TRAJ", nargs="*" if optional else "+",
                        help="trajectory file(s); several files are read as consecutive parts of one run")
    parser.add_argument("--backend", choices=("mdanalysis", "mdtraj"), default="mdanalysis",
                        help="library that reads coordinates (default: mdanalysis)")
    parser.add_argument("--format", default=None, help="MDAnalysis trajectory format, when the extension misleads")
    parser.add_argument("--topology-format", default=None, help="MDAnalysis topology format")
    parser.add_argument("--type-map", nargs="*", default=None, metavar="TYPE=NAME",
                        help="LAMMPS numeric types to names, e.g. 1=C 2=O 3=Li 4=TFSI")
    parser.add_argument("--on-damage", choices=("raise", "truncate"), default="raise",
                        help="truncated/corrupt trajectory: fail (default) or keep the frames before the damage")


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


def open_from_args(args: Any) -> Any:
    """Open the Source the input arguments describe (the bundled sample when TOP is omitted)."""
    from trajml.io import open_source

    topology, trajectories = args.topology, list(args.trajectories or [])
    if topology is None:
        from trajml.data import sample_topology, sample_trajectory

        topology, trajectories = sample_topology(), [sample_trajectory()]
    return open_source(topology, trajectories or None, backend=args.backend, format=args.format,
                       topology_format=args.topology_format, type_map=parse_type_map(args.type_map),
                       on_damage=args.on_damage)


def _number(convert: Callable[[str], Any], minimum: float, strict: bool, requirement: str, doc: str) -> Callable[[str], Any]:
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
positive_temperature = _number(float, 0.0, True, "a temperature > 0 K", "a finite temperature > 0 in K")


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


def write_csv(path: str | None, columns: dict[str, np.ndarray]) -> None:
    """Write columns as CSV (a header line, then rows) to ``path``, or to stdout when None or "-"."""
    names = list(columns)
    data = np.column_stack([np.asarray(columns[k], dtype=np.float64) for k in names])
    ints = [np.issubdtype(np.asarray(columns[k]).dtype, np.integer) for k in names]
    fmt = ["%d" if i else "%.12g" for i in ints]
    if path in (None, "-"):
        np.savetxt(sys.stdout, data, fmt=fmt, delimiter=",", header=",".join(names), comments="")
        return
    with atomic_write(path, "w") as fh:
        np.savetxt(fh, data, fmt=fmt, delimiter=",", header=",".join(names), comments="")


def write_json(path: str | None, text: str) -> Any:
    """Write JSON ``text`` to ``path`` (stdout when None or "-").

    Returns
    -------
    file object
        Where a human-readable summary should go: stdout when the JSON went to a
        file, stderr when it went to stdout (so the JSON stays parseable).
    """
    if path in (None, "-"):
        print(text)
        return sys.stderr
    atomic_write_text(path, text + "\n")
    return sys.stdout


def save_plot(fig: Any, path: str) -> None:
    """Save a figure (PNG, PDF, SVG by extension)."""
    try:
        fig.savefig(path, dpi=150)
    except OSError as exc:
        raise OSError(f"Cannot write the plot file '{path}': {exc.strerror or exc}.") from None


def _use_agg() -> None:
    """Render off-screen: the CLI only writes files."""
    from trajml.plotting import use_offscreen_backend

    use_offscreen_backend()
