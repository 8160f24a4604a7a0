"""Integer CVs (anions in a Li⁺ shell): one cell per integer, the PMF of the counts, minima on populated cells.

Oracle: np.bincount of the samples, F_k = −kT ln(n_k / N), σ_F = kT sqrt((1 − p_k) / n_k).
"""

from __future__ import annotations

import numpy as np
import pytest
from fes_potentials import KT

METHODS = ("hist", "kde", "gp", "nn")
P_SHELL = np.array([0.10, 0.35, 0.15, 0.05, 0.25, 0.10])  # two populated states: 1 and 4 anions


def _counts(seed: int = 0, n: int = 4000) -> np.ndarray:
    return np.random.default_rng(seed).choice(len(P_SHELL), size=n, p=P_SHELL).astype(np.float64)


def _fit(method: str, x, **kw):
    from trajml.fes import estimator

    return estimator(method, temperature=300.0, **kw).fit(x).fetch_model()


def _count_maxima(n: np.ndarray) -> np.ndarray:
    """Cells more populated than both neighbours (ends compare with one), most populated first."""
    left = np.concatenate([[-1], n[:-1]])
    right = np.concatenate([n[1:], [-1]])
    idx = np.flatnonzero((n > left) & (n > right) & (n > 0))
    return idx[np.argsort(-n[idx], kind="stable")]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_the_pmf_of_the_counts(method):
    if method == "nn":
        pytest.importorskip("torch")
    x = _counts()
    m = _fit(method, x)
    n = np.bincount(x.astype(int))
    p = n / n.sum()
    np.testing.assert_allclose(m.axes[0], np.arange(len(n)))
    np.testing.assert_allclose(m.edges[0], np.arange(len(n) + 1) - 0.5)
    F = -np.log(p)
    np.testing.assert_allclose(m.free_energy_kT, F - F.min(), atol=1e-10)
    np.testing.assert_allclose(m.uncertainty_kT, np.sqrt((1 - p) / n), rtol=1e-10)
    assert m.provenance["discrete"] == [True]
    # nothing is invented between integers: a point takes its cell's value
    np.testing.assert_allclose(m.predict([0.6, 1.0, 1.4], unit="kT"), [F[1] - F.min()] * 3, atol=1e-10)


def test_minima_are_the_most_populated_cells():
    from trajml.fes import find_minima

    for seed in range(3):
        x = _counts(seed)
        mins = find_minima(_fit("gp", x))
        n = np.bincount(x.astype(int))
        np.testing.assert_array_equal(mins.points[:, 0], _count_maxima(n))
        assert mins.points[0, 0] == np.argmax(n)  # "A" is the most populated cell


def test_empty_cells_are_infinite_and_never_minima():
    from trajml.fes import find_minima

    x = np.r_[np.zeros(300), np.ones(500), np.full(200, 3.0)]  # nobody has 2 anions
    m = _fit("hist", x)
    assert np.isinf(m.free_energy_kJmol[2]) and np.isinf(m.uncertainty_kJmol[2])
    mins = find_minima(m)
    np.testing.assert_array_equal(mins.points[:, 0], [1.0, 3.0])


def test_statistical_inefficiency_scales_the_count_error():
    x = _counts()
    a = _fit("hist", x)
    b = _fit("hist", x, statistical_inefficiency=4.0)
    np.testing.assert_allclose(b.uncertainty_kJmol, 2.0 * a.uncertainty_kJmol)
    np.testing.assert_allclose(b.free_energy_kJmol, a.free_energy_kJmol)


def test_declared_discrete_and_declared_continuous():
    x = _counts()
    cont = _fit("hist", x, discrete=False, bins=30)
    assert cont.free_energy_kJmol.shape == (30,)
    assert cont.provenance["discrete"] == [False]
    many = np.arange(200, dtype=np.float64).repeat(3)  # 200 distinct integers: "auto" calls it continuous
    assert _fit("hist", many, bins=20).free_energy_kJmol.shape == (20,)
    assert _fit("hist", many, discrete=True).free_energy_kJmol.shape == (200,)
    with pytest.raises(ValueError, match=r"declares CV 0 discrete, but its samples are not all integers \(row 0"):
        _fit("hist", x + 0.25, discrete=True)
    with pytest.raises(ValueError, match="'discrete' parameter"):
        _fit("hist", x, discrete="yes")
    with pytest.raises(ValueError, match=r"one of those per CV \(1\)"):
        _fit("hist", x, discrete=[True, False])


