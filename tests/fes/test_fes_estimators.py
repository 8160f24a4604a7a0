"""Each estimator against an independent oracle: NumPy's histogramdd, scikit-learn's KernelDensity and
GaussianProcessRegressor, analytic densities (1-D, 3-D, reweighted samples) and analytic mean forces."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from trajml.fes import (
    FESModel,
    GaussianProcessFES,
    HistogramFES,
    KernelDensityFES,
    NeuralNetworkFES,
    estimator,
)

KB = 0.00831446261815324
KT = KB * 300.0


def test_import_is_torch_and_matplotlib_free():
    code = ("import sys, trajml.fes as f; f.HistogramFES; f.GaussianProcessFES; f.find_minima; "
            "print([m for m in ('torch', 'matplotlib.pyplot', 'sklearn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_histogram_equals_numpy_histogramdd_with_weights():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3000, 2)) * [1.0, 0.5]
    w = rng.uniform(0.2, 2.0, size=3000)
    ranges = [(-5.0, 5.0), (-2.5, 2.5)]
    m = HistogramFES(temperature=310.0, bins=(16, 10), ranges=ranges).fit(x, weights=w).fetch_model()
    H, (ex, ey) = np.histogramdd(x, bins=(16, 10), range=ranges, weights=w, density=True)
    H2, _ = np.histogramdd(x, bins=(16, 10), range=ranges, weights=w * w)
    H1, _ = np.histogramdd(x, bins=(16, 10), range=ranges, weights=w)
    kT = KB * 310.0
    with np.errstate(divide="ignore"):
        F = -kT * np.log(H)
    F -= F[np.isfinite(F)].min()
    np.testing.assert_allclose(m.edges[0], ex)
    np.testing.assert_allclose(m.edges[1], ey)
    np.testing.assert_array_equal(np.isfinite(m.free_energy_kJmol), np.isfinite(F))
    ok = np.isfinite(F)
    np.testing.assert_allclose(m.free_energy_kJmol[ok], F[ok], rtol=1e-10, atol=1e-10)
    # Poisson error of a weighted bin: kT / sqrt(Kish effective count) = kT sqrt(Σw²) / Σw
    np.testing.assert_allclose(m.uncertainty_kJmol[ok], kT * np.sqrt(H2[ok]) / H1[ok], rtol=1e-10)
    assert m.units["free_energy_kJmol"] == "kJ/mol" and m.temperature_K == 310.0


def test_kde_equals_sklearn_kernel_density():
    from sklearn.neighbors import KernelDensity

    rng = np.random.default_rng(5)
    x = rng.normal(size=(800, 2))
    w = rng.uniform(0.5, 1.5, size=800)
    m = KernelDensityFES(temperature=300.0, bandwidth=0.3, bins=12).fit(x, weights=w).fetch_model()
    pts = np.array([[0.0, 0.0], [1.0, -0.5], [-1.5, 1.2]])
    ref = KernelDensity(bandwidth=0.3).fit(x, sample_weight=w).score_samples(pts)  # ln p
    F = m.predict(pts, unit="kT")
    np.testing.assert_allclose(F - F[0], -(ref - ref[0]), rtol=1e-9, atol=1e-9)


def test_sparse_gp_regression_equals_exact_sklearn_gp():
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel

    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, size=(150, 2))
    F = 3.0 * np.sin(2 * x[:, 0]) + 2.0 * x[:, 1] ** 2  # kJ/mol
    sigma = 0.2
    y = F + sigma * rng.standard_normal(150)
    est = GaussianProcessFES(temperature=300.0, bins=10, lengthscale=0.6, max_inducing=2000, inducing_spacing=0.25)
    m = est.fit_free_energies(x, y, sigma=sigma).fetch_model()
    hp = est.hyperparameters_  # the fitted signal variance and mean, given to the exact oracle
    kernel = ConstantKernel(hp.signal_var * KT ** 2, "fixed") * RBF(0.6, "fixed")
    gpr = GaussianProcessRegressor(kernel, alpha=sigma ** 2 + hp.noise_var * KT ** 2, optimizer=None)
    gpr.fit(x, y - hp.mean * KT)
    pts = rng.uniform(-0.9, 0.9, size=(40, 2))
    mu, sd = gpr.predict(pts, return_std=True)
    got, got_sd = m.predict(pts, return_std=True)
    # equal up to the additive constant every free energy carries; sparse vs exact: 1e-3 relative
    np.testing.assert_allclose(got - got.mean(), (mu + hp.mean * KT) - (mu + hp.mean * KT).mean(), atol=2e-3)
    np.testing.assert_allclose(got_sd, sd, rtol=2e-2, atol=2e-3)
    # and the regression recovers the truth within its error bars
    truth = 3.0 * np.sin(2 * pts[:, 0]) + 2.0 * pts[:, 1] ** 2
    d = (got - got.mean()) - (truth - truth.mean())
    assert np.sqrt(np.mean((d / got_sd) ** 2)) < 2.0


@pytest.mark.parametrize("method", ["hist", "gp"])
def test_weights_reweight_a_biased_simulation(method):
    """Samples of N(0, 1) reweighted by p(x)/q(x) give the free energy of N(0.5, 0.7²)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=40_000)
    mu, s = 0.5, 0.7
    logw = -0.5 * ((x - mu) / s) ** 2 + 0.5 * x ** 2
    w = np.exp(logw - logw.max())
    m = estimator(method, temperature=300.0, bins=40, ranges=[(-5.0, 5.0)]).fit(x, weights=w).fetch_model()
    pts = np.linspace(-0.6, 1.6, 12)
    F = m.predict(pts[:, None], unit="kT")
    truth = 0.5 * ((pts - mu) / s) ** 2
    err = (F - F.mean()) - (truth - truth.mean())
    assert np.sqrt(np.mean(err ** 2)) < 0.1
    assert m.n_effective < 0.8 * len(x)  # Kish: weighting costs samples


