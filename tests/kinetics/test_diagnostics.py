"""trajml.kinetics.diagnostics: each check fires on a constructed bad case and stays silent on a good one.

The good case is a simulated Markov chain with known transition probabilities, whose implied
timescale is known analytically (t = −τ / ln λ(τ)); the bad ones break one assumption at a time:
a lag beyond the relaxation time, a 4-state chain lumped into 2 (not Markovian), two states drawn
from one shell distribution, neighbour rows cut at max_neighbors.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from trajml.kinetics import ck_test, implied_timescales
from trajml.kinetics.diagnostics import (
    check_ck,
    check_graph_truncation,
    check_its_at_lag,
    check_its_convergence,
    check_states_distinct,
    diagnose,
    warnings_of,
)

#: Two states, 0 → 1 with 0.02 per frame and 1 → 0 with 0.04: λ₂ = 0.94, t₂ = −1/ln 0.94 = 16.2 frames.
GOOD = np.array([[0.98, 0.02], [0.04, 0.96]])
#: A linear 4-state chain 0–1–2–3 whose ends are traps; lumped {0, 1} | {2, 3} it has memory.
HIDDEN = np.array([[0.99, 0.01, 0.0, 0.0],
                   [0.05, 0.85, 0.10, 0.0],
                   [0.0, 0.10, 0.85, 0.05],
                   [0.0, 0.0, 0.01, 0.99]])


def _chains(t: np.ndarray, n_trajs: int, n_frames: int, seed: int) -> np.ndarray:
    """Discrete trajectories of the chain ``t``, shape (n_frames, n_trajs), started from its stationary law."""
    rng = np.random.default_rng(seed)
    w, v = np.linalg.eig(t.T)
    pi = np.real(v[:, np.argmax(np.real(w))])
    pi /= pi.sum()
    cum = np.cumsum(t, axis=1)
    out = np.empty((n_frames, n_trajs), dtype=np.int64)
    out[0] = rng.choice(len(t), size=n_trajs, p=pi)
    for i in range(1, n_frames):
        u = rng.random(n_trajs)
        out[i] = np.minimum((u[:, None] > cum[out[i - 1]]).sum(1), len(t) - 1)
    return out


@pytest.fixture(scope="module")
def good():
    d = _chains(GOOD, 40, 1000, seed=1)
    its = implied_timescales(d, [1, 2, 4, 8], dt_ps=1.0, n_its=1, n_bootstrap=30, seed=0)
    ck = ck_test(d, 4, 1.0, mlags=4, n_bootstrap=30, seed=0)
    return d, its, ck


@pytest.fixture(scope="module")
def lumped():
    d4 = _chains(HIDDEN, 40, 1500, seed=2)
    d = (d4 >= 2).astype(np.int64)
    its = implied_timescales(d, [1, 2, 4, 8, 16], dt_ps=1.0, n_its=1, n_bootstrap=30, seed=0)
    ck = ck_test(d, 2, 1.0, mlags=5, n_bootstrap=30, seed=0)
    return d, its, ck


def test_the_good_chain_gives_its_known_timescale_and_no_warning(good):
    _, its, ck = good
    expected = -1.0 / np.log(np.linalg.eigvals(GOOD).min())  # 16.2 frames = ps here
    assert its.timescales_ps[:, 0] == pytest.approx(expected, rel=0.15)
    checks = diagnose(its=its, lag=4, ck=ck)
    assert [c.code for c in checks] == ["its_not_converged", "its_at_lag", "ck_failed"]
    assert all(c.passed for c in checks), warnings_of(checks)
    assert warnings_of(checks) == []


def test_a_lag_beyond_the_relaxation_time_is_flagged(good):
    d, _, _ = good
    its = implied_timescales(d, [4, 24, 32], dt_ps=1.0, n_its=1, n_bootstrap=20, seed=0)
    check = check_its_at_lag(its, 32)
    assert not check.passed and check.code == "its_at_lag"
    assert check.numbers["lag_ps"] == 32.0
    assert "t2 = " in check.message and "not longer than the lag" in check.message
    assert check_its_at_lag(its, 4).passed


def test_a_lumped_chain_has_unconverged_timescales_and_fails_the_ck_test(lumped):
    _, its, ck = lumped
    conv = check_its_convergence(its)
    assert not conv.passed, conv.message
    assert conv.numbers["relative_change"][0] > 0  # rising with the lag, as memory makes them
    assert "not converged in the lag" in conv.message and "beyond their bootstrap intervals" in conv.message
    ck_check = check_ck(ck)
    assert not ck_check.passed, ck_check.message
    assert ck_check.numbers["max_abs_deviation"] > 0.05
    assert "Chapman–Kolmogorov test fails" in ck_check.message


def test_without_a_bootstrap_the_convergence_check_uses_the_relative_change(good, lumped):
    for d, lags, ok in ((good[0], [1, 2, 4, 8], True), (lumped[0], [1, 2, 4, 8, 16], False)):
        its = implied_timescales(d, lags, dt_ps=1.0, n_its=1)
        assert check_its_convergence(its).passed is ok
        assert check_its_convergence(its).numbers["bootstrap"] is False


def _states(means_by_state, n_targets=100, seed=0):
    """Per-state shell statistics (mean, std) of Poisson counts drawn by brute force, one row per state."""
    rng = np.random.default_rng(seed)
    samples = [rng.poisson(lam, size=(n_targets * 20, len(lam))) for lam in means_by_state]
    m = len(means_by_state)
    return SimpleNamespace(shell_count_mean=np.array([s.mean(0) for s in samples]),
                           shell_count_std=np.array([s.std(0) for s in samples]),
                           population=np.full(m, 1.0 / m), n_targets=n_targets,
                           species=np.array(["polymer O", "anion"]))


def test_identical_states_are_flagged_and_distinct_ones_are_not():
    same = check_states_distinct(_states([(7.4, 1.2), (7.4, 1.2), (7.4, 1.2)]))
    assert not same.passed and same.code == "states_indistinct"
    assert "States 0 and 1, 0 and 2, 1 and 2 have the same shell" in same.message
    distinct = check_states_distinct(_states([(6.0, 1.9), (7.0, 1.2), (8.0, 0.35)]))
    assert distinct.passed, distinct.message
    assert min(distinct.numbers["separation_z"]) > 2
    one_pair = check_states_distinct(_states([(6.0, 1.9), (7.4, 1.2), (7.4, 1.2)]))
    assert not one_pair.passed and "States 1 and 2 have" in one_pair.message


def test_truncated_graphs_are_flagged():
    bad = check_graph_truncation(0.995, 16, 9.3)
    assert not bad.passed and "99.5 % of neighbour rows are cut at max_neighbors (16)" in bad.message
    assert "Raise max_neighbors" in bad.message
    assert check_graph_truncation(0.01, 64, 9.3).passed


def test_records_are_json_ready(lumped):
    import json

    _, its, ck = lumped
    records = [c.to_dict() for c in diagnose(its=its, lag=2, ck=ck, graph_truncation=(0.5, 4, 6.0))]
    text = json.dumps(records, allow_nan=False)
    assert {r["code"] for r in json.loads(text)} == {"its_not_converged", "its_at_lag", "ck_failed",
                                                      "graph_truncated"}
