"""Faults the hostile tally (benchmarks/bench_hostile.py) found, each refused with a message naming its cause.

A locked outputs folder printed a traceback; 1e12 bins died with a MemoryError; a box given in radians
was blamed on the trajectory ("frame 2 is implausible, the file is probably damaged"); a --plot file
Matplotlib cannot write failed only after the analysis, without naming the flag.
"""

from __future__ import annotations

import json
import os
import socket

import pytest

from trajml.cli import main
from trajml.errors import InvalidParameterError
from trajml.pipelines.outputs import claim_outputs

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_a_locked_outputs_folder_is_a_message_not_a_traceback(tmp_path, capsys, spe_files):
    top, traj = spe_files
    out = tmp_path / "out"
    claim_outputs(str(out))  # a trajml outputs folder (its marker)
    # A live run of this host holds the folder: this very process.
    (out / ".trajml-lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                  "started": "2026-01-01T00:00:00"}))
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"version: 1\ninputs:\n  - name: s\n    topology: {top}\n    trajectory: {traj}\n"
                        f"stages:\n  - info\noutputs: {out}\n")
    assert main(["run", str(pipeline), "--scheduler", "serial", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("trajml run: error: The outputs folder ") and "is in use by another trajml run" in err
    assert f"PID {os.getpid()}" in err and "Traceback" not in err


def test_a_bin_count_that_cannot_fit_in_memory_is_refused_by_its_flag(capsys, spe_files):
    top, traj = spe_files
    with pytest.raises(SystemExit) as exc:  # refused while the command line is parsed
        main(["rdf", top, traj, "--select-a", "name Li", "--n-bins", "1000000000000", "--no-progress"])
    assert exc.value.code == 2
    assert "argument --n-bins: must be an int in [1, 10000000]. Got 1000000000000 instead." in capsys.readouterr().err


def test_a_bin_count_that_cannot_fit_in_memory_is_refused_in_python():
    from trajml import RDF

    with pytest.raises(InvalidParameterError, match=r"'n_bins' parameter of RDF must be an int in \[1, 10000000\]"):
        RDF(select_a="name Li", n_bins=10 ** 12)


def test_box_angles_in_radians_are_refused_before_any_frame_is_blamed(capsys, spe_files):
    top, traj = spe_files
    with pytest.raises(SystemExit) as exc:
        main(["rdf", top, traj, "--select-a", "name Li", "--box", "30", "30", "30", "1.5708", "1.5708", "1.5708",
              "--no-progress"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "argument --box: " in err and "angles in degrees, not radians" in err
    assert "implausible" not in err


def test_box_angles_in_radians_are_refused_in_python(spe_files):
    from trajml.io import open_source

    with pytest.raises(InvalidParameterError, match=r"'box' parameter .*not radians \(all three of 1\.57 1\.57 1\.57"):
        open_source(*spe_files, box=[30, 30, 30, 1.57, 1.57, 1.57])


def test_a_plot_format_matplotlib_cannot_write_is_refused_before_the_analysis(tmp_path, capsys, spe_files):
    top, traj = spe_files
    csv = tmp_path / "g.csv"
    assert main(["rdf", top, traj, "--select-a", "name Li", "--plot", str(tmp_path / "fig.xyz"), "-o", str(csv),
                 "--no-progress"]) == 1
    assert "argument --plot: '" in capsys.readouterr().err
    assert not csv.exists()  # refused before anything was computed
