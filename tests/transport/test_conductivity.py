"""Conductivity, Onsager coefficients and transference numbers on ions with known dynamics.

Oracles: analytic Nernst–Einstein conductivities of Brownian ions with known D (exact Gaussian
increments), the vanishing current of neutral bound pairs, and direct O(T²) NumPy sums over every
time origin of the collective displacements.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import pytest

from tests.transport.conftest import brownian, write_system
from trajml.errors import MissingBoxError
from trajml.transport.conductivity import E_CHARGE_C, K_B_J_K, Conductivity

DT = 1.0  # ps
BOX = 30.0  # Å
TEMP = 300.0  # K
D_PLUS, D_MINUS = 0.1, 0.04  # Å²/ps
N_FRAMES = 2000
CHARGES = {"P": 1.0, "N": -1.0}


def sigma_ne_exact(n_d_sum: float) -> float:
    """(e²/(V k_B T)) Σ N_s q_s² D_s in S/m for unit charges; ``n_d_sum`` = Σ N_s D_s in Å²/ps."""
    return E_CHARGE_C**2 * n_d_sum * 1e-8 / (BOX**3 * 1e-30 * K_B_J_K * TEMP)


def direct_cross_msd(m: np.ndarray) -> np.ndarray:
    """⟨ΔM_i·ΔM_j⟩ over every origin by explicit sums; m (S, T, 3) -> (S, S, T)."""
    s, t = m.shape[:2]
    out = np.zeros((s, s, t))
    for lag in range(1, t):
        d = m[:, lag:] - m[:, :-lag]
        for i in range(s):
            for j in range(s):
                out[i, j, lag] = np.sum(d[i] * d[j]) / (t - lag)
    return out


@pytest.fixture(scope="module")
def free_ions(tmp_path_factory):
    """50 Brownian cations (D+) and 50 anions (D-), independent, wrapped in a 30 Å box."""
    from trajml.io import open_source

    rng = np.random.default_rng(11)
    n = 50
    d = np.concatenate([np.full(n, D_PLUS), np.full(n, D_MINUS)])
    x = brownian(rng, N_FRAMES, d, DT, BOX)
    names = np.array(["P"] * n + ["N"] * n)
    files = write_system(tmp_path_factory.mktemp("free"), x, BOX, DT, names=names)
    return open_source(*files), x, n


@pytest.fixture(scope="module")
def free_result(free_ions):
    src, _, _ = free_ions
    return Conductivity("name P", "name N", charges=CHARGES, temperature=TEMP, remove_drift=False,
                        fit_start=2.0, fit_stop=40.0, n_blocks=10).run(src)


@pytest.fixture(scope="module")
def paired_ions(tmp_path_factory):
    """60 cations and 60 anions; the first 40 anions ride on their cation (offset + bounded jitter)."""
    from trajml.io import open_source

    rng = np.random.default_rng(7)
    n, n_pair = 60, 40
    cat = brownian(rng, N_FRAMES, np.full(n, D_PLUS), DT, BOX)
    free_an = brownian(rng, N_FRAMES, np.full(n - n_pair, D_MINUS), DT, BOX)
    offset = rng.normal(size=(n_pair, 3))
    offset *= 4.0 / np.linalg.norm(offset, axis=1, keepdims=True)
    bound = cat[:, :n_pair] + offset[None] + rng.normal(scale=0.3, size=(N_FRAMES, n_pair, 3))
    x = np.concatenate([cat, bound, free_an], axis=1)
    names = np.array(["P"] * n + ["N"] * n)
    files = write_system(tmp_path_factory.mktemp("pairs"), x, BOX, DT, names=names)
    return open_source(*files), n, n_pair


# -- independent ions ----------------------------------------------------------------------------
def test_free_ions_match_nernst_einstein_and_theory(free_result, free_ions):
    _, _, n = free_ions
    res = free_result
    exact = sigma_ne_exact(n * D_PLUS + n * D_MINUS)
    assert res.species == ("P", "N") and res.charge_source == "given" and list(res.n_ions) == [n, n]
    assert res.volume_A3 == pytest.approx(BOX**3, rel=1e-5) and res.temperature_source == "given"
    assert np.all(np.abs(res.D_A2_ps - [D_PLUS, D_MINUS]) < 3 * res.D_err_A2_ps)
    assert abs(res.sigma_NE_S_m - exact) < 3 * res.sigma_NE_err_S_m
    assert 0 < res.sigma_err_S_m < 0.3 * res.sigma_S_m
    assert abs(res.sigma_S_m - exact) < 3 * res.sigma_err_S_m
    assert abs(res.sigma_S_m - res.sigma_NE_S_m) < 3 * np.hypot(res.sigma_err_S_m, res.sigma_NE_err_S_m)
    assert abs(res.ionicity - 1.0) < 3 * res.ionicity_err
    t_exact = D_PLUS / (D_PLUS + D_MINUS)
    assert abs(res.transference - t_exact) < 3 * res.transference_err
    assert abs(res.transference_NE - t_exact) < 3 * res.transference_NE_err
    # no correlations: distinct parts vanish within error, cross term too
    assert np.all(np.abs(res.L_distinct_mol2_J_m_s) < 3.5 * res.L_distinct_err_mol2_J_m_s)
    # units
    assert res.sigma_mS_cm == pytest.approx(10 * res.sigma_S_m)
    assert np.allclose(res.D_cm2_s, 1e-4 * res.D_A2_ps)
    assert res.units["sigma_S_m"] == "S/m" and res.units["L_mol2_J_m_s"] == "mol^2/(J m s)"
    assert res.window_method == "given" and res.n_fit_points == 39 and res.n_blocks == 10


def test_onsager_sum_equals_einstein_helfand(free_result):
    res = free_result
    assert res.sigma_onsager_S_m == pytest.approx(res.sigma_S_m, rel=1e-9)
    assert res.sigma_ij_S_m.sum() == pytest.approx(res.sigma_S_m, rel=1e-9)
    qq = np.outer(res.charges_e, res.charges_e)
    total = np.einsum("ij,ijt->t", qq, res.collective_msd_A2)
    assert np.allclose(total, res.charge_msd_e2A2, rtol=1e-8, atol=1e-8 * res.charge_msd_e2A2.max())
    assert res.collective_msd_A2[0, 1] == pytest.approx(res.collective_msd_A2[1, 0])


def test_collective_msd_matches_direct_sums(free_result, free_ions):
    _, x, n = free_ions
    sums = np.stack([x[:, :n].sum(axis=1), x[:, n:].sum(axis=1)])  # (2, T, 3), lab frame
    expected = direct_cross_msd(sums[:, :400])
    from trajml.transport._onsager import cross_msd_fft

    # the kernel against explicit sums on exact data
    assert np.allclose(cross_msd_fft(sums[:, :400]), expected, rtol=1e-9, atol=1e-6)
    # the full pipeline (float32 file, unwrapped) against explicit sums over the whole run
    full = direct_cross_msd(sums)
    got = free_result.collective_msd_A2
    assert np.allclose(got[..., 1:], full[..., 1:], rtol=1e-4, atol=1e-3 * full.max())


def test_drift_removal_keeps_sigma_and_gives_barycentric_transference(free_ions, free_result):
    src, _, _ = free_ions
    res = Conductivity("name P", "name N", charges=CHARGES, temperature=TEMP, remove_drift=True,
                       fit_start=2.0, fit_stop=40.0).run(src)
    assert res.drift_removed and res.n_blocks == 5
    assert res.sigma_S_m == pytest.approx(free_result.sigma_S_m, rel=1e-6)  # electroneutral: frame-independent
    # ions only, equal masses: M+ + M- = 0 in the barycentric frame, hence t+ = 1/2 exactly
    assert res.transference == pytest.approx(0.5, abs=1e-6)


def test_auto_window_and_threads(free_ions, free_result):
    src, _, _ = free_ions
    res = Conductivity("name P", "name N", charges={"cation": 1, "anion": -1}, temperature=TEMP,
                       remove_drift=False, block_size=30).run(src, scheduler="threads", n_workers=2)
    assert res.window_method == "auto"
    assert res.fit_stop_ps <= N_FRAMES // 5 * DT and res.n_fit_points >= 5
    exact = sigma_ne_exact(50 * (D_PLUS + D_MINUS))
    assert abs(res.sigma_NE_S_m - exact) < 3 * res.sigma_NE_err_S_m
    assert abs(res.sigma_S_m - exact) < 3 * res.sigma_err_S_m


# -- bound pairs ---------------------------------------------------------------------------------
def test_bound_pairs_carry_no_current(paired_ions):
    src, n, n_pair = paired_ions
    res = Conductivity("name P", "name N", charges=CHARGES, temperature=TEMP, remove_drift=False,
                       fit_start=5.0, fit_stop=60.0, n_blocks=10).run(src)
    free = n - n_pair
    sigma_theory = sigma_ne_exact(free * D_PLUS + free * D_MINUS)
    ne_theory = sigma_ne_exact(n * D_PLUS + n_pair * D_PLUS + free * D_MINUS)
    assert res.sigma_S_m < res.sigma_NE_S_m - 3 * np.hypot(res.sigma_err_S_m, res.sigma_NE_err_S_m)
    assert abs(res.sigma_S_m - sigma_theory) < 3 * res.sigma_err_S_m
    assert abs(res.sigma_NE_S_m - ne_theory) < 3 * res.sigma_NE_err_S_m
    ionicity = sigma_theory / ne_theory
    assert 0 < res.ionicity < 1 and abs(res.ionicity - ionicity) < 3 * res.ionicity_err
    t_theory = D_PLUS / (D_PLUS + D_MINUS)  # only free ions carry current
    assert abs(res.transference - t_theory) < 3 * res.transference_err
    t_ne = (n * D_PLUS) / (n * D_PLUS + n_pair * D_PLUS + free * D_MINUS)
    assert abs(res.transference_NE - t_ne) < 3 * res.transference_NE_err
    # pairs move together: a positive cation-anion correlation
    assert res.L_mol2_J_m_s[0, 1] > 3 * res.L_err_mol2_J_m_s[0, 1]


# -- the kernel on a small case ------------------------------------------------------------------
def test_cross_msd_kernel_small_case():
    from trajml.transport._onsager import cross_msd_direct, cross_msd_fft

    rng = np.random.default_rng(3)
    m = np.cumsum(rng.normal(size=(3, 57, 3)), axis=1) + 100.0
    expected = direct_cross_msd(m)
    assert np.allclose(cross_msd_fft(m), expected, rtol=1e-10, atol=1e-9)
    assert np.allclose(cross_msd_direct(m), expected, rtol=1e-12, atol=1e-12)
    batched = cross_msd_fft(np.stack([m, 2 * m]))
    assert np.allclose(batched[1], 4 * expected, rtol=1e-10, atol=1e-8)


# -- the sample ----------------------------------------------------------------------------------
def test_sample_reads_charges_and_temperature(sample_source):
    res = Conductivity("name Li", "name TFSI").run(sample_source)
    assert res.species == ("Li", "TFSI") and list(res.charges_e) == [1.0, -1.0]
    assert res.charge_source == "topology" and res.temperature_source == "metadata" and res.temperature_K == 300.0
    assert list(res.n_ions) == [60, 60] and res.volume_A3 == pytest.approx(66.94329500821694**3, rel=1e-4)
    assert res.sigma_S_m > 0 and res.sigma_NE_S_m > 0 and 0 < res.transference_NE < 1
    assert np.isfinite([res.sigma_err_S_m, res.transference_err, res.ionicity_err]).all()
    json.dumps(res.to_dict())


def test_cli_writes_json(tmp_path, sample_source):
    from trajml.cli import transport

    parser = argparse.ArgumentParser()
    transport.register(parser.add_subparsers())
    out = tmp_path / "transport.json"
    args = parser.parse_args(["transport", "--cation", "name Li", "--anion", "name TFSI", "--charges", "Li=1",
                              "TFSI=-1", "--fit-start", "50", "--fit-stop", "250", "--no-progress", "-o", str(out)])
    assert args.func(args) == 0
    data = json.loads(out.read_text())
    # The keys are the Python attribute names (value, then its error with _err_ before the unit).
    for key, err in (("D_cm2_s", "D_err_cm2_s"), ("sigma_NE_S_m", "sigma_NE_err_S_m"), ("sigma_S_m", "sigma_err_S_m"),
                     ("transference_NE", "transference_NE_err"), ("transference", "transference_err")):
        assert np.all(np.isfinite(data[key])) and np.all(np.isfinite(data[err]))
    assert data["sigma_mS_cm"] == pytest.approx(data["sigma_S_m"] * 10)
    assert data["temperature_K"] == 300.0 and data["fit_start_ps"] == 50.0 and data["fit_stop_ps"] == 250.0
    assert "L_mol2_J_m_s" in data and "ionicity" in data and "units" in data
    with pytest.raises(ValueError, match=r"NAME=CHARGE.*'Li'"):
        transport.parse_charges(["Li"])


@pytest.mark.parametrize("n_blocks, warns", [(2, True), (6, False)])
def test_block_count_beside_sigma_error_and_few_blocks_warn(free_ions, n_blocks, warns):
    src, _, _ = free_ions
    res = Conductivity("name P", "name N", charges=CHARGES, temperature=TEMP, remove_drift=False, fit_start=2.0,
                       fit_stop=40.0, n_blocks=n_blocks).run(src, progress=False)
    assert res.n_blocks == n_blocks and res.error_method == "blocks"
    assert res.block_ps == pytest.approx(N_FRAMES // n_blocks * DT)
    if warns:
        assert res.warnings == ("σ (and L_ij, t₊) error from 2 time blocks: not a reliable uncertainty (fewer "
                                "than 5); use more blocks, a shorter fit window or replicas",)
    else:
        assert res.warnings == ()
    assert json.loads(res.to_json())["warnings"] == list(res.warnings)


def test_cli_prints_block_count_and_warns_once(tmp_path, free_ions, capsys):
    from trajml.cli import main

    src, _, _ = free_ions
    member = src.members[0]
    out = tmp_path / "t.json"
    rc = main(["transport", member.topology, *member.parts, "--cation", "name P", "--anion", "name N",
               "--charges", "P=1", "N=-1", "--temperature", "300", "--keep-drift", "--fit-start", "2",
               "--fit-stop", "40", "--n-blocks", "2", "--no-progress", "-o", str(out)])
    assert rc == 0
    captured = capsys.readouterr()
    assert "mS/cm (2 time blocks)" in captured.out
    assert captured.err.count("error from 2 time blocks: not a reliable uncertainty") == 1


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Reader has no dt information")
def test_wrapped_coordinates_without_box(tmp_path):
    import MDAnalysis as mda

    from tests.transport.conftest import write_psf
    from trajml.io import open_source

    rng = np.random.default_rng(0)
    x = np.mod(brownian(rng, 30, np.full(4, 0.1), DT, BOX), BOX)
    psf, xyz = str(tmp_path / "nobox.psf"), str(tmp_path / "nobox.xyz")
    write_psf(psf, np.array(["P", "P", "N", "N"]), np.arange(1, 5), np.ones(4))
    u = mda.Universe(psf)
    with mda.Writer(xyz, 4) as w:
        for t in range(x.shape[0]):
            u.load_new(x[t][None].astype(np.float32))
            w.write(u.atoms)
    src = open_source(psf, xyz)
    with pytest.raises(MissingBoxError, match="needs unwrapped coordinates.*no periodic box at frame 0"):
        Conductivity("name P", "name N", charges=CHARGES, temperature=TEMP, remove_drift=False).run(src)
    with pytest.raises(ValueError, match=r"needs the volume.*has no box: pass volume="):
        Conductivity("name P", "name N", charges=CHARGES, temperature=TEMP, remove_drift=False,
                     unwrap=False).run(src)


def test_fit_window_outside_data_or_too_short(free_ions):
    src, _, _ = free_ions
    kw = {"charges": CHARGES, "temperature": TEMP, "remove_drift": False}
    with pytest.raises(ValueError, match=r"'fit_start' parameter of Conductivity .* Got 5000 ps instead \(the data "
                                         r"end at 1999 ps\)"):
        Conductivity("name P", "name N", fit_start=5000.0, fit_stop=6000.0, **kw).run(src)
    with pytest.raises(ValueError, match=r"'fit_stop' .* Got 3000 ps instead \(the data end at 1999 ps\)"):
        Conductivity("name P", "name N", fit_start=10.0, fit_stop=3000.0, **kw).run(src)
    with pytest.raises(ValueError, match=r"window \[10, 12.5\] ps holds 3 lags \(lag step 1 ps\).*min_points=5"):
        Conductivity("name P", "name N", fit_start=10.0, fit_stop=12.5, **kw).run(src)
    with pytest.raises(ValueError, match=r"ends at 1500 ps, beyond 999 ps: block errors need at least 2 time blocks"):
        Conductivity("name P", "name N", fit_start=10.0, fit_stop=1500.0, **kw).run(src)
    long = Conductivity("name P", "name N", fit_start=10.0, fit_stop=800.0, **kw).run(src)
    assert long.n_blocks == 2 and long.block_ps == pytest.approx(1000.0)  # fewer, longer blocks hold the window
    with pytest.raises(ValueError, match="'fit_start' and 'fit_stop' parameters of Conductivity go together"):
        Conductivity("name P", "name N", fit_start=10.0)


def test_missing_charges_say_how_to_give_them(free_ions):
    src, _, _ = free_ions
    how = r"charges=\{'P': 1.0, 'N': -1.0\} \(CLI: --charges P=1 N=-1\)"
    # the generated topology carries charges of 0 e
    with pytest.raises(ValueError, match=r"cation species 'P' .* has charge 0 e \(read from .*" + how):
        Conductivity("name P", "name N", temperature=TEMP, remove_drift=False).run(src)
    # a topology without charges at all
    no_charges = dataclasses.replace(src.atoms, charges=None)
    src_nq = type(src).__new__(type(src))
    src_nq.__dict__.update(src.__dict__)
    src_nq._atoms = no_charges
    with pytest.raises(ValueError, match=r"needs the charge of the cation species 'P'.*carries no charges.*" + how):
        Conductivity("name P", "name N", temperature=TEMP, remove_drift=False).run(src_nq)
    with pytest.raises(ValueError, match=r"gives no charge for the anion species 'N'.*" + how):
        Conductivity("name P", "name N", charges={"P": 1.0}, temperature=TEMP, remove_drift=False).run(src)
    with pytest.raises(ValueError, match=r"names \['X'\], which match no species"):
        Conductivity("name P", "name N", charges={"P": 1.0, "N": -1.0, "X": 2.0}, temperature=TEMP,
                     remove_drift=False).run(src)
    with pytest.raises(ValueError, match=r"anion species 'N' .* has charge 1 e \(given\); Conductivity needs a "
                                         r"negative charge"):
        Conductivity("name P", "name N", charges={"P": 1.0, "N": 1.0}, temperature=TEMP, remove_drift=False).run(src)


def test_temperature_zero_or_missing(free_ions):
    src, _, _ = free_ions
    with pytest.raises(ValueError, match=r"'temperature' parameter of Conductivity must be a float in \(1, 10000\) K "
                                         r"or None. Got 0.0 instead"):
        Conductivity("name P", "name N", charges=CHARGES, temperature=0.0)
    with pytest.raises(ValueError, match=r"needs the temperature in K: pass temperature=\.\.\. "
                                         r"\(CLI: --temperature K\)"):
        Conductivity("name P", "name N", charges=CHARGES, remove_drift=False).run(src)


def test_overlapping_selections(free_ions):
    src, _, _ = free_ions
    with pytest.raises(ValueError, match=r"The 'cation' \('name P'\) and 'anion' \('all'\) selections of Conductivity "
                                         r"share 50 atoms \(topology indices 0-49\); give disjoint selections"):
        Conductivity("name P", "all", charges=CHARGES, temperature=TEMP).run(src)
