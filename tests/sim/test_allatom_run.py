"""Tests of ``trajml simulate --model all-atom``: parameters, force-field file, builder, a tiny run, CLI."""

from __future__ import annotations

import argparse
import json
import os
import warnings

import numpy as np
import pytest

from trajml.sim.allatom_builder import MIN_GAP, build_allatom
from trajml.sim.allatom_forcefield import atom_type_table, forcefield_path
from trajml.sim.allatom_parameters import AllAtomParameters

# 1 chain CH3O(CH2CH2O)4CH3 (5 ether O) + 1 LiTFSI: 53 atoms in a 25.6 Å box.
TINY = dict(n_chains=1, eo_units=4, eo_li_ratio=5.0, initial_density=0.05, cutoff=8.0, n_equilibration=200,
            n_steps=100, save_interval=50, compression_pressure=1.0, threads=1, timestep=0.001)


def _min_image(d: np.ndarray, box: float) -> np.ndarray:
    return d - box * np.round(d / box)


# --------------------------------------------------------------------------- parameters
def test_derived_counts():
    p = AllAtomParameters(n_chains=3, eo_units=10, eo_li_ratio=11.0)
    assert p.n_ether_oxygen == 33 and p.n_li == 3 and p.n_anions == 3
    assert p.atoms_per_chain == 3 * 2 + 1 + 10 * 7 + 2  # CH3 O (CH2CH2O)10 CH3: 2 methyl C + 6 H, 11 O, 70
    assert p.n_atoms == 3 * p.atoms_per_chain + 3 * 16


@pytest.mark.parametrize("kwargs, match", [
    (dict(charge_scale=1.5), r"'charge_scale' parameter of AllAtomParameters"),
    (dict(timestep=0.004), r"'timestep' parameter of AllAtomParameters"),
    (dict(timestep=0.005, hydrogen_mass=3.024), r"'timestep' parameter of AllAtomParameters"),
    (dict(hydrogen_mass=1.0), r"'hydrogen_mass' parameter of AllAtomParameters.*amu"),
    (dict(hydrogen_mass=5.0), r"'hydrogen_mass' parameter of AllAtomParameters"),
    (dict(eo_units=0), r"'eo_units' parameter of AllAtomParameters"),
    (dict(n_steps=1001, save_interval=500), r"'n_steps' parameter .* multiple of 'save_interval'"),
    (dict(n_chains=1, eo_units=2, eo_li_ratio=100.0), r"'eo_li_ratio' parameter .* at least one Li"),
])
def test_parameter_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AllAtomParameters(**kwargs)


# --------------------------------------------------------------------------- force field and builder
def test_forcefield_xml_loads_in_openmm_and_types_are_complete():
    app = pytest.importorskip("openmm.app")
    ff = app.ForceField(forcefield_path())
    assert {"PEH", "PEM", "PET", "LI", "TFSI"} <= set(ff._templates)  # noqa: SLF001
    table = atom_type_table()
    assert set(table) == {"OS", "CT3", "CT2", "HC", "Li", "CBT", "SBT", "NBT", "OBT", "F1"}
    # Published CL&P TFSI charges sum to -1, Li to +1 (formal; scaled at build time).
    tfsi = {"NBT": 1, "SBT": 2, "OBT": 4, "CBT": 2, "F1": 6}
    assert sum(table[t].charge * n for t, n in tfsi.items()) == pytest.approx(-1.0, abs=1e-12)
    assert table["Li"].charge == 1.0


def test_builder_counts_charges_and_no_overlaps():
    p = AllAtomParameters(n_chains=2, eo_units=6, eo_li_ratio=7.0, initial_density=0.2, seed=1)
    top, pos = build_allatom(p)
    assert top.n_atoms == p.n_atoms == pos.shape[0]
    assert top.counts() == {"PEO": 2, "TFSI": 2, "LI": 2}
    assert np.sum(top.charges) == pytest.approx(0.0, abs=1e-12)
    for resid in np.unique(top.resids[top.resnames != "PEO"]):
        q = np.sum(top.charges[top.resids == resid])
        assert abs(q) == pytest.approx(0.8, abs=1e-12)
    # Every bond near its force-field length; atoms of different molecules at least MIN_GAP apart.
    d = np.linalg.norm(pos[top.bonds[:, 0]] - pos[top.bonds[:, 1]], axis=1)
    assert 1.0 < d.min() and d.max() < 1.9
    diff = _min_image(pos[:, None] - pos[None], top.box_length)
    r = np.linalg.norm(diff, axis=-1)
    other = top.resids[:, None] != top.resids[None]
    assert r[other].min() >= MIN_GAP - 1e-9


