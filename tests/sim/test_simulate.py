"""Tests of ``trajml simulate``: parameters, builder, PSF writer, OpenMM runs, CLI, bundled sample."""

from __future__ import annotations

import argparse
import json
import os
import warnings

import numpy as np
import pytest

from trajml.sim.builder import BOND_LENGTH, build_topology, initial_positions
from trajml.sim.parameters import SIGMA, UNIT_MAPPING, SimulationParameters
from trajml.sim.psf import write_psf

# A tiny system: 6 chains x 20 beads, 10 Li, 10 TFSI = 140 beads in a 27.4 Å box.
TINY = dict(
    n_chains=6,
    chain_length=20,
    eo_li_ratio=6.0,
    n_steps=400,
    save_interval=50,
    n_equilibration=200,
    debye_length=4.0,
    threads=1,
)
R0 = 1.5 * SIGMA


def _mda():
    return pytest.importorskip("MDAnalysis")


def _min_image(d: np.ndarray, box: float) -> np.ndarray:
    return d - box * np.round(d / box)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    pytest.importorskip("openmm")
    from trajml.sim import simulate

    out = tmp_path_factory.mktemp("tiny")
    params = SimulationParameters(**TINY)
    result = simulate(params, output_dir=out, name="tiny", write_pdb=True, progress=False)
    return params, result, out


# --------------------------------------------------------------------------- parameters
def test_defaults_are_valid_and_derived_counts():
    p = SimulationParameters()
    assert p.n_ether_oxygen == p.n_chains * (p.chain_length // 2)
    assert p.n_li == round(p.n_ether_oxygen / p.eo_li_ratio)
    assert p.n_anions == p.n_li
    assert p.n_beads == p.n_chains * p.chain_length + 2 * p.n_li
    assert p.box_length == pytest.approx((p.n_beads / p.density) ** (1 / 3))
    assert p.density * SIGMA**3 == pytest.approx(0.85)
    assert UNIT_MAPPING["tau_ps"] == pytest.approx(2.1, rel=0.01)


def test_to_dict_from_dict_round_trip():
    p = SimulationParameters(**TINY)
    d = p.to_dict()
    assert SimulationParameters.from_dict(json.loads(json.dumps(d))) == p
    with pytest.raises(ValueError, match="unknown parameter"):
        SimulationParameters.from_dict({**d, "bogus": 1})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_chains": 0}, r"'n_chains' parameter of SimulationParameters must be an int >= 1\. Got 0 instead"),
        ({"n_chains": 2.5}, r"'n_chains' .* int >= 1\. Got 2\.5"),
        ({"n_chains": True}, r"'n_chains'"),
        ({"chain_length": 1}, r"'chain_length' .* int >= 2\. Got 1"),
        ({"eo_li_ratio": 0.0}, r"'eo_li_ratio' .* \(0, inf\)\. Got 0\.0"),
        ({"eo_li_ratio": 1e9}, r"'eo_li_ratio' .* at least one Li"),
        ({"eps_li_o": -1.0}, r"'eps_li_o' .* \(0, inf\) kJ/mol\. Got -1\.0"),
        ({"k_angle": -0.1}, r"'k_angle' .* \[0, inf\) kJ/mol"),
        ({"anion_sigma": 0}, r"'anion_sigma' .* Å"),
        ({"debye_length": float("nan")}, r"'debye_length'"),
        ({"relative_permittivity": 0.0}, r"'relative_permittivity'"),
        ({"temperature": -300.0}, r"'temperature' .* K\. Got -300\.0"),
        ({"temperature": 1e-30}, r"'temperature' .* float in \(1, 10000\) K\. Got 1e-30"),
        ({"timestep": 0.0}, r"'timestep' .* ps"),
        ({"timestep": 1.0}, r"'timestep' .*\(0\.02 τ"),
        ({"friction": 0.0}, r"'friction'"),
        ({"n_steps": 0}, r"'n_steps'"),
        ({"n_steps": 1001, "save_interval": 100}, r"'n_steps' .* multiple of 'save_interval' \(100\)\. Got 1001"),
        ({"n_equilibration": -1}, r"'n_equilibration'"),
        ({"save_interval": 0}, r"'save_interval'"),
        ({"density": -0.1}, r"'density' .* beads/Å³"),
        ({"seed": -1}, r"'seed' .* int >= 0\. Got -1"),
        ({"trajectory_format": "trr"}, r"'trajectory_format' .* 'xtc', 'dcd'\. Got 'trr'"),
        ({"platform": "GPU"}, r"'platform' .* Got 'GPU'"),
        ({"threads": 0}, r"'threads' .* int >= 1"),
    ],
)
def test_parameter_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimulationParameters(**kwargs)


