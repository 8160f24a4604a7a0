"""The multitask extrapolator against a synthetic dataset whose long-run values are a known function of the
short-run value and of the repeat unit's graph, and against hand-computed losses."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("rdkit")
torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from extrapolation_synthetic import synthetic_table  # noqa: E402

from trajml.extrapolation.baselines import RandomForestBaseline, cross_validate  # noqa: E402
from trajml.extrapolation.deep import MultitaskExtrapolator, MultitaskModel, masked_loss  # noqa: E402
from trajml.extrapolation.tables import ExtrapolationTable, kfold_indices  # noqa: E402

FAST = dict(hidden=32, n_layers=2, epochs=150, batch_size=32, lr=3e-3, validation_fraction=0.0, patience=None,
            correction_prior=10.0)


@pytest.fixture(scope="module")
def data():
    return synthetic_table(n_chem=30, seed=0)


@pytest.fixture(scope="module")
def fitted(data):
    table, _ = data
    train, _ = kfold_indices(len(table), 4, seed=0, groups=table.groups)[0]
    return MultitaskExtrapolator(**{**FAST, "epochs": 60}, n_models=2, seed=1).fit(table.subset(train))


def test_masked_loss_equals_hand_computed_value():
    pred = torch.tensor([[1.0, 2.0], [3.0, 5.0]])
    target = torch.tensor([[0.0, float("nan")], [1.0, 6.0]])
    mask = torch.isfinite(target)
    # observed errors: 1, 2, -1 -> (1 + 4 + 1) / 3
    assert float(masked_loss(pred, target, mask)) == pytest.approx(2.0)
    log_var = torch.tensor([[0.0, 9.0], [math.log(4.0), 0.0]])
    nll = (0.5 * (0 + 1) + 0.5 * (math.log(4.0) + 4 / 4) + 0.5 * (0 + 1)) / 3
    assert float(masked_loss(pred, target, mask, log_var)) == pytest.approx(nll, rel=1e-6)
    assert float(masked_loss(pred, target, torch.zeros_like(mask))) == 0.0
    # no gradient leaks through a missing label
    p = pred.clone().requires_grad_(True)
    masked_loss(p, target, mask).backward()
    assert p.grad[0, 1] == 0.0


def test_beats_short_run_and_linear_correction_on_held_out_chemistries(data):
    """4-fold CV holding out whole chemistries; each long-run label is missing with probability 0.4.

    Truth: long log10 D = short - (0.2 + 0.15 h), h = heteroatoms of the ring (graph-only information);
    long t+ = 0.8 short t+ + 0.03 (ring size - 5). A linear map of the short value cannot know h or the
    ring size; the graph trunk can.
    """
    table, _ = synthetic_table(n_chem=30, seed=3, high_fraction=0.6)
    cv = cross_validate(lambda: MultitaskExtrapolator(**{**FAST, "correction_prior": "auto"}, n_models=1, seed=0),
                        table, n_splits=4, seed=0)
    mean = cv.mean()
    print("\n" + cv.summary())
    for task in table.tasks:
        model, linear, short = (mean[m][task][0] for m in ("model", "linear", "short_run"))
        assert model < 0.6 * linear, (task, model, linear)
        assert model < 0.6 * short, (task, model, short)
    assert mean["model"]["log10_D_Li"][0] < 0.06  # noise floor ~0.02, linear ~0.13, raw short run ~0.6
    # scored on the same rows: each fold's model error below its linear-correction error
    assert (cv.mae[0, :, 0] < cv.mae[2, :, 0]).all()


def test_random_forest_baseline_learns_the_offset(data):
    pytest.importorskip("sklearn")
    table, _ = data
    train, test = kfold_indices(len(table), 4, seed=0, groups=table.groups)[0]
    pred = RandomForestBaseline(n_estimators=60, n_bits=256).fit(table.subset(train)).fetch_model().predict(
        table.subset(test))
    mae = np.mean(np.abs(pred.high - table.high[test]), axis=0)
    raw = np.mean(np.abs(table.low[test] - table.high[test]), axis=0)
    assert mae[0] < 0.5 * raw[0]
    assert np.all(pred.high_std >= 0)


def test_ensemble_uncertainty_save_load_and_purity(fitted, data, tmp_path):
    table, _ = data
    model = fitted.fetch_model()
    assert fitted.fetch_model() is model and model.n_models == 2
    pred = model.predict(table.subset(range(8)))
    assert pred.high.shape == (8, 2) and np.all(pred.high_std > 0) and np.all(np.isfinite(pred.low))
    model.save(tmp_path / "m.npz")
    back = MultitaskModel.load(tmp_path / "m.npz")
    np.testing.assert_allclose(back.predict(table.subset(range(8))).high, pred.high, rtol=1e-6, atol=1e-6)
    assert back.feature_names == ("temperature",) and back.tasks == ("log10_D_Li", "transference")
    np.save(tmp_path / "other.npy", np.zeros(3))
    with pytest.raises(ValueError, match="is not a trajml model file"):
        MultitaskModel.load(tmp_path / "other.npy")


def test_screening_without_short_runs_uses_the_low_fidelity_head(fitted, data):
    table, _ = data
    model = fitted.fetch_model()
    blank = table.subset(range(12)).without_labels("low").without_labels("high")
    pred = model.predict(blank)
    assert np.all(np.isfinite(pred.high))
    # with no measured short run the high head is fed the low head's prediction, which tracks the short run
    assert np.mean(np.abs(pred.low[:, 0] - table.low[:12, 0])) < 0.5


def test_predict_refuses_other_descriptors(fitted, data):
    table, _ = data
    other = ExtrapolationTable(table.ids[:3], table.graphs[:3], "smiles", ("salt",), table.features[:3],
                               table.tasks, table.low[:3], table.high[:3])
    with pytest.raises(ValueError, match=r"trained with the descriptors \['temperature'\].*missing \['temperature'\]"
                                         r"; not trained with \['salt'\]"):
        fitted.fetch_model().predict(other)
    cg = ExtrapolationTable(("a",), (("C", "O"),), "cg", ("temperature",), [[300.0]], (), np.zeros((1, 0)),
                            np.zeros((1, 0)))
    with pytest.raises(ValueError, match="trained on smiles graphs; the table has cg graphs"):
        fitted.fetch_model().predict(cg)


def test_bad_training_input(data):
    table, _ = data
    n = 6
    sub = table.subset(range(n))
    const = ExtrapolationTable(sub.ids, sub.graphs, "smiles", sub.feature_names, sub.features, sub.tasks, sub.low,
                               np.c_[np.full(n, -2.0), sub.high[:, 1]])
    with pytest.raises(ValueError, match=r"long|high-fidelity labels of task 'log10_D_Li' are constant"):
        MultitaskExtrapolator(epochs=1).fit(const)
    empty = ExtrapolationTable(sub.ids, sub.graphs, "smiles", sub.feature_names, sub.features, sub.tasks, sub.low,
                               np.c_[np.full(n, np.nan), sub.high[:, 1]])
    with pytest.raises(ValueError, match="high-fidelity labels of task 'log10_D_Li' are empty"):
        MultitaskExtrapolator(epochs=1).fit(empty)
    graphs = list(sub.graphs)
    graphs[4] = "*CC[Xe]*"
    bad = ExtrapolationTable(sub.ids, tuple(graphs), "smiles", sub.feature_names, sub.features, sub.tasks, sub.low,
                             sub.high)
    with pytest.raises(ValueError, match=r"\(row 5, id 'p4'\) contains element\(s\) \['Xe'\]"):
        MultitaskExtrapolator(epochs=1).fit(bad)
    with pytest.raises(ValueError, match=r"The 'low_input' parameter of MultitaskExtrapolator must be one of "
                                         r"\('observed', 'predicted'\). Got 'measured' instead."):
        MultitaskExtrapolator(low_input="measured").fit(sub)
    with pytest.raises(ValueError, match=r"'n_models' parameter of MultitaskExtrapolator must be an int >= 1"):
        MultitaskExtrapolator(n_models=0).fit(sub)


def test_refit_replaces_and_heteroscedastic_cg_model():
    """CG bead rings: the long-run value depends on the O fraction of the unit, which only the graph knows."""
    units = [("C", "O"), ("C", "C", "O"), ("C", "C", "C", "O"), ("C", "O", "O"), ("C", "C"), ("C", "C", "O", "O")]
    rng = np.random.default_rng(0)
    rows = [(u, t) for u in units for t in (1.0, 1.5, 2.0)]
    frac = np.array([u.count("O") / len(u) for u, _ in rows])
    temp = np.array([t for _, t in rows])
    low = -1.0 / temp + rng.normal(0, 0.01, len(rows))
    high = low - frac + rng.normal(0, 0.01, len(rows))
    table = ExtrapolationTable(tuple(f"s{k}" for k in range(len(rows))), tuple(u for u, _ in rows), "cg",
                               ("temperature",), temp[:, None], ("log10_D_polymer",), low[:, None], high[:, None])
    est = MultitaskExtrapolator(**{**FAST, "epochs": 200}, n_models=1, heteroscedastic=True, seed=0)
    first = est.fit(table).fetch_model()
    pred = first.predict(table)
    assert first.vocabulary == ("C", "O") and np.all(pred.high_std > 0)
    assert np.mean(np.abs(pred.high[:, 0] - high)) < 0.5 * np.mean(np.abs(frac - frac.mean()))
    second = est.fit(table.subset(range(9))).fetch_model()
    assert second is not first and second.provenance["n_rows"] == 9
    with pytest.raises(ValueError, match=r"bead type\(s\) \['N'\] outside the vocabulary"):
        first.predict(ExtrapolationTable(("x",), (("C", "N"),), "cg", ("temperature",), [[1.0]], (),
                                         np.zeros((1, 0)), np.zeros((1, 0))))



def test_generic_load_model_reads_multitask_files(fitted, data, tmp_path):
    from trajml.kinetics import MSMModel
    from trajml.store import load_model, save_model

    table, _ = data
    model = fitted.fetch_model()
    save_model(model, tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    assert isinstance(back, MultitaskModel)
    np.testing.assert_allclose(back.predict(table.subset(range(5))).high, model.predict(table.subset(range(5))).high,
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="holds a MultitaskModel, not a MSMModel"):
        load_model(tmp_path / "m.npz", expected=MSMModel)


@pytest.mark.parametrize("residual, blend", [(True, 50.0), (True, -50.0), (False, None)])
def test_residual_head_adds_its_correction_to_the_fed_short_run_value(data, tmp_path, residual, blend):
    """With the high head's last layer zeroed and the linear map at slope 1, intercept 0, a residual model
    returns the blend of the short-run value
    it is fed (measured, or the low head's prediction when there is none) and the low head's prediction:
    the fed value with the blend weight at 1, the prediction at 0. An absolute model returns 0 in
    standardised units, i.e. the training label mean."""
    table, _ = data
    model = MultitaskExtrapolator(**{**FAST, "epochs": 2}, n_models=1, residual=residual, seed=0).fit(
        table).fetch_model()
    model.save(tmp_path / "m.npz")
    back = MultitaskModel.load(tmp_path / "m.npz")
    assert back.residual is residual
    net = back._nets()[0]
    with torch.no_grad():
        net.high_head[-1].weight.zero_()
        net.high_head[-1].bias.zero_()
        if residual:
            net.blend_logit.fill_(blend)
            net.slope.fill_(1.0)
            net.intercept.fill_(0.0)
    sub = table.subset(range(10))
    predicted_low = back.predict(sub.without_labels("low")).low
    fed = np.where(np.isfinite(sub.low), sub.low, predicted_low)
    if not residual:
        expected = np.broadcast_to(back.target_mean, fed.shape)
    else:
        expected = fed if blend > 0 else back.predict(sub).low
    np.testing.assert_allclose(back.predict(sub).high, expected, rtol=1e-5, atol=1e-5)
    if residual and blend > 0:  # rows with a measured short run really use it, not the prediction
        assert np.abs(expected - predicted_low)[np.isfinite(sub.low)].max() > 1e-3


def test_untrained_residual_model_is_the_least_squares_line_of_its_training_rows(data):
    """Before training moves it (learning rate ~0), a residual model that trusts the measured short run
    (blend weight 1) predicts the least-squares line of long- against short-run labels of the rows it was
    trained on: scipy's linregress is the oracle, per task."""
    from scipy.stats import linregress

    table, _ = data
    model = MultitaskExtrapolator(**{**FAST, "epochs": 1, "lr": 1e-12}, n_models=1, seed=0).fit(table).fetch_model()
    with torch.no_grad():
        model._nets()[0].blend_logit.fill_(50.0)
    pred = model.predict(table).high
    for j, task in enumerate(table.tasks):
        ok = np.isfinite(table.low[:, j]) & np.isfinite(table.high[:, j])
        line = linregress(table.low[ok, j], table.high[ok, j])
        rows = np.isfinite(table.low[:, j])
        np.testing.assert_allclose(pred[rows, j], line.slope * table.low[rows, j] + line.intercept,
                                   rtol=1e-4, atol=1e-4, err_msg=task)


def test_correction_penalty_keeps_the_residual_correction_small(data):
    """A strong prior on the high head's correction leaves the long-run prediction close to the linear
    map of the blended short-run value; without it the head is free to fit the training labels."""
    table, _ = data

    def correction(penalty):
        model = MultitaskExtrapolator(**{**FAST, "epochs": 80, "correction_prior": penalty}, n_models=1,
                                      seed=0).fit(table).fetch_model()
        from torch_geometric.data import Batch

        from trajml.extrapolation.deep.polymer_graph import table_graphs

        net = model._nets()[0]
        low = torch.as_tensor((table.low - model.target_mean) / model.target_std, dtype=torch.float32)
        with torch.no_grad():
            head = net(Batch.from_data_list(table_graphs(table, model.vocabulary)),
                       torch.as_tensor(table.features, dtype=torch.float32), low, torch.isfinite(low))[4]
        return float(head.abs().mean())

    assert correction(1e5) < 0.2 * correction(0.0)


def test_auto_prior_frees_a_real_correction_and_shrinks_pure_noise():
    """'auto' picks the correction prior by inner cross-validation: small where the long-run values
    differ from the short-run ones by a chemistry-dependent shift (the synthetic truth), large where
    they differ only by noise that no correction can predict."""
    table, _ = synthetic_table(n_chem=30, seed=3)
    fast = {**FAST, "epochs": 80, "correction_prior": "auto"}
    real = MultitaskExtrapolator(**fast, n_models=1, seed=0).fit(table).fetch_model()
    noisy_high = table.low + np.random.default_rng(0).normal(0.0, 1.0, table.low.shape) * table.low.std(axis=0)
    noise = ExtrapolationTable(table.ids, table.graphs, table.graph_kind, table.feature_names, table.features,
                               table.tasks, table.low, noisy_high, groups=table.groups)
    shrunk = MultitaskExtrapolator(**fast, n_models=1, seed=0).fit(noise).fetch_model()
    for task in table.tasks:
        chosen = [m.provenance["correction_prior_choice"]["chosen"][task] for m in (real, shrunk)]
        assert chosen[0] <= 10.0 and chosen[1] >= 100.0, (task, chosen)
    assert real.provenance["params"]["correction_prior"] == [
        real.provenance["correction_prior_choice"]["chosen"][t] for t in table.tasks]


def test_validation_rows_are_drawn_among_all_rows_and_keep_two_long_runs_in_training():
    table, _ = synthetic_table(n_chem=30, seed=3, high_fraction=0.3)
    train, val = MultitaskExtrapolator._split(table, 0.3, seed=0)
    assert len(val) == round(0.3 * len(table)) and np.intersect1d(train, val).size == 0
    assert sorted(np.r_[train, val]) == list(range(len(table)))
    assert not np.isfinite(table.high[val]).any(axis=1).all()  # short-run-only rows are validated too
    # a table with two long runs: holding either out would leave one to train on, so nothing is held out
    high = np.full_like(table.high, np.nan)
    high[:2] = table.high[:2]
    few = ExtrapolationTable(table.ids, table.graphs, table.graph_kind, table.feature_names, table.features,
                             table.tasks, table.low, high, groups=table.groups)
    for seed in range(20):
        train, val = MultitaskExtrapolator._split(few, 0.5, seed=seed)
        assert {0, 1} <= set(train.tolist())


def test_infinite_prior_trains_to_the_linear_correction(data):
    """correction_prior=inf drops the blend and the correction: after training (with the short-run
    dropout on), the long-run prediction of rows with a short run is still the least-squares line of the
    training rows (scipy's linregress), and rows without one fall back to the low head's prediction."""
    from scipy.stats import linregress

    table, _ = data
    model = MultitaskExtrapolator(**{**FAST, "epochs": 40, "correction_prior": math.inf}, n_models=1,
                                  seed=0).fit(table).fetch_model()
    assert model.provenance["params"]["correction_prior"] == [math.inf] * len(table.tasks)
    pred = model.predict(table)
    for j, task in enumerate(table.tasks):
        ok = np.isfinite(table.low[:, j]) & np.isfinite(table.high[:, j])
        line = linregress(table.low[ok, j], table.high[ok, j])
        np.testing.assert_allclose(pred.high[ok, j], line.slope * table.low[ok, j] + line.intercept,
                                   rtol=2e-3, atol=2e-3, err_msg=task)
    bare = model.predict(table.without_labels("low"))
    net = model._nets()[0]
    expected = (net.slope.detach().numpy() * (bare.low - model.target_mean) / model.target_std
                + net.intercept.detach().numpy()) * model.target_std + model.target_mean
    np.testing.assert_allclose(bare.high, expected, rtol=1e-4, atol=1e-4)
