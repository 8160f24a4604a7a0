"""``trajml coordination``: distribution of coordination numbers within a cut-off."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trajml.cli._common import (
    _use_agg,
    add_input_arguments,
    add_run_arguments,
    open_from_args,
    positive_float,
    positive_int,
    run_options,
    save_plot,
    write_csv,
)

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``coordination`` sub-command."""
    p = subparsers.add_parser(
        "coordination",
        help="distribution of coordination numbers (e.g. ether O around Li+) within a cut-off",
        description="Count the ligand atoms within a cut-off of every centre atom in every frame and write "
        "their distribution as a CSV with columns count and probability; print the mean and the cut-off. "
        "Without --cutoff, the cut-off is the first minimum of the centre-ligand g(r) from a first pass over "
        "up to --cutoff-frames frames. Without TOP/TRAJ it analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    a = p.add_argument_group("analysis")
    a.add_argument("--center", required=True, metavar="SEL", help="centre atoms, MDAnalysis syntax (e.g. 'name Li')")
    a.add_argument("--ligand", required=True, metavar="SEL", help="ligand atoms (e.g. 'name O')")
    a.add_argument("--cutoff", type=positive_float, default=None,
                   help="cut-off in Å (default: first minimum of g(r))")
    a.add_argument("--r-max", type=positive_float, default=12.0,
                   help="range of the first-pass g(r) in Å (default: 12)")
    a.add_argument("--bins", type=positive_int, default=240, help="bins of the first-pass g(r) (default: 240)")
    a.add_argument("--cutoff-frames", type=positive_int, default=200,
                   help="frames sampled by the first pass (default: 200)")
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="CSV", help="CSV file to write (default: stdout)")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save a bar chart of the distribution")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml coordination``."""
    from trajml.features import Coordination
    from trajml.parallel import run as run_featurizer

    featurizer = Coordination(args.center, args.ligand, cutoff=args.cutoff, r_max=args.r_max, n_bins=args.bins,
                              cutoff_frames=args.cutoff_frames, device=args.device)
    source = open_from_args(args)
    res = run_featurizer(featurizer, source, **run_options(args))
    write_csv(args.output, {"count": res.count, "probability": res.probability})
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_coordination

        save_plot(plot_coordination(res), args.plot)
    report = sys.stdout if args.output not in (None, "-") else sys.stderr
    print(f"cutoff: {res.cutoff:.6g} Å ({res.cutoff_source})", file=report)
    print(f"mean coordination number: {res.mean:.6g} (std {res.std:.4g}) over {res.n_frames} frames x "
          f"{res.n_centers} centres", file=report)
    return 0
