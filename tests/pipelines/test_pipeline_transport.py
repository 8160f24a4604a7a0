"""The transport stage: its curves CSV and figure beside the numbers, one fit window with the msd stage
(window_from) or both windows explained in the report, and block warnings shown there."""

from __future__ import annotations

import csv
import html
from pathlib import Path

import numpy as np
import pytest

from tests.pipelines.pipeline_helpers import results_by_stage, run_serial
from trajml.pipelines.report_windows import window_notes


def _yaml(tmp_path: Path, transport: str) -> str:
    return ("version: 1\nname: tw\ninputs:\n  - bundled: spe_sample\n"
            "stages:\n  - {stage: msd, select: name Li, fit_start: 10, fit_stop: 200, stop: 120}\n"
            f"  - {{stage: transport, cation: name Li, anion: name TFSI, stop: 120, {transport}}}\n"
            f"outputs: {tmp_path / 'out'}\n")


def _entry(tmp_path: Path, summary, stage_id: str) -> Path:
    (o,) = [o for o in summary.outcomes if o.stage_id == stage_id]
    return tmp_path / "out" / "store" / "objects" / o.key[:2] / o.key


def test_window_from_shares_the_msd_window_and_exports_curves(tmp_path):
    summary = run_serial(tmp_path, "tw.yaml", _yaml(tmp_path, "window_from: msd"))
    assert summary.computed == 2 and not summary.failures
    stored = results_by_stage(tmp_path / "out", summary)
    msd, tr = stored["msd"], stored["transport"]
    # one window for D and sigma
    assert (tr["fit_start_ps"], tr["fit_stop_ps"]) == (msd["diffusion"]["fit_start_ps"],
                                                       msd["diffusion"]["fit_stop_ps"]) == (10.0, 200.0)
    assert tr["window_source"] == "msd stage 'msd'"
    # 200 ps of a 595 ps run leaves 2 blocks: the stored result and the report say the error is not solid
    assert tr["n_blocks"] == 2 and len(tr["warnings"]) == 1 and "2 time blocks" in tr["warnings"][0]
    entry = _entry(tmp_path, summary, "transport")
    with open(entry / "transport.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    col = dict(zip(rows[0], np.array(rows[1:], dtype=float).T))
    np.testing.assert_allclose(col["lag_ps"], tr["lag_ps"], rtol=1e-12)
    np.testing.assert_allclose(col["self_msd_Li_A2"], tr["self_msd_A2"][0], rtol=1e-12)
    np.testing.assert_allclose(col["collective_msd_Li_TFSI_A2"], tr["collective_msd_A2"][0][1], rtol=1e-12)
    np.testing.assert_allclose(col["charge_msd_e2A2"], tr["charge_msd_e2A2"], rtol=1e-12)
    assert (entry / "transport.png").read_bytes()[:4] == b"\x89PNG"
    page = html.unescape(Path(summary.report).read_text(encoding="utf-8"))
    assert "Warning: σ (and L_ij, t₊) error from 2 time blocks" in page
    assert "transport--transport.csv" in page and "transport--transport.png" in page
    # same window; the remaining difference of D is the frame (msd keeps the drift) and is said so
    assert "Only the transport stage removes the centre-of-mass drift" in page
    assert "The windows differ" not in page


def test_own_windows_are_both_shown_with_their_reasons(tmp_path):
    summary = run_serial(tmp_path, "tw.yaml", _yaml(tmp_path, "fit_start: 20, fit_stop: 100, remove_drift: false"))
    stored = results_by_stage(tmp_path / "out", summary)
    tr = stored["transport"]
    assert tr["window_source"] == "given" and tr["warnings"] == []
    page = html.unescape(Path(summary.report).read_text(encoding="utf-8"))
    d_msd = stored["msd"]["diffusion"]["D_A2_ps"]
    assert (f"Two D of Li: the msd stage gives {d_msd:.4g} Å²/ps over 10–200 ps (given); the transport stage "
            f"gives {tr['D_A2_ps'][0]:.4g} Å²/ps over 20–100 ps (given)") in page
    assert "set window_from: msd on the transport stage" in page
    assert "centre-of-mass drift" not in page  # both in the lab frame


def test_window_notes_are_silent_when_windows_and_frames_agree():
    msd = {"selection": "name Li", "drift_removed": True,
           "diffusion": {"D_A2_ps": 0.2, "fit_start_ps": 55.0, "fit_stop_ps": 745.0, "window_method": "auto"}}
    tr = {"selections": ["name Li", "name TFSI"], "species": ["Li", "TFSI"], "D_A2_ps": [0.2, 0.1],
          "fit_start_ps": 55.0, "fit_stop_ps": 745.0, "drift_removed": True, "window_source": "msd stage 'msd'"}
    assert window_notes([("msd", "msd", msd), ("transport", "transport", tr)]) == []
    other = {**tr, "fit_start_ps": 70.0, "fit_stop_ps": 295.0, "window_source": "auto", "n_blocks": 5}
    (note,) = window_notes([("msd", "msd", msd), ("transport", "transport", other)])
    assert "55–745 ps (automatic" in note and "70–295 ps (automatic on the MSD pooled over both ions, kept " \
        "within one of 5 time blocks" in note
    # an msd of another selection is not compared
    assert window_notes([("msd", "msd", {**msd, "selection": "name O"}), ("transport", "transport", other)]) == []


def test_window_from_and_fit_start_exclude_each_other(tmp_path):
    from trajml.pipelines import load_pipeline

    path = tmp_path / "bad.yaml"
    path.write_text(_yaml(tmp_path, "window_from: msd, fit_start: 20, fit_stop: 100"))
    with pytest.raises(Exception, match="window_from"):
        load_pipeline(str(path))


def test_msd_stage_gives_the_samples_behind_d_err(tmp_path):
    import json

    summary = run_serial(tmp_path, "tw.yaml", _yaml(tmp_path, "fit_start: 20, fit_stop: 100"))
    meta = json.loads((_entry(tmp_path, summary, "msd") / "entry.json").read_text())
    d = results_by_stage(tmp_path / "out", summary)["msd"]["diffusion"]
    assert meta["numbers"]["D_err_n"] == [d["n_error_samples"], ""] and d["error_method"] == "particles"
    assert d["n_error_samples"] == 60
    tr = json.loads((_entry(tmp_path, summary, "transport") / "entry.json").read_text())
    assert tr["numbers"]["n_blocks"][0] == results_by_stage(tmp_path / "out", summary)["transport"]["n_blocks"]


def test_a_shared_window_too_long_for_two_blocks_names_window_from(tmp_path):
    text = _yaml(tmp_path, "window_from: msd").replace("fit_stop: 200", "fit_stop: 500")
    summary = run_serial(tmp_path, "tw.yaml", text)
    (failed,) = summary.failures
    assert failed.stage_id == "transport"
    assert "2 time blocks" in failed.reason and "msd stage 'msd' (window_from)" in failed.reason


def test_species_key_gives_the_cation_anion_result(tmp_path):
    """The YAML ``species`` key (label: selection) reaches Conductivity: the binary salt as two species."""
    from trajml.data import sample_topology, sample_trajectory
    from trajml.io import open_source
    from trajml.transport import Conductivity

    yaml_text = ("version: 1\nname: sp\ninputs:\n  - bundled: spe_sample\nstages:\n"
                 "  - {stage: transport, species: {Li: name Li, TFSI: name TFSI}, fit_start: 20, fit_stop: 100, "
                 "stop: 120}\n"
                 f"outputs: {tmp_path / 'out'}\n")
    summary = run_serial(tmp_path, "sp.yaml", yaml_text)
    assert summary.computed == 1 and not summary.failures
    tr = results_by_stage(tmp_path / "out", summary)["transport"]
    src = open_source(sample_topology(), sample_trajectory())
    direct = Conductivity("name Li", "name TFSI", temperature=300.0, fit_start=20.0, fit_stop=100.0).run(
        src, stop=120, progress=False)
    assert tr["species"] == ["Li", "TFSI"] and tr["selections"] == ["name Li", "name TFSI"]
    assert tr["sigma_S_m"] == pytest.approx(direct.sigma_S_m, rel=1e-12)
    assert tr["transference_species"] == pytest.approx(list(direct.transference_species), rel=1e-12)
