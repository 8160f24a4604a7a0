"""The NN ensemble's calibration on two independent halves of the counts (``calibrate=True``).

:func:`spread_scale` is checked against synthetic fits whose variance components are known; the
estimator against exact samples of a 1-D double well whose F is known, where the calibrated σ
must explain the errors (rms of error / σ in [0.8, 1.25]) and the members' raw spread must not.
"""

from __future__ import annotations

import numpy as np
import pytest
from fes_potentials import KT
from test_fes_calibration import CASES, exact_samples, scores

pytest.importorskip("torch")


def test_spread_scale_recovers_known_variance_components():
    from trajml.fes.nn import spread_scale

    rng = np.random.default_rng(3)
    m = 4000
    x = np.linspace(-1.0, 1.0, m)
    f0 = 3.0 * x * x  # kT
    log_exposure = np.log(200.0)  # λ = 200 exp(−f0): 10 to 200 counts per bin
    s_true, k_true = 1.7, 0.6
    halves = []
    for _ in range(2):
        spread = 0.002 * (1.5 + np.sin(7.0 * x))  # members' variance, kT²
        var = s_true ** 2 * spread + k_true ** 2 * np.exp(f0 - log_exposure)
        halves.append((f0 + 0.3 + rng.standard_normal(m) * np.sqrt(var), spread))  # + an arbitrary constant
    s, kappa = spread_scale(halves, log_exposure, np.ones(m, dtype=bool))
    assert s == pytest.approx(s_true, rel=0.15) and kappa == pytest.approx(k_true, rel=0.15)


def test_calibrated_error_bars_match_the_errors_and_raw_spread_does_not(tmp_path):
    """1-D double well, 20 000 exact samples, 3 seeds: the pooled rms of (error / σ) against the
    exact F lies in [0.8, 1.25] with ``calibrate=True``; the members' raw spread
    (``calibrate=False``) under-states the error there (its z-rms is above 1.25)."""
    from trajml.fes import HistogramFES, NeuralNetworkFES

    U, box, bins, h = CASES["double_well_1d"]
    z_raw, z_cal = [], []
    for seed in range(3):
        x = exact_samples(U, box, 20_000, seed, h)
        kw = dict(temperature=300.0, bins=bins, ranges=box, hidden=(16, 16), n_members=4, n_steps=200, seed=seed)
        cells = np.isfinite(HistogramFES(temperature=300.0, bins=bins, ranges=box).fit(x)
                            .fetch_model().free_energy_kJmol.ravel())
        for calibrate, out in ((False, z_raw), (True, z_cal)):
            model = NeuralNetworkFES(**kw, calibrate=calibrate).fit(x).fetch_model()
            out.append(scores(model, U(model.grid_points()) / KT, cells)[1])
            if calibrate and seed == 0:
                assert model.provenance["spread_scale"] > 0 and model.provenance["count_noise"] >= 0
                model.save(tmp_path / "nn.fes")  # the calibration travels with the model file
                again = type(model).load(tmp_path / "nn.fes")
                pts = model.grid_points()
                np.testing.assert_allclose(again.predict(pts, return_std=True, unit="kT")[1],
                                           model.predict(pts, return_std=True, unit="kT")[1], rtol=1e-12)
    raw, cal = (float(np.sqrt(np.mean(np.concatenate(z) ** 2))) for z in (z_raw, z_cal))
    print(f"z-rms raw {raw:.2f}, calibrated {cal:.2f}")
    assert 0.8 <= cal <= 1.25, (raw, cal)
    assert not 0.8 <= raw <= 1.25, (raw, cal)
