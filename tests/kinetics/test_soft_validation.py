"""Implied timescales and CK tests of soft states: one-hot states reduce them to a non-reversible MSM,
so deeptime's maximum-likelihood MSM (row-normalised counts) is the oracle; the bootstrap interval
is checked against the exact timescales of the generating chain."""

from __future__ import annotations

import numpy as np
import pytest
from deeptime.markov import TransitionCountEstimator
from deeptime.markov.msm import MaximumLikelihoodMSM
from model_helpers import T3, simulate_chain

from trajml.kinetics import soft_ck_test, soft_implied_timescales, soft_populations

DT = 2.0


@pytest.fixture(scope="module")
def chain():
    d = simulate_chain(T3, 4000, 12, seed=5)  # (T, n_targets)
    return d, np.eye(3)[d]  # one-hot probabilities (T, n_targets, 3)


def _deeptime_msm(d, lag):
    counts = TransitionCountEstimator(lag, "sliding").fit([np.ascontiguousarray(d[:, j]) for j in range(d.shape[1])])
    return MaximumLikelihoodMSM(reversible=False).fit(counts.fetch_model()).fetch_model()


def test_one_hot_timescales_equal_deeptime_msm(chain):
    d, p = chain
    res = soft_implied_timescales(p, [1, 3, 7], DT)
    for row, lag in zip(res.timescales_ps, [1, 3, 7]):
        ref = _deeptime_msm(d, lag).timescales() * DT
        np.testing.assert_allclose(row, np.sort(ref)[::-1], rtol=1e-8)
    np.testing.assert_array_equal(res.lags_ps, [2.0, 6.0, 14.0])


def test_one_hot_ck_equals_deeptime_transition_matrices(chain):
    d, p = chain
    ck = soft_ck_test(p, 2, DT, mlags=3)
    t2 = _deeptime_msm(d, 2).transition_matrix
    for k in range(4):
        np.testing.assert_allclose(ck.predicted[k], np.linalg.matrix_power(t2, k), atol=1e-8)
    for k in range(1, 4):
        np.testing.assert_allclose(ck.estimated[k], _deeptime_msm(d, 2 * k).transition_matrix, atol=1e-8)


def test_bootstrap_interval_covers_exact_timescales(chain):
    _, p = chain
    exact = -DT / np.log(np.sort(np.abs(np.linalg.eigvals(T3)))[::-1][1:])
    res = soft_implied_timescales(p, [2], DT, n_bootstrap=200, seed=0)
    assert np.all(res.lower[0] <= exact) and np.all(exact <= res.upper[0])
    assert np.all(res.upper[0] - res.lower[0] < 0.3 * exact)  # honest, not vacuous
    blocks = soft_implied_timescales(p, [2], DT, n_bootstrap=100, block_frames=500, seed=1)
    assert np.all(blocks.lower[0] <= exact) and np.all(exact <= blocks.upper[0])


def test_populations_equal_stationary_distribution(chain):
    _, p = chain
    w, v = np.linalg.eig(T3.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    np.testing.assert_allclose(soft_populations(p, 1), pi / pi.sum(), atol=0.02)


def test_bad_input(chain):
    _, p = chain
    with pytest.raises(ValueError, match="must be shorter than the longest trajectory"):
        soft_implied_timescales(p[:10], [10])
    with pytest.raises(ValueError, match="'block_frames' parameter of soft_ck_test must be an int larger"):
        soft_ck_test(p, 5, mlags=4, block_frames=10, n_bootstrap=2)
    bad = p.astype(float).copy()
    bad[3, 0, 0] = np.nan
    with pytest.raises(ValueError, match="must be finite"):
        soft_implied_timescales(bad, [1])
    with pytest.raises(ValueError, match="'lags' parameter"):
        soft_implied_timescales(p, [0])


def test_pcca_groups_fast_exchanging_soft_states():
    """Four one-hot states, 0<->1 and 2<->3 exchanging fast, the pairs slowly: PCCA+ must find the pairs,
    and the coarse probabilities give the slow timescale of the lumped two-state chain."""
    from trajml.kinetics import soft_pcca

    fast, slow = 0.3, 0.01
    T = np.array([[1 - fast - slow, fast, slow, 0], [fast, 1 - fast - slow, 0, slow],
                  [slow, 0, 1 - fast - slow, fast], [0, slow, fast, 1 - fast - slow]])
    d = simulate_chain(T, 6000, 8, seed=2)
    memb, (coarse,) = soft_pcca(np.eye(4)[d], 1, 2)
    assert memb.shape == (4, 2)
    np.testing.assert_allclose(memb.sum(1), 1.0, atol=1e-9)
    assert memb[0].argmax() == memb[1].argmax() != memb[2].argmax() == memb[3].argmax()
    np.testing.assert_allclose(coarse.sum(-1), 1.0, atol=1e-9)
    exact = -1.0 / np.log(1 - 2 * slow)  # the lumped chain leaves each pair with probability `slow` per frame
    its = soft_implied_timescales(coarse, [1], 1.0).timescales_ps[0, 0]
    assert abs(its - exact) / exact < 0.1
    with pytest.raises(ValueError, match="'n_metastable' parameter of soft_pcca must be an int in"):
        soft_pcca(np.eye(4)[d], 1, 5)
