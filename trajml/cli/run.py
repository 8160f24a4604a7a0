"""``trajml run``: run a declarative batch pipeline (YAML) over many simulations on Dask."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from trajml.cli._common import print_notes
from trajml.cli._options import add_parameters
from trajml.parallel.options import RUN_OPTIONS
from trajml.pipelines.run_options import RUN_PIPELINE_OPTIONS

__all__ = ["register", "run", "PIPELINE_OPTIONS"]

#: The run options of a pipeline: the engine's, with a LocalCluster by default (units in parallel).
PIPELINE_OPTIONS = {
    "scheduler": RUN_OPTIONS["scheduler"].replace(
        default=None, help="local (a LocalCluster), threads, processes, serial, or a dask scheduler address "
        "such as tcp://host:8786", none_help="the pipeline's scheduler_file or cluster, else local"),
    "n_workers": RUN_OPTIONS["n_workers"],
    # On by default: a bar per stage on a terminal, timestamped lines in a batch job's log.
    "progress": RUN_OPTIONS["progress"].replace(help="show progress (--no-progress: none)",
                                                none_help="bars on a terminal, timestamped lines otherwise"),
    # Where units run besides --scheduler, the per-unit time limit and the stored arrays' precision (also
    # top-level keys of the YAML).
    **RUN_PIPELINE_OPTIONS,
}


def register(subparsers: Any) -> None:
    """Add the ``run`` sub-command."""
    p = subparsers.add_parser(
        "run",
        help="run a batch pipeline (YAML) over many simulations, resumably, and write an HTML report",
        description="Validate PIPELINE (a YAML file, or the name of a bundled pipeline such as 'spe_demo'), then "
        "run each (system × stage) unit that is not in the results store yet, in parallel on Dask, and write "
        "OUTPUTS/report/index.html. Finished units are stored atomically, so a killed run loses only the "
        "units in flight: run it again (or with --resume) to finish. A failed unit (e.g. a corrupt "
        "trajectory) is reported with its reason; every other system still finishes. Exit code 0 when "
        "every unit finished, 1 when some failed.",
    )
    p.add_argument("pipeline", metavar="PIPELINE", help="pipeline YAML file, or a bundled pipeline name (spe_demo)")
    add_parameters(p, PIPELINE_OPTIONS, owner="run_pipeline")
    p.add_argument("--resume", action="store_true",
                   help="continue the latest interrupted run under its run id (stored units are reused anyway)")
    p.add_argument("--outputs", default=None, metavar="DIR", help="output folder instead of the pipeline's 'outputs'")
    p.add_argument("--check", action="store_true", help="only validate the pipeline and list its units")
    p.set_defaults(func=run)


def _resolve(name: str) -> str:
    from trajml.pipelines import BUNDLED_PIPELINES, bundled_pipeline

    if os.path.isfile(name) or name not in BUNDLED_PIPELINES:
        return name
    return bundled_pipeline(name)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml run``."""
    from trajml.pipelines import load_pipeline, run_pipeline

    spec = load_pipeline(_resolve(args.pipeline))
    for note in spec.notes:
        print(f"trajml run: note: {note}", file=sys.stderr)
    if args.check:
        print(f"{spec.path}: valid; {len(spec.systems)} systems × {len(spec.stages)} stages = "
              f"{len(spec.systems) * len(spec.stages)} units")
        for s in spec.systems:
            print(f"  {s.name}: {os.path.basename(s.topology)} + {len(s.trajectories)} trajectory file(s)")
        return 0
    summary = run_pipeline(spec, scheduler=args.scheduler, n_workers=args.n_workers, resume=args.resume,
                           progress=args.progress is not False, outputs=args.outputs,
                           scheduler_file=args.scheduler_file, cluster=args.cluster, unit_timeout=args.unit_timeout,
                           store_precision=args.store_precision)
    print_notes("trajml run", summary.notes)
    print(summary.text())
    print(f"Report: {summary.report}")
    print(f"Summary: {os.path.join(summary.outputs, 'summary.json')}")
    sys.stdout.flush()
    return 1 if summary.failures else 0
