"""The options of a pipeline run, declared once: where units run, how long one may take and how
precisely their arrays are stored.

``run_pipeline`` takes them as keywords, ``trajml run`` as ``--scheduler-file``, ``--cluster``,
``--unit-timeout`` and ``--store-precision``, and a pipeline YAML file as the top-level keys
``scheduler_file``, ``cluster``, ``unit_timeout`` and ``store_precision``. A value given to ``run_pipeline`` (or on the
command line) wins over the file's. ``scheduler``, ``scheduler_file`` and ``cluster`` are alternatives: give one.
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
    "store_precision": Param("str", None, "precision of the float arrays of stored units (arrays.nc): float64 "
                             "keeps every bit; float32 rounds them to float32, about half the bytes, opt-in; "
                             "part of each unit's key", choices=("float64", "float32"), nullable=True,
                             none_help="float64", name="store_precision"),
}

#: The options a pipeline file may set at its top level (the others are the caller's).
FILE_KEYS = tuple(RUN_PIPELINE_OPTIONS)
