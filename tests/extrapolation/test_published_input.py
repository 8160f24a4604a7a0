"""Published label files as they are: units, attachment points, predefined splits, the polymernet layout, scores.

Oracles: unit factors written out by hand (1 S/cm = 100 S/m, 1 cm²/s = 10¹⁶ Å² / 10¹² ps = 10⁴ Å²/ps),
NumPy log10 of the raw numbers, and scikit-learn's metrics."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from trajml.extrapolation.attachments import normalise_attachments
from trajml.extrapolation.readers import read_property_csv
from trajml.extrapolation.scores import score_values
from trajml.extrapolation.splits import read_polymernet, split_from_csvs
from trajml.extrapolation.value_units import parse_unit, to_task_units, units_by_task


def _rows(path, rows):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return str(path)


@pytest.mark.parametrize("unit, raw, expected", [
    ("S/cm", 1e-4, math.log10(1e-2)), ("S/m", 1e-4, -4.0), ("mS/cm", 1.0, math.log10(0.1)),
    ("log10(S/cm)", -4.0, -2.0), ("log10(S/m)", -3.5, -3.5),
])
def test_conductivity_units(unit, raw, expected):
    got = to_task_units(np.array([raw, np.nan]), "log10_sigma", unit, str, "f.csv")
    assert got[0] == pytest.approx(expected) and math.isnan(got[1])


@pytest.mark.parametrize("unit, raw, expected", [
    ("cm2/s", 1e-7, math.log10(1e-3)), ("cm^2/s", 1e-7, math.log10(1e-3)), ("m2/s", 1e-11, math.log10(1e-3)),
    ("A2/ps", 1e-3, -3.0), ("Å^2/ps", 1e-3, -3.0), ("log10(cm2/s)", -7.0, -3.0),
])
def test_diffusion_units(unit, raw, expected):
    assert to_task_units(np.array([raw]), "log10_D_Li", unit, str, "f.csv")[0] == pytest.approx(expected)


def test_implausible_values_are_refused():
    where = lambda k: f"row {k + 1} (id 'p{k}')"  # noqa: E731
    with pytest.raises(ValueError, match=r"row 2 \(id 'p1'\) of 'f.csv' is -1 S/cm; a conductivity must be > 0"):
        to_task_units(np.array([1e-4, -1.0]), "log10_sigma", "S/cm", where, "f.csv")
    with pytest.raises(ValueError, match=r"Every value of 'f.csv' lies in \(0, 1\).*units='S/cm'"):
        to_task_units(np.array([1e-4, 2e-4, 3e-5]), "log10_sigma", "log10(S/cm)", where, "f.csv")
    with pytest.raises(ValueError, match=r"row 1 \(id 'p0'\).* above 1e-2 cm2/s"):
        to_task_units(np.array([0.5, -7.0]), "log10_D_Li", "log10(cm2/s)", where, "f.csv")
    with pytest.raises(ValueError, match=r"declared in 'S/cm' \(a conductivity\) but task 'log10_D_anion' is a "
                                         r"diffusion"):
        to_task_units(np.array([1e-4]), "log10_D_anion", "S/cm", where, "f.csv")
    with pytest.raises(ValueError, match=r"Unknown value unit 'S/inch'"):
        parse_unit("S/inch")
    with pytest.raises(ValueError, match=r"--units S/cm is a conductivity unit, but none of the tasks"):
        units_by_task(["S/cm"], ["log10_D_Li"])
    assert units_by_task(["S/cm", "cm2/s", "log10_D_Li=log10(cm2/s)"], ["log10_sigma", "log10_D_Li",
                                                                         "log10_D_anion"]) == {
        "log10_sigma": "S/cm", "log10_D_Li": "log10(cm2/s)", "log10_D_anion": "cm2/s"}


@pytest.mark.parametrize("smiles, expected", [
    ("[Cu]CCO[Au]", "*CCO*"), ("O=C([Au])OCCO[Cu]", "O=C(*)OCCO*"), ("[*]CCO[*]", "*CCO*"), ("*CCO*", "*CCO*"),
])
def test_attachment_points(smiles, expected):
    assert normalise_attachments(smiles) == expected


def test_named_attachment_pair_and_wrong_counts(tmp_path):
    assert normalise_attachments("[Ge]CCO[Sn]", ("[Ge]", "[Sn]")) == "*CCO*"
    for n, smi in ((0, "CCO"), (1, "[Au]CCO"), (3, "[Cu]C([Au])CO[Au]")):
        with pytest.raises(ValueError, match=rf"SMILES .* of row 4 \(id 'x'\) has {n} attachment point"):
            normalise_attachments(smi, where="row 4 (id 'x')")


def test_headerless_published_file(tmp_path):
    f = _rows(tmp_path / "test.csv", [("9-0-1-0", "CCC(CC)(COC(=O)[Au])N[Cu]", "8.776e-06"),
                                      ("9-0-2-0", "O=C([Au])OCCO[Cu]", "1.2e-04")])
    ids, smiles, values = read_property_csv(f, task="log10_sigma", units="S/cm")
    assert ids == ["9-0-1-0", "9-0-2-0"] and smiles == ["CCC(CC)(COC(=O)*)N*", "O=C(*)OCCO*"]
    np.testing.assert_allclose(values, np.log10([8.776e-06 * 100, 1.2e-04 * 100]))
    # without units the values would be taken as log10(S/m): refused, they are raw
    _rows(tmp_path / "three.csv", [("a", "*C*", "1e-5"), ("b", "*CC*", "2e-5"), ("c", "*CCC*", "3e-5")])
    with pytest.raises(ValueError, match="look like raw values"):
        read_property_csv(tmp_path / "three.csv", task="log10_sigma")
    with pytest.raises(ValueError, match="no header and 2 fields"):
        read_property_csv(_rows(tmp_path / "two.csv", [("a", "*C*")]))


def _layout(root, n_folds=3):
    """conductivity/50ns/cv_K.csv, test.csv and conductivity/5ns/*.csv, headerless, S/cm."""
    rng = np.random.default_rng(0)
    units = ["CCO", "CCCO", "CCN", "CCCS", "COCO", "CCCCO", "CNCS", "CCCCN"]
    ids = [f"9-0-{k}-0" for k in range(len(units))]
    sm = [f"[Cu]{u}[Au]" for u in units]
    hi = 10 ** rng.uniform(-5, -4, len(units))
    folders = {f: root / "conductivity" / f for f in ("50ns", "5ns")}
    for f in folders.values():
        f.mkdir(parents=True)
    for k in range(n_folds):
        _rows(folders["50ns"] / f"cv_{k}.csv", [(ids[i], sm[i], hi[i]) for i in (2 * k, 2 * k + 1)])
    _rows(folders["50ns"] / "test.csv", [(ids[i], sm[i], hi[i]) for i in (6, 7)])
    _rows(folders["5ns"] / "cv_0.csv", [(ids[i], sm[i], 3 * hi[i]) for i in range(5)])
    _rows(folders["5ns"] / "test.csv", [(ids[i], sm[i], 3 * hi[i]) for i in range(5, 8)])
    return ids, hi


def test_polymernet_layout_gives_its_split(tmp_path):
    ids, hi = _layout(tmp_path)
    s = read_polymernet(tmp_path, "conductivity", split=1)
    assert s.validation.ids == (ids[2], ids[3]) and s.test.ids == (ids[6], ids[7])
    assert set(s.train.ids) == {ids[0], ids[1], ids[4], ids[5]} and s.train.tasks == ("log10_sigma",)
    np.testing.assert_allclose(s.validation.high[:, 0], np.log10(hi[2:4] * 100))
    np.testing.assert_allclose(s.test.low[:, 0], np.log10(3 * hi[6:8] * 100))  # fed as the measured short run
    assert s.train.graphs[0] == "*CCO*"
    with pytest.raises(ValueError, match=r"No fold file 'cv_7.csv'.*folds found: \[0, 1, 2\]"):
        read_polymernet(tmp_path, "conductivity", split=7)
    with pytest.raises(ValueError, match="give its 'task' and 'units'"):
        read_polymernet(tmp_path, "viscosity")


def test_polymernet_short_runs_follow_the_authors_split(tmp_path):
    # polymers with only a short run move with their 5-ns file (cv_1 validates, test.csv tests); pred.csv,
    # the screening candidates with one placeholder value, is not read
    ids, hi = _layout(tmp_path)
    five = tmp_path / "conductivity" / "5ns"
    _rows(five / "cv_1.csv", [("s-val", "[Cu]CCOCC[Au]", "2e-4")])
    _rows(five / "test.csv", [(ids[k], f"[Cu]{u}[Au]", f"{float(3 * hi[k])!r}") for k, u in ((5, "CCCCO"), (6, "CNCS"),
                                                                                            (7, "CCCCN"))]
          + [("s-test", "[Cu]CCSCC[Au]", "3e-4")])
    _rows(five / "cv_2.csv", [("s-train", "[Cu]CCNCC[Au]", "1e-4")])
    _rows(five / "pred.csv", [(i, "[Cu]CC[Au]", "1e-05") for i in [*ids, "s-val", "s-train", "new"]])
    s = read_polymernet(tmp_path, "conductivity", split=1)
    assert s.validation.ids == (ids[2], ids[3], "s-val") and s.test.ids == (ids[6], ids[7], "s-test")
    assert set(s.train.ids) == {ids[0], ids[1], ids[4], ids[5], "s-train"}
    np.testing.assert_allclose(s.validation.low[2, 0], math.log10(2e-4 * 100))
    assert np.isnan(s.validation.high[2, 0]) and np.isnan(s.test.high[2, 0])
    # a polymer with a long run keeps its long run's role (ids[5] trains though its 5-ns value is in test.csv)
    np.testing.assert_allclose(s.train.low[s.train.ids.index(ids[5]), 0], math.log10(3 * hi[5] * 100))


def test_split_leaks_are_refused(tmp_path):
    a = _rows(tmp_path / "a.csv", [("p1", "*CCO*", "-3"), ("p2", "*CCN*", "-4"), ("p3", "*CCS*", "-3.5")])
    t = _rows(tmp_path / "t.csv", [("p2", "*CCN*", "-4")])
    with pytest.raises(ValueError, match=r"Id 'p2' of the test file '.*t.csv' \(task 'log10_sigma'\) also has a "
                                         r"training label in '.*a.csv'"):
        split_from_csvs({"log10_sigma": a}, test={"log10_sigma": t})
    with pytest.raises(ValueError, match="would learn this polymer through the shared trunk"):
        split_from_csvs({"log10_D_Li": a}, test={"log10_sigma": t})
    v = _rows(tmp_path / "v.csv", [("p9", "*CCCO*", "")])
    with pytest.raises(ValueError, match=r"validation file\(s\) .* hold no long-run label"):
        split_from_csvs({"log10_sigma": a}, validation={"log10_sigma": v})
    v2 = _rows(tmp_path / "v2.csv", [("p9", "*CCCO*", "-3")])
    t2 = _rows(tmp_path / "t2.csv", [("p9", "*CCCO*", "-3")])
    with pytest.raises(ValueError, match="must not overlap"):
        split_from_csvs({"log10_sigma": a}, validation={"log10_sigma": v2}, test={"log10_sigma": t2})


def test_scores_match_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y = rng.normal(size=40)
    p = y + rng.normal(0, 0.3, size=40)
    std = np.full(40, 0.3)
    y[5] = np.nan  # skipped
    s = score_values(p, y, std, task="log10_sigma", n_boot=300, seed=1)
    ok = np.isfinite(y)
    assert s.n == 39
    assert s.mae == pytest.approx(metrics.mean_absolute_error(y[ok], p[ok]))
    assert s.rmse == pytest.approx(np.sqrt(metrics.mean_squared_error(y[ok], p[ok])))
    assert s.r2 == pytest.approx(metrics.r2_score(y[ok], p[ok]))
    assert s.z_rms == pytest.approx(np.sqrt(np.mean(((p[ok] - y[ok]) / 0.3) ** 2)))
    for m in ("mae", "rmse", "r2"):
        lo, hi = s.interval[m]
        assert lo < getattr(s, m) < hi


def test_score_prediction_matches_ids_and_refuses_unpredicted_rows(tmp_path):
    from trajml.extrapolation.readers import read_prediction_csv, table_from_csvs
    from trajml.extrapolation.scores import score_prediction

    (tmp_path / "pred.csv").write_text("# trajml provenance\nid,log10_sigma,log10_sigma_std,log10_sigma_short\n"
                                       "b,-2.5,0.1,-2.0\na,-3.0,0.2,-2.6\nc,-4.0,0.1,\n")
    labels = table_from_csvs({"log10_sigma": _rows(tmp_path / "l.csv", [("a", "[Cu]CO[Au]", "1e-5"),
                                                                         ("b", "[Cu]CN[Au]", "3e-5")])},
                             units={"log10_sigma": "S/cm"})
    pred = read_prediction_csv(tmp_path / "pred.csv")
    (s,) = score_prediction(pred, labels, n_boot=0)
    truth = np.log10(np.array([1e-5, 3e-5]) * 100)
    assert s.n == 2 and s.mae == pytest.approx(np.mean(np.abs(np.array([-3.0, -2.5]) - truth)))
    assert s.z_rms == pytest.approx(np.sqrt(np.mean(((np.array([-3.0, -2.5]) - truth) / [0.2, 0.1]) ** 2)))
    extra = table_from_csvs({"log10_sigma": _rows(tmp_path / "m.csv", [("z", "*CO*", "-3")])})
    with pytest.raises(ValueError, match=r"1 id\(s\) of the labels have no prediction, e.g. \['z'\]"):
        score_prediction(pred, extra, source="the labels")
