"""The GraphVAMPNet's fast computation against independent oracles and against the direct computation.

Oracles: hop distances from scipy's shortest_path (receptive fields); torch's finite-difference
gradcheck in float64 (the blocked autograd functions); the exact Gaussian filter and torch's own
sigmoid/softplus (the tables, within their stated interpolation bounds); and the direct torch
computation on whole torch-geometric batches (``_GraphLobe.forward_reference``, the code the fast
path replaced) for outputs, gradients and trained validation scores.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from scipy.sparse import csr_matrix  # noqa: E402
from scipy.sparse.csgraph import shortest_path  # noqa: E402

import trajml.kinetics.deep.messages as messages  # noqa: E402
from trajml.data import sample_topology, sample_trajectory  # noqa: E402
from trajml.io import open_source  # noqa: E402
from trajml.kernels.receptive_field import receptive_field  # noqa: E402
from trajml.kinetics.deep import GraphVAMPNet  # noqa: E402
from trajml.kinetics.deep.fields import field_from_frames  # noqa: E402
from trajml.kinetics.deep.networks import _GaussianDistance, _GraphLobe  # noqa: E402
from trajml.store.graphs import GraphDataset  # noqa: E402

D = 4
C = 2 * D + 1


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    src = open_source(sample_topology(), sample_trajectory())
    return GraphDataset.from_source(src, tmp_path_factory.mktemp("graphs"), "name Li", r_max=9.0, max_neighbors=8,
                                    stop=40, chunk_size=20)


def _random_rows(rng, blocks, n, k, r_max=6.0):
    nbr = rng.integers(0, n, size=(blocks * n, k)).astype(np.int32)
    nbr[rng.random(nbr.shape) < 0.2] = -1
    nbr[3] = -1  # a node without neighbours
    dist = (rng.random(nbr.shape) * r_max).astype(np.float32)
    return nbr, dist


def test_receptive_field_levels_equal_scipy_hop_distances():
    rng = np.random.default_rng(1)
    blocks, n, k, hops = 3, 60, 4, 3
    nbr, dist = _random_rows(rng, blocks, n, k)
    targets = np.array([5, 5, 70, 130, 171], dtype=np.int64)  # a repeat, and targets in every block
    order, level_end, target_rows, rows, rdist = receptive_field(nbr, dist, n, targets, hops)
    # messages flow neighbour -> centre, so hops are path lengths from a target along centre -> neighbour
    m = blocks * n
    centre = np.repeat(np.arange(m), k)
    glob = (centre // n) * n + nbr.ravel()
    ok = nbr.ravel() >= 0
    adj = csr_matrix((np.ones(ok.sum()), (centre[ok], glob[ok])), shape=(m, m))
    hop = shortest_path(adj, unweighted=True, indices=np.unique(targets)).min(0)
    for h in range(hops + 1):
        assert set(order[:level_end[h]].tolist()) == set(np.flatnonzero(hop <= h).tolist())
    assert np.array_equal(order[target_rows], targets)
    for r in range(level_end[hops - 1]):
        g = order[r]
        real = nbr[g] >= 0
        assert np.array_equal(rows[r] >= 0, real)
        assert np.array_equal(order[rows[r][real]], (g // n) * n + nbr[g][real])
        np.testing.assert_array_equal(rdist[r][real], dist[g][real])


def test_edge_table_error_is_within_its_bound():
    r_max, n_g = 6.0, 16
    expand = _GaussianDistance(r_max, n_g)
    w = torch.randn(C, n_g, generator=torch.Generator().manual_seed(0))
    spacing = expand.width / messages.GRID_PER_WIDTH
    n_points = int(np.ceil(r_max / spacing)) + 2
    d = torch.rand(200_000, generator=torch.Generator().manual_seed(1)) * r_max
    index, fraction = messages.grid_coordinates(d, spacing, n_points)
    grid = torch.arange(n_points, dtype=torch.float64) * spacing
    rows = messages._lerp_rows(torch.exp(-(((grid[:, None] - expand.centres.double()) / expand.width) ** 2))
                               @ w.double().t())
    approx = rows[index, :C] + fraction.double()[:, None] * rows[index, C:]
    exact = torch.exp(-(((d.double()[:, None] - expand.centres.double()) / expand.width) ** 2)) @ w.double().t()
    bound = messages.edge_interpolation_bound(w.double(), expand.width, spacing)
    err = (approx - exact).abs().amax(0)
    assert torch.all(err <= bound)
    assert torch.all(bound <= 5e-6 * w.abs().sum(1))  # (n_g - 1)^2 / (4 * 256^2 * (n_g - 1)^2) of Σ|W|
    # the float32 table used in training adds only rounding
    rows32 = messages.edge_table(expand, w, spacing, n_points)
    approx32 = rows32[index, :C] + fraction[:, None] * rows32[index, C:]
    assert float((approx32.double() - exact).abs().max()) <= float(bound.max()) + 1e-5


def _message_inputs(seed, a=40, m=60, k=5, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(a, C, generator=g, dtype=dtype) * 2
    h = torch.randn(m, C, generator=g, dtype=dtype) * 2
    nbr = torch.randint(0, m, (a, k), generator=g)
    mask = torch.rand(a, k, generator=g) > 0.25
    mask[7] = False  # no neighbours: receives nothing
    d = torch.rand(a, k, generator=g) * 5.5
    return c, h, nbr, mask, d


@pytest.mark.parametrize("use_kernels", [False, True])
def test_message_sum_with_table_equals_exact_filter(use_kernels, monkeypatch):
    monkeypatch.setattr(messages, "USE_KERNELS", use_kernels)
    c, h, nbr, mask, d = _message_inputs(0)
    expand = _GaussianDistance(6.0, 8)
    w = torch.randn(C, 8, generator=torch.Generator().manual_seed(2))
    spacing = expand.width / messages.GRID_PER_WIDTH
    n_points = int(np.ceil(6.0 / spacing)) + 2
    index, fraction = messages.grid_coordinates(d, spacing, n_points)
    leaves = [t.clone().requires_grad_() for t in (c, h, w)]
    out = messages.message_sum(leaves[0], leaves[1], messages.edge_table(expand, leaves[2], spacing, n_points), nbr,
                               mask, D, index, fraction)
    ref_leaves = [t.clone().requires_grad_() for t in (c, h, w)]
    edge = expand(d.reshape(-1)).view(d.shape + (-1,)) @ ref_leaves[2].t()
    ref = _direct_messages(ref_leaves[0], ref_leaves[1], edge, nbr, mask)
    torch.testing.assert_close(out, ref, atol=2e-5, rtol=1e-5)
    assert torch.all(out[7] == 0)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(3))
    (out * weights).sum().backward()
    (ref * weights).sum().backward()
    for x, y in zip(leaves, ref_leaves):
        torch.testing.assert_close(x.grad, y.grad, atol=1e-4, rtol=1e-4)


def _direct_messages(c, h, edge, nbr, mask):
    """The convolution's message sum in plain torch operations, as _AttentionConv.forward writes it."""
    z = c[:, None, :] + h[nbr] + edge
    f, s, logit = z[..., :D], z[..., D:2 * D], z[..., -1]
    alpha = torch.nan_to_num(torch.softmax(logit.masked_fill(~mask, -torch.inf), dim=1), nan=0.0)
    alpha = alpha * mask.sum(1, keepdim=True)
    return (alpha[..., None] * torch.sigmoid(f) * torch.nn.functional.softplus(s)).sum(1)


