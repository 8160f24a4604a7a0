"""
Temperature sweep: Arrhenius and VFT fits of diffusion coefficients
===================================================================

Five systems of Brownian particles whose diffusion coefficient follows a Vogel–Fulcher–Tammann law
with known parameters are written as PDB + DCD files, read back and analysed as any trajectory
would be: MSD, D with its standard error, then Arrhenius and VFT fits across temperatures with
:func:`trajml.transport.arrhenius_fit` and :func:`trajml.transport.vft_fit`. The VFT fit recovers
the law the trajectories were made with; the Arrhenius fit gives an apparent activation energy.
A pipeline with three or more systems at different ``metadata: {temperature: K}`` makes the same fits
in its report.

Run: python examples/temperature_sweep.py   (writes sweep_*.pdb/.dcd in a temporary folder)
"""

import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import MDAnalysis as mda
import numpy as np

from trajml.io import open_source
from trajml.transport import MSD, Diffusion, arrhenius_fit, vft_fit

TEMPERATURES = np.array([300.0, 330.0, 360.0, 390.0, 420.0])  # K
A_TRUE, B_TRUE, T0_TRUE = 0.5, 600.0, 200.0                    # D in Å²/ps; B and T0 in K
N_ATOMS, N_FRAMES, DT, BOX = 200, 400, 1.0, 40.0               # atoms, frames, ps, Å


def write_system(folder: Path, temperature: float, rng: np.random.Generator) -> tuple[str, str]:
    """Brownian paths with D = A exp(−B/(T − T0)), wrapped into a cubic box, as PDB + DCD."""
    d = A_TRUE * np.exp(-B_TRUE / (temperature - T0_TRUE))
    steps = rng.standard_normal((N_FRAMES, N_ATOMS, 3)) * np.sqrt(2.0 * d * DT)
    steps[0] = rng.uniform(0.0, BOX, size=(N_ATOMS, 3))
    positions = np.mod(np.cumsum(steps, axis=0), BOX).astype(np.float32)
    u = mda.Universe.empty(N_ATOMS, trajectory=True)
    u.add_TopologyAttr("names", ["Li"] * N_ATOMS)
    u.dimensions = [BOX, BOX, BOX, 90.0, 90.0, 90.0]
    stem = folder / f"sweep_{temperature:.0f}K"
    u.atoms.positions = positions[0]
    with warnings.catch_warnings():  # MDAnalysis lists the PDB fields an empty Universe lacks
        warnings.simplefilter("ignore", UserWarning)
        u.atoms.write(f"{stem}.pdb")
    with mda.Writer(f"{stem}.dcd", N_ATOMS, dt=DT) as w:
        for frame in positions:
            u.atoms.positions = frame
            w.write(u.atoms)
    return f"{stem}.pdb", f"{stem}.dcd"


def main() -> None:
    rng = np.random.default_rng(7)
    D, D_err = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for temperature in TEMPERATURES:
            src = open_source(*write_system(Path(tmp), temperature, rng), dt=DT)
            msd = MSD("name Li").run(src, progress=False)
            fit = Diffusion(fit_start=10.0, fit_stop=100.0).fit(msd).fetch_model()
            D.append(fit.D_A2_ps)
            D_err.append(fit.D_err_A2_ps)
            print(f"{temperature:.0f} K: D = {fit.D_A2_ps:.3g} ± {fit.D_err_A2_ps:.2g} Å²/ps")
    D, D_err = np.array(D), np.array(D_err)

    # %%
    # Fits across temperatures, weighted by the errors of D
    arr = arrhenius_fit(TEMPERATURES, D, D_err)
    vft = vft_fit(TEMPERATURES, D, D_err)
    print(f"Arrhenius: E_a = {arr.Ea_kJ_mol:.2f} ± {arr.Ea_err_kJ_mol:.2f} kJ/mol (apparent), "
          f"reduced χ² {arr.chi2_red:.1f}")
    print(f"VFT: B = {vft.B_K:.0f} ± {vft.B_err_K:.0f} K (truth {B_TRUE:.0f}), "
          f"T0 = {vft.T0_K:.0f} ± {vft.T0_err_K:.0f} K (truth {T0_TRUE:.0f}), reduced χ² {vft.chi2_red:.1f}")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    inv = 1000.0 / TEMPERATURES
    ax.errorbar(inv, D, D_err, fmt="o", color="k", label="D from the MSD")
    grid = np.linspace(TEMPERATURES.min() - 10, TEMPERATURES.max() + 10, 100)
    ax.plot(1000.0 / grid, arr.predict(grid), label=f"Arrhenius, $E_a$ = {arr.Ea_kJ_mol:.1f} kJ/mol")
    ax.plot(1000.0 / grid, vft.predict(grid), "--", label=f"VFT, $T_0$ = {vft.T0_K:.0f} K")
    ax.set_yscale("log")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("D (Å²/ps)")
    ax.legend(fontsize=8)
    fig.tight_layout()


if __name__ == "__main__":
    main()