def test_one_and_three_cvs():
    rng = np.random.default_rng(8)
    x3 = rng.normal(size=(30_000, 3)) * [1.0, 0.7, 1.3]
    m3 = GaussianProcessFES(temperature=300.0, bins=12).fit(x3).fetch_model()
    assert m3.free_energy_kJmol.shape == (12, 12, 12) and m3.ndim == 3
    pts = rng.normal(size=(50, 3)) * [0.8, 0.55, 1.0]
    truth = 0.5 * np.sum((pts / [1.0, 0.7, 1.3]) ** 2, axis=1)
    F, S = m3.predict(pts, return_std=True, unit="kT")
    err = (F - F.mean()) - (truth - truth.mean())
    assert np.sqrt(np.mean(err ** 2)) < 0.2
    m1 = HistogramFES(bins=30).fit(rng.normal(size=5000)).fetch_model()
    assert m1.free_energy_kJmol.shape == (30,) and m1.ndim == 1
    assert m1.predict(0.0).shape == (1,)


def test_nn_fitted_to_mean_forces_and_free_energies():
    """Force matching in 1-D: noisy mean forces of a double well recover F; one free energy anchors nothing
    but agrees."""
    rng = np.random.default_rng(9)
    xf = np.linspace(-1.8, 1.8, 60)[:, None]
    F = lambda x: KT * 3.0 * (x ** 2 - 1.0) ** 2  # noqa: E731
    force = -KT * 12.0 * xf * (xf ** 2 - 1.0) + 0.3 * KT * rng.standard_normal(xf.shape)
    est = NeuralNetworkFES(temperature=300.0, bins=60, ranges=[(-1.8, 1.8)], hidden=(32, 32), n_members=3,
                           n_steps=300)
    m = est.fit_free_energies(force_points=xf, mean_forces=force, force_sigma=0.3 * KT).fetch_model()
    pts = np.linspace(-1.6, 1.6, 30)[:, None]
    got = m.predict(pts, unit="kT")
    truth = F(pts[:, 0]) / KT
    err = (got - got.mean()) - (truth - truth.mean())
    assert np.sqrt(np.mean(err ** 2)) < 0.25
    _, sd = m.predict(pts, return_std=True, unit="kT")
    assert np.all(sd < 0.5)  # members agree once their arbitrary constants are aligned
    both = est.fit_free_energies(xf[::6], F(xf[::6, 0]), sigma=0.1 * KT, force_points=xf, mean_forces=force,
                                 force_sigma=0.3 * KT).fetch_model()
    got2 = both.predict(pts, unit="kT")
    assert np.sqrt(np.mean(((got2 - got2.mean()) - (truth - truth.mean())) ** 2)) < 0.25


def test_estimator_conventions():
    x = np.random.default_rng(10).normal(size=(2000, 2))
    est = HistogramFES(temperature=300.0, bins=8)
    assert est.bins == 8 and est.ranges is None  # parameters stored verbatim
    with pytest.raises(RuntimeError, match="has not been fitted"):
        est.fetch_model()
    first = est.fit(x).fetch_model()
    assert isinstance(first, FESModel) and est.fetch_model() is first
    second = est.fit(x[:1000] + 5.0).fetch_model()
    assert second is not first and second.axes[0].min() > 0.0  # a refit replaces the fit
    with pytest.raises(Exception):
        first.method = "other"  # frozen
    assert not first.free_energy_kJmol.flags.writeable
    d = first.to_dict()
    assert "surface" not in d and d["method"] == "hist"
    assert first.provenance["estimator"] == "HistogramFES"