def test_parameters_are_frozen():
    p = SimulationParameters()
    with pytest.raises(AttributeError):
        p.n_chains = 3  # type: ignore[misc]


# --------------------------------------------------------------------------- builder and PSF (NumPy only)
def test_topology_arrays():
    p = SimulationParameters(**TINY)
    top = build_topology(p)
    counts = top.counts()
    assert counts == {"C": 60, "O": 60, "Li": 10, "TFSI": 10}
    assert top.n_beads == p.n_beads == 140
    assert top.charges.sum() == 0.0
    assert list(top.names[:4]) == ["C", "O", "C", "O"]
    assert top.bonds.shape == (p.n_chains * (p.chain_length - 1), 2)
    assert top.angles.shape == (p.n_chains * (p.chain_length - 2), 3)
    # Bonds never cross chains; resids: chains 1..6, then one per ion.
    assert np.all(top.resids[top.bonds[:, 0]] == top.resids[top.bonds[:, 1]])
    assert top.resids.max() == p.n_molecules
    assert set(top.resnames) == {"PEO", "LI", "TFSI"}
    assert np.all(top.sigmas[top.indices("TFSI")] == p.anion_sigma)


def test_initial_positions_random_walk_is_seeded():
    p = SimulationParameters(**TINY)
    top = build_topology(p)
    a = initial_positions(top, p.n_chains, p.chain_length, np.random.default_rng(5))
    b = initial_positions(top, p.n_chains, p.chain_length, np.random.default_rng(5))
    c = initial_positions(top, p.n_chains, p.chain_length, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    bond = np.linalg.norm(a[top.bonds[:, 0]] - a[top.bonds[:, 1]], axis=1)
    np.testing.assert_allclose(bond, BOND_LENGTH)


def test_psf_writer_round_trip_mdanalysis_and_mdtraj(tmp_path):
    mda = _mda()
    md = pytest.importorskip("mdtraj")
    p = SimulationParameters(**TINY)
    top = build_topology(p)
    path = tmp_path / "t.psf"
    write_psf(path, names=top.names, types=top.names, resnames=top.resnames, resids=top.resids,
              segids=top.segids, charges=top.charges, masses=top.masses, bonds=top.bonds)
    u = mda.Universe(str(path))
    assert u.atoms.n_atoms == 140
    assert list(u.atoms.names) == list(top.names)
    assert list(u.atoms.types) == list(top.names)
    np.testing.assert_allclose(u.atoms.charges, top.charges)
    np.testing.assert_allclose(u.atoms.masses, top.masses)
    np.testing.assert_array_equal(u.atoms.resids, top.resids)
    assert len(u.bonds) == len(top.bonds)
    assert {tuple(sorted(b)) for b in u.bonds.indices} == {tuple(sorted(b)) for b in top.bonds}
    t = md.load_psf(str(path))
    assert t.n_atoms == 140 and t.n_bonds == len(top.bonds)


def test_psf_writer_wide_fields(tmp_path):
    """More than 9999 molecules switch to the space-separated layout, still readable."""
    mda = _mda()
    md = pytest.importorskip("mdtraj")
    n = 10_050
    path = tmp_path / "wide.psf"
    write_psf(path, names=["Li"] * n, types=["Li"] * n, resnames=["LI"] * n, resids=np.arange(1, n + 1),
              segids=["LI"] * n, charges=np.ones(n), masses=np.full(n, 6.94), bonds=np.array([[0, 1]]))
    assert open(path).readline().startswith("PSF EXT NAMD")
    u = mda.Universe(str(path))
    assert u.atoms.n_atoms == n and u.atoms.resids[-1] == n and len(u.bonds) == 1
    np.testing.assert_allclose(u.atoms.masses, 6.94)
    assert md.load_psf(str(path)).n_atoms == n


def test_psf_writer_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="'charges' parameter of write_psf must have one entry per atom"):
        write_psf(tmp_path / "x.psf", names=["C"], types=["C"], resnames=["PEO"], resids=[1], segids=["PEO"],
                  charges=[0.0, 1.0], masses=[44.0], bonds=np.zeros((0, 2)))
    with pytest.raises(ValueError, match="'names' parameter of write_psf must hold non-empty strings"):
        write_psf(tmp_path / "x.psf", names=["C 1"], types=["C"], resnames=["PEO"], resids=[1], segids=["PEO"],
                  charges=[0.0], masses=[44.0], bonds=np.zeros((0, 2)))


