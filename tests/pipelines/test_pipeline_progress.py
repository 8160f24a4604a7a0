"""The runner in a batch log: timestamped lines, each stage with its own time; the summary's per-stage times."""

from __future__ import annotations

import io
import re
import sys

from pipeline_helpers import batch_yaml, make_systems, write_pipeline

from trajml.pipelines.runner import Outcome, RunSummary

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


def _outcome(stage_id: str, system: str, started: float, seconds: float, status: str = "computed") -> Outcome:
    return Outcome(f"{system}/{stage_id}", system, stage_id, stage_id, "k", status, "", seconds, (), started)


def test_stage_times_are_the_stages_own():
    s = RunSummary("r", "p.yaml", "out", "serial", False, wall_s=398.0)
    # rdf ran 100-110 s on two workers; msd only from 300 s, long after the run started
    s.outcomes += [_outcome("rdf", "a", 100.0, 10.0), _outcome("rdf", "b", 101.0, 9.0),
                   _outcome("msd", "a", 300.0, 20.0), _outcome("msd", "b", 0.0, 0.0, "reused")]
    stages = s.stages()
    assert stages["rdf"]["wall_s"] == 10.0 and stages["rdf"]["seconds"] == 19.0
    assert stages["msd"]["wall_s"] == 20.0 and stages["msd"]["computed"] == 1 and stages["msd"]["reused"] == 1
    text = s.text()
    assert "  rdf: 2 computed; 10.0 s wall, 19.0 s in units" in text
    assert "  msd: 1 computed, 1 reused; 20.0 s wall, 20.0 s in units" in text
    assert s.to_dict()["stages"]["msd"]["wall_s"] == 20.0


def test_a_run_logged_to_a_file_has_plain_lines(tmp_path, monkeypatch):
    from trajml.pipelines import run_pipeline

    make_systems(tmp_path, 2)
    stages = "stages:\n  - {stage: info, stop: 4}\n  - {stage: rdf, id: rdf_li_o, select_a: name Li, " \
             "select_b: name O, r_max: 8.0, n_bins: 20, stop: 4}\n"
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), stages))
    err = io.StringIO()  # like a SLURM output file: not a terminal
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("TRAJML_PROGRESS_INTERVAL", "0.02")  # heartbeats between units
    summary = run_pipeline(str(path), scheduler="serial", progress=True, report=False)
    text = err.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert all(STAMP.match(line) for line in lines), text
    assert "run " in lines[0] and "4 units to run (info 2, rdf_li_o 2)" in lines[0]
    for unit in ("sys0/info", "sys1/info", "sys0/rdf_li_o", "sys1/rdf_li_o"):
        assert any(line.endswith(f"{unit}: started") for line in lines)
        assert any(re.search(rf"{unit}: computed in \d+\.\d s \(\w+ \d/2\)$", line) for line in lines)
    finish = [line for line in lines if "stage rdf_li_o: finished 2 units in" in line]
    assert len(finish) == 1
    own = summary.stages()["rdf_li_o"]["wall_s"]
    assert float(re.search(r"in (\d+\.\d) s", finish[0]).group(1)) == round(own, 1)
    assert any(re.search(r"run \S+: \d/4 units finished after \d+ s; stages not finished: ", line) for line in lines)
    assert own <= summary.wall_s and "rdf_li_o: 2 computed;" in summary.text()


def test_no_progress_prints_nothing(tmp_path, monkeypatch):
    from trajml.pipelines import run_pipeline

    make_systems(tmp_path, 1)
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), "stages:\n  - {stage: info, stop: 4}\n"))
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    run_pipeline(str(path), scheduler="serial", progress=False, report=False)
    assert err.getvalue() == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_each_stage_bar_closes_at_its_last_unit(tmp_path, monkeypatch):
    from trajml.pipelines import run_pipeline

    make_systems(tmp_path, 2)
    stages = "stages:\n  - {stage: info, stop: 4}\n  - {stage: info, id: again, stop: 3}\n"
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), stages))
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    summary = run_pipeline(str(path), scheduler="serial", progress=True, report=False)
    assert summary.computed == 4
    text = term.getvalue()
    assert "\r" in text  # bars, not lines
    for sid in ("info", "again"):
        assert re.search(rf"{sid}\s+: 100%.*2/2", text), text
    assert not STAMP.search(text)
