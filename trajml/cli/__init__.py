"""The ``trajml`` command line: one sub-command per module in this package."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["main", "build_parser", "command_parsers"]

# Sub-command modules; each defines register(subparsers) and a run(args) -> int set as `func`.
COMMANDS = ("info", "simulate", "rdf", "coordination", "solvation", "shells", "msd", "residence", "transport", "msm",
            "fes", "extrapolate", "run")


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


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its full name (``"rdf"``, ``"extrapolate train"``), in parser order.

    The docs' CLI reference and the vocabulary contract read the commands from here.
    """
    out: dict[str, argparse.ArgumentParser] = {}

    def walk(name: str, parser: argparse.ArgumentParser) -> None:
        if name:
            out[name] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(f"{name} {sub_name}".strip(), sub)

    walk("", build_parser())
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trajml`` command; returns the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``trajml``; default ``sys.argv[1:]``.
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # the command as typed, for the provenance every output file carries
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    from trajml.errors import TrajmlError

    try:
        with reported_warnings(f"trajml {args.command}"):
            return int(args.func(args) or 0)
    except (OSError, ValueError, TypeError, ImportError, TrajmlError) as exc:
        # Errors trajml raises on bad input already name the file, frame or parameter; a parameter is
        # named by its flag here (--r-min), not by its Python name. TrajmlError: those of other builtin
        # kinds too (a locked outputs folder is a RuntimeError).
        from trajml.cli._options import render_error

        if isinstance(exc, TypeError) and not isinstance(exc, TrajmlError):
            raise
        print(f"trajml {args.command}: error: {render_error(exc, getattr(args, 'analysis', None))}", file=sys.stderr)
        return 1


# Libraries whose warnings reach the command line, by a folder of their installed path.
_LIBRARIES = {"MDAnalysis": "MDAnalysis", "numpy": "numpy", "scipy": "SciPy", "mdtraj": "mdtraj", "dask": "Dask",
              "distributed": "Dask", "sklearn": "scikit-learn", "matplotlib": "Matplotlib", "numba": "Numba",
              "torch": "PyTorch", "pandas": "pandas", "networkx": "NetworkX", "deeptime": "deeptime"}
_TRAJML = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _library(filename: str) -> str | None:
    parts = os.path.abspath(filename).split(os.sep)
    for name in reversed(parts[:-1]):
        if name in _LIBRARIES:
            return _LIBRARIES[name]
    return None


def warning_line(message: Warning | str, category: type, filename: str) -> str:
    """One line for a warning, in trajml's words: what it is, who said it, and the fix in flags.

    trajml's own warnings are shown as they are (a reader warning with its command-line wording);
    a library's deprecation notice is marked as not about the user's input; a numerical warning
    (NumPy's ``invalid value encountered in divide``) says where it happened and what it means.
    """
    text = getattr(message, "cli_message", None) or str(message)
    text = " ".join(text.split()) if "\n" not in text.strip() else text.strip().splitlines()[0].strip()
    library = _library(filename)
    ours = os.path.abspath(filename).startswith(_TRAJML + os.sep) and library is None
    if issubclass(category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)) and not ours:
        return f"note: {library or 'a library'} announces a change of its own interface (nothing to fix in your " \
               f"input): {text}"
    if issubclass(category, RuntimeWarning) and ("encountered" in text or "divide" in text or "overflow" in text):
        where = os.path.relpath(filename, os.path.dirname(_TRAJML)) if ours else (library or filename)
        return f"warning: a numerical step in {where} met {text.rstrip('.')}; some values may be NaN or infinite."
    if library is not None:
        return f"note: {library} says: {text}"
    return f"warning: {text}"


@contextmanager
def reported_warnings(prog: str, stream: Any = None) -> Iterator[None]:
    """Show every warning raised inside once, as one line on standard error (``trajml msd: warning: ...``)."""
    seen: set[str] = set()
    out = stream if stream is not None else sys.stderr

    def show(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        text = f"{prog}: {warning_line(message, category, filename)}"
        if text not in seen:
            seen.add(text)
            print(text, file=out)

    with warnings.catch_warnings():
        warnings.simplefilter("always")  # deduplicated above, by text
        warnings.showwarning = show
        yield


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
