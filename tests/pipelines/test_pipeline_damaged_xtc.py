"""A batch with a trajectory that would crash the XTC decoder: the system fails by name, the others finish.

Without the bounds-checked decoder, the serial scheduler decodes in the driver itself, and a frame
whose compressed data overrun xdrfile's buffer takes the whole run down (SIGSEGV), every rerun.
"""

from __future__ import annotations

from pipeline_helpers import batch_yaml, make_systems, write_pipeline

from tests.xtc_damage import damage_frames
from trajml.data import sample_trajectory
from trajml.pipelines import run_pipeline


def test_a_trajectory_the_decoder_would_crash_on_fails_its_system_by_name(tmp_path):
    sims = make_systems(tmp_path, 2)
    damage_frames(sample_trajectory(), sims / "sys1" / "traj.xtc", (3,))
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out")))
    summary = run_pipeline(path, scheduler="serial", progress=False)
    by_system = {}
    for o in summary.outcomes:
        by_system.setdefault(o.system, []).append(o)
    assert all(o.status == "computed" for o in by_system["sys0"])
    failed = [o for o in by_system["sys1"] if o.status == "failed"]
    assert failed == by_system["sys1"]  # every unit, by the whole-file check
    for o in failed:
        assert "traj.xtc' frame 3 fails the whole-file check" in o.reason and "crash the XTC decoder" in o.reason
