"""Noise-aware use of a measured short-run value: weighed by its estimated noise, feeding it is no worse than
not feeding it when it is pure noise, and better when it carries what the graph cannot tell."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdkit")
pytest.importorskip("torch_geometric")

from extrapolation_synthetic import chemistries, offset  # noqa: E402

from trajml.extrapolation.deep import MultitaskExtrapolator, MultitaskModel  # noqa: E402
from trajml.extrapolation.deep.measured_weight import LABELS_LOWER_BOUND, LABELS_SOURCE  # noqa: E402
from trajml.extrapolation.tables import ExtrapolationTable, kfold_indices  # noqa: E402

FIT = dict(hidden=16, n_layers=1, epochs=60, batch_size=16, n_models=2, correction_prior=10.0, patience=15)


def _tables(run_noise: float, hidden_effect: float, seed: int = 0) -> tuple[ExtrapolationTable, ...]:
    """Training, validation and test tables (by chemistry) of one task, log10_D_Li.

    True short-run value ``s = 0.12 L - 0.25 h - 600/T + u``, with ``u`` (std ``hidden_effect``) a per-row
    effect no graph or feature tells; the long run keeps it: ``long = s - offset(h)``. The measured short
    run is ``s + e`` with run noise ``e`` (std ``run_noise``), which the long run does not share.
    """
    rng = np.random.default_rng(seed)
    chem = chemistries(48, seed)
    rows = [(smi, length, h, t) for smi, length, h in chem for t in (300.0, 400.0)]
    length, h, temp = (np.array([r[k] for r in rows], float) for k in (1, 2, 3))
    s = 0.12 * length - 0.25 * h - 600.0 / temp + rng.normal(0, hidden_effect, len(rows)) if hidden_effect else \
        0.12 * length - 0.25 * h - 600.0 / temp
    low = s + rng.normal(0, run_noise, len(rows))
    high = s - offset(h)
    table = ExtrapolationTable(tuple(f"p{k}" for k in range(len(rows))), tuple(r[0] for r in rows), "smiles",
                               ("temperature",), temp[:, None], ("log10_D_Li",), low[:, None], high[:, None])
    folds = kfold_indices(len(table), 4, seed=seed, groups=table.groups)
    test, val = folds[0][1], folds[1][1]
    train = np.setdiff1d(np.arange(len(table)), np.concatenate([test, val]))
    return table.subset(train), table.subset(val), table.subset(test)


def _maes(model: MultitaskModel, test: ExtrapolationTable) -> tuple[float, float]:
    y = test.high[:, 0]
    with_input = model.predict(test).high[:, 0]
    without = model.predict(test.without_labels("low")).high[:, 0]
    return float(np.mean(np.abs(with_input - y))), float(np.mean(np.abs(without - y)))


def test_pure_noise_input_does_not_hurt():
    # the measured short run is the truth plus run noise of 0.5 log10 that the long run does not share
    train, val, test = _tables(run_noise=0.5, hidden_effect=0.0)
    # stated tolerance: 0.03 log10 (a weight fitted on 24 validation rows lets a little noise through)
    for weight in ("least-squares", "lower-bound"):
        model = MultitaskExtrapolator(**FIT, short_run_weight=weight).fit(train, val).fetch_model()
        with_input, without = _maes(model, test)
        assert with_input <= without + 0.03, (weight, with_input, without)
    # told the run noise, the weight is near 0: nearly all of the low head's residual is noise
    model = MultitaskExtrapolator(**FIT, short_run_noise=0.5).fit(train, val).fetch_model()
    with_input, without = _maes(model, test)
    assert (model.measured_weight <= 0.3).all(), model.measured_weight
    assert with_input <= without + 0.03, (with_input, without)


def test_informative_input_helps():
    # the measured short run carries a per-row effect (std 0.3) that the long run keeps; run noise 0.02
    train, val, test = _tables(run_noise=0.02, hidden_effect=0.3)
    model = MultitaskExtrapolator(**FIT, short_run_weight="least-squares").fit(train, val).fetch_model()
    with_input, without = _maes(model, test)
    assert (model.measured_weight >= 0.6).all(), model.measured_weight
    assert with_input < 0.75 * without, (with_input, without)
    assert model.provenance["measured_weight"]["estimated_from"] == [LABELS_SOURCE] * 2
    # one standard error below: never more trust than the least-squares weight, and still most of the gain
    cautious = MultitaskExtrapolator(**FIT).fit(train, val).fetch_model()  # the default
    assert (cautious.measured_weight <= model.measured_weight + 1e-6).all()
    assert cautious.provenance["measured_weight"]["estimated_from"] == [LABELS_LOWER_BOUND] * 2
    assert _maes(cautious, test)[0] < 0.85 * without


def test_weight_from_replicate_noise(tmp_path):
    # given the noise of one run, k = 1 - noise² / r², r² the low head's mean square residual on the
    # validation rows (oracle: NumPy on the saved model's own short-run predictions)
    train, val, test = _tables(run_noise=0.15, hidden_effect=0.3)
    model = MultitaskExtrapolator(**{**FIT, "n_models": 1}, short_run_noise=0.15).fit(train, val).fetch_model()
    r2 = np.mean((model.predict(val).low[:, 0] - val.low[:, 0]) ** 2)
    assert model.measured_weight[0, 0] == pytest.approx(max(0.0, 1.0 - 0.15 ** 2 / r2), abs=1e-5)
    assert model.provenance["measured_weight"]["estimated_from"] == ["replicate noise"]
    # the weight travels with the model file; weight 0 is exactly the prediction without the measured value
    model.save(tmp_path / "m.npz")
    again = MultitaskModel.load(tmp_path / "m.npz")
    np.testing.assert_allclose(again.predict(test).high, model.predict(test).high, rtol=1e-6)
    np.testing.assert_allclose(again.with_measured_weight(0.0).predict(test).high,
                               model.predict(test.without_labels("low")).high, rtol=1e-6)
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        model.with_measured_weight(1.5)


def test_lower_bound_weight_trusts_an_uncertain_short_run_less():
    # run noise 0.3 against a kept per-row effect of 0.2: 24 validation rows leave the weight uncertain, and
    # the least-squares weight lets enough noise through to be worse than not feeding the value
    train, val, test = _tables(run_noise=0.3, hidden_effect=0.2)
    plain = MultitaskExtrapolator(**FIT, short_run_weight="least-squares").fit(train, val).fetch_model()
    cautious = MultitaskExtrapolator(**FIT).fit(train, val).fetch_model()  # the default
    assert (cautious.measured_weight < plain.measured_weight - 0.1).all(), (cautious.measured_weight,
                                                                             plain.measured_weight)
    (plain_with, without), (cautious_with, same_without) = _maes(plain, test), _maes(cautious, test)
    assert same_without == without  # the same networks: only the weight differs
    assert cautious_with < plain_with and cautious_with <= without + 0.005, (cautious_with, plain_with, without)
