"""Series stores left by killed processes are found by the PID and host in their names and removed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from trajml.transport.store import SeriesStore, remove_stale_series_stores


def test_only_the_stores_of_dead_processes_of_this_host_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    stale = tmp_path / f"trajml-series-{dead.pid}@{host}.ab12cd"
    stale.mkdir()
    (stale / "msd.npy.part").write_bytes(b"\0" * 64)
    other_host = tmp_path / f"trajml-series-{dead.pid}@elsewhere.invalid.ab12cd"
    other_host.mkdir()
    foreign = tmp_path / "trajml-series-notours"
    foreign.mkdir()
    with SeriesStore(tmp_path) as live:
        assert os.path.basename(live.folder).startswith(f"trajml-series-{os.getpid()}@{host}.")
        assert remove_stale_series_stores(tmp_path) == [str(stale)]
        assert os.path.isdir(live.folder)
    assert not stale.exists() and other_host.is_dir() and foreign.is_dir()
