"""Residence times and Li⁺ hopping through :class:`~trajml.transport.residence.ResidenceTime`.

Oracles: an exactly simulated two-state (telegraph) contact process with known rates, MDAnalysis
``distance_array`` and hand-built trajectories with known hops. Systems are written with MDAnalysis
and read back through ``open_source``. The TCF arithmetic and the fits have their own tests
(``test_contact_tcf.py``, ``test_lifetimes.py``).
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pytest

from trajml.errors import EmptySelectionError
from trajml.io import open_source
from trajml.transport.lifetimes import fit_stretched_exponential
from trajml.transport.residence import ResidenceTime, ion_pair_lifetimes

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysis.analysis.distances import distance_array
    from MDAnalysis.coordinates.memory import MemoryReader


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def write_trajectory(folder, names, resindex, positions, box, dt):
    """PDB topology + XTC trajectory (cubic box of edge ``box`` Å, frames ``dt`` ps apart)."""
    n_frames, n_atoms, _ = positions.shape
    n_res = int(np.max(resindex)) + 1
    u = mda.Universe.empty(n_atoms, n_residues=n_res, atom_resindex=np.asarray(resindex), trajectory=True)
    u.add_TopologyAttr("names", list(names))
    u.add_TopologyAttr("types", list(names))
    u.add_TopologyAttr("resids", np.arange(1, n_res + 1))
    u.add_TopologyAttr("resnames", ["MOL"] * n_res)
    dims = np.tile([box, box, box, 90.0, 90.0, 90.0], (n_frames, 1)).astype(np.float32)
    u.load_new(positions.astype(np.float32), format=MemoryReader, dimensions=dims, dt=dt)
    top, traj = str(folder / "sys.pdb"), str(folder / "sys.xtc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(top)
        with mda.Writer(traj, n_atoms) as w:
            for _ in u.trajectory:
                u.atoms.wrap()
                w.write(u.atoms)
    return top, traj


def telegraph(rng, n_pairs, n_frames, dt, k_on, k_off):
    """Exact two-state process per pair, started in equilibrium, sampled every ``dt``: (P, T) bool."""
    p_on = k_on / (k_on + k_off)
    t_end = n_frames * dt
    samples = np.arange(n_frames) * dt
    out = np.zeros((n_pairs, n_frames), dtype=bool)
    for i in range(n_pairs):
        state = rng.random() < p_on
        # Alternating exponential dwell times; enough of them to pass t_end.
        n = int(3 * t_end * (k_on + k_off)) + 50
        rates = np.where((np.arange(n) % 2 == 0) == state, k_off, k_on)
        switches = np.cumsum(rng.exponential(1.0 / rates))
        assert switches[-1] > t_end
        flips = np.searchsorted(switches, samples, side="right")
        out[i] = np.where(flips % 2 == 0, state, not state)
    return out


@pytest.fixture(scope="module")
def sample_source():
    from trajml.data import sample_topology, sample_trajectory

    return open_source(sample_topology(), sample_trajectory())


# ----------------------------------------------------------------------------------------------
# Telegraph process: analytic TCFs
# ----------------------------------------------------------------------------------------------
K_ON, K_OFF, DT = 0.02, 0.05, 1.0  # 1/ps, 1/ps, ps


@pytest.fixture(scope="module")
def telegraph_files(tmp_path_factory):
    rng = np.random.default_rng(2024)
    side, spacing = 6, 20.0
    n_pairs, n_frames = side**3, 1500
    h = telegraph(rng, n_pairs, n_frames, DT, K_ON, K_OFF)
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3) * spacing + 5.0
    # Ligand of centre i at 0.5-2.5 Å (in contact, cut-off 3 Å) or 5-8 Å (out), in a random direction.
    direction = rng.normal(size=(n_frames, n_pairs, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    dist = np.where(h.T, rng.uniform(0.5, 2.5, (n_frames, n_pairs)), rng.uniform(5.0, 8.0, (n_frames, n_pairs)))
    centers = np.broadcast_to(grid, (n_frames, n_pairs, 3))
    ligands = centers + dist[..., None] * direction
    positions = np.concatenate([centers, ligands], axis=1)
    names = ["Li"] * n_pairs + ["X"] * n_pairs
    files = write_trajectory(tmp_path_factory.mktemp("telegraph"), names, np.arange(2 * n_pairs), positions,
                             side * spacing, DT)
    return files, h


@pytest.fixture(scope="module")
def telegraph_result(telegraph_files):
    files, _ = telegraph_files
    return ResidenceTime("name Li", "name X", cutoff=3.0, error_blocks=8).run(open_source(*files), progress=False)


def test_telegraph_contacts_read_back_exactly(telegraph_files, telegraph_result):
    _, h = telegraph_files
    np.testing.assert_array_equal(telegraph_result.contacts_per_frame, h.sum(axis=0))
    assert telegraph_result.hopping is False and telegraph_result.n_hops is None
    assert telegraph_result.dt_ps == pytest.approx(DT)


def test_telegraph_continuous_tcf_is_exp_koff(telegraph_result):
    res = telegraph_result
    # Sampling every DT misses excursions shorter than DT: the sampled contact survives a step with
    # probability exp(-k_off DT) + k_off k_on DT²/2 + O(DT³), a 1 % slower decay for these rates.
    k_eff = -np.log(np.exp(-K_OFF * DT) + K_OFF * K_ON * DT**2 / 2) / DT
    lags = res.lag_ps[1:80]
    expected = np.exp(-k_eff * lags)
    err = res.continuous_err[1:80]
    assert np.all(np.abs(res.continuous[1:80] - expected) < 5 * err + 2e-3)
    assert abs(res.tau_ps - 1 / K_OFF) < 4 * res.tau_ps_block_err + 0.02 / K_OFF
    assert abs(res.beta - 1.0) < 4 * res.beta_block_err + 0.02
    assert abs(res.tau_int_ps - 1 / K_OFF) < 4 * res.tau_int_ps_block_err + 0.02 / K_OFF
    assert abs(res.integral_ps - 1 / K_OFF) < 4 * res.integral_ps_block_err + 0.03 / K_OFF
    assert res.integral_converged and res.tau_ps_err > 0 and res.tau_ps_block_err > 0


def test_telegraph_intermittent_tcf_is_analytic(telegraph_result):
    res = telegraph_result
    p = K_ON / (K_ON + K_OFF)
    lags = res.lag_ps[:300]
    expected = p + (1 - p) * np.exp(-(K_ON + K_OFF) * lags)
    dev = np.abs(res.intermittent[:300] - expected)
    assert np.all(dev < 5 * res.intermittent_err[:300] + 2e-3)
    assert res.intermittent[0] == 1.0 and res.continuous[0] == 1.0


# ----------------------------------------------------------------------------------------------
# Bundled sample: brute-force recount; partitions and schedulers
# ----------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:ResidenceTime. no lifetime")
def test_sample_contact_counts_equal_distance_array(sample_source):
    res = ResidenceTime("name Li", "name O", cutoff=5.0).run(sample_source, stop=40, step=10, progress=False)
    u = sample_source.universe()
    li, o = u.select_atoms("name Li"), u.select_atoms("name O")
    for k, frame in enumerate(range(0, 40, 10)):
        u.trajectory[frame]
        d = distance_array(li.positions, o.positions, box=u.dimensions)
        assert res.contacts_per_frame[k] == int((d < 5.0).sum())
    assert res.lag_ps[1] == pytest.approx(50.0)


def _same(a, b):
    for name in ("continuous", "intermittent", "continuous_err", "contacts_per_frame", "hops_per_center",
                 "chain_residence_ps", "chain_residence_censored_ps"):
        x, y = getattr(a, name), getattr(b, name)
        if x is None:
            assert y is None
        else:
            np.testing.assert_array_equal(x, y)
    for name in ("tau_ps", "beta", "tau_int_ps", "tau_ps_block_err", "n_hops", "n_rearrangements"):
        assert getattr(a, name) == getattr(b, name) or (np.isnan(getattr(a, name)) and np.isnan(getattr(b, name)))


def test_one_block_equals_many_blocks(sample_source):
    analysis = ResidenceTime("name Li", "name O", cutoff=8.0, tolerance_frames=1)
    one = analysis.run(sample_source, stop=80, centers_per_task=60, progress=False)
    many = analysis.run(sample_source, stop=80, chunk_size=13, centers_per_task=7, progress=False)
    assert one.hopping and one.n_hops > 0 and one.n_rearrangements > 0 and np.isfinite(one.tau_ps)
    _same(one, many)


def test_serial_equals_processes(sample_source):
    analysis = ResidenceTime("name Li", "name TFSI", cutoff=7.0)
    serial = analysis.run(sample_source, stop=60, progress=False)
    procs = analysis.run(sample_source, stop=60, scheduler="processes", n_workers=2, centers_per_task=25,
                         progress=False)
    _same(serial, procs)
    assert procs.provenance["n_tasks"] == 3


def test_trajectories_are_separate_time_series(sample_source):
    from trajml.data import sample_topology, sample_trajectory

    twice = open_source(sample_topology(), [[sample_trajectory()], [sample_trajectory()]])
    analysis = ResidenceTime("name Li", "name TFSI", cutoff=7.0)
    one, two = analysis.run(sample_source, progress=False), analysis.run(twice, progress=False)
    # Identical copies double every sum; a contact joined across the two files would change C(t).
    np.testing.assert_allclose(two.continuous, one.continuous, rtol=1e-12)
    np.testing.assert_allclose(two.intermittent, one.intermittent, rtol=1e-12)
    np.testing.assert_array_equal(two.contacts_per_frame, np.tile(one.contacts_per_frame, 2))
    assert two.n_trajectories == 2 and two.n_frames == 600 and two.tau_ps == pytest.approx(one.tau_ps, rel=1e-9)


def test_ion_pair_convenience_and_tables(sample_source):
    res = ion_pair_lifetimes(sample_source, cutoff=7.0, stop=60, progress=False)
    ref = ResidenceTime("name Li", "name TFSI", cutoff=7.0).run(sample_source, stop=60, progress=False)
    _same(res, ref)
    assert res.hopping is False and res.n_ligands == 60
    df = res.to_pandas()
    assert list(df.columns) == ["lag_ps", "continuous", "continuous_err", "intermittent", "intermittent_err"]
    assert df.attrs["units"]["lag_ps"] == "ps"
    assert res.units["tau_ps"] == "ps" and res.units["cutoff"] == "Å" and res.units["beta"] == ""
    assert np.all(np.diff(res.continuous[np.isfinite(res.continuous)]) <= 1e-12)  # survival never grows
    assert np.all(res.continuous <= res.intermittent + 1e-12)


# ----------------------------------------------------------------------------------------------
# Hopping on a hand-built trajectory
# ----------------------------------------------------------------------------------------------
# O atoms 0-3 belong to chain A, 4-7 to chain B. Contact sets per frame for three Li⁺.
LI_SETS = [
    [{0, 1}, {0, 1}, {0, 2}, {0, 4, 5}, {0, 4}, set(), {1, 6}, {1, 2}, {1, 2}, {4}],
    [set(), {6}, {5, 6}, {2, 6}, {1, 2}, {1, 2}, {0, 4}, {0, 4}, {4, 5}, {5, 6}],
    [{3, 7}, {7}, {7}, {7}, {7}, {7}, {7}, {7}, {7}, {7}],
]


@pytest.fixture(scope="module")
def hop_files(tmp_path_factory):
    rng = np.random.default_rng(1)
    li_pos = np.array([[10.0, 10.0, 10.0], [40.0, 40.0, 40.0], [10.0, 40.0, 70.0]])
    n_frames, box, cutoff = len(LI_SETS[0]), 80.0, 3.0
    offsets = rng.normal(size=(8, 3))
    offsets *= 1.5 / np.linalg.norm(offsets, axis=1, keepdims=True)
    parked = np.array([[70.0, 5.0 + 8.0 * k, 70.0] for k in range(8)])
    positions = np.zeros((n_frames, 11, 3))
    for f in range(n_frames):
        o = parked.copy()
        for i, sets in enumerate(LI_SETS):
            for j in sets[f]:
                o[j] = li_pos[i] + offsets[j]
        assert sum(len(s[f]) for s in LI_SETS) == len(set().union(*(s[f] for s in LI_SETS)))
        positions[f] = np.concatenate([o, li_pos])
    names = ["O"] * 8 + ["Li"] * 3
    resindex = np.array([0] * 4 + [1] * 4 + [2, 3, 4])
    return write_trajectory(tmp_path_factory.mktemp("hops"), names, resindex, positions, box, 2.0), cutoff


@pytest.mark.parametrize("per_task", [3, 1])
def test_hop_counts_on_hand_built_trajectory(hop_files, per_task):
    files, cutoff = hop_files
    res = ResidenceTime("name Li", "name O", cutoff=cutoff).run(open_source(*files), centers_per_task=per_task,
                                                                  progress=False)
    np.testing.assert_array_equal(res.contacts_per_frame, [sum(len(s[f]) for s in LI_SETS) for f in range(10)])
    assert res.hopping and res.n_chains == 2
    # Li0 hops at frames 3, 7, 9; Li1 at 4, 8; Li2 at 1 (its first-frame tie goes to the lower chain id).
    np.testing.assert_array_equal(res.hops_per_center, [3, 2, 1])
    # Li0 rearranges at 2 and 4 (frame 6 follows a frame without contacts); Li1 at 2, 3, 6, 9 (ties keep B, A).
    assert res.n_hops == 6 and res.n_rearrangements == 6
    assert res.hop_rate_per_ns == pytest.approx(6 / (3 * 9 * 2.0 * 1e-3))
    assert res.rearrangement_rate_per_ns == pytest.approx(6 / (3 * 9 * 2.0 * 1e-3))
    np.testing.assert_allclose(res.chain_residence_ps, np.array([2, 4, 4]) * 2.0)
    np.testing.assert_allclose(res.chain_residence_censored_ps, np.array([1, 1, 2, 3, 3, 9]) * 2.0)
    assert res.chain_residence_mean_ps == pytest.approx(20.0 / 3)
    assert res.unbound_fraction == pytest.approx(2 / 30)


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------
def test_bad_input_messages(sample_source):
    with pytest.raises(ValueError, match=r"'cutoff' parameter of ResidenceTime must be a float in \(0, inf\) Å "
                                         r"or None\. Got -1\.0 instead"):
        ResidenceTime("name Li", "name O", cutoff=-1.0)
    with pytest.raises(ValueError, match=r"'cutoff' parameter of ResidenceTime must be a float in \(0, inf\) Å "
                                         r"or None\. Got 0 instead"):
        ResidenceTime("name Li", "name O", cutoff=0)
    with pytest.raises(ValueError, match=r"'cutoff' parameter of ResidenceTime must be at most half the smallest "
                                         r"perpendicular box width, 33\.47 Å .*Got 40 Å"):
        ResidenceTime("name Li", "name O", cutoff=40.0).run(sample_source, stop=10, progress=False)
    with pytest.raises(EmptySelectionError, match=r"Selection 'name Zz' matched no atom"):
        ResidenceTime("name Zz", "name O", cutoff=5.0).run(sample_source, stop=10, progress=False)
    with pytest.raises(ValueError, match=r"'tolerance_frames' parameter of ResidenceTime must be an int >= 0\. "
                                         r"Got -1 instead"):
        ResidenceTime("name Li", "name O", tolerance_frames=-1)
    with pytest.raises(ValueError, match=r"at least 4 frames per trajectory to fit C\(t\); trajectory 0 has 3 "
                                         r"frames in start:stop:step = 0:3:1 \(300 in the file\)"):
        ResidenceTime("name Li", "name O", cutoff=5.0).run(sample_source, stop=3, progress=False)
    with pytest.raises(ValueError, match=r"at least 3 lags with t > 0 .*threshold = 0\.01; got 2 of 4 lags"):
        fit_stretched_exponential(np.arange(4.0), np.array([1.0, 0.5, 0.2, 0.001]))
    with pytest.raises(ValueError, match=r"'centers_per_task' parameter of ResidenceTime must be an int >= 1 or None\. "
                                         r"Got 0 instead"):
        ResidenceTime("name Li", "name O", cutoff=5.0).run(sample_source, stop=10, centers_per_task=0,
                                                           progress=False)


# ----------------------------------------------------------------------------------------------
# Command line and plot
# ----------------------------------------------------------------------------------------------
def _parser():
    from trajml.cli import residence

    parser = argparse.ArgumentParser(prog="trajml")
    residence.register(parser.add_subparsers(dest="command"))
    return parser


def test_cli_writes_json_and_plot(sample_source, tmp_path, capsys):
    out, png = tmp_path / "residence.json", tmp_path / "residence.png"
    args = _parser().parse_args(["residence", "--select-a", "name Li", "--select-b", "name O", "--cutoff", "8",
                                 "--tolerance-frames", "1", "--stop", "40", "--no-progress", "--plot", str(png),
                                 "-o", str(out)])
    assert args.func(args) == 0
    data = json.loads(out.read_text())
    ref = ResidenceTime("name Li", "name O", cutoff=8.0, tolerance_frames=1).run(sample_source, stop=40,
                                                                                 progress=False)
    for key in ("lag_ps", "continuous", "intermittent"):
        np.testing.assert_allclose(data[key], getattr(ref, key), rtol=1e-12)
    for key in ("tau_ps", "beta", "tau_int_ps", "tau_ps_err", "tau_ps_block_err", "n_hops", "hop_rate_per_ns"):
        assert data[key] == pytest.approx(getattr(ref, key), rel=1e-12)
    assert data["units"]["tau_int_ps"] == "ps" and data["units"]["hop_rate_per_ns"] == "1/ns"
    assert png.stat().st_size > 1000
    text = capsys.readouterr().out
    assert "continuous: tau" in text and "hops:" in text


def test_cli_rejects_negative_tolerance(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["residence", "--tolerance-frames", "-2"])
    assert "argument --tolerance-frames: must be an int >= 0. Got -2 instead." in capsys.readouterr().err


def test_plot_residence(telegraph_result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from trajml.plotting import plot_residence

    fig = plot_residence(telegraph_result)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.lines) == 4
    plt.close(fig)
    with pytest.raises(TypeError, match="plot_residence needs a result with lag_ps"):
        plot_residence(object())


# ----------------------------------------------------------------------------------------------
# Species: contacts with molecules, each counted once
# ----------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:ResidenceTime. no lifetime")
def test_molecule_contacts_equal_a_brute_force_count(sample_source):
    res = ResidenceTime("name Li", "any:name O", cutoff=5.0, hopping=True).run(sample_source, stop=40, step=10,
                                                                               progress=False)
    u = sample_source.universe()
    li, o = u.select_atoms("name Li"), u.select_atoms("name O")
    chains = np.unique(o.fragindices, return_inverse=True)[1]
    for k, frame in enumerate(range(0, 40, 10)):
        u.trajectory[frame]
        near = distance_array(li.positions, o.positions, box=u.dimensions) < 5.0
        held = np.zeros((len(li), chains.max() + 1), dtype=bool)
        rows, cols = np.nonzero(near)
        held[rows, chains[cols]] = True
        assert res.contacts_per_frame[k] == int(held.sum())
    assert res.n_ligands == chains.max() + 1


def test_one_atom_molecules_give_the_atom_result(telegraph_files, telegraph_result):
    files, _ = telegraph_files
    res = ResidenceTime("name Li", "any:name X", cutoff=3.0, error_blocks=8).run(open_source(*files), progress=False)
    np.testing.assert_array_equal(res.contacts_per_frame, telegraph_result.contacts_per_frame)
    np.testing.assert_array_equal(res.continuous, telegraph_result.continuous)
    np.testing.assert_array_equal(res.intermittent, telegraph_result.intermittent)
