"""``trajml coordination``: distribution of coordination numbers within a first-shell cut-off."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trajml.cli._common import (
    _use_agg,
    add_input_arguments,
    add_run_arguments,
    open_from_args,
    run_options,
    save_plot,
    write_csv,
)
from trajml.cli._options import add_parameters, parameters_from_args

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``coordination`` sub-command."""
    from trajml.features import Coordination

    p = subparsers.add_parser(
        "coordination",
        help="distribution of coordination numbers (e.g. ether O around Li+) within a cut-off",
        description="Count the ligand atoms (--select-b) within a cut-off of every centre atom (--select-a) in "
        "every frame and write their distribution as a CSV with columns count and probability; print the mean "
        "and the cut-off with its origin. Without --cutoff, the cut-off is the first minimum of the "
        "centre-ligand g(r) from a first pass over up to --cutoff-frames frames (the same bins as `trajml rdf`, "
        "so both print the same first minimum). Without TOP/TRAJ it analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    add_parameters(p.add_argument_group("analysis"), Coordination, skip=("keep_per_frame",))
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="CSV", help="CSV file to write (default: stdout)")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save a bar chart of the distribution")
    p.set_defaults(func=run, analysis=Coordination)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml coordination``."""
    from trajml.features import Coordination

    featurizer = Coordination(**parameters_from_args(args, Coordination, skip=("keep_per_frame",)))
    res = featurizer.run(open_from_args(args), **run_options(args))
    write_csv(args.output, {"count": res.count, "probability": res.probability}, args)
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_coordination

        save_plot(plot_coordination(res), args.plot, args)
    report = sys.stdout if args.output not in (None, "-") else sys.stderr
    print(f"cutoff: {res.provenance['first_shell']['cutoff']}", file=report)
    print(f"mean coordination number: {res.mean:.6g} (std {res.std:.4g}) over {res.n_frames} frames x "
          f"{res.n_centers} centres", file=report)
    return 0
