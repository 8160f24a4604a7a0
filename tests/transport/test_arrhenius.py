"""Arrhenius and VFT fits recover known parameters from noisy synthetic temperature series."""

from __future__ import annotations

import numpy as np
import pytest

from trajml.transport.temperature_series import R_KJ_MOL_K, ArrheniusFit, VFTFit, arrhenius_fit, vft_fit

T = np.linspace(280.0, 420.0, 8)  # K


def test_arrhenius_recovers_parameters_within_errors():
    rng = np.random.default_rng(4)
    a_true, ea_true = 3.0e2, 25.0  # S/m, kJ/mol
    y = a_true * np.exp(-ea_true / (R_KJ_MOL_K * T))
    rel = 0.05
    y_noisy = y * (1 + rel * rng.standard_normal(T.size))
    fit = arrhenius_fit(T, y_noisy, rel * y)
    assert isinstance(fit, ArrheniusFit) and fit.weighted and fit.n_points == 8
    assert abs(fit.Ea_kJ_mol - ea_true) < 3 * fit.Ea_err_kJ_mol
    assert abs(fit.ln_A - np.log(a_true)) < 3 * fit.ln_A_err
    assert 0 < fit.Ea_err_kJ_mol < 2.0
    assert fit.units["Ea_kJ_mol"] == "kJ/mol" and fit.units["A"] == "unit of y"
    assert np.allclose(fit.predict(T), np.exp(fit.ln_A - fit.Ea_kJ_mol / (R_KJ_MOL_K * T)))
    # without errors: scatter-based errors, and the same estimate under equal relative errors
    unweighted = arrhenius_fit(T, y_noisy)
    equal_rel = arrhenius_fit(T, y_noisy, rel * y_noisy)
    assert not unweighted.weighted and unweighted.Ea_kJ_mol == pytest.approx(equal_rel.Ea_kJ_mol, rel=1e-10)
    assert abs(unweighted.Ea_kJ_mol - ea_true) < 3 * unweighted.Ea_err_kJ_mol


def test_arrhenius_error_coverage_over_many_noise_draws():
    rng = np.random.default_rng(12)
    ea_true = 40.0
    y = 1e3 * np.exp(-ea_true / (R_KJ_MOL_K * T))
    z = []
    for _ in range(400):
        fit = arrhenius_fit(T, y * (1 + 0.03 * rng.standard_normal(T.size)), 0.03 * y)
        z.append((fit.Ea_kJ_mol - ea_true) / fit.Ea_err_kJ_mol)
    z = np.array(z)
    assert abs(z.mean()) < 0.2 and 0.85 < z.std() < 1.15  # reported errors are honest


def test_vft_recovers_parameters_within_errors():
    rng = np.random.default_rng(9)
    a_true, b_true, t0_true = 50.0, 1100.0, 190.0
    temps = np.linspace(260.0, 420.0, 10)
    y = a_true * np.exp(-b_true / (temps - t0_true))
    rel = 0.02
    y_noisy = y * (1 + rel * rng.standard_normal(temps.size))
    fit = vft_fit(temps, y_noisy, rel * y)
    assert isinstance(fit, VFTFit) and not fit.at_bound and fit.n_points == 10
    assert abs(fit.B_K - b_true) < 3 * fit.B_err_K
    assert abs(fit.T0_K - t0_true) < 3 * fit.T0_err_K
    assert abs(fit.ln_A - np.log(a_true)) < 3 * fit.ln_A_err
    assert fit.B_kJ_mol == pytest.approx(fit.B_K * R_KJ_MOL_K)
    assert fit.cov.shape == (3, 3) and fit.units["T0_K"] == "K" and fit.units["B_K"] == "K"
    assert fit.T0_K < temps.min()
    unweighted = vft_fit(temps, y_noisy)
    assert abs(unweighted.B_K - b_true) < 3 * unweighted.B_err_K


def test_vft_exact_data():
    temps = np.linspace(250.0, 400.0, 6)
    fit = vft_fit(temps, 2.0 * np.exp(-800.0 / (temps - 150.0)), np.full(6, 1e-6))
    assert fit.B_K == pytest.approx(800.0, rel=1e-6) and fit.T0_K == pytest.approx(150.0, rel=1e-6)
    assert fit.A == pytest.approx(2.0, rel=1e-6)
    assert np.allclose(fit.predict(temps), 2.0 * np.exp(-800.0 / (temps - 150.0)), rtol=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match=r"'y' parameter of arrhenius_fit must hold finite values > 0"):
        arrhenius_fit([300, 350, 400], [1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match=r"'T' parameter of arrhenius_fit must hold finite temperatures > 0 K"):
        arrhenius_fit([0.0, 350, 400], [1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"arrhenius_fit needs at least 3 points without y_err.*Got 2 instead"):
        arrhenius_fit([300, 350], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"vft_fit needs at least 3 points with y_err.*Got 2 instead"):
        vft_fit([300, 350], [1.0, 2.0], [0.1, 0.1])
    with pytest.raises(ValueError, match=r"'T0_bounds' parameter of vft_fit must satisfy 0 <= low < high < min\(T\) "
                                         r"= 300 K. Got \(0, 350\) instead"):
        vft_fit([300, 350, 400, 450], [1.0, 2.0, 3.0, 4.0], T0_bounds=(0.0, 350.0))
    with pytest.raises(ValueError, match=r"'y_err' parameter of vft_fit must hold one finite error > 0 per point"):
        vft_fit([300, 350, 400], [1.0, 2.0, 3.0], [0.1, 0.0, 0.1])
    with pytest.raises(ValueError, match=r"must be 1-D arrays of equal length. Got shapes \(3,\) and \(2,\)"):
        arrhenius_fit([300, 350, 400], [1.0, 2.0])


def test_vft_failure_says_why_when_the_points_do_not_determine_it():
    T = np.linspace(280.0, 400.0, 7)
    good = vft_fit(T, 10.0 * np.exp(-1200.0 / (T - 180.0)), 1e-3 * np.ones(7))
    assert good.failure == ""
    # pure Arrhenius data (R = 8.314 J/(mol K), E_a = 25 kJ/mol) has no VFT curvature: T0 runs to its bound 0
    y = 5.0 * np.exp(-25.0 / (0.0083145 * T))
    flat = vft_fit(T, y, 0.02 * y)
    assert flat.at_bound and "T0 ended on its bound" in flat.failure and "nan" not in flat.failure
    # a constant y determines no B and T0 at all
    const = vft_fit(T, np.full(7, 2.0), np.full(7, 0.04))
    assert "do not determine A, B and T0" in const.failure
