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
    positive_float,
    positive_int,
    run_options,
    save_plot,
    write_csv,
)

__all__ = ["register", "run"]

def register(subparsers: Any) -> None:
    """Add the ``rdf`` sub-command."""
    p = subparsers.add_parser(
        "rdf",
        help="radial distribution function g(r) and running coordination number n(r)",
        description="Compute g(r) between two selections under periodic boundaries, normalised exactly per "
        "frame (Σ_t N_pairs/V_t, right under NPT), and the running coordination number n(r). Writes a CSV "
        "with columns r (bin centres, Å), g and n (mean number of B atoms within each bin's outer edge of an "
        "A atom). Without TOP/TRAJ it analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    a = p.add_argument_group("analysis")
    a.add_argument("--sel-a", required=True, metavar="SEL", help="selection A, MDAnalysis syntax (e.g. 'name Li')")
    a.add_argument("--sel-b", default=None, metavar="SEL", help="selection B (default: the same as A)")
    a.add_argument("--r-max", type=positive_float, default=15.0,
                   help="outer edge of the last bin in Å, at most half the box width (default: 15)")
    a.add_argument("--r-min", type=float, default=0.0, help="inner edge of the first bin in Å (default: 0)")
    a.add_argument("--bins", type=positive_int, default=150, help="number of bins (default: 150)")
    a.add_argument("--exclude", choices=("self", "molecule", "none"), default="self",
                   help="pairs left out: an atom with itself (default), the same molecule, or none")
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="CSV", help="CSV file to write (default: stdout)")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save a plot of g(r) and n(r)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml rdf``."""
    from trajml.features import RDF
    from trajml.parallel import run as run_featurizer

    exclude = None if args.exclude == "none" else args.exclude
    featurizer = RDF(args.sel_a, args.sel_b, r_max=args.r_max, n_bins=args.bins, r_min=args.r_min,
                     exclude=exclude, device=args.device)
    source = open_from_args(args)
    res = run_featurizer(featurizer, source, **run_options(args))
    write_csv(args.output, {"r": res.r, "g": res.g, "n": res.n})
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_rdf

        save_plot(plot_rdf(res), args.plot)
    report = sys.stdout if args.output not in (None, "-") else sys.stderr
    print(f"frames: {res.n_frames}, |A| = {res.n_a}, |B| = {res.n_b}, exclude = {res.exclude}", file=report)
    print(f"first peak: r = {res.first_peak_r:.4g} Å, g = {res.first_peak_g:.4g}; first minimum: "
          f"r = {res.first_min_r:.4g} Å; coordination number n(r_min) = {res.coordination_number:.4g}", file=report)
    return 0
