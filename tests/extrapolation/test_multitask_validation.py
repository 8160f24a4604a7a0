"""A predefined validation set: early stopping on it alone, statistics from the training rows only, and (with
``calibration='validation'``) the ensemble std recalibrated on it (rms z = 1 there, kept through save/load)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdkit")
pytest.importorskip("torch_geometric")

from extrapolation_synthetic import synthetic_table  # noqa: E402

from trajml.extrapolation.deep import MultitaskExtrapolator, MultitaskModel  # noqa: E402
from trajml.extrapolation.tables import kfold_indices  # noqa: E402

QUICK = dict(hidden=8, n_layers=1, epochs=12, batch_size=16, n_models=3, correction_prior=10.0, patience=3)


@pytest.fixture(scope="module")
def split():
    table, _ = synthetic_table(n_chem=16, seed=2, temperatures=(300.0, 400.0))
    train, held = kfold_indices(len(table), 4, seed=0, groups=table.groups)[0]
    return table.subset(train), table.subset(held)


def test_validation_table_stops_training_and_calibrates_the_std(split, tmp_path):
    train, val = split
    model = MultitaskExtrapolator(**QUICK, calibration="validation").fit(train, val).fetch_model()
    # the standardisation comes from the training rows alone (oracle: NumPy on those rows)
    np.testing.assert_allclose(model.target_mean, np.nanmean(np.concatenate([train.low, train.high]), axis=0))
    assert model.provenance["n_rows"] == len(train) and model.provenance["n_validation_rows"] == len(val)
    # every member's validation curve is the loss on the given rows: finite, and it stopped early or ran out
    assert np.isfinite(model.validation_losses[:, 0]).all()
    pred = model.predict(val)
    for j, t in enumerate(model.tasks):
        ok = np.isfinite(val.high[:, j])
        z = (pred.high[ok, j] - val.high[ok, j]) / pred.high_std[ok, j]
        assert np.sqrt(np.mean(z ** 2)) == pytest.approx(1.0, rel=1e-6)
        assert model.provenance["std_scale"][t] == pytest.approx(model.std_scale[0, j])
        assert model.std_scale[1, j] == model.std_scale[0, j] and model.std_floor[:, j].tolist() == [0.0, 0.0]
    model.save(tmp_path / "m.npz")
    again = MultitaskModel.load(tmp_path / "m.npz").predict(val)
    np.testing.assert_allclose(again.high_std, pred.high_std, rtol=1e-6)


def test_bad_validation_tables(split):
    train, val = split
    est = MultitaskExtrapolator(**{**QUICK, "n_models": 1, "epochs": 1})
    with pytest.raises(ValueError, match="'validation' table of MultitaskExtrapolator.fit has no long-run label"):
        est.fit(train, val.without_labels("high"))
    with pytest.raises(ValueError, match=r"shares id\(s\) \['p"):
        est.fit(train, train.subset([0, 1]))
    with pytest.raises(TypeError, match="must be an ExtrapolationTable"):
        est.fit(train, "val.csv")


def test_prior_search_reports_each_inner_fold(split, capsys):
    train, _ = split
    est = MultitaskExtrapolator(**{**QUICK, "n_models": 1, "epochs": 2, "correction_prior": "auto"}, progress=True)
    model = est.fit(train).fetch_model()
    err = capsys.readouterr().err
    for prior in ("0", "10", "100", "1000", "inf"):
        assert f"correction-prior search: inner fold 1/3, prior {prior}: MAE log10_D_Li " in err
    assert "MultitaskExtrapolator member 1/1" in err
    assert set(model.provenance["correction_prior_choice"]["chosen"]) == {"log10_D_Li", "transference"}


def test_prior_search_in_worker_processes_equals_the_serial_search(split):
    train, _ = split
    quick = {**QUICK, "n_models": 1, "epochs": 2, "correction_prior": "auto"}
    serial = MultitaskExtrapolator(**quick).fit(train).fetch_model().provenance["correction_prior_choice"]
    pooled = MultitaskExtrapolator(**quick, n_workers=2).fit(train).fetch_model().provenance["correction_prior_choice"]
    assert pooled["chosen"] == serial["chosen"]
    for task, by_prior in serial["mae"].items():
        assert pooled["mae"][task] == pytest.approx(by_prior, rel=1e-5)
