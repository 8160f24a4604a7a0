"""The weight of a measured short-run value, refitted on out-of-member predictions.

Oracles: the least-squares weight recomputed in NumPy from each member's predictions at k = 0 and
k = 1 on the rows it never saw, and held-out rows of synthetic data whose short runs are made useless
by added noise (feeding them must then be no worse than not feeding them).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("rdkit")
pytest.importorskip("torch_geometric")

from extrapolation_synthetic import synthetic_table  # noqa: E402

from trajml.extrapolation.deep import MultitaskExtrapolator  # noqa: E402
from trajml.extrapolation.deep.calibration import long_label_folds  # noqa: E402
from trajml.extrapolation.deep.measured_weight import weight_text  # noqa: E402

QUICK = dict(hidden=8, n_layers=1, epochs=10, batch_size=32, n_models=3, correction_prior=10.0, patience=4)


def split(noise_on_short_run: float):
    """100 training and 60 held-out chemistries (2 temperatures each); short-run log10 D plus extra noise."""
    table, _ = synthetic_table(n_chem=160, seed=5, temperatures=(300.0, 400.0), noise=0.05)
    low = table.low.copy()
    low[:, 0] += np.random.default_rng(9).normal(0.0, noise_on_short_run, len(table))
    table = dataclasses.replace(table, low=low)
    groups = np.array(table.groups)
    chem = list(dict.fromkeys(table.groups))
    return (table.subset(np.flatnonzero(np.isin(groups, chem[:100]))),
            table.subset(np.flatnonzero(np.isin(groups, chem[100:]))))


@pytest.fixture(scope="module")
def useless_short_run():
    train, held = split(1.0)  # short-run log10 D noise 1.0: far more than the chemistry explains
    return train, held, MultitaskExtrapolator(**QUICK).fit(train).fetch_model()


def test_refitted_weight_is_the_out_of_member_least_squares_weight(useless_short_run):
    train, _, model = useless_short_run
    info = model.provenance["measured_weight"]["cross_fit"]["tasks"]
    folds = long_label_folds(train, len(train), 3, seed=0)  # the estimator's folds (seed 0, n_models 3)
    d, e = [], []
    for m, fold in enumerate(folds):
        sub = train.subset(fold)
        member = model.member(m)
        p0 = member.with_measured_weight(0.0).predict(sub).high[:, 0]
        p1 = member.with_measured_weight(1.0).predict(sub).high[:, 0]
        d.append(p1 - p0)
        e.append(sub.high[:, 0] - p0)
    d, e = np.concatenate(d), np.concatenate(e)
    k = float(np.clip(np.sum(d * e) / np.sum(d * d), 0.0, 1.0))
    assert info["log10_D_Li"]["weight"] == pytest.approx(k, abs=1e-6)
    assert info["log10_D_Li"]["n_rows"] == 200
    np.testing.assert_allclose(model.measured_weight[:, 0], k, atol=1e-6)  # shared by every member
    # on the rows it was fitted on, the refitted weight beats both ends in squared error (p is near linear in k)
    sse = lambda w: float(np.sum((e - w * d) ** 2))  # noqa: E731
    assert sse(k) <= min(sse(0.0), sse(1.0))
    assert info["log10_D_Li"]["mae_weight_0"] == pytest.approx(np.mean(np.abs(e)), rel=1e-6)
    assert "log10_D_Li k=" in weight_text(model)


def test_feeding_a_useless_short_run_is_no_worse_on_held_out_rows(useless_short_run):
    _, held, model = useless_short_run
    with_run = np.nanmean(np.abs(model.predict(held).high[:, 0] - held.high[:, 0]))
    without = np.nanmean(np.abs(model.predict(held.without_labels("low")).high[:, 0] - held.high[:, 0]))
    trusted = np.nanmean(np.abs(model.with_measured_weight(1.0).predict(held).high[:, 0] - held.high[:, 0]))
    print(f"held-out MAE log10 D: fed {with_run:.3f}, not fed {without:.3f}, fully trusted {trusted:.3f}")
    assert with_run <= without * 1.02 and with_run <= trusted * 1.02


def test_an_informative_short_run_keeps_a_high_weight():
    train, _ = split(0.0)
    model = MultitaskExtrapolator(**QUICK).fit(train).fetch_model()
    assert model.provenance["measured_weight"]["cross_fit"]["tasks"]["log10_D_Li"]["weight"] > 0.7


def test_given_short_run_noise_or_no_cross_fit_keeps_the_members_weights():
    train, _ = split(0.0)
    small = train.subset(np.arange(80))
    for kwargs in ({"short_run_noise": 0.05}, {"calibration": "none"}):
        model = MultitaskExtrapolator(**{**QUICK, "epochs": 2}, **kwargs).fit(small).fetch_model()
        assert "cross_fit" not in model.provenance["measured_weight"]
