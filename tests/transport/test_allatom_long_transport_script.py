"""The benchmark behind the all-atom D_Li < D_TFSI claim, run on the bundled all-atom sample.

Its independent count (MDAnalysis positions, residue centres of mass, minimum-image unwrapping, a direct
average over every origin) must equal trajml's MSD, and its per-ion bootstrap must describe the ratio
of the pooled per-ion slopes.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]


def _script():
    sys.path.insert(0, str(ROOT / "benchmarks"))  # the script imports _common from its folder
    spec = importlib.util.spec_from_file_location("allatom_long_transport", ROOT / "benchmarks" /
                                                  "allatom_long_transport.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_trajml_msd_equals_the_independent_count_on_the_bundled_sample(tmp_path, capsys):
    script = _script()
    meta = ROOT / "trajml" / "data" / "sample_aa" / "spe_aa_sample.json"
    out, fig = tmp_path / "r.json", tmp_path / "r.png"
    assert script.main([str(meta), "--fit-start", "20", "--fit-stop", "100", "--out", str(out),
                        "--figure", str(fig)]) == 0
    result = json.loads(out.read_text())
    run = result["runs"][0]
    for label, n in (("Li+", 14), ("TFSI-", 14)):
        s = run["species"][label]
        assert s["n_ions"] == n and len(s["D_per_ion_A2_ps"]) == n
        assert s["msd_max_relative_difference"] < 1e-6
        assert s["D_trajml_A2_ps"] == pytest.approx(s["D_oracle_A2_ps"], rel=1e-6)
        assert "refused" in s["automatic_window"]  # 200 ps: trajml finds no diffusive stretch, and says so
    ratio = result["D_Li_over_D_TFSI"]
    pooled = np.mean(run["species"]["Li+"]["D_per_ion_A2_ps"]) / np.mean(run["species"]["TFSI-"]["D_per_ion_A2_ps"])
    assert ratio["ratio"] == pytest.approx(pooled, rel=1e-12)
    assert ratio["ci95_low"] < ratio["median"] < ratio["ci95_high"] and 0.0 <= ratio["fraction_below_1"] <= 1.0
    assert run["Li-O(ether)"]["first_peak_A"] == pytest.approx(2.08, abs=0.05)
    assert fig.stat().st_size > 10_000
    assert "D_Li/D_TFSI over 20-100 ps" in capsys.readouterr().out


def test_the_independent_msd_of_a_known_walk():
    script = _script()
    x = np.zeros((4, 1, 3))
    x[:, 0, 0] = [0.0, 1.0, 3.0, 6.0]  # displacements 1, 2, 3
    msd = script.oracle_msd(x)[0]
    np.testing.assert_allclose(msd, [0.0, (1 + 4 + 9) / 3, (9 + 25) / 2, 36.0])
