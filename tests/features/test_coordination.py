"""Coordination numbers against a brute-force count from MDAnalysis distance_array."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from trajml.features import RDF, Coordination
from trajml.io import open_source
from trajml.parallel import run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysis.lib.distances import distance_array


def brute_force_counts(files, center, ligand, cutoff, stop=None):
    """(F, n_centers) ligands with d < cutoff of each centre, the atom itself excluded."""
    u = mda.Universe(*files)
    c, lig = u.select_atoms(center), u.select_atoms(ligand)
    same = c.indices[:, None] == lig.indices[None, :]
    out = []
    for ts in u.trajectory[:stop]:
        d = distance_array(c.positions, lig.positions, box=ts.dimensions)
        out.append(((d < cutoff) & ~same).sum(axis=1))
    return np.array(out)


@pytest.mark.parametrize("fixture, center, ligand, cutoff", [
    ("spe_nvt", "name Li", "name O", 5.0),
    ("spe_triclinic", "name Li", "name TFSI", 6.5),
    ("spe_triclinic", "name O", "name O or name Li", 4.0),  # overlapping selections: self excluded
    ("spe_npt", "name Li", "name O", 5.5),
])
def test_counts_equal_brute_force(request, fixture, center, ligand, cutoff):
    files = request.getfixturevalue(fixture)
    expected = brute_force_counts(files, center, ligand, cutoff)
    res = run(Coordination(center, ligand, cutoff=cutoff, keep_per_frame=True), open_source(*files), chunk_size=5,
              progress=False)
    np.testing.assert_array_equal(res.per_frame, expected)
    hist = np.bincount(expected.ravel())
    np.testing.assert_array_equal(res.occurrences, hist)
    np.testing.assert_allclose(res.probability, hist / hist.sum(), rtol=1e-15)
    assert res.mean == pytest.approx(expected.mean(), rel=1e-12)
    assert res.std == pytest.approx(expected.std(), rel=1e-12)
    assert res.cutoff == cutoff and res.cutoff_source == "given"
    np.testing.assert_array_equal(res.frames, np.arange(expected.shape[0]))
    assert res.times.shape == res.frames.shape and np.all(res.traj_ids == 0)


def test_per_frame_is_off_by_default(spe_nvt):
    res = run(Coordination("name Li", "name O", cutoff=5.0), open_source(*spe_nvt), progress=False)
    assert res.per_frame is None and res.frames is None and res.rdf_r is None


def test_default_cutoff_is_first_minimum_of_rdf(sample_files):
    src = open_source(*sample_files)
    # The first pass samples frames evenly over the whole source: the same frames as step = ceil(n / 25).
    step = -(-src.n_frames // 25)
    coord = Coordination("name Li", "name O", r_max=10.0, n_bins=200, cutoff_frames=25)
    res = run(coord, src, stop=30, progress=False)
    first_pass = run(RDF("name Li", "name O", r_max=10.0, n_bins=200), src, step=step, progress=False)
    assert res.cutoff_source == "first minimum of g(r)"
    assert res.cutoff == first_pass.first_min_r
    np.testing.assert_array_equal(res.rdf_g, first_pass.g)
    expected = brute_force_counts(sample_files, "name Li", "name O", res.cutoff, stop=30)
    assert res.mean == pytest.approx(expected.mean(), rel=1e-12)
    # On the same frames, the mean lies between n(r) at the edges of the bin holding the cut-off.
    same = run(RDF("name Li", "name O", r_max=10.0, n_bins=200), src, stop=30, progress=False)
    k = int(np.searchsorted(same.edges, res.cutoff)) - 1
    assert (same.n[k - 1] if k else 0.0) <= res.mean <= same.n[k]


@pytest.fixture(scope="module")
def fcc(tmp_path_factory):
    from _systems import write_system

    a, cells = 4.0, 4
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(cells) for j in range(cells) for k in range(cells)])
    lattice = ((grid[:, None, :] + basis[None]) * a).reshape(-1, 3)
    pos = lattice[None] + np.random.default_rng(2).normal(scale=0.05, size=(4, *lattice.shape))
    dims = np.tile([a * cells] * 3 + [90.0] * 3, (4, 1))
    return write_system(tmp_path_factory.mktemp("fcc_cn"), ["Ar"] * len(lattice), np.arange(len(lattice)), pos, dims)


def test_fcc_first_shell_is_twelve_with_the_automatic_cutoff(fcc):
    res = run(Coordination("name Ar", "name Ar", r_max=7.5, n_bins=150), open_source(*fcc), progress=False)
    assert 2.9 < res.cutoff < 3.9
    assert res.mean == 12.0 and res.std == 0.0
    assert res.probability[12] == 1.0


def test_results_tables(spe_nvt):
    res = run(Coordination("name Li", "name O", cutoff=5.0, keep_per_frame=True), open_source(*spe_nvt),
              progress=False)
    df = res.to_pandas()
    assert list(df.columns) == ["count", "probability", "occurrences"]
    ds = res.to_xarray()
    assert ds["per_frame"].dims == ("frames", "centers")
    np.testing.assert_array_equal(ds["centers"].values, res.centers)
    assert ds["cutoff"].attrs["units"] == "Å"


def test_errors_name_parameters(spe_nvt):
    src = open_source(*spe_nvt)
    with pytest.raises(ValueError, match=r"The 'cutoff' parameter of Coordination must be a float in \(0, inf\) Å "
                                         r"or None. Got -2.0 instead."):
        Coordination("name Li", "name O", cutoff=-2.0)
    with pytest.raises(ValueError, match=r"'cutoff' parameter of Coordination must be at most half"):
        run(Coordination("name Li", "name O", cutoff=20.0), src, progress=False)
    with pytest.raises(ValueError, match=r"'name Zr' matched no atom"):
        run(Coordination("name Li", "name Zr"), src, progress=False)
    with pytest.raises(ValueError, match=r"'keep_per_frame' parameter of Coordination must be a bool"):
        Coordination("name Li", "name O", keep_per_frame="yes")
