"""The per-unit time limit: a hung unit fails with its name and the limit; the batch goes on."""

from __future__ import annotations

import time

import pytest
from pipeline_helpers import batch_yaml, make_systems, write_pipeline

from trajml.cli import main
from trajml.errors import InvalidParameterError
from trajml.pipelines import run_pipeline
from trajml.pipelines.spec import PipelineSpecError, load_pipeline
from trajml.pipelines.stages import Param, StageOutput, register_stage, unregister_stage

# Stages that take no time but the hang: a real stage's run time on a loaded machine is not a limit to test with.
STAGES = "stages:\n  - {stage: nap, seconds: 30}\n  - {stage: after_nap, nap: nap}\n"


@pytest.fixture(autouse=True)
def nap_stages():
    """``nap`` hangs on system sys0 only (for ``seconds``); ``after_nap`` depends on it."""

    @register_stage("nap", params={"seconds": Param("float", 0.0, "how long sys0 hangs", unit="s", minimum=0)},
                    frames=False)
    def nap(ctx, params):
        if ctx.system.name == "sys0":
            time.sleep(params["seconds"])
        return StageOutput({"slept": ctx.system.name == "sys0"})

    @register_stage("after_nap", params={"nap": Param("stage:nap", None, "the nap", nullable=True)}, frames=False)
    def after_nap(ctx, params):
        return StageOutput({"after": True})

    yield
    unregister_stage("nap")
    unregister_stage("after_nap")


@pytest.mark.parametrize("scheduler", ["serial", "threads"])
def test_hung_unit_fails_with_its_name_and_the_rest_finish(tmp_path, scheduler):
    make_systems(tmp_path, 2)
    pipeline = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), STAGES))
    t0 = time.perf_counter()
    summary = run_pipeline(pipeline, scheduler=scheduler, unit_timeout=1.0, progress=False, report=False)
    assert time.perf_counter() - t0 < 20  # not the 30 s of the hung unit
    status = {o.unit: (o.status, o.reason) for o in summary.outcomes}
    assert status["sys0/nap"][0] == "failed"
    assert status["sys0/nap"][1].startswith("UnitTimeoutError: sys0/nap ran longer than the unit time limit of 1 s "
                                            "and was abandoned (its result is not stored)")
    assert status["sys0/after_nap"] == ("skipped", "needs nap, which failed")
    assert (status["sys1/nap"][0], status["sys1/after_nap"][0]) == ("computed", "computed")
    assert len(status) == 4


def test_unit_timeout_from_the_pipeline_and_the_command_line(tmp_path, capsys):
    make_systems(tmp_path, 1)
    pipeline = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), STAGES) + "unit_timeout: 1\n")
    assert load_pipeline(pipeline).unit_timeout == 1.0
    summary = run_pipeline(pipeline, scheduler="serial", progress=False, report=False)
    assert summary.count("failed") == 1 and "limit of 1 s" in summary.failures[0].reason
    # The command line's value wins over the file's: with 60 s the nap (shortened to 0.2 s) finishes.
    short = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "o2"), STAGES.replace("30", "0.2"))
                           + "unit_timeout: 0.05\n", "short.yaml")
    assert main(["run", str(short), "--scheduler", "serial", "--unit-timeout", "60", "--no-progress"]) == 0, \
        capsys.readouterr().err


def test_bad_unit_timeouts(tmp_path, capsys):
    make_systems(tmp_path, 1)
    bad = write_pipeline(tmp_path, batch_yaml("o", STAGES) + "unit_timeout: 0\n")
    with pytest.raises(PipelineSpecError, match=r"line 10: 'unit_timeout' must be a float in \(0, inf\) s or None\. "
                       r"Got 0 instead\."):
        load_pipeline(bad)
    good = write_pipeline(tmp_path, batch_yaml("o", STAGES), "good.yaml")
    with pytest.raises(InvalidParameterError, match=r"The 'unit_timeout' parameter of run_pipeline must be a float "
                       r"in \(0, inf\) s or None\. Got -5 instead\."):
        run_pipeline(good, scheduler="serial", unit_timeout=-5)
    with pytest.raises(SystemExit):
        main(["run", str(good), "--unit-timeout", "soon"])
    assert "argument --unit-timeout: must be a float in (0, inf) s or None. Got 'soon' instead." in \
        capsys.readouterr().err


def test_hung_unit_on_a_distributed_worker(tmp_path):
    """The limit holds on a Dask worker too (in this process, where the test stages are registered)."""
    from dask.distributed import Client, LocalCluster

    make_systems(tmp_path, 2)
    pipeline = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), STAGES) + "unit_timeout: 1\n")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc, \
            Client(lc) as client:
        summary = run_pipeline(pipeline, scheduler=client, progress=False, report=False)
    status = {o.unit: o.status for o in summary.outcomes}
    assert status == {"sys0/nap": "failed", "sys0/after_nap": "skipped", "sys1/nap": "computed",
                      "sys1/after_nap": "computed"}
    assert "sys0/nap ran longer than the unit time limit of 1 s" in summary.failures[0].reason
