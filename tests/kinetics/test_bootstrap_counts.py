"""trajml.kinetics._counts: per-item sliding counts summed with bootstrap weights equal deeptime's
counts of the resampled trajectories."""

from __future__ import annotations

import numpy as np

from trajml.kinetics._counts import PooledCounts, count_matrix


def _deeptime_counts(dtrajs, lag, n):
    from deeptime.markov import TransitionCountEstimator

    return TransitionCountEstimator(lagtime=lag, count_mode="sliding", n_states=n).fit(
        [np.asarray(d, dtype=np.int32) for d in dtrajs]).fetch_model().count_matrix


def test_weighted_sums_are_the_counts_of_the_resampled_list():
    rng = np.random.default_rng(0)
    dtrajs = [rng.integers(0, 5, size=n) for n in (40, 3, 25, 60)]  # one shorter than the lag
    for block in (None, 7):
        pool = PooledCounts(dtrajs, 5, block)
        draws = np.random.default_rng(1)
        for lag in (1, 4):
            np.testing.assert_array_equal(pool.total(lag), sum(count_matrix(d, lag, 5) for d in pool.pool))
            w = pool.draw(draws)
            assert w.sum() == len(pool.pool)
            resampled = [d for d, m in zip(pool.pool, w) for _ in range(m)]
            np.testing.assert_array_equal(pool.total(lag, w), _deeptime_counts(resampled, lag, 5))
    np.testing.assert_array_equal(count_matrix(dtrajs[1], 4, 5), np.zeros((5, 5)))
