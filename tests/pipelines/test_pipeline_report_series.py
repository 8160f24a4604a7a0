"""The report's temperature series: Arrhenius fits across systems recover a known activation energy."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from trajml.pipelines.report_series import series_columns, temperature_series_section

R = 0.00831446261815324  # kJ/(mol K)


def _rows(ea: float, temps: list[float], rel_err: float = 0.02, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for t in temps:
        d = 5.0 * math.exp(-ea / (R * t)) * (1.0 + rel_err * rng.standard_normal())
        rows.append({"system": f"T{t:g}", "temperature": t, "msd.D [Å^2/ps]": d,
                     "msd.D_err [Å^2/ps]": rel_err * d, "rdf.first_min_r [Å]": 8.0})
    return rows


def test_series_columns_pair_values_with_their_errors():
    cols = ["system", "temperature", "msd.D [Å^2/ps]", "msd.D_err [Å^2/ps]", "transport.sigma [mS/cm]",
            "rdf.first_min_r [Å]"]
    assert series_columns(cols) == [("msd.D [Å^2/ps]", "msd.D_err [Å^2/ps]"), ("transport.sigma [mS/cm]", None)]


def test_arrhenius_section_recovers_the_activation_energy(tmp_path: Path):
    (tmp_path / "figures").mkdir()
    ea = 25.0
    rows = _rows(ea, [280.0, 300.0, 320.0, 350.0, 380.0, 420.0])
    cols = list(rows[0])
    text = temperature_series_section(cols, rows, str(tmp_path))
    m = re.search(r"<td>([0-9.]+) ± ([0-9.]+) kJ/mol</td>", text)
    assert m, text
    value, err = float(m.group(1)), float(m.group(2))
    assert abs(value - ea) < 4 * err and err < 3.0
    assert (tmp_path / "figures" / "temperature_series.png").stat().st_size > 1000
    assert "rdf.first_min_r" not in text  # structure numbers are not a transport series


def test_no_section_without_three_temperatures(tmp_path: Path):
    (tmp_path / "figures").mkdir()
    rows = _rows(20.0, [300.0, 350.0])
    assert temperature_series_section(list(rows[0]), rows, str(tmp_path)) == ""
    rows = _rows(20.0, [300.0, 300.0, 300.0])  # one temperature thrice is no series
    assert temperature_series_section(list(rows[0]), rows, str(tmp_path)) == ""
