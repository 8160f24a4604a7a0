"""``trajml msd``: mean-squared displacement over all time origins and the diffusion coefficient."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trajml.cli._common import (
    _use_agg,
    add_input_arguments,
    non_negative_int,
    non_negative_time,
    open_from_args,
    positive_int,
    save_plot,
    write_csv,
)

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``msd`` sub-command."""
    p = subparsers.add_parser(
        "msd",
        help="mean-squared displacement and self-diffusion coefficient",
        description="Compute the 3-D mean-squared displacement of a selection over all time origins (FFT) from "
        "no-jump unwrapped coordinates, per atom or per molecule centre of mass, and fit D = slope/6 over a "
        "given or automatically chosen diffusive window. Writes a CSV with columns lag_ps and msd_A2 (plus "
        "alpha2 with --non-gaussian) and prints D with its standard error. Without TOP/TRAJ it analyses the "
        "bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    a = p.add_argument_group("analysis")
    a.add_argument("--sel", required=True, metavar="SEL", help="selection, MDAnalysis syntax (e.g. 'name Li')")
    a.add_argument("--per-molecule", action="store_true",
                   help="use each molecule's mass-weighted centre of mass (of the selected atoms)")
    a.add_argument("--remove-drift", action="store_true",
                   help="subtract the whole system's centre-of-mass displacement")
    a.add_argument("--no-unwrap", action="store_true", help="coordinates are already unwrapped: do not unwrap")
    a.add_argument("--non-gaussian", action="store_true", help="also compute the non-Gaussian parameter alpha2")
    a.add_argument("--fit-start", type=non_negative_time, default=None, metavar="PS",
                   help="start of the fit window in ps (with --fit-stop; default: automatic)")
    a.add_argument("--fit-stop", type=non_negative_time, default=None, metavar="PS",
                   help="end of the fit window in ps")
    a.add_argument("--tolerance", type=float, default=0.15,
                   help="automatic window: largest |local log-log slope - 1| (default: 0.15)")
    a.add_argument("--error", choices=("auto", "particles", "blocks"), default="auto",
                   help="uncertainty of D: spread over particles, time blocks, or auto (default)")
    g = p.add_argument_group("frames and execution")
    g.add_argument("--start", type=non_negative_int, default=0, help="first frame (default: 0)")
    g.add_argument("--stop", type=non_negative_int, default=None, help="stop before this frame (default: the end)")
    g.add_argument("--step", type=positive_int, default=1, help="use every STEP-th frame (default: 1)")
    g.add_argument("--traj-id", type=non_negative_int, default=0, help="trajectory of the source (default: 0)")
    g.add_argument("--chunk-size", type=positive_int, default=100, help="frames per read (default: 100)")
    g.add_argument("--block-size", type=positive_int, default=None,
                   help="particles per correlation task (default: from a ~64 MiB budget)")
    g.add_argument("--scheduler", default="serial",
                   help="serial, threads, processes, local or a dask scheduler address (default: serial)")
    g.add_argument("--n-workers", type=positive_int, default=None, help="workers of the local schedulers")
    g.add_argument("--tmpdir", default=None, help="folder for the temporary series store")
    g.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="CSV", help="CSV file to write (default: stdout)")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save a log-log plot of the MSD")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml msd``."""
    from trajml.transport import MSD, Diffusion

    diffusion = Diffusion(args.fit_start, args.fit_stop, tolerance=args.tolerance, error=args.error)
    msd = MSD(args.sel, per_molecule=args.per_molecule, remove_drift=args.remove_drift,
              unwrap=not args.no_unwrap, non_gaussian=args.non_gaussian, block_size=args.block_size,
              chunk_size=args.chunk_size, tmpdir=args.tmpdir)
    source = open_from_args(args)
    res = msd.run(source, start=args.start, stop=args.stop, step=args.step, traj_id=args.traj_id,
                  scheduler=args.scheduler, n_workers=args.n_workers, progress=not args.no_progress)
    columns = {"lag_ps": res.lag_ps, "msd_A2": res.msd_A2}
    if res.alpha2 is not None:
        columns["alpha2"] = res.alpha2
    write_csv(args.output, columns)
    report = sys.stdout if args.output not in (None, "-") else sys.stderr
    print(f"{res.n_particles} {res.particles}, {res.n_frames} frames every {res.dt_ps:g} ps"
          + (", drift removed" if res.drift_removed else ""), file=report)
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
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_msd

        save_plot(plot_msd(res, fitted), args.plot)
    return 0
