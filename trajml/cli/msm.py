"""``trajml msm``: kinetic states of target atoms (TICA → MSM by default, GraphVAMPNet or MLP VAMPNet)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trajml.cli._common import (
    add_input_arguments,
    add_npz_provenance,
    add_run_arguments,
    open_from_args,
    provenance,
    run_options,
)
from trajml.cli._options import add_parameters, parameters_from_args

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``msm`` sub-command."""
    from trajml.workflows.kinetics import KineticWorkflow

    p = subparsers.add_parser(
        "msm",
        help="kinetic (Markov) states of target atoms: TICA -> k-means -> MSM (default), GraphVAMPNet or MLP VAMPNet",
        description="Learn M kinetic states of every target atom (default: every Li+) and validate them: "
        "implied timescales against the lag with bootstrap intervals over target atoms, a Chapman-Kolmogorov "
        "test, stationary populations, and per-state first-shell composition, net shell charge, RDFs and "
        "representative frames, with plain-language diagnostics (timescales not converged in the lag or not "
        "longer than it, states with the same shell, a failed CK test, truncated graphs). The default, --model "
        "tica, clusters TICA projections of shell counts by species at a few radii (seconds); --model graph "
        "trains a graph-convolutional VAMPNet on the periodic neighbour graphs of all atoms (GDyNet; minutes to "
        "hours, and it warns when --epochs are too few); mlp trains a VAMPNet on the shell counts. Writes "
        "timescales.json (lag in ps -> timescales in ps), populations.json, ck_test.json, states.json, "
        "diagnostics.json, PNG plots and model.npz into DIR. Without TOP/TRAJ it analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    add_parameters(p.add_argument_group("model, validation and interpretation"), KineticWorkflow)
    p.add_argument("--hard-states", dest="interpret", action="store_const", const="hard",
                   help=argparse.SUPPRESS)  # former spelling of --interpret hard
    add_run_arguments(p, skip=("traj_ids", "scheduler", "n_workers"))
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for the results")
    o.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=run, analysis=KineticWorkflow)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml msm``."""
    from trajml.workflows.kinetics import KineticWorkflow

    workflow = KineticWorkflow(**parameters_from_args(args, KineticWorkflow))
    options = {k: v for k, v in run_options(args).items() if k in ("start", "stop", "step", "chunk_size", "progress")}
    options["chunk_size"] = options.get("chunk_size") or 100
    result = workflow.run(open_from_args(args), **options)
    files = result.write(args.output, plots=not args.no_plots, provenance=provenance(args))
    for path in files:
        if path.endswith(".npz"):
            add_npz_provenance(path, args)
    print(result.summary())
    print(f"wrote {len(files)} files to {args.output}", file=sys.stderr)
    return 0