# --------------------------------------------------------------------------- OpenMM runs
def test_outputs_exist_and_nothing_temporary_left(tiny_run):
    params, result, out = tiny_run
    names = sorted(os.listdir(out))
    assert names == ["tiny.json", "tiny.pdb", "tiny.psf", "tiny.xtc"]
    assert result.n_atoms == 140 and result.n_frames == params.n_steps // params.save_interval


def test_psf_and_xtc_read_with_mdanalysis(tiny_run):
    mda = _mda()
    params, result, _ = tiny_run
    u = mda.Universe(result.topology, result.trajectory)
    assert u.atoms.n_atoms == params.n_beads
    assert set(u.atoms.names) == {"C", "O", "Li", "TFSI"}
    assert list(u.atoms.types) == list(u.atoms.names)
    assert u.atoms.charges.sum() == pytest.approx(0.0, abs=1e-6)
    assert np.all(u.select_atoms("name Li").charges == 1.0)
    assert np.all(u.select_atoms("name TFSI").charges == -1.0)
    assert np.all(u.select_atoms("name O C").charges == 0.0)
    assert len(u.bonds) == params.n_chains * (params.chain_length - 1)
    assert u.residues.n_residues == params.n_molecules
    assert set(u.residues.resnames) == {"PEO", "LI", "TFSI"}
    assert all(len(r.atoms) == params.chain_length for r in u.select_atoms("resname PEO").residues)
    # Frames, times (ps) and box (Å).
    n_frames = params.n_steps // params.save_interval
    assert len(u.trajectory) == n_frames
    times = np.array([ts.time for ts in u.trajectory])
    np.testing.assert_allclose(times, (np.arange(n_frames) + 1) * params.save_interval * params.timestep, rtol=1e-5)
    box = params.box_length
    for ts in u.trajectory:
        np.testing.assert_allclose(ts.dimensions, [box, box, box, 90, 90, 90], rtol=1e-4)
        assert np.all(np.isfinite(ts.positions))
        assert ts.positions.min() >= 0.0 and ts.positions.max() <= box + 0.01
        # Bonds stay well below the FENE limit R0 = 1.5 σ.
        d = _min_image(ts.positions[u.bonds.indices[:, 0]] - ts.positions[u.bonds.indices[:, 1]], box)
        lengths = np.linalg.norm(d, axis=1)
        assert lengths.max() < 0.9 * R0 and lengths.min() > 0.6 * SIGMA


def test_trajectory_read_with_mdtraj(tiny_run):
    md = pytest.importorskip("mdtraj")
    params, result, _ = tiny_run
    t = md.load(result.trajectory, top=result.topology)
    assert t.n_atoms == params.n_beads and t.n_frames == params.n_frames
    assert t.topology.n_bonds == params.n_chains * (params.chain_length - 1)
    np.testing.assert_allclose(t.unitcell_lengths, params.box_length / 10.0, rtol=1e-4)  # nm
    np.testing.assert_allclose(t.time, (np.arange(params.n_frames) + 1) * params.frame_interval, rtol=1e-5)


def test_json_metadata(tiny_run):
    params, result, _ = tiny_run
    with open(result.metadata) as fh:
        meta = json.load(fh)
    assert meta["parameters"] == params.to_dict()
    assert set(meta["parameters"]) == {f for f in SimulationParameters.__dataclass_fields__}
    derived = meta["derived"]
    assert derived["n_li"] == derived["n_anions"] == 10
    assert derived["n_ether_oxygen"] == 60 and derived["n_backbone_c"] == 60
    assert derived["n_beads"] == 140 and derived["total_charge_e"] == 0.0
    assert derived["box_length_angstrom"] == pytest.approx(params.box_length)
    assert derived["max_bond_length_angstrom"]["after_minimization"] < R0
    assert meta["unit_mapping"]["sigma_angstrom"] == 5.0
    assert meta["software"]["openmm"]
    assert meta["files"] == {"topology": "tiny.psf", "trajectory": "tiny.xtc", "metadata": "tiny.json",
                             "pdb": "tiny.pdb"}
    temps = np.array(meta["thermo"]["temperature_k"])
    assert len(temps) == params.n_frames and np.all(np.isfinite(meta["thermo"]["potential_energy_kj_per_mol"]))
    assert 150.0 < temps.mean() < 450.0  # 140 beads: large fluctuations
    # No absolute path of this machine in the metadata.
    assert str(os.path.dirname(result.metadata)) not in json.dumps(meta)


