"""``trajml msm`` end to end on the bundled SPE sample: every output file, oracle timescales, bad input.

The TICA route's timescales are checked against deeptime's maximum-likelihood MSM on the saved
model's discrete trajectories; the soft-state routes (graph, mlp) against the Koopman matrix of the
saved model's state probabilities computed here with NumPy.
"""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from trajml.cli import main
from trajml.data import sample_topology, sample_trajectory
from trajml.io import open_source

pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

PNG = b"\x89PNG\r\n\x1a\n"
OUTPUTS = ("timescales.json", "populations.json", "ck_test.json", "states.json", "diagnostics.json", "model.npz",
           "timescales.png", "ck_test.png", "populations.png", "state_rdf.png", "state_shell.png")


@pytest.fixture(autouse=True)
def _umask():
    """A typical shared-cluster umask: outputs must come out 0o644, not mkstemp's 0o600."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _check_outputs(out, n_states):
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    for name in OUTPUTS:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == PNG
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    ts = json.loads((out / "timescales.json").read_text())
    pops = json.loads((out / "populations.json").read_text())
    assert ts["units"]["timescales_ps"] == "ps" and ts["dt_ps"] == 5.0
    for name in ("timescales.json", "populations.json", "ck_test.json", "states.json"):  # what made each file
        assert json.loads((out / name).read_text())["trajml"]["command"].startswith("trajml msm ")
    with np.load(out / "model.npz") as model_file:
        assert json.loads(str(model_file["provenance"]))["command"].startswith("trajml msm ")
    if hasattr(os, "fchmod"):  # the umask decides, as for a plain open (0o022, set by _umask)
        assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o644}
    assert len(pops["stationary_populations"]) == n_states
    assert abs(sum(pops["stationary_populations"]) - 1) < 1e-6
    states = json.loads((out / "states.json").read_text())
    assert len(states["population"]) == n_states
    return ts


def test_tica_route_equals_deeptime_msm(tmp_path, capsys):
    from deeptime.markov import TransitionCountEstimator
    from deeptime.markov.msm import MaximumLikelihoodMSM

    from trajml.features import ShellCounts
    from trajml.store import load_model

    out = tmp_path / "tica"
    code = main(["msm", "--model", "tica", "--states", "3", "--lag", "4", "--stop", "120", "--clusters", "12",
                 "--its-lags", "2", "4", "8", "--bootstrap", "5", "--r-shell", "8.0", "-o", str(out), "--no-progress"])
    assert code == 0
    assert "tica model, 3 states" in capsys.readouterr().out
    ts = _check_outputs(out, 3)
    model = load_model(out / "model.npz")
    source = open_source(sample_topology(), sample_trajectory())
    radii = [6.4, 8.0, 10.0]  # 0.8, 1 and 1.25 x r_shell
    feats = ShellCounts("name Li", {"polymer O": "name O", "anion": "name TFSI"}, radii).compute(source, stop=120)
    dtrajs = [np.asarray(d, dtype=np.int64) for d in model.assign(feats[0], per_target=True)]
    for lag in (2, 4, 8):
        counts = TransitionCountEstimator(lag, "sliding").fit(dtrajs).fetch_model()
        msm = MaximumLikelihoodMSM(reversible=True).fit(counts.submodel_largest()).fetch_model()
        ref = np.sort(msm.timescales())[::-1][:2] * 5.0
        np.testing.assert_allclose(ts["timescales_ps"][f"{lag * 5.0:g}"], ref, rtol=1e-6)


def test_graph_route_end_to_end(tmp_path, capsys):
    from trajml.kinetics import soft_koopman_matrix
    from trajml.kinetics.deep import GraphVAMPNetModel
    from trajml.kinetics.koopman import TimeLaggedCovariance
    from trajml.store import load_model
    from trajml.store.graphs import GraphDataset

    out, graphs = tmp_path / "graph", tmp_path / "graphs"
    args = ["msm", sample_topology(), sample_trajectory(), "--model", "graph", "--states", "2", "--lag", "3",
            "--stop", "48", "--epochs", "2", "--batch-size", "6", "--bootstrap", "5", "--r-shell", "8.0",
            "--r-max", "8", "--max-neighbors", "8", "--its-lags", "1", "3", "6", "--graph-dir", str(graphs),
            "-o", str(out), "--no-progress"]
    assert main(args) == 0
    ts = _check_outputs(out, 2)
    model = load_model(out / "model.npz")
    assert isinstance(model, GraphVAMPNetModel) and model.lag == 3
    probs = model.transform(GraphDataset.open(graphs))[0]
    per_li = [np.ascontiguousarray(probs[:, j]) for j in range(probs.shape[1])]
    for lag in (1, 3, 6):
        k = soft_koopman_matrix(TimeLaggedCovariance(lag, remove_mean=False).fit(per_li).fetch_model())
        lam = np.sort(np.abs(np.linalg.eigvals(k)))[::-1][1]
        np.testing.assert_allclose(ts["timescales_ps"][f"{lag * 5.0:g}"], [-lag * 5.0 / np.log(lam)], rtol=1e-6)
    # the graph dataset was kept and a rerun reuses it
    stamp = (graphs / "traj0.nbr").stat().st_mtime_ns
    assert main(args[:-3] + ["-o", str(tmp_path / "again"), "--no-progress", "--no-plots"]) == 0
    assert (graphs / "traj0.nbr").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("extra, message", [
    (["--targets", "name Zz"], "Selection 'name Zz' matched no atom"),
    (["--lag", "500", "--stop", "50"], "argument --lag: must be shorter than the shortest trajectory analysed (50 "
                                       "frames): no transition fits in it. Give a lag of at most a quarter of it, "
                                       "--lag 12, or analyse more frames (--start/--stop/--step). Got 500 frames"),
    (["--model", "mlp", "--stop", "20", "--batch-size", "5000"], "fewer than 'batch_size' = 5000"),
    (["--shell", "anion"], "must be LABEL=SEL items"),
])
def test_bad_input_is_named(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) if extra[0] == "--shell" else _no_raise():
        code = main(["msm", "--model", "tica", "-o", str(tmp_path / "x"), "--r-shell", "8", "--no-progress", *extra])
        assert code == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x" / "timescales.json").exists()


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_mlp_route_with_pcca_lumping(tmp_path):
    out = tmp_path / "mlp"
    code = main(["msm", "--model", "mlp", "--states", "4", "--metastable", "2", "--lag", "4", "--stop", "120",
                 "--epochs", "3", "--bootstrap", "0", "--r-shell", "8.0", "--no-plots", "-o", str(out),
                 "--no-progress"])
    assert code == 0
    pops = json.loads((out / "populations.json").read_text())
    memb = np.array(pops["pcca_memberships"])
    assert memb.shape == (4, 2)
    np.testing.assert_allclose(memb.sum(1), 1.0, atol=1e-9)
    assert len(pops["stationary_populations"]) == 2
    assert len(json.loads((out / "timescales.json").read_text())["timescales_ps"]["20"]) == 1


def test_hard_states_interpretation_counts_each_row_once(tmp_path):
    out = tmp_path / "hard"
    assert main(["msm", "--model", "mlp", "--states", "2", "--lag", "4", "--stop", "60", "--epochs", "2",
                 "--bootstrap", "0", "--r-shell", "8.0", "--hard-states", "--no-plots", "-o", str(out),
                 "--no-progress"]) == 0
    from trajml.features import ShellCounts
    from trajml.store import load_model

    model = load_model(out / "model.npz")
    source = open_source(sample_topology(), sample_trajectory())
    (feats,) = ShellCounts("name Li", {"polymer O": "name O", "anion": "name TFSI"}, [6.4, 8.0, 10.0]).compute(
        source, stop=60)
    labels = model.transform(feats).argmax(-1)
    states = json.loads((out / "states.json").read_text())
    occupation = np.bincount(labels.ravel(), minlength=2) / labels.size
    np.testing.assert_allclose(states["population"], occupation, atol=1e-12)


def test_a_lag_over_a_quarter_of_the_run_warns_in_flags_and_the_default_route_is_tica(tmp_path, capsys):
    out = tmp_path / "default"
    assert main(["msm", "--lag", "12", "--stop", "40", "--clusters", "6", "--bootstrap", "0", "--r-shell", "8.0",
                 "--its-lags", "1", "2", "--no-plots", "-o", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "trajml msm: warning: The lag of kinetic_analysis, 12 frames (60 ps), is longer than a quarter of the " \
           "shortest trajectory analysed (40 frames)" in captured.err
    assert "Give --lag 10 or less" in captured.err
    assert "tica model, 3 states" in captured.out
    diagnostics = json.loads((out / "diagnostics.json").read_text())["diagnostics"]
    assert {d["code"] for d in diagnostics} == {"its_not_converged", "its_at_lag", "states_indistinct", "ck_failed"}
