"""The runner: resume after SIGKILL, failure isolation, identical results on every scheduler, selective recompute."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from pipeline_helpers import (
    STAGES,
    batch_yaml,
    make_systems,
    results_by_stage,
    run_serial,
    stored_results,
    write_pipeline,
)

from trajml.pipelines import ResultStore, load_pipeline, run_pipeline

DRIVER = textwrap.dedent("""
    import sys
    from trajml.pipelines import run_pipeline
    summary = run_pipeline(sys.argv[1], scheduler="serial", progress=False)
    print(summary.text())
""")


def _n_entries(outputs: Path) -> int:
    objects = outputs / "store" / "objects"
    return sum(len(os.listdir(objects / d)) for d in os.listdir(objects)) if objects.is_dir() else 0


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    make_systems(tmp_path, 6)
    killed = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "killed")), "killed.yaml")
    clean = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "clean")), "clean.yaml")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(driver), str(killed)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _n_entries(tmp_path / "killed") < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the driver finished before it could be killed"
    stored = _n_entries(tmp_path / "killed")
    assert 3 <= stored < 24
    # No half-written entry is ever visible: every stored folder is complete.
    for entry in (tmp_path / "killed" / "store" / "objects").glob("*/*"):
        assert (entry / "result.json").is_file() and (entry / "entry.json").is_file()
    (run_folder,) = (tmp_path / "killed" / "runs").iterdir()
    assert json.loads((run_folder / "state.json").read_text())["status"] == "running"

    resumed = run_pipeline(killed, scheduler="serial", progress=False, resume=True)
    assert resumed.resumed and resumed.run_id == run_folder.name
    assert (resumed.reused, resumed.computed, len(resumed.failures)) == (stored, 24 - stored, 0)

    baseline = run_pipeline(clean, scheduler="serial", progress=False)
    assert baseline.computed == 24
    assert stored_results(tmp_path / "killed") == stored_results(tmp_path / "clean")

    assert json.loads((run_folder / "state.json").read_text())["status"] == "finished"
    again = run_pipeline(killed, scheduler="serial", progress=False, resume=True)  # nothing to resume: new run
    assert (again.reused, again.computed) == (24, 0) and not again.resumed


def test_corrupt_trajectory_fails_only_its_system(tmp_path):
    make_systems(tmp_path, 3, corrupt=(1,))
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out")))
    summary = run_pipeline(path, scheduler="serial", progress=False)
    status = {o.unit: o.status for o in summary.outcomes}
    for k in (0, 2):
        assert all(status[f"sys{k}/{s}"] == "computed" for s in ("info", "rdf_li_o", "coordination", "solvation"))
    # Every unit of the damaged system fails by its file (none "skipped" behind a failed dependency).
    assert all(status[f"sys1/{s}"] == "failed" for s in ("info", "rdf_li_o", "coordination", "solvation"))
    reason = next(o.reason for o in summary.outcomes if o.unit == "sys1/info")
    assert reason.startswith("SystemFileError: Trajectory '") and "sys1/traj.xtc' is truncated" in reason
    assert "FAILED sys1/info: SystemFileError" in summary.text()
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert saved["counts"] == {"computed": 8, "reused": 0, "failed": 4, "skipped": 0}
    assert any(o["unit"] == "sys1/solvation" and "truncated" in o["reason"] for o in saved["outcomes"])
    html = Path(summary.report).read_text()
    assert "Failed systems" in html and "sys1/info" in html and "is truncated or corrupt" in html
    # Failures are not stored: the next run retries them (and reuses the rest).
    rerun = run_pipeline(path, scheduler="serial", progress=False, report=False)
    assert (rerun.reused, rerun.count("failed"), rerun.count("skipped")) == (8, 4, 0)


def test_processes_and_local_cluster_store_identical_results(tmp_path):
    make_systems(tmp_path, 2)
    stages = "\n".join(STAGES.splitlines()[:4]) + "\n"  # info, rdf, coordination
    results = {}
    for scheduler in ("processes", "local"):
        path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / scheduler), stages), f"{scheduler}.yaml")
        summary = run_pipeline(path, scheduler=scheduler, n_workers=2, progress=False, report=False)
        assert (summary.computed, summary.failures) == (6, [])
        results[scheduler] = stored_results(tmp_path / scheduler)
    serial = run_pipeline(load_pipeline(tmp_path / "local.yaml"), scheduler="serial", progress=False,
                          outputs=str(tmp_path / "serial"), report=False)
    assert serial.computed == 6
    assert len(results["local"]) == 18  # per unit: result.json, arrays.nc and one CSV table
    assert results["processes"] == results["local"] == stored_results(tmp_path / "serial")


def test_changed_parameter_recomputes_only_dependents(tmp_path):
    make_systems(tmp_path, 1)
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out")))
    first = run_pipeline(path, scheduler="serial", progress=False, report=False)
    assert first.computed == 4
    path.write_text(path.read_text().replace("r_max: 12.0, n_bins: 60", "r_max: 11.0, n_bins: 60"))
    second = run_pipeline(path, scheduler="serial", progress=False, report=False)
    status = {o.stage_id: o.status for o in second.outcomes}
    assert status == {"info": "reused", "rdf_li_o": "computed", "coordination": "computed", "solvation": "computed"}
    path.write_text(path.read_text().replace("cutoff_anion: 7.0", "cutoff_anion: 7.5"))
    third = run_pipeline(path, scheduler="serial", progress=False, report=False)
    assert [o.stage_id for o in third.outcomes if o.status == "computed"] == ["solvation"]
    store = ResultStore(tmp_path / "out" / "store")
    coord = store.get(next(o.key for o in second.outcomes if o.stage_id == "coordination"))
    rdf = store.get(next(o.key for o in second.outcomes if o.stage_id == "rdf_li_o"))
    assert coord.data["cutoff"] == rdf.data["first_min_r"]
    assert coord.data["cutoff_origin"] == "first minimum of g(r) of stage 'rdf_li_o'"


def test_touching_an_input_file_recomputes_its_system(tmp_path):
    sims = make_systems(tmp_path, 2)
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), "stages:\n  - {stage: info, stop: 4}\n"))
    assert run_pipeline(path, scheduler="serial", progress=False, report=False).computed == 2
    os.utime(sims / "sys1" / "traj.xtc", ns=(time.time_ns(), time.time_ns() + 10**9))
    again = run_pipeline(path, scheduler="serial", progress=False, report=False)
    assert {o.unit: o.status for o in again.outcomes} == {"sys0/info": "reused", "sys1/info": "computed"}


def test_bad_scheduler_is_rejected_before_running(tmp_path):
    make_systems(tmp_path, 1)
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out")))
    with pytest.raises(ValueError, match=r"The 'scheduler' parameter of run_pipeline must be one of \('serial', "
                                         r"'threads', 'processes', 'local'\).*Got 'threadz' instead"):
        run_pipeline(path, scheduler="threadz")
    assert not (tmp_path / "out").exists()


def test_transport_stages_match_the_direct_api(tmp_path):
    """The msd, residence and transport stages store what MSD/Diffusion and ResidenceTime and Conductivity give when
    called directly."""
    from trajml.data import sample_topology, sample_trajectory
    from trajml.io import open_source
    from trajml.transport import MSD, Conductivity, Diffusion, ResidenceTime

    yaml_text = (
        "version: 1\nname: tr\ninputs:\n  - bundled: spe_sample\n"
        "stages:\n  - {stage: msd, select: name Li, stop: 120}\n"
        "  - {stage: residence, select_a: name Li, select_b: name O, cutoff: 8.0, stop: 120}\n"
        "  - {stage: transport, cation: name Li, anion: name TFSI, fit_start: 20, fit_stop: 100, stop: 120}\n"
        f"outputs: {tmp_path / 'out'}\n"
    )
    summary = run_serial(tmp_path, "tr.yaml", yaml_text)
    assert summary.computed == 3 and not summary.failures
    src = open_source(sample_topology(), sample_trajectory())
    msd = MSD("name Li").run(src, stop=120)
    fit = Diffusion().fit(msd).fetch_model()
    res = ResidenceTime("name Li", "name O", cutoff=8.0).run(src, stop=120, progress=False)
    stored = results_by_stage(tmp_path / "out", summary)
    assert stored["msd"]["diffusion"]["D_A2_ps"] == pytest.approx(fit.D_A2_ps, rel=1e-12)
    assert stored["msd"]["msd_A2"] == pytest.approx(list(msd.msd_A2), rel=1e-12)
    assert stored["residence"]["tau_ps"] == pytest.approx(res.tau_ps, rel=1e-12)
    assert stored["residence"]["continuous"] == pytest.approx(list(res.continuous), rel=1e-12)
    # temperature (300 K) and charges come from the bundled sample's metadata
    cond = Conductivity("name Li", "name TFSI", charges={"Li": 1.0, "TFSI": -1.0}, temperature=300.0,
                        fit_start=20.0, fit_stop=100.0).run(src, stop=120)
    assert stored["transport"]["sigma_S_m"] == pytest.approx(cond.sigma_S_m, rel=1e-12)
    assert stored["transport"]["transference"] == pytest.approx(cond.transference, rel=1e-12)


WORKER_DRIVER = textwrap.dedent("""
    import sys
    from trajml.pipelines import run_pipeline
    if __name__ == "__main__":
        summary = run_pipeline(sys.argv[1], scheduler="local", n_workers=2, progress=False)
        print(summary.text())
