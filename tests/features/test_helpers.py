"""Shared helpers: exact sums, growing histograms, parameter checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trajml._validation import check_float, check_int
from trajml.accumulators import ExactSum, add_padded, distribution


def test_exact_sum_is_independent_of_grouping():
    rng = np.random.default_rng(0)
    values = rng.standard_normal(3000) * 10.0 ** rng.integers(-8, 8, 3000)
    expected = math.fsum(values)
    whole = ExactSum().add_many(values)
    assert whole.value == expected
    for cuts in ([1000, 2000], [1, 7, 2999], [1500]):
        parts = [ExactSum().add_many(p) for p in np.split(values, cuts)]
        left = parts[0]
        for p in parts[1:]:
            left = left.merge(p)
        right = parts[-1]
        for p in reversed(parts[:-1]):
            right = p.merge(right)
        assert left.value == right.value == expected
    assert ExactSum().value == 0.0


def test_add_padded_and_distribution():
    a = np.array([1, 2], dtype=np.int64)
    b = np.array([0, 0, 3], dtype=np.int64)
    np.testing.assert_array_equal(add_padded(a, b), [1, 2, 3])
    np.testing.assert_array_equal(a, [1, 2])  # operands untouched
    m = add_padded(np.ones((2, 1), np.int64), np.ones((1, 3), np.int64))
    np.testing.assert_array_equal(m, [[2, 1, 1], [1, 0, 0]])
    p, mean, std = distribution(np.array([1, 2, 1]))
    np.testing.assert_allclose(p, [0.25, 0.5, 0.25])
    assert mean == 1.0 and std == pytest.approx(math.sqrt(0.5))
    p, mean, _ = distribution(np.zeros(0, dtype=np.int64))
    assert math.isnan(mean)


def test_checks_name_parameter_constraint_and_value():
    with pytest.raises(ValueError, match=r"^The 'r_max' parameter of RDF must be a float in \(0, inf\) Å. "
                                         r"Got -1.0 instead.$"):
        check_float(-1.0, "r_max", "RDF")
    with pytest.raises(ValueError, match=r"Got True instead"):
        check_float(True, "r_max", "RDF")
    with pytest.raises(ValueError, match=r"Got nan instead"):
        check_float(float("nan"), "r_max", "RDF")
    with pytest.raises(ValueError, match=r"^The 'n_bins' parameter of RDF must be an int >= 1. Got 2.5 instead.$"):
        check_int(2.5, "n_bins", "RDF")
    assert check_float(None, "cutoff", "X", allow_none=True) is None
