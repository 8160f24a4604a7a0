"""Minima, minimum free-energy paths, barriers and basins against the exact Müller–Brown landscape."""

from __future__ import annotations

import numpy as np
import pytest
from fes_potentials import KT, MuellerBrown, mb_stationary_points

from trajml.fes import basin_free_energies, find_minima, minimum_path
from trajml.fes._grid import Grid
from trajml.fes.model import make_model

EXACT = mb_stationary_points()


def exact_barriers() -> dict[str, float]:
    """Barriers in kT from the exact stationary points (scipy minimisation and root finding on V)."""
    E = {k: MuellerBrown().energy(v)[0] / KT for k, v in EXACT.items()}
    return {"A->C": E["S1"] - E["A"], "C->A": E["S1"] - E["C"], "C->B": E["S2"] - E["C"], "B->C": E["S2"] - E["B"],
            "B-A": E["B"] - E["A"]}


class ExactSurface:
    """The potential itself, behind the surface protocol (zero uncertainty): isolates the path algorithm."""

    def __init__(self, pot):
        self.pot = pot

    def values(self, x):
        return self.pot.energy(x) / KT, np.zeros(len(x))

    def gradient(self, x):
        return self.pot.grad(x) / KT

    def draws(self, x, n, rng):
        return np.repeat((self.pot.energy(x) / KT)[None, :], n, axis=0)


@pytest.fixture(scope="module")
def exact_model():
    pot = MuellerBrown()
    grid = Grid.regular(pot.box, (80, 80))
    return make_model("exact", 300.0, KT, grid, ExactSurface(pot), cv_units="", n_samples=0, n_effective=0.0,
                      provenance={})


def test_string_method_finds_the_exact_saddles(exact_model):
    mins = find_minima(exact_model, max_free_energy=8 * KT)
    assert len(mins.points) == 3
    for got, name in zip(mins.points, "ABC"):
        np.testing.assert_allclose(got, EXACT[name], atol=1e-4)
    path = minimum_path(exact_model, mins.points[0], mins.points[1], n_images=60)
    assert path.converged
    assert len(path.saddle_points) == 2 and len(path.minima_index) == 3
    np.testing.assert_allclose(path.saddle_points[0], EXACT["S1"], atol=0.02)
    np.testing.assert_allclose(path.saddle_points[1], EXACT["S2"], atol=0.02)
    ex = exact_barriers()
    np.testing.assert_allclose(path.barriers_forward_kJmol / KT, [ex["A->C"], ex["C->B"]], atol=0.02)
    np.testing.assert_allclose(path.barriers_backward_kJmol / KT, [ex["C->A"], ex["B->C"]], atol=0.02)
    assert abs(path.delta_kJmol / KT - ex["B-A"]) < 1e-3
    assert np.all(path.barriers_forward_std_kJmol < 1e-9)


@pytest.mark.parametrize("method", ["gp", "nn"])
def test_fitted_barriers_within_1kT(fitted, method):
    model = fitted["mueller_brown"][method]
    mins = find_minima(model, max_free_energy=8 * KT)
    assert len(mins.points) == 3
    # C lies only 0.57 kT below the saddle to B: a shallow minimum whose position is loosely determined
    for got, name, tol in zip(mins.points, "ABC", (0.05, 0.05, 0.12)):
        assert np.linalg.norm(got - EXACT[name]) < tol, (name, got)
    path = minimum_path(model, mins.points[0], mins.points[1])
    assert path.converged and len(path.saddle_points) == 2
    ex = exact_barriers()
    got = {"A->C": path.barriers_forward_kJmol[0], "C->B": path.barriers_forward_kJmol[1],
           "C->A": path.barriers_backward_kJmol[0], "B->C": path.barriers_backward_kJmol[1], "B-A": path.delta_kJmol}
    sd = {"A->C": path.barriers_forward_std_kJmol[0], "C->B": path.barriers_forward_std_kJmol[1],
          "C->A": path.barriers_backward_std_kJmol[0], "B->C": path.barriers_backward_std_kJmol[1],
          "B-A": path.delta_std_kJmol}
    print(f"\n{method}: barrier (kT)  fitted ± sd   exact   error")
    for k in ex:
        print(f"  {k:5s} {got[k] / KT:7.3f} ± {sd[k] / KT:5.3f}  {ex[k]:6.3f}  {got[k] / KT - ex[k]:+6.3f}")
        assert abs(got[k] / KT - ex[k]) < 1.0, k
        assert 0 < sd[k] / KT < 1.0
    # S1 sits 7 kT up: few samples. S2 sits only 0.57 kT above the shallow C, which the network
    # (300 steps) nearly flattens (C->B 0.07 kT before the bin quadrature, 0.00 with it): its S2
    # slides towards C, 0.19 from the exact saddle on these samples
    for k, name in ((0, "S1"), (1, "S2")):
        tol = 0.2 if (method, name) == ("nn", "S2") else 0.15
        assert np.linalg.norm(path.saddle_points[k] - EXACT[name]) < tol, (name, path.saddle_points[k])


