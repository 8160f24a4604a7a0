"""``trajml extrapolate`` on data as Xie et al. (2022) publish it: headerless ``id,smiles,value`` files,
``[Cu]``/``[Au]`` attachment points, σ in S/cm and D in cm²/s, predefined validation and test files.
Train, predict and evaluate with no conversion by hand; every score is checked against NumPy and
scikit-learn on the raw published numbers."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

pytest.importorskip("rdkit")
pytest.importorskip("torch_geometric")

from trajml.cli import main  # noqa: E402

UNITS = ["CCO", "CCCO", "CCN", "CCCS", "COCO", "CCCCO", "CNCS", "CCCCN", "COCCO", "CSCCN", "CCCCC", "CNCCO",
         "CCOCN", "CCSCO"]


def _hetero(unit: str) -> int:
    return sum(ch in "NOS" for ch in unit)


def _write(path, rows):
    """Headerless, as published."""
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture()
def published(tmp_path):
    """Short and long runs of σ (S/cm) and D_Li (cm²/s); long = short · 10^(-0.15 h) (h: heteroatoms).

    Rows 0-1 test, rows 2-3 validate, the rest train (long-run labels); every row has short runs."""
    rng = np.random.default_rng(1)
    rows = []
    for k, unit in enumerate(UNITS):
        h = _hetero(unit)
        s_short = 10 ** (-4.0 + 0.05 * len(unit) + rng.normal(0, 0.01))      # S/cm
        d_short = 10 ** (-7.0 + 0.04 * len(unit) + rng.normal(0, 0.01))      # cm²/s
        rows.append((f"9-0-{k}-0", f"[Cu]{unit}[Au]", s_short, s_short * 10 ** (-0.15 * h),
                     d_short, d_short * 10 ** (-0.15 * h)))
    d = tmp_path
    part = {"test": rows[:2], "val": rows[2:4], "train": rows[4:]}
    for name, chosen in part.items():
        _write(d / f"sigma_{name}.csv", [(i, s, f"{hs!r}") for i, s, _, hs, _, _ in chosen])
        _write(d / f"d_{name}.csv", [(i, s, f"{hd!r}") for i, s, _, _, _, hd in chosen])
    _write(d / "sigma_5ns.csv", [(i, s, f"{ls!r}") for i, s, ls, _, _, _ in rows])
    _write(d / "d_5ns.csv", [(i, s, f"{ld!r}") for i, s, _, _, ld, _ in rows])
    return d, rows


def _train_args(d, units=("S/cm", "cm2/s")):
    return ["extrapolate", "train", "--high", f"log10_sigma={d / 'sigma_train.csv'}",
            "--high", f"log10_D_Li={d / 'd_train.csv'}", "--low", f"log10_sigma={d / 'sigma_5ns.csv'}",
            "--low", f"log10_D_Li={d / 'd_5ns.csv'}", "--validation", f"log10_sigma={d / 'sigma_val.csv'}",
            "--validation", f"log10_D_Li={d / 'd_val.csv'}", "--test", f"log10_sigma={d / 'sigma_test.csv'}",
            "--test", f"log10_D_Li={d / 'd_test.csv'}", *(a for u in units for a in ("--units", u)),
            "--epochs", "8", "--hidden", "8", "--n-layers", "1", "--n-models", "2", "--batch-size", "8",
            "--correction-prior", "10"]


def test_train_predict_evaluate_published_layout(published, capsys):
    d, rows = published
    rc = main([*_train_args(d), "--test-output", str(d / "test_pred.csv"), "-o", str(d / "model.npz")])
    captured = capsys.readouterr()
    out = captured.out
    assert rc == 0, out
    assert "MultitaskExtrapolator member 2/2" in captured.err  # progress: plain timestamped lines off a terminal
    assert "predicted std calibrated on out-of-member residuals (2 folds)" in out  # the default, cross-fit
    assert "early stopping on 2 validation systems" in out and "scores against the 2 test systems" in out
    from trajml.extrapolation.deep import MultitaskModel

    prov = MultitaskModel.load(d / "model.npz").provenance
    assert prov["n_rows"] == len(rows) - 4 and prov["n_validation_rows"] == 2  # held-out rows never train

    # candidates: the test polymers with their measured 5-ns values, as the wide table predict reads
    with open(d / "cand.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "smiles", "low:log10_sigma", "low:log10_D_Li"])
        w.writerows([(i, s.replace("[Cu]", "*").replace("[Au]", "*"), np.log10(ls * 100), np.log10(ld * 1e4))
                     for i, s, ls, _, ld, _ in rows[:2]])
    assert main(["extrapolate", "predict", str(d / "model.npz"), str(d / "cand.csv"), "-o", str(d / "pred.csv"),
                 "--labels", f"log10_sigma={d / 'sigma_test.csv'}", "--units", "S/cm"]) == 0
    assert "scores against the labels given" in capsys.readouterr().out

    assert main(["extrapolate", "evaluate", str(d / "pred.csv"), "--high", f"log10_sigma={d / 'sigma_test.csv'}",
                 "--high", f"log10_D_Li={d / 'd_test.csv'}", "--units", "S/cm", "--units", "cm2/s",
                 "--bootstrap", "200", "--scores", str(d / "scores.json")]) == 0
    scores = {(s["task"], s["fidelity"]): s for s in json.loads((d / "scores.json").read_text())["scores"]}
    with open(d / "pred.csv", newline="") as fh:
        fh.readline()
        pred = {r["id"]: r for r in csv.DictReader(fh)}
    # oracle: the published raw numbers converted here with NumPy (S/cm -> S/m is x100, cm^2/s -> Å^2/ps x1e4)
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    for task, col, factor in (("log10_sigma", 3, 100.0), ("log10_D_Li", 5, 1e4)):
        truth = np.log10([r[col] * factor for r in rows[:2]])
        p = np.array([float(pred[r[0]][task]) for r in rows[:2]])
        s = scores[(task, "high")]
        assert s["n"] == 2 and s["unit"].startswith("log10(")
        assert s["mae"] == pytest.approx(mean_absolute_error(truth, p))
        assert s["rmse"] == pytest.approx(np.sqrt(mean_squared_error(truth, p)))
        assert s["r2"] == pytest.approx(r2_score(truth, p))
        lo, hi = s["interval"]["mae"]
        assert lo <= s["mae"] <= hi
        std = np.array([float(pred[r[0]][f"{task}_std"]) for r in rows[:2]])
        assert s["z_rms"] == pytest.approx(np.sqrt(np.mean(((p - truth) / std) ** 2)))


def test_published_bad_input(published, capsys):
    d, rows = published
    base = _train_args(d) + ["-o", str(d / "m.npz")]

    def fails(args, match):
        assert main(args) == 1
        err = capsys.readouterr().err
        assert match in err, err
        return err

    # raw S/cm values without --units: refused as implausible logarithms
    fails([*_train_args(d, units=("cm2/s",)), "-o", "x"], "look like raw values, not logarithms")
    # a unit of the wrong quantity for the task
    fails([*_train_args(d, units=("log10_sigma=cm2/s", "cm2/s")), "-o", "x"],
          "declared in 'cm2/s' (a diffusion) but task 'log10_sigma' is a conductivity; declare the file's unit, "
          "e.g. --units S/cm")
    # a value that is not a number names the file, row and id
    _write(d / "bad_value.csv", [("a1", "[Cu]CCO[Au]", "1e-5"), ("a2", "[Cu]CCN[Au]", "fast")])
    fails([*base[:-2], "--high", f"log10_sigma={d / 'bad_value.csv'}", "-o", "x"],
          "row 2 (id 'a2') of '" + str(d / "bad_value.csv") + "' is 'fast', not a number")
    # attachment points: zero, one and three, each naming the row and the id
    for n, smi in ((0, "CCO"), (1, "[Cu]CCO"), (3, "[Cu]CC([Au])O[Au]")):
        _write(d / "bad_smiles.csv", [("a1", "[Cu]CCO[Au]", "1e-5"), ("a2", smi, "2e-5")])
        err = fails([*base[:-2], "--high", f"log10_sigma={d / 'bad_smiles.csv'}", "-o", "x"],
                    f"of row 2 (id 'a2') of '{d / 'bad_smiles.csv'}' has {n} attachment point(s)")
        assert "name another pair with --attachments '[Ge],[Sn]'" in err
    # a test file sharing an id with the training labels
    _write(d / "leaky_test.csv", [(rows[0][0], rows[0][1], "1e-5"), (rows[5][0], rows[5][1], "2e-5")])
    fails([*[a if a != f"log10_sigma={d / 'sigma_test.csv'}" else f"log10_sigma={d / 'leaky_test.csv'}"
             for a in base]], f"Id '{rows[5][0]}' of the test file")
    # a validation set without long-run labels
    _write(d / "empty_val.csv", [(rows[2][0], rows[2][1], ""), (rows[3][0], rows[3][1], "")])
    fails([a if a != f"log10_sigma={d / 'sigma_val.csv'}" else f"log10_sigma={d / 'empty_val.csv'}" for a in base],
          "hold no long-run label")
    # joint training: a σ test polymer that trains D_Li
    _write(d / "d_train_leak.csv", [(i, s, f"{hd!r}") for i, s, _, _, _, hd in rows[4:] + rows[:1]])
    fails([a if a != f"log10_D_Li={d / 'd_train.csv'}" else f"log10_D_Li={d / 'd_train_leak.csv'}" for a in base],
          "would learn this polymer through the shared trunk")


def test_predict_refuses_a_constant_short_run_column(published, capsys):
    d, rows = published
    assert main([*_train_args(d)[:2], "--high", f"log10_sigma={d / 'sigma_train.csv'}", "--low",
                 f"log10_sigma={d / 'sigma_5ns.csv'}", "--units", "S/cm", "--epochs", "2", "--hidden", "4",
                 "--n-models", "1", "--correction-prior", "10", "-o", str(d / "m.npz")]) == 0
    (d / "cand.csv").write_text("id,smiles,low:log10_sigma\nn1,*CCO*,0\nn2,*CCN*,0\nn3,*CCS*,\n")
    capsys.readouterr()
    assert main(["extrapolate", "predict", str(d / "m.npz"), str(d / "cand.csv"), "-o", str(d / "p.csv")]) == 1
    err = capsys.readouterr().err
    assert f"Column 'low:log10_sigma' of '{d / 'cand.csv'}' is 0 in all 2 rows" in err and "placeholder" in err
    assert not (d / "p.csv").exists()


def test_train_on_the_polymernet_layout(published, capsys):
    d, rows = published
    root = d / "data" / "conductivity"
    (root / "50ns").mkdir(parents=True)
    (root / "5ns").mkdir()
    for k in range(3):  # cv_0..2 of 50-ns labels, 2 rows each after the 2 test rows
        _write(root / "50ns" / f"cv_{k}.csv", [(i, s, f"{hs!r}") for i, s, _, hs, _, _ in rows[2 + 4 * k: 6 + 4 * k]])
    _write(root / "50ns" / "test.csv", [(i, s, f"{hs!r}") for i, s, _, hs, _, _ in rows[:2]])
    _write(root / "5ns" / "all.csv", [(i, s, f"{ls!r}") for i, s, ls, _, _, _ in rows])
    assert main(["extrapolate", "train", "--polymernet", str(d / "data"), "--property", "conductivity", "--split", "1",
                 "--epochs", "3", "--hidden", "4", "--n-models", "2", "--correction-prior", "10", "--quiet",
                 "-o", str(d / "m.npz")]) == 0
    out = capsys.readouterr()
    assert "on 8 systems (early stopping on 4 validation systems)" in out.out
    assert "scores against the 2 test systems" in out.out and "log10_sigma      high" in out.out
    assert "weight of a measured short run against the low-fidelity prediction" in out.out
    # the calibration chosen: cross-fitted members (one fold left out per member), per input
    assert "predicted std calibrated on out-of-member residuals (2 folds)" in out.out
    assert "measured short run: log10_sigma a=" in out.out and "predicted short run: log10_sigma a=" in out.out
    assert "member" not in out.err  # --quiet


def test_predict_reads_a_published_candidates_file(published, capsys):
    # the authors' screening file: headerless id,smiles,value with one placeholder value (S/cm) in every row
    d, rows = published
    assert main([*_train_args(d)[:2], "--high", f"log10_sigma={d / 'sigma_train.csv'}", "--low",
                 f"log10_sigma={d / 'sigma_5ns.csv'}", "--units", "S/cm", "--epochs", "2", "--hidden", "4",
                 "--n-models", "1", "--correction-prior", "10", "--quiet", "-o", str(d / "m.npz")]) == 0
    _write(d / "pred.csv", [(i, s, "1e-05") for i, s, *_ in rows])
    capsys.readouterr()
    args = ["extrapolate", "predict", str(d / "m.npz"), str(d / "pred.csv"), "--units", "S/cm"]
    assert main([*args, "-o", str(d / "p.csv")]) == 1
    err = capsys.readouterr().err
    assert f"Column 'low:log10_sigma' of '{d / 'pred.csv'}' is -3 in all {len(rows)} rows" in err
    assert "placeholder" in err and "or give --no-short-run" in err
    assert main([*args, "--no-short-run", "-o", str(d / "p.csv")]) == 0
    # the same as a wide table without short-run values (oracle: the model's own graph-only prediction)
    (d / "wide.csv").write_text("id,smiles\n" + "".join(f"{i},{s.replace('[Cu]', '*').replace('[Au]', '*')}\n"
                                                         for i, s, *_ in rows))
    assert main(["extrapolate", "predict", str(d / "m.npz"), str(d / "wide.csv"), "-o", str(d / "w.csv")]) == 0
    got = {r["id"]: r for r in csv.DictReader(line for line in open(d / "p.csv") if not line.startswith("#"))}
    ref = {r["id"]: r for r in csv.DictReader(line for line in open(d / "w.csv") if not line.startswith("#"))}
    assert list(got) == [r[0] for r in rows]
    for i in got:
        assert float(got[i]["log10_sigma"]) == pytest.approx(float(ref[i]["log10_sigma"]), rel=1e-9)
    # measured short runs in S/cm are converted (log10 of S/m) and fed: the prediction changes with them
    _write(d / "measured.csv", [(i, s, f"{ls!r}") for i, s, ls, *_ in rows])
    assert main([*args[:3], str(d / "measured.csv"), "--units", "S/cm", "-o", str(d / "m.csv")]) == 0
    fed = {r["id"]: r for r in csv.DictReader(line for line in open(d / "m.csv") if not line.startswith("#"))}
    assert any(abs(float(fed[i]["log10_sigma"]) - float(ref[i]["log10_sigma"])) > 1e-6 for i in fed)
    # a published file for a model of two tasks names the fix
    assert main([*_train_args(d), "--epochs", "2", "--hidden", "4", "--n-models", "1", "--correction-prior", "10",
                 "--quiet", "-o", str(d / "m2.npz")]) == 0
    capsys.readouterr()
    assert main(["extrapolate", "predict", str(d / "m2.npz"), str(d / "pred.csv"), "-o", str(d / "q.csv")]) == 1
    assert "Write a table with 'id,smiles,low:TASK' columns instead" in capsys.readouterr().err
