"""The Nernst–Einstein σ label of the CG extrapolation benchmark (benchmarks/_extrapolate_labels.py).

Checked against independent oracles: the bead counts, charges and box of a real ``trajml simulate``
run read back with MDAnalysis, σ_NE written out with the CODATA constants in NumPy, and the claim the
label rests on (a constant log10 α moves no score of the baselines) by cross-validating shifted labels.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import MDAnalysis as mda
import numpy as np
import pytest

from trajml.extrapolation.tables import ExtrapolationTable

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "trajml" / "data" / "sample"


def _labels_module():
    spec = importlib.util.spec_from_file_location("_extrapolate_labels", ROOT / "benchmarks" / "_extrapolate_labels.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


L = _labels_module()

# CODATA 2018 exact values, typed here rather than imported from trajml.units.
E = 1.602176634e-19  # C
KB = 1.380649e-23  # J/K


def _sigma_ne_numpy(n, q, d_a2_ps, volume_a3, temperature):
    """σ_NE in S/m: e²/(V k_B T) Σ N q² D with V in m³ and D in m²/s."""
    n, q, d = (np.asarray(x, float) for x in (n, q, d_a2_ps))
    return E**2 / (volume_a3 * 1e-30 * KB * temperature) * np.sum(n * q**2 * d * 1e-20 / 1e-12)


def test_composition_matches_a_real_simulate_run_read_by_mdanalysis():
    meta = json.loads((SAMPLE / "spe_sample.json").read_text(encoding="utf-8"))
    comp = L.run_composition(meta["parameters"])
    u = mda.Universe(str(SAMPLE / "spe_sample.psf"), str(SAMPLE / "spe_sample.xtc"))
    li, an = u.select_atoms("name Li"), u.select_atoms("name TFSI")
    assert comp["n_li"] == len(li) == 60 and comp["n_anion"] == len(an) == 60
    assert set(li.charges) == {comp["charge_li_e"]} == {1.0} and set(an.charges) == {comp["charge_anion_e"]} == {-1.0}
    volumes = [float(np.prod(ts.dimensions[:3])) for ts in u.trajectory[:3]]  # NVT: the same box in every frame
    assert comp["volume_A3"] == pytest.approx(volumes[0], rel=1e-5) and np.ptp(volumes) == 0.0
    assert comp["temperature_K"] == 300.0


def test_composition_follows_the_salt_ratio_and_density():
    # 30 chains of 40 beads: 600 ether O; eo_li_ratio 12 -> 50 Li+ and 50 anions; 1300 beads at 0.0065 Å⁻³.
    params = {"n_chains": 30, "chain_length": 40, "eo_li_ratio": 12.0, "density": 0.0065, "temperature": 350.0}
    comp = L.run_composition(params)
    assert (comp["n_li"], comp["n_anion"]) == (50, 50)
    assert comp["volume_A3"] == pytest.approx(1300 / 0.0065, rel=1e-12)
    assert comp["temperature_K"] == 350.0


def test_sigma_ne_against_numpy_and_an_analytic_case():
    comp = {"n_li": 51, "n_anion": 51, "charge_li_e": 1.0, "charge_anion_e": -1.0, "volume_A3": 191_470.6,
            "temperature_K": 300.0}
    got = L.log10_sigma_ne(comp, -0.86566337, -0.58497398)
    want = _sigma_ne_numpy([51, 51], [1, -1], [10**-0.86566337, 10**-0.58497398], 191_470.6, 300.0)
    assert got == pytest.approx(math.log10(want), abs=1e-12)
    # Analytic: N ions of each sign, both with D = 1 Å²/ps = 1e-8 m²/s, in 1e6 Å³ = 1e-24 m³ at 300 K:
    # σ = 2 N e² D / (V k_B T) = 100 · 2.56697e-38 C² · 1e-8 m²/s / (1e-24 m³ · 4.14195e-21 J) ≈ 6.19750 S/m.
    comp = {**comp, "n_li": 50, "n_anion": 50, "volume_A3": 1e6}
    assert 10 ** L.log10_sigma_ne(comp, 0.0, 0.0) == pytest.approx(6.19750, rel=1e-5)
    assert math.isnan(L.log10_sigma_ne(comp, math.nan, 0.0))


def _table(rng, n=12, n_long=8, eh_shift=None):
    """CG-like rows with D labels; σ_EH of the long runs = σ_NE · 10**eh_shift[row] (NaN where eh_shift is NaN)."""
    ids = tuple(f"c{k:02d}" for k in range(n))
    params = {}
    low = np.full((n, 3), np.nan)
    high = np.full((n, 3), np.nan)
    ne = {"low": np.full(n, np.nan), "high": np.full(n, np.nan)}
    for k, rid in enumerate(ids):
        p = {"n_chains": 10, "chain_length": 20, "eo_li_ratio": float(rng.uniform(8, 25)), "density": 0.0068}
        params[rid] = {"short": p, "long": p if k < n_long else None}
        n_ion = int(round(100 / p["eo_li_ratio"]))
        volume = (200 + 2 * n_ion) / 0.0068
        for fid, present in (("low", True), ("high", k < n_long)):
            if not present:
                continue
            d = rng.uniform(-1.5, -0.3, size=2)
            s = _sigma_ne_numpy([n_ion, n_ion], [1, -1], 10**d, volume, 300.0)
            ne[fid][k] = math.log10(s)
            arr = low if fid == "low" else high
            arr[k, 1:] = d
            arr[k, 0] = math.log10(s) + (rng.normal(0, 0.3) if fid == "low" else eh_shift[k])
    table = ExtrapolationTable(ids, (("C", "O"),) * n, "cg", ("eo",), np.array([[params[i]["short"]["eo_li_ratio"]]
                               for i in ids]), ("log10_sigma", "log10_D_Li", "log10_D_anion"), low, high, groups=ids)
    return table, params, ne


def test_relabel_fits_alpha_as_the_median_over_long_runs_and_labels_both_fidelities():
    rng = np.random.default_rng(3)
    shifts = np.array([-0.5, -0.3, -0.2, -0.15, -0.1, 2.0, math.nan, -0.25, math.nan, math.nan, math.nan, math.nan])
    table, params, ne = _table(rng, eh_shift=shifts)
    new, prov = L.relabel_sigma(table, params)
    assert prov["log10_alpha"] == pytest.approx(-0.2, abs=1e-12)  # median of the seven finite shifts of long runs
    assert prov["alpha_fit_runs"] == 7 and prov["alpha"] == pytest.approx(10**-0.2)
    assert np.allclose(new.high[:8, 0], ne["high"][:8] - 0.2, atol=1e-12, equal_nan=True)
    assert np.isfinite(new.high[6, 0])  # a long run without an Einstein-Helfand σ still gets a label
    assert np.all(np.isnan(new.high[8:, 0]))  # no long run, no label
    assert np.allclose(new.low[:, 0], ne["low"] - 0.2, atol=1e-12)
    assert np.array_equal(new.low[:, 1:], table.low[:, 1:]) and np.array_equal(new.high[:, 1:], table.high[:, 1:],
                                                                                 equal_nan=True)
    assert prov["rows"][0]["short"]["n_li"] == int(round(100 / params["c00"]["short"]["eo_li_ratio"]))


def test_relabel_refuses_a_table_without_the_d_labels():
    rng = np.random.default_rng(0)
    table, params, _ = _table(rng, eh_shift=np.zeros(12))
    only_sigma = ExtrapolationTable(table.ids, table.graphs, "cg", table.feature_names, table.features,
                                    ("log10_sigma",), table.low[:, :1], table.high[:, :1], groups=table.groups)
    with pytest.raises(ValueError, match=r"needs the tasks .*lacks \['log10_D_Li', 'log10_D_anion'\].*--tasks"):
        L.relabel_sigma(only_sigma, params)


def test_a_constant_shift_of_the_labels_moves_no_baseline_score():
    """Why α may be fitted over all long runs: log10 α shifts every σ label alike, and no score moves."""
    from trajml.extrapolation.baselines import LinearCorrection, RandomForestBaseline, cross_validate

    rng = np.random.default_rng(5)
    table, _, _ = _table(rng, n=24, n_long=16, eh_shift=rng.normal(0, 0.2, 24))
    shifted = ExtrapolationTable(table.ids, table.graphs, "cg", table.feature_names, table.features, table.tasks,
                                 table.low + [0.37, 0, 0], table.high + [0.37, 0, 0], groups=table.groups)
    forest = {"forest": lambda: RandomForestBaseline(n_estimators=20, seed=1)}
    a, b = (cross_validate(LinearCorrection, t, n_splits=4, seed=2, baselines=forest) for t in (table, shifted))
    assert a.methods == ("model", "short_run", "linear", "forest")
    assert np.all(np.isfinite(a.mae[:, :, 0]))
    assert np.allclose(a.mae[:3], b.mae[:3], rtol=0, atol=1e-12)  # short run and linear: exactly
    # The forest's splits are shift-equivariant in exact arithmetic; its sums round differently and
    # near-tied splits can flip, which moves single folds by up to ~0.02 here, not the pooled score.
    assert abs(np.mean(a.mae[3]) - np.mean(b.mae[3])) < 0.03
    assert not np.allclose(a.predictions[:, :, 0], b.predictions[:, :, 0], equal_nan=True)  # the shift was applied
