"""Several trajectories of a Source are replicas: per-replica results plus their pooled mean and spread.

The oracle of every replica is the same analysis run on that replica alone; the pooled numbers are
checked against their definitions (particle-weighted mean curves, mean and standard error of the
replicas' values), never against trajml's own pooled output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trajml.features import RDF
from trajml.io import open_source
from trajml.transport import MSD, Conductivity, Diffusion, ResidenceTime


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    """The bundled sample cut into two 150-frame replicas (XTC), with its topology."""
    import MDAnalysis as mda

    from trajml.data import sample_topology, sample_trajectory

    folder = tmp_path_factory.mktemp("replicas")
    u = mda.Universe(sample_topology(), sample_trajectory())
    paths = []
    for k, (lo, hi) in enumerate(((0, 150), (150, 300))):
        path = str(folder / f"replica{k}.xtc")
        with mda.Writer(path, u.atoms.n_atoms) as w:
            for _ in u.trajectory[lo:hi]:
                w.write(u.atoms)
        paths.append(path)
    return sample_topology(), paths


@pytest.fixture(scope="module")
def both(halves):
    top, paths = halves
    return open_source(top, [[p] for p in paths])


@pytest.fixture(scope="module")
def alone(halves):
    top, paths = halves
    return [open_source(top, p) for p in paths]


def test_msd_pools_replicas_and_keeps_each(both, alone):
    pooled = MSD("name Li", non_gaussian=True).run(both)
    singles = [MSD("name Li", non_gaussian=True).run(s) for s in alone]
    assert len(pooled.replicas) == 2
    for rep, single in zip(pooled.replicas, singles):
        np.testing.assert_array_equal(rep.msd_A2, single.msd_A2)
    # equal particle counts and lengths: the pooled MSD is the plain mean of the two
    np.testing.assert_allclose(pooled.msd_A2, 0.5 * (singles[0].msd_A2 + singles[1].msd_A2), rtol=1e-12)
    assert pooled.n_particles == 120 and pooled.msd_per_particle_A2.shape == (120, 150)
    assert pooled.time_block_msd_A2.shape[0] == 10


def test_diffusion_reports_each_replica_and_their_spread(both, alone):
    window = dict(fit_start=50.0, fit_stop=300.0)
    fit = Diffusion(**window).fit(MSD("name Li").run(both)).fetch_model()
    d = [Diffusion(**window).fit(MSD("name Li").run(s)).fetch_model().D_A2_ps for s in alone]
    np.testing.assert_allclose(fit.D_replicas_A2_ps, d, rtol=1e-12)
    assert fit.error_method == "replicas" and fit.n_error_samples == 2
    assert fit.D_err_A2_ps == pytest.approx(np.std(d, ddof=1) / math.sqrt(2), rel=1e-12)
    assert fit.D_A2_ps == pytest.approx(np.mean(d), rel=1e-12)  # same window: D of the mean = mean of the D


def test_conductivity_per_replica_and_mean_with_spread(both, alone):
    kw = dict(charges={"Li": 1.0, "TFSI": -1.0}, temperature=300.0, fit_start=20.0, fit_stop=60.0)
    combined = Conductivity("name Li", "name TFSI", **kw).run(both)
    singles = [Conductivity("name Li", "name TFSI", **kw).run(s) for s in alone]
    sigma = [s.sigma_S_m for s in singles]
    assert [r.sigma_S_m for r in combined.replicas] == pytest.approx(sigma, rel=1e-12)
    assert combined.sigma_S_m == pytest.approx(np.mean(sigma), rel=1e-12)
    assert combined.sigma_err_S_m == pytest.approx(np.std(sigma, ddof=1) / math.sqrt(2), rel=1e-12)
    t = [s.transference for s in singles]
    assert combined.transference == pytest.approx(np.mean(t), rel=1e-12)
    assert combined.error_method == "replicas"
    np.testing.assert_allclose(combined.D_A2_ps, np.mean([s.D_A2_ps for s in singles], axis=0), rtol=1e-12)


def test_conductivity_refuses_replicas_with_different_time_steps(halves, tmp_path):
    import MDAnalysis as mda

    top, paths = halves
    u = mda.Universe(top, paths[1])
    strided = str(tmp_path / "strided.xtc")
    with mda.Writer(strided, u.atoms.n_atoms) as w:
        for _ in u.trajectory[::2]:
            w.write(u.atoms)
    src = open_source(top, [[paths[0]], [strided]])
    with pytest.raises(ValueError, match=r"replicas must share a time step; replica 1 has 10 ps, replica 0 5 ps"):
        Conductivity("name Li", "name TFSI", charges={"Li": 1.0, "TFSI": -1.0}, temperature=300.0,
                     fit_start=20.0, fit_stop=60.0).run(src)


def test_residence_pools_the_contact_statistics(both, alone):
    pooled = ResidenceTime("name Li", "name O", cutoff=8.0).run(both)
    singles = [ResidenceTime("name Li", "name O", cutoff=8.0).run(s) for s in alone]
    assert pooled.n_trajectories == 2 and len(pooled.replicas) == 2
    for rep, single in zip(pooled.replicas, singles):
        np.testing.assert_array_equal(rep.continuous, single.continuous)
    # The pooled TCF is a ratio of sums over both replicas' origins: each replica's C(t) weighted by its
    # denominator d(t) = contacts at the origins t0 <= T - 1 - t (module contact_tcf).
    weights = [np.cumsum(s.contacts_per_frame)[::-1] for s in singles]
    expected = sum(w * s.continuous for w, s in zip(weights, singles)) / sum(weights)
    np.testing.assert_allclose(pooled.continuous, expected, rtol=1e-12)
    assert pooled.n_hops == sum(s.n_hops for s in singles)


def test_rdf_pools_counts_and_keeps_each_replica(both, alone):
    pooled = RDF("name Li", "name O", r_max=12.0, n_bins=60).run(both)
    singles = [RDF("name Li", "name O", r_max=12.0, n_bins=60).run(s) for s in alone]
    np.testing.assert_array_equal(pooled.counts, singles[0].counts + singles[1].counts)
    for rep, single in zip(pooled.replicas, singles):
        np.testing.assert_array_equal(rep.g, single.g)
    mean, std, sem = pooled.replica_spread("first_min_r")
    assert mean == pytest.approx(np.mean([s.first_min_r for s in singles]))


def test_one_replica_can_still_be_picked(both, alone):
    res = MSD("name Li").run(both, traj_id=1)
    np.testing.assert_array_equal(res.msd_A2, MSD("name Li").run(alone[1]).msd_A2)
    assert not res.replicas


def test_conductivity_replicas_errors_carry_no_block_warning(both):
    import matplotlib

    matplotlib.use("Agg")
    from trajml.plotting import plot_transport

    kw = dict(charges={"Li": 1.0, "TFSI": -1.0}, temperature=300.0, fit_start=20.0, fit_stop=60.0, n_blocks=2)
    combined = Conductivity("name Li", "name TFSI", **kw).run(both)
    # each replica's own sigma error is from 2 blocks and says so; the combined error is over replicas
    assert all(r.n_blocks == 2 and len(r.warnings) == 1 for r in combined.replicas)
    assert combined.error_method == "replicas" and combined.warnings == ()
    np.testing.assert_allclose(combined.curves()["charge_msd_e2A2"],
                               np.mean([r.charge_msd_e2A2 for r in combined.replicas], axis=0), rtol=1e-12)
    texts = [t.get_text() for t in plot_transport(combined).axes[1].get_legend().get_texts()]
    assert any("(2 replicas)" in t and "unreliable" not in t for t in texts)
