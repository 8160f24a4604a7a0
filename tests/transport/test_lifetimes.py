"""Stretched-exponential lifetime fits (:mod:`trajml.transport.lifetimes`)."""

from __future__ import annotations

import numpy as np
import pytest

from trajml.transport.lifetimes import fit_stretched_exponential


def test_fit_recovers_stretched_exponential():
    t = np.arange(0, 2000.0, 0.5)
    fit = fit_stretched_exponential(t, np.exp(-((t / 30.0) ** 0.6)), threshold=1e-4)
    assert fit.tau_ps == pytest.approx(30.0, rel=1e-6) and fit.beta == pytest.approx(0.6, rel=1e-6)
    from scipy.special import gamma

    assert fit.tau_int_ps == pytest.approx(30.0 / 0.6 * gamma(1 / 0.6), rel=1e-6)
    assert fit.integral_converged and fit.integral_ps == pytest.approx(fit.tau_int_ps, rel=0.02)
