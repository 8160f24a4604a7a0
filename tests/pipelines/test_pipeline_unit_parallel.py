"""Parallel inside a unit: a stage's chunks run on the pipeline's cluster, with the serial results.

Also the ``device`` stage parameter: declared once (Python, command line, pipeline file) and
refused with the stage and key where no CUDA GPU is.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from pipeline_helpers import make_systems, stored_results, write_pipeline

from trajml.errors import InvalidParameterError
from trajml.pipelines import run_pipeline
from trajml.pipelines.unit_parallel import plan_unit_scheduler

# One system, rdf and msd over 120 frames in chunks of 20 (6 chunks each), msd blocks of 16 Li.
STAGES = """\
stages:
  - {stage: rdf, id: rdf_li_o, select_a: name Li, select_b: name O, r_max: 12.0, n_bins: 60, stop: 120,
     chunk_size: 20}
  - {stage: msd, select: name Li, stop: 120, chunk_size: 20, block_size: 16}
"""


def _one_system(folder, outputs, stages=STAGES):
    if not (folder / "sims").is_dir():  # one copy: the same files (and unit keys) for every run of a test
        make_systems(folder, 1)
    return write_pipeline(folder, f"version: 1\nname: big\ninputs:\n  - glob: sims/sys*\n{stages}"
                          f"outputs: {folder / outputs}\n", f"{outputs}.yaml")


@pytest.fixture()
def serial_results(tmp_path):
    path = _one_system(tmp_path, "serial")
    summary = run_pipeline(path, scheduler="serial", progress=False, report=False, outputs=str(tmp_path / "serial"))
    assert summary.computed == 2 and not summary.failures
    return stored_results(tmp_path / "serial")


def _run_on_two_workers(tmp_path, outputs, serial_results, records=False):
    """Run the one-system pipeline on a 2-worker local cluster; check it stored the serial results and
    return the keys of the tasks the cluster ran (``records``: their task-stream records)."""
    from dask.distributed import Client, LocalCluster, get_task_stream

    path = _one_system(tmp_path, outputs)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc, \
            Client(lc) as client, get_task_stream(client) as stream:
        summary = run_pipeline(path, scheduler=client, progress=False, report=False)
    assert summary.computed == 2 and not summary.failures, summary.text()
    assert stored_results(tmp_path / outputs) == serial_results
    if records:
        return stream.data
    return [t["key"] if isinstance(t["key"], str) else str(t["key"]) for t in stream.data]


def test_every_worker_opens_the_system_before_it_runs_its_chunks(tmp_path, serial_results):
    # A worker's first open of a large system takes a second or more; on a worker that had not opened it,
    # the unit's chunks paid it inside the unit. With fewer systems than workers, every worker opens them first.
    records = _run_on_two_workers(tmp_path, "ahead", serial_results, records=True)
    key = [str(r["key"]) for r in records]
    ahead = [r for r, k in zip(records, key) if "-open-ahead-" in k]
    assert sorted(r["worker"] for r in ahead) == sorted({r["worker"] for r in records})  # one on each worker
    for r in ahead:
        chunks = [c for c, k in zip(records, key) if k.startswith("process_chunk") and c["worker"] == r["worker"]]
        started = min(s["start"] for s in r["startstops"] if s["action"] == "compute")
        assert all(started < min(s["start"] for s in c["startstops"] if s["action"] == "compute") for c in chunks)


def test_systems_are_opened_ahead_only_where_units_share_out(tmp_path):
    from dask.distributed import Client, LocalCluster

    from trajml.pipelines.spec import SystemSpec
    from trajml.pipelines.system_check import _opened
    from trajml.pipelines.unit_parallel import open_ahead, open_ahead_on_workers

    missing = SystemSpec("gone", str(tmp_path / "gone.psf"), (str(tmp_path / "gone.xtc"),))
    before = dict(_opened)
    open_ahead([missing])  # a missing file is left to the units' whole-file check, which names it
    assert dict(_opened) == before
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc, \
            Client(lc) as client:
        assert open_ahead_on_workers(client, [missing, missing], "t") == []  # a system per worker: no need
        assert open_ahead_on_workers(client, [], "t") == []
        futures = open_ahead_on_workers(client, [missing], "t")
        assert len(futures) == 2 and all(f.result() is None for f in futures)


def test_units_submit_their_chunks_to_the_cluster_and_store_the_serial_results(tmp_path, serial_results, monkeypatch):
    from trajml.pipelines import unit_parallel
    from trajml.transport.store import SeriesStore

    monkeypatch.setattr(unit_parallel, "SPLIT_MIN_SECONDS", 0.0)  # share out the sample's small msd too

    folders = []
    opened = SeriesStore.__init__
    monkeypatch.setattr(SeriesStore, "__init__", lambda self, tmpdir=None: (folders.append(tmpdir),
                                                                           opened(self, tmpdir))[-1])
    names = _run_on_two_workers(tmp_path, "cluster", serial_results)
    # a Client's cluster may span machines: msd's series file went to the store (and was removed)
    assert folders == [str(tmp_path / "cluster" / "store" / "tmp")]
    assert not list((tmp_path / "cluster" / "store" / "tmp").iterdir())
    # rdf: 6 chunks; msd: 6 chunks read, 6 unwrapped in the series file, 4 blocks of particles
    assert sum(n.startswith("process_chunk") for n in names) == 6
    assert sum(n.startswith("_read_task") for n in names) == 6
    assert sum(n.startswith("_unwrap_task") for n in names) == 6
    assert sum(n.startswith("_particle_task") for n in names) == 4


def test_a_small_msd_runs_in_its_unit_and_stores_the_serial_results(tmp_path, serial_results):
    names = _run_on_two_workers(tmp_path, "small", serial_results)
    assert sum(n.startswith("process_chunk") for n in names) == 6  # rdf still shares out its chunks
    assert not [n for n in names if n.startswith(("_read_task", "_unwrap_task", "_particle_task"))]


def test_estimated_seconds_of_an_msd_and_where_it_runs(monkeypatch):
    from trajml.data import sample_topology, sample_trajectory
    from trajml.features import RDF
    from trajml.io import open_source
    from trajml.pipelines import unit_parallel as up
    from trajml.transport import MSD

    source = open_source(sample_topology(), sample_trajectory())
    n_li = int((source.atoms.names == "Li").sum())
    frames = len(range(10, min(120, source.n_frames), 2))
    expected = frames * (source.n_atoms * up.READ_S_PER_ATOM_FRAME + n_li * up.SERIES_S_PER_ATOM_FRAME)
    assert up.estimated_seconds(MSD(select="name Li"), source, 10, 120, 2) == pytest.approx(expected, rel=1e-12)
    assert up.estimated_seconds(RDF("name Li", "name O"), source) is None
    client = object()  # stands for a Client: passed through untouched
    assert up.analysis_scheduler(MSD(select="name Li"), source, client, 2) == ("threads", 1)
    assert up.analysis_scheduler(RDF("name Li", "name O"), source, client, 2) == (client, 2)
    assert up.analysis_scheduler(MSD(select="name Li"), source, "serial", None) == ("serial", None)
    monkeypatch.setattr(up, "SPLIT_MIN_SECONDS", expected * 0.99)  # just under the estimate: shared out
    assert up.analysis_scheduler(MSD(select="name Li"), source, client, 2, (10, 120, 2)) == (client, 2)
    monkeypatch.setattr(up, "SPLIT_MIN_SECONDS", expected * 1.01)
    assert up.analysis_scheduler(MSD(select="name Li"), source, client, 2, (10, 120, 2)) == ("threads", 1)


def test_one_single_threaded_worker_runs_a_unit_and_its_chunks(tmp_path, serial_results):
    # The unit leaves its worker's only thread while it waits for its chunks (no deadlock).
    path = _one_system(tmp_path, "one")
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent("""
        import sys
        from trajml.pipelines import run_pipeline
        if __name__ == "__main__":
            summary = run_pipeline(sys.argv[1], scheduler="local", n_workers=1, progress=False, report=False)
            print(summary.computed, len(summary.failures))
    """))
    done = subprocess.run([sys.executable, str(driver), str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["2", "0"]
    assert stored_results(tmp_path / "one") == serial_results


def test_processes_scheduler_gives_units_the_idle_workers_as_threads(tmp_path, serial_results):
    # Two units on four worker processes: each unit's chunks run on two threads in its process.
    assert plan_unit_scheduler("processes", 4, 2, None) == "threads:2"
    path = _one_system(tmp_path, "processes")
    summary = run_pipeline(path, scheduler="processes", n_workers=4, progress=False, report=False)
    assert summary.computed == 2 and not summary.failures, summary.text()
    assert stored_results(tmp_path / "processes") == serial_results


@pytest.mark.parametrize("scheduler, n_workers, units, timeout, plan", [
    ("serial", None, 1, None, "serial"),                   # nothing changes under serial
    ("threads", 4, 1, None, "threads:4"),
    ("processes", 2, 2, None, "serial"),                   # a batch: one unit per worker, serial inside
    ("processes", 3, 2, None, "serial"),                   # 3 // 2 = 1 thread each
    ("local", 2, 100, None, "cluster"),                    # the cluster decides, chunk by chunk
    ("tcp://127.0.0.1:8786", None, 1, None, "cluster:store"),  # may span machines: msd's series in the store
    ("local", 2, 1, 60.0, "serial"),                       # unit_timeout: the work runs in a helper thread
])
def test_plan_of_the_units_analyses(scheduler, n_workers, units, timeout, plan):
    assert plan_unit_scheduler(scheduler, n_workers, units, timeout) == plan


def test_unit_called_outside_a_cluster_runs_serially():
    from trajml.pipelines.unit_parallel import unit_scheduler

    assert unit_scheduler("cluster") == unit_scheduler("cluster:store") == ("serial", None)
    assert unit_scheduler("threads:3") == ("threads", 3)


# -- device ---------------------------------------------------------------------------------------

DEVICE = "stages:\n  - {{stage: rdf, id: rdf_li_o, select_a: name Li, select_b: name O, r_max: 8.0, n_bins: 8, " \
         "stop: 2, device: {device}}}\n"


def _no_gpu(monkeypatch):
    from trajml.pipelines import devices

    monkeypatch.setattr(devices, "cuda_problem", lambda: "numba finds no usable CUDA GPU (test)")


def test_device_is_one_declaration_for_python_cli_and_yaml():
    from trajml.features import RDF
    from trajml.pipelines.stages import get_stage

    for stage in ("rdf", "coordination", "solvation", "shells", "residence", "graphs"):
        assert get_stage(stage).params["device"].choices == ("cpu", "cuda"), stage
        assert get_stage(stage).params["device"].default == "cpu"
    assert get_stage("rdf").params["device"] == RDF.parameters()["device"].replace(name="device")
    assert RDF.parameters()["device"].cli_flag == "--device"
    with pytest.raises(InvalidParameterError, match="'device' parameter of RDF must be one of"):
        RDF("name Li", device="gpu")


def test_yaml_device_outside_its_choices_names_stage_and_key(tmp_path):
    from trajml.pipelines.spec import PipelineSpecError

    path = _one_system(tmp_path, "bad", DEVICE.format(device="gpu"))
    with pytest.raises(PipelineSpecError, match=r"device.*'gpu'|'gpu'.*device"):
        run_pipeline(path, scheduler="serial", progress=False, report=False)


def test_cuda_without_gpu_is_refused_before_anything_runs(tmp_path, monkeypatch):
    _no_gpu(monkeypatch)
    path = _one_system(tmp_path, "cuda", DEVICE.format(device="cuda"))
    with pytest.raises(InvalidParameterError, match=r"Stage 'rdf_li_o' \(rdf\) has 'device: cuda', but on this "
                                                    r"machine numba finds no usable CUDA GPU.*Set 'device: cpu'"):
        run_pipeline(path, scheduler="serial", progress=False, report=False)
    assert not (tmp_path / "cuda").exists()


def test_cuda_without_gpu_on_the_command_line_names_the_key_not_a_flag(tmp_path, monkeypatch, capsys):
    from trajml.cli import main

    _no_gpu(monkeypatch)
    path = _one_system(tmp_path, "cli", DEVICE.format(device="cuda"))
    assert main(["run", str(path), "--scheduler", "serial", "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert "Stage 'rdf_li_o' (rdf) has 'device: cuda'" in err and "argument --device" not in err


def test_cuda_without_gpu_on_a_remote_worker_fails_that_unit(tmp_path, monkeypatch):
    from dask.distributed import Client, LocalCluster

    _no_gpu(monkeypatch)
    path = _one_system(tmp_path, "remote", DEVICE.format(device="cuda") + "  - {stage: info, stop: 2}\n")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as lc, \
            Client(lc) as client:
        summary = run_pipeline(path, scheduler=client, progress=False, report=False)
    assert summary.computed == 1 and [o.unit for o in summary.failures] == ["sys0/rdf_li_o"]
    assert "Stage 'rdf_li_o' (rdf) has 'device: cuda', but on host" in summary.failures[0].reason
