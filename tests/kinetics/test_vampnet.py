"""VAMPNet: losses against deeptime and the NumPy scores, pair sampling, ground truth, I/O and messages."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from model_helpers import T3, simulate_chain  # noqa: E402

from trajml.kinetics import MarkovModel  # noqa: E402
from trajml.kinetics.deep import VAMPNet, VAMPNetModel, lagged_pairs, pair_batches, vamp_loss  # noqa: E402
from trajml.kinetics.koopman import TimeLaggedCovariance, vamp_score  # noqa: E402
from trajml.store.models import save_model  # noqa: E402

LAG = 5
CENTRES = np.array([[-3.0, 0.0], [0.0, 0.0], [3.0, 0.0]])  # collinear: the middle state is not linear in x


def _features(states: np.ndarray, seed: int, noise: float = 0.4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return CENTRES[states] + noise * rng.normal(size=states.shape + (2,))


@pytest.fixture(scope="module")
def chain_features() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Noisy 2-D features of a seeded 3-state chain: 16 training and 4 held-out trajectories."""
    x = _features(simulate_chain(T3, 3000, 20, seed=7), seed=8)
    trajs = [np.ascontiguousarray(x[:, j]) for j in range(20)]
    return trajs[:16], trajs[16:]


@pytest.fixture(scope="module")
def trained(chain_features) -> VAMPNetModel:
    train, _ = chain_features
    return VAMPNet(3, hidden=(32, 32), lag=LAG, lr=5e-3, batch_size=512, epochs=20, patience=5,
                   seed=0).fit(train).fetch_model()


def _small_data(seed: int = 0) -> list[np.ndarray]:
    x = _features(simulate_chain(T3, 400, 3, seed=seed), seed=seed + 1)
    return [np.ascontiguousarray(x[:, j]) for j in range(3)]


# ----------------------------------------------------------------------------------------------
# (a) the loss against deeptime and the NumPy scores
# ----------------------------------------------------------------------------------------------

def _ar_batch(n: int = 2000, d: int = 4, lag: int = 2) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng(4)
    a = np.diag([0.95, 0.8, 0.5, 0.2])
    x = np.zeros((n, d))
    for t in range(1, n):
        x[t] = x[t - 1] @ a.T + rng.normal(size=d)
    return x + np.array([1.0, -2.0, 0.5, 3.0]), lag


@pytest.mark.parametrize("method", ["VAMP1", "VAMP2"])
def test_vamp_loss_equals_deeptime_and_numpy_score(method):
    from deeptime.decomposition.deep import vampnet_loss

    traj, lag = _ar_batch()
    x, y = torch.as_tensor(traj[:-lag]), torch.as_tensor(traj[lag:])
    ours = float(vamp_loss(x, y, method))
    ref = float(vampnet_loss(x, y, method=method, epsilon=1e-6, mode="trunc"))
    assert ours == pytest.approx(ref, rel=1e-6)
    cov = TimeLaggedCovariance(lag).fit(traj).fetch_model()
    r = int(method[-1])
    assert ours == pytest.approx(-vamp_score(cov, r), rel=1e-6)
    without = float(vamp_loss(x, y, method, include_constant=False))
    assert without - ours == pytest.approx(1.0, abs=1e-12)
    assert -without == pytest.approx(vamp_score(cov, r, include_constant=False), rel=1e-6)


def test_vampe_equals_vamp2_on_training_data_and_numpy():
    traj, lag = _ar_batch()
    x, y = torch.as_tensor(traj[:-lag]), torch.as_tensor(traj[lag:])
    cov = TimeLaggedCovariance(lag).fit(traj).fetch_model()
    assert float(vamp_loss(x, y, "VAMPE")) == pytest.approx(-vamp_score(cov, "E"), rel=1e-6)
    assert float(vamp_loss(x, y, "VAMPE")) == pytest.approx(float(vamp_loss(x, y, "VAMP2")), rel=1e-6)