def test_ranges_round_inwards_on_a_discrete_cv():
    x = _counts()
    m = _fit("hist", x, ranges=[(-0.7, 6.9)])
    np.testing.assert_allclose(m.axes[0], np.arange(7))  # 0..6: cell 6 is empty, kept
    assert np.isinf(m.free_energy_kJmol[6])


def test_mixed_continuous_and_discrete_cvs():
    from trajml.fes import find_minima

    rng = np.random.default_rng(3)
    k = _counts(3, 20_000)
    r = rng.normal(2.0 + 0.1 * k, 0.1)  # a distance in Å that shifts with the count
    x = np.c_[r, k]
    m = _fit("hist", x, bins=(30, 5))
    np.testing.assert_allclose(m.axes[1], np.arange(6))  # the integer axis ignores its 5 bins
    assert m.free_energy_kJmol.shape == (30, 6)
    assert m.provenance["discrete"] == [False, True]
    # the marginal over the continuous axis is the PMF of the counts
    p = np.exp(-m.free_energy_kT)
    marg = p.sum(axis=0) / p.sum()
    n = np.bincount(k.astype(int))
    np.testing.assert_allclose(marg, n / n.sum(), rtol=1e-10)
    mins = find_minima(m)
    assert np.all(mins.points[:, 1] == np.round(mins.points[:, 1]))  # minima stay on the integers
    assert mins.points[0, 1] == np.argmax(n)


def test_discrete_model_saves_and_loads(tmp_path):
    from trajml.fes import FESModel

    m = _fit("gp", _counts())
    m.save(tmp_path / "pmf.npz")
    back = FESModel.load(tmp_path / "pmf.npz")
    pts = np.array([0.0, 1.3, 4.0])
    np.testing.assert_allclose(back.predict(pts), m.predict(pts))


def test_kT_consistency_of_the_discrete_table():
    m = _fit("hist", _counts())
    np.testing.assert_allclose(m.free_energy_kJmol, m.free_energy_kT * KT)


def test_plots_of_discrete_surfaces(tmp_path):
    pytest.importorskip("matplotlib")
    from trajml.plotting import plot_fes

    k = _counts(5, 6000)
    m1 = _fit("gp", k)
    plot_fes(m1, minima=m1.minima(), unit="kJ/mol").savefig(tmp_path / "d1.png")
    two = np.c_[k, np.random.default_rng(5).integers(0, 3, size=len(k)).astype(float)]
    m2 = _fit("hist", two)
    plot_fes(m2, minima=m2.minima()).savefig(tmp_path / "d2.png")
    r = np.random.default_rng(6).normal(2.0, 0.2, size=len(k))
    m3 = _fit("hist", np.c_[r, k], bins=(20, 2))
    plot_fes(m3, minima=m3.minima(), uncertainty=True).savefig(tmp_path / "d3.png")
    assert all((tmp_path / f).stat().st_size > 0 for f in ("d1.png", "d2.png", "d3.png"))


def test_no_string_path_on_discrete_cvs():
    m = _fit("gp", _counts())
    with pytest.raises(ValueError, match=r"minimum_path needs continuous CVs; CV\(s\) \[0\] of this model are "
                                         r"discrete"):
        m.minimum_path([1.0], [4.0])


@pytest.mark.parametrize("method", ["kde", "gp"])
def test_smooth_methods_on_a_mixed_grid_stay_on_the_integers(method, tmp_path):
    from trajml.fes import FESModel

    rng = np.random.default_rng(4)
    k = _counts(4, 20_000)
    x = np.c_[rng.normal(2.0 + 0.1 * k, 0.15), k]
    m = _fit(method, x, bins=(25, 2))
    np.testing.assert_allclose(m.axes[1], np.arange(6))
    # between integers a point takes its state's value; no derivative along the count
    r = np.full(3, 2.2)
    np.testing.assert_allclose(m.predict(np.c_[r, [0.7, 1.0, 1.3]]), m.predict(np.c_[r, [1.0, 1.0, 1.0]]))
    assert np.all(np.isnan(m.gradient([[2.2, 1.0]])[:, 1]))
    # the count marginal follows the counts (oracle: bincount), within a few error bars
    p = np.exp(-m.free_energy_kT)
    marg = p.sum(axis=0) / p.sum()
    n = np.bincount(k.astype(int))
    Fm, Ft = -np.log(marg), -np.log(n / n.sum())
    np.testing.assert_allclose(Fm - Fm.min(), Ft - Ft.min(), atol=0.15)
    m.save(tmp_path / "m.npz")
    back = FESModel.load(tmp_path / "m.npz")
    assert back.discrete.tolist() == [False, True]
    np.testing.assert_allclose(back.predict([[2.2, 1.4]]), m.predict([[2.2, 1.4]]))
