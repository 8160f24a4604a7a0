"""CSV datasets in the published id,smiles,value layout, wide tables, pipeline summaries and k-fold splits."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from trajml.extrapolation.readers import (
    read_property_csv,
    read_table_csv,
    table_from_csvs,
    table_from_pipeline,
    write_table_csv,
)
from trajml.extrapolation.tables import ExtrapolationTable, check_labels, kfold_indices


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_property_csv_published_layout(tmp_path):
    f = _write(tmp_path / "cond.csv", "ID,value,SMILES,extra\na,-3.5,*CCO*,x\nb,,*CCN*,y\nc,-4.25,*CCS*,z\n")
    ids, smiles, values = read_property_csv(f)
    assert ids == ["a", "b", "c"] and smiles == ["*CCO*", "*CCN*", "*CCS*"]
    assert values[0] == -3.5 and math.isnan(values[1]) and values[2] == -4.25
    _, _, logged = read_property_csv(_write(tmp_path / "raw.csv", "id,smiles,value\na,*C*,0.001\n"), log10=True)
    assert logged[0] == pytest.approx(-3.0)


@pytest.mark.parametrize("text, match", [
    ("id,smiles\na,*CCO*\n", r"no column\(s\) \['value'\]"),
    ("id,smiles,value\na,*CCO*,1\na,*CCN*,2\n", r"Id 'a' appears twice .*\(rows 1 and 2\)"),
    ("id,smiles,value\na,*CCO*,1\nb,*CCN*,fast\n", r"row 2 \(id 'b'\).* 'fast', not a number"),
    ("id,smiles,value\n", "no rows"),
    ("", "is empty"),
])
def test_property_csv_bad_input(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_property_csv(_write(tmp_path / "bad.csv", text))


def test_property_csv_log10_of_non_positive_names_row(tmp_path):
    f = _write(tmp_path / "bad.csv", "id,smiles,value\na,*CCO*,1e-3\nb,*CCN*,0\n")
    with pytest.raises(ValueError, match=r"row 2 \(id 'b'\).*> 0"):
        read_property_csv(f, log10=True)


def test_table_from_csvs_merges_tasks_and_fidelities(tmp_path):
    hi = _write(tmp_path / "hi.csv", "id,smiles,value\nb,*CCN*,-4.0\na,*CCO*,-3.0\n")
    lo = _write(tmp_path / "lo.csv", "id,smiles,value\na,*CCO*,-2.5\nc,*CCS*,-2.0\nb,*CCN*,-3.6\n")
    tp = _write(tmp_path / "tp.csv", "id,smiles,value\nc,*CCS*,0.3\n")
    feats = _write(tmp_path / "f.csv", "id,temperature,salt\na,300,0.5\nb,350,1.0\nc,400,1.5\n")
    t = table_from_csvs({"log10_D_Li": hi}, {"log10_D_Li": lo, "transference": tp}, features=feats)
    assert t.ids == ("b", "a", "c") and t.tasks == ("log10_D_Li", "transference")
    assert t.graphs == ("*CCN*", "*CCO*", "*CCS*") and t.feature_names == ("temperature", "salt")
    np.testing.assert_array_equal(t.features, [[350, 1.0], [300, 0.5], [400, 1.5]])
    np.testing.assert_array_equal(t.high[:, 0], [-4.0, -3.0, np.nan])
    np.testing.assert_array_equal(t.low, [[-3.6, np.nan], [-2.5, np.nan], [-2.0, 0.3]])


def test_table_from_csvs_refuses_conflicting_smiles_and_missing_features(tmp_path):
    hi = _write(tmp_path / "hi.csv", "id,smiles,value\na,*CCO*,-3.0\n")
    lo = _write(tmp_path / "lo.csv", "id,smiles,value\na,*CCN*,-2.5\n")
    with pytest.raises(ValueError, match=r"Id 'a' has SMILES '\*CCO\*' in .* but '\*CCN\*'"):
        table_from_csvs({"log10_D_Li": hi}, {"log10_D_Li": lo})
    feats = _write(tmp_path / "f.csv", "id,temperature\nz,300\n")
    with pytest.raises(ValueError, match=r"no row for id\(s\) \['a'\]"):
        table_from_csvs({"log10_D_Li": hi}, features=feats)
    with pytest.raises(ValueError, match="must be one of"):
        table_from_csvs({"log10_D_sodium": hi})


def test_wide_table_round_trip(tmp_path):
    t = ExtrapolationTable(("a", "b"), (("C", "O"), ("C", "C", "O")), "cg", ("T",), [[300.0], [350.0]],
                           ("log10_D_Li",), [[-1.0], [np.nan]], [[np.nan], [-2.5]])
    write_table_csv(t, str(tmp_path / "t.csv"))
    back = read_table_csv(str(tmp_path / "t.csv"))
    assert back.graphs == t.graphs and back.graph_kind == "cg" and back.feature_names == ("T",)
    np.testing.assert_array_equal(back.low, t.low)
    np.testing.assert_array_equal(back.high, t.high)
    np.testing.assert_array_equal(back.features, t.features)


def test_empty_and_constant_targets_are_refused():
    def table(high):
        return ExtrapolationTable(("a", "b", "c"), ("*CCO*",) * 3, "smiles", (), np.zeros((3, 0)),
                                  ("log10_sigma",), np.full((3, 1), np.nan), np.array(high, float)[:, None])

    with pytest.raises(ValueError, match="'log10_sigma' are empty"):
        check_labels("X", table([np.nan] * 3))
    with pytest.raises(ValueError, match=r"'log10_sigma' are constant \(-2 in all 3 rows\)"):
        check_labels("X", table([-2.0, -2.0, -2.0]))
    with pytest.raises(ValueError, match=r"Feature 'T' of row 2 \(id 'b'\) is nan"):
        ExtrapolationTable(("a", "b"), ("*C*",) * 2, "smiles", ("T",), [[1.0], [np.nan]], (), np.zeros((2, 0)),
                           np.zeros((2, 0)))


@pytest.mark.parametrize("n, k, seed", [(10, 3, 0), (23, 5, 7), (7, 7, 1)])
def test_kfold_matches_scikit_learn(n, k, seed):
    sklearn = pytest.importorskip("sklearn.model_selection")
    ours = kfold_indices(n, k, seed)
    theirs = list(sklearn.KFold(k, shuffle=True, random_state=seed).split(np.zeros(n)))
    assert len(ours) == len(theirs)
    for (tr, te), (tr2, te2) in zip(ours, theirs):
        np.testing.assert_array_equal(te, np.sort(te2))
        np.testing.assert_array_equal(tr, np.sort(tr2))


def test_group_kfold_holds_out_whole_groups():
    groups = np.repeat(["a", "b", "c", "d", "e", "f", "g"], [3, 1, 4, 2, 2, 5, 1])
    splits = kfold_indices(len(groups), 3, seed=2, groups=groups)
    tests = np.concatenate([te for _, te in splits])
    np.testing.assert_array_equal(np.sort(tests), np.arange(len(groups)))  # every row tested exactly once
    for tr, te in splits:
        assert not set(groups[tr]) & set(groups[te])
        assert len(tr) + len(te) == len(groups)
    with pytest.raises(ValueError, match="cannot make 8 folds of 7 groups"):
        kfold_indices(len(groups), 8, groups=groups)


def _fake_run(rows):
    """spec/summary/store objects shaped like a pipeline run, for the real cross_system_table."""
    systems = [SimpleNamespace(name=name, metadata=meta) for name, meta, _ in rows]
    outcomes, entries = [], {}
    for name, _, numbers in rows:
        for stage, nums in numbers.items():
            key = f"{name}/{stage}"
            outcomes.append(SimpleNamespace(system=name, stage_id=stage, status="computed", key=key))
            entries[key] = SimpleNamespace(meta={"numbers": nums})
    return (SimpleNamespace(systems=systems), SimpleNamespace(outcomes=outcomes),
            SimpleNamespace(get=entries.__getitem__))


def test_table_from_pipeline_pairs_short_and_long_runs(tmp_path):
    from trajml.pipelines.report import _write_tables, cross_system_table

    def numbers(sigma_ms_cm, d, tplus, slope):
        return {"transport": {"sigma": (sigma_ms_cm, "mS/cm"), "transference": (tplus, "")},
                "msd": {"D": (d, "Å^2/ps"), "loglog_slope": (slope, "")}}

    short = _fake_run([("peo", {"smiles": "*CCO*", "temperature": 350, "salt": 0.1}, numbers(1.0, 0.01, 0.2, 0.8)),
                       ("ppo", {"smiles": "*CC(C)O*", "temperature": 400, "salt": 0.2}, numbers(3.0, 0.03, 0.3, 0.9))])
    long = _fake_run([("ppo", {"smiles": "*CC(C)O*", "temperature": 400, "salt": 0.2}, numbers(1.0, 0.002, 0.1, 1.0))])
    folder = tmp_path / "short_report"
    folder.mkdir()
    _write_tables(str(folder), *cross_system_table(*short))  # a real summary.csv
    t = table_from_pipeline(str(folder), cross_system_table(*long), descriptors=["msd.loglog_slope"])
    assert t.ids == ("peo", "ppo") and t.graphs == ("*CCO*", "*CC(C)O*")
    assert t.tasks == ("log10_sigma", "log10_D_Li", "transference")
    assert t.feature_names == ("temperature", "salt", "msd.loglog_slope")
    np.testing.assert_allclose(t.features, [[350, 0.1, 0.8], [400, 0.2, 0.9]])
    # 1 mS/cm = 0.1 S/m
    np.testing.assert_allclose(t.low, [[-1.0, -2.0, 0.2], [math.log10(0.3), math.log10(0.03), 0.3]])
    np.testing.assert_allclose(t.high, [[np.nan] * 3, [-1.0, math.log10(0.002), 0.1]])


def test_table_from_pipeline_with_a_fidelity_column():
    cols = ["system", "chem", "smiles", "run", "msd.D [cm^2/s]"]
    rows = [{"system": "a1", "chem": "a", "smiles": "*CCO*", "run": "short", "msd.D [cm^2/s]": 1e-6},
            {"system": "a2", "chem": "a", "smiles": "*CCO*", "run": "long", "msd.D [cm^2/s]": 1e-7},
            {"system": "b1", "chem": "b", "smiles": "*CCN*", "run": "short", "msd.D [cm^2/s]": 2e-6}]
    t = table_from_pipeline((cols, rows), pair_by="chem", fidelity_column="run", features=[])
    assert t.ids == ("a", "b") and t.tasks == ("log10_D_Li",)
    np.testing.assert_allclose(t.low[:, 0], np.log10([1e-2, 2e-2]))  # 1 cm^2/s = 1e4 Å^2/ps
    np.testing.assert_allclose(t.high[:, 0], [-3.0, np.nan])
    rows[1]["run"] = "medium"
    with pytest.raises(ValueError, match=r"holds \['medium'\]"):
        table_from_pipeline((cols, rows), pair_by="chem", fidelity_column="run")


def test_random_forest_on_coarse_grained_units():
    """Bead-type fractions as the fingerprint: the long run depends on the O fraction only."""
    pytest.importorskip("sklearn")
    from trajml.extrapolation.baselines import RandomForestBaseline

    units = [("C", "O"), ("C", "C", "O"), ("C", "C", "C", "O"), ("C", "O", "O"), ("C", "C")] * 4
    frac = np.array([u.count("O") / len(u) for u in units])
    low = np.linspace(-2, -1, len(units))
    t = ExtrapolationTable(tuple(f"s{k}" for k in range(len(units))), tuple(units), "cg", (), np.zeros((20, 0)),
                           ("log10_D_polymer",), low[:, None], (low - frac)[:, None])
    model = RandomForestBaseline(n_estimators=30).fit(t).fetch_model()
    assert model.vocabulary == ("C", "O")
    pred = model.predict(t)
    assert np.mean(np.abs(pred.high[:, 0] - (low - frac))) < 0.5 * np.mean(np.abs(frac - frac.mean()))
    with pytest.raises(ValueError, match=r"features \[\]; got cg graphs and features \['T'\]"):
        model.predict(ExtrapolationTable(("a",), (("C", "O"),), "cg", ("T",), [[1.0]], ("log10_D_polymer",),
                                         [[0.0]], [[0.0]]))


def test_cg_tables_from_pipelines_group_by_system():
    """Every chemistry of a CG family has the same bead sequence: cross-validation groups are the systems."""
    from trajml.pipelines.report import cross_system_table

    def run(eps, d):
        return {"msd": {"D": (d, "Å^2/ps")}}

    short = _fake_run([("a", {"beads": "C O", "eps_li_o": 2.0}, run(2.0, 0.01)),
                       ("b", {"beads": "C O", "eps_li_o": 6.0}, run(6.0, 0.002))])
    t = table_from_pipeline(cross_system_table(*short), smiles_column=None, beads_column="beads")
    assert t.graph_kind == "cg" and t.graphs == (("C", "O"), ("C", "O"))
    assert t.groups == ("a", "b")


def test_stratified_folds_spread_the_scarce_groups():
    """4 of 20 groups hold the scarce rows: with 4 folds each fold tests exactly one of them; plain k-fold
    (sklearn's KFold order) does not promise that."""
    groups = np.repeat(np.arange(20), 2)
    scarce = np.isin(groups, [0, 1, 2, 3])
    for seed in range(5):
        splits = kfold_indices(len(groups), 4, seed, groups, stratify=scarce)
        tested = np.concatenate([t for _, t in splits])
        assert sorted(tested.tolist()) == list(range(40))  # every row tested once
        for train, test in splits:
            assert len(set(groups[test]) & set(groups[train])) == 0  # whole groups held out
            assert len(set(groups[test][scarce[test]])) == 1
            assert 8 <= len(test) <= 12
