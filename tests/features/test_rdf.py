"""RDF against MDAnalysis InterRDF, a per-frame hand oracle (NPT), mdtraj, freud and analytic physics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _systems import write_system

from trajml.errors import EmptySelectionError, MissingExtraError
from trajml.features import RDF, find_first_shell
from trajml.io import open_source
from trajml.parallel import run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysis.analysis.rdf import InterRDF
    from MDAnalysis.lib.distances import distance_array


def _interrdf(files, sel_a, sel_b, n_bins, r_max, r_min=0.0, block=None, stop=None):
    u = mda.Universe(*files)
    ir = InterRDF(u.select_atoms(sel_a), u.select_atoms(sel_b), n_bins, range=(r_min, r_max),
                  exclusion_block=block)
    return ir.run(stop=stop).results


@pytest.mark.parametrize("sel_a, sel_b, exclude, block", [
    ("name Li", "name O", "self", None),
    ("name Li", "name TFSI", "self", None),
    ("name Li", "name Li", "self", (1, 1)),  # self pairs left out of counts and normalisation
    ("name O", "name O", "molecule", (4, 4)),  # 4 ether O per chain, contiguous
    ("name Li", "name Li", None, None),  # self pairs counted at d = 0, as InterRDF does by default
])
def test_equals_mdanalysis_interrdf_nvt(spe_nvt, sel_a, sel_b, exclude, block):
    ref = _interrdf(spe_nvt, sel_a, sel_b, 60, 12.0, block=block)
    res = run(RDF(sel_a, sel_b, r_max=12.0, n_bins=60, exclude=exclude), open_source(*spe_nvt), progress=False)
    np.testing.assert_array_equal(res.counts, ref.count)
    np.testing.assert_allclose(res.g, ref.rdf, rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.r, ref.bins, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.edges, ref.edges, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sel_a, sel_b, exclude, block, r_min", [
    ("name Li", "name O", "self", None, 0.0),
    ("name O", "name O", "molecule", (4, 4), 2.0),
])
def test_equals_mdanalysis_interrdf_triclinic(spe_triclinic, sel_a, sel_b, exclude, block, r_min):
    ref = _interrdf(spe_triclinic, sel_a, sel_b, 50, 13.0, r_min=r_min, block=block)
    res = run(RDF(sel_a, sel_b, r_max=13.0, n_bins=50, r_min=r_min, exclude=exclude),
              open_source(*spe_triclinic), chunk_size=5, progress=False)
    np.testing.assert_array_equal(res.counts, ref.count)
    np.testing.assert_allclose(res.g, ref.rdf, rtol=0, atol=1e-6)


@pytest.mark.parametrize("sel_b", ["name O", "name TFSI"])
def test_sample_equals_mdanalysis_interrdf(sample_files, sel_b):
    ref = _interrdf(sample_files, "name Li", sel_b, 150, 15.0, stop=40)
    res = run(RDF("name Li", sel_b, r_max=15.0, n_bins=150), open_source(*sample_files), stop=40, chunk_size=16,
              progress=False)
    np.testing.assert_array_equal(res.counts, ref.count)
    np.testing.assert_allclose(res.g, ref.rdf, rtol=0, atol=1e-6)
    assert np.isfinite(res.first_peak_r) and np.isfinite(res.first_min_r)
    assert res.first_peak_r < res.first_min_r


def _hand_rdf(files, sel_a, sel_b, edges):
    """Per-frame oracle: histogram of MDAnalysis distance_array, normalised by Σ_t N_a N_b / V_t."""
    u = mda.Universe(*files)
    a, b = u.select_atoms(sel_a), u.select_atoms(sel_b)
    counts, s, vols = np.zeros(len(edges) - 1), 0.0, []
    for ts in u.trajectory:
        counts += np.histogram(distance_array(a.positions, b.positions, box=ts.dimensions), bins=edges)[0]
        s += len(a) * len(b) / ts.volume
        vols.append(ts.volume)
    return counts / (s * 4 / 3 * np.pi * np.diff(edges**3)), np.array(vols)


def test_npt_normalisation_is_exact_per_frame(spe_npt):
    """Under NPT trajml divides by Σ_t N/V_t; MDAnalysis by n_frames·N/⟨V⟩ (a constant factor off)."""
    edges = np.linspace(0.0, 12.0, 61)
    expected, vols = _hand_rdf(spe_npt, "name Li", "name O", edges)
    assert vols.std() / vols.mean() > 0.03  # the box really fluctuates
    res = run(RDF("name Li", "name O", r_max=12.0, n_bins=60), open_source(*spe_npt), chunk_size=4, progress=False)
    np.testing.assert_allclose(res.g, expected, rtol=1e-12, atol=1e-12)
    mda_g = _interrdf(spe_npt, "name Li", "name O", 60, 12.0).rdf
    ratio = vols.mean() * np.mean(1.0 / vols)  # ⟨V⟩⟨1/V⟩ > 1 (Jensen)
    mask = res.g > 0
    np.testing.assert_allclose(mda_g[mask] / res.g[mask], ratio, rtol=1e-10)
    assert ratio > 1.0 + 1e-4


def test_npt_agrees_with_mdtraj_convention(spe_npt):
    """mdtraj.compute_rdf normalises with N_pairs·Σ_t 1/V_t, like trajml."""
    import mdtraj as md

    u = mda.Universe(*spe_npt)
    a, b = u.select_atoms("name Li").indices, u.select_atoms("name O").indices
    traj = md.load(spe_npt[1], top=spe_npt[0])
    pairs = np.array([(i, j) for i in a for j in b])
    r_nm, g = md.compute_rdf(traj, pairs, r_range=(0.0, 1.2), n_bins=60)
    res = run(RDF("name Li", "name O", r_max=12.0, n_bins=60), open_source(*spe_npt), progress=False)
    np.testing.assert_allclose(res.r, 10.0 * r_nm, atol=1e-9)
    np.testing.assert_allclose(res.g, g, rtol=0, atol=1e-6)


def test_nvt_agrees_with_freud(spe_nvt):
    """freud accumulates with reset=False and normalises with the last box: equal to trajml in NVT (float32)."""
    import freud

    u = mda.Universe(*spe_nvt)
    a, b = u.select_atoms("name Li"), u.select_atoms("name O")
    rdf = freud.density.RDF(bins=60, r_max=12.0)
    for ts in u.trajectory:
        box = freud.box.Box.from_box(ts.dimensions[:3])
        shift = ts.dimensions[:3] / 2  # freud boxes are centred on the origin
        rdf.compute(system=(box, box.wrap(b.positions - shift)), query_points=box.wrap(a.positions - shift),
                    reset=False)
    res = run(RDF("name Li", "name O", r_max=12.0, n_bins=60), open_source(*spe_nvt), progress=False)
    np.testing.assert_allclose(res.g, rdf.rdf, rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def ideal_gas(tmp_path_factory):
    rng = np.random.default_rng(42)
    n, frames, length = 600, 8, 20.0
    pos = rng.uniform(0, length, size=(frames, n, 3))
    dims = np.tile([length, length, length, 90.0, 90.0, 90.0], (frames, 1))
    return write_system(tmp_path_factory.mktemp("ideal"), ["X"] * n, np.zeros(n, dtype=int), pos, dims)


def test_ideal_gas_is_one_within_poisson_noise(ideal_gas):
    res = run(RDF("name X", r_max=9.0, n_bins=30), open_source(*ideal_gas), progress=False)
    expected = res.counts / res.g  # the ideal-gas count of each bin
    z = (res.counts - expected) / np.sqrt(expected)
    assert np.abs(z).max() < 4.5
    assert 0.4 < np.mean(z**2) < 1.8  # chi-square per bin near 1
    # n(r) is the ideal-gas count ρ (4/3)π r³ within noise
    edges = res.edges[1:]
    ideal_n = res.density_b * 4 / 3 * np.pi * edges**3 * (res.n_pairs / (res.n_a * res.n_b))
    np.testing.assert_allclose(res.n[-10:], ideal_n[-10:], rtol=0.02)


@pytest.fixture(scope="module")
def fcc(tmp_path_factory):
    a, cells, frames = 4.0, 4, 3
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(cells) for j in range(cells) for k in range(cells)])
    lattice = ((grid[:, None, :] + basis[None]) * a).reshape(-1, 3)
    rng = np.random.default_rng(0)
    pos = lattice[None] + rng.normal(scale=0.05, size=(frames, *lattice.shape))
    dims = np.tile([a * cells] * 3 + [90.0] * 3, (frames, 1))
    return write_system(tmp_path_factory.mktemp("fcc"), ["Ar"] * len(lattice), np.arange(len(lattice)), pos, dims)


def test_fcc_first_shell_has_twelve_neighbours(fcc):
    res = run(RDF("name Ar", r_max=7.5, n_bins=150), open_source(*fcc), progress=False)
    assert res.first_peak_r == pytest.approx(4.0 / np.sqrt(2), abs=0.1)
    assert 2.9 < res.first_min_r < 3.9
    assert res.coordination_number == pytest.approx(12.0, abs=1e-12)


def test_find_first_shell_ignores_noise_on_the_flanks():
    rng = np.random.default_rng(1)
    edges = np.linspace(0, 10, 201)
    r = 0.5 * (edges[1:] + edges[:-1])
    g_true = np.where(r < 2.0, 0.0, 1 + 1.5 * np.exp(-((r - 3.0) ** 2) / 0.1) - 0.6 * np.exp(-((r - 4.5) ** 2) / 0.3))
    norm = 200.0 * 4 / 3 * np.pi * np.diff(edges**3)
    counts = rng.poisson(g_true * norm)
    peak, minimum = find_first_shell(counts / norm, counts, norm, smoothing=5)
    assert r[peak] == pytest.approx(3.0, abs=0.1)
    assert r[minimum] == pytest.approx(4.5, abs=0.25)


def test_index_arrays_equal_selection_strings(spe_nvt):
    src = open_source(*spe_nvt)
    by_string = run(RDF("name Li", "name O", r_max=10.0, n_bins=20), src, progress=False)
    by_index = run(RDF(src.select("name Li"), src.select("name O"), r_max=10.0, n_bins=20), src, progress=False)
    np.testing.assert_array_equal(by_index.counts, by_string.counts)
    np.testing.assert_array_equal(by_index.g, by_string.g)


def test_results_carry_units_and_tables(spe_nvt):
    res = run(RDF("name Li", "name O", r_max=10.0, n_bins=20), open_source(*spe_nvt), progress=False)
    for name in ("edges", "r", "g", "n", "first_peak_r", "first_min_r", "density_b", "mean_volume"):
        assert name in res.units
    assert res.units["r"] == "Å" and res.units["density_b"] == "Å^-3"
    df = res.to_pandas()
    assert list(df.columns) == ["r", "g", "n", "counts"]
    np.testing.assert_array_equal(df["g"].to_numpy(), res.g)
    assert df.attrs["units"]["r"] == "Å"
    ds = res.to_xarray()
    np.testing.assert_array_equal(ds["r"].values, res.r)
    assert ds["g"].dims == ("r",) and ds["r"].attrs["units"] == "Å"
    assert float(ds["n_frames"]) == res.n_frames and ds.attrs["exclude"] == "self"
    assert res.provenance["featurizer"] == "RDF"


def test_missing_tables_extra_is_named(spe_nvt, monkeypatch):
    res = run(RDF("name Li", "name O", r_max=10.0, n_bins=20), open_source(*spe_nvt), progress=False)
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)
    monkeypatch.setitem(__import__("sys").modules, "xarray", None)
    with pytest.raises(MissingExtraError, match=r"trajml\[tables\]"):
        res.to_pandas()
    with pytest.raises(ImportError, match=r"trajml\[tables\]"):
        res.to_xarray()


@pytest.mark.parametrize("kwargs, match", [
    ({"r_max": -1.0}, r"The 'r_max' parameter of RDF must be a float in \(0, inf\) Å. Got -1.0 instead."),
    ({"n_bins": 0}, r"The 'n_bins' parameter of RDF must be an int in \[1, 10000000\]. Got 0 instead."),
    ({"r_min": 20.0}, r"The 'r_min' parameter of RDF must be a float in \[0, 15\) Å. Got 20.0 instead."),
    ({"exclude": "chain"}, r"The 'exclude' parameter of RDF must be one of \('self', 'molecule', None\)"),
    ({"smoothing": -1.0}, r"The 'smoothing' parameter of RDF must be a float in \[0, inf\) Å. Got -1.0 instead."),
    ({"device": "gpu"}, r"The 'device' parameter of RDF must be one of \('cpu', 'cuda'\). Got 'gpu' instead."),
])
def test_bad_parameters_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RDF("name Li", **kwargs)


def test_bad_selections_and_boxes_are_named(spe_nvt):
    src = open_source(*spe_nvt)
    with pytest.raises(EmptySelectionError, match=r"'name Zz' matched no atom"):
        run(RDF("name Li", "name Zz"), src, progress=False)
    with pytest.raises(ValueError, match=r"'select_b' parameter of RDF holds index 99999"):
        run(RDF("name Li", [0, 99999]), src, progress=False)
    with pytest.raises(ValueError, match=r"'r_max' parameter of RDF must be at most half the smallest "
                                         r"perpendicular box width, 15 Å in trajectory 0 frame 0.*Got 16 Å"):
        run(RDF("name Li", r_max=16.0), src, progress=False)
    with pytest.raises(RuntimeError, match="bind"):
        RDF("name Li").update(RDF("name Li").init_state(), src.read(src.partition(2)[0]))
