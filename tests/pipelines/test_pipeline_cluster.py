"""Pipelines on clusters: a running scheduler by its scheduler file, the shared-store check, cluster settings.

The scheduler is a real one (distributed's LocalCluster on TCP, which writes a scheduler file as
``dask scheduler --scheduler-file`` does); its workers run in this process, which keeps the tests
fast and lets a test stand in for one worker's view of the file system.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time

import pytest
from pipeline_helpers import batch_yaml, make_systems, stored_results, write_pipeline

from trajml.cli import main
from trajml.errors import InvalidParameterError, SchedulerConnectionError, SharedStoreError
from trajml.pipelines import run_pipeline, store_probe
from trajml.pipelines.spec import PipelineSpecError, load_pipeline

STAGES = "stages:\n  - {stage: info, stop: 4}\n"


@pytest.fixture()
def cluster(tmp_path):
    """A running two-worker scheduler and the scheduler file it wrote."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=None) as lc, \
            Client(lc) as client:
        path = tmp_path / "scheduler.json"
        client.write_scheduler_file(str(path))
        yield client, path


def _pipeline(tmp_path, n=2, extra=""):
    make_systems(tmp_path, n)
    return write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), STAGES) + extra)


def test_scheduler_file_runs_on_that_scheduler_like_serial(tmp_path, cluster):
    client, path = cluster
    pipeline = _pipeline(tmp_path)
    summary = run_pipeline(pipeline, scheduler_file=str(path), progress=False, report=False)
    assert (summary.computed, len(summary.failures)) == (2, 0)
    assert summary.scheduler == f"distributed:{client.scheduler.address}"
    serial = run_pipeline(pipeline, scheduler="serial", progress=False, report=False, outputs=str(tmp_path / "ser"))
    assert serial.computed == 2
    assert stored_results(tmp_path / "out") == stored_results(tmp_path / "ser")
    # The probe files of the store check are gone.
    assert not [f for f in os.listdir(tmp_path / "out" / "store") if f.startswith(".probe-")]


def test_scheduler_file_from_the_pipeline_and_from_the_command_line(tmp_path, cluster, capsys):
    client, path = cluster
    pipeline = _pipeline(tmp_path, 1, f"scheduler_file: {path}\n")
    assert load_pipeline(pipeline).scheduler_file == str(path)
    assert run_pipeline(pipeline, progress=False, report=False).computed == 1
    plain = _pipeline(tmp_path, 1)
    code = main(["run", str(plain), "--scheduler-file", str(path), "--no-progress", "--outputs", str(tmp_path / "c")])
    assert code == 0, capsys.readouterr().err
    assert client.scheduler.address.startswith("tcp://127.0.0.1:")
    written = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert written["scheduler"] == f"distributed:{client.scheduler.address}"


def test_missing_scheduler_file_is_refused_before_anything_is_written(tmp_path, capsys):
    pipeline = _pipeline(tmp_path, 1)
    missing = tmp_path / "nowhere.json"
    with pytest.raises(FileNotFoundError, match=r"The scheduler file '.*nowhere\.json' given as scheduler_file does "
                       r"not exist: start the scheduler with 'dask scheduler --scheduler-file"):
        run_pipeline(pipeline, scheduler_file=str(missing), progress=False)
    assert not (tmp_path / "out").exists()
    assert main(["run", str(pipeline), "--scheduler-file", str(missing)]) == 1
    assert "given as --scheduler-file does not exist" in capsys.readouterr().err


def test_scheduler_file_that_is_not_one(tmp_path):
    pipeline = _pipeline(tmp_path, 1)
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "Scheduler-1"}')
    with pytest.raises(ValueError, match=r"'.*bad\.json' given as scheduler_file holds no scheduler address"):
        run_pipeline(pipeline, scheduler_file=str(bad), progress=False)


def test_dead_scheduler_fails_within_seconds(tmp_path, capsys, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({"type": "Scheduler", "address": f"tcp://127.0.0.1:{port}"}))
    pipeline = _pipeline(tmp_path, 1)
    t0 = time.perf_counter()
    with pytest.raises(SchedulerConnectionError, match=rf"No Dask scheduler answered at tcp://127\.0\.0\.1:{port} "
                       r"\(named in the scheduler file '.*stale\.json'\) within 5 s: is it running.*left over"):
        run_pipeline(pipeline, scheduler_file=str(stale), progress=False)
    assert time.perf_counter() - t0 < 15
    assert isinstance(SchedulerConnectionError("x"), ConnectionError)
    # The same through an address, from the command line (a shorter wait keeps the test short).
    from trajml.parallel import connect

    monkeypatch.setattr(connect, "CONNECT_TIMEOUT_S", 1.0)
    assert main(["run", str(pipeline), "--scheduler", f"tcp://127.0.0.1:{port}"]) == 1
    assert f"No Dask scheduler answered at tcp://127.0.0.1:{port} within 1 s" in capsys.readouterr().err


def test_scheduler_choices_are_exclusive(tmp_path, cluster, capsys):
    _, path = cluster
    pipeline = _pipeline(tmp_path, 1)
    with pytest.raises(InvalidParameterError, match=r"'scheduler_file' parameter of run_pipeline cannot be "
                       r"combined with scheduler='serial'"):
        run_pipeline(pipeline, scheduler="serial", scheduler_file=str(path))
    assert main(["run", str(pipeline), "--scheduler", "serial", "--scheduler-file", str(path)]) == 1
    assert "argument --scheduler-file: cannot be combined with --scheduler serial" in capsys.readouterr().err
    both = write_pipeline(tmp_path, batch_yaml("o", STAGES) + f"scheduler_file: {path}\ncluster: {{type: slurm}}\n",
                          "both.yaml")
    with pytest.raises(PipelineSpecError, match=r"line 10: 'cluster' cannot be combined with 'scheduler_file' "
                       r"\(line 9\)"):
        load_pipeline(both)


