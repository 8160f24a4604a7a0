"""Every output file of the command line says what made it: trajml version, the command, every parameter."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from trajml._version import __version__
from trajml.cli import main
from trajml.cli._common import provenance, provenance_comment, write_csv, write_json


def _args(**kw):
    return argparse.Namespace(command="rdf", func=main, argv=["rdf", "a b.pdb", "--r-max", "12"], **kw)


def test_provenance_has_version_command_and_every_parameter():
    p = provenance(_args(r_max=12.0, select=("name Li",), output="out dir/rdf.csv"))
    assert p["version"] == __version__
    assert p["command"] == "trajml rdf 'a b.pdb' --r-max 12"  # quoted as a shell would need it
    assert p["parameters"] == {"output": "out dir/rdf.csv", "r_max": 12.0, "select": ["name Li"]}
    line = provenance_comment(_args(path="new\nline"))
    assert line.startswith(f"# trajml {__version__}; command: trajml rdf ") and "\n" not in line


def test_csv_file_has_one_comment_line_then_the_columns(tmp_path):
    out = tmp_path / "t.csv"
    write_csv(str(out), {"r": np.array([1.0, 2.0]), "n": np.array([3, 4])}, _args(r_max=12.0))
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# trajml ") and lines[1] == "r,n" and lines[2] == "1,3"
    np.testing.assert_array_equal(np.loadtxt(out, delimiter=",", skiprows=2), [[1, 3], [2, 4]])
    pd = pytest.importorskip("pandas")
    assert list(pd.read_csv(out, comment="#").columns) == ["r", "n"]


def test_stdout_stays_plain(capsys):
    write_csv("-", {"r": np.array([1.0])}, _args())
    assert capsys.readouterr().out == "r\n1\n"
    write_json("-", '{"a": 1}', _args())
    assert json.loads(capsys.readouterr().out) == {"a": 1}


def test_json_file_gets_a_trajml_key(tmp_path):
    out = tmp_path / "t.json"
    write_json(str(out), '{"a": 1}', _args(r_max=12.0))
    data = json.loads(out.read_text())
    assert data["a"] == 1 and data["trajml"]["version"] == __version__
    assert data["trajml"]["parameters"]["r_max"] == 12.0


def test_rdf_csv_and_fes_npz_name_their_command(spe_files, tmp_path, capsys):
    csv_path = tmp_path / "rdf.csv"
    assert main(["rdf", *spe_files, "--select-a", "name Li", "--select-b", "name O", "--stop", "4",
                 "--no-progress", "-o", str(csv_path)]) == 0
    first = csv_path.read_text().splitlines()[0]
    assert first.startswith(f"# trajml {__version__}; command: trajml rdf ") and '"stop": 4' in first
    # trajml fes reads a CSV that starts with a provenance line
    from trajml.cli.fes import read_array

    data, names = read_array(str(csv_path), "CVS")
    assert names == ["r", "g", "n"] and data.shape[1] == 3


def test_fes_npz_has_a_provenance_entry(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=2000)
    np.save(tmp_path / "cv.npy", x)
    npz = tmp_path / "fes.npz"
    assert main(["fes", str(tmp_path / "cv.npy"), "--method", "hist", "--temperature", "300",
                 "--bins", "20", "--range", "-5", "5", "-o", str(npz)]) == 0
    with np.load(npz) as d:
        prov = json.loads(str(d["provenance"]))
    assert prov["version"] == __version__ and prov["command"].startswith("trajml fes ")
    assert prov["parameters"]["method"] == "hist" and prov["parameters"]["bins"] == [20]


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_plot_metadata_names_the_command(tmp_path, suffix):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from trajml.cli._common import save_plot

    fig = plt.figure()
    path = tmp_path / f"p{suffix}"
    save_plot(fig, str(path), _args(r_max=12.0))
    plt.close(fig)
    data = path.read_bytes()
    assert f"trajml {__version__}".encode() in data
    if suffix == ".png":
        from PIL import Image

        info = json.loads(Image.open(path).info["Description"])
        assert info["command"].startswith("trajml rdf ") and info["parameters"]["r_max"] == 12.0
