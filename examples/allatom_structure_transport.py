"""
Structure and ion transport in the all-atom PEO/LiTFSI sample
=============================================================

Structure and ion transport in the bundled all-atom PEO/LiTFSI sample.

Li–O(ether) and Li–O(TFSI) g(r), coordination numbers and Li⁺ speciation, then Li⁺ and TFSI⁻ (per-molecule
centre of mass) MSD slopes and the conductivity. The sample is short (200 ps, see
trajml/data/sample_aa/README.md): its MSDs are still sub-diffusive, so trajml's automatic fit window
refuses them and the fits below use given windows (20–100 ps; 20–90 ps for σ, whose two time blocks must span it);
they show how to run the analyses, not converged transport coefficients.

Run: python examples/allatom_structure_transport.py
"""

from trajml.data import sample_aa_parameters, sample_aa_topology, sample_aa_trajectory
from trajml.features import RDF, Coordination, Solvation
from trajml.io import open_source
from trajml.parallel import run
from trajml.transport import MSD, Conductivity, Diffusion


def main() -> None:
    src = open_source(sample_aa_topology(), sample_aa_trajectory())
    info = sample_aa_parameters()
    scale = info["force_field"]["charge_scale"]

    cutoffs = {}
    for label, sel in (("O(ether)", "name OE"), ("O(TFSI)", "name OT")):
        rdf = run(RDF("name LI", sel, r_max=8.0, n_bins=160), src, progress=False)
        cn = run(Coordination("name LI", sel, cutoff=rdf.first_min_r), src, progress=False)
        cutoffs[label] = rdf.first_min_r
        print(f"Li–{label}: g(r) first peak {rdf.first_peak_r:.2f} Å, first minimum {rdf.first_min_r:.2f} Å, "
              f"{cn.mean:.2f} ± {cn.std:.2f} per Li⁺")

    rdf_n = run(RDF("name LI", "name NT", r_max=10.0, n_bins=100), src, progress=False)
    solv = run(Solvation(cation="name LI", polymer_o="name OE", anion="name NT", cutoff_o=cutoffs["O(ether)"],
                         cutoff_anion=rdf_n.first_min_r), src, progress=False)
    print(f"speciation: free {solv.fraction_free:.2f}, CIP {solv.fraction_cip:.2f}, AGG {solv.fraction_agg:.2f}")

    for label, sel, per_molecule in (("Li+", "name LI", False), ("TFSI-", "resname TFSI", True)):
        msd = MSD(sel, per_molecule=per_molecule).run(src, progress=False)
        fit = Diffusion(fit_start=20.0, fit_stop=100.0).fit(msd).fetch_model()
        print(f"D({label}) = {fit.D_A2_ps:.2e} ± {fit.D_err_A2_ps:.1e} Å²/ps "
              f"(fit {fit.fit_start_ps:.0f}–{fit.fit_stop_ps:.0f} ps, log-log slope {fit.loglog_slope:.2f})")

    sigma = Conductivity("resname LI", "resname TFSI", per_molecule=True, charges={"LI": scale, "TFSI": -scale},
                         temperature=info["parameters"]["temperature"], fit_start=20.0, fit_stop=90.0,
                         n_blocks=2).run(src, progress=False)
    print(f"conductivity {sigma.sigma_mS_cm:.3g} ± {sigma.sigma_err_mS_cm:.2g} mS/cm "
          f"(Nernst–Einstein {sigma.sigma_NE_mS_cm:.3g} mS/cm)")


if __name__ == "__main__":
    main()