# Stand-ins for one worker's side of the store check. Module-level, so the workers (in this process)
# receive them by reference; STAND_IN says which worker is blind or which folder it sees.
_REAL_PROBE = store_probe._worker_probe
STAND_IN: dict = {}


def _blind_probe(root, token, worker):
    if worker == STAND_IN["blind"]:
        raise PermissionError(13, "Permission denied", root)
    return _REAL_PROBE(root, token, worker)


def _elsewhere_probe(root, token, worker):
    return _REAL_PROBE(STAND_IN["folder"], token, worker)


def test_worker_that_cannot_use_the_store_stops_the_run(tmp_path, cluster, monkeypatch):
    client, _ = cluster
    blind = sorted(client.scheduler_info()["workers"])[1]
    monkeypatch.setitem(STAND_IN, "blind", blind)
    monkeypatch.setattr(store_probe, "_worker_probe", _blind_probe)
    pipeline = _pipeline(tmp_path)
    store = tmp_path / "out" / "store"
    with pytest.raises(SharedStoreError, match=rf"Dask worker {blind} cannot use the results store '{store}' "
                       r"\(PermissionError: .*Permission denied.*\)\. Every worker must read and write the "
                       r"pipeline's outputs folder on a file system it shares with the driver"):
        run_pipeline(pipeline, scheduler=client, progress=False)
    assert not (store / "objects").exists() or not os.listdir(store / "objects")  # no unit ran
    assert not [f for f in os.listdir(store) if f.startswith(".probe-")]


def test_worker_that_sees_another_folder_is_named(tmp_path, cluster, monkeypatch):
    client, _ = cluster
    # Every worker resolves the path to a folder of its own (as a node-local disk would).
    monkeypatch.setitem(STAND_IN, "folder", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setattr(store_probe, "_worker_probe", _elsewhere_probe)
    with pytest.raises(SharedStoreError, match=r"cannot use the results store .*FileNotFoundError: the driver's "
                       r"probe file .* is not there, so this host .* sees another folder"):
        run_pipeline(_pipeline(tmp_path), scheduler=client, progress=False)


def test_cluster_settings_in_yaml_and_on_the_command_line_are_checked(tmp_path, capsys):
    pipeline = _pipeline(tmp_path, 1, "cluster:\n  type: slurm\n  cores: 4\n  wall_time: '01:00:00'\n")
    with pytest.raises(PipelineSpecError, match=r"line 12: 'cluster\.wall_time' is not a setting of SLURMCluster\. "
                       r"Did you mean 'walltime'\? Known: type, jobs, account, cores"):
        load_pipeline(pipeline)
    assert main(["run", str(pipeline), "--check"]) == 1
    assert "'cluster.wall_time' is not a setting of SLURMCluster" in capsys.readouterr().err
    plain = _pipeline(tmp_path, 1)
    with pytest.raises(SystemExit):
        main(["run", str(plain), "--cluster", "type=pbs", "cores=4", "job_cpu=4"])
    assert "argument --cluster: has key 'job_cpu', which is not a setting of PBSCluster" in capsys.readouterr().err
    good = _pipeline(tmp_path, 1, "cluster: {type: pbs, cores: 4, memory: 8GB, walltime: '01:00:00', jobs: 2}\n")
    assert load_pipeline(good).cluster == {"type": "pbs", "cores": 4, "memory": "8GB", "walltime": "01:00:00",
                                           "jobs": 2}


def test_unit_on_a_worker_that_joined_late_without_the_store_fails_at_once(tmp_path):
    """A worker that joins after the start-up check is checked by each unit (the run's marker file)."""
    import dataclasses

    from trajml.pipelines.runner import execute_unit, plan
    from trajml.store.results import ResultStore

    spec = load_pipeline(_pipeline(tmp_path, 1))
    store = ResultStore(str(tmp_path / "out" / "store"))
    (task,), _ = plan(spec, store)
    elsewhere = tmp_path / "node-local" / "store" / ".run-20260101-000000-abcdef"  # never written
    outcome = execute_unit(dataclasses.replace(task, marker=str(elsewhere)))
    assert outcome.status == "failed"
    assert re.match(rf"SharedStoreError: Dask worker on host \S+ \(PID {os.getpid()}\) cannot use the results store "
                    rf"'{re.escape(str(elsewhere.parent))}' \(the run's marker file {elsewhere.name} is not there\)",
                    outcome.reason), outcome.reason
    assert not store.has(task.key)


def test_cluster_of_the_pipeline_is_started_through_its_batch_system(tmp_path, monkeypatch):
    """With no SLURM here the run stops at the submit command, naming it, instead of waiting for workers."""
    pipeline = _pipeline(tmp_path, 1, "cluster: {type: slurm, cores: 1, memory: 1GB, jobs: 2}\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="submits its jobs with 'sbatch', which is not on this machine's PATH"):
        run_pipeline(pipeline, progress=False)
    # The command line's choice wins over the file's cluster.
    assert run_pipeline(pipeline, scheduler="serial", progress=False, report=False).computed == 1
