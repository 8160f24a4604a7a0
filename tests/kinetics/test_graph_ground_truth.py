"""GraphVAMPNet against ground truth: Li ions hopping between octahedral, tetrahedral and cubic cages
of identical host atoms (:mod:`trajml.sim.hopping`) with a known rate matrix. Only the arrangement of
the hosts tells the families apart, so the invariant graph model must learn it from the neighbour
graphs; its slow implied timescales must lie within 10 % of the exact ``-1/μ_i`` of the rate matrix.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

REL_TOL = 0.10
LAG = 3  # frames of 1 ps


@pytest.fixture(scope="module")
def hopping_graphs(tmp_path_factory):
    from trajml.io import open_source
    from trajml.sim import hopping_system
    from trajml.sim.hopping import DEFAULT_RATE_MATRIX
    from trajml.store.graphs import GraphDataset

    # Rates doubled (timescales 20.9 and 4.5 ps) so 1500 frames hold ~900 slow relaxations.
    system = hopping_system(1500, n_ions=12, cells=(3, 3, 3), dt_ps=1.0, rate_matrix=2 * DEFAULT_RATE_MATRIX,
                            seed=2)
    d = tmp_path_factory.mktemp("hop_graphs")
    top, traj = system.write(d)
    ds = GraphDataset.from_source(open_source(top, traj), d / "graphs", "name Li", r_max=3.5, max_neighbors=8)
    return system, ds


def test_graph_vampnet_recovers_exact_timescales(hopping_graphs):
    from trajml.kinetics.deep import GraphVAMPNet

    system, ds = hopping_graphs
    exact = system.exact_timescales()
    np.testing.assert_allclose(exact, [20.8864, 4.4886], rtol=1e-4)
    model = GraphVAMPNet(3, LAG, dim=16, n_conv=2, epochs=8, batch_size=32, lr=0.005, seed=0,
                         patience=None).fit(ds).fetch_model()
    its = model.timescales(ds, LAG, ds.dt_ps)
    np.testing.assert_allclose(its, exact, rtol=REL_TOL)
    # the learned states are the cage families: the most probable state identifies the family
    probs = model.transform(ds)[0]
    mass = np.stack([probs[system.ion_families == f].mean(0) for f in range(3)])
    state_of_family = mass.argmax(1)
    assert len(set(state_of_family)) == 3
    assert np.mean(state_of_family[system.ion_families] == probs.argmax(-1)) > 0.95
