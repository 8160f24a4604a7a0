"""``trajml rdf``, ``coordination`` and ``solvation``: outputs equal the Python API; bad input is named."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from trajml.cli import main
from trajml.features import RDF, Coordination, Solvation
from trajml.io import open_source
from trajml.parallel import run


def read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0].startswith("# trajml ")  # the provenance line, then the column names
    return rows[1], np.array(rows[2:], dtype=float)


def test_rdf_csv_equals_api(spe_files, tmp_path, capsys):
    out, png = tmp_path / "rdf.csv", tmp_path / "rdf.png"
    code = main(["rdf", *spe_files, "--select-a", "name Li", "--select-b", "name O", "--r-max", "12", "--n-bins", "48",
                 "--chunk-size", "5", "--plot", str(png), "-o", str(out), "--no-progress"])
    assert code == 0
    header, data = read_csv(out)
    assert header == ["r", "g", "n"]
    ref = run(RDF("name Li", "name O", r_max=12.0, n_bins=48), open_source(*spe_files), progress=False)
    np.testing.assert_allclose(data[:, 0], ref.r, rtol=1e-11)
    np.testing.assert_allclose(data[:, 1], ref.g, rtol=1e-11)
    np.testing.assert_allclose(data[:, 2], ref.n, rtol=1e-11)
    assert png.stat().st_size > 1000
    assert "first peak" in capsys.readouterr().out


def test_rdf_frames_and_exclusion_options(spe_files, capsys):
    assert main(["rdf", *spe_files, "--select-a", "name O", "--exclude", "molecule", "--r-max", "10", "--n-bins", "20",
                 "--start", "2", "--stop", "10", "--step", "2", "--no-progress"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0] == "r,g,n" and len(lines) == 21
    ref = run(RDF("name O", r_max=10.0, n_bins=20, exclude="molecule"), open_source(*spe_files), start=2, stop=10,
              step=2, progress=False)
    np.testing.assert_allclose(np.array([row.split(",") for row in lines[1:]], dtype=float)[:, 1], ref.g,
                               rtol=1e-11)
    assert "frames: 4" in captured.err and "exclude = molecule" in captured.err


def test_coordination_csv_equals_api(spe_files, tmp_path, capsys):
    out = tmp_path / "cn.csv"
    assert main(["coordination", *spe_files, "--select-a", "name Li", "--select-b", "name O", "--cutoff", "5",
                 "-o", str(out), "--no-progress"]) == 0
    header, data = read_csv(out)
    assert header == ["count", "probability"]
    ref = run(Coordination("name Li", "name O", cutoff=5.0), open_source(*spe_files), progress=False)
    np.testing.assert_array_equal(data[:, 0], ref.count)
    np.testing.assert_allclose(data[:, 1], ref.probability, rtol=1e-11)
    text = capsys.readouterr().out
    assert f"mean coordination number: {ref.mean:.6g}" in text and "cutoff: 5 Å (given)" in text


def test_solvation_json_equals_api(spe_files, tmp_path, capsys):
    out, png = tmp_path / "solv.json", tmp_path / "solv.png"
    assert main(["solvation", *spe_files, "--cutoff-o", "5", "--cutoff-anion", "7", "--scheduler", "threads",
                 "-o", str(out), "--plot", str(png), "--no-progress"]) == 0
    data = json.loads(out.read_text())
    ref = run(Solvation(cutoff_o=5.0, cutoff_anion=7.0), open_source(*spe_files), progress=False)
    for key in ("fraction_free", "fraction_cip", "fraction_agg", "mean_n_o", "mean_n_chains"):
        assert data[key] == pytest.approx(getattr(ref, key), abs=1e-15)
    np.testing.assert_allclose(data["composition"], ref.composition)
    assert data["units"]["cutoff_o"] == "Å"
    assert png.stat().st_size > 1000
    assert "speciation: free" in capsys.readouterr().out


def test_commands_default_to_the_bundled_sample(tmp_path, capsys):
    try:
        from trajml.data import sample_topology

        sample_topology()
    except FileNotFoundError as exc:  # pragma: no cover - the sample ships with trajml
        pytest.skip(str(exc))
    out = tmp_path / "rdf.csv"
    assert main(["rdf", "--select-a", "name Li", "--select-b", "name O", "--stop", "5", "-o", str(out),
                 "--no-progress"]) == 0
    header, data = read_csv(out)
    assert header == ["r", "g", "n"] and data.shape == (150, 3)
    assert main(["coordination", "--select-a", "name Li", "--select-b", "name O", "--stop", "5", "--cutoff-frames",
                 "20", "--no-progress"]) == 0
    assert main(["solvation", "--stop", "5", "--cutoff-frames", "20", "-o", str(tmp_path / "s.json"),
                 "--no-progress"]) == 0
    assert "first minimum of g(r)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["rdf", "--select-a", "name Zz"], r"Selection 'name Zz' matched no atom"),
    (["rdf", "--select-a", "name Li", "--r-max", "40"],
     r"argument --r-max: must be at most half the smallest perpendicular box width, 15 Å"),
    (["coordination", "--select-a", "name Li", "--select-b", "resname NOPE"],
     r"Selection 'resname NOPE' matched no atom"),
    (["coordination", "--select-a", "name Li", "--select-b", "name O", "--cutoff", "30"],
     r"argument --cutoff: must be at most half"),
    (["solvation", "--anion", "name PF6", "--cutoff-o", "3", "--cutoff-anion", "3"],
     r"Selection 'name PF6' matched no atom"),
    (["rdf", "--select-a", "name Li", "--r-min", "20"], r"argument --r-min: must be a float in \[0, 15\) Å"),
])
def test_bad_input_exits_nonzero_naming_the_problem(spe_files, capsys, argv, message):
    code = main([argv[0], *spe_files, *argv[1:], "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert f"trajml {argv[0]}: error:" in err
    assert __import__("re").search(message, err), err


@pytest.mark.parametrize("argv, option", [
    (["rdf", "--select-a", "name Li", "--n-bins", "0"], "--n-bins"),
    (["rdf", "--select-a", "name Li", "--r-max", "-3"], "--r-max"),
    (["coordination", "--select-a", "name Li", "--select-b", "name O", "--cutoff", "abc"], "--cutoff"),
    (["solvation", "--chunk-size", "0"], "--chunk-size"),
    (["rdf", "--select-b", "name O"], "--select-a"),
])
def test_invalid_options_are_rejected_by_name(spe_files, capsys, argv, option):
    with pytest.raises(SystemExit) as exc:
        main([argv[0], *spe_files, *argv[1:]])
    assert exc.value.code == 2
    assert option in capsys.readouterr().err


def test_missing_file_is_named(tmp_path, capsys):
    missing = str(tmp_path / "nope.xtc")
    code = main(["rdf", str(tmp_path / "top.pdb"), missing, "--select-a", "name Li", "--no-progress"])
    assert code == 1
    assert "top.pdb" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["rdf", "coordination", "solvation"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--scheduler" in text and "--chunk-size" in text and "bundled sample" in text
