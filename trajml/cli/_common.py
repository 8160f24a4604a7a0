"""Arguments shared by the sub-commands."""

from __future__ import annotations

import argparse
from typing import Any


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
