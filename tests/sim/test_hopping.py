"""Tests of the hopping toy generator (:mod:`trajml.sim.hopping`) against analytic facts.

Reference values come from the rate matrix itself through an independent route (its
eigendecomposition, not ``scipy.linalg.expm`` which the generator uses), from the geometry of
the cages (octahedron, tetrahedron, cube), and from counting statistics with their standard
errors.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from trajml.sim import HoppingSystem, hopping_system
from trajml.sim.hopping import DEFAULT_RATE_MATRIX, FAMILY_GEOMETRIES

PI_DEFAULT = np.array([0.5, 0.3, 0.2])  # detailed-balance populations the default matrix was built from


def _expm_by_eigen(k: np.ndarray, t: float) -> np.ndarray:
    """exp(K t) from the eigendecomposition of K (independent of scipy's Padé expm)."""
    mu, v = np.linalg.eig(k)
    return np.real(v @ np.diag(np.exp(mu * t)) @ np.linalg.inv(v))


def _min_image(d: np.ndarray, box: np.ndarray) -> np.ndarray:
    return d - box * np.round(d / box)


@pytest.fixture(scope="module")
def long_run() -> HoppingSystem:
    return hopping_system(6000, n_ions=32, cells=(4, 4, 4), seed=5)


# --------------------------------------------------------------------------- ground truth
def test_default_matrix_obeys_detailed_balance_with_stated_populations():
    k = DEFAULT_RATE_MATRIX
    flux = PI_DEFAULT[:, None] * k
    np.testing.assert_allclose(flux, flux.T, atol=1e-15)
    np.testing.assert_allclose(PI_DEFAULT @ k, 0.0, atol=1e-15)
    sys_ = hopping_system(2, n_ions=1, cells=(2, 1, 1))
    np.testing.assert_allclose(sys_.stationary_distribution(), PI_DEFAULT, atol=1e-12)


def test_two_state_timescale_and_populations_are_analytic():
    a, b = 0.03, 0.07  # 1/ps
    s = hopping_system(3, n_ions=1, cells=(2, 1, 1), rate_matrix=[[-a, a], [b, -b]])
    np.testing.assert_allclose(s.exact_timescales(), [1.0 / (a + b)], rtol=1e-12)
    np.testing.assert_allclose(s.stationary_distribution(), [b / (a + b), a / (a + b)], rtol=1e-12)
    assert s.family_names == ("octahedral", "tetrahedral")
    # P(t) = pi + exp(-(a+b) t) (I - pi)
    t = 4.0
    p = np.array([[b, a], [b, a]]) / (a + b) + np.exp(-(a + b) * t) * np.array([[a, -a], [-b, b]]) / (a + b)
    s4 = hopping_system(3, n_ions=1, cells=(2, 1, 1), rate_matrix=[[-a, a], [b, -b]], dt_ps=2.0)
    np.testing.assert_allclose(s4.transition_matrix(2), p, rtol=1e-12)


def test_exact_timescales_are_the_generator_eigenvalues(long_run):
    mu = np.sort(np.linalg.eigvals(DEFAULT_RATE_MATRIX).real)
    assert abs(mu[-1]) < 1e-12
    np.testing.assert_allclose(long_run.exact_timescales(), -1.0 / mu[1::-1], rtol=1e-12)
    assert long_run.exact_timescales()[0] > long_run.exact_timescales()[1]


@pytest.mark.parametrize("lag", [1, 4])
def test_empirical_family_transitions_match_expm(long_run, lag):
    # Every lag-th frame of a Markov chain is a Markov chain with matrix P(lag): its transition
    # counts, given the row totals, are multinomial, so p_hat has standard error sqrt(p(1-p)/n_i).
    fam = long_run.ion_families[::lag]
    a, b = fam[:-1].ravel(), fam[1:].ravel()
    n = long_run.n_families
    counts = np.zeros((n, n))
    np.add.at(counts, (a, b), 1.0)
    rows = counts.sum(1, keepdims=True)
    p_hat = counts / rows
    p = _expm_by_eigen(long_run.rate_matrix, lag * long_run.dt_ps)
    se = np.sqrt(p * (1 - p) / rows)
    # 4.5 standard errors: passes the truth (max z ~ 3) and fails rates that are 10 % off
    assert np.all(np.abs(p_hat - p) < 4.5 * se), (p_hat, p)


def test_stationary_populations_match_pi(long_run):
    occ = np.bincount(long_run.ion_families.ravel(), minlength=3) / long_run.ion_families.size
    # effective independent samples: ions x frames / (2 x slowest timescale in frames)
    n_eff = long_run.n_ions * long_run.n_frames / (2 * long_run.exact_timescales()[0] / long_run.dt_ps)
    np.testing.assert_allclose(occ, PI_DEFAULT, atol=5 * np.sqrt(0.25 / n_eff))


def test_ions_never_share_a_site_and_families_follow_sites(long_run):
    s = np.sort(long_run.ion_sites, axis=1)
    assert np.all(np.diff(s, axis=1) > 0)
    np.testing.assert_array_equal(long_run.ion_families, long_run.site_families[long_run.ion_sites])
    # without same-family hops the site changes exactly when the family does
    np.testing.assert_array_equal(np.diff(long_run.ion_sites, axis=0) != 0,
                                  np.diff(long_run.ion_families, axis=0) != 0)


def test_same_family_hops_happen_at_intra_rate():
    k = 1e-4 * np.array([[-1.0, 1.0], [1.0, -1.0]])  # families (almost) frozen
    r = 0.05
    s = hopping_system(4000, n_ions=20, cells=(5, 5, 2), rate_matrix=k, intra_rate=r, seed=2)
    stay = np.diff(s.ion_families, axis=0) == 0
    moved = (np.diff(s.ion_sites, axis=0) != 0)[stay]
    p = -np.expm1(-r * s.dt_ps)
    assert abs(moved.mean() - p) < 5 * np.sqrt(p * (1 - p) / moved.size)
    assert np.all(np.diff(np.sort(s.ion_sites, axis=1), axis=1) > 0)


# --------------------------------------------------------------------------- geometry
def _cage_pair_distances(name: str, r: float) -> np.ndarray:
    """Sorted host–host distances of an ideal cage of radius r (analytic)."""
    if name == "octahedral":   # 12 edges r√2, 3 diagonals 2r
        return np.sort(np.r_[np.full(12, r * np.sqrt(2)), np.full(3, 2 * r)])
    if name == "tetrahedral":  # 6 edges r √(8/3)
        return np.full(6, r * np.sqrt(8.0 / 3.0))
    if name == "cubic":        # 12 edges 2r/√3, 12 face diagonals 2r√(2/3), 4 body diagonals 2r
        return np.sort(np.r_[np.full(12, 2 * r / np.sqrt(3)), np.full(12, 2 * r * np.sqrt(2.0 / 3.0)),
                             np.full(4, 2 * r)])
    return np.array([2 * r])   # linear


@pytest.mark.parametrize("families", [("octahedral", "tetrahedral", "cubic"), ("linear", "octahedral")])
def test_host_arrangement_per_family(families):
    n = len(families)
    k = np.full((n, n), 0.01)
    np.fill_diagonal(k, 0.0)
    np.fill_diagonal(k, -k.sum(1))
    r = 2.1
    s = hopping_system(2, n_ions=2, cells=(3, 2, 2), rate_matrix=k, families=families, host_distance=r,
                       noise=0.0, cell_length=(9.0, 10.0, 11.0))
    np.testing.assert_allclose(s.box, [27.0, 20.0, 22.0])
    hosts = s.positions[0, s.host_indices].astype(np.float64)
    assert set(s.names[i] for i in s.host_indices) == {"O"}
    assert set(s.names[i] for i in s.ion_indices) == {"Li"}
    for site in range(len(s.site_positions)):
        fam = families[s.site_families[site]]
        d = np.linalg.norm(_min_image(hosts - s.site_positions[site], s.box), axis=1)
        within = np.flatnonzero(d < 1.5 * r)
        # exactly the cage's own hosts are near the site, all at distance r
        assert len(within) == len(FAMILY_GEOMETRIES[fam])
        np.testing.assert_array_equal(np.sort(within), np.flatnonzero(s.host_sites == site))
        np.testing.assert_allclose(d[within], r, atol=1e-4)
        cage = hosts[within]
        pair = np.linalg.norm(_min_image(cage[:, None] - cage[None], s.box), axis=-1)[np.triu_indices(len(cage), 1)]
        np.testing.assert_allclose(np.sort(pair), _cage_pair_distances(fam, r), atol=2e-4)


def test_ions_sit_on_their_sites_with_thermal_noise(long_run):
    sigma = long_run.noise
    ion = long_run.positions[:, long_run.ion_indices].astype(np.float64)
    d = _min_image(ion - long_run.site_positions[long_run.ion_sites], long_run.box)
    # per-component displacement: mean 0, variance sigma^2
    assert abs(d.mean()) < 5 * sigma / np.sqrt(d.size)
    assert d.var() == pytest.approx(sigma**2, rel=0.02)
    # host count within 2.8 Å (= r + 4 sigma_rel) is the cage size in > 99 % of ion-frames
    hosts = long_run.positions[::50, long_run.host_indices].astype(np.float64)
    ions = ion[::50]
    sizes = np.array([len(FAMILY_GEOMETRIES[f]) for f in long_run.family_names])
    dist = np.linalg.norm(_min_image(ions[:, :, None] - hosts[:, None], long_run.box), axis=-1)
    counts = (dist < 2.8).sum(-1)
    assert np.mean(counts == sizes[long_run.ion_families[::50]]) > 0.99


def test_positions_are_wrapped_into_the_box():
    s = hopping_system(50, n_ions=4, cells=(2, 2, 2), cell_length=6.0, host_distance=1.9, noise=0.6, seed=3)
    assert s.positions.dtype == np.float32 and s.positions.shape == (50, s.n_atoms, 3)
    assert np.all(s.positions >= 0) and np.all(s.positions < s.box.astype(np.float32))
    # hosts at 1.5 - 1.9 Å (site at a quarter cell) are wrapped to the far side of the box ...
    hosts = s.positions[:, s.host_indices].astype(np.float64)
    assert np.any(hosts > s.box - 0.5)
    # ... and the minimum image still puts every host, on average, at its ideal cage vertex
    offset = _min_image(hosts - s.site_positions[s.host_sites], s.box).mean(axis=0)
    ideal = 1.9 * np.concatenate([FAMILY_GEOMETRIES[s.family_names[f]] for f in s.site_families])
    assert np.all(np.abs(offset - ideal) < 5 * 0.6 / np.sqrt(s.n_frames))


def test_seed_reproducibility():
    a = hopping_system(300, n_ions=5, cells=(3, 3, 2), seed=11)
    b = hopping_system(300, n_ions=5, cells=(3, 3, 2), seed=11)
    c = hopping_system(300, n_ions=5, cells=(3, 3, 2), seed=12)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.ion_sites, b.ion_sites)
    assert not np.array_equal(a.positions, c.positions)
    assert not a.positions.flags.writeable and not a.ion_families.flags.writeable


