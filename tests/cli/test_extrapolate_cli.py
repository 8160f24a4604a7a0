"""``trajml extrapolate``: train on CSVs in the published id,smiles,value layout, then screen candidates."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

pytest.importorskip("rdkit")
pytest.importorskip("torch_geometric")

from trajml.cli import main  # noqa: E402

UNITS = ["*CCO*", "*CCCO*", "*CCN*", "*CCCS*", "*COCO*", "*CCCCO*", "*CNCS*", "*CCCCN*", "*COCCO*", "*CSCCN*",
         "*CCCCC*", "*CNCCO*"]


def _hetero(smiles: str) -> int:
    return sum(ch in "NOS" for ch in smiles)


@pytest.fixture()
def dataset(tmp_path):
    """Published layout: one id,smiles,value file per property and fidelity, plus a features file.

    Long-run log10 D = short-run log10 D - 0.15 * heteroatoms (values as log10 of Å^2/ps)."""
    rng = np.random.default_rng(0)
    rows = []
    for k, smi in enumerate(UNITS):
        for t in (300.0, 400.0):
            low = 0.1 * len(smi) - 500.0 / t + rng.normal(0, 0.01)
            rows.append((f"c{k}_{int(t)}", smi, t, low, low - 0.15 * _hetero(smi)))
    with open(tmp_path / "low.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "smiles", "value"])
        w.writerows([(i, s, f"{lo:.6f}") for i, s, _, lo, _ in rows])
    with open(tmp_path / "high.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "smiles", "value"])
        w.writerows([(i, s, f"{hi:.6f}") for n, (i, s, _, _, hi) in enumerate(rows) if n % 3 != 2])  # few long runs
    with open(tmp_path / "features.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "temperature"])
        w.writerows([(i, t) for i, _, t, _, _ in rows])
    return tmp_path


def test_train_cross_validate_and_predict(dataset, capsys):
    d = dataset
    rc = main(["extrapolate", "train", "--high", f"log10_D_Li={d / 'high.csv'}", "--low", f"log10_D_Li={d / 'low.csv'}",
               "--features", str(d / "features.csv"), "--epochs", "40", "--hidden", "16", "--layers", "2",
               "--ensemble", "2", "--batch-size", "16", "--validation-fraction", "0", "--cv", "3",
               "--correction-prior", "10",
               "--cv-output", str(d / "cv.json"), "-o", str(d / "model.npz")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "3-fold cross-validation" in out and "linear" in out and (d / "model.npz").exists()
    with np.load(d / "model.npz") as model_file:
        assert json.loads(str(model_file["provenance"]))["parameters"]["cv"] == 3
    cv = json.loads((d / "cv.json").read_text())
    assert set(cv["mae"]) == {"model", "short_run", "linear"} and cv["tasks"] == ["log10_D_Li"]

    # the same data as one wide table, with the random-forest baseline in the cross-validation
    from trajml.extrapolation.readers import table_from_csvs, write_table_csv

    pytest.importorskip("sklearn")
    write_table_csv(table_from_csvs({"log10_D_Li": d / "high.csv"}, {"log10_D_Li": d / "low.csv"},
                                    features=d / "features.csv"), str(d / "table.csv"))
    assert main(["extrapolate", "train", "--table", str(d / "table.csv"), "--epochs", "5", "--ensemble", "1",
                 "--cv", "2", "--cv-forest", "--cv-output", str(d / "cv2.json"), "-o", str(d / "model2.npz")]) == 0
    assert set(json.loads((d / "cv2.json").read_text())["mae"]) == {"model", "short_run", "linear", "forest"}

    (d / "cand.csv").write_text("id,smiles,temperature\nnew1,*CCCOC*,350\nnew2,*CSC*,320\n")
    assert main(["extrapolate", "predict", str(d / "model.npz"), str(d / "cand.csv"), "-o", str(d / "pred.csv")]) == 0
    with open(d / "pred.csv", newline="") as fh:
        assert fh.readline().startswith("# trajml ")  # the provenance line, then the columns
        pred = list(csv.DictReader(fh))
    assert [r["id"] for r in pred] == ["new1", "new2"]
    assert set(pred[0]) == {"id", "log10_D_Li", "log10_D_Li_std", "log10_D_Li_short", "log10_D_Li_beyond_range"}
    assert all(float(r["log10_D_Li_beyond_range"]) >= 0.0 for r in pred)
    assert all(np.isfinite(float(r["log10_D_Li"])) and float(r["log10_D_Li_std"]) > 0 for r in pred)


def test_predict_bad_candidates(dataset, capsys):
    d = dataset
    assert main(["extrapolate", "train", "--high", f"log10_D_Li={d / 'high.csv'}", "--low",
                 f"log10_D_Li={d / 'low.csv'}", "--features", str(d / "features.csv"), "--epochs", "2",
                 "--hidden", "8", "--ensemble", "1", "-o", str(d / "m.npz")]) == 0
    capsys.readouterr()
    (d / "nofeat.csv").write_text("id,smiles,salt\nz1,*CCO*,1.0\n")
    assert main(["extrapolate", "predict", str(d / "m.npz"), str(d / "nofeat.csv"), "-o", str(d / "p.csv")]) == 1
    err = capsys.readouterr().err
    assert "trained with the descriptors ['temperature']" in err and "not trained with ['salt']" in err
    (d / "badsmiles.csv").write_text("id,smiles,temperature\nz1,*CCO*,300\nz2,*CC(O*,300\n")
    assert main(["extrapolate", "predict", str(d / "m.npz"), str(d / "badsmiles.csv"), "-o", str(d / "p.csv")]) == 1
    assert "Invalid SMILES '*CC(O*' (row 2, id 'z2')" in capsys.readouterr().err
    assert not (d / "p.csv").exists()


def test_train_refuses_constant_targets_and_missing_input(tmp_path, capsys):
    (tmp_path / "h.csv").write_text("id,smiles,value\na,*CCO*,-2\nb,*CCN*,-2\nc,*CCS*,-2\n")
    assert main(["extrapolate", "train", "--high", f"log10_sigma={tmp_path / 'h.csv'}", "--epochs", "1",
                 "-o", str(tmp_path / "m.npz")]) == 1
    assert "labels of task 'log10_sigma' are constant" in capsys.readouterr().err
    assert main(["extrapolate", "train", "-o", str(tmp_path / "m.npz")]) == 1
    assert "give one of --table, --polymernet DIR --property NAME, or one or more --high" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["extrapolate", "train", "--high", "log10_speed=x.csv", "-o", "m.npz"])
    for bad in ("-1", "sometimes", "nan"):
        with pytest.raises(SystemExit):
            main(["extrapolate", "train", "--high", f"log10_sigma={tmp_path / 'h.csv'}", "--correction-prior", bad,
                  "-o", "m.npz"])
    assert "must be 'auto' or a float >= 0" in capsys.readouterr().err


def test_table_from_pipeline_summaries(tmp_path, capsys):
    (tmp_path / "short.csv").write_text(
        "system,smiles,temperature,msd.D [Å^2/ps],transport.sigma [mS/cm]\n"
        "peo,*CCO*,350,0.01,1.0\nppo,*CC(C)O*,350,0.02,2.0\n", encoding="utf-8")
    (tmp_path / "long.csv").write_text(
        "system,smiles,temperature,msd.D [Å^2/ps],transport.sigma [mS/cm]\npeo,*CCO*,350,0.001,0.1\n",
        encoding="utf-8")
    assert main(["extrapolate", "table", str(tmp_path / "short.csv"), str(tmp_path / "long.csv"),
                 "-o", str(tmp_path / "t.csv")]) == 0
    assert "wrote 2 systems" in capsys.readouterr().out
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as fh:
        assert fh.readline().startswith("# trajml ")  # the provenance line, then the columns
        rows = list(csv.DictReader(fh))
    from trajml.extrapolation.readers import read_table_csv

    assert read_table_csv(tmp_path / "t.csv").ids == ("peo", "ppo")  # trajml reads its own file back
    assert float(rows[0]["high:log10_sigma"]) == pytest.approx(-2.0)   # 0.1 mS/cm = 0.01 S/m
    assert float(rows[0]["low:log10_D_Li"]) == pytest.approx(-2.0) and rows[1]["high:log10_D_Li"] == ""
