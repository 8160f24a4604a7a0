"""GraphDataset (graphs on disk, torch-geometric batches) and the GraphVAMPNet estimator/model.

Oracles: neighbour lists from scipy's cKDTree with periodic boxsize (independent of trajml's cell
list), exact permutation relations, and the network evaluated without the receptive-field pruning.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from scipy.spatial import cKDTree  # noqa: E402

from trajml.data import sample_topology, sample_trajectory  # noqa: E402
from trajml.features import NeighborGraphs  # noqa: E402
from trajml.io import open_source  # noqa: E402
from trajml.kinetics.deep import GraphVAMPNet, GraphVAMPNetModel  # noqa: E402
from trajml.kinetics.deep.networks import _GraphLobe  # noqa: E402
from trajml.store.graphs import GraphDataset, frames_to_batch  # noqa: E402

K = 8
R_MAX = 9.0
SMALL = dict(n_states=2, lag=4, epochs=2, batch_size=6, patience=None, seed=3, dim=8, n_conv=2, n_gaussians=8)


@pytest.fixture(scope="module")
def source():
    return open_source(sample_topology(), sample_trajectory())


@pytest.fixture(scope="module")
def dataset(source, tmp_path_factory):
    return GraphDataset.from_source(source, tmp_path_factory.mktemp("graphs"), "name Li", r_max=R_MAX,
                                    max_neighbors=K, stop=40, chunk_size=25)


@pytest.fixture(scope="module")
def fitted(dataset):
    return GraphVAMPNet(**SMALL).fit(dataset)


def _kdtree_neighbours(pos, box, k, r_max):
    tree = cKDTree(np.mod(pos.astype(np.float64), box), boxsize=box)
    d, j = tree.query(np.mod(pos.astype(np.float64), box), k=k + 1, distance_upper_bound=r_max)
    return d[:, 1:], j[:, 1:]  # drop the atom itself


def test_dataset_rows_equal_periodic_kdtree(source, dataset):
    frames = np.array([7, 3, 4, 5, 39, 0])
    nbr, dist = dataset.read(0, frames)
    assert nbr.shape == (6, source.n_atoms, K) and nbr.dtype == np.int32
    for i, f in enumerate(frames):
        chunk = source.read(source.partition(1, int(f), int(f) + 1)[0])
        box = np.diag(chunk.boxes[0]).astype(np.float64)
        d_ref, j_ref = _kdtree_neighbours(chunk.positions[0], box, K, R_MAX)
        found = np.isfinite(d_ref)
        np.testing.assert_array_equal(nbr[i] >= 0, found)
        np.testing.assert_allclose(dist[i][found], d_ref[found], atol=2e-4)
        # ids may swap among exact ties only; compare as sets of (row, id) away from ties
        same = nbr[i][found] == j_ref[found]
        assert same.mean() > 0.999


def test_batch_edges_match_rows_and_readout(source, dataset):
    nbr, dist = dataset.read(0, [10, 11, 12])
    b = dataset.batch(0, [10, 11, 12])
    n = source.n_atoms
    assert b.x.shape == (3 * n,) and b.readout.shape == (3 * dataset.n_targets,)
    li = source.select("name Li")
    np.testing.assert_array_equal(b.readout.numpy(), np.concatenate([li + f * n for f in range(3)]))
    valid = nbr >= 0
    assert b.edge_index.shape[1] == valid.sum()
    # edge j -> i of frame f is node (f*n + nbr[f, i, k]) -> (f*n + i), distances unchanged
    f, i, _ = np.nonzero(valid)
    np.testing.assert_array_equal(b.edge_index[1].numpy(), f * n + i)
    np.testing.assert_array_equal(b.edge_index[0].numpy(), f * n + nbr[valid])
    np.testing.assert_array_equal(b.edge_dist.numpy(), dist[valid])
    assert (b.nbr.numpy()[~valid.reshape(-1, K)] == -1).all()


def test_dataset_reopen_and_refuse_other_parameters(source, dataset):
    again = GraphDataset.open(dataset.directory)
    assert again.lengths == dataset.lengths and again.species_names == dataset.species_names
    with pytest.raises(ValueError, match="another source or other parameters"):
        GraphDataset.from_source(source, dataset.directory, "name Li", r_max=R_MAX, max_neighbors=K + 1, stop=60)
    with pytest.raises(FileNotFoundError, match="no complete graph dataset"):
        GraphDataset.open(os.path.join(dataset.directory, "missing"))


def test_interrupted_build_leaves_nothing_half_written_and_resumes(source, tmp_path):
    graphs = NeighborGraphs(None, r_max=R_MAX, max_neighbors=K).bind(source)
    good = [graphs.graphs(c) for c in source.iter_chunks(10, 0, 20)]
    meta = {"species": good[0].species, "species_names": good[0].species_names}

    def dying():
        yield good[0]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        GraphDataset.from_chunks([iter(good), dying()], tmp_path, readout=[0, 1], max_neighbors=K, r_max=R_MAX,
                                 lengths=[20, 20], dt_ps=5.0, **meta)
    names = sorted(os.listdir(tmp_path))
    assert names == ["traj0.dist", "traj0.nbr"]  # trajectory 0 complete; no temp files, no header
    stamp = os.stat(tmp_path / "traj0.nbr").st_mtime_ns
    with pytest.raises(FileNotFoundError):
        GraphDataset.open(tmp_path)

    def fail_if_reread():
        raise AssertionError("trajectory 0 was recomputed")
        yield  # pragma: no cover

    ds = GraphDataset.from_chunks([fail_if_reread(), iter(good)], tmp_path, readout=[0, 1], max_neighbors=K,
                                  r_max=R_MAX, lengths=[20, 20], dt_ps=5.0, **meta)
    assert os.stat(tmp_path / "traj0.nbr").st_mtime_ns == stamp
    a, _ = ds.read(0, np.arange(20))
    b, _ = ds.read(1, np.arange(20))
    np.testing.assert_array_equal(a, b)


def _permuted_batch(dataset, frame, perm):
    """The graph of ``frame`` with atom i renamed perm[i]."""
    nbr, dist = dataset.read(0, [frame])
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    new_nbr = np.where(nbr >= 0, perm[np.clip(nbr, 0, None)], -1)[:, inv]
    return frames_to_batch(dataset.species[inv], perm[dataset.readout], new_nbr, dist[:, inv])


def test_model_is_permutation_invariant(dataset, fitted):
    model = fitted.fetch_model()
    perm = np.random.default_rng(0).permutation(len(dataset.species))
    ref = model.transform(dataset.batch(0, [5]))
    out = model.transform(_permuted_batch(dataset, 5, perm))
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_pruned_forward_equals_updating_every_atom(dataset):
    torch.manual_seed(0)
    lobe = _GraphLobe(len(dataset.species_names), 3, 8, 3, 8, dataset.r_max).eval()
    b = dataset.batch(0, [1, 2])
    with torch.no_grad():
        pruned = lobe(b)
        full_b = dataset.batch(0, [1, 2])
        full_b.readout = torch.arange(full_b.x.shape[0])  # every atom read out: nothing is pruned
        full = lobe(full_b)[b.readout]
    torch.testing.assert_close(pruned, full, atol=1e-6, rtol=1e-5)


def test_fit_contract_seed_and_outputs(dataset, fitted):
    assert isinstance(fitted, GraphVAMPNet)
    m1 = fitted.fetch_model()
    assert fitted.fetch_model() is m1
    again = GraphVAMPNet(**SMALL).fit(dataset).fetch_model()
    for k in m1.parameters:  # scatter-add order in the backward pass leaves float32 round-off only
        np.testing.assert_allclose(m1.parameters[k], again.parameters[k], atol=1e-5)
    probs = m1.transform(dataset)
    assert len(probs) == 1 and probs[0].shape == (40, dataset.n_targets, 2)
    np.testing.assert_allclose(probs[0].sum(-1), 1.0, atol=1e-6)
    assert len(m1.train_scores) == 2 and np.all(np.isfinite(m1.validation_scores))
    assert 1.0 <= m1.score(dataset, 4) <= 2.0 + 1e-9
    k = m1.koopman_matrix(dataset, 4, stochastic=True)
    np.testing.assert_allclose(k.sum(1), 1.0, atol=1e-9)
    assert m1.timescales(dataset, 4, dataset.dt_ps).shape == (1,)


def test_graph_chunk_input_equals_dataset(source, dataset, fitted):
    model = fitted.fetch_model()
    chunk = next(NeighborGraphs(None, r_max=R_MAX, max_neighbors=K).iter_graphs(source, chunk_size=6))
    np.testing.assert_allclose(model.transform(chunk), model.transform(dataset)[0][:6], atol=1e-6)


def test_save_load_round_trip(tmp_path, dataset, fitted):
    model = fitted.fetch_model()
    model.save(tmp_path / "g.npz")
    back = GraphVAMPNetModel.load(tmp_path / "g.npz")
    assert back.species_names == model.species_names and back.r_max == model.r_max
    b = dataset.batch(0, [0, 1])
    np.testing.assert_array_equal(back.transform(b), model.transform(b))
    from trajml.kinetics.deep import VAMPNetModel

    with pytest.raises(ValueError, match="holds a GraphVAMPNetModel, not a VAMPNetModel"):
        VAMPNetModel.load(tmp_path / "g.npz")


def test_species_set_mismatch_is_refused(source, fitted, tmp_path):
    model = fitted.fetch_model()
    graphs = NeighborGraphs(None, r_max=R_MAX, max_neighbors=K, species_by="types")
    chunk = next(graphs.iter_graphs(source, chunk_size=2))
    if chunk.species_names == model.species_names:  # pragma: no cover - types equal names in this topology
        chunk = type(chunk)(**{**chunk.__dict__, "species_names": ("A",) + chunk.species_names[1:]})
    with pytest.raises(ValueError, match="trained on species"):
        model.transform(chunk)
    other = GraphDataset.from_source(source, tmp_path / "k", "name Li", r_max=R_MAX, max_neighbors=K - 2, stop=8)
    with pytest.raises(ValueError, match="K = 6"):
        model.transform(other)


def test_bad_input_messages(source, dataset, tmp_path):
    with pytest.raises(ValueError, match="'lag' parameter of GraphVAMPNet .40 frames. must be shorter"):
        GraphVAMPNet(n_states=2, lag=40).fit(dataset)
    with pytest.raises(ValueError, match="fewer than 'batch_size' = 500"):
        GraphVAMPNet(n_states=2, lag=2, batch_size=500).fit(dataset)
    with pytest.raises(ValueError, match="'n_states' parameter of GraphVAMPNet must be an int >= 2"):
        GraphVAMPNet(n_states=1).fit(dataset)
    with pytest.raises(TypeError, match="must be a GraphDataset"):
        GraphVAMPNet(n_states=2).fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="no CUDA device"):
        if torch.cuda.is_available():  # pragma: no cover
            raise ValueError("no CUDA device")
        GraphVAMPNet(n_states=2, device="cuda").fit(dataset)
    from trajml.errors import EmptySelectionError

    with pytest.raises(EmptySelectionError, match="name Xx"):
        GraphDataset.from_source(source, tmp_path / "e", "name Xx", stop=4)
    with pytest.raises(RuntimeError, match="has not been fitted"):
        GraphVAMPNet(n_states=2).fetch_model()


def test_load_model_dispatches_to_network_files(tmp_path, dataset, fitted):
    from trajml.kinetics import TICAMSMModel
    from trajml.store import load_model, save_model

    model = fitted.fetch_model()
    save_model(model, tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    assert isinstance(back, GraphVAMPNetModel)
    np.testing.assert_array_equal(back.transform(dataset.batch(0, [3])), model.transform(dataset.batch(0, [3])))
    with pytest.raises(ValueError, match="holds a GraphVAMPNetModel, not a TICAMSMModel"):
        load_model(tmp_path / "m.npz", expected=TICAMSMModel)


def test_graph_chunk_of_a_smaller_system_needs_its_own_readout(source, fitted):
    model = fitted.fetch_model()
    chunk = next(NeighborGraphs(None, r_max=R_MAX, max_neighbors=K).iter_graphs(source, chunk_size=2))
    small = type(chunk)(**{**chunk.__dict__, "species": chunk.species[:100], "targets": np.arange(100),
                           "offsets": np.zeros(2 * 100 + 1, dtype=np.int64), "neighbors": np.zeros(0, np.int64),
                           "distances": np.zeros(0, np.float32)})
    with pytest.raises(ValueError, match="do not exist in graphs of 100 atoms; pass 'readout'"):
        model.transform(small)
    out = model.transform(small, readout=[0, 5])
    assert out.shape == (2, 2, 2)
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-6)
