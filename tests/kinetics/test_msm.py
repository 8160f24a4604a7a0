"""MSMs: deeptime agreement, lag bookkeeping, bootstrap CIs, ground truth, CK test, save/load, plots."""

from __future__ import annotations

import json

import numpy as np
import pytest
from model_helpers import T3, simulate_chain

pytest.importorskip("deeptime")
from deeptime.markov import TransitionCountEstimator, pcca  # noqa: E402
from deeptime.markov.msm import MaximumLikelihoodMSM  # noqa: E402
from deeptime.util.validation import implied_timescales as dt_implied_timescales  # noqa: E402

from trajml.kinetics import MarkovModel, MSMModel, ck_test, implied_timescales  # noqa: E402
from trajml.kinetics.koopman import TimeLaggedCovariance  # noqa: E402
from trajml.store import load_model, save_model  # noqa: E402


def _deeptime_msm(dtrajs, lag):
    counts = TransitionCountEstimator(lag, "sliding").fit(dtrajs).fetch_model().submodel_largest()
    return MaximumLikelihoodMSM(reversible=True).fit(counts).fetch_model()


def test_timescales_equal_deeptime_with_lag_in_ps(chain3):
    dtrajs = [chain3[:, j] for j in range(chain3.shape[1])]
    dt = 0.25
    for lag in (1, 3):
        est = MarkovModel(lag=lag, dt_ps=dt)
        assert est.fit(chain3) is est
        m = est.fetch_model()
        ref = _deeptime_msm(dtrajs, lag)
        assert m.lag_ps == pytest.approx(lag * dt)
        np.testing.assert_allclose(m.timescales_ps, ref.timescales() * dt, rtol=1e-8)
        np.testing.assert_allclose(m.transition_matrix, ref.transition_matrix, atol=1e-12)
        np.testing.assert_allclose(m.populations, ref.stationary_distribution, atol=1e-12)
        assert m.units["timescales_ps"] == "ps"


def test_implied_timescales_equal_deeptime_and_cis_contain_estimate(chain3):
    dtrajs = [chain3[:, j] for j in range(chain3.shape[1])]
    lags, dt = [1, 2, 5], 0.5
    res = implied_timescales(chain3, lags, dt, n_its=2, n_bootstrap=30, seed=4)
    np.testing.assert_array_equal(res.lags, lags)
    np.testing.assert_allclose(res.lags_ps, np.array(lags) * dt)
    ref = dt_implied_timescales([_deeptime_msm(dtrajs, lag) for lag in lags], n_its=2)
    np.testing.assert_array_equal(ref.lagtimes, lags)
    ref_ts = np.column_stack([ref.timescales_for_process(i) for i in range(2)])
    np.testing.assert_allclose(res.timescales_ps, ref_ts * dt, rtol=1e-8)
    assert np.all(res.lower <= res.timescales_ps) and np.all(res.timescales_ps <= res.upper)
    assert np.all(res.upper - res.lower > 0)
    # the same bootstrap again with the same seed gives the same interval
    again = implied_timescales(chain3, lags, dt, n_its=2, n_bootstrap=30, seed=4)
    np.testing.assert_array_equal(again.lower, res.lower)


def test_ground_truth_chain_timescales_within_10_percent(chain3):
    lam = np.sort(np.abs(np.linalg.eigvals(T3)))[::-1]
    for lag in (1, 4):
        exact = -lag / np.log(lam[1:] ** lag)  # -τ/ln λ_i(τ), in frames
        m = MarkovModel(lag=lag, dt_ps=2.0).fit(chain3).fetch_model()
        np.testing.assert_allclose(m.timescales_ps, exact * 2.0, rtol=0.10)


def test_block_bootstrap_of_one_trajectory(chain3):
    one = chain3[:, 0]
    res = implied_timescales(one, [1, 2], 1.0, n_its=1, n_bootstrap=20, block_frames=500, seed=1)
    assert np.all(res.lower <= res.timescales_ps) and np.all(res.timescales_ps <= res.upper)
    with pytest.raises(ValueError, match="only 1; .*'block_frames'"):
        implied_timescales(one, [1, 2], 1.0, n_bootstrap=5)
    with pytest.raises(ValueError, match=r"'block_frames' parameter of implied_timescales must be an int longer "
                                         r"than the largest lag \(2 frames\).*Got 2"):
        implied_timescales(one, [1, 2], 1.0, n_bootstrap=5, block_frames=2)


def test_ck_test_passes_on_markov_chain(chain3):
    res = ck_test(chain3, lag=2, dt_ps=1.0, mlags=5, n_bootstrap=30, seed=0)
    np.testing.assert_allclose(res.lags_ps, np.arange(6) * 2.0)
    np.testing.assert_allclose(res.predicted[0], np.eye(3), atol=1e-12)
    assert res.passed(n_sigma=3.0)
    assert np.max(np.abs(res.predicted - res.estimated)) < 0.02
    ds = res.to_xarray()  # named dimensions, shared by every probability array (arrays.nc stores them so)
    assert ds["predicted"].dims == ds["estimated_std"].dims == ("lags", "set", "set_to")
    assert ds["memberships"].dims == ("state", "set") and ds["lags_ps"].dims == ("lags",)
    np.testing.assert_array_equal(ds["predicted"].values, res.predicted)


