"""Where a pipeline's units run: the caller's ``scheduler``, a scheduler file, or a batch cluster.

``run_pipeline`` resolves its ``scheduler``, ``scheduler_file`` and ``cluster`` keywords (and the
pipeline file's ``scheduler_file:`` and ``cluster:``) here into one thing the executors take: a
scheduler name, an address, or the Client of a cluster this run connects to or starts, closed
when the run ends. See :mod:`trajml.parallel.connect` and :mod:`trajml.parallel.jobqueue`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from trajml._fixes import fix_text, with_cli_text
from trajml.errors import InvalidParameterError
from trajml.pipelines.run_options import RUN_PIPELINE_OPTIONS

__all__ = ["Placement", "resolve_placement", "open_scheduler"]


@dataclass(frozen=True)
class Placement:
    """One of: a scheduler (name, address or Client), a scheduler file, or cluster settings."""

    scheduler: Any = "local"
    scheduler_file: str | None = None
    cluster: dict[str, Any] | None = None


def resolve_placement(spec: Any, scheduler: Any, scheduler_file: Any, cluster: Any) -> Placement:
    """The caller's choice if it made one (at most one of the three), else the pipeline file's, else "local".

    A scheduler file is checked here (it exists and holds an address), before any folder is touched.
    """
    from trajml.parallel.connect import read_scheduler_file
    from trajml.parallel.options import check_scheduler

    given = {k: v for k, v in (("scheduler", scheduler), ("scheduler_file", scheduler_file), ("cluster", cluster))
             if v is not None}
    if len(given) > 1:
        first, second = list(given)[:2]
        python = (f"The '{second}' parameter of run_pipeline cannot be combined with {fix_text(first, given[first])}: "
                  "give one of scheduler, scheduler_file and cluster.")
        cli = (f"argument --{second.replace('_', '-')}: cannot be combined with "
               f"{fix_text(first, given[first], cli=True)}: give one of --scheduler, --scheduler-file and --cluster.")
        raise with_cli_text(InvalidParameterError(python, parameter=second, owner="run_pipeline"), cli)
    if not given:
        given = {k: v for k, v in (("scheduler_file", getattr(spec, "scheduler_file", None)),
                                   ("cluster", getattr(spec, "cluster", None))) if v is not None}
    if "scheduler" in given:
        return Placement(scheduler=check_scheduler(given["scheduler"], "run_pipeline"))
    if "scheduler_file" in given:
        path = RUN_PIPELINE_OPTIONS["scheduler_file"].validate(given["scheduler_file"], "run_pipeline")
        path = os.path.abspath(os.path.expanduser(path))
        try:
            read_scheduler_file(path)
        except (OSError, ValueError) as exc:
            cli = str(exc).replace("given as scheduler_file", "given as --scheduler-file")
            raise with_cli_text(exc, cli) from None
        return Placement(scheduler=None, scheduler_file=path)
    if "cluster" in given:
        return Placement(scheduler=None, cluster=RUN_PIPELINE_OPTIONS["cluster"].validate(given["cluster"],
                                                                                         "run_pipeline"))
    return Placement()


@contextmanager
def open_scheduler(placement: Placement) -> Iterator[Any]:
    """Yield what the executors take; a Client this opened (and a cluster it started) is closed after."""
    if placement.scheduler_file is not None:
        from trajml.parallel.connect import connect

        with connect(scheduler_file=placement.scheduler_file) as client:
            yield client
    elif placement.cluster is not None:
        from dask.distributed import Client

        from trajml.parallel.jobqueue import start_cluster

        cluster = start_cluster(placement.cluster)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
    else:
        yield placement.scheduler
