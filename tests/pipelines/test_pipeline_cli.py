"""``trajml run``: the sub-command, built with its own register (the lead adds it to COMMANDS)."""

from __future__ import annotations

import argparse

import pytest
from pipeline_helpers import batch_yaml, make_systems, write_pipeline

from trajml.cli import run as run_cmd


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trajml")
    run_cmd.register(parser.add_subparsers(dest="command"))
    return parser


def test_check_lists_units_of_the_bundled_demo(capsys):
    args = _parser().parse_args(["run", "spe_demo", "--check"])
    # No --scheduler: the pipeline's scheduler_file or cluster if it has one, else "local".
    assert args.scheduler is None and not args.resume
    from trajml.pipelines import load_pipeline
    from trajml.pipelines.run_scheduler import resolve_placement

    assert resolve_placement(load_pipeline(run_cmd._resolve("spe_demo")), None, None, None).scheduler == "local"
    assert args.func(args) == 0
    assert "1 systems × 10 stages = 10 units" in capsys.readouterr().out


def test_run_prints_counts_and_report_then_reuses(tmp_path, capsys):
    make_systems(tmp_path, 2, corrupt=(1,))
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out")))
    args = _parser().parse_args(["run", str(path), "--scheduler", "serial", "--no-progress"])
    assert args.func(args) == 1  # a unit failed
    out = capsys.readouterr().out
    assert "8 units: 4 computed, 0 reused, 4 failed, 0 skipped" in out
    assert f"Report: {tmp_path / 'out' / 'report' / 'index.html'}" in out
    args = _parser().parse_args(["run", str(path), "--scheduler", "serial", "--no-progress", "--resume",
                                 "--outputs", str(tmp_path / "out")])
    assert args.func(args) == 1
    assert "4 reused" in capsys.readouterr().out


def test_workers_must_be_positive():
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "x.yaml", "--n-workers", "0"])


def test_run_logs_plain_lines_when_stderr_is_a_file(tmp_path, capsys):
    make_systems(tmp_path, 1)
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), "stages:\n  - {stage: info, stop: 4}\n"))
    args = _parser().parse_args(["run", str(path), "--scheduler", "serial"])  # progress by default
    assert args.func(args) == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.err and "\x1b" not in captured.err
    assert "sys0/info: started" in captured.err and "stage info: finished 1 units in " in captured.err
    assert "  info: 1 computed; " in captured.out
