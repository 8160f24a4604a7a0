"""``trajml residence``: contact residence times, lifetimes and Li⁺ hopping between chains."""

from __future__ import annotations

import argparse
import math
from typing import Any

from trajml.cli._common import (
    _use_agg,
    add_input_arguments,
    add_run_arguments,
    open_from_args,
    run_options,
    save_plot,
    write_json,
)
from trajml.cli._options import add_parameters, parameters_from_args

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``residence`` sub-command."""
    from trajml.transport import ResidenceTime

    p = subparsers.add_parser(
        "residence",
        help="contact residence times (continuous/intermittent TCFs, lifetimes) and Li+ hopping between chains",
        description="Time-correlation functions of centre-ligand contacts (d < cutoff; default: first minimum "
        "of the centre-ligand g(r)): continuous C_c(t) (contact never broken) and intermittent C_i(t), averaged "
        "over all pairs and time origins, each fitted with exp(-(t/tau)^beta) (tau, beta, tau_int = "
        "tau/beta*Gamma(1/beta), fit and block errors) and integrated directly. With a polymer ligand (e.g. "
        "ether O) it also counts Li+ hops between chains (change of the chain with most O in contact) and "
        "intra-chain rearrangements. Use --select-b 'name TFSI' for ion-pair lifetimes. Several trajectories "
        "are replicas and are pooled. Writes JSON (times in ps). Without TOP/TRAJ it analyses the bundled "
        "sample SPE.",
    )
    add_input_arguments(p, optional=True)
    add_parameters(p.add_argument_group("analysis"), ResidenceTime)
    add_run_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="JSON", help="JSON file to write (default: stdout)")
    o.add_argument("--plot", default=None, metavar="PNG", help="also save C(t) with the fitted curves")
    p.set_defaults(func=run, analysis=ResidenceTime)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml residence``."""
    from trajml.transport import ResidenceTime

    analysis = ResidenceTime(**parameters_from_args(args, ResidenceTime))
    res = analysis.run(open_from_args(args), **run_options(args))
    report = write_json(args.output, res.to_json(indent=2), args)
    if args.plot:
        _use_agg()
        from trajml.plotting import plot_residence

        save_plot(plot_residence(res), args.plot, args)
    print(f"cutoff: {res.provenance['first_shell']['cutoff']}; {res.n_frames} frames, dt {res.dt_ps:g} ps; "
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
