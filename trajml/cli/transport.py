"""``trajml transport``: conductivity (Einstein–Helfand and Nernst–Einstein), Onsager coefficients, transference."""

from __future__ import annotations

import argparse
from typing import Any

from trajml.cli._common import (
    _use_agg,
    add_input_arguments,
    add_run_arguments,
    open_from_args,
    run_options,
    save_plot,
    warn_results,
    write_csv,
    write_json,
)
from trajml.cli._options import add_parameters, parameters_from_args

__all__ = ["register", "run", "parse_charges"]


def parse_charges(items: list[str] | None) -> dict[str, float] | None:
    """Parse ``["Li=1", "TFSI=-1"]`` into ``{"Li": 1.0, "TFSI": -1.0}`` (charges in e), as ``--charges`` does."""
    from trajml.cli._options import _pairs
    from trajml.transport import Conductivity

    if not items:
        return None
    p = Conductivity.parameters()["charges"]
    return p.validate(_pairs(items, p, "Conductivity", "--charges"), "Conductivity")


def register(subparsers: Any) -> None:
    """Add the ``transport`` sub-command."""
    from trajml.transport import Conductivity

    p = subparsers.add_parser(
        "transport",
        help="ionic conductivity, Onsager coefficients and transference numbers",
        description="Stream the trajectory once (no-jump unwrapped) and compute, for a cation and an anion "
        "(--cation/--anion) or any number of ionic species (--species LABEL=SEL ...; molecular ions with "
        "--per-molecule, charges from the topology or --charges), the self-diffusion coefficients, the "
        "Nernst-Einstein conductivity, the Einstein-Helfand conductivity (charge displacement over all time "
        "origins, every cross correlation included), the Onsager coefficients L_ij (mol^2/(J m s), sigma = "
        "F^2 sum z_i z_j L_ij), the transference numbers (Onsager and Nernst-Einstein, per species and t+ of "
        "the cations) and the ionicity sigma/sigma_NE, with errors (D over particles; sigma, L and t over time "
        "blocks; over replicas when the source holds several trajectories). Writes JSON whose keys are the "
        "Python attribute names (trajml.transport.ConductivityResults) plus 'units'. "
        "Without TOP/TRAJ it analyses the bundled sample SPE at the temperature of its metadata.",
    )
    add_input_arguments(p, optional=True)
    add_parameters(p.add_argument_group("analysis"), Conductivity)
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="JSON", help="JSON file to write (default: stdout)")
    o.add_argument("--curves", default=None, metavar="CSV",
                   help="also write the curves the fits use: lag_ps (ps), self_msd_<species>_A2 (Å^2), "
                   "collective_msd_<i>_<j>_A2 (<dM_i.dM_j>, Å^2) and charge_msd_e2A2 (e^2 Å^2)")
    o.add_argument("--plot", default=None, metavar="PNG",
                   help="also save a figure of the self MSDs (log-log) and the charge MSD (linear) with the fit "
                   "window, the fitted lines, D and sigma with their errors")
    p.set_defaults(func=run, analysis=Conductivity)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml transport``."""
    from trajml.transport import Conductivity

    res = Conductivity(**parameters_from_args(args, Conductivity)).run(open_from_args(args), **run_options(args))
    report = write_json(args.output, res.to_json(indent=1), args)
    if args.curves:
        write_csv(args.curves, res.curves(), args)
    if res.error_method == "replicas":
        errors, n_err = "over replicas", f"{len(res.replicas)} replicas"
    else:
        errors, n_err = "D over particles, the rest over time blocks", f"{res.n_blocks} time blocks"
    ions = " + ".join(f"{n} {name} ({q:+g} e)" for n, name, q in zip(res.n_ions, res.species, res.charges_e))
    print(f"{ions}, {res.n_frames} frames every {res.dt_ps:g} ps, "
          f"T = {res.temperature_K:g} K ({res.temperature_source}); fit window ({res.window_method}) "
          f"{res.fit_start_ps:g}-{res.fit_stop_ps:g} ps; errors {errors}", file=report)
    print(f"sigma = {res.sigma_mS_cm:.4g} ± {res.sigma_err_mS_cm:.2g} mS/cm ({n_err}), "
          f"sigma_NE = {res.sigma_NE_mS_cm:.4g} ± {res.sigma_NE_err_mS_cm:.2g} mS/cm, "
          f"ionicity = {res.ionicity:.3f} ± {res.ionicity_err:.2g}", file=report)
    print(f"t+ = {res.transference:.3f} ± {res.transference_err:.2g} ({n_err}; Nernst-Einstein "
          f"{res.transference_NE:.3f} ± {res.transference_NE_err:.2g})", file=report)
    if len(res.species) > 2:
        each = ", ".join(f"t_{name} = {t:.3f} ± {e:.2g}" for name, t, e in
                         zip(res.species, res.transference_species, res.transference_species_err))
        print(f"per species: {each} ({n_err})", file=report)
    if res.replicas:
        values = ", ".join(f"{r.sigma_mS_cm:.4g}" for r in res.replicas)
        print(f"sigma per replica: {values} mS/cm", file=report)
    warn_results(res)
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_transport

        save_plot(plot_transport(res), args.plot, args)
    return 0
