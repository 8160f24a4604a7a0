"""Calibration of the multitask ensemble's std on cross-fitted (out-of-member) residuals.

Oracles: the closed form of the floor when the spread is constant, NumPy z-scores of held-out rows
of a synthetic dataset with known noise, and the raw ensemble spread (which under-states the error).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from extrapolation_synthetic import synthetic_table  # noqa: E402

from trajml.extrapolation.deep.calibration import (
    calibration_text,
    fit_scale_and_floor,
    long_label_folds,
)


def test_floor_of_a_constant_spread_is_the_missing_variance():
    """With the same spread ``s`` on every row, ``mean(r²) / (s² + b²) = 1`` gives ``b² = mean(r²) - s²``."""
    rng = np.random.default_rng(0)
    r = rng.normal(0.0, 0.3, 500)
    a, b, n = fit_scale_and_floor(r, np.full(500, 0.1))
    assert (a, n) == (1.0, 500)
    assert b == pytest.approx(np.sqrt(np.mean(r ** 2) - 0.01), rel=1e-9)


def test_spread_too_wide_is_scaled_down_and_varying_spreads_get_rms_one():
    rng = np.random.default_rng(1)
    s = rng.uniform(0.05, 0.5, 400)
    a, b, _ = fit_scale_and_floor(0.5 * s * rng.normal(size=400), s)  # errors half the spread
    assert b == 0.0 and 0.4 < a < 0.6
    r = rng.normal(0.0, np.sqrt(s ** 2 + 0.2 ** 2))  # known floor 0.2 on top of the spread
    a, b, _ = fit_scale_and_floor(r, s)
    assert a == 1.0 and b == pytest.approx(0.2, abs=0.03)
    assert np.mean(r ** 2 / (s ** 2 + b ** 2)) == pytest.approx(1.0, rel=1e-8)
    # NaN residuals are skipped; too few rows leave the raw spread
    assert fit_scale_and_floor(np.array([0.1, np.nan, 0.2]), np.array([0.1, 0.1, 0.1])) == (1.0, 0.0, 2)


def test_folds_deal_every_long_labelled_row_once_and_keep_groups_together():
    table, _ = synthetic_table(n_chem=12, seed=4, temperatures=(300.0, 400.0), high_fraction=0.6)
    folds = long_label_folds(table, len(table), 3, seed=0)
    rows = np.concatenate(folds)
    has_long = np.flatnonzero(np.isfinite(table.high).any(axis=1))
    np.testing.assert_array_equal(np.sort(rows), has_long)
    owner = {table.groups[i]: k for k, f in enumerate(folds) for i in f}
    assert all(owner[table.groups[i]] == k for k, f in enumerate(folds) for i in f)
    with pytest.raises(ValueError, match="only 12; lower 'n_models' \\(--ensemble\\)"):
        long_label_folds(table, len(table), 13, seed=0)


pytest.importorskip("rdkit")
pytest.importorskip("torch_geometric")

from trajml.extrapolation.deep import MultitaskExtrapolator, MultitaskModel  # noqa: E402

QUICK = dict(hidden=8, n_layers=1, epochs=10, batch_size=32, n_models=3, correction_prior=10.0, patience=4)


@pytest.fixture(scope="module")
def noisy():
    """100 training chemistries, 120 held-out ones (240 rows: the sampling error of a z-rms of 1 is
    about 1/sqrt(2 · 240) = 0.05), labels with a known noise of 0.1 (log10 D) and 0.05 (t+)."""
    table, _ = synthetic_table(n_chem=220, seed=3, temperatures=(300.0, 400.0), noise=0.1)
    groups = np.array(table.groups)
    chem = list(dict.fromkeys(table.groups))
    train = np.flatnonzero(np.isin(groups, chem[:100]))
    held = np.flatnonzero(np.isin(groups, chem[100:]))
    return table.subset(train), table.subset(held)


def z_rms(model, held):
    out = []
    for view in (held, held.without_labels("low")):
        pred = model.predict(view)
        z = (pred.high - held.high) / pred.high_std
        out.append(np.sqrt(np.nanmean(z ** 2, axis=0)))
    return np.array(out)  # (with / without the measured short run, task)


@pytest.fixture(scope="module")
def fitted(noisy):
    """The calibrated ensemble, and the same networks with the raw spread (the calibration skipped)."""
    train, _ = noisy
    model = MultitaskExtrapolator(**QUICK, calibration="cross-fit").fit(train).fetch_model()
    return {"cross-fit": model, "none": dataclasses.replace(model, std_scale=None, std_floor=None)}


def test_cross_fitted_std_is_calibrated_on_held_out_rows_and_the_raw_spread_is_not(noisy, fitted):
    _, held = noisy
    assert len(held) >= 200
    calibrated, raw = z_rms(fitted["cross-fit"], held), z_rms(fitted["none"], held)
    print(f"held-out z-rms, calibrated {np.round(calibrated, 2).tolist()}, raw {np.round(raw, 2).tolist()}")
    assert ((calibrated >= 0.8) & (calibrated <= 1.25)).all()
    assert (raw > 1.25).all()  # skipping the calibration fails the test above
    info = fitted["cross-fit"].provenance["calibration"]
    assert info["method"] == "cross-fit" and info["n_folds"] == 3
    assert info["by_input"]["measured short run"]["log10_D_Li"]["n_rows"] == 200  # every training row, once
    # the floor is at least the label noise it has to cover (0.1 for log10 D, 0.05 for t+), per input kind
    assert (fitted["cross-fit"].std_floor[:, 0] > 0.1).all() and (fitted["cross-fit"].std_floor[:, 1] > 0.05).all()


def test_calibration_is_saved_printed_and_old_files_still_load(noisy, fitted, tmp_path):
    _, held = noisy
    model = fitted["cross-fit"]
    model.save(tmp_path / "m.npz")
    again = MultitaskModel.load(tmp_path / "m.npz")
    np.testing.assert_allclose(again.predict(held).high_std, model.predict(held).high_std, rtol=1e-6)
    text = calibration_text(again.tasks, again.std_scale, again.std_floor, again.provenance["calibration"])
    assert text.startswith("predicted std calibrated on out-of-member residuals (3 folds)")
    assert f"log10_D_Li a=1 b={model.std_floor[0, 0]:.3g} (200 rows" in text
    # a file written before the floor: one scale per task under 'a:std_scale', read with floor 0
    with np.load(tmp_path / "m.npz") as data:
        arrays = {k: data[k] for k in data.files if not k.startswith("a:calibration")}
    arrays["a:std_scale"] = np.array([2.0, 3.0])
    header = json.loads(str(arrays["__header__"]))
    header["provenance"].pop("calibration")
    arrays["__header__"] = np.array(json.dumps(header))
    np.savez(tmp_path / "old.npz", **arrays)
    old = MultitaskModel.load(tmp_path / "old.npz")
    np.testing.assert_array_equal(old.std_floor, 0.0)
    np.testing.assert_array_equal(old.std_scale, [[2.0, 3.0], [2.0, 3.0]])
    raw_std = dataclasses.replace(old, std_scale=None, std_floor=None).predict(held).high_std
    np.testing.assert_allclose(old.predict(held).high_std, raw_std * [2.0, 3.0], rtol=1e-6)
    assert calibration_text(old.tasks, old.std_scale, old.std_floor, {}).startswith(
        "predicted std scaled on the validation systems (rms z = 1 there): log10_D_Li x2")


def test_validation_calibration_needs_a_validation_set(noisy):
    train, _ = noisy
    with pytest.raises(ValueError, match="calibration='validation' needs a predefined validation set"):
        MultitaskExtrapolator(**{**QUICK, "n_models": 2}, calibration="validation").fit(train)


def test_refit_members_see_every_label_and_keep_the_cross_fitted_calibration(noisy):
    train, held = noisy
    small = train.subset(np.arange(60))
    est = MultitaskExtrapolator(**{**QUICK, "epochs": 3, "n_models": 2}, calibration="cross-fit-refit")
    model = est.fit(small).fetch_model()
    cross = est._cross_fitted
    np.testing.assert_array_equal(model.std_floor, cross.std_floor)
    assert set(model.provenance["calibration"]["seconds"]) == {"cross_fitted", "refit"}
    # the refit members equal members trained on every label with the same seeds (calibration='none')
    plain = MultitaskExtrapolator(**{**QUICK, "epochs": 3, "n_models": 2}, calibration="none").fit(small).fetch_model()
    np.testing.assert_allclose(model.predict(held).high, plain.predict(held).high, rtol=1e-5, atol=1e-6)
    assert not np.allclose(cross.predict(held).high, plain.predict(held).high)
