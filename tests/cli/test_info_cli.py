"""``trajml info`` shows each trajectory's time axis: dt, t0, regular or where it first breaks, and notes;
the analysis commands and ``trajml run`` print a dropped restart overlap once on standard error,
and an analysis that needs equal spacing names the flags that avoid a gap.

Oracle: the times the test writes into XTC files with MDAnalysis' own writer (a gap of two
frames never saved; a restart whose first two frames repeat the previous part's last two).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from trajml.cli import main

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda

N_ATOMS, N_FRAMES, DT, T0 = 8, 30, 0.4, 100.0


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("info")
    rng = np.random.default_rng(3)
    x = (np.cumsum(rng.normal(0, 0.3, (N_FRAMES, N_ATOMS, 3)), axis=0) + 20.0).astype(np.float32)
    u = mda.Universe.empty(N_ATOMS, trajectory=True)
    u.add_TopologyAttr("names", ["Li"] * N_ATOMS)
    u.dimensions = [40.0, 40.0, 40.0, 90.0, 90.0, 90.0]
    u.atoms.positions = x[0]
    top = str(d / "top.pdb")

    def write(name: str, frames: np.ndarray) -> str:
        path = str(d / name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mda.Writer(path, n_atoms=N_ATOMS) as w:
                for k in frames:
                    u.atoms.positions = x[k]
                    u.trajectory.ts.time = T0 + DT * k
                    w.write(u.atoms)
        return path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(top)
    return {"top": top, "write": write}


def _info(capsys: pytest.CaptureFixture, *argv: str) -> tuple[str, dict]:
    assert main(["info", *argv]) == 0
    text = capsys.readouterr().out
    assert main(["info", *argv, "--json"]) == 0
    return text, json.loads(capsys.readouterr().out)


def test_info_names_the_first_gap_with_file_frame_and_kind(walk: dict, capsys: pytest.CaptureFixture) -> None:
    gap = walk["write"]("gap.xtc", np.r_[0:12, 14:N_FRAMES])  # frames 12 and 13 never saved
    text, info = _info(capsys, walk["top"], gap)
    (axis,) = info["time_axes"]
    assert axis["regular"] is False and axis["dt_ps"] == DT and axis["t0_ps"] == T0 and axis["notes"] == []
    irr = axis["irregularity"]
    assert (irr["file"], irr["frame"], irr["trajectory_frame"], irr["kind"]) == (gap, 12, 12, "gap")
    assert "2 missing frame(s)" in irr["message"]
    assert f"time axis    : t0 = {T0:g} ps, dt = {DT:g} ps, IRREGULAR" in text
    assert f"first irregularity: gap at frame 12 of '{gap}'" in text


def test_info_of_a_regular_run_with_a_restart_overlap_shows_the_note(walk: dict,
                                                                      capsys: pytest.CaptureFixture) -> None:
    a = walk["write"]("a.xtc", np.arange(0, 16))
    b = walk["write"]("b.xtc", np.arange(14, N_FRAMES))  # the restart rewrote frames 14 and 15
    text, info = _info(capsys, walk["top"], a, b)
    (axis,) = info["time_axes"]
    assert info["n_frames"] == N_FRAMES
    assert axis["regular"] is True and axis["irregularity"] is None
    assert axis["dt_ps"] == DT and axis["t0_ps"] == T0 and axis["checked"] == "float32"
    (note,) = axis["notes"]
    assert f"'{b}' frames 0 to 1" in note and f"repeat frames 14 to 15 of '{a}'" in note and "dropped" in note
    assert f"time axis    : t0 = {T0:g} ps, dt = {DT:g} ps, regular" in text
    assert f"  note: {note}" in text
    assert "first irregularity" not in text


def test_info_of_a_gap_between_parts_names_the_later_file(walk: dict, capsys: pytest.CaptureFixture) -> None:
    a = walk["write"]("ga.xtc", np.arange(0, 10))
    b = walk["write"]("gb.xtc", np.arange(11, N_FRAMES))
    _, info = _info(capsys, walk["top"], a, b)
    irr = info["time_axes"][0]["irregularity"]
    assert (Path(irr["file"]).name, irr["frame"], irr["trajectory_frame"], irr["kind"]) == ("gb.xtc", 0, 10,
                                                                                           "part_gap")


def test_analysis_commands_and_run_print_a_dropped_overlap_once_on_stderr(walk: dict, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture) -> None:
    a = walk["write"]("na.xtc", np.arange(0, 16))
    b = walk["write"]("nb.xtc", np.arange(15, N_FRAMES))
    out = str(tmp_path / "msd.csv")
    assert main(["msd", walk["top"], a, b, "--select", "name Li", "--no-progress", "-o", out]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if ": note: " in line]
    assert len(notes) == 1 and notes[0].startswith(f"trajml msd: note: '{b}' frames 0 to 0 ")
    assert notes[0].endswith(f"repeat frames 15 to 15 of '{a}' (restart overlap, coordinates match): dropped")
    assert "note" not in captured.out
    # two stages of one system open the files (on workers): the note still comes once
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(f"version: 1\ninputs:\n  - name: restarted\n    topology: {walk['top']}\n"
                        f"    trajectory: [{a}, {b}]\n"
                        "stages: [info, {stage: rdf, select_a: name Li, select_b: name Li, r_max: 10.0}]\n"
                        f"outputs: {tmp_path / 'out'}\n")
    assert main(["run", str(pipeline), "--scheduler", "serial", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if ": note: " in line] == [notes[0].replace("trajml msd", "trajml run")]
    # info prints it with the time axis, not again on stderr
    assert main(["info", walk["top"], a, b]) == 0
    captured = capsys.readouterr()
    assert ": note: " not in captured.err and "  note: " in captured.out


def test_a_gap_refused_by_an_analysis_names_the_file_frame_and_flags(walk: dict, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    from trajml.errors import IrregularTimeError
    from trajml.io import open_source
    from trajml.transport import MSD

    a = walk["write"]("sa.xtc", np.arange(0, 10))
    b = walk["write"]("sb.xtc", np.r_[10:20, 22:N_FRAMES])  # frames 20 and 21 (of the run) never saved
    with pytest.raises(IrregularTimeError, match=r"\(stop=20 or start=20\)") as info:
        MSD("name Li").run(open_source(walk["top"], [a, b]))
    assert (info.value.path, info.value.frame, info.value.kind) == (b, 10, "gap")  # the file and its frame
    out = str(tmp_path / "msd.csv")
    assert main(["msd", walk["top"], a, b, "--select", "name Li", "--no-progress", "-o", out]) == 1
    err = capsys.readouterr().err
    assert f"frame 10 of '{b}'" in err and "(--stop 20 or --start 20)" in err and "stop=" not in err
    assert main(["msd", walk["top"], a, b, "--select", "name Li", "--no-progress", "-o", out, "--stop", "20"]) == 0


def test_info_duration_of_a_long_float32_run_is_n_minus_one_steps(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    # Stamps near 1e6 ps are rounded to 1/16 ps in float32: the span of the stored end times would be
    # 11.625 ps; the regular axis gives the (30 - 1) x 0.4 ps the run wrote.
    rng = np.random.default_rng(4)
    u = mda.Universe.empty(N_ATOMS, trajectory=True)
    u.add_TopologyAttr("names", ["Li"] * N_ATOMS)
    u.dimensions = [40.0, 40.0, 40.0, 90.0, 90.0, 90.0]
    top, xtc = str(tmp_path / "top.pdb"), str(tmp_path / "long.xtc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(top)
        with mda.Writer(xtc, n_atoms=N_ATOMS) as w:
            for k in range(N_FRAMES):
                u.atoms.positions = rng.uniform(0, 40, (N_ATOMS, 3))
                u.trajectory.ts.time = 1.0e6 + DT * k
                w.write(u.atoms)
    stored = np.float32(1.0e6 + DT * (N_FRAMES - 1)) - np.float32(1.0e6)
    assert abs(stored - DT * (N_FRAMES - 1)) > 1e-3  # the rounding this guards against
    _, data = _info(capsys, top, xtc)
    assert data["duration_ps"] == pytest.approx(DT * (N_FRAMES - 1), abs=1e-9)
