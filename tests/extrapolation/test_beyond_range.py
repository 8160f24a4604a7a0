"""Predictions beyond the range of the training long-run labels are flagged, with their distance.

Oracle: the training labels' min and max taken with NumPy, and the distance of each prediction outside them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("rdkit")
pytest.importorskip("torch_geometric")

from extrapolation_synthetic import synthetic_table  # noqa: E402

from trajml.extrapolation.deep import MultitaskExtrapolator  # noqa: E402
from trajml.extrapolation.readers import read_prediction_csv  # noqa: E402


@pytest.fixture(scope="module")
def low_half():
    """Trained on the chemistries whose long-run log10 D is below the median; the others are held out."""
    table, _ = synthetic_table(n_chem=60, seed=2, temperatures=(300.0, 400.0))
    order = np.argsort(table.high[:, 0])
    train, held = table.subset(np.sort(order[: len(table) // 2])), table.subset(np.sort(order[len(table) // 2:]))
    model = MultitaskExtrapolator(hidden=8, n_layers=1, epochs=10, batch_size=32, n_models=2, correction_prior=10.0,
                                  patience=4).fit(train).fetch_model()
    return train, held, model


def test_distance_beyond_the_training_labels(low_half, tmp_path):
    train, held, model = low_half
    pred = model.predict(held)
    for j in range(len(model.tasks)):
        y = train.high[:, j]
        lo, hi = np.nanmin(y), np.nanmax(y)
        expected = np.clip(pred.high[:, j] - hi, 0, None) + np.clip(lo - pred.high[:, j], 0, None)
        np.testing.assert_allclose(pred.beyond_range[:, j], expected, rtol=1e-12, atol=0)
    assert (pred.beyond_range[:, 0] > 0).sum() >= len(held) // 4  # the upper half lies mostly beyond the lower
    assert (model.predict(train).beyond_range[:, 0] < 0.2).mean() > 0.9
    text = pred.out_of_range_text()
    assert f"log10_D_Li: {int((pred.beyond_range[:, 0] > 0).sum())} of {len(held)} predictions lie beyond" in text
    assert "std is a lower bound" in text
    pred.write_csv(str(tmp_path / "p.csv"))
    again = read_prediction_csv(tmp_path / "p.csv")
    np.testing.assert_allclose(again.beyond_range, pred.beyond_range, rtol=1e-6)


def test_models_without_a_recorded_range_give_no_flag(low_half, tmp_path):
    _, held, model = low_half
    prov = {k: v for k, v in model.provenance.items() if k != "training_label_range"}
    old = dataclasses.replace(model, provenance=prov)
    pred = old.predict(held)
    assert pred.beyond_range is None and pred.out_of_range_text() == ""
    assert not any(c.endswith("_beyond_range") for c in pred.columns())
    pred.write_csv(str(tmp_path / "p.csv"))
    assert read_prediction_csv(tmp_path / "p.csv").beyond_range is None