def test_builder_redraws_a_chain_that_finds_no_room(monkeypatch):
    import trajml.sim.allatom_builder as builder

    p = AllAtomParameters(n_chains=2, eo_units=6, eo_li_ratio=7.0, initial_density=0.2, seed=1)
    first, first_pos = build_allatom(p)
    real, calls = builder._place, []  # noqa: SLF001

    def place_failing_once(placed, xyz, box, rng, rotate, label, tries=builder._MAX_TRIES):  # noqa: SLF001
        calls.append(label)
        if calls.count("molecule 2 (PEO)") == 1:
            raise ValueError("no room")
        return real(placed, xyz, box, rng, rotate, label, tries)

    monkeypatch.setattr(builder, "_place", place_failing_once)
    top, pos = build_allatom(p)
    assert calls.count("molecule 2 (PEO)") == 2
    np.testing.assert_array_equal(top.types, first.types)
    chain1 = top.resids == 1
    np.testing.assert_array_equal(pos[chain1], first_pos[chain1])  # the chain placed first time is unchanged
    assert not np.allclose(pos[top.resids == 2], first_pos[top.resids == 2])
    r = np.linalg.norm(_min_image(pos[:, None] - pos[None], top.box_length), axis=-1)
    assert r[top.resids[:, None] != top.resids[None]].min() >= MIN_GAP - 1e-9

    monkeypatch.setattr(builder, "_place", lambda *a, **k: (_ for _ in ()).throw(ValueError("no room")))
    with pytest.raises(ValueError, match=r"molecule 1 \(PEO\) .* 6 chain shapes .* seed 1\); lower 'initial_density'"):
        build_allatom(p)


def test_builder_refuses_an_impossible_density():
    with pytest.raises(ValueError, match="lower 'initial_density'"):
        build_allatom(AllAtomParameters(n_chains=4, eo_units=20, initial_density=3.0))


def test_cutoff_longer_than_half_the_box_is_refused():
    pytest.importorskip("openmm")
    from trajml.sim.allatom_system import build_allatom_system

    top, _ = build_allatom(AllAtomParameters(**{**TINY, "initial_density": 0.35}))
    with pytest.raises(ValueError, match="'cutoff' parameter .* below half"):
        build_allatom_system(top, cutoff=12.0)


def test_hydrogen_mass_repartitioning_keeps_each_molecule_mass():
    pytest.importorskip("openmm")
    from trajml.sim.allatom_system import build_allatom_system

    top, _ = build_allatom(AllAtomParameters(**{**TINY, "initial_density": 0.35}))
    systems = (build_allatom_system(top, cutoff=5.0), build_allatom_system(top, cutoff=5.0, hydrogen_mass=3.024))
    masses = [np.array([s.getParticleMass(i)._value for i in range(top.n_atoms)]) for s in systems]  # noqa: SLF001
    is_h = np.array([str(n).startswith("H") for n in top.names])
    np.testing.assert_allclose(masses[0][is_h], 1.008)
    np.testing.assert_allclose(masses[1][is_h], 3.024)
    resids = np.asarray(top.resids)
    np.testing.assert_allclose(np.bincount(resids, masses[1]), np.bincount(resids, masses[0]), atol=1e-9)
    assert (masses[1][~is_h] <= masses[0][~is_h]).all() and (masses[1][~is_h] < masses[0][~is_h]).any()


# --------------------------------------------------------------------------- a tiny run
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    pytest.importorskip("openmm")
    pytest.importorskip("MDAnalysis")
    from trajml.sim import simulate_allatom

    out = tmp_path_factory.mktemp("aa")
    params = AllAtomParameters(**TINY)
    return params, simulate_allatom(params, output_dir=out, name="tiny", progress=False), out


