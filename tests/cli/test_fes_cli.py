"""``trajml fes``: the .npz equals the Python API; bad input is named; nothing half-written is left."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trajml.cli import main
from trajml.fes import GaussianProcessFES, HistogramFES, KernelDensityFES


@pytest.fixture(scope="module")
def cvs(tmp_path_factory):
    rng = np.random.default_rng(12)
    x = np.concatenate([rng.normal(size=(3000, 2)) * 0.3 + [2.0, 3.0], rng.normal(size=(2000, 2)) * 0.3 + [3.0, 3.5]])
    folder = tmp_path_factory.mktemp("fes")
    np.save(folder / "cvs.npy", x)
    np.savetxt(folder / "cvs.csv", x, delimiter=",", header="cn_LiO,d_LiTFSI", comments="")
    w = rng.uniform(0.5, 1.5, size=len(x))
    np.save(folder / "w.npy", w)
    return folder, x, w


def test_histogram_npz_equals_api(cvs, tmp_path, capsys):
    folder, x, w = cvs
    out = tmp_path / "fes.npz"
    assert main(["fes", str(folder / "cvs.npy"), "--method", "hist", "--temperature", "350", "--bins", "20", "25",
                 "--weights", str(folder / "w.npy"), "-o", str(out)]) == 0
    ref = HistogramFES(temperature=350.0, bins=(20, 25)).fit(x, weights=w).fetch_model()
    with np.load(out) as d:
        np.testing.assert_array_equal(d["free_energy_kJmol"], ref.free_energy_kJmol)
        np.testing.assert_array_equal(d["uncertainty_kJmol"], ref.uncertainty_kJmol)
        np.testing.assert_allclose(d["free_energy_kT"], ref.free_energy_kT)
        np.testing.assert_array_equal(d["axis_0"], ref.axes[0])
        np.testing.assert_array_equal(d["edges_1"], ref.edges[1])
        assert str(d["method"]) == "hist" and float(d["temperature_K"]) == 350.0
        units = json.loads(str(d["units"]))
        assert units["free_energy_kJmol"] == "kJ/mol" and units["free_energy_kT"] == "kT"
    assert "minimum 0" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fes-")]  # no temporary left behind


def test_csv_with_header_gp_and_plot(cvs, tmp_path):
    folder, x, _ = cvs
    out, png = tmp_path / "gp.npz", tmp_path / "gp.png"
    assert main(["fes", str(folder / "cvs.csv"), "--method", "gp", "--temperature", "300", "--bins", "30",
                 "--cv-units", "mixed", "--range", "0", "5", "--range", "1.5", "5", "-o", str(out),
                 "--plot", str(png)]) == 0
    ref = GaussianProcessFES(temperature=300.0, bins=30, ranges=[(0, 5), (1.5, 5)], cv_units="mixed",
                             seed=0).fit(x).fetch_model()
    with np.load(out) as d:
        np.testing.assert_allclose(d["free_energy_kJmol"], ref.free_energy_kJmol, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(d["uncertainty_kJmol"], ref.uncertainty_kJmol, rtol=1e-8, atol=1e-8)
        assert list(d["cv_names"]) == ["cn_LiO", "d_LiTFSI"] and str(d["cv_units"]) == "mixed"
        assert d["minima"].shape[1] == 2
    assert png.stat().st_size > 5000


def test_one_column_kde(cvs, tmp_path):
    folder, x, _ = cvs
    out = tmp_path / "kde.npz"
    assert main(["fes", str(folder / "cvs.csv"), "--method", "kde", "--columns", "1", "--temperature", "300",
                 "--bandwidth", "0.1", "-o", str(out)]) == 0
    ref = KernelDensityFES(temperature=300.0, bandwidth=0.1).fit(x[:, 1]).fetch_model()
    with np.load(out) as d:
        np.testing.assert_allclose(d["free_energy_kJmol"], ref.free_energy_kJmol, rtol=1e-10)
        assert list(d["cv_names"]) == ["d_LiTFSI"]


def test_nan_in_csv_is_named_and_nothing_is_written(cvs, tmp_path, capsys):
    folder, x, _ = cvs
    bad = x.copy()
    bad[7, 0] = np.nan
    src = tmp_path / "bad.csv"
    np.savetxt(src, bad, delimiter=",")
    out = tmp_path / "out.npz"
    assert main(["fes", str(src), "--method", "hist", "--temperature", "300", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "trajml fes: error:" in err and "must be finite" in err and "row 7, CV 0" in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.csv"]


@pytest.mark.parametrize("temperature", ["0", "-10", "nan", "1e-30", "20000"])
def test_temperature_must_be_physical(cvs, tmp_path, capsys, temperature):
    folder, _, _ = cvs
    with pytest.raises(SystemExit) as exc:
        main(["fes", str(folder / "cvs.npy"), "--temperature", temperature, "-o", str(tmp_path / "o.npz")])
    assert exc.value.code == 2
    assert ("argument --temperature: must be a float in (1, 10000) K. Got "
            f"{temperature} instead.") in capsys.readouterr().err


def test_bad_weights_and_ranges(cvs, tmp_path, capsys):
    folder, x, _ = cvs
    np.save(tmp_path / "short.npy", np.ones(len(x) - 1))
    neg = np.ones(len(x))
    neg[5] = -1.0
    np.save(tmp_path / "neg.npy", neg)
    base = ["fes", str(folder / "cvs.npy"), "--method", "hist", "--temperature", "300", "-o", str(tmp_path / "o.npz")]
    assert main(base + ["--weights", str(tmp_path / "short.npy")]) == 1
    assert f"must have one weight per sample, shape ({len(x)},)" in capsys.readouterr().err
    assert main(base + ["--weights", str(tmp_path / "neg.npy")]) == 1
    assert "must be non-negative" in capsys.readouterr().err
    assert main(base + ["--range", "0", "5", "--range", "3", "4"]) == 1
    assert "must cover the data: CV 1 spans" in capsys.readouterr().err
    assert main(base + ["--weights", str(tmp_path / "missing.npy")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.skipif(not hasattr(__import__("os"), "fchmod"), reason="POSIX file modes")
def test_output_mode_follows_the_umask(cvs, tmp_path, capsys):
    import os
    import stat

    folder, _, _ = cvs
    out = tmp_path / "fes.npz"
    old = os.umask(0o022)
    try:
        assert main(["fes", str(folder / "cvs.npy"), "--method", "hist", "--temperature", "300", "--bins", "10",
                     "-o", str(out)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_non_numeric_column_is_named(tmp_path, capsys):
    src = tmp_path / "cvs.csv"
    src.write_text("cn,d\n1,2.5\n2,abc\n3,2.7\n", encoding="utf-8")
    assert main(["fes", str(src), "--method", "hist", "--temperature", "300", "-o", str(tmp_path / "o.npz")]) == 1
    err = capsys.readouterr().err
    assert "must hold numbers" in err and "line 3, column 1 (d) holds 'abc', not a number" in err
    assert not (tmp_path / "o.npz").exists()


def test_constant_column_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = np.c_[rng.normal(size=200), np.full(200, 4.0)]
    np.save(tmp_path / "cvs.npy", x)
    base = ["fes", str(tmp_path / "cvs.npy"), "--method", "hist", "--temperature", "300", "-o", str(tmp_path / "o.npz")]
    assert main(base) == 1
    err = capsys.readouterr().err
    assert "Column 1 of the CVS file" in err and "is constant (every sample is 4)" in err
    assert main(base + ["--columns", "0"]) == 0  # the remedy the message names


def test_integer_counts_table_and_plot_in_one_unit(tmp_path, capsys):
    rng = np.random.default_rng(1)
    k = rng.choice(4, size=3000, p=[0.15, 0.5, 0.3, 0.05]).astype(float)  # anions in a Li⁺ shell
    np.savetxt(tmp_path / "n.csv", k[:, None], header="n_TFSI", comments="")
    for method in ("hist", "gp"):
        out = tmp_path / f"{method}.npz"
        assert main(["fes", str(tmp_path / "n.csv"), "--method", method, "--temperature", "300", "--unit", "kT",
                     "-o", str(out), "--plot", str(tmp_path / f"{method}.png")]) == 0
        text = capsys.readouterr().out
        n = np.bincount(k.astype(int))
        with np.load(out) as d:
            np.testing.assert_array_equal(d["axis_0"], np.arange(4))
            F = -np.log(n / n.sum())
            np.testing.assert_allclose(d["free_energy_kT"], F - F.min(), atol=1e-10)
            np.testing.assert_array_equal(d["minima"][:, 0], [1.0])  # the most populated cell only
        assert "minimum 0 (A): (1) F = 0.000 ± " in text and text.count("kT") >= 2 and "kJ/mol\n" not in text
        assert (tmp_path / f"{method}.png").stat().st_size > 0


def test_discrete_option(tmp_path):
    k = np.random.default_rng(2).choice(3, size=500, p=[0.2, 0.5, 0.3]).astype(float)
    np.save(tmp_path / "k.npy", k)
    base = ["fes", str(tmp_path / "k.npy"), "--method", "hist", "--temperature", "300", "--bins", "12"]
    assert main(base + ["-o", str(tmp_path / "a.npz")]) == 0
    assert main(base + ["--discrete", "no", "-o", str(tmp_path / "b.npz")]) == 0
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        np.testing.assert_array_equal(a["axis_0"], [0.0, 1.0, 2.0])  # auto: one cell per integer
        assert b["axis_0"].shape == (12,)                            # no: the 12 bins asked for
