"""``trajml rdf``: radial distribution function g(r) and running coordination number n(r)."""

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
    """Add the ``rdf`` sub-command."""
    from trajml.features import RDF

    p = subparsers.add_parser(
        "rdf",
        help="radial distribution function g(r) and running coordination number n(r)",
        description="Compute g(r) between two selections under periodic boundaries, normalised exactly per "
        "frame (Σ_t N_pairs/V_t, right under NPT), and the running coordination number n(r). Writes a CSV "
        "with columns r (bin centres, Å), g and n (mean number of B atoms within each bin's outer edge of an "
        "A atom). Without TOP/TRAJ it analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    add_parameters(p.add_argument_group("analysis"), RDF)
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="CSV", help="CSV file to write (default: stdout)")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save a plot of g(r) and n(r)")
    p.set_defaults(func=run, analysis=RDF)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml rdf``."""
    from trajml.features import RDF

    featurizer = RDF(**parameters_from_args(args, RDF))
    res = featurizer.run(open_from_args(args), **run_options(args))
    write_csv(args.output, {"r": res.r, "g": res.g, "n": res.n}, args)
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_rdf

        save_plot(plot_rdf(res), args.plot, args)
    report = sys.stdout if args.output not in (None, "-") else sys.stderr
    print(f"frames: {res.n_frames}, |A| = {res.n_a}, |B| = {res.n_b}, exclude = {res.exclude}", file=report)
    print(f"first peak: r = {res.first_peak_r:.4g} Å, g = {res.first_peak_g:.4g}; first minimum: "
          f"r = {res.first_min_r:.4g} Å; coordination number n(r_min) = {res.coordination_number:.4g}", file=report)
    return 0