def test_same_seed_same_first_frame_and_dcd(tmp_path):
    pytest.importorskip("openmm")
    mda = _mda()
    from trajml.sim import simulate

    kw = dict(TINY, n_steps=100, save_interval=50, n_equilibration=100)
    a = simulate(output_dir=tmp_path / "a", name="s", progress=False, **kw)
    b = simulate(output_dir=tmp_path / "b", name="s", progress=False, trajectory_format="dcd", **kw)
    c = simulate(output_dir=tmp_path / "c", name="s", progress=False, **{**kw, "seed": 1})
    ua, ub, uc = (mda.Universe(r.topology, r.trajectory) for r in (a, b, c))
    assert b.trajectory.endswith(".dcd") and len(ub.trajectory) == 2
    # DCD: Å and ps come out right.
    np.testing.assert_allclose([ts.time for ts in ub.trajectory], [0.5, 1.0], rtol=1e-5)
    np.testing.assert_allclose(ub.dimensions[:3], kw_box(kw), rtol=1e-4)
    # XTC stores 0.01 Å precision; DCD float32: same run within that.
    np.testing.assert_allclose(ua.trajectory[0].positions, ub.trajectory[0].positions, atol=0.011)
    a2 = simulate(output_dir=tmp_path / "a2", name="s", progress=False, **kw)
    ua2 = mda.Universe(a2.topology, a2.trajectory)
    np.testing.assert_array_equal(ua.trajectory[0].positions, ua2.trajectory[0].positions)
    assert not np.allclose(ua.trajectory[0].positions, uc.trajectory[0].positions)


def kw_box(kw: dict) -> float:
    return SimulationParameters(**kw).box_length


def test_system_too_small_is_a_clear_error(tmp_path):
    pytest.importorskip("openmm")
    from trajml.sim import simulate

    with pytest.raises(ValueError, match=r"system is too small: its box edge of .* Å must exceed twice"):
        simulate(output_dir=tmp_path, n_chains=2, chain_length=10, eo_li_ratio=5.0, n_steps=10,
                 save_interval=10, progress=False)
    assert os.listdir(tmp_path) == []


def test_large_debye_length_is_clamped_with_warning(tmp_path):
    pytest.importorskip("openmm")
    from trajml.sim.openmm_system import compute_cutoffs

    p = SimulationParameters(**{**TINY, "debye_length": 20.0})
    with pytest.warns(UserWarning, match="Yukawa cut-off"):
        cut = compute_cutoffs(build_topology(p), p)
    assert cut.coulomb_clamped and cut.coulomb < p.box_length / 2


def test_instability_raises_and_leaves_no_files(tmp_path, monkeypatch):
    pytest.importorskip("openmm")
    import trajml.sim.openmm_stages as stages_mod
    import trajml.sim.run as run_mod
    from trajml.errors import NonFiniteCoordinatesError

    calls = {"n": 0}
    real = run_mod._state_ok

    def fail_in_production(state, unit):  # fine until the production loop, then NaN
        calls["n"] += 1
        return real(state, unit) if calls["n"] < 6 else False

    monkeypatch.setattr(stages_mod, "_state_ok", fail_in_production)  # push-off and equilibration
    monkeypatch.setattr(run_mod, "_state_ok", fail_in_production)  # minimisation and production
    with pytest.raises(NonFiniteCoordinatesError, match=r"non-finite"):
        run_mod.simulate(output_dir=tmp_path, name="bad", progress=False, **dict(TINY, n_equilibration=0))
    assert os.listdir(tmp_path) == []


def test_name_validation(tmp_path):
    from trajml.sim import simulate

    with pytest.raises(ValueError, match=r"'name' parameter of simulate"):
        simulate(output_dir=tmp_path, name="a/b", progress=False, **TINY)


# --------------------------------------------------------------------------- CLI
def _parser():
    from trajml.cli.simulate import register

    parser = argparse.ArgumentParser(prog="trajml")
    register(parser.add_subparsers(dest="command"))
    return parser


