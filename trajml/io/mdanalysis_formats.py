"""Files and formats MDAnalysis can open: existence and format checks, open errors that name the file.

:func:`_check_formats` refuses a file before MDAnalysis would guess (or silently fall back to a
minimal topology); :func:`_raise_open_error` rephrases what ``MDAnalysis.Universe`` raised so the
message names the file, and recognises topology/trajectory atom-count mismatches.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

from trajml.errors import AtomCountMismatchError, CorruptTrajectoryError, UnknownFormatError

__all__: list[str] = []


def _mda() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import MDAnalysis

    return MDAnalysis


def _check_exists(path: str, role: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{role} file '{path}' does not exist.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{role} file '{path}' is a directory, not a file.")


def _format_names(registry: Mapping[str, Any]) -> str:
    return ", ".join(sorted(registry))


def _check_formats(topology: str, trajectory: str | None, topology_format: str | None, fmt: str | None) -> None:
    """Raise :class:`UnknownFormatError` naming the file when MDAnalysis has no reader or parser for it."""
    from MDAnalysis.core._get_readers import get_parser_for, get_reader_for

    from trajml._fixes import cli_text, with_cli_text

    mda = _mda()
    if trajectory is not None:
        try:
            get_reader_for(trajectory, format=fmt)
        except (ValueError, TypeError):
            given = f"format {fmt!r}" if fmt else f"extension '{os.path.splitext(trajectory)[1]}'"
            python, cli = cli_text(f"Trajectory '{trajectory}' has a format trajml cannot read ({given}). "
                                   f"Readable formats: {_format_names(mda._READERS)}. "
                                   "Give the format ({format}, or another) if the extension is misleading. "
                                   "Ab-initio formats (VASP XDATCAR, extended XYZ, ASE .traj, ...) "
                                   "read with {backend}.",
                                   format="XTC", backend="ase")
            raise with_cli_text(UnknownFormatError(python), cli) from None
    if isinstance(topology_format, str) and topology_format.upper() not in mda._PARSERS:
        # MDAnalysis would silently fall back to a minimal topology read with another reader.
        python, cli = cli_text(f"Topology '{topology}': unknown topology format ({{topology_format}}). "
                               f"Readable topology formats: {_format_names(mda._PARSERS)}.",
                               topology_format=topology_format)
        raise with_cli_text(UnknownFormatError(python), cli)
    try:
        get_parser_for(topology, format=topology_format)
    except (ValueError, TypeError):
        python, cli = cli_text(f"Topology '{topology}' has a format trajml cannot read (extension "
                               f"'{os.path.splitext(topology)[1]}'). Readable topology formats: "
                               f"{_format_names(mda._PARSERS)}. Give the format ({{topology_format}}, or another) "
                               "if the extension is misleading. "
                               "Ab-initio formats (VASP XDATCAR, extended XYZ, ASE .traj, ...) "
                               "read with {backend}.", topology_format="PSF", backend="ase")
        raise with_cli_text(UnknownFormatError(python), cli) from None


def _raise_open_error(exc: Exception, topology: str, trajectory: str | None, topology_format: str | None,
                      fmt: str | None, kwargs: Mapping[str, Any]) -> None:
    """Rephrase an exception from ``MDAnalysis.Universe`` so it names the file; always raises."""
    msg = f"{type(exc).__name__}: {exc}"
    if trajectory is not None and trajectory != topology and isinstance(exc, (ValueError, TypeError)):
        n_top = _count_topology_atoms(topology, topology_format, kwargs)
        n_traj = _count_trajectory_atoms(trajectory, fmt)
        if isinstance(n_top, int) and isinstance(n_traj, int) and n_top != n_traj:
            raise AtomCountMismatchError(
                f"Topology '{topology}' has {n_top} atoms but trajectory '{trajectory}' has {n_traj}."
            ) from None
    if isinstance(exc, (ValueError, TypeError, NotImplementedError)) and "topology" in str(exc).lower():
        raise ValueError(f"Could not parse topology '{topology}': {msg}") from exc
    bad = trajectory if trajectory is not None else topology
    if isinstance(exc, (TypeError,)) and "argument" in str(exc):  # e.g. a misspelt reader keyword
        raise TypeError(f"Could not open '{bad}' with options {dict(kwargs)}: {msg}") from exc
    raise CorruptTrajectoryError(
        f"Could not read trajectory '{bad}' (with topology '{topology}'): the file is damaged or not in the "
        f"format its extension says. {msg}"
    ) from exc


def _count_topology_atoms(topology: str, topology_format: str | None, kwargs: Mapping[str, Any]) -> int | str:
    from MDAnalysis.core._get_readers import get_parser_for

    try:
        parser = get_parser_for(topology, format=topology_format)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with parser(topology) as p:
                try:
                    top = p.parse(**kwargs)
                except TypeError:
                    top = p.parse()
        return int(top.n_atoms)
    except Exception:
        return "?"


def _count_trajectory_atoms(trajectory: str, fmt: str | None) -> int | str:
    from MDAnalysis.core._get_readers import get_reader_for

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = get_reader_for(trajectory, format=fmt)(trajectory)
        n = reader.n_atoms
        reader.close()
        return int(n)
    except Exception:
        return "?"