def test_tiny_run_writes_finite_frames_psf_and_metadata(tiny_run):
    import MDAnalysis as mda

    params, result, out = tiny_run
    assert sorted(os.listdir(out)) == ["tiny.json", "tiny.psf", "tiny.xtc"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(result.topology, result.trajectory)
    assert u.atoms.n_atoms == params.n_atoms and len(u.trajectory) == 2
    # Molecules from the PSF bonds: the chain, one TFSI, one Li.
    assert len(u.atoms.fragments) == 3
    assert sorted(u.residues.resnames) == ["LI", "PEO", "TFSI"]
    tfsi = u.select_atoms("resname TFSI")
    assert tfsi.n_atoms == 15 and tfsi.total_charge() == pytest.approx(-0.8, abs=1e-5)
    assert u.select_atoms("resname LI").total_charge() == pytest.approx(0.8, abs=1e-5)
    assert u.atoms.total_charge() == pytest.approx(0.0, abs=1e-5)
    assert u.select_atoms("name OE").n_atoms == params.n_ether_oxygen
    assert u.select_atoms("name OT").n_atoms == 4
    assert u.atoms.masses.sum() == pytest.approx(params.total_mass, rel=1e-6)
    for ts in u.trajectory:
        assert np.all(np.isfinite(ts.positions))
    meta = json.load(open(result.metadata))
    assert meta["model"] == "all-atom" and meta["force_field"]["charge_scale"] == 0.8
    assert "Canongia Lopes" in meta["force_field"]["sources"]["TFSI"]
    assert meta["parameters"] == params.to_dict()
    assert meta["protocol"]["masses"] == "force-field masses"
    assert np.all(np.isfinite(meta["thermo"]["temperature_k"]))
    assert meta["performance"]["ns_per_day"] > 0 and meta["platform"]["name"] == "CPU"


# --------------------------------------------------------------------------- CLI
def _parser():
    from trajml.cli.simulate import register

    parser = argparse.ArgumentParser(prog="trajml")
    register(parser.add_subparsers(dest="command"))
    return parser


def test_cli_model_all_atom_builds_all_atom_parameters():
    from trajml.cli.simulate import parameters_from_args

    args = _parser().parse_args(["simulate", "--model", "all-atom", "--eo-units", "5", "--n-chains", "2"])
    p = parameters_from_args(args)
    assert isinstance(p, AllAtomParameters) and p.eo_units == 5 and p.n_chains == 2
    assert p.temperature == AllAtomParameters().temperature and p.hydrogen_mass is None
    args = _parser().parse_args(["simulate", "--model", "all-atom", "--hydrogen-mass", "3.024", "--timestep", "0.004"])
    p = parameters_from_args(args)
    assert p.hydrogen_mass == 3.024 and p.timestep == 0.004


def test_cli_refuses_an_option_of_the_other_model(tmp_path, capsys):
    parser = _parser()
    args = parser.parse_args(["simulate", "--eo-units", "5", "-o", str(tmp_path)])
    assert args.func(args) == 2
    assert "'--eo-units' option of simulate applies to --model all-atom only" in capsys.readouterr().err
    args = parser.parse_args(["simulate", "--model", "all-atom", "--debye-length", "5", "-o", str(tmp_path)])
    assert args.func(args) == 2
    assert "'--debye-length' option of simulate applies to --model cg only" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_cli_help_lists_the_all_atom_knobs():
    sub = _parser()._subparsers._group_actions[0].choices["simulate"]  # noqa: SLF001
    text = sub.format_help()
    assert "--model {cg,all-atom}" in text
    for field in AllAtomParameters.__dataclass_fields__:
        flag = "--format" if field == "trajectory_format" else "--" + field.replace("_", "-")
        assert flag in text, flag


def test_cli_from_json_repeats_an_all_atom_run(tiny_run):
    from trajml.cli.simulate import parameters_from_args

    params, result, _ = tiny_run
    args = _parser().parse_args(["simulate", "--from-json", result.metadata, "--seed", "7"])
    assert parameters_from_args(args) == params.replace(seed=7)


# --------------------------------------------------------------------------- bundled sample
def test_bundled_allatom_sample():
    mda = pytest.importorskip("MDAnalysis")
    from trajml import data

    top, traj, meta = data.sample_aa_topology(), data.sample_aa_trajectory(), data.sample_aa_parameters()
    folder = os.path.dirname(top)
    files = ["spe_aa_sample.psf", "spe_aa_sample.xtc", "spe_aa_sample.json", "README.md"]
    assert all(os.path.isfile(os.path.join(folder, f)) for f in files)
    assert sum(os.path.getsize(os.path.join(folder, f)) for f in files) < 5 * 1024**2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(top, traj)
    p = AllAtomParameters.from_dict(meta["parameters"])
    assert u.atoms.n_atoms == p.n_atoms == meta["derived"]["n_atoms"]
    assert len(u.trajectory) == p.n_frames
    assert len(u.atoms.fragments) == p.n_chains + 2 * p.n_li
    assert u.atoms.total_charge() == pytest.approx(0.0, abs=1e-4)
    assert meta["model"] == "all-atom" and meta["force_field"]["charge_scale"] == p.charge_scale
    readme = open(data.sample_aa_readme(), encoding="utf-8").read()
    assert "ns/day" in readme and "--model all-atom" in readme


def test_cli_refuses_a_model_other_than_the_json_run(tmp_path):
    from trajml.cli.simulate import parameters_from_args

    path = tmp_path / "cg.json"
    path.write_text(json.dumps({"parameters": {"n_chains": 4}}))
    args = _parser().parse_args(["simulate", "--from-json", str(path), "--model", "all-atom"])
    with pytest.raises(ValueError, match="'--model' option of simulate is 'all-atom' but --from-json names a 'cg' run"):
        parameters_from_args(args)