def test_plot_fes_draws_contours_paths_and_profiles(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from trajml.fes import find_minima, minimum_path
    from trajml.plotting import plot_fes, plot_path_profile

    rng = np.random.default_rng(11)
    x = np.concatenate([rng.normal(size=(4000, 2)) * 0.3 + [-1, 0], rng.normal(size=(4000, 2)) * 0.3 + [1, 0]])
    m = GaussianProcessFES(bins=30).fit(x).fetch_model()
    mins = find_minima(m, max_free_energy=5 * m.kT_kJmol)
    path = minimum_path(m, mins.points[0], mins.points[1], n_images=20)
    fig = plot_fes(m, minima=mins, paths=[path], basins=m.basins(mins))
    fig.savefig(tmp_path / "fes.png")
    plot_fes(m, uncertainty=True, unit="kJ/mol").savefig(tmp_path / "sd.png")
    plot_path_profile(path, kT_kJmol=m.kT_kJmol).savefig(tmp_path / "profile.png")
    m1 = HistogramFES(bins=20).fit(x[:, 0]).fetch_model()
    plot_fes(m1, minima=find_minima(m1, size=7)).savefig(tmp_path / "fes1.png")
    assert all((tmp_path / n).stat().st_size > 5000 for n in ("fes.png", "sd.png", "profile.png", "fes1.png"))
    with pytest.raises(ValueError, match="1-D and 2-D"):
        plot_fes(GaussianProcessFES(bins=6).fit(rng.normal(size=(3000, 3))).fetch_model())


def test_stack_cvs_pools_frames_and_targets():
    from trajml.fes import stack_cvs

    cn = np.array([[4, 5], [5, 5], [4, 6]])  # 3 frames x 2 Li
    d = np.array([[3.1, 5.0], [3.3, 4.8], [3.0, 6.2]])
    x = stack_cvs(cn, d)
    np.testing.assert_array_equal(x, [[4, 3.1], [5, 5.0], [5, 3.3], [5, 4.8], [4, 3.0], [6, 6.2]])
    assert stack_cvs(np.arange(5.0)).shape == (5, 1)
    with pytest.raises(ValueError, match="same shape"):
        stack_cvs(cn, d[:2])
    with pytest.raises(ValueError, match="1 to 3"):
        stack_cvs(cn, cn, cn, cn)


@pytest.mark.parametrize("method", ["hist", "kde", "gp", "nn"])
def test_save_and_load_round_trip(tmp_path, method):
    x = np.random.default_rng(13).normal(size=(3000, 2))
    kw = {"hidden": (8,), "n_members": 2, "n_steps": 20} if method == "nn" else {}
    m = estimator(method, temperature=280.0, bins=12, cv_units="Å", **kw).fit(x).fetch_model()
    m.save(tmp_path / "m.npz")
    back = FESModel.load(tmp_path / "m.npz")
    pts = np.array([[0.1, -0.3], [1.0, 0.5]])
    np.testing.assert_array_equal(back.predict(pts, return_std=True), m.predict(pts, return_std=True))
    np.testing.assert_array_equal(back.gradient(pts), m.gradient(pts))
    np.testing.assert_array_equal(back.free_energy_kJmol, m.free_energy_kJmol)
    assert back.cv_units == "Å" and back.temperature_K == 280.0 and back.method == method
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    np.savez(tmp_path / "other.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a trajml model file"):
        FESModel.load(tmp_path / "other.npz")


def test_xarray_view_names_the_cv_axes():
    pytest.importorskip("xarray")
    m = HistogramFES(bins=(5, 4)).fit(np.random.default_rng(0).normal(size=(500, 2))).fetch_model()
    ds = m.to_xarray()
    assert ds["free_energy_kJmol"].dims == ("axis_0", "axis_1") and ds["free_energy_kJmol"].attrs["units"] == "kJ/mol"


@pytest.mark.parametrize("method", ["hist", "kde", "gp"])
def test_statistical_inefficiency_scales_the_error_bars(method):
    """g-fold correlated samples carry the information of n/g: σ grows by about sqrt(g), F stays."""
    x = np.random.default_rng(14).normal(size=(20_000, 2))
    kw = dict(temperature=300.0, bins=20, ranges=[(-5, 5), (-5, 5)])
    if method == "kde":
        kw["bandwidth"] = 0.4  # Scott's rule would widen the kernel for fewer effective samples
    m1 = estimator(method, **kw).fit(x).fetch_model()
    m4 = estimator(method, statistical_inefficiency=4.0, **kw).fit(x).fetch_model()
    pts = np.array([[0.0, 0.0], [0.5, -0.5], [-1.0, 0.3]])
    F1, S1 = m1.predict(pts, return_std=True)
    F4, S4 = m4.predict(pts, return_std=True)
    if method == "gp":  # a different amount of information refits the kernel: only roughly sqrt(4)
        assert np.all((S4 / S1 > 1.4) & (S4 / S1 < 2.8))
        np.testing.assert_allclose(F4 - F4[0], F1 - F1[0], atol=0.1 * KT)
    else:
        np.testing.assert_allclose(S4 / S1, 2.0, rtol=1e-6)
        assert m4.n_effective == pytest.approx(m1.n_effective / 4)


def test_generic_load_model_reads_fes_files(tmp_path):
    from trajml.kinetics import MSMModel
    from trajml.store import load_model, save_model

    m = HistogramFES(bins=(6, 5)).fit(np.random.default_rng(1).normal(size=(800, 2))).fetch_model()
    save_model(m, tmp_path / "f.npz")
    back = load_model(tmp_path / "f.npz")
    assert isinstance(back, FESModel)
    np.testing.assert_array_equal(back.free_energy_kJmol, m.free_energy_kJmol)
    with pytest.raises(ValueError, match="holds a FESModel, not a MSMModel"):
        load_model(tmp_path / "f.npz", expected=MSMModel)
