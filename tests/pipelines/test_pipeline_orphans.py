"""Workers follow their driver: after ``kill -9`` of ``trajml run``'s process, its workers are gone in seconds.

Before, the workers of ``--scheduler processes`` went on with their units, wrote to the store
minutes later and then waited for work forever. The driver here runs a stage that records its
worker's PID and sleeps; the test kills the driver while both workers are inside it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from pipeline_helpers import batch_yaml, make_systems, write_pipeline

# Registered at the top level: spawned workers import this script as their main module and find the stage.
DRIVER = """\
import os, sys, time
from trajml.pipelines import run_pipeline
from trajml.pipelines.stages import Param, StageOutput, register_stage

@register_stage("sleepy", params={"folder": Param("str", "", "where workers leave their PID")}, frames=False)
def sleepy(ctx, params):
    open(os.path.join(params["folder"], f"started-{os.getpid()}"), "w").close()
    time.sleep(60)
    open(os.path.join(params["folder"], f"late-{os.getpid()}"), "w").close()  # an orphan still writing
    return StageOutput({})

if __name__ == "__main__":
    run_pipeline(sys.argv[1], scheduler=sys.argv[2], n_workers=2, progress=False, report=False)
"""


def _started(marks) -> list[int]:
    """PIDs of the workers inside the sleeping stage."""
    return [int(f.split("-")[1]) for f in os.listdir(marks) if f.startswith("started-")]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("scheduler", ["processes", "local"])
def test_workers_end_when_their_driver_is_killed(tmp_path, scheduler):
    make_systems(tmp_path, 2)
    marks = tmp_path / "marks"
    marks.mkdir()
    pipeline = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"),
                                                   f"stages:\n  - {{stage: sleepy, folder: '{marks}'}}\n"))
    (tmp_path / "driver.py").write_text(DRIVER)
    log = open(tmp_path / "driver.log", "wb")  # a file, not a pipe: orphans holding a pipe would hang the test
    driver = subprocess.Popen([sys.executable, str(tmp_path / "driver.py"), str(pipeline), scheduler],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while len(_started(marks)) < 2 and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert driver.poll() is None, (tmp_path / "driver.log").read_text()[-2000:]
        workers = _started(marks)
        assert len(workers) == 2 and all(psutil.Process(w).ppid() == driver.pid for w in workers)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        log.close()
    t_kill = time.monotonic()
    while any(_alive(w) for w in workers) and time.monotonic() - t_kill < 10:
        time.sleep(0.05)
    left = [w for w in workers if _alive(w)]
    for w in left:  # do not leave them to the rest of the suite
        os.kill(w, signal.SIGKILL)
    assert not left, f"workers {left} outlived their driver by 10 s"
    assert time.monotonic() - t_kill < 5
    assert not [f for f in os.listdir(marks) if f.startswith("late-")]
