"""``trajml transport --curves/--plot``: the exported curves are the result's arrays; the figure is written."""

from __future__ import annotations

import csv
import json

import numpy as np

from trajml.cli import main


def read_csv(path):
    """Column names and values; the file opens with one '# trajml ...' provenance line."""
    with open(path, newline="") as fh:
        first = fh.readline()
        assert first.startswith("# trajml ") and "--curves" in first
        rows = list(csv.reader(fh))
    return rows[0], np.array(rows[1:], dtype=float)


def test_transport_curves_csv_equals_json_arrays(tmp_path, capsys):
    out, curves, png = tmp_path / "t.json", tmp_path / "curves.csv", tmp_path / "t.png"
    code = main(["transport", "--fit-start", "20", "--fit-stop", "100", "--stop", "120", "--no-progress",
                 "-o", str(out), "--curves", str(curves), "--plot", str(png)])
    assert code == 0
    data = json.loads(out.read_text())
    header, table = read_csv(curves)
    assert header == ["lag_ps", "self_msd_Li_A2", "self_msd_TFSI_A2", "collective_msd_Li_Li_A2",
                      "collective_msd_Li_TFSI_A2", "collective_msd_TFSI_TFSI_A2", "charge_msd_e2A2"]
    col = dict(zip(header, table.T))
    np.testing.assert_allclose(col["lag_ps"], data["lag_ps"], rtol=1e-11)
    np.testing.assert_allclose(col["self_msd_TFSI_A2"], data["self_msd_A2"][1], rtol=1e-11)
    np.testing.assert_allclose(col["collective_msd_Li_TFSI_A2"], data["collective_msd_A2"][0][1], rtol=1e-11)
    np.testing.assert_allclose(col["collective_msd_Li_TFSI_A2"], data["collective_msd_A2"][1][0], rtol=1e-11)
    np.testing.assert_allclose(col["charge_msd_e2A2"], data["charge_msd_e2A2"], rtol=1e-11)
    # the charge MSD is the charge-weighted sum of the collective terms (q = +1, -1)
    np.testing.assert_allclose(col["charge_msd_e2A2"], col["collective_msd_Li_Li_A2"]
                               - 2 * col["collective_msd_Li_TFSI_A2"] + col["collective_msd_TFSI_TFSI_A2"],
                               rtol=1e-8, atol=1e-6)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "mS/cm (5 time blocks)" in capsys.readouterr().out


def test_msd_block_error_from_two_blocks_warns_once(tmp_path, capsys):
    out = tmp_path / "msd.csv"
    assert main(["msd", "--select", "name Li", "--time-blocks", "2", "--error", "blocks", "--fit-start", "20",
                 "--fit-stop", "100", "--stop", "120", "--no-progress", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "(error over blocks, n = 2)" in captured.out
    assert captured.err.count("D error from 2 time blocks: not a reliable uncertainty") == 1
    assert main(["msd", "--select", "name Li", "--time-blocks", "6", "--error", "blocks", "--fit-start", "20",
                 "--fit-stop", "90", "--stop", "120", "--no-progress", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "(error over blocks, n = 6)" in captured.out and "time blocks" not in captured.err
