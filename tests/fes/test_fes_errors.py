"""Bad input gets a clear message naming the parameter, the rule and what was given."""

from __future__ import annotations

import numpy as np
import pytest

from trajml.fes import GaussianProcessFES, HistogramFES, KernelDensityFES, NeuralNetworkFES, estimator

ESTIMATORS = [HistogramFES, KernelDensityFES, GaussianProcessFES, NeuralNetworkFES]
X = np.random.default_rng(0).normal(size=(500, 2))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_nan_cvs(cls):
    x = X.copy()
    x[17, 1] = np.nan
    x[40, 0] = np.inf
    with pytest.raises(ValueError, match=r"'cvs' parameter of .* must be finite: 2 sample\(s\) hold NaN or inf, "
                                         r"the first at row 17, CV 1 \(nan\)"):
        cls().fit(x)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("temperature", [0.0, -300.0, float("nan"), "hot", 1e-30, 2e4])
def test_temperature_not_positive(cls, temperature):
    with pytest.raises(ValueError, match=r"'temperature' parameter of \w+ must be a float in \(1, 10000\) K"):
        cls(temperature=temperature).fit(X)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_weights_of_wrong_length(cls):
    with pytest.raises(ValueError, match=r"'weights' parameter of \w+ must have one weight per sample, "
                                         r"shape \(500,\). Got shape \(499,\) instead"):
        cls().fit(X, weights=np.ones(499))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_negative_weights(cls):
    w = np.ones(500)
    w[3] = -0.5
    with pytest.raises(ValueError, match=r"'weights' parameter of \w+ must be non-negative .* Got -0.5 at sample 3"):
        cls().fit(X, weights=w)
    with pytest.raises(ValueError, match="positive sum"):
        cls().fit(X, weights=np.zeros(500))
    w[3] = np.nan
    with pytest.raises(ValueError, match="must be finite. Got NaN or inf at sample 3"):
        cls().fit(X, weights=w)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_grid_that_does_not_cover_the_data(cls):
    with pytest.raises(ValueError, match=r"'ranges' parameter of \w+ must cover the data: CV 1 spans "
                                         r"\[-?[\d.]+, [\d.]+\] but the grid spans \[-1, 1\]"):
        cls(ranges=[(-10, 10), (-1, 1)]).fit(X)


def test_grid_and_shape_rules():
    with pytest.raises(ValueError, match="must give one finite \\(lo, hi\\) pair with lo < hi per CV \\(2\\)"):
        HistogramFES(ranges=[(-10, 10)]).fit(X)
    with pytest.raises(ValueError, match="finite \\(lo, hi\\) pairs with lo < hi"):
        HistogramFES(ranges=[(-10, 10), (3, -3)]).fit(X)
    with pytest.raises(ValueError, match="'bins' parameter of HistogramFES must be an int >= 2 or one such int per CV"):
        HistogramFES(bins=(10, 1)).fit(X)
    with pytest.raises(ValueError, match="must hold 1 to 3 collective variables \\(columns\\). Got 4 instead"):
        HistogramFES().fit(np.zeros((100, 4)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        HistogramFES().fit(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"'statistical_inefficiency' parameter of HistogramFES must be a float in "
                                         r"\[1, inf\)"):
        HistogramFES(statistical_inefficiency=0.5).fit(X)
    with pytest.raises(ValueError, match="'bandwidth' parameter of KernelDensityFES must be a float > 0"):
        KernelDensityFES(bandwidth=-1.0).fit(X)
    with pytest.raises(ValueError, match="'method' parameter of estimator must be one of"):
        estimator("spline")
    with pytest.raises(ValueError, match="'hidden' parameter of NeuralNetworkFES"):
        NeuralNetworkFES(hidden=(0,)).fit(X)
    with pytest.raises(ValueError, match="needs at least 5 bins with >= 10 effective counts"):
        GaussianProcessFES(bins=40).fit(X[:30])


def test_regression_inputs_are_checked():
    gp = GaussianProcessFES()
    with pytest.raises(ValueError,
                       match=r"'free_energy' parameter of GaussianProcessFES must be finite with shape \(500,\)"):
        gp.fit_free_energies(X, np.ones(3))
    with pytest.raises(ValueError, match="'sigma' parameter of GaussianProcessFES must be > 0"):
        gp.fit_free_energies(X, np.ones(500), sigma=-1.0)
    with pytest.raises(ValueError, match="needs 'free_energy' .* or 'mean_forces'"):
        NeuralNetworkFES().fit_free_energies()
    with pytest.raises(ValueError, match="'mean_forces' parameter of NeuralNetworkFES must be finite with the shape"):
        NeuralNetworkFES().fit_free_energies(force_points=X, mean_forces=np.ones((500, 3)))


def test_predict_input_is_checked():
    m = HistogramFES(bins=10).fit(X).fetch_model()
    with pytest.raises(ValueError, match=r"must have shape \(n, 2\)"):
        m.predict(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="must be finite"):
        m.predict([[np.nan, 0.0]])
    with pytest.raises(ValueError, match="'unit' parameter of FESModel must be one of"):
        m.predict([[0.0, 0.0]], unit="kcal/mol")
    assert np.isnan(m.predict([[50.0, 0.0]])[0])  # outside a histogram's grid: undefined, not extrapolated


@pytest.mark.parametrize("method", ["hist", "gp"])
def test_temperature_zero_is_refused(method):
    from trajml.fes import estimator

    with pytest.raises(ValueError, match=r"'temperature' parameter of \w+FES must be a float in \(1, 10000\) K\. "
                                         r"Got 0.0"):
        estimator(method, temperature=0.0).fit(np.arange(100.0))
