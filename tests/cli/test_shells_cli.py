"""``trajml shells`` and species on ``trajml coordination``: outputs equal the Python API; bad input is named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trajml.cli import main
from trajml.features import Coordination, Solvation, SolvationShells
from trajml.io import open_source
from trajml.parallel import run


def test_shells_json_equals_api(spe_files, tmp_path, capsys):
    out = tmp_path / "shells.json"
    assert main(["shells", *spe_files, "--species", "O=name O", "anion=any:name TFSI", "--cutoffs", "O=5",
                 "anion=6.5", "--chains", "O", "-o", str(out), "--no-progress"]) == 0
    data = json.loads(out.read_text())
    ref = run(SolvationShells("name Li", {"O": "name O", "anion": "any:name TFSI"}, cutoffs={"O": 5.0, "anion": 6.5},
                              chains="O"), open_source(*spe_files), progress=False)
    for key in ("fraction_free", "fraction_cip", "fraction_agg", "mean_n_chains"):
        assert data[key] == pytest.approx(getattr(ref, key), abs=1e-15)
    np.testing.assert_array_equal(data["compositions"], ref.compositions)
    assert data["species"] == ["O", "anion"] and data["units"]["cutoffs"] == "Å"
    assert "speciation (anion): free" in capsys.readouterr().out


def test_coordination_takes_a_species_on_the_command_line(spe_files, tmp_path, capsys):
    out = tmp_path / "cn.csv"
    assert main(["coordination", *spe_files, "--select-a", "name Li", "--select-b", "any:name O", "--cutoff", "5",
                 "-o", str(out), "--no-progress"]) == 0
    ref = run(Coordination("name Li", "any:name O", cutoff=5.0), open_source(*spe_files), progress=False)
    assert f"mean coordination number: {ref.mean:.6g}" in capsys.readouterr().out
    atoms = run(Coordination("name Li", "name O", cutoff=5.0), open_source(*spe_files), progress=False)
    assert (ref.n_ligands, atoms.n_ligands) == (12, 48)  # the 12 chains are counted, not their 48 O
    assert ref.mean <= atoms.mean


def test_solvation_takes_species_on_the_command_line(spe_files, tmp_path):
    out = tmp_path / "solv.json"
    assert main(["solvation", *spe_files, "--polymer-o", "any:name O", "--anion", "any:name TFSI", "--cutoff-o", "5",
                 "--cutoff-anion", "7", "-o", str(out), "--no-progress"]) == 0
    data = json.loads(out.read_text())
    ref = run(Solvation(polymer_o="any:name O", anion="any:name TFSI", cutoff_o=5.0, cutoff_anion=7.0),
              open_source(*spe_files), progress=False)
    assert data["n_polymer_o"] == 12  # chains, not their 48 O
    for key in ("fraction_free", "fraction_cip", "fraction_agg", "mean_n_o", "mean_n_chains"):
        assert data[key] == pytest.approx(getattr(ref, key), abs=1e-15)
    assert ref.mean_n_o == ref.mean_n_chains


@pytest.mark.parametrize("argv, message", [
    (["shells", "--species", "O"], r"argument --species: must be NAME=SPECIES items"),
    (["shells", "--species", "O=name O", "--cutoffs", "O=-1"], r"argument --cutoffs: .*'O' has -1.0"),
    (["shells", "--species", "O=com[name O]:name O"], r"'site' \('name O'\) needs rule='any'"),
])
def test_invalid_shells_options_are_rejected_by_name(spe_files, capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main([argv[0], *spe_files, *argv[1:], "--no-progress"])
    assert exc.value.code == 2
    assert __import__("re").search(message, capsys.readouterr().err)


@pytest.mark.parametrize("argv, message", [
    (["shells", "--species", "O=name O", "--anions", "TFSI"],
     r"'anions' parameter of SolvationShells names 'TFSI', which is not a species; the species are 'O'"),
    (["shells", "--species", "O=name O", "anion=any:name TFSI", "--cutoffs", "O=4", "anion=16"],
     r"argument --cutoffs\[anion\]: must be at most half the smallest perpendicular box width, 15 Å"),
    (["coordination", "--select-a", "name Li", "--select-b", "residue-any:name Zz", "--cutoff", "4"],
     r"Selection 'name Zz' matched no atom"),
])
def test_bad_shells_input_exits_nonzero_naming_the_problem(spe_files, capsys, argv, message):
    code = main([argv[0], *spe_files, *argv[1:], "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert f"trajml {argv[0]}: error:" in err
    assert __import__("re").search(message, err), err
