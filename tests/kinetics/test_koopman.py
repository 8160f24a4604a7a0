"""Covariances, Koopman matrices and VAMP scores against deeptime, streaming and boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from trajml.kinetics.koopman import (
    TimeLaggedCovariance,
    inv_sqrt,
    koopman_matrix,
    lagged_chunks,
    singular_values,
    soft_koopman_matrix,
    stationary_distribution,
    vamp_score,
)

deeptime = pytest.importorskip("deeptime")
from deeptime.covariance import Covariance  # noqa: E402
from deeptime.decomposition import VAMP  # noqa: E402
from deeptime.decomposition import vamp_score as dt_vamp_score  # noqa: E402
from deeptime.numeric import spd_inv_sqrt  # noqa: E402


@pytest.mark.parametrize("lag", [1, 3])
def test_covariances_equal_deeptime_vamp(ar_trajs, lag):
    ours = TimeLaggedCovariance(lag).fit(ar_trajs).fetch_model()
    ref = VAMP(lagtime=lag).fit(ar_trajs).fetch_model().cov
    for a, b in ((ours.cov_00, ref.cov_00), (ours.cov_0t, ref.cov_0t), (ours.cov_tt, ref.cov_tt),
                 (ours.mean_0, ref.mean_0), (ours.mean_t, ref.mean_t)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_covariances_without_mean_removal_equal_deeptime(ar_trajs):
    ours = TimeLaggedCovariance(2, remove_mean=False).fit(ar_trajs).fetch_model()
    ref = Covariance(lagtime=2, compute_c0t=True, compute_ctt=True, remove_data_mean=False,
                     bessels_correction=False).fit(ar_trajs).fetch_model()
    np.testing.assert_allclose(ours.cov_00, ref.cov_00, rtol=1e-10)
    np.testing.assert_allclose(ours.cov_0t, ref.cov_0t, rtol=1e-10)
    np.testing.assert_allclose(ours.cov_tt, ref.cov_tt, rtol=1e-10)


def test_koopman_matrix_and_singular_values_equal_deeptime(ar_trajs):
    cov = TimeLaggedCovariance(1).fit(ar_trajs).fetch_model()
    ref = VAMP(lagtime=1).fit(ar_trajs).fetch_model()
    k_ref = spd_inv_sqrt(ref.cov.cov_00, epsilon=1e-6) @ ref.cov.cov_0t @ spd_inv_sqrt(ref.cov.cov_tt, epsilon=1e-6)
    np.testing.assert_allclose(koopman_matrix(cov), k_ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(singular_values(cov), np.sort(ref.singular_values)[::-1], rtol=1e-8)
    np.testing.assert_allclose(inv_sqrt(cov.cov_00) @ cov.cov_00 @ inv_sqrt(cov.cov_00), np.eye(3), atol=1e-10)


@pytest.mark.parametrize("r", [1, 2, "E"])
def test_vamp_scores_equal_deeptime_and_plus_one_convention(ar_trajs, r):
    cov = TimeLaggedCovariance(1).fit(ar_trajs).fetch_model()
    ref = dt_vamp_score(VAMP(lagtime=1).fit(ar_trajs).fetch_model(), r=r)
    with_const = vamp_score(cov, r, include_constant=True)
    without = vamp_score(cov, r, include_constant=False)
    assert with_const == pytest.approx(ref, rel=1e-9)
    assert with_const - without == pytest.approx(1.0, abs=1e-12)  # deeptime counts the constant function, GDyNet not


def test_cross_validated_scores_equal_deeptime(ar_trajs):
    train, test = ar_trajs
    c_train = TimeLaggedCovariance(1).fit(train).fetch_model()
    c_test = TimeLaggedCovariance(1).fit(test).fetch_model()
    m_train = VAMP(lagtime=1).fit(train).fetch_model()
    m_test = VAMP(lagtime=1).fit(test).fetch_model()
    for r in (1, 2, "E"):
        ref = dt_vamp_score(m_train, r=r, covariances_test=m_test.cov, epsilon=1e-6)
        assert vamp_score(c_train, r, test=c_test) == pytest.approx(ref, rel=1e-7)


def test_vamp2_equals_deeptime_vamp_score_data(ar_trajs):
    from deeptime.decomposition import vamp_score_data

    x = ar_trajs[0]
    cov = TimeLaggedCovariance(1).fit(x).fetch_model()
    assert vamp_score(cov, 2) == pytest.approx(vamp_score_data(x[:-1], x[1:], r=2), rel=1e-7)


def test_scores_equal_deeptime_vampnet_loss(ar_trajs):
    torch = pytest.importorskip("torch")
    from deeptime.decomposition.deep import vampnet_loss

    x = ar_trajs[0]
    cov = TimeLaggedCovariance(1).fit(x).fetch_model()
    a, b = torch.from_numpy(x[:-1]), torch.from_numpy(x[1:])
    for r, name in ((1, "VAMP1"), (2, "VAMP2")):
        loss = float(vampnet_loss(a, b, method=name, epsilon=1e-10))
        assert vamp_score(cov, r, include_constant=True) == pytest.approx(-loss, rel=1e-6)
    # deeptime's torch VAMP-E loss is a different (regularised) estimate: on training data the exact VAMP-E
    # equals VAMP-2, which deeptime's NumPy vamp_score_data gives and ours equals; the torch loss stays
    # within a few percent of it.
    from deeptime.decomposition import vamp_score_data

    exact = vamp_score_data(x[:-1], x[1:], r="E")
    assert vamp_score(cov, "E", include_constant=True) == pytest.approx(exact, rel=1e-7)
    assert vamp_score(cov, "E") == pytest.approx(vamp_score(cov, 2), rel=1e-9)
    loss_e = float(vampnet_loss(a, b, method="VAMPE", epsilon=1e-10))
    assert vamp_score(cov, "E", include_constant=True) == pytest.approx(-loss_e, rel=2e-2)


def test_one_chunk_equals_many_chunks_merged(ar_trajs):
    lag = 3
    est = TimeLaggedCovariance(lag)
    whole = est.fit(ar_trajs).fetch_model()
    states = []
    for traj in ar_trajs:
        for start, stop in lagged_chunks(len(traj), lag, chunk_size=37):
            states.append(est.update(est.init_state(), traj[start:stop]))
    rng = np.random.default_rng(0)
    order = rng.permutation(len(states))
    # merge as an unbalanced tree in shuffled order
    left = est.init_state()
    for i in order[: len(order) // 2]:
        left = est.merge(left, states[i])
    right = est.init_state()
    for i in order[len(order) // 2:][::-1]:
        right = est.merge(states[i], right)
    merged = est.finalize(est.merge(right, left))
    assert merged.n_pairs == whole.n_pairs == sum(len(t) - lag for t in ar_trajs)
    for name in ("cov_00", "cov_0t", "cov_tt", "mean_0", "mean_t"):
        np.testing.assert_allclose(getattr(merged, name), getattr(whole, name), rtol=1e-12, atol=1e-12)
    # partial_fit streams the same pieces
    pf = TimeLaggedCovariance(lag)
    for traj in ar_trajs:
        for start, stop in lagged_chunks(len(traj), lag, chunk_size=100):
            pf.partial_fit(traj[start:stop])
    np.testing.assert_allclose(pf.fetch_model().cov_0t, whole.cov_0t, rtol=1e-12, atol=1e-12)


def test_pairs_never_cross_trajectory_boundaries(ar_trajs):
    lag = 2
    split = TimeLaggedCovariance(lag).fit(ar_trajs).fetch_model()
    joined = TimeLaggedCovariance(lag).fit(np.concatenate(ar_trajs)).fetch_model()
    assert split.n_pairs == joined.n_pairs - lag
    assert not np.allclose(split.cov_0t, joined.cov_0t, rtol=1e-3)
    x0 = np.concatenate([t[:-lag] for t in ar_trajs])
    xt = np.concatenate([t[lag:] for t in ar_trajs])
    x0c, xtc = x0 - x0.mean(0), xt - xt.mean(0)
    np.testing.assert_allclose(split.cov_0t, x0c.T @ xtc / len(x0), rtol=1e-10)


def test_fit_replaces_earlier_fit(ar_trajs):
    est = TimeLaggedCovariance(1)
    est.fit(ar_trajs[0])
    assert est.fit(ar_trajs[1]) is est
    assert est.fetch_model().n_pairs == len(ar_trajs[1]) - 1
    assert est.fetch_model() is not None and est.fetch_model().n_pairs == len(ar_trajs[1]) - 1


def _hard_and_soft(seed: int):
    from model_helpers import T3, simulate_chain

    d = simulate_chain(T3, 20000, 1, seed=seed)[:, 0]
    onehot = np.eye(3)[d]
    rng = np.random.default_rng(seed)
    logits = 4.0 * onehot + rng.normal(size=onehot.shape)
    soft = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return d, onehot, soft


def test_soft_koopman_of_hard_assignments_is_count_matrix():
    from deeptime.markov import TransitionCountEstimator
    from deeptime.markov.msm import MaximumLikelihoodMSM

    d, onehot, _ = _hard_and_soft(1)
    cov = TimeLaggedCovariance(1, remove_mean=False).fit(onehot).fetch_model()
    counts = TransitionCountEstimator(1, "sliding").fit(d).fetch_model()
    ref = MaximumLikelihoodMSM(reversible=False).fit(counts).fetch_model().transition_matrix
    np.testing.assert_allclose(soft_koopman_matrix(cov), ref, atol=1e-10)
    np.testing.assert_allclose(soft_koopman_matrix(cov, stochastic=True), ref, atol=1e-8)
    # VAMP-2 of m soft states: at most m with the constant, m - 1 without (GDyNet's convention)
    s_with = vamp_score(cov, 2, include_constant=True)
    s_without = vamp_score(cov, 2, include_constant=False)
    assert s_with - s_without == pytest.approx(1.0, abs=1e-8) and s_without <= 2.0


def test_row_stochastic_constrained_soft_koopman():
    _, _, soft = _hard_and_soft(2)
    cov = TimeLaggedCovariance(5, remove_mean=False).fit(soft).fetch_model()
    k_free = soft_koopman_matrix(cov)
    k = soft_koopman_matrix(cov, stochastic=True)
    np.testing.assert_allclose(k_free.sum(1), 1.0, atol=1e-8)
    assert np.all(k >= 0) and np.allclose(k.sum(1), 1.0)

    def objective(m):
        return np.trace(m.T @ cov.cov_00 @ m) - 2 * np.trace(m.T @ cov.cov_0t)

    naive = cov.cov_0t / cov.cov_0t.sum(1, keepdims=True)  # a feasible row-stochastic guess
    assert objective(k) <= objective(naive) + 1e-12
    assert objective(k_free) <= objective(k) + 1e-12
    pi = stationary_distribution(k)
    np.testing.assert_allclose(pi @ k, pi, atol=1e-10)
    assert pi.sum() == pytest.approx(1.0)


def test_stationary_distribution_equals_deeptime():
    from deeptime.markov.msm import MarkovStateModel
    from model_helpers import T3

    np.testing.assert_allclose(stationary_distribution(T3), MarkovStateModel(T3).stationary_distribution, atol=1e-12)


def test_errors_name_parameter_and_value(ar_trajs):
    with pytest.raises(ValueError, match=r"'lag' parameter of TimeLaggedCovariance \(800 frames\).*"
                                         r"longest trajectory \(700 frames\)"):
        TimeLaggedCovariance(800).fit(ar_trajs)
    bad = ar_trajs[0].copy()
    bad[10, 1] = np.nan
    with pytest.raises(ValueError, match=r"must be finite; trajectory 0 has nan at frame 10, feature 1"):
        TimeLaggedCovariance(1).fit(bad)
    with pytest.raises(ValueError, match=r"needs at least 2 time-lagged pairs at lag 4 frames; got 1"):
        TimeLaggedCovariance(4).fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"'lag' parameter of TimeLaggedCovariance must be an int >= 1.*Got 0"):
        TimeLaggedCovariance(0).fit(ar_trajs)
    cov = TimeLaggedCovariance(1).fit(ar_trajs).fetch_model()
    with pytest.raises(ValueError, match=r"'r' parameter of vamp_score must be .* Got 0.5"):
        vamp_score(cov, 0.5)
    with pytest.raises(RuntimeError, match="has not been fitted"):
        TimeLaggedCovariance(1).fetch_model()
