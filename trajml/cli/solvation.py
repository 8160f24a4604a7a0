"""``trajml solvation``: Li⁺ first-shell composition, ion-pair speciation and chains per shell."""

from __future__ import annotations

import argparse
from typing import Any

from trajml.cli._common import (
    _use_agg,
    add_input_arguments,
    add_run_arguments,
    open_from_args,
    run_options,
    save_plot,
    write_json,
)
from trajml.cli._options import add_parameters, parameters_from_args

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``solvation`` sub-command."""
    from trajml.features import Solvation

    p = subparsers.add_parser(
        "solvation",
        help="Li+ first-shell composition, speciation (free/CIP/AGG) and chains per shell",
        description="Analyse the first solvation shell of every Li+: polymer O and anions within their "
        "cut-offs, the speciation (free or solvent-separated: no anion; CIP: one anion, bound to no other "
        "Li+; AGG: otherwise) and the number of distinct chains per shell. Cut-offs not given are the first "
        "minima of the Li-O and Li-anion g(r). Writes JSON (every distribution, mean, fraction and units; "
        "keys are the Python attribute names). Without TOP/TRAJ it analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    add_parameters(p.add_argument_group("analysis"), Solvation, skip=("keep_per_frame",))
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="JSON", help="JSON file to write (default: stdout)")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save speciation and composition bars")
    p.set_defaults(func=run, analysis=Solvation)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml solvation``."""
    from trajml.features import Solvation

    featurizer = Solvation(**parameters_from_args(args, Solvation, skip=("keep_per_frame",)))
    res = featurizer.run(open_from_args(args), **run_options(args))
    report = write_json(args.output, res.to_json(indent=2), args)
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_solvation

        save_plot(plot_solvation(res), args.plot, args)
    shells = res.provenance["first_shell"]
    print(f"cutoffs: O {shells['cutoff_o']}; anion {shells['cutoff_anion']}", file=report)
    print(f"speciation: free {res.fraction_free:.4f}, CIP {res.fraction_cip:.4f}, AGG {res.fraction_agg:.4f}; "
          f"mean O {res.mean_n_o:.3f}, anions {res.mean_n_anion:.3f}, chains {res.mean_n_chains:.3f} per Li+",
          file=report)
    return 0
