"""``trajml shells``: cation solvation shells with any number of species (solvents, anions, additives)."""

from __future__ import annotations

import argparse
from typing import Any

from trajml.cli._common import add_input_arguments, add_run_arguments, open_from_args, run_options, write_json
from trajml.cli._options import add_parameters, parameters_from_args

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``shells`` sub-command."""
    from trajml.features import SolvationShells

    p = subparsers.add_parser(
        "shells",
        help="cation shells with any number of species: compositions, coordination, speciation, chains",
        description="Analyse the first solvation shell of every cation with any number of named species, "
        "each a selection counting atoms or RULE:SEL counting molecules once (e.g. --species "
        "bn='any:resname BN' pf6='any:resname PF6' fec='any:resname FEC'). Each species has its own "
        "cut-off (--cutoffs NAME=Å, else its g(r)'s first minimum). Writes JSON: the shell compositions "
        "and their populations, mean coordination and pairing per species, speciation (free/SSIP, CIP, "
        "AGG per cation over the --anions species) and chains per shell (--chains). Without TOP/TRAJ it "
        "analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    add_parameters(p.add_argument_group("analysis"), SolvationShells, skip=("keep_per_frame",))
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="JSON", help="JSON file to write (default: stdout)")
    p.set_defaults(func=run, analysis=SolvationShells)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml shells``."""
    from trajml.features import SolvationShells

    featurizer = SolvationShells(**parameters_from_args(args, SolvationShells, skip=("keep_per_frame",)))
    res = featurizer.run(open_from_args(args), **run_options(args))
    report = write_json(args.output, res.to_json(indent=2), args)
    for name, text in res.provenance["first_shell"].items():
        print(f"cutoff {name}: {text}", file=report)
    coordination = ", ".join(f"{k} {v:.3f}" for k, v in res.coordination().items())
    print(f"mean per cation: {coordination}", file=report)
    print(f"speciation ({'+'.join(res.anions)}): free {res.fraction_free:.4f}, CIP {res.fraction_cip:.4f}, "
          f"AGG {res.fraction_agg:.4f}", file=report)
    return 0
