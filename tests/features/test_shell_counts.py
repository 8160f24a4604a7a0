"""ShellCounts against MDAnalysis distance_array with the periodic box."""

import numpy as np
import pytest
from MDAnalysis.lib.distances import distance_array

from trajml.data import sample_topology, sample_trajectory
from trajml.features import ShellCounts
from trajml.io import open_source


@pytest.fixture(scope="module")
def source():
    return open_source(sample_topology(), sample_trajectory())


def test_counts_equal_mdanalysis(source):
    radii = (5.0, 8.0, 11.0)
    sc = ShellCounts("name Li", {"O": "name O", "TFSI": "name TFSI"}, radii=radii)
    (x,) = sc.compute(source, start=3, stop=12, step=4, chunk_size=2)
    assert x.shape == (3, 60, 6)
    assert sc.feature_names[0] == "O < 5 Å" and sc.feature_names[-1] == "TFSI < 11 Å"
    u = source.universe()
    li, o, tf = (u.select_atoms(s) for s in ("name Li", "name O", "name TFSI"))
    for row, ts in enumerate(u.trajectory[3:12:4]):
        for s, group in enumerate((o, tf)):
            d = distance_array(li.positions, group.positions, box=ts.dimensions)
            for k, r in enumerate(radii):
                np.testing.assert_array_equal(x[row, :, s * 3 + k], (d < r).sum(1))


def test_a_target_never_counts_itself(source):
    (x,) = ShellCounts("name Li", {"Li": "name Li"}, radii=(0.5,)).compute(source, stop=2)
    assert x.max() == 0


def test_bad_input(source):
    with pytest.raises(ValueError, match="'radii' parameter of ShellCounts must be increasing"):
        ShellCounts(radii=(5.0, 4.0))
    with pytest.raises(ValueError, match="overlap"):
        ShellCounts("name Li", {"a": "name O", "b": "name O or name C"}).compute(source, stop=1)
    with pytest.raises(ValueError, match="radii"):
        ShellCounts("name Li", {"O": "name O"}, radii=(40.0,)).compute(source, stop=1)
