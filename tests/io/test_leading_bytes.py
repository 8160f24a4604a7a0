"""Empty files and files whose first bytes are not their format's are refused by name, with no traceback.

MDAnalysis' XDR readers fail half-way through their construction on such files, and the half-built
reader prints an ``Exception ignored ... AttributeError`` traceback when it is collected; the oracle
is the published layouts (XTC magic 1995, TRR magic 1993, DCD's first record marker 84).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from trajml.data import sample_topology, sample_trajectory
from trajml.errors import CorruptTrajectoryError
from trajml.io import open_source


@pytest.mark.parametrize("ext", ["xtc", "trr", "dcd"])
def test_empty_trajectory_is_named(tmp_path, ext):
    path = tmp_path / f"run.{ext}"
    path.write_bytes(b"")
    with pytest.raises(CorruptTrajectoryError, match=rf"run\.{ext}' is empty \(0 bytes\)"):
        open_source(sample_topology(), str(path))


@pytest.mark.parametrize(("ext", "what"), [("xtc", "an XTC file"), ("trr", "a TRR file"), ("dcd", "a DCD file")])
def test_random_bytes_are_not_the_format(tmp_path, ext, what):
    path = tmp_path / f"run.{ext}"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptTrajectoryError, match=rf"run\.{ext}' is not {what}: it starts with "):
        open_source(sample_topology(), str(path))


def test_an_xtc_given_the_wrong_extension_is_refused_by_its_bytes(tmp_path):
    path = tmp_path / "run.trr"
    shutil.copyfile(sample_trajectory(), path)
    with pytest.raises(CorruptTrajectoryError, match=r"run\.trr' is not a TRR file: .*magic number 1995"):
        open_source(sample_topology(), str(path))


def test_the_command_line_prints_the_message_and_no_traceback(tmp_path):
    path = tmp_path / "run.xtc"
    path.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "trajml", "info", sample_topology(), str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "run.xtc' is empty (0 bytes)" in proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
