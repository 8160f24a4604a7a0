"""The options of a pipeline run, declared once: where units run and how long one may take.

``run_pipeline`` takes them as keywords, ``trajml run`` as ``--scheduler-file``, ``--cluster`` and
``--unit-timeout``, and a pipeline YAML file as the top-level keys ``scheduler_file``, ``cluster``
and ``unit_timeout``. A value given to ``run_pipeline`` (or on the command line) wins over the
file's. ``scheduler``, ``scheduler_file`` and ``cluster`` are alternatives: give one.
"""

from __future__ import annotations

from typing import Any

from trajml._validation import Param

__all__ = ["RUN_PIPELINE_OPTIONS", "FILE_KEYS"]


def _cluster(value: Any) -> dict:
    from trajml.parallel.jobqueue import normalise_cluster

    return normalise_cluster(value)


#: Run options of a pipeline besides the engine's (scheduler, n_workers, progress).
RUN_PIPELINE_OPTIONS: dict[str, Param] = {
    "scheduler_file": Param("path", None, "run on the Dask scheduler that wrote this file (dask scheduler "
                            "--scheduler-file FILE) and its workers", nullable=True, none_help="none",
                            metavar="FILE", name="scheduler_file"),
    "cluster": Param("mapping", None, "start a SLURM or PBS cluster with dask-jobqueue: type=slurm|pbs, jobs=N "
                     "and its settings (cores, processes, memory, walltime, queue, account, job_extra_directives, "
                     "...)", nullable=True, none_help="none", check=_cluster, name="cluster"),
    "unit_timeout": Param("float", None, "longest run time of one unit; a unit that takes longer fails with "
                          "its name and the batch goes on", unit="s", positive=True, nullable=True,
                          none_help="no limit", name="unit_timeout"),
}

#: The options a pipeline file may set at its top level (the others are the caller's).
FILE_KEYS = tuple(RUN_PIPELINE_OPTIONS)
