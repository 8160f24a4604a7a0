"""Progress in a batch log: timestamped lines with each unit's own seconds, no cursor codes; bars on a terminal."""

from __future__ import annotations

import io
import re
import sys

import numpy as np
import pytest

from trajml._progress import LineProgress, heartbeat_interval, progress_bar

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _assert_plain(text: str) -> list[str]:
    """No carriage returns or escape sequences, and every line timestamped."""
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines and all(LINE.match(line) for line in lines), text
    return lines


def test_lines_say_started_heartbeat_and_finished_with_own_seconds():
    out = io.StringIO()
    bar = LineProgress(3, "VAMPNet", "epoch", stream=out, interval=0.0)
    bar.set_postfix(train="0.900")
    bar.update(1)
    bar.close()
    bar.close()  # once only
    lines = _assert_plain(out.getvalue())
    assert len(lines) == 3
    assert lines[0].endswith("VAMPNet: started (3 epochs)")
    assert lines[1].endswith("VAMPNet: 1/3 epochs, 0 s; train=0.900")
    assert re.search(r"VAMPNet: finished 1/3 epochs in \d+\.\d s; train=0.900$", lines[2])


def test_heartbeat_waits_for_the_interval():
    out = io.StringIO()
    with LineProgress(1000, "chunks", "chunk", stream=out, interval=3600) as bar:
        for _ in range(1000):
            bar.update(1)
    assert len(_assert_plain(out.getvalue())) == 2  # started and finished only


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRAJML_PROGRESS_INTERVAL", "5")
    assert heartbeat_interval() == 5.0
    for bad in ("soon", "-1"):
        monkeypatch.setenv("TRAJML_PROGRESS_INTERVAL", bad)
        assert heartbeat_interval() == 30.0
    monkeypatch.delenv("TRAJML_PROGRESS_INTERVAL")
    assert heartbeat_interval() == 30.0


def test_a_bar_on_a_terminal_lines_elsewhere_nothing_when_off():
    from tqdm import tqdm

    term = _Terminal()
    bar = progress_bar(2, "x", "step", True, stream=term)
    assert isinstance(bar, tqdm)
    bar.close()
    assert isinstance(progress_bar(2, "x", "step", True, stream=io.StringIO()), LineProgress)
    silent = io.StringIO()
    off = progress_bar(2, "x", "step", False, stream=silent)
    off.update(1)
    off.set_postfix(a=1)
    off.close()
    assert silent.getvalue() == ""


def test_engine_chunk_loop_logs_plain_lines(monkeypatch):
    from trajml.data import sample_topology, sample_trajectory
    from trajml.features import RDF
    from trajml.io import open_source
    from trajml.parallel import run

    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("TRAJML_PROGRESS_INTERVAL", "0")
    run(RDF("name Li", "name O", r_max=8.0, n_bins=20), open_source(sample_topology(), sample_trajectory()),
        stop=12, chunk_size=4, progress=True)
    lines = _assert_plain(err.getvalue())
    assert lines[0].endswith("RDF: started (3 chunks)")
    assert re.search(r"RDF: finished 3/3 chunks in \d+\.\d s$", lines[-1])


def test_vampnet_training_logs_epochs(monkeypatch):
    pytest.importorskip("torch")
    from trajml.kinetics.deep import VAMPNet

    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("TRAJML_PROGRESS_INTERVAL", "0")
    x = np.random.default_rng(0).normal(size=(400, 2)).astype(np.float32)
    VAMPNet(2, hidden=(4,), lag=2, epochs=3, batch_size=64, patience=None, progress=True).fit(x)
    lines = _assert_plain(err.getvalue())
    assert lines[0].endswith("VAMPNet: started (3 epochs)")
    assert any("VAMPNet: 0/3 epochs, " in line for line in lines)  # a heartbeat inside the first epoch
    assert any(re.search(r"VAMPNet: 2/3 epochs, \d+ s; train=-?\d\.\d{3}, validation=", line) for line in lines)
    assert "VAMPNet: finished 3/3 epochs in " in lines[-1]
