"""``trajml msd``: mean-squared displacement over all time origins and the diffusion coefficient."""

from __future__ import annotations

import argparse
import sys
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
)
from trajml.cli._options import add_parameters, parameters_from_args

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``msd`` sub-command."""
    from trajml.transport import MSD, Diffusion

    p = subparsers.add_parser(
        "msd",
        help="mean-squared displacement and self-diffusion coefficient",
        description="Compute the 3-D mean-squared displacement of a selection over all time origins (FFT) from "
        "no-jump unwrapped coordinates, per atom or per molecule centre of mass, and fit D = slope/6 over a "
        "given or automatically chosen diffusive window. Writes a CSV with columns lag_ps and msd_A2 (plus "
        "alpha2 with --non-gaussian) and prints D with its standard error. Several trajectories are replicas: "
        "the MSD pools them and D is also given per replica. Without TOP/TRAJ it analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    add_parameters(p.add_argument_group("analysis"), MSD)
    add_parameters(p.add_argument_group("diffusion coefficient"), Diffusion)
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="CSV", help="CSV file to write (default: stdout)")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save a log-log plot of the MSD")
    p.set_defaults(func=run, analysis=MSD, estimator=Diffusion)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml msd``."""
    from trajml.transport import MSD, Diffusion

    diffusion = Diffusion(**parameters_from_args(args, Diffusion))
    res = MSD(**parameters_from_args(args, MSD)).run(open_from_args(args), **run_options(args))
    columns = {"lag_ps": res.lag_ps, "msd_A2": res.msd_A2}
    if res.alpha2 is not None:
        columns["alpha2"] = res.alpha2
    write_csv(args.output, columns, args)
    report = sys.stdout if args.output not in (None, "-") else sys.stderr
    replicas = f" ({len(res.replicas)} replicas pooled over their common lags)" if res.replicas else ""
    print(f"{res.n_particles} {res.particles}, {res.n_frames} frames every {res.dt_ps:g} ps"
          + (", drift removed" if res.drift_removed else "") + replicas, file=report)
    fitted = None
    try:
        fitted = diffusion.fit(res).fetch_model()
    except ValueError as exc:
        if args.fit_start is not None:
            raise
        print(f"D not estimated: {exc}", file=report)
    if fitted is not None:
        print(f"D = {fitted.D_A2_ps:.4g} ± {fitted.D_err_A2_ps:.2g} Å²/ps = {fitted.D_cm2_s:.4g} ± "
              f"{fitted.D_err_cm2_s:.2g} cm²/s (error over {fitted.error_method}, n = {fitted.n_error_samples})",
              file=report)
        print(f"fit window ({fitted.window_method}): {fitted.fit_start_ps:g}-{fitted.fit_stop_ps:g} ps, "
              f"{fitted.n_fit_points} points, log-log slope {fitted.loglog_slope:.3f}", file=report)
        if fitted.D_replicas_A2_ps is not None:
            values = ", ".join(f"{d:.4g}" for d in fitted.D_replicas_A2_ps)
            print(f"D per replica: {values} Å²/ps (std {fitted.D_replicas_std_A2_ps:.2g})", file=report)
        warn_results(fitted)
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_msd

        save_plot(plot_msd(res, fitted), args.plot, args)
    return 0
