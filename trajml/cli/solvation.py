"""``trajml solvation``: Li+ first-shell composition, ion-pair speciation and chains per shell."""

from __future__ import annotations

import argparse
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
    write_json,
)

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``solvation`` sub-command."""
    p = subparsers.add_parser(
        "solvation",
        help="Li+ first-shell composition, speciation (free/CIP/AGG) and chains per shell",
        description="Analyse the first solvation shell of every Li+: polymer O and anions within their "
        "cut-offs, the speciation (free or solvent-separated: no anion; CIP: one anion, bound to no other "
        "Li+; AGG: otherwise) and the number of distinct chains per shell. Cut-offs not given are the first "
        "minima of the Li-O and Li-anion g(r). Writes JSON (every distribution, mean, fraction and units). "
        "Without TOP/TRAJ it analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    a = p.add_argument_group("analysis")
    a.add_argument("--li", default="name Li", metavar="SEL", help="Li+ atoms (default: 'name Li')")
    a.add_argument("--polymer-o", default="name O", metavar="SEL", help="polymer O atoms (default: 'name O')")
    a.add_argument("--anion", default="name TFSI", metavar="SEL",
                   help="one site per anion (default: 'name TFSI')")
    a.add_argument("--cutoff-o", type=positive_float, default=None, help="Li-O shell cut-off in Å")
    a.add_argument("--cutoff-anion", type=positive_float, default=None, help="Li-anion shell cut-off in Å")
    a.add_argument("--r-max", type=positive_float, default=12.0,
                   help="range of the first-pass g(r) in Å (default: 12)")
    a.add_argument("--bins", type=positive_int, default=240, help="bins of the first-pass g(r) (default: 240)")
    a.add_argument("--cutoff-frames", type=positive_int, default=200,
                   help="frames sampled by the first pass (default: 200)")
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="JSON", help="JSON file to write (default: stdout)")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save speciation and composition bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml solvation``."""
    from trajml.features import Solvation
    from trajml.parallel import run as run_featurizer

    featurizer = Solvation(args.li, args.polymer_o, args.anion, cutoff_o=args.cutoff_o,
                           cutoff_anion=args.cutoff_anion, r_max=args.r_max, n_bins=args.bins,
                           cutoff_frames=args.cutoff_frames, device=args.device)
    source = open_from_args(args)
    res = run_featurizer(featurizer, source, **run_options(args))
    report = write_json(args.output, res.to_json(indent=2))
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_solvation

        save_plot(plot_solvation(res), args.plot)
    print(f"cutoffs: O {res.cutoff_o:.4g} Å ({res.cutoff_sources['cutoff_o']}), anion {res.cutoff_anion:.4g} Å "
          f"({res.cutoff_sources['cutoff_anion']})", file=report)
    print(f"speciation: free {res.fraction_free:.4f}, CIP {res.fraction_cip:.4f}, AGG {res.fraction_agg:.4f}; "
          f"mean O {res.mean_n_o:.3f}, anions {res.mean_n_anion:.3f}, chains {res.mean_n_chains:.3f} per Li+",
          file=report)
    return 0
