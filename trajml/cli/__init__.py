"""The ``trajml`` command line: one sub-command per module in this package."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]

# Sub-command modules; each defines register(subparsers) and a run(args) -> int set as `func`.
COMMANDS = ("info", "simulate", "rdf", "coordination", "solvation", "msd", "residence", "transport", "msm", "fes",
            "extrapolate", "run")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    from trajml._version import __version__

    parser = argparse.ArgumentParser(
        prog="trajml",
        description="Structure, transport and kinetics from MD trajectories of solid polymer electrolytes. "
        "Lengths in Å, times in ps, energies in kJ/mol.",
    )
    parser.add_argument("--version", action="version", version=f"trajml {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"trajml.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trajml`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (OSError, ValueError, TypeError, ImportError) as exc:
        # Errors trajml raises on bad input already name the file, frame or parameter; a parameter is
        # named by its flag here (--r-min), not by its Python name.
        from trajml.cli._options import render_error
        from trajml.errors import TrajmlError

        if isinstance(exc, TypeError) and not isinstance(exc, TrajmlError):
            raise
        print(f"trajml {args.command}: error: {render_error(exc, getattr(args, 'analysis', None))}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
