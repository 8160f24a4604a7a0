"""``trajml residence``: contact residence times, ion-pair lifetimes and Li+ hopping between chains."""

from __future__ import annotations

import argparse
import math
from typing import Any

from trajml.cli._common import (
    _use_agg,
    add_input_arguments,
    add_run_arguments,
    non_negative_int,
    open_from_args,
    positive_float,
    positive_int,
    save_plot,
    write_json,
)

__all__ = ["register", "run"]


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a float in (0, 1); got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a float in (0, 1); got {text!r}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``residence`` sub-command."""
    p = subparsers.add_parser(
        "residence",
        help="contact residence times (continuous/intermittent TCFs, lifetimes) and Li+ hopping between chains",
        description="Time-correlation functions of centre-ligand contacts (d < cutoff; default: first minimum "
        "of the centre-ligand g(r)): continuous C_c(t) (contact never broken) and intermittent C_i(t), averaged "
        "over all pairs and time origins, each fitted with exp(-(t/tau)^beta) (tau, beta, tau_int = "
        "tau/beta*Gamma(1/beta), fit and block errors) and integrated directly. With a polymer ligand (e.g. "
        "ether O) it also counts Li+ hops between chains (change of the chain with most O in contact) and "
        "intra-chain rearrangements. Use --ligand 'name TFSI' for ion-pair lifetimes. Writes JSON (times in ps). "
        "Without TOP/TRAJ it analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    a = p.add_argument_group("analysis")
    a.add_argument("--center", default="name Li", metavar="SEL", help="centre atoms (default: 'name Li')")
    a.add_argument("--ligand", default="name O", metavar="SEL",
                   help="ligand atoms: polymer O, or one site per anion (default: 'name O')")
    a.add_argument("--cutoff", type=positive_float, default=None, help="contact cut-off in Å (default: g(r) minimum)")
    a.add_argument("--tolerance-frames", type=non_negative_int, default=0,
                   help="ignore absences of at most N frames in the continuous TCF (default: 0)")
    a.add_argument("--threshold", type=_fraction, default=0.01,
                   help="fits and direct integrals stop where C(t) first drops below it (default: 0.01)")
    a.add_argument("--fit-max-lag", type=positive_float, default=None, metavar="PS",
                   help="largest lag of the fits in ps (default: half the trajectory)")
    a.add_argument("--error-blocks", type=positive_int, default=5,
                   help="blocks of centres for block errors (default: 5)")
    a.add_argument("--centers-per-task", type=positive_int, default=None,
                   help="centres per parallel task (bounds memory; default: automatic)")
    a.add_argument("--r-max", type=positive_float, default=12.0,
                   help="range of the first-pass g(r) in Å (default: 12)")
    a.add_argument("--cutoff-frames", type=positive_int, default=200,
                   help="frames sampled by the first pass (default: 200)")
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="JSON", help="JSON file to write (default: stdout)")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save C(t) with the fitted curves")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml residence``."""
    from trajml.transport.residence import ResidenceTime

    analysis = ResidenceTime(args.center, args.ligand, cutoff=args.cutoff, tolerance_frames=args.tolerance_frames,
                             threshold=args.threshold, fit_max_lag_ps=args.fit_max_lag,
                             error_blocks=args.error_blocks, r_max=args.r_max, cutoff_frames=args.cutoff_frames,
                             device=args.device)
    source = open_from_args(args)
    res = analysis.run(source, start=args.start, stop=args.stop, step=args.step, chunk_size=args.chunk_size,
                       centers_per_task=args.centers_per_task, scheduler=args.scheduler, n_workers=args.n_workers,
                       progress=not args.no_progress)
    report = write_json(args.output, res.to_json(indent=2))
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_residence

        save_plot(plot_residence(res), args.plot)
    print(f"cutoff: {res.cutoff:.4g} Å ({res.cutoff_source}); {res.n_frames} frames, dt {res.dt_ps:g} ps; "
          f"{res.mean_contacts:.3f} contacts per centre", file=report)
    print(f"continuous: tau {res.tau_ps:.4g} ± {res.tau_ps_block_err:.2g} ps, beta {res.beta:.3f}, "
          f"tau_int {res.tau_int_ps:.4g} ± {res.tau_int_ps_block_err:.2g} ps, integral {res.integral_ps:.4g} ps",
          file=report)
    print(f"intermittent: tau {res.intermittent_tau_ps:.4g} ps, beta {res.intermittent_beta:.3f}, "
          f"tau_int {res.intermittent_tau_int_ps:.4g} ps", file=report)
    if res.hopping:
        mean = res.chain_residence_mean_ps
        residence = f"mean chain residence {mean:.4g} ps" if math.isfinite(mean) else "no complete chain residence"
        print(f"hops: {res.n_hops} inter-chain ({res.hop_rate_per_ns:.4g} per centre per ns), "
              f"{res.n_rearrangements} intra-chain ({res.rearrangement_rate_per_ns:.4g} per centre per ns); "
              f"{residence}", file=report)
    return 0
