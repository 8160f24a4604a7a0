"""Features → TICA/VAMP → k-means → MSM: deeptime agreement, double-well ground truth, errors."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("deeptime")
from deeptime.decomposition import TICA, VAMP  # noqa: E402

from trajml.kinetics import KineticProjection, MarkovModel, TICAMarkovModel, TICAMSMModel  # noqa: E402
from trajml.store import load_model  # noqa: E402


@pytest.fixture(scope="module")
def double_well():
    """Long seeded trajectories of deeptime's discretised 1-D double well (100 grid states)."""
    from deeptime.data import double_well_discrete
    from model_helpers import simulate_chain

    fine = double_well_discrete().analytic_msm
    walkers = simulate_chain(np.asarray(fine.transition_matrix), 200000, 20, seed=2)
    dtrajs = [walkers[:, j] for j in range(walkers.shape[1])]
    x = np.linspace(-1.0, 1.0, fine.n_states)
    feats = [np.column_stack([x[d], x[d] ** 2]) for d in dtrajs]
    return fine, dtrajs, feats


def _align(a, b):
    return a * np.sign(np.sum(a * b, axis=0))


def test_tica_equals_deeptime(ar_trajs):
    ours = KineticProjection(lag=2, scaling="kinetic_map").fit(ar_trajs).fetch_model()
    ref = TICA(lagtime=2, scaling="kinetic_map").fit(ar_trajs).fetch_model()
    np.testing.assert_allclose(ours.eigenvalues, ref.singular_values, rtol=1e-8)
    y, y_ref = ours.transform(ar_trajs[1])[0], ref.transform(ar_trajs[1])
    np.testing.assert_allclose(_align(y, y_ref), y_ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.timescales_ps, ref.timescales(lagtime=2), rtol=1e-8)


def test_vamp_projection_equals_deeptime(ar_trajs):
    ours = KineticProjection(lag=1, method="vamp", scaling=None).fit(ar_trajs).fetch_model()
    ref = VAMP(lagtime=1).fit(ar_trajs).fetch_model()
    np.testing.assert_allclose(ours.eigenvalues, ref.singular_values, rtol=1e-8)
    y, y_ref = ours.transform(ar_trajs[0])[0], ref.transform(ar_trajs[0])
    np.testing.assert_allclose(_align(y, y_ref), y_ref, rtol=1e-6, atol=1e-8)


def test_per_target_features_are_separate_trajectories(ar_trajs):
    a, b = ar_trajs[0][:500], ar_trajs[1]
    stacked = np.stack([a, b], axis=1)  # (T, n_targets, d): each target its own trajectory
    p1 = KineticProjection(lag=1).fit(stacked).fetch_model()
    p2 = KineticProjection(lag=1).fit([a, b]).fetch_model()
    np.testing.assert_allclose(p1.eigenvalues, p2.eigenvalues, rtol=1e-12)
    p3 = KineticProjection(lag=1).fit(np.concatenate([a, b])).fetch_model()
    assert not np.allclose(p1.eigenvalues, p3.eigenvalues, rtol=1e-4)


def test_double_well_route_recovers_leading_timescale(double_well):
    fine, dtrajs, feats = double_well
    est = TICAMarkovModel(lag=10, msm_lag=100, n_clusters=40, dim=1, dt_ps=1.0, seed=0, n_metastable=2)
    assert est.fit(feats) is est
    model = est.fetch_model()
    t_route = model.timescales_ps[0]
    # fine-grid references: the exact transition matrix, and an MSM on the 100 grid states of the same data
    t_exact = fine.timescales(1)[0]
    t_grid = MarkovModel(lag=100).fit(dtrajs).fetch_model().timescales_ps[0]
    assert t_route == pytest.approx(t_grid, rel=0.10)
    assert t_route == pytest.approx(t_exact, rel=0.10)
    assert t_grid == pytest.approx(t_exact, rel=0.10)
    assert model.populations.sum() == pytest.approx(1.0)
    # the two wells are the two metastable sets, each holding about half the population
    assert np.all(np.abs(model.msm.metastable_populations - 0.5) < 0.1)


def test_save_load_chained_model(tmp_path, ar_trajs):
    model = TICAMarkovModel(lag=1, n_clusters=5, seed=1).fit(ar_trajs).fetch_model()
    path = tmp_path / "route.npz"
    model.save(path)
    back = TICAMSMModel.load(path)
    np.testing.assert_array_equal(back.msm.transition_matrix, model.msm.transition_matrix)
    np.testing.assert_array_equal(back.assign(ar_trajs)[1], model.assign(ar_trajs)[1])
    assert back.projection.method == "tica"
    from trajml.kinetics import MSMModel

    with pytest.raises(ValueError, match="holds a TICAMSMModel, not a MSMModel"):
        MSMModel.load(path)
    assert isinstance(load_model(path), TICAMSMModel)


def test_bad_input_messages(ar_trajs):
    bad = [t.copy() for t in ar_trajs]
    bad[1][7, 2] = np.nan
    with pytest.raises(ValueError, match=r"'features' parameter of TICAMarkovModel must be finite; trajectory 1 has "
                                         r"nan at frame 7, feature 2"):
        TICAMarkovModel(lag=1, n_clusters=3).fit(bad)
    with pytest.raises(ValueError, match=r"'lag' parameter of KineticProjection \(900 frames\) must be shorter than "
                                         r"the longest trajectory \(700 frames\)"):
        KineticProjection(lag=900).fit(ar_trajs)
    with pytest.raises(ValueError, match=r"'msm_lag' parameter of TICAMarkovModel \(800 frames\).*\(700 frames\)"):
        TICAMarkovModel(lag=1, msm_lag=800, n_clusters=3).fit(ar_trajs)
    with pytest.raises(ValueError, match=r"needs at least 'n_clusters' \(50\) frames to cluster; got 20"):
        TICAMarkovModel(lag=1, n_clusters=50).fit(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(ValueError, match=r"'method' parameter of KineticProjection must be one of .* Got 'pca'"):
        KineticProjection(lag=1, method="pca").fit(ar_trajs)
    model = KineticProjection(lag=1).fit(ar_trajs).fetch_model()
    with pytest.raises(ValueError, match=r"must have 3 features \(as in the fit\). Got 2"):
        model.transform(np.zeros((10, 2)))