def test_blocked_message_sums_pass_gradcheck(monkeypatch):
    monkeypatch.setattr(messages, "USE_KERNELS", False)
    monkeypatch.setattr(messages, "_CPU_BLOCK", 64)  # several blocks
    c, h, nbr, mask, d = _message_inputs(4, a=12, m=15, k=4, dtype=torch.float64)
    edge = torch.randn(12, 4, C, dtype=torch.float64, requires_grad=True)
    c.requires_grad_(), h.requires_grad_()
    assert torch.autograd.gradcheck(lambda c_, h_, e_: messages.message_sum(c_, h_, e_, nbr, mask, D), (c, h, edge))
    table = torch.randn(30, 2 * C, dtype=torch.float64, requires_grad=True)
    index = torch.randint(0, 30, (12, 4))
    fraction = torch.rand(12, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda c_, h_, t_: messages.message_sum(c_, h_, t_, nbr, mask, D, index, fraction), (c, h, table))
    species = torch.randint(0, 2, (15,))
    pair = torch.randn(2 * 2 * 30, 2 * (D + 1), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t_: messages.pair_message_sum(t_, species, nbr, mask, index, fraction, 2, D), (pair,))


def test_kernels_equal_the_blocked_torch_operations(monkeypatch):
    c, h, nbr, mask, d = _message_inputs(5, a=300, m=400, k=8)
    table = torch.randn(50, 2 * C) * 0.5
    index = torch.randint(0, 50, nbr.shape)
    fraction = torch.rand(nbr.shape)
    species = torch.randint(0, 3, (400,))
    pair = torch.randn(9 * 50, 2 * (D + 1))
    weights = torch.randn(300, D, generator=torch.Generator().manual_seed(6))
    results = {}
    for use in (False, True):
        monkeypatch.setattr(messages, "USE_KERNELS", use)
        leaves = [t.clone().requires_grad_() for t in (c, h, table, pair)]
        out = messages.message_sum(leaves[0], leaves[1], leaves[2], nbr, mask, D, index, fraction)
        out2 = messages.pair_message_sum(leaves[3], species, nbr, mask, index, fraction, 3, D)
        ((out + out2) * weights).sum().backward()
        results[use] = (out.detach(), out2.detach(), [x.grad for x in leaves])
    (a1, b1, g1), (a2, b2, g2) = results[False], results[True]
    # the kernels read σ and softplus from a table (error ~1e-7); the rest is float32 rounding
    torch.testing.assert_close(a2, a1, atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(b2, b1, atol=1e-5, rtol=1e-5)
    for x, y in zip(g2, g1):
        torch.testing.assert_close(x, y, atol=2e-4, rtol=1e-4)


def test_gate_table_error_is_within_its_bound():
    from trajml.kernels._graph_messages import GATE_RANGE, GATE_STEPS, gate_table

    t = gate_table().astype(np.float64)
    x = np.random.default_rng(0).uniform(-GATE_RANGE, GATE_RANGE, 100_000)
    u = (x + GATE_RANGE) * GATE_STEPS
    p = np.minimum(u.astype(np.int64), len(t) - 1)
    f = u - p
    sig = t[p, 0] + f * t[p, 1]
    sp = t[p, 2] + f * t[p, 3]
    h = 1.0 / GATE_STEPS
    assert np.abs(sig - 1 / (1 + np.exp(-x))).max() <= h * h / 8 * 0.0963 + 1e-7  # float32 table rounding
    assert np.abs(sp - np.logaddexp(0, x)).max() <= h * h / 8 * 0.25 + 4e-6 * 1.01  # |sp| <= 24: ulp 2e-6


def _lobe(dataset, n_conv=3, seed=0):
    torch.manual_seed(seed)
    return _GraphLobe(len(dataset.species_names), 3, 8, n_conv, 8, dataset.r_max)


@pytest.mark.parametrize("tabulate, atol", [(False, 2e-6), (True, 2e-5)])
def test_fast_forward_and_gradients_equal_the_direct_computation(dataset, tabulate, atol, monkeypatch):
    lobe = _lobe(dataset)
    lobe.tabulate = tabulate
    frames = np.array([1, 2, 17])
    nbr, dist = dataset.read(0, frames)
    field = field_from_frames(dataset.species, dataset.readout, nbr, dist, 3)
    batch = dataset.batch(0, frames)
    grads = {}
    for name, run in (("direct", lambda: lobe.forward_reference(batch)), ("fast", lambda: lobe(field)),
                      ("fast from a batch", lambda: lobe(batch))):
        lobe.zero_grad()
        out = run()
        torch.log(out[:, 0] + 0.1).sum().backward()
        grads[name] = (out.detach(), {k: v.grad.clone() for k, v in lobe.named_parameters()})
    ref, ref_g = grads["direct"]
    for name in ("fast", "fast from a batch"):
        out, g = grads[name]
        torch.testing.assert_close(out, ref, atol=atol, rtol=0)
        for k in ref_g:
            scale = float(ref_g[k].abs().max())
            torch.testing.assert_close(g[k], ref_g[k], atol=50 * atol * max(scale, 1e-3), rtol=0, msg=k)


def test_first_layer_pair_table_is_used_and_agrees(dataset, monkeypatch):
    """With few species the first layer is a table lookup; forcing the per-edge route gives the same outputs."""
    calls = []
    original = messages.pair_message_sum
    monkeypatch.setattr("trajml.kinetics.deep.networks.pair_message_sum",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    lobe = _lobe(dataset)
    nbr, dist = dataset.read(0, np.arange(24))  # enough edges for the table to be the smaller
    field = field_from_frames(dataset.species, dataset.readout, nbr, dist, 3)
    with torch.no_grad():
        out = lobe(field)
        monkeypatch.setattr(lobe.embed, "num_embeddings", 10 ** 6)  # a pair table larger than the edges
        generic = lobe(field)
    assert len(calls) == 1
    torch.testing.assert_close(out, generic, atol=2e-5, rtol=0)


class _Reference(GraphVAMPNet):
    _reference_path = True


def test_training_reaches_the_same_validation_score_as_the_direct_computation(dataset):
    params = dict(n_states=2, lag=4, epochs=3, batch_size=6, patience=None, seed=3, dim=8, n_conv=2, n_gaussians=8,
                  validation="blocks", validation_fraction=0.25)
    fast = GraphVAMPNet(**params).fit(dataset).fetch_model()
    ref = _Reference(**params).fit(dataset).fetch_model()
    # 15 Adam steps from the same weights: the two computations differ by float32 rounding and the
    # interpolation (~1e-6 per step), so the scores agree far below their spread over seeds (~0.05)
    np.testing.assert_allclose(fast.validation_scores, ref.validation_scores, atol=2e-3)
    np.testing.assert_allclose(fast.train_scores, ref.train_scores, atol=2e-3)
    assert fast.best_epoch == ref.best_epoch


@pytest.mark.parametrize("use_kernels", [False, True])
def test_no_targets_give_no_outputs(dataset, use_kernels, monkeypatch):
    monkeypatch.setattr(messages, "USE_KERNELS", use_kernels)
    nbr, dist = dataset.read(0, np.array([0]))
    field = field_from_frames(dataset.species, np.zeros(0, dtype=np.int64), nbr, dist, 3)
    assert field.level_end == (0, 0, 0, 0)
    assert _lobe(dataset)(field).shape == (0, 3)