def test_basin_free_energies_match_exact_integrals(fitted, potentials):
    model = fitted["mueller_brown"]["gp"]
    basins = basin_free_energies(model, find_minima(model, max_free_energy=8 * KT), n_draws=100)
    assert basins.labels.shape == model.free_energy_kJmol.shape
    # the exact basin free energies on the same partition, from a 5x finer quadrature of exp(-V/kT)
    pot = potentials["mueller_brown"]
    w = [e[1] - e[0] for e in model.edges]
    centres = model.grid_points()
    offs = (np.arange(5) + 0.5) / 5 - 0.5
    boltz = sum(np.exp(-(pot.energy(centres + np.array([a * w[0], b * w[1]])) - pot.energy(EXACT["A"])[0]) / KT)
                for a in offs for b in offs)
    lab = basins.labels.ravel()
    P = np.bincount(lab[lab >= 0], weights=boltz[lab >= 0], minlength=3)
    exact = -np.log(P / P[0])
    np.testing.assert_allclose(basins.free_energy_kJmol / KT, exact, atol=0.3)
    assert basins.uncertainty_kJmol[0] == 0 and np.all(basins.uncertainty_kJmol[1:] > 0)
    np.testing.assert_allclose(basins.populations.sum(), 1.0)


def test_path_on_histogram_with_holes_is_refused(fitted):
    model = fitted["mueller_brown"]["hist"]
    with pytest.raises(ValueError, match="undefined .*empty histogram bins"):
        minimum_path(model, EXACT["A"], [1.2, 2.1], fix_ends=True)


def test_path_rejects_points_off_the_grid(exact_model):
    with pytest.raises(ValueError, match="'end' parameter of minimum_path must lie on the model's grid"):
        minimum_path(exact_model, EXACT["A"], [5.0, 5.0])
    with pytest.raises(ValueError, match="'start' parameter of minimum_path must be a finite point with 2"):
        minimum_path(exact_model, [np.nan, 1.0], EXACT["B"])


@pytest.mark.parametrize("method", ["hist", "kde", "gp"])
@pytest.mark.parametrize("name", ["double_well", "mueller_brown"])
def test_first_minimum_is_the_lowest_point_of_the_surface(fitted, name, method):
    # the marked minimum "A" must be the surface's own argmin (a grid bin, or lower after polishing)
    model = fitted[name][method]
    mins = find_minima(model)
    F = model.free_energy_kJmol
    i = np.unravel_index(np.argmin(np.where(np.isfinite(F), F, np.inf)), F.shape)
    centre = np.array([a[k] for a, k in zip(model.axes, i)])
    widths = np.array([e[1] - e[0] for e in model.edges])
    assert np.all(np.abs(mins.points[0] - centre) <= widths + 1e-12)
    assert mins.free_energy_kJmol[0] <= F[i] + 1e-9
    assert np.all(np.diff(mins.free_energy_kJmol) >= 0)  # ordered by F
