"""Conductivity of systems with any number of ionic species, molecular ions and divalent ions.

Oracles: a direct NumPy Einstein–Helfand computation on centre-of-mass positions that MDAnalysis
unwraps (its NoJump transformation) and groups (``center_of_mass(compound="fragments")``), with the
charges MDAnalysis sums per fragment; the analytic Nernst–Einstein conductivity of independent
Brownian ions; and, for the binary sugar, the same analysis written with ``species``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.transport.conftest import brownian, write_system
from trajml.errors import EmptySelectionError, InvalidParameterError
from trajml.transport.conductivity import E_CHARGE_C, K_B_J_K, N_A_MOL, Conductivity

DT = 1.0  # ps
BOX = 24.0  # Å
TEMP = 300.0  # K
N_FRAMES = 240
WINDOW = {"fit_start": 4.0, "fit_stop": 40.0}
# species: atoms of one molecule (names, charges in e, masses in amu), molecules, D in Å²/ps
LAYOUT = {
    "LI": (("LI",), (1.0,), (6.94,), 12, 0.15),
    "MG": (("MG",), (2.0,), (24.3,), 6, 0.05),
    "TF": (("N1", "O1", "O2"), (-0.6, -0.2, -0.2), (14.0, 16.0, 16.0), 24, 0.08),
    "SOL": (("OW", "HW"), (-0.4, 0.4), (16.0, 1.0), 10, 0.2),  # neutral solvent: moves the barycentre only
}
SPECIES = {"LI": "name LI", "MG": "name MG", "TF": "resname TF"}


def build_system(rng: np.random.Generator, scale: float = 1.0):
    """Molecules as rigid shapes on Brownian centres; the first TF anions ride on the MG ions (paired).

    Returns unwrapped positions (T, N, 3) in Å and the topology arrays (names, resids, resnames,
    charges in e times ``scale``, masses, bonds).
    """
    names, resids, resnames, charges, masses, bonds, paths = [], [], [], [], [], [], []
    centres = {}
    for res, (atom_names, q, m, n_mol, d) in LAYOUT.items():
        centres[res] = brownian(rng, N_FRAMES, np.full(n_mol, d), DT, BOX)
    n_pair = LAYOUT["MG"][3]
    offset = rng.normal(size=(n_pair, 3))
    offset *= 3.5 / np.linalg.norm(offset, axis=1, keepdims=True)
    centres["TF"][:, :n_pair] = centres["MG"] + offset[None] + rng.normal(scale=0.2, size=(N_FRAMES, n_pair, 3))
    atom = mol = 0
    for res, (atom_names, q, m, n_mol, d) in LAYOUT.items():
        shape = rng.normal(scale=0.8, size=(len(atom_names), 3))
        for k in range(n_mol):
            mol += 1
            jitter = rng.normal(scale=0.05, size=(N_FRAMES, len(atom_names), 3))
            paths.append(centres[res][:, k, None, :] + shape[None] + jitter)
            first = atom
            for a, name in enumerate(atom_names):
                names.append(name)
                resids.append(mol)
                resnames.append(res)
                charges.append(q[a] * (scale if res != "SOL" else 1.0))
                masses.append(m[a])
                if a:
                    bonds.append((first, atom))
                atom += 1
    x = np.concatenate(paths, axis=1)
    return x, dict(names=np.array(names), resids=np.array(resids), resnames=np.array(resnames),
                   charges=np.array(charges), masses=np.array(masses), bonds=bonds)


@pytest.fixture(scope="module")
def ionic_mix(tmp_path_factory):
    """Li⁺, Mg²⁺ and a 3-atom anion with partial charges (plus a neutral solvent), bonded, in a 24 Å box."""
    from trajml.io import open_source

    x, top = build_system(np.random.default_rng(5))
    folder = tmp_path_factory.mktemp("mix")
    files = write_system(folder, x, BOX, DT, **top)
    no_bonds = write_system(folder, x, BOX, DT, stem="nobonds", **{**top, "bonds": ()})
    return open_source(*files), files, open_source(*no_bonds)


@pytest.fixture(scope="module")
def mix_result(ionic_mix):
    src = ionic_mix[0]
    return Conductivity(species=SPECIES, per_molecule=True, temperature=TEMP, n_blocks=5, **WINDOW).run(
        src, progress=False)


def mdanalysis_oracle(files, species, *, dt=DT, temperature=TEMP, window=WINDOW):
    """σ (S/m), L_ij (mol²/(J m s)), charges and collective MSDs by MDAnalysis and NumPy alone.

    Centres of mass of each species' fragments from MDAnalysis-unwrapped (NoJump) atoms, in the
    barycentric frame (the whole system's centre-of-mass displacement subtracted), the charge
    displacement ``Σ q ΔR`` and ``⟨|Σ q ΔR|²⟩`` over every time origin, fitted over the same window.
    """
    import MDAnalysis as mda
    from MDAnalysis.transformations.nojump import NoJump

    u = mda.Universe(*files)
    u.trajectory.add_transformations(NoJump())
    groups = [u.select_atoms(sel) for sel in species.values()]
    q = [g.total_charge(compound="fragments") for g in groups]
    com = [[] for _ in groups]
    bary, volumes = [], []
    for ts in u.trajectory:
        volumes.append(np.prod(ts.dimensions[:3].astype(np.float64)))
        bary.append(u.atoms.center_of_mass())
        for k, g in enumerate(groups):
            com[k].append(g.center_of_mass(compound="fragments"))
    bary = np.array(bary)
    drift = bary - bary[0]
    m = np.stack([(np.array(c) - drift[:, None, :]).sum(axis=1) for c in com])  # (S, T, 3)
    charges = np.array([qs[0] for qs in q])
    current = np.einsum("s,stk->tk", charges, m)
    n_t = m.shape[1]
    lag = np.arange(n_t) * dt
    charge_msd = np.zeros(n_t)
    cross = np.zeros((len(groups), len(groups), n_t))
    for k in range(1, n_t):
        dj = current[k:] - current[:-k]
        charge_msd[k] = np.mean(np.sum(dj * dj, axis=1))
        dm = m[:, k:] - m[:, :-k]
        cross[..., k] = np.einsum("itc,jtc->ij", dm, dm) / (n_t - k)
    win = (lag >= window["fit_start"] - 1e-6) & (lag <= window["fit_stop"] + 1e-6)
    volume_m3 = np.mean(volumes) * 1e-30
    to_si = 1e-8 / (6.0 * volume_m3 * K_B_J_K * temperature)  # Å²/ps over 6 V kB T -> 1/(J m s)
    sigma = E_CHARGE_C**2 * to_si * np.polyfit(lag[win], charge_msd[win], 1)[0]
    big_l = np.array([[np.polyfit(lag[win], cross[i, j, win], 1)[0] for j in range(len(groups))]
                      for i in range(len(groups))]) * to_si / N_A_MOL**2
    return {"sigma": sigma, "L": big_l, "charges": charges, "q_per_fragment": q, "charge_msd": charge_msd,
            "n": [len(c[0]) for c in com]}


# -- three ionic species against MDAnalysis + NumPy ------------------------------------------------
def test_three_species_match_mdanalysis_einstein_helfand(ionic_mix, mix_result):
    _, files, _ = ionic_mix
    res = mix_result
    oracle = mdanalysis_oracle(files, SPECIES)
    assert res.species == ("LI", "MG", "TF") and res.charge_source == "topology"
    assert list(res.n_ions) == oracle["n"] == [12, 6, 24]
    assert all(np.allclose(qs, qs[0], atol=1e-6) for qs in oracle["q_per_fragment"])
    assert np.allclose(res.charges_e, oracle["charges"], atol=1e-6)  # +1, +2 (divalent), -1 (3 partial charges)
    assert res.sigma_S_m == pytest.approx(oracle["sigma"], rel=1e-4)
    assert np.allclose(res.charge_msd_e2A2, oracle["charge_msd"], rtol=1e-4, atol=1e-4 * oracle["charge_msd"].max())
    scale = np.abs(oracle["L"]).max()
    assert np.allclose(res.L_mol2_J_m_s, oracle["L"], rtol=1e-4, atol=1e-5 * scale)
    assert res.L_mol2_J_m_s.shape == (3, 3) and res.sigma_onsager_S_m == pytest.approx(res.sigma_S_m, rel=1e-9)
    # transference numbers of each species from the oracle's L
    zz = np.outer(oracle["charges"], oracle["charges"])
    t_oracle = (zz * oracle["L"]).sum(axis=1) / (zz * oracle["L"]).sum()
    assert np.allclose(res.transference_species, t_oracle, rtol=1e-3, atol=1e-4)
    assert res.transference == pytest.approx(t_oracle[0] + t_oracle[1], rel=1e-3)
    assert res.transference_species.sum() == pytest.approx(1.0, abs=1e-9)
    assert res.transference_NE_species.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.all(np.isfinite(res.transference_species_err)) and np.all(res.transference_species_err > 0)
    assert res.n_blocks == 5 and res.warnings == () and res.per_molecule


def test_residues_without_bonds_are_the_molecules(ionic_mix, mix_result):
    res = Conductivity(species=SPECIES, per_molecule=True, temperature=TEMP, n_blocks=5, **WINDOW).run(
        ionic_mix[2], progress=False)
    assert list(res.n_ions) == [12, 6, 24]
    assert res.sigma_S_m == pytest.approx(mix_result.sigma_S_m, rel=1e-10)
    assert np.allclose(res.L_mol2_J_m_s, mix_result.L_mol2_J_m_s, rtol=1e-10)


def test_charges_given_per_species_and_curves_and_figure(ionic_mix, mix_result):
    from trajml.plotting import plot_transport

    res = Conductivity(species=SPECIES, per_molecule=True, charges={"LI": 1, "MG": 2, "TF": -1}, temperature=TEMP,
                       n_blocks=5, **WINDOW).run(ionic_mix[0], progress=False)
    assert res.charge_source == "given" and list(res.charges_e) == [1.0, 2.0, -1.0]
    assert res.sigma_S_m == pytest.approx(mix_result.sigma_S_m, rel=1e-6)  # the PSF's partial charges: float32
    by_atom = Conductivity(species=SPECIES, per_molecule=True, temperature=TEMP, n_blocks=5, **WINDOW,
                           charges={"LI": 1, "MG": 2, "N1": -0.6, "O1": -0.2, "O2": -0.2}).run(ionic_mix[0],
                                                                                              progress=False)
    assert by_atom.charges_e == pytest.approx([1.0, 2.0, -1.0], abs=1e-12)  # atom charges summed per molecule
    cols = res.curves()
    assert list(cols) == ["lag_ps", "self_msd_LI_A2", "self_msd_MG_A2", "self_msd_TF_A2", "collective_msd_LI_LI_A2",
                          "collective_msd_LI_MG_A2", "collective_msd_LI_TF_A2", "collective_msd_MG_MG_A2",
                          "collective_msd_MG_TF_A2", "collective_msd_TF_TF_A2", "charge_msd_e2A2"]
    assert np.array_equal(cols["collective_msd_MG_TF_A2"], res.collective_msd_A2[1, 2])
    import matplotlib.pyplot as plt

    fig = plot_transport(res)
    assert len(fig.axes) >= 2
    plt.close(fig)
    data = json.loads(res.to_json())
    assert data["species"] == ["LI", "MG", "TF"] and len(data["transference_species"]) == 3


def test_cli_species(ionic_mix, tmp_path, capsys):
    from trajml.cli import main

    _, (top, traj), _ = ionic_mix
    out = tmp_path / "mix.json"
    rc = main(["transport", top, traj, "--species", "LI=name LI", "MG=name MG", "TF=resname TF", "--per-molecule",
               "--temperature", "300", "--fit-start", "4", "--fit-stop", "40", "--no-progress", "-o", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["species"] == ["LI", "MG", "TF"] and data["charges_e"] == pytest.approx([1, 2, -1])
    printed = capsys.readouterr().out
    assert "12 LI (+1 e) + 6 MG (+2 e) + 24 TF (-1 e)" in printed
    assert "per species: t_LI = " in printed and "(5 time blocks)" in printed


def test_species_that_are_not_electroneutral_warn(ionic_mix):
    res = Conductivity(species={"LI": "name LI", "TF": "resname TF"}, per_molecule=True, temperature=TEMP,
                       **WINDOW).run(ionic_mix[0], progress=False)
    assert res.warnings == ("the species carry a net charge of -12 e (not electroneutral): σ then depends on the "
                            "reference frame; check that every ionic species is given",)


# -- divalent salt against analytic Nernst–Einstein -------------------------------------------------
def test_divalent_salt_matches_nernst_einstein_theory(tmp_path):
    from trajml.io import open_source

    rng = np.random.default_rng(21)
    n, d_mg, d_cl, frames, box = 30, 0.05, 0.12, 1500, 30.0
    d = np.concatenate([np.full(n, d_mg), np.full(2 * n, d_cl)])
    x = brownian(rng, frames, d, DT, box)
    names = np.array(["MG"] * n + ["CL"] * (2 * n))
    charges = np.array([2.0] * n + [-1.0] * (2 * n))
    src = open_source(*write_system(tmp_path, x, box, DT, names=names, charges=charges))
    res = Conductivity(species={"Mg": "name MG", "Cl": "name CL"}, temperature=TEMP, remove_drift=False,
                       fit_start=2.0, fit_stop=30.0, n_blocks=10).run(src, progress=False)
    pref = E_CHARGE_C**2 * 1e-8 / (box**3 * 1e-30 * K_B_J_K * TEMP)
    exact = pref * (n * 4 * d_mg + 2 * n * d_cl)
    assert list(res.charges_e) == [2.0, -1.0] and list(res.n_ions) == [n, 2 * n]
    assert abs(res.sigma_NE_S_m - exact) < 3 * res.sigma_NE_err_S_m
    assert abs(res.sigma_S_m - exact) < 3 * res.sigma_err_S_m
    t_exact = 4 * n * d_mg / (4 * n * d_mg + 2 * n * d_cl)
    assert abs(res.transference_NE - t_exact) < 3 * res.transference_NE_err
    assert abs(res.transference - t_exact) < 3 * res.transference_err
    assert res.transference_species[0] == res.transference


# -- the binary sugar ------------------------------------------------------------------------------
def test_cation_anion_is_sugar_for_two_species(sample_source):
    old = Conductivity("name Li", "name TFSI", fit_start=5.0, fit_stop=25.0, n_blocks=3).run(sample_source,
                                                                                             progress=False)
    new = Conductivity(species={"Li": "name Li", "TFSI": "name TFSI"}, fit_start=5.0, fit_stop=25.0,
                       n_blocks=3).run(sample_source, progress=False)
    a, b = old.to_dict(), new.to_dict()
    for key, value in a.items():
        if isinstance(value, (float, list)) and key not in ("selections", "species", "warnings"):
            assert np.array_equal(np.asarray(value), np.asarray(b[key]), equal_nan=True), key
        elif key != "provenance":
            assert value == b[key], key
    assert old.transference == old.transference_species[0] and old.warnings[0].startswith("σ (and L_ij, t₊) error "
                                                                                          "from 3 time blocks")


# -- bad input -------------------------------------------------------------------------------------
def test_scaled_charges_need_a_declared_scale(tmp_path):
    from trajml.io import open_source

    x, top = build_system(np.random.default_rng(5), scale=0.8)
    src = open_source(*write_system(tmp_path, x, BOX, DT, **top))
    kw = {"species": SPECIES, "per_molecule": True, "temperature": TEMP, **WINDOW}
    with pytest.raises(ValueError, match=r"charges of the species 'LI' \(selection 'name LI'\) in '.*' sum to 0\.8 "
                                         r"e per particle: no charge_scale is declared.*charge_scale=0\.8 \(CLI: "
                                         r"--charge-scale 0\.8\).*charges=\{'LI': 1.0, 'MG': 2.0, 'TF': -1.0\}"):
        Conductivity(**kw).run(src, progress=False)
    with pytest.raises(ValueError, match=r"'LI'.*sum to 0\.8 e per particle: with charge_scale=0\.7 it must be an "
                                         r"integer times 0\.7"):
        Conductivity(charge_scale=0.7, **kw).run(src, progress=False)
    res = Conductivity(charge_scale=0.8, **kw).run(src, progress=False)
    assert np.allclose(res.charges_e, [0.8, 1.6, -0.8]) and res.charge_scale == 0.8


def test_bad_species(ionic_mix):
    src = ionic_mix[0]
    kw = {"per_molecule": True, "temperature": TEMP, **WINDOW}
    with pytest.raises(ValueError, match=r"The species\['LI'\] \('name LI'\) and species\['ALL'\] \('resname LI "
                                         r"or name MG'\) selections of Conductivity share 12 atoms \(topology "
                                         r"indices 0-11\); give disjoint selections"):
        Conductivity(species={"LI": "name LI", "ALL": "resname LI or name MG"}, **kw).run(src)
    with pytest.raises(EmptySelectionError, match=r"Species 'NA' of Conductivity has no atoms: Selection 'name NA' "
                                                  r"matched no atom"):
        Conductivity(species={"LI": "name LI", "NA": "name NA", "TF": "resname TF"}, **kw).run(src)
    with pytest.raises(ValueError, match=r"particles of the species 'ION' \(selection 'name MG or resname TF'\) "
                                         r"carry different charges: -1, 2 e"):
        Conductivity(species={"LI": "name LI", "ION": "name MG or resname TF"}, **kw).run(src)
    # partial charges without per_molecule: the message points at it
    with pytest.raises(ValueError, match=r"species 'TF' .* carry different charges: -0.6, -0.2 e.*pass "
                                         r"per_molecule=True \(CLI: --per-molecule\)"):
        Conductivity(species=SPECIES, temperature=TEMP, **WINDOW).run(src)
    with pytest.raises(ValueError, match=r"species 'SOL' \(selection 'resname SOL'\) has charge 0 e.*neutral species"):
        Conductivity(species={**SPECIES, "SOL": "resname SOL"}, **kw).run(src)
    with pytest.raises(InvalidParameterError, match="either 'species' or 'cation'/'anion', not both"):
        Conductivity("name LI", species=SPECIES)
    with pytest.raises(InvalidParameterError, match=r"'species' parameter of Conductivity must be a mapping of at "
                                                    r"least two species"):
        Conductivity(species={"LI": "name LI"})


def test_charge_scale_declared_in_the_run_metadata(tmp_path):
    """A scaled-charge run of ``trajml simulate`` declares its scaling; Conductivity uses it and says so."""
    import json
    import os

    from trajml.io import open_source

    x, top = build_system(np.random.default_rng(5), scale=0.8)
    files = write_system(tmp_path, x, BOX, DT, **top)
    meta = os.path.splitext(files[0])[0] + ".json"
    with open(meta, "w", encoding="utf-8") as fh:
        json.dump({"parameters": {"charge_scale": 0.8, "temperature": TEMP}}, fh)
    kw = {"species": SPECIES, "per_molecule": True, **WINDOW}
    res = Conductivity(**kw).run(open_source(*files), progress=False)
    assert np.allclose(res.charges_e, [0.8, 1.6, -0.8]) and res.charge_scale == 0.8
    assert "charge_scale=0.8 declared in" in res.charge_source and res.temperature_source == "metadata"
    # A value given in Python wins over the file.
    with pytest.raises(ValueError, match=r"with charge_scale=0\.7 it must be an integer times 0\.7"):
        Conductivity(charge_scale=0.7, **kw).run(open_source(*files), progress=False)


def test_a_metadata_temperature_outside_the_physical_range_is_refused(tmp_path):
    import json
    import os

    from trajml.io import open_source

    x, top = build_system(np.random.default_rng(5))
    files = write_system(tmp_path, x, BOX, DT, **top)
    with open(os.path.splitext(files[0])[0] + ".json", "w", encoding="utf-8") as fh:
        json.dump({"parameters": {"temperature": 1e-30}}, fh)
    with pytest.raises(ValueError, match=r"The temperature 1e-30 K in '.*sys\.json' is outside \(1, 10000\) K; fix "
                                         r"the file or pass temperature=\.\.\. \(CLI: --temperature K\)"):
        Conductivity(species=SPECIES, per_molecule=True, **WINDOW).run(open_source(*files), progress=False)