def test_write_round_trip_through_open_source(tmp_path):
    from trajml.io import open_source

    s = hopping_system(25, n_ions=6, cells=(3, 3, 3), dt_ps=2.0, seed=4)
    top, traj = s.write(tmp_path, name="toy")
    assert top.endswith("toy.psf") and traj.endswith("toy.xtc")
    src = open_source(top, traj)
    assert src.n_frames == 25 and src.has_box
    assert src.dt == pytest.approx(2.0)
    assert list(src.atoms.names) == list(s.names)
    np.testing.assert_array_equal(src.select("name Li"), s.ion_indices)
    chunk = next(iter(src.iter_chunks(chunk_size=25)))
    # XTC keeps 0.001 nm: rounding error <= 0.005 Å
    np.testing.assert_allclose(chunk.positions, s.positions, atol=0.0051)
    np.testing.assert_allclose(chunk.boxes[0], np.diag(s.box), atol=1e-3)
    np.testing.assert_allclose(chunk.times, s.times_ps, atol=1e-4)


def test_generator_imports_neither_torch_nor_openmm():
    code = ("import sys; import trajml.sim.hopping as h; h.hopping_system(3, n_ions=1, cells=(2, 1, 1)); "
            "bad = [m for m in ('torch', 'openmm') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- bad parameters
@pytest.mark.parametrize("kwargs, match", [
    ({"n_frames": 0}, r"'n_frames' parameter of hopping_system must be an int >= 1\. Got 0"),
    ({"dt_ps": -1.0}, r"'dt_ps' .* \(0, inf\) ps\. Got -1\.0"),
    ({"n_ions": 0}, r"'n_ions' .* int >= 1\. Got 0"),
    ({"cells": (0, 2, 2)}, r"'cells' .* three ints >= 1"),
    ({"cells": (2, 2)}, r"'cells' .* three ints >= 1"),
    ({"cells": (2, 2, 2), "n_ions": 5}, r"'n_ions' .* \(5\) needs at least 2 \* n_ions = 10 sites per family"),
    ({"cell_length": -3.0}, r"'cell_length' .* Got -3\.0"),
    ({"host_distance": 4.0}, r"'host_distance' .* below half the nearest site.site distance \(3\.536 Å"),
    ({"noise": -0.1}, r"'noise' .* \[0, inf\) Å\. Got -0\.1"),
    ({"intra_rate": float("nan")}, r"'intra_rate' .* Got nan"),
    ({"seed": -1}, r"'seed' .* int >= 0\. Got -1"),
    ({"rate_matrix": [[-0.1, 0.1, 0.0]]}, r"'rate_matrix' .* square matrix of shape \(n, n\) with n >= 2.*\(1, 3\)"),
    ({"rate_matrix": [[-0.1, 0.2], [0.1, -0.1]]}, r"'rate_matrix' .* rows sum to zero.*row 0 sums to 0\.1"),
    ({"rate_matrix": [[0.1, -0.1], [0.1, -0.1]]}, r"'rate_matrix' .* off-diagonal rates >= 0.*\[0, 1\] is -0\.1"),
    ({"rate_matrix": [[0.0, 0.0], [0.1, -0.1]]}, r"'rate_matrix' .* irreducible"),
    ({"rate_matrix": [[np.nan, 0.0], [0.0, 0.0]]}, r"'rate_matrix' .* finite"),
    ({"rate_matrix": np.full((5, 5), 0.1) - 0.5 * np.eye(5)}, r"5 families; at most 4 geometries"),
    ({"families": ("octahedral", "octahedral", "cubic")}, r"'families' .* 3 distinct geometries"),
    ({"families": ("octahedral", "square", "cubic")}, r"'families' .* 3 distinct geometries"),
    ({"families": ("octahedral", "cubic")}, r"'families' .* 3 distinct geometries"),
])
def test_bad_parameters_raise_clear_errors(kwargs, match):
    args = {"n_frames": 3, "cells": (2, 2, 2), "n_ions": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        hopping_system(args.pop("n_frames"), **args)


def test_write_refuses_a_missing_directory_and_bad_names(tmp_path):
    s = hopping_system(2, n_ions=1, cells=(2, 1, 1))
    with pytest.raises(ValueError, match=r"'directory' parameter of HoppingSystem.write must be an existing folder"):
        s.write(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"'name' parameter of HoppingSystem.write"):
        s.write(tmp_path, name="a b")
    with pytest.raises(ValueError, match=r"'lag' parameter of HoppingSystem.transition_matrix"):
        s.transition_matrix(0)