def test_ck_test_fails_on_lumped_non_markovian_chain():
    # fast intermediate state 1 lumped with slow state 0: the lumped process has memory
    T = np.array([[0.98, 0.02, 0.0], [0.3, 0.2, 0.5], [0.0, 0.02, 0.98]])
    d = simulate_chain(T, 5000, 20, seed=5)
    lumped = np.where(d == 2, 1, 0)
    res = ck_test(lumped, lag=1, mlags=8, n_bootstrap=20, seed=0)
    assert not res.passed(n_sigma=3.0)
    assert res.deviation_sigma.max() > 6.0
    assert abs(res.predicted[-1, 0, 1] - res.estimated[-1, 0, 1]) > 0.05
    assert ck_test(d, lag=1, mlags=8, n_bootstrap=20, seed=0).passed(n_sigma=3.0)


def test_pcca_coarse_graining_equals_deeptime(chain3):
    m = MarkovModel(lag=1, n_metastable=2).fit(chain3).fetch_model()
    ref = pcca(np.asarray(m.transition_matrix), 2, stationary_distribution=np.asarray(m.populations))
    np.testing.assert_allclose(m.pcca_memberships, ref.memberships, atol=1e-10)
    np.testing.assert_allclose(m.metastable_populations, ref.coarse_grained_stationary_probability, atol=1e-10)
    np.testing.assert_allclose(m.metastable_transition_matrix.sum(1), 1.0)
    res = ck_test(chain3, lag=2, n_metastable=2, mlags=3)
    assert res.predicted.shape == (4, 2, 2)


def test_per_target_columns_are_separate_trajectories(chain3):
    a = MarkovModel(lag=2).fit(chain3).fetch_model()
    b = MarkovModel(lag=2).fit([chain3[:, j] for j in range(chain3.shape[1])]).fetch_model()
    c = MarkovModel(lag=2).fit(chain3.T.ravel()).fetch_model()  # concatenated: crosses boundaries
    np.testing.assert_array_equal(a.count_matrix, b.count_matrix)
    assert a.count_matrix.sum() + 2 * (chain3.shape[1] - 1) == c.count_matrix.sum()


def test_save_load_round_trip_and_refusals(tmp_path, chain3):
    m = MarkovModel(lag=2, dt_ps=0.5, n_metastable=2).fit(chain3).fetch_model()
    path = tmp_path / "msm.npz"
    m.save(path)
    back = MSMModel.load(path)
    assert isinstance(back, MSMModel) and back.lag_ps == 1.0 and back.n_metastable == 2
    np.testing.assert_array_equal(back.transition_matrix, m.transition_matrix)
    np.testing.assert_array_equal(back.pcca_memberships, m.pcca_memberships)
    assert back.units == m.units
    cov = TimeLaggedCovariance(1).fit(np.random.default_rng(0).normal(size=(50, 2))).fetch_model()
    other = tmp_path / "cov.npz"
    save_model(cov, other)
    with pytest.raises(ValueError, match=r"holds a CovarianceModel, not a MSMModel"):
        MSMModel.load(other)
    assert type(load_model(other)).__name__ == "CovarianceModel"
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="is not a trajml model file"):
        load_model(tmp_path / "plain.npz")
    with np.load(path) as data:
        header = json.loads(str(data["__header__"]))
        arrays = {k: data[k] for k in data.files if k != "__header__"}
    header["format_version"] = 99
    np.savez(tmp_path / "future.npz", __header__=np.array(json.dumps(header)), **arrays)
    with pytest.raises(ValueError, match="format version 99; this trajml reads version 1"):
        load_model(tmp_path / "future.npz")


def test_bad_input_messages(chain3):
    with pytest.raises(ValueError, match=r"'lag' parameter of MarkovModel \(6000 frames\) must be shorter than the "
                                         r"longest discrete trajectory \(5000 frames\)"):
        MarkovModel(lag=6000).fit(chain3)
    with pytest.raises(ValueError, match=r"'dt_ps' parameter of MarkovModel must be a float in \(0, inf\) ps. Got -1"):
        MarkovModel(lag=1, dt_ps=-1).fit(chain3)
    with pytest.raises(ValueError, match=r"integer state indices; trajectory 0 has dtype float64"):
        MarkovModel(lag=1).fit(np.array([0.0, 1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"state indices >= 0; trajectory 0 has -1"):
        MarkovModel(lag=1).fit(np.array([0, 1, -1, 1]))
    with pytest.raises(ValueError, match=r"'lags' parameter of implied_timescales must be .*ints >= 1"):
        implied_timescales(chain3, [0, 1])
    with pytest.raises(RuntimeError, match="has not been fitted"):
        MarkovModel(lag=1).fetch_model()


def test_plots_return_figures(chain3):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from trajml.plotting import plot_ck_test, plot_implied_timescales, plot_populations

    its = implied_timescales(chain3, [1, 2], 0.5, n_its=2, n_bootstrap=5, seed=0)
    ck = ck_test(chain3, 1, mlags=3, n_bootstrap=5, seed=0)
    m = MarkovModel(lag=1, n_metastable=2).fit(chain3).fetch_model()
    for fig in (plot_implied_timescales(its), plot_ck_test(ck), plot_populations(m),
                plot_populations(m, metastable=True)):
        assert isinstance(fig, mpl.figure.Figure)
        plt.close(fig)
    with pytest.raises(TypeError, match="plot_implied_timescales needs a result with"):
        plot_implied_timescales(m)
