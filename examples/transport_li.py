"""
Ion transport with uncertainties in the bundled sample SPE
==========================================================

Li⁺ and TFSI⁻ mean-squared displacements, diffusion coefficients with their standard errors and fit
windows, and the Einstein–Helfand conductivity from the charge-weighted collective displacement,
with the Nernst–Einstein estimate, the transference number and the ionicity beside it. The sample
is a short coarse-grained run (see ``trajml/data/sample/README.md``), so the errors are large: they
are the point of the example.

Run: python examples/transport_li.py
"""

from trajml.data import sample_topology, sample_trajectory
from trajml.io import open_source
from trajml.plotting import plot_msd, plot_transport
from trajml.transport import MSD, Conductivity, Diffusion


def main() -> None:
    src = open_source(sample_topology(), sample_trajectory())

    # %%
    # Self-diffusion: MSD over all time origins, D from the diffusive window (chosen automatically)
    msd = MSD("name Li").run(src, progress=False)
    fit = Diffusion().fit(msd).fetch_model()
    print(f"D(Li+) = {fit.D_cm2_s:.3g} ± {fit.D_err_cm2_s:.2g} cm²/s ({fit.error_method}), "
          f"fit {fit.fit_start_ps:.0f}–{fit.fit_stop_ps:.0f} ps, log-log slope {fit.loglog_slope:.2f}")
    plot_msd(msd, fit, label="Li+")

    # %%
    # Conductivity: charges from the topology, temperature from the sample's metadata; errors over
    # time blocks (the block count is printed beside them)
    cond = Conductivity("name Li", "name TFSI").run(src, progress=False)
    print(f"σ = {cond.sigma_S_m:.3g} ± {cond.sigma_err_S_m:.2g} S/m, "
          f"Nernst–Einstein σ_NE = {cond.sigma_NE_S_m:.3g} S/m, ionicity σ/σ_NE = {cond.ionicity:.2f}")
    print(f"t+ = {cond.transference:.2f} ± {cond.transference_err:.2f}")
    for warning in cond.warnings:
        print("warning:", warning)
    plot_transport(cond)


if __name__ == "__main__":
    main()
