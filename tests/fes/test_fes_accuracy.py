"""Ground truth: at equilibrium F = V + const on the Müller–Brown potential and a 2-D double well.

Samples come from a seeded overdamped-Langevin integrator (see fes_potentials.py). Errors are
measured over the grid bins within 8 kT of the global minimum of V, after removing the best
constant. The histogram is compared with its own estimand (the bin-averaged free energy
−kT ln⟨e^{−V/kT}⟩_bin) over the bins it fills; the smooth surfaces with V at the bin centres
over the whole region.
"""

from __future__ import annotations

import numpy as np
import pytest
from fes_potentials import KT, rmse_region

POTENTIALS = ("mueller_brown", "double_well")


def bin_averaged_truth(pot, model, sub: int = 6) -> np.ndarray:
    """−kT ln of the mean Boltzmann factor over each bin (sub x sub points per bin), relative to its minimum."""
    w = [e[1] - e[0] for e in model.edges]
    offs = [(np.arange(sub) + 0.5) / sub - 0.5 for _ in w]
    centres = model.grid_points()
    acc = np.zeros(len(centres))
    for a in offs[0]:
        for b in offs[1]:
            acc += np.exp(-(pot.energy(centres + np.array([a * w[0], b * w[1]])) - pot.energy(centres).min()) / KT)
    F = -KT * np.log(acc / sub ** 2)
    return F - F.min()


def errors(pot, model, *, bin_averaged: bool = False):
    pts = model.grid_points()
    V = pot.energy(pts)
    V = V - V.min()
    region = V < 8 * KT
    truth = bin_averaged_truth(pot, model) if bin_averaged else V
    F, S = model.predict(pts, return_std=True)
    rmse, cover, _ = rmse_region(F, truth, region)
    ok = region & np.isfinite(F)
    # the error bars are pointwise, relative to the surface's normalisation (the probability mass):
    # z-scores compare with the truth aligned the same way, by the Boltzmann-weighted mean offset
    w = np.exp(-truth[ok] / KT)
    c = np.sum(w * (F[ok] - truth[ok])) / w.sum()
    z = (F[ok] - c - truth[ok]) / S[ok]
    return rmse / KT, cover, z


@pytest.fixture(scope="module")
def table(potentials, fitted):
    rows = {}
    for name in POTENTIALS:
        for method, model in fitted[name].items():
            rows[name, method] = errors(potentials[name], model, bin_averaged=(method == "hist"))
    print("\npotential      method  RMSE (kT)  region covered  z-rms  |z|<2")
    for (name, method), (rmse, cover, z) in rows.items():
        print(f"{name:14s} {method:6s} {rmse:9.3f}  {cover:14.2f}  {np.sqrt(np.mean(z ** 2)):5.2f}  "
              f"{np.mean(np.abs(z) < 2):.2f}")
    return rows


@pytest.mark.parametrize("name", POTENTIALS)
def test_histogram_is_unbiased_where_it_has_counts(table, name):
    rmse, cover, z = table[name, "hist"]
    # its error bars are Poisson's: z-scores must be calibrated against its own estimand
    assert 0.8 < np.sqrt(np.mean(z ** 2)) < 1.25
    assert cover < 0.9  # 20 000 samples leave much of the 8 kT region empty: the histogram's weakness


@pytest.mark.parametrize("name", POTENTIALS)
@pytest.mark.parametrize("method", ["gp", "nn"])
def test_smooth_surfaces_beat_the_histogram(table, name, method):
    rmse, cover, _ = table[name, method]
    rmse_hist = table[name, "hist"][0]
    assert cover == 1.0                 # defined over the whole region, empty bins included
    assert rmse < 0.8 * rmse_hist       # ... and still more accurate than the histogram where it has data
    assert rmse < 0.35                  # kT


@pytest.mark.parametrize("name", POTENTIALS)
@pytest.mark.parametrize("method, upper", [("gp", 1.3), ("nn", 1.7)])
def test_uncertainties_are_calibrated(table, name, method, upper):
    _, _, z = table[name, method]
    z_rms = np.sqrt(np.mean(z ** 2))
    # z-scores of the true error near 1. The GP's Laplace posterior gave 1.0-1.5 over seeds 1-4
    # (1.08 and 1.12 for this seed); the 5-member bootstrap ensemble misses part of the networks'
    # smoothing bias (1.0-1.8 over seeds 1-4, 1.5 and 1.0 here), hence its looser upper bound
    assert 0.7 < z_rms < upper, z_rms
    assert np.mean(np.abs(z) < 2) > 0.85


@pytest.mark.parametrize("name", POTENTIALS)
def test_kde_is_smooth_but_biased(table, name):
    rmse, cover, z = table[name, "kde"]
    assert cover == 1.0 and rmse < 1.2
    # its error bar is noise only; smoothing bias dominates (documented), so z-scores are large
    assert np.sqrt(np.mean(z ** 2)) > 2


def test_units_kT_and_kJmol_agree(fitted):
    m = fitted["double_well"]["gp"]
    pts = m.grid_points()[::97]
    F1, S1 = m.predict(pts, return_std=True)
    F2, S2 = m.predict(pts, return_std=True, unit="kT")
    np.testing.assert_allclose(F1, F2 * KT, rtol=1e-12)
    np.testing.assert_allclose(S1, S2 * KT, rtol=1e-12)
    np.testing.assert_allclose(m.free_energy_kT * m.kT_kJmol, m.free_energy_kJmol)
    assert m.units["free_energy_kJmol"] == "kJ/mol" and abs(m.kT_kJmol - KT) < 1e-12


@pytest.mark.parametrize("method", ["gp", "nn"])
def test_gradient_matches_the_potential(potentials, fitted, method):
    """∇F of the fitted surface against the exact ∇V in the well-sampled region (< 3 kT)."""
    pot = potentials["double_well"]
    m = fitted["double_well"][method]
    pts = m.grid_points()
    V = pot.energy(pts)
    low = pts[(V - V.min()) < 3 * KT]
    g, gv = m.gradient(low, unit="kT"), pot.grad(low) / KT
    rel = np.linalg.norm(g - gv, axis=1).mean() / np.linalg.norm(gv, axis=1).mean()
    assert rel < 0.35, rel


@pytest.mark.parametrize("method", ["kde", "gp", "nn"])
def test_gradient_is_the_derivative_of_predict(fitted, method):
    m = fitted["mueller_brown"][method]
    p = np.array([[-0.4, 1.2], [0.3, 0.2], [-0.1, 0.6]])
    h = 1e-5
    fd = np.stack([(m.predict(p + h * e) - m.predict(p - h * e)) / (2 * h) for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(m.gradient(p), fd, rtol=1e-5, atol=1e-5)
