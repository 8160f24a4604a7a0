"""Batch-cluster settings (SLURM, PBS) for dask-jobqueue, checked before any job is submitted.

A pipeline's ``cluster:`` mapping (or ``trajml run --cluster KEY=VALUE ...``, or
``run_pipeline(cluster={...})``) names the cluster ``type`` and the keyword arguments of
``dask_jobqueue.SLURMCluster`` / ``PBSCluster``; ``jobs`` is how many batch jobs to start::

    cluster:
      type: slurm
      cores: 16            # worker threads per job; each unit runs single-threaded
      processes: 16        # worker processes per job
      memory: 64GB         # per job
      walltime: "04:00:00" # quoted: YAML would read 04:00:00 as a number
      queue: regular
      account: my-project
      job_extra_directives: ["--constraint=cpu"]
      jobs: 4

The settings are checked against the installed dask-jobqueue's own signatures: a key the
cluster type does not know is refused with the known ones. The driver (where ``trajml run``
runs, usually a login node or a small job) hosts the Dask scheduler; the workers run in the
batch jobs and must see the pipeline's outputs folder on a shared file system (checked at start,
:mod:`trajml.pipelines.store_probe`). If the driver dies, the workers lose their scheduler and
exit after ``death_timeout`` seconds (60 unless set).
"""

from __future__ import annotations

import inspect
import re
import shutil
from collections.abc import Mapping
from typing import Any

from trajml._text import closest
from trajml.errors import InvalidParameterError, require_extra

__all__ = ["CLUSTER_TYPES", "known_settings", "cluster_problems", "normalise_cluster", "make_cluster", "start_cluster"]

#: ``type:`` values and their dask-jobqueue classes.
CLUSTER_TYPES = {"slurm": "SLURMCluster", "pbs": "PBSCluster"}
#: Keys of our own besides the class's keyword arguments.
OWN_KEYS = ("type", "jobs")
# Arguments a user cannot meaningfully set from a spec, or deprecated by dask-jobqueue itself.
_HIDDEN = {"self", "scheduler", "loop", "asynchronous", "job_cls", "scheduler_cls", "job_kwargs", "base_class_kwargs",
           "config_name", "security", "silence_logs", "extra", "env_extra", "job_extra", "header_skip", "n_workers"}
# Settings that take a list of lines: one string on the command line becomes a list of one.
_LISTS = ("job_extra_directives", "job_script_prologue", "job_directives_skip", "worker_extra_args")
#: Seconds workers wait for a lost scheduler (a killed driver) before they exit.
DEFAULT_DEATH_TIMEOUT = 60


def _classes(kind: str) -> tuple[Any, ...]:
    jq = require_extra("dask_jobqueue", "cluster", "batch clusters (SLURM, PBS)")
    cluster = getattr(jq, CLUSTER_TYPES[kind])
    from dask_jobqueue.core import Job, JobQueueCluster

    return cluster, cluster.job_cls, Job, JobQueueCluster


def known_settings(kind: str) -> tuple[str, ...]:
    """Keys a ``cluster:`` mapping of type ``kind`` may hold: ours and the cluster class's (sorted)."""
    names = {n for c in _classes(kind)[1:] for n in inspect.signature(c.__init__).parameters} - _HIDDEN
    return (*OWN_KEYS, *sorted(names))


def cluster_problems(settings: Any) -> list[tuple[str, str]]:
    """Problems ``(key, text)`` of a ``cluster:`` mapping; empty when it is usable.

    ``text`` reads after the key: ``'wallclock' is not a setting of SLURMCluster. Did you mean
    'walltime'? Known: ...``.
    """
    if not isinstance(settings, Mapping):
        return [("", f"must be a mapping with 'type' ({', '.join(CLUSTER_TYPES)}) and dask-jobqueue settings; "
                     f"got {settings!r}.")]
    kind = settings.get("type")
    if kind not in CLUSTER_TYPES:
        return [("type", f"must be one of {', '.join(CLUSTER_TYPES)} (the batch system); got {kind!r}."
                 f"{closest(kind, CLUSTER_TYPES) if isinstance(kind, str) else ''}")]
    try:
        known = known_settings(kind)
    except ImportError as exc:  # the 'cluster' extra is not installed: say so instead of a key list
        return [("type", str(exc))]
    problems = [(key, f"is not a setting of {CLUSTER_TYPES[kind]}.{closest(key, known)} Known: {', '.join(known)}.")
                for key in settings if key not in known]
    jobs = settings.get("jobs", 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        problems.append(("jobs", f"must be a whole number of batch jobs, at least 1; got {jobs!r}."))
    return problems


def normalise_cluster(settings: Mapping[str, Any], owner: str = "run_pipeline") -> dict:
    """Check a ``cluster`` mapping and return it with command-line text turned into values.

    Whole numbers given as text (``cores=16``) become ints and a single line given for a list
    setting becomes a list of one. Raises :class:`~trajml.errors.InvalidParameterError` naming the
    first bad key and the known ones.
    """
    if not isinstance(settings, Mapping):
        raise InvalidParameterError(f"The 'cluster' parameter of {owner} {cluster_problems(settings)[0][1]}",
                                    parameter="cluster", owner=owner, value=settings)
    out: dict[str, Any] = {}
    for key, value in dict(settings).items():
        if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
            value = int(value)
        elif key in _LISTS and isinstance(value, str):
            value = [value]
        out[str(key)] = value
    problems = cluster_problems(out)
    if problems:
        key, text = problems[0]
        head = f"has key {key!r}, which" if key else "is a value that"
        raise InvalidParameterError(f"The 'cluster' parameter of {owner} {head} {text}", parameter="cluster",
                                    owner=owner, value=dict(settings))
    return out


def make_cluster(settings: Mapping[str, Any]) -> Any:
    """The dask-jobqueue cluster of a checked ``cluster`` mapping, with no job submitted yet.

    Its scheduler runs in this process; ``cluster.job_script()`` is the batch script each job
    will run. Close it when done.
    """
    kw = {k: v for k, v in settings.items() if k not in OWN_KEYS}
    kw.setdefault("death_timeout", DEFAULT_DEATH_TIMEOUT)  # workers of a killed driver exit
    return _classes(settings["type"])[0](**kw)


def start_cluster(settings: Mapping[str, Any]) -> Any:
    """:func:`make_cluster`, then submit its ``jobs`` batch jobs (1 unless set).

    Raises
    ------
    FileNotFoundError
        The batch system's submit command (``sbatch``, ``qsub``) is not on this machine's PATH: no
        job could start, and the run would wait for workers forever.
    """
    submit = getattr(_classes(settings["type"])[1], "submit_command", None)
    if submit and shutil.which(submit.split()[0]) is None:
        raise FileNotFoundError(f"A cluster of type {settings['type']!r} submits its jobs with '{submit}', which is "
                                "not on this machine's PATH: run trajml where those jobs can be submitted (a login "
                                "node), or leave out 'cluster' (--cluster) to run here.")
    cluster = make_cluster(settings)
    cluster.scale(jobs=int(settings.get("jobs", 1)))
    return cluster