""")


def test_worker_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    psutil = pytest.importorskip("psutil")
    make_systems(tmp_path, 3)
    killed = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "killed")), "killed.yaml")
    clean = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "clean")), "clean.yaml")
    driver = tmp_path / "driver.py"
    driver.write_text(WORKER_DRIVER)
    proc = subprocess.Popen([sys.executable, str(driver), str(killed)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _n_entries(tmp_path / "killed") < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    # The LocalCluster's worker processes are the driver's Python children.
    workers = [c for c in psutil.Process(proc.pid).children(recursive=True) if "python" in c.name().lower()]
    assert workers, "no worker process found under the driver"
    victim = max(workers, key=lambda c: c.cpu_percent(interval=0.05))
    at_kill = _n_entries(tmp_path / "killed")
    victim.send_signal(signal.SIGKILL)
    assert proc.poll() is None and at_kill < 12, "the run finished before a worker could be killed"
    out, err = proc.communicate(timeout=300)
    stored = _n_entries(tmp_path / "killed")
    # Every stored entry is complete, whatever the worker was writing when it died.
    for entry in (tmp_path / "killed" / "store" / "objects").glob("*/*"):
        assert (entry / "result.json").is_file() and (entry / "entry.json").is_file()
    resumed = run_pipeline(killed, scheduler="serial", progress=False, resume=True)
    assert resumed.reused == stored and resumed.computed == 12 - stored and not resumed.failures
    run_pipeline(clean, scheduler="serial", progress=False)
    assert stored_results(tmp_path / "killed") == stored_results(tmp_path / "clean")


def test_msm_stage_matches_the_direct_api_and_reports_its_and_ck(tmp_path):
    """The msm stage stores what kinetic_analysis gives when called directly, and its report shows ITS and CK."""
    from trajml.data import sample_topology, sample_trajectory
    from trajml.io import open_source
    from trajml.workflows import kinetic_analysis

    yaml_text = (
        "version: 1\nname: kin\ninputs:\n  - bundled: spe_sample\n"
        "stages:\n  - {stage: msm, model: tica, states: 3, lag: 4, clusters: 12, r_shell: 8.0, bootstrap: 4,"
        " stop: 100}\n"
        f"outputs: {tmp_path / 'out'}\n"
    )
    summary = run_serial(tmp_path, "kin.yaml", yaml_text)
    assert summary.computed == 1 and not summary.failures
    ref = kinetic_analysis(open_source(sample_topology(), sample_trajectory()), "name Li", 3, 4, model="tica",
                           r_shell=8.0, n_bootstrap=4, stop=100, n_clusters=12, seed=0)
    stored = results_by_stage(tmp_path / "out", summary)["msm"]
    np.testing.assert_allclose(stored["timescales"]["timescales_ps"], ref.timescales.timescales_ps, rtol=1e-9)
    assert stored["populations"] == pytest.approx(ref.populations.tolist(), rel=1e-9)
    report = (tmp_path / "out" / "report" / "index.html").read_text()
    for figure in ("timescales", "ck_test", "state_shell", "state_rdf"):
        assert figure in report


def test_fes_stage_matches_the_direct_api(tmp_path):
    """The fes stage stores the surface the FES estimator gives on the same shell counts, with its figure."""
    from trajml.data import sample_topology, sample_trajectory
    from trajml.features import ShellCounts
    from trajml.fes import HistogramFES, stack_cvs
    from trajml.io import open_source

    yaml_text = (
        "version: 1\nname: f\ninputs:\n  - bundled: spe_sample\n"
        "stages:\n  - {stage: fes, method: hist, x_cutoff: 8.0, y_cutoff: 9.3, stop: 60}\n"
        f"outputs: {tmp_path / 'out'}\n"
    )
    summary = run_serial(tmp_path, "f.yaml", yaml_text)
    assert summary.computed == 1 and not summary.failures
    src = open_source(sample_topology(), sample_trajectory())
    (n_o,) = ShellCounts("name Li", {"O": "name O"}, radii=(8.0,)).compute(src, stop=60)
    (n_a,) = ShellCounts("name Li", {"A": "name TFSI"}, radii=(9.3,)).compute(src, stop=60)
    ref = HistogramFES(temperature=300.0, cv_units="count").fit(stack_cvs(n_o[..., 0], n_a[..., 0])).fetch_model()
    stored = results_by_stage(tmp_path / "out", summary)["fes"]
    assert stored["temperature_K"] == 300.0  # from the bundled sample's metadata
    np.testing.assert_allclose(np.array(stored["grid"]["free_energy_kJmol"], dtype=float), ref.free_energy_kJmol,
                               rtol=1e-12, equal_nan=True)
    assert "fes--fes.png" in (tmp_path / "out" / "report" / "index.html").read_text()
    # arrays.nc: the grid's dimensions are its CVs, with the bin centres as coordinates and units
    import xarray as xr

    from trajml.store import open_results

    ds = open_results(tmp_path / "out", stages=["fes"])
    grid = ds["fes.grid.free_energy_kJmol"]
    assert grid.dims == ("system", "fes.grid.cv_x", "fes.grid.cv_y") and grid.attrs["units"] == "kJ/mol"
    np.testing.assert_array_equal(grid["fes.grid.cv_x"].values, ref.axes[0])
    np.testing.assert_array_equal(grid["fes.grid.cv_y"].values, ref.axes[1])
    assert isinstance(ds, xr.Dataset)


def test_graphs_stage_feeds_the_msm_graph_model(tmp_path):
    """The graphs stage's cut-off and width define the msm stage's graph model (graphs_from)."""
    from trajml.data import sample_topology, sample_trajectory
    from trajml.features import NeighborGraphs
    from trajml.io import open_source
    from trajml.parallel import run

    yaml_text = (
        "version: 1\nname: g\ninputs:\n  - bundled: spe_sample\n"
        "stages:\n  - {stage: graphs, id: g, r_max: 8.5, max_neighbors: 8, stop: 30}\n"
        "  - {stage: msm, model: graph, graphs_from: g, states: 2, lag: 2, epochs: 1, r_shell: 8.0, bootstrap: 0,"
        " stop: 30}\n"
        f"outputs: {tmp_path / 'out'}\n"
    )
    summary = run_serial(tmp_path, "g.yaml", yaml_text)
    assert summary.computed == 2 and not summary.failures
    stored = results_by_stage(tmp_path / "out", summary)
    ref = run(NeighborGraphs(None, r_max=8.5, max_neighbors=8), open_source(sample_topology(), sample_trajectory()),
              stop=30, progress=False)
    assert stored["g"]["mean_degree"] == pytest.approx(ref.mean_degree, rel=1e-12)
    assert stored["g"]["fraction_truncated"] == pytest.approx(ref.fraction_truncated, rel=1e-12)
    assert stored["msm"]["model"] == "graph"
    assert stored["msm"]["graph"] == {"r_max": 8.5, "max_neighbors": 8}
    # rows cut at 8 neighbours: the graphs stage says so (over 5 % here), and its report shows it
    (check,) = stored["g"]["diagnostics"]
    assert check["code"] == "graph_truncated" and check["passed"] is (ref.fraction_truncated <= 0.05)
    assert ref.fraction_truncated > 0.05 and check["message"] in stored["g"]["warnings"]
    # one epoch over 28 frame pairs (2 steps) is far too little training, and the msm stage says so
    assert any("will train for only" in w and "Give epochs: 500 (or more frames), or use model: tica" in w
               for w in stored["msm"]["warnings"])
    codes = {d["code"] for d in stored["msm"]["diagnostics"]}
    assert codes == {"its_not_converged", "its_at_lag", "states_indistinct", "ck_failed", "graph_truncated"}
    report = (tmp_path / "out" / "report" / "index.html").read_text()
    assert "Warning: " + check["message"].split(":")[0] in report
    for d in stored["msm"]["diagnostics"]:  # every check is in the report: a warning, or among those passed
        assert html.escape(d["message"]) in report
    assert ("Checked: " in report) is any(d["passed"] for d in stored["msm"]["diagnostics"])


def test_extrapolate_stage_predicts_from_the_short_run_of_an_earlier_msd_stage(tmp_path):
    """The extrapolate stage feeds log10 D from the msd stage and the metadata temperature to the model,
    exactly as a table built by hand from the direct API does."""
    pytest.importorskip("rdkit")

    from trajml.data import sample_topology, sample_trajectory
    from trajml.extrapolation.deep import MultitaskExtrapolator, MultitaskModel
    from trajml.extrapolation.tables import ExtrapolationTable
    from trajml.io import open_source
    from trajml.transport import MSD, Diffusion

    rng = np.random.default_rng(0)
    units = ["*CCO*", "*CCCO*", "*CCN*", "*CCOC*", "*CCS*", "*COC*"]
    n = 24
    graphs = tuple(units[i % len(units)] for i in range(n))
    temps = rng.uniform(300, 400, n)
    low = rng.normal(-2.0, 0.3, (n, 1))
    table = ExtrapolationTable(ids=tuple(f"s{i}" for i in range(n)), graphs=graphs, graph_kind="smiles",
                               feature_names=("temperature",), features=temps[:, None], tasks=("log10_D_Li",),
                               low=low, high=low - 0.4)
    model = MultitaskExtrapolator(hidden=16, n_layers=1, epochs=5, n_models=1, validation_fraction=0.0,
                                  patience=None, seed=0).fit(table).fetch_model()
    model.save(tmp_path / "ex.npz")
    yaml_text = (
        "version: 1\nname: ex\ninputs:\n  - bundled: spe_sample\n"
        "stages:\n  - {stage: msd, select: name Li, stop: 60}\n"
        f"  - {{stage: extrapolate, model: '{tmp_path / 'ex.npz'}', graph: '*CCO*', msd_from: msd}}\n"
        f"outputs: {tmp_path / 'out'}\n"
    )
    summary = run_serial(tmp_path, "ex.yaml", yaml_text)
    assert summary.computed == 2 and not summary.failures
    stored = results_by_stage(tmp_path / "out", summary)
    d = Diffusion().fit(MSD("name Li").run(open_source(sample_topology(), sample_trajectory()), stop=60)).fetch_model()
    by_hand = ExtrapolationTable(ids=("x",), graphs=("*CCO*",), graph_kind="smiles", feature_names=("temperature",),
                                 features=np.array([[300.0]]), tasks=("log10_D_Li",),
                                 low=np.array([[np.log10(d.D_A2_ps)]]), high=np.array([[np.nan]]))
    ref = MultitaskModel.load(tmp_path / "ex.npz").predict(by_hand)
    assert stored["extrapolate"]["short"]["log10_D_Li"] == pytest.approx(np.log10(d.D_A2_ps), rel=1e-12)
    assert stored["extrapolate"]["long"]["log10_D_Li"] == pytest.approx(float(ref.high[0, 0]), rel=1e-6)


def test_extrapolate_stage_without_its_model_file_fails_with_the_path(tmp_path):

    yaml_text = ("version: 1\nname: ex\ninputs:\n  - bundled: spe_sample\n"
                 f"stages:\n  - {{stage: extrapolate, model: '{tmp_path / 'none.npz'}', graph: '*CCO*'}}\n"
                 f"outputs: {tmp_path / 'out'}\n")
    summary = run_serial(tmp_path, "ex.yaml", yaml_text)
    assert summary.computed == 0 and len(summary.failures) == 1
    assert "none.npz" in summary.failures[0].reason and "does not exist" in summary.failures[0].reason