def test_vamp_loss_of_softmax_outputs_is_differentiable_and_bounded():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(300, 3, dtype=torch.float64, generator=g, requires_grad=True)
    p = torch.softmax(logits, dim=1)
    loss = vamp_loss(p[:-1], p[1:], "VAMP2")
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    assert 1.0 <= -float(loss.detach()) <= 3.0  # rank m - 1 mean-free covariances; the constant adds 1


def test_vamp_loss_messages():
    x = torch.zeros(10, 2)
    with pytest.raises(ValueError, match="'method' parameter of vamp_score_torch.*VAMP3"):
        vamp_loss(x, x, "VAMP3")
    with pytest.raises(ValueError, match=r"same batch size. Got shapes \(10, 2\) and \(9, 2\)"):
        vamp_loss(x, x[:9])


# ----------------------------------------------------------------------------------------------
# (b) pairs never cross trajectory boundaries
# ----------------------------------------------------------------------------------------------

def test_lagged_pairs_stay_inside_each_trajectory():
    pairs = lagged_pairs([5, 3], lag=2)
    assert pairs.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0]]
    assert lagged_pairs([2, 6], lag=3).tolist() == [[1, 0], [1, 1], [1, 2]]


def test_pair_batches_never_cross_trajectories():
    # each frame encodes (trajectory id, frame number); trajectories are kept as separate tensors
    lengths, lag = (7, 4, 9), 2
    trajs = [torch.tensor([[k, t] for t in range(n)], dtype=torch.float32) for k, n in enumerate(lengths)]
    pairs = lagged_pairs(lengths, lag)
    seen = []
    for x0, xt in pair_batches(trajs, pairs, lag, batch_size=4, generator=torch.Generator().manual_seed(1)):
        assert torch.equal(x0[:, 0], xt[:, 0])  # same trajectory
        assert torch.equal(xt[:, 1] - x0[:, 1], torch.full((4,), float(lag)))
        seen += [tuple(r) for r in x0.int().tolist()]
    assert len(seen) == (len(pairs) // 4) * 4 and len(set(seen)) == len(seen)
    assert all(t + lag < lengths[k] for k, t in seen)


# ----------------------------------------------------------------------------------------------
# (c) ground truth: a seeded 3-state chain seen through noisy 2-D features
# ----------------------------------------------------------------------------------------------

def test_recovers_leading_timescale(trained, chain_features):
    train, test = chain_features
    exact = -1.0 / np.log(np.sort(np.linalg.eigvals(T3).real)[-2])  # frames; equals -lag / ln(λ2^lag)
    soft = trained.timescales(train + test, LAG)[0]
    assert soft == pytest.approx(exact, rel=0.10)
    dtrajs = [p.argmax(1) for p in trained.transform(train + test)]
    msm = MarkovModel(LAG).fit(dtrajs, n_states=3).fetch_model()
    assert msm.timescales()[0] == pytest.approx(exact, rel=0.10)


def test_heldout_vamp2_beats_tica_baseline(trained, chain_features):
    train, test = chain_features
    score = trained.score(test, LAG)  # deeptime convention: constant included, maximum m = 3
    tica = vamp_score(TimeLaggedCovariance(LAG).fit(train).fetch_model(), 2,
                      test=TimeLaggedCovariance(LAG).fit(test).fetch_model())
    assert tica < score <= 3.0 + 1e-9
    assert score - trained.score(test, LAG, include_constant=False) == pytest.approx(1.0, abs=1e-9)
    # the chain's own VAMP-2 at this lag (reversible: singular values = eigenvalues) bounds the score
    exact = float(np.sum(np.sort(np.linalg.eigvals(T3).real) ** (2 * LAG)))
    assert score == pytest.approx(exact, rel=0.05)
    assert len(trained.train_scores) == len(trained.validation_scores) >= 1
    assert trained.validation_scores[trained.best_epoch] == np.nanmax(trained.validation_scores)


# ----------------------------------------------------------------------------------------------
# (d) reproducibility, I/O, estimator contract and messages
# ----------------------------------------------------------------------------------------------

def _quick(**kw) -> VAMPNet:
    params = dict(hidden=(8,), lag=2, batch_size=64, epochs=3, seed=3)
    params.update(kw)
    return VAMPNet(3, **params)


def test_same_seed_identical_weights_other_seed_differs():
    data = _small_data()
    a = _quick().fit(data).fetch_model()
    b = _quick().fit(data).fetch_model()
    c = _quick(seed=4).fit(data).fetch_model()
    assert a.parameters.keys() == b.parameters.keys()
    assert all(np.array_equal(a.parameters[k], b.parameters[k]) for k in a.parameters)
    assert np.array_equal(a.train_scores, b.train_scores)
    assert not all(np.array_equal(a.parameters[k], c.parameters[k]) for k in a.parameters)


def test_fit_returns_self_and_fetch_model_is_pure_and_frozen():
    data = _small_data()
    net = _quick()
    assert net.fit(data) is net
    m1, m2 = net.fetch_model(), net.fetch_model()
    assert m1 is m2
    with pytest.raises(Exception):
        m1.lag = 3  # type: ignore[misc]
    with pytest.raises(RuntimeError, match="has not been fitted"):
        _quick().fetch_model()
    x = data[0]
    p = m1.transform(x)
    assert p.shape == (len(x), 3) and np.allclose(p.sum(1), 1.0)
    stacked = np.stack(data, axis=1)  # (T, n_targets, d): one trajectory per target
    assert m1.transform(stacked).shape == (len(x), 3, 3)
    assert m1.score(stacked, 2) == pytest.approx(m1.score(data, 2), rel=1e-12)


def test_blocks_validation_with_one_trajectory_and_no_validation():
    one = _small_data()[0]
    m = _quick(validation="blocks").fit(one).fetch_model()
    assert np.all(np.isfinite(m.validation_scores))
    m0 = _quick(validation_fraction=0.0).fit(_small_data()).fetch_model()
    assert np.all(np.isnan(m0.validation_scores)) and m0.best_epoch == 2


def test_save_load_round_trip_and_refuses_other_types(tmp_path):
    data = _small_data()
    model = _quick().fit(data).fetch_model()
    path = tmp_path / "net.npz"
    model.save(path)
    back = VAMPNetModel.load(path)
    np.testing.assert_array_equal(back.transform(data[0]), model.transform(data[0]))
    np.testing.assert_array_equal(back.train_scores, model.train_scores)
    assert back.hidden == model.hidden and back.best_epoch == model.best_epoch
    other = tmp_path / "cov.npz"
    save_model(TimeLaggedCovariance(2).fit(data).fetch_model(), other)
    with pytest.raises(ValueError, match="holds a CovarianceModel, not a VAMPNetModel"):
        VAMPNetModel.load(other)


def test_bad_input_messages():
    data = _small_data()
    with pytest.raises(ValueError, match=r"'lag' parameter of VAMPNet \(500 frames\).*trajectory \(400 frames\)"):
        VAMPNet(3, lag=500).fit(data)
    with pytest.raises(ValueError, match="fewer than 'batch_size' = 5000"):
        VAMPNet(3, lag=2, batch_size=5000).fit(data)
    bad = [d.copy() for d in data]
    bad[1][17, 0] = np.nan
    with pytest.raises(ValueError, match="must be finite; trajectory 1 has nan at frame 17"):
        _quick().fit(bad)
    with pytest.raises(ValueError, match="'n_states' parameter of VAMPNet must be an int >= 2. Got 1"):
        VAMPNet(1).fit(data)
    with pytest.raises(ValueError, match="'score_method' parameter of VAMPNet"):
        VAMPNet(3, score_method="VAMP7").fit(data)
    with pytest.raises(ValueError, match="'validation' parameter of VAMPNet"):
        VAMPNet(3, validation="random").fit(data)
    model = _quick().fit(data).fetch_model()
    with pytest.raises(ValueError, match=r"shape \(T, 2\)"):
        model.transform(np.zeros((4, 5)))


def test_importing_trajml_kinetics_stays_torch_free():
    import subprocess
    import sys

    code = "import sys, trajml, trajml.kinetics; assert 'torch' not in sys.modules, 'torch imported'"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_missing_torch_names_the_deep_extra():
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    import trajml.kinetics.deep\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "pip install \"trajml[deep]\" -c constraints.txt" in out
