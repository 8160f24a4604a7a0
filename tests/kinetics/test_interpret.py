"""StateInterpretation against independent oracles: MDAnalysis InterRDF, capped_distance and distance_array.

Hard labels constant per target split the Li⁺ into groups: each state is then one group, whose
RDF is InterRDF of that group and whose shell counts are capped_distance counts. Soft
probabilities are checked against the analytically weighted combination of those oracles and
against per-row histograms of MDAnalysis distance_array (triclinic, NPT).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from trajml.errors import EmptySelectionError
from trajml.io import open_source
from trajml.kinetics import StateInterpretation, StateInterpretationResults

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysis.analysis.rdf import InterRDF
    from MDAnalysis.lib.distances import capped_distance, distance_array

STOP = 20
R_MAX, N_BINS = 15.0, 150
R_SHELL = {"polymer O": 8.0, "anion": 9.6}  # first minima of the sample's Li–O and Li–TFSI g(r)
SPECIES = {"polymer O": "name O", "anion": "name TFSI"}


@pytest.fixture(scope="module")
def universe(sample):
    return mda.Universe(*sample)


@pytest.fixture(scope="module")
def groups(universe):
    """Li⁺ topology indices split at random into two groups of 30 (group A: state 0)."""
    li = universe.select_atoms("name Li").indices
    in_a = np.zeros(li.size, dtype=bool)
    in_a[np.random.default_rng(0).choice(li.size, li.size // 2, replace=False)] = True
    return li, in_a


@pytest.fixture(scope="module")
def shell_oracle(universe):
    """Per-(frame, Li) shell counts of O and TFSI from capped_distance with the box, frames 0..STOP-1."""
    li = universe.select_atoms("name Li")
    out = np.zeros((STOP, li.n_atoms, 2), dtype=np.int64)
    for t, ts in enumerate(universe.trajectory[:STOP]):
        for k, (sel, cut) in enumerate(zip(SPECIES.values(), R_SHELL.values())):
            pairs = capped_distance(li.positions, universe.select_atoms(sel).positions, cut, box=ts.dimensions,
                                    return_distances=False)
            out[t, :, k] = np.bincount(pairs[:, 0], minlength=li.n_atoms)
    return out


@pytest.fixture(scope="module")
def group_rdfs(universe, groups):
    """InterRDF results (count, rdf) for (group, species) over frames 0..STOP-1; group in {A, B, all}."""
    li, in_a = groups
    out = {}
    for gname, mask in (("A", in_a), ("B", ~in_a), ("all", np.ones_like(in_a))):
        for label, sel in SPECIES.items():
            ag = universe.atoms[li[mask]]
            ir = InterRDF(ag, universe.select_atoms(sel), N_BINS, range=(0.0, R_MAX)).run(stop=STOP)
            out[gname, label] = ir.results
    return out


def _compute(source, states, **kw):
    params = {"r_shell": R_SHELL, "r_max": R_MAX, "n_bins": N_BINS}
    run_kw = {k: kw.pop(k) for k in ("start", "stop", "step", "chunk_size") if k in kw}
    run_kw.setdefault("stop", STOP)
    return StateInterpretation(SPECIES, **{**params, **kw}).compute(source, "name Li", states, **run_kw)


@pytest.fixture(scope="module")
def hard_result(sample, groups):
    _, in_a = groups
    labels = np.broadcast_to(np.where(in_a, 0, 1), (STOP, in_a.size)).astype(np.int64)
    return _compute(open_source(*sample), labels, chunk_size=7)


# ---------------------------------------------------------------------------------------------
# hard labels constant per target == group analyses
# ---------------------------------------------------------------------------------------------

def test_hard_groups_rdf_equal_interrdf(hard_result, group_rdfs):
    res = hard_result
    assert isinstance(res, StateInterpretationResults) and res.hard
    for s, gname in enumerate(("A", "B")):
        for k, label in enumerate(SPECIES):
            ref = group_rdfs[gname, label]
            np.testing.assert_array_equal(res.counts[s, k], ref.count)
            np.testing.assert_allclose(res.g[s, k], ref.rdf, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.r, group_rdfs["A", "anion"].bins, atol=1e-12)
    np.testing.assert_allclose(res.edges, group_rdfs["A", "anion"].edges, atol=1e-12)


def test_hard_groups_shell_counts_and_charge_equal_capped_distance(hard_result, shell_oracle, groups, universe):
    res = hard_result
    _, in_a = groups
    q = universe.atoms.charges
    q_o, q_anion = q[universe.select_atoms("name O").indices[0]], q[universe.select_atoms("name TFSI").indices[0]]
    assert np.all(q[universe.select_atoms("name TFSI").indices] == q_anion)  # the hand sum below relies on it
    for s, mask in enumerate((in_a, ~in_a)):
        rows = shell_oracle[:, mask].reshape(-1, 2).astype(np.float64)
        np.testing.assert_allclose(res.shell_count_mean[s], rows.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(res.shell_count_std[s], rows.std(axis=0), rtol=1e-9, atol=1e-12)
        charge = rows[:, 0] * q_o + rows[:, 1] * q_anion
        np.testing.assert_allclose(res.net_charge_mean[s], charge.mean(), rtol=1e-12)
        np.testing.assert_allclose(res.net_charge_std[s], charge.std(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.population, [in_a.mean(), 1 - in_a.mean()], rtol=1e-15)
    np.testing.assert_allclose(res.weight, [in_a.sum() * STOP, (~in_a).sum() * STOP])
    assert res.n_rows == STOP * in_a.size and res.n_frames == STOP
    assert res.net_charge_mean[0] < 0  # an anion-rich shell has negative charge without the Li⁺ itself


def test_include_target_charge_adds_the_target(sample, groups, hard_result, universe):
    _, in_a = groups
    labels = np.broadcast_to(np.where(in_a, 0, 1), (STOP, in_a.size)).astype(np.int64)
    res = _compute(open_source(*sample), labels, include_target_charge=True)
    q_li = universe.atoms.charges[universe.select_atoms("name Li").indices]
    np.testing.assert_allclose(res.net_charge_mean, hard_result.net_charge_mean + q_li[0], rtol=1e-12)
    np.testing.assert_allclose(res.net_charge_std, hard_result.net_charge_std, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# soft probabilities
# ---------------------------------------------------------------------------------------------

def test_soft_group_mix_is_the_weighted_combination(sample, groups, group_rdfs, shell_oracle, universe):
    _, in_a = groups
    a, b = np.array([0.8, 0.2]), np.array([0.3, 0.7])  # state probabilities of group A and group B rows
    p = np.where(in_a[None, :, None], a, b)
    p = np.broadcast_to(p, (STOP, in_a.size, 2)).astype(np.float32)  # VAMPNet outputs are float32
    res = _compute(open_source(*sample), p)
    n_a, n_b = in_a.sum(), (~in_a).sum()
    volume = universe.trajectory[0].volume  # NVT
    shell_vol = 4 / 3 * np.pi * np.diff(group_rdfs["A", "anion"].edges ** 3)
    sums_a = shell_oracle[:, in_a].sum(axis=(0, 1))
    sums_b = shell_oracle[:, ~in_a].sum(axis=(0, 1))
    a32, b32 = a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64)
    for s in range(2):
        wa, wb = a32[s], b32[s]
        weight = STOP * (wa * n_a + wb * n_b)
        for k, (label, sel) in enumerate(SPECIES.items()):
            counts = wa * group_rdfs["A", label].count + wb * group_rdfs["B", label].count
            n_species = universe.select_atoms(sel).n_atoms
            g = counts / (weight * n_species / volume * shell_vol)
            np.testing.assert_allclose(res.counts[s, k], counts, rtol=1e-12, atol=1e-9)
            np.testing.assert_allclose(res.g[s, k], g, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res.shell_count_mean[s], (wa * sums_a + wb * sums_b) / weight, rtol=1e-12)
        np.testing.assert_allclose(res.population[s], weight / (STOP * in_a.size), rtol=1e-7)


def test_soft_random_rows_equal_distance_array_histograms(sample, universe):
    """Every row its own random probabilities: weighted per-row histograms of distance_array, by hand."""
    n_frames, m, k_rep = 4, 3, 4
    li = universe.select_atoms("name Li")
    anion = universe.select_atoms("name TFSI")
    p = np.random.default_rng(1).dirichlet(np.ones(m), size=(n_frames, li.n_atoms))
    res = StateInterpretation({"anion": "name TFSI"}, r_shell=9.6, r_max=R_MAX, n_bins=N_BINS,
                              n_representatives=k_rep).compute(open_source(*sample), "name Li", p, stop=n_frames,
                                                                chunk_size=3)
    edges = np.linspace(0, R_MAX, N_BINS + 1)
    counts = np.zeros((m, N_BINS))
    norm = np.zeros(m)
    shell = np.zeros((n_frames, li.n_atoms))
    charge = np.zeros((n_frames, li.n_atoms))
    times = np.zeros(n_frames)
    for t, ts in enumerate(universe.trajectory[:n_frames]):
        d = distance_array(li.positions, anion.positions, box=ts.dimensions)
        hist = np.stack([np.histogram(row, edges)[0] for row in d])  # (n_li, n_bins)
        counts += p[t].T @ hist
        norm += p[t].sum(axis=0) * anion.n_atoms / ts.volume
        inside = d < 9.6
        shell[t] = inside.sum(axis=1)
        charge[t] = inside @ anion.charges
        times[t] = ts.time
    g = counts / (norm[:, None] * 4 / 3 * np.pi * np.diff(edges**3))
    np.testing.assert_allclose(res.counts[:, 0], counts, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(res.g[:, 0], g, rtol=1e-9)
    w = p.reshape(-1, m)
    np.testing.assert_allclose(res.shell_count_mean[:, 0], w.T @ shell.ravel() / w.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(res.net_charge_mean, w.T @ charge.ravel() / w.sum(axis=0), rtol=1e-12)
    # Representatives: the k rows of highest probability of each state, by argsort.
    for s in range(m):
        best = np.argsort(-w[:, s], kind="stable")[:k_rep]
        frame, target = np.divmod(best, li.n_atoms)
        np.testing.assert_array_equal(res.representative_frame[s], frame)
        np.testing.assert_array_equal(res.representative_target[s], li.indices[target])
        np.testing.assert_array_equal(res.representative_traj[s], 0)
        np.testing.assert_allclose(res.representative_time[s], times[frame])
        np.testing.assert_allclose(res.representative_probability[s], w[best, s])
        np.testing.assert_allclose(res.representative_shell_count[s, :, 0], shell.ravel()[best])
        np.testing.assert_allclose(res.representative_net_charge[s], charge.ravel()[best])


def test_triclinic_npt_hard_labels_per_row_and_self_exclusion(small_triclinic_xtc):
    """Labels vary per (frame, target); shell species include the targets themselves (self pairs excluded)."""
    u = mda.Universe(*small_triclinic_xtc)
    li, o = u.select_atoms("name Li"), u.select_atoms("name O")
    n_frames, m, r_max, n_bins, cut = 15, 3, 9.0, 45, {"Li": 4.0, "O": 3.5}
    labels = np.random.default_rng(2).integers(0, m, size=(n_frames, li.n_atoms))
    src = open_source(*small_triclinic_xtc)
    assert src.atoms.charges is None
    res = StateInterpretation({"Li": "name Li", "O": "name O"}, r_shell=cut, r_max=r_max, n_bins=n_bins,
                              charge=False).compute(src, "name Li", labels, stop=n_frames, chunk_size=4)
    edges = np.linspace(0, r_max, n_bins + 1)
    counts = np.zeros((m, 2, n_bins))
    norm = np.zeros((m, 2))
    shells = np.zeros((n_frames, li.n_atoms, 2))
    for t, ts in enumerate(u.trajectory[:n_frames]):
        onehot = np.eye(m)[labels[t]]
        for k, (grp, n_pairs) in enumerate(((li, li.n_atoms - 1), (o, o.n_atoms))):
            d = distance_array(li.positions, grp.positions, box=ts.dimensions)
            if k == 0:
                np.fill_diagonal(d, np.inf)  # a target is not its own neighbour
            counts[:, k] += onehot.T @ np.stack([np.histogram(row, edges)[0] for row in d])
            norm[:, k] += onehot.sum(axis=0) * n_pairs / ts.volume
            shells[t, :, k] = (d < list(cut.values())[k]).sum(axis=1)
    np.testing.assert_array_equal(res.counts, counts)
    # Volumes: MDAnalysis from float32 lengths and angles, trajml from the float32 box matrix (~1e-8 apart).
    np.testing.assert_allclose(res.g, counts / (norm[:, :, None] * 4 / 3 * np.pi * np.diff(edges**3)), rtol=1e-7)
    for s in range(m):
        rows = shells[labels == s]
        np.testing.assert_allclose(res.shell_count_mean[s], rows.mean(axis=0), rtol=1e-12)
    assert np.isnan(res.net_charge_mean).all() and np.isnan(res.representative_net_charge).all()
    np.testing.assert_allclose(res.population, np.bincount(labels.ravel(), minlength=m) / labels.size)


def test_molecule_exclusion_equals_interrdf_exclusion_block(sample, universe):
    """O → O of other chains (24 ether O per chain, contiguous): InterRDF exclusion_block=(24, 24)."""
    n_frames = 3
    o = universe.select_atoms("name O")
    labels = np.zeros((n_frames, o.n_atoms), dtype=np.int64)
    res = StateInterpretation({"O": "name O"}, r_shell=6.0, r_max=12.0, n_bins=60, exclude="molecule",
                              n_representatives=0).compute(open_source(*sample), "name O", labels, stop=n_frames)
    ref = InterRDF(o, o, 60, range=(0.0, 12.0), exclusion_block=(24, 24)).run(stop=n_frames).results
    np.testing.assert_array_equal(res.counts[0, 0], ref.count)
    np.testing.assert_allclose(res.g[0, 0], ref.rdf, rtol=1e-10)
    assert res.representative_frame.shape == (1, 0)


def test_several_trajectories_take_a_list(sample, groups, group_rdfs):
    """Trajectory 0: groups A/B as states 0/1; trajectory 1 (same file): every Li⁺ in state 0."""
    _, in_a = groups
    src = open_source(sample[0], [[sample[1]], [sample[1]]])
    states = [np.broadcast_to(np.where(in_a, 0, 1), (STOP, in_a.size)).astype(np.int64),
              np.zeros((STOP, in_a.size), dtype=np.int64)]
    res = _compute(src, states, chunk_size=8)
    for k, label in enumerate(SPECIES):
        np.testing.assert_array_equal(res.counts[0, k], group_rdfs["A", label].count + group_rdfs["all", label].count)
        np.testing.assert_array_equal(res.counts[1, k], group_rdfs["B", label].count)
    assert res.n_frames == 2 * STOP
    np.testing.assert_allclose(res.population, [(in_a.sum() + in_a.size) / (2 * in_a.size),
                                                (~in_a).sum() / (2 * in_a.size)])
    # Soft: the single most probable row of state 1 sits in trajectory 1 by construction.
    p = [np.full((STOP, in_a.size, 2), 0.5), np.full((STOP, in_a.size, 2), 0.5)]
    p[1][7, 11] = [0.1, 0.9]
    res = _compute(src, p)
    assert (res.representative_traj[1, 0], res.representative_frame[1, 0]) == (1, 7)
    assert res.representative_target[1, 0] == res.targets[11]
    with pytest.raises(ValueError, match="'states'.*list of 2 arrays"):
        _compute(src, states[0])


def test_chunking_and_striding_do_not_change_results(sample, universe):
    src = open_source(sample[0], sample[1])
    p = np.random.default_rng(4).dirichlet(np.ones(2), size=(len(range(2, 26, 3)), 60))
    a = _compute(src, p, start=2, stop=26, step=3, chunk_size=2)
    b = _compute(src, p, start=2, stop=26, step=3, chunk_size=100)
    for name in ("counts", "g", "shell_count_mean", "net_charge_mean", "population"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(a.representative_frame, b.representative_frame)
    assert set(a.representative_frame.ravel()) <= set(range(2, 26, 3))
    times = np.array([ts.time for ts in universe.trajectory[:26]])
    np.testing.assert_allclose(a.representative_time, times[a.representative_frame])


def test_tables_units_and_exports(hard_result):
    pd = pytest.importorskip("pandas")
    df = hard_result.to_pandas()
    assert list(df.columns) == ["state", "population", "weight", "n polymer O", "n polymer O std", "n anion",
                                "n anion std", "net_charge", "net_charge_std"]
    assert df.attrs["units"]["net_charge"] == "e" and df.attrs["units"]["population"] == ""
    reps = hard_result.representatives_to_pandas()
    assert isinstance(reps, pd.DataFrame) and len(reps) == 2 * 5 and reps.attrs["units"]["time_ps"] == "ps"
    # Hard labels tie at p = 1: the earliest (frame, target) rows represent each state.
    assert (reps["frame"] == 0).all() and (reps["probability"] == 1).all()
    u = hard_result.units
    assert u["r"] == u["edges"] == u["r_shell"] == "Å" and u["net_charge_mean"] == "e"
    assert u["representative_time"] == "ps" and u["g"] == ""
    xr = pytest.importorskip("xarray")
    ds = hard_result.to_xarray()
    assert isinstance(ds, xr.Dataset) and ds["g"].dims == ("state", "species", "r")
    assert list(ds["species"].values) == ["polymer O", "anion"]
    import trajml.kinetics

    assert "StateInterpretation" in trajml.kinetics.__all__


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def src(sample):
    return open_source(*sample)


@pytest.mark.parametrize("states, match", [
    (np.zeros((STOP - 1, 60), dtype=np.int64), r"'states'.*19 frames, but 20 frames are read"),
    (np.zeros((STOP, 59), dtype=np.int64), r"'states'.*59 targets.*'targets' selection has 60"),
    (np.full((STOP, 60, 2), 0.6), r"'states'.*sum to 1"),
    (np.where(np.arange(2) == 0, 1.5, -0.5) * np.ones((STOP, 60, 1)), r"'states'.*negative"),
    (np.full((STOP, 60, 2), np.nan), r"'states'.*NaN"),
    (np.zeros((STOP, 60), dtype=np.float64), r"'states'.*hard labels and must be integers"),
    (-np.ones((STOP, 60), dtype=np.int64), r"'states'.*label -1"),
    (np.zeros((STOP,), dtype=np.int64), r"'states'.*shape \(T, n_targets\)"),
])
def test_bad_states_are_named(src, states, match):
    with pytest.raises(ValueError, match=match):
        _compute(src, states)


def test_bad_parameters_are_named(src):
    labels = np.zeros((STOP, 60), dtype=np.int64)
    with pytest.raises(ValueError, match="'r_shell'.*must not exceed r_max"):
        StateInterpretation(SPECIES, r_shell=16.0, r_max=R_MAX)
    with pytest.raises(ValueError, match="'r_shell'.*one cut-off per shell label"):
        StateInterpretation(SPECIES, r_shell={"polymer O": 8.0})
    with pytest.raises(ValueError, match="'shell'"):
        StateInterpretation({}, r_shell=3.0)
    with pytest.raises(ValueError, match="'include_target_charge'.*charge=True"):
        StateInterpretation(SPECIES, r_shell=3.0, charge=False, include_target_charge=True)
    with pytest.raises(EmptySelectionError, match="'targets'.*name Xx"):
        StateInterpretation(SPECIES, r_shell=3.0).compute(src, "name Xx", labels, stop=STOP)
    with pytest.raises(EmptySelectionError, match=r"'shell\['anion'\]'.*name Yy"):
        StateInterpretation({"polymer O": "name O", "anion": "name Yy"}, r_shell=3.0).compute(
            src, "name Li", labels, stop=STOP)
    with pytest.raises(ValueError, match="'shell'.*share"):
        StateInterpretation({"a": "name O", "b": "name O or name TFSI"}, r_shell=3.0).compute(
            src, "name Li", labels, stop=STOP)
    with pytest.raises(ValueError, match="'r_max'.*half the smallest perpendicular box width"):
        StateInterpretation(SPECIES, r_shell=3.0, r_max=40.0).compute(src, "name Li", labels, stop=STOP)
    with pytest.raises(ValueError, match="'states'.*label 2, but n_states = 2"):
        StateInterpretation(SPECIES, r_shell=3.0, n_states=2).compute(src, "name Li", labels + 2, stop=STOP)


def test_missing_charges_raise_only_when_requested(small_triclinic_xtc):
    src = open_source(*small_triclinic_xtc)
    labels = np.zeros((3, 100), dtype=np.int64)
    with pytest.raises(ValueError, match="'charge'.*no partial charges.*charge=False"):
        StateInterpretation({"O": "name O"}, r_shell=3.0, r_max=8.0).compute(src, "name Li", labels, stop=3)
    res = StateInterpretation({"O": "name O"}, r_shell=3.0, r_max=8.0, charge=False).compute(
        src, "name Li", labels, stop=3)
    assert np.isnan(res.net_charge_mean).all() and np.isfinite(res.shell_count_mean).all()


def test_empty_state_gives_nan_not_errors(src):
    labels = np.zeros((STOP, 60), dtype=np.int64)
    res = StateInterpretation(SPECIES, r_shell=R_SHELL, r_max=R_MAX, n_states=3).compute(
        src, "name Li", labels, stop=STOP)
    np.testing.assert_array_equal(res.population, [1.0, 0.0, 0.0])
    assert np.isnan(res.g[1:]).all() and np.isnan(res.shell_count_mean[1:]).all()
    assert (res.representative_frame[1:] == -1).all() and np.isnan(res.representative_time[1:]).all()


def test_float64_minimum_image_in_a_skewed_triclinic_box():
    """The float64 recomputation of kernel distances finds the minimum image (MDAnalysis distance_array)."""
    from MDAnalysis.lib.mdamath import triclinic_vectors

    from trajml.kinetics._interpret_rows import _pair_distances

    rng = np.random.default_rng(5)
    dims = np.array([20.0, 22.0, 25.0, 55.0, 60.0, 70.0], dtype=np.float32)
    box = triclinic_vectors(dims).astype(np.float32)[None]
    pos = rng.uniform(-30, 50, size=(1, 200, 3)).astype(np.float32)
    ref = distance_array(pos[0, :100], pos[0, 100:], box=dims)
    i, j = np.nonzero(ref < 8.0)
    got = _pair_distances(pos[:, :100], pos[:, 100:], box, np.zeros_like(i), i, j)
    # MDAnalysis wraps in float32 (~1e-6 Å here); a wrong periodic image would be off by Å.
    np.testing.assert_allclose(got, ref[i, j], rtol=0, atol=1e-4)
