"""Batch-cluster settings: the job script dask-jobqueue renders from them, and unknown settings refused.

No batch scheduler runs here: the SLURM and PBS scripts are rendered (``cluster.job_script()``)
and read as the batch system would, directive by directive.
"""

from __future__ import annotations

import pytest

from trajml.errors import InvalidParameterError
from trajml.parallel.jobqueue import known_settings, make_cluster, normalise_cluster

SETTINGS = {"cores": 16, "processes": 16, "memory": "64GB", "walltime": "04:00:00", "queue": "regular",
            "account": "my-project", "jobs": 4, "dashboard_address": None}


def _directives(script: str, prefix: str) -> list[str]:
    return [line[len(prefix):].strip() for line in script.splitlines() if line.startswith(prefix)]


def _worker_line(script: str) -> str:
    (line,) = [x for x in script.splitlines() if "distributed.cli.dask_worker" in x]
    return line


def test_slurm_job_script_carries_every_setting():
    cluster = make_cluster({"type": "slurm", **SETTINGS, "job_extra_directives": ["--constraint=cpu"]})
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    d = _directives(script, "#SBATCH")
    assert {"-p regular", "-A my-project", "-t 04:00:00", "--cpus-per-task=16", "--constraint=cpu"} <= set(d), d
    # 64 GB is 59.6 GiB: SLURM's --mem takes GiB ("G"), rounded.
    assert "--mem=60G" in d
    worker = _worker_line(script)
    # One thread per worker process (units run single-threaded), and workers of a lost driver exit.
    assert "--nworkers 16" in worker and "--nthreads 1" in worker and "--death-timeout 60" in worker
    assert script.startswith("#!/usr/bin/env bash")


def test_pbs_job_script_carries_every_setting():
    cluster = make_cluster({"type": "pbs", **SETTINGS, "death_timeout": 120})
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    d = _directives(script, "#PBS")
    assert {"-q regular", "-A my-project", "-l walltime=04:00:00", "-l select=1:ncpus=16:mem=60GB"} <= set(d), d
    assert "--death-timeout 120" in _worker_line(script)


def test_command_line_text_becomes_values():
    out = normalise_cluster({"type": "slurm", "cores": "8", "jobs": "2", "job_extra_directives": "--gres=gpu:1"})
    assert out == {"type": "slurm", "cores": 8, "jobs": 2, "job_extra_directives": ["--gres=gpu:1"]}


def test_unknown_setting_is_refused_with_the_known_ones():
    with pytest.raises(InvalidParameterError, match=r"'cluster' parameter of run_pipeline has key 'walltme', "
                       r"which is not a setting of SLURMCluster\. Did you mean 'walltime'\? Known: type, jobs, .*"
                       r"walltime"):
        normalise_cluster({"type": "slurm", "walltme": "01:00:00"})
    # A key of one batch system is not one of another's.
    assert "resource_spec" in known_settings("pbs") and "resource_spec" not in known_settings("slurm")
    with pytest.raises(InvalidParameterError, match="has key 'resource_spec', which is not a setting of SLURMCluster"):
        normalise_cluster({"type": "slurm", "resource_spec": "select=1"})


@pytest.mark.parametrize("settings, match", [
    ({"cores": 4}, r"has key 'type', which must be one of slurm, pbs \(the batch system\); got None"),
    ({"type": "slrum"}, r"got 'slrum'\. Did you mean 'slurm'\?"),
    ({"type": "slurm", "jobs": 0}, r"'jobs', which must be a whole number of batch jobs, at least 1; got 0"),
    ("slurm", r"must be a mapping with 'type' \(slurm, pbs\)"),
])
def test_bad_cluster_settings(settings, match):
    with pytest.raises(InvalidParameterError, match=match):
        normalise_cluster(settings)


def test_no_submit_command_here_fails_before_waiting_for_workers(tmp_path, monkeypatch):
    from trajml.parallel.jobqueue import start_cluster

    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no qsub
    for kind, command in (("slurm", "sbatch"), ("pbs", "qsub")):
        with pytest.raises(FileNotFoundError, match=rf"A cluster of type '{kind}' submits its jobs with '{command}', "
                           r"which is not on this machine's PATH: run trajml where those jobs can be submitted"):
            start_cluster({"type": kind, "cores": 1, "memory": "1GB"})
