"""``trajml msm``: kinetic states of target atoms (GraphVAMPNet, MLP VAMPNet or TICA → MSM)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trajml.cli._common import (
    add_input_arguments,
    non_negative_int,
    open_from_args,
    positive_float,
    positive_int,
)

__all__ = ["register", "run"]


def _shell_item(text: str) -> tuple[str, str]:
    label, sep, sel = text.partition("=")
    if not sep or not label.strip() or not sel.strip():
        raise argparse.ArgumentTypeError(f"expected LABEL=SELECTION, e.g. 'anion=name TFSI'; got {text!r}")
    return label.strip(), sel.strip()


def register(subparsers: Any) -> None:
    """Add the ``msm`` sub-command."""
    p = subparsers.add_parser(
        "msm",
        help="kinetic (Markov) states of target atoms: GraphVAMPNet, MLP VAMPNet or TICA -> k-means -> MSM",
        description="Learn M kinetic states of every target atom (default: every Li+) and validate them: "
        "implied timescales against the lag with bootstrap intervals over target atoms, a Chapman-Kolmogorov "
        "test, stationary populations, and per-state first-shell composition, net shell charge, RDFs and "
        "representative frames. --model graph trains a graph-convolutional VAMPNet on the periodic neighbour "
        "graphs of all atoms (GDyNet); mlp and tica use shell counts by species at a few radii. Writes "
        "timescales.json (lag in ps -> timescales in ps), populations.json, ck_test.json, states.json, "
        "PNG plots and model.npz into DIR. Without TOP/TRAJ it analyses the bundled sample SPE.",
    )
    add_input_arguments(p, optional=True)
    a = p.add_argument_group("model")
    a.add_argument("--targets", default="name Li", metavar="SEL", help="atoms whose states are modelled "
                   "(default: 'name Li')")
    a.add_argument("--states", type=positive_int, default=3, metavar="M", help="number of states (default: 3)")
    a.add_argument("--lag", type=positive_int, default=5, metavar="FRAMES",
                   help="model lag in analysed frames (default: 5)")
    a.add_argument("--model", choices=("graph", "mlp", "tica"), default="graph", help="model (default: graph)")
    a.add_argument("--metastable", type=positive_int, default=None, metavar="N",
                   help="graph/mlp: lump the M soft states into N metastable sets by PCCA+")
    a.add_argument("--epochs", type=positive_int, default=30, help="VAMPNet training epochs (default: 30)")
    a.add_argument("--batch-size", type=positive_int, default=None,
                   help="frame pairs (graph, default 16) or pairs (mlp, default 256) per batch")
    a.add_argument("--clusters", type=positive_int, default=20, help="k-means clusters of --model tica (default: 20)")
    a.add_argument("--r-max", type=positive_float, default=None,
                   help="graph cut-off in Å (default: the largest first-shell cut-off)")
    a.add_argument("--max-neighbors", type=positive_int, default=24, help="graph neighbours per atom (default: 24)")
    a.add_argument("--seed", type=non_negative_int, default=0, help="seed of training, clustering, bootstrap")
    s = p.add_argument_group("validation and interpretation")
    s.add_argument("--its-lags", type=positive_int, nargs="+", default=None, metavar="FRAMES",
                   help="lags of the implied-timescale plot (default: ~8 log-spaced up to a quarter of the run)")
    s.add_argument("--ck-multiples", type=positive_int, default=4, help="multiples of the lag in the CK test "
                   "(default: 4)")
    s.add_argument("--bootstrap", type=non_negative_int, default=50, help="bootstrap samples (default: 50)")
    s.add_argument("--shell", type=_shell_item, action="append", default=None, metavar="LABEL=SEL",
                   help="shell species, repeatable (default: 'polymer O=name O' and 'anion=name TFSI')")
    s.add_argument("--hard-states", action="store_true",
                   help="per-state statistics from each target's most probable state, not probability-weighted")
    s.add_argument("--r-shell", type=positive_float, default=None,
                   help="first-shell cut-off in Å (default: first minimum of each g(r))")
    g = p.add_argument_group("frames and execution")
    g.add_argument("--start", type=non_negative_int, default=0, help="first frame of every trajectory (default: 0)")
    g.add_argument("--stop", type=non_negative_int, default=None, help="stop before this frame (default: the end)")
    g.add_argument("--step", type=positive_int, default=1, help="read every STEP-th frame (default: 1)")
    g.add_argument("--chunk-size", type=positive_int, default=100, help="frames per streamed chunk (default: 100)")
    g.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="neighbour search and training device")
    g.add_argument("--graph-dir", default=None, metavar="DIR",
                   help="keep the graph dataset here (reused by a rerun); default: a temporary directory")
    g.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for the results")
    o.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml msm``."""
    from trajml.workflows.kinetics import kinetic_analysis

    source = open_from_args(args)
    result = kinetic_analysis(
        source, args.targets, args.states, args.lag, model=args.model,
        shell=dict(args.shell) if args.shell else None, r_shell=args.r_shell, its_lags=args.its_lags,
        mlags=args.ck_multiples, n_bootstrap=args.bootstrap, start=args.start, stop=args.stop, step=args.step,
        chunk_size=args.chunk_size, epochs=args.epochs, batch_size=args.batch_size, n_clusters=args.clusters,
        r_max=args.r_max, max_neighbors=args.max_neighbors, graph_dir=args.graph_dir, seed=args.seed,
        device=args.device, progress=not args.no_progress, n_metastable=args.metastable,
        interpret="hard" if args.hard_states else "soft")
    files = result.write(args.output, plots=not args.no_plots)
    print(result.summary())
    print(f"wrote {len(files)} files to {args.output}", file=sys.stderr)
    return 0