def test_cli_register_and_run(tmp_path, capsys):
    pytest.importorskip("openmm")
    parser = _parser()
    argv = ["simulate", "--n-chains", "6", "--chain-length", "20", "--eo-li-ratio", "6", "--n-steps", "100",
            "--save-interval", "50", "--n-equilibration", "100", "--debye-length", "4", "--threads", "1",
            "--format", "dcd", "-o", str(tmp_path), "--name", "cli", "--no-progress"]
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    assert sorted(os.listdir(tmp_path)) == ["cli.dcd", "cli.json", "cli.psf"]
    meta = json.load(open(tmp_path / "cli.json"))
    assert meta["parameters"]["n_chains"] == 6 and meta["parameters"]["trajectory_format"] == "dcd"
    assert "trajectory:" in capsys.readouterr().out
    # --from-json repeats a run; options given override it.
    args = parser.parse_args(["simulate", "--from-json", str(tmp_path / "cli.json"), "--seed", "4",
                              "--format", "xtc", "-o", str(tmp_path / "again"), "--no-progress"])
    assert args.func(args) == 0
    meta2 = json.load(open(tmp_path / "again" / "spe.json"))
    assert meta2["parameters"] == {**meta["parameters"], "seed": 4, "trajectory_format": "xtc"}


def test_cli_bad_parameter_returns_2(tmp_path, capsys):
    parser = _parser()
    args = parser.parse_args(["simulate", "--n-chains", "0", "-o", str(tmp_path)])
    assert args.func(args) == 2
    assert "'n_chains' parameter" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_cli_help_lists_every_knob_with_units():
    parser = _parser()
    sub = parser._subparsers._group_actions[0].choices["simulate"]  # noqa: SLF001
    text = sub.format_help()
    for field in SimulationParameters.__dataclass_fields__:
        flag = "--format" if field == "trajectory_format" else "--" + field.replace("_", "-")
        assert flag in text, flag
    for unit in ("kJ/mol", "Å", "ps", "K"):
        assert unit in text


def test_python_m_trajml_sim_help(capsys):
    from trajml.sim.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "--eps-li-o" in capsys.readouterr().out


# --------------------------------------------------------------------------- bundled sample
def test_bundled_sample():
    mda = _mda()
    from trajml import data

    top, traj = data.sample_topology(), data.sample_trajectory()
    meta = data.sample_parameters()
    folder = os.path.dirname(top)
    files = ["spe_sample.psf", "spe_sample.xtc", "spe_sample.json", "README.md"]
    assert all(os.path.isfile(os.path.join(folder, f)) for f in files)
    assert sum(os.path.getsize(os.path.join(folder, f)) for f in files) < 5 * 1024**2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(top, traj)
    assert 1800 <= u.atoms.n_atoms <= 2200
    assert 200 <= len(u.trajectory) <= 400
    derived = meta["derived"]
    assert u.atoms.n_atoms == derived["n_beads"]
    assert len(u.trajectory) == derived["n_frames"]
    assert len(u.select_atoms("name Li")) == derived["n_li"]
    assert len(u.select_atoms("name TFSI")) == derived["n_anions"]
    assert len(u.select_atoms("name O")) == derived["n_ether_oxygen"]
    assert len(u.select_atoms("name C")) == derived["n_backbone_c"]
    assert u.residues.n_residues == derived["n_molecules"]
    assert u.atoms.charges.sum() == pytest.approx(0.0, abs=1e-5)
    assert u.dimensions[0] == pytest.approx(derived["box_length_angstrom"], rel=1e-4)
    assert u.trajectory.dt == pytest.approx(derived["frame_interval_ps"], rel=1e-4)
    SimulationParameters.from_dict(meta["parameters"])  # still valid parameters


def test_minimiser_blow_up_is_a_named_error_and_leaves_nothing(tmp_path, monkeypatch):
    """OpenMM raises its own exception on NaN coordinates inside the minimiser; simulate() reports it as
    NonFiniteCoordinatesError naming the seed, and writes no output files."""
    mm = pytest.importorskip("openmm")
    from trajml.errors import NonFiniteCoordinatesError
    from trajml.sim import simulate

    original = mm.LocalEnergyMinimizer.minimize

    def blow_up(context, tolerance, max_iterations):
        if max_iterations == 2000:  # the full-potential minimisation (the push-off ones use fewer)
            raise mm.OpenMMException("Particle coordinate is NaN.")
        return original(context, tolerance, max_iterations)

    monkeypatch.setattr(mm.LocalEnergyMinimizer, "minimize", staticmethod(blow_up))
    with pytest.raises(NonFiniteCoordinatesError, match=r"blew up \(seed 7\).*Particle coordinate is NaN"):
        simulate(SimulationParameters(**{**TINY, "seed": 7}), output_dir=tmp_path / "run", name="x", progress=False)
    assert not (tmp_path / "run").exists() or not list((tmp_path / "run").glob("x*"))
