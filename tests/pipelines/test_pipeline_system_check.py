"""The whole-file check: a system whose file fails a check fails all its units, never some.

The oracle is the construction: the damaged copy of the sample is written with MDAnalysis with
one atom moved by 150 Å from frame 6 on (or with bytes that would crash the XTC decoder in frame
6), and stages restricted to frames 0-3 never read frame 6.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from pipeline_helpers import batch_yaml, make_systems, write_pipeline

import trajml.io.file_check as file_check
from tests.xtc_damage import damage_frames
from trajml.data import sample_topology, sample_trajectory
from trajml.pipelines import run_pipeline

#: Stages that read only frames 0-3, and one that reads every frame.
EARLY = """\
stages:
  - {stage: info, stop: 4}
  - {stage: rdf, id: rdf_li_o, select_a: name Li, select_b: name O, r_max: 10.0, n_bins: 20, stop: 4}
  - {stage: coordination, cutoff_from: rdf_li_o, stop: 4}
"""
ALL = "  - {stage: rdf, id: rdf_all, select_a: name Li, select_b: name O, r_max: 10.0, n_bins: 20}\n"


def _jump_copy(target: str, frame: int = 6, n_frames: int = 12) -> None:
    """The sample's first ``n_frames`` frames with atom 5 moved by 150 Å along x from ``frame`` on."""
    import MDAnalysis as mda

    u = mda.Universe(sample_topology(), sample_trajectory())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mda.Writer(target, u.atoms.n_atoms) as w:
            for ts in u.trajectory[:n_frames]:
                if ts.frame >= frame:
                    u.atoms.positions = u.atoms.positions + np.where(np.arange(u.atoms.n_atoms)[:, None] == 5,
                                                                     [150.0, 0.0, 0.0], 0.0)
                w.write(u.atoms)


def _by_system(summary) -> dict[str, list]:
    out: dict[str, list] = {}
    for o in summary.outcomes:
        out.setdefault(o.system, []).append(o)
    return out


def _short_sims(tmp_path, n: int = 2) -> None:
    """``n`` systems of 12 frames each (a short file keeps the check fast); sys1 intact for now."""
    sims = make_systems(tmp_path, n)
    for k in range(n):
        _jump_copy(str(sims / f"sys{k}" / "traj.xtc"), frame=10 ** 6)  # no damage: a plain 12-frame copy


def test_an_implausible_frame_fails_every_unit_of_its_system_even_those_before_it(tmp_path):
    _short_sims(tmp_path)
    _jump_copy(str(tmp_path / "sims" / "sys1" / "traj.xtc"))
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), EARLY + ALL))
    summary = run_pipeline(path, scheduler="serial", progress=False)
    systems = _by_system(summary)
    assert [o.status for o in systems["sys0"]] == ["computed"] * 4
    assert [o.status for o in systems["sys1"]] == ["failed"] * 4
    for o in systems["sys1"]:
        assert o.reason.startswith("SystemFileError: Trajectory '")
        assert "sys1/traj.xtc' frame 6 fails the whole-file check (jump: atom 5 moved" in o.reason
        assert "every unit of system 'sys1' fails" in o.reason
    assert len({o.reason for o in systems["sys1"]}) == 1  # one message for the system


def test_a_frame_that_would_crash_the_decoder_fails_units_that_never_read_it(tmp_path):
    _short_sims(tmp_path)
    bad = tmp_path / "sims" / "sys1" / "traj.xtc"
    damage_frames(str(bad), str(bad), (6,))
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), EARLY))
    summary = run_pipeline(path, scheduler="serial", progress=False)
    systems = _by_system(summary)
    assert all(o.status == "computed" for o in systems["sys0"])
    assert [o.status for o in systems["sys1"]] == ["failed"] * 3
    assert all("traj.xtc' frame 6 fails the whole-file check (undecodable: " in o.reason for o in systems["sys1"])


def test_the_check_reads_each_system_once_and_reruns_reuse_its_verdict(tmp_path, monkeypatch):
    _short_sims(tmp_path, 3)
    _jump_copy(str(tmp_path / "sims" / "sys2" / "traj.xtc"))
    calls = []
    real = file_check.first_damage
    monkeypatch.setattr(file_check, "first_damage", lambda source: calls.append(source) or real(source))
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), EARLY))
    first = run_pipeline(path, scheduler="threads", n_workers=3, progress=False)
    assert len(calls) == 3  # three systems, three units each, three reads
    assert first.computed == 6 and first.count("failed") == 3
    second = run_pipeline(path, scheduler="serial", progress=False)
    assert len(calls) == 3  # the failed system's units ran again but read no frame
    assert second.reused == 6 and second.count("failed") == 3
    assert {o.reason for o in second.failures} == {o.reason for o in first.failures}


def test_a_file_damaged_in_place_fails_the_stored_units_of_its_system_too(tmp_path):
    _short_sims(tmp_path)
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), EARLY))
    assert run_pipeline(path, scheduler="serial", progress=False).computed == 6
    # Damage sys1 in place and restore its size and modification time: its unit keys do not change.
    traj = tmp_path / "sims" / "sys1" / "traj.xtc"
    st = os.stat(traj)
    damage_frames(str(traj), str(traj), (6,))
    os.utime(traj, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.path.getsize(traj) == st.st_size
    # Nothing to run: nothing reads the files, the stored results (from the intact file) are reused.
    assert run_pipeline(path, scheduler="serial", progress=False).reused == 6
    # A new stage must run on sys1: the check fails it, and the system's stored units with it.
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), EARLY + ALL))
    summary = run_pipeline(path, scheduler="serial", progress=False)
    systems = _by_system(summary)
    assert [o.status for o in systems["sys0"]] == ["reused"] * 3 + ["computed"]
    assert [o.status for o in systems["sys1"]] == ["failed"] * 4
    assert len({o.reason for o in systems["sys1"]}) == 1
    assert "frame 6 fails the whole-file check" in systems["sys1"][0].reason


def test_a_worker_opens_a_system_once_and_again_after_its_file_is_rewritten(tmp_path, monkeypatch):
    from trajml.pipelines.spec import SystemSpec
    from trajml.store.results import ResultStore

    _short_sims(tmp_path)
    opened = []
    real = SystemSpec.open
    monkeypatch.setattr(SystemSpec, "open", lambda self: opened.append(self.name) or real(self))
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), EARLY))
    assert run_pipeline(path, scheduler="serial", progress=False).computed == 6
    assert sorted(opened) == ["sys0", "sys1"]  # the check and the three units of each system share one Source
    # sys1 rewritten, 8 frames instead of 12: a Source kept from before would still see 12
    _jump_copy(str(tmp_path / "sims" / "sys1" / "traj.xtc"), frame=10 ** 6, n_frames=8)
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), "stages:\n  - {stage: info}\n"))
    summary = run_pipeline(path, scheduler="serial", progress=False)
    assert summary.computed == 2 and not summary.failures
    assert sorted(opened) == ["sys0", "sys1", "sys1"]  # sys0 unchanged: its new unit found it open
    store = ResultStore(str(tmp_path / "out" / "store"))
    frames = {o.system: store.get(o.key).meta["numbers"]["n_frames"][0] for o in summary.outcomes}
    assert frames == {"sys0": 12.0, "sys1": 8.0}
