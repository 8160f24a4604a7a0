"""``trajml extrapolate``: predict converged (long-run) transport from short MD runs with a multitask GNN.

Sub-commands:

- ``table``: build a training table from the ``summary.csv`` of trajml pipeline runs (short and long);
- ``train``: fit a :class:`~trajml.models.deep.multitask.MultitaskExtrapolator` on a table or on
  ``id,smiles,value`` CSVs (one per property and fidelity), optionally cross-validated;
- ``predict``: screen candidates (``id,smiles`` plus the training features) with a saved model.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from trajml._files import atomic_write_text
from trajml.cli._common import add_npz_provenance, positive_int, provenance_comment, with_provenance
from trajml.cli._options import add_parameters, parameters_from_args

__all__ = ["register", "run"]


def _task_file(text: str) -> tuple[str, str]:
    from trajml.extrapolation.tables import TASKS

    task, sep, path = text.partition("=")
    if not sep or task not in TASKS or not path:
        raise argparse.ArgumentTypeError(f"expected TASK=CSV with TASK one of {', '.join(TASKS)}; got {text!r}")
    return task, path


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a float in [0, 1); got {text!r}") from None
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"must be a float in [0, 1); got {text!r}")
    return v


def correction_prior_arg(text: str) -> float | str:
    """argparse type of a correction prior ('auto' or a float >= 0, inf allowed), from its declaration."""
    from trajml.errors import InvalidParameterError

    try:
        return multitask_parameters()["correction_prior"].parse_text(text, "MultitaskExtrapolator")
    except InvalidParameterError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def multitask_parameters() -> dict[str, Any]:
    """The declared parameters of MultitaskExtrapolator (defaults included), without importing torch."""
    from trajml.extrapolation.multitask_parameters import MULTITASK_PARAMETERS

    return {k: p.replace(name=k) for k, p in MULTITASK_PARAMETERS.items()}


def register(subparsers: Any) -> None:
    """Add the ``extrapolate`` sub-command and its ``table``, ``train`` and ``predict`` actions."""
    p = subparsers.add_parser(
        "extrapolate", help="predict long-run (converged) conductivity, diffusion and t+ from short MD runs",
        description="Multitask graph network (shared polymer-graph trunk, low-fidelity head on short runs, "
        "high-fidelity head on [embedding, short-run value]) that extrapolates converged transport from short "
        "runs. Tasks: log10_sigma (S/m), log10_D_Li, log10_D_anion, log10_D_polymer (Å^2/ps), transference.")
    sub = p.add_subparsers(dest="action", metavar="ACTION")

    t = sub.add_parser("table", help="training table from trajml pipeline summaries (short and long runs)",
                       description="Pair short and long runs of the same systems from pipeline summary.csv files "
                       "(or the report/OUTPUTS folders holding them) into a training table CSV.")
    t.add_argument("short", metavar="SHORT", help="summary.csv (or folder) of the short runs")
    t.add_argument("long", metavar="LONG", nargs="?", default=None,
                   help="summary.csv (or folder) of the long runs; omit with --fidelity-column")
    t.add_argument("--target", action="append", default=None, metavar="TASK=COLUMN",
                   help="column of a task, repeatable (default: transport.sigma, msd.D, transport.transference)")
    t.add_argument("--feature", action="append", default=None, metavar="COLUMN",
                   help="metadata column used as a global descriptor, repeatable (default: numeric metadata)")
    t.add_argument("--descriptor", action="append", default=[], metavar="COLUMN",
                   help="short-run column used as a descriptor, repeatable (e.g. 'msd.loglog_slope')")
    t.add_argument("--smiles-column", default="smiles", help="metadata column of the repeat-unit SMILES")
    t.add_argument("--beads-column", default=None, help="metadata column of CG bead names (instead of SMILES)")
    t.add_argument("--pair-by", default="system", help="column naming the same system in both runs")
    t.add_argument("--fidelity-column", default=None, help="metadata column whose value is 'short' or 'long'")
    t.add_argument("-o", "--output", required=True, metavar="CSV", help="table to write")
    t.set_defaults(func=run)

    tr = sub.add_parser("train", help="train a multitask extrapolation model",
                        description="Train on a table (from 'trajml extrapolate table' or written by hand: id, "
                        "smiles or beads, feature columns, low:TASK and high:TASK) or on CSVs of id,smiles,value "
                        "per property and fidelity.")
    src = tr.add_argument_group("data")
    src.add_argument("--table", default=None, metavar="CSV", help="wide training table")
    src.add_argument("--high", type=_task_file, action="append", default=None, metavar="TASK=CSV",
                     help="long-run labels of a task (id,smiles,value), repeatable")
    src.add_argument("--low", type=_task_file, action="append", default=None, metavar="TASK=CSV",
                     help="short-run labels of a task (id,smiles,value), repeatable")
    src.add_argument("--features", default=None, metavar="CSV", help="id plus numeric feature columns")
    src.add_argument("--log10", action="store_true",
                     help="the log10_* label files hold σ (S/m) and D (Å^2/ps), not their logarithms")
    m = tr.add_argument_group("model")
    add_parameters(m, multitask_parameters(), owner="MultitaskExtrapolator")
    m.add_argument("--threads", type=positive_int, default=1,
                   help="torch CPU threads (default: 1; graphs of a few dozen atoms train fastest on one)")
    m.add_argument("--cv", type=positive_int, default=None, metavar="K",
                   help="also run K-fold cross-validation holding out whole chemistries; prints MAE of the model, "
                   "the raw short-run value and a linear correction")
    m.add_argument("--cv-forest", action="store_true",
                   help="score the random-forest-on-fingerprints baseline in the cross-validation too (scikit-learn)")
    m.add_argument("--cv-output", default=None, metavar="JSON", help="write the cross-validation MAEs here")
    tr.add_argument("-o", "--output", required=True, metavar="MODEL", help="model file to write (.npz)")
    tr.set_defaults(func=run)

    pr = sub.add_parser("predict", help="predict long-run values of candidates with a trained model",
                        description="Candidates: CSV with id, smiles (or beads), the feature columns the model was "
                        "trained with and, optionally, measured short-run values as low:TASK columns.")
    pr.add_argument("model", metavar="MODEL", help="model file from 'trajml extrapolate train'")
    pr.add_argument("candidates", metavar="CANDIDATES", help="candidates CSV")
    pr.add_argument("-o", "--output", required=True, metavar="CSV",
                    help="predictions: id, TASK, TASK_std, TASK_short per task")
    pr.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads (default: 1)")
    pr.set_defaults(func=run)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _targets(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    out = {}
    for item in items:
        task, sep, col = item.partition("=")
        if not sep or not task or not col:
            raise ValueError(f"--target entries must look like TASK=COLUMN (e.g. 'log10_D_Li=msd.D [Å^2/ps]'); "
                             f"got {item!r}.")
        out[task] = col
    return out


def _training_table(args: argparse.Namespace) -> Any:
    from trajml.extrapolation.readers import read_table_csv, table_from_csvs

    if (args.table is None) == (args.high is None):
        raise ValueError("give either --table or one or more --high TASK=CSV (with optional --low and --features).")
    if args.table is not None:
        if args.low or args.features:
            raise ValueError("--low and --features go with --high, not with --table.")
        return read_table_csv(args.table, require_labels=True)
    return table_from_csvs(dict(args.high), dict(args.low or []), features=args.features, log10=args.log10)


def run(args: argparse.Namespace) -> int:
    """Run ``trajml extrapolate ACTION``."""
    if args.action == "table":
        from trajml.extrapolation.readers import table_from_pipeline, write_table_csv

        table = table_from_pipeline(args.short, args.long, targets=_targets(args.target), features=args.feature,
                                    descriptors=args.descriptor, smiles_column=args.smiles_column,
                                    beads_column=args.beads_column, pair_by=args.pair_by,
                                    fidelity_column=args.fidelity_column)
        write_table_csv(table, args.output, provenance_comment(args))
        import numpy as np

        print(f"wrote {len(table)} systems, tasks {', '.join(table.tasks)}, "
              f"{int(np.isfinite(table.high).any(axis=1).sum())} with long runs, to {args.output}")
        return 0
    from trajml.errors import require_extra

    require_extra("torch_geometric", "deep", "trajml extrapolate " + args.action)
    import torch

    from trajml.extrapolation.deep import MultitaskExtrapolator, MultitaskModel

    torch.set_num_threads(args.threads)

    if args.action == "train":
        table = _training_table(args)

        params = parameters_from_args(args, multitask_parameters())

        def make() -> MultitaskExtrapolator:
            return MultitaskExtrapolator(**params)

        if args.cv is not None:
            from trajml.extrapolation.baselines import RandomForestBaseline, cross_validate

            if args.cv < 2:
                raise ValueError(f"--cv must be at least 2 folds; got {args.cv}.")
            extra = {"forest": lambda: RandomForestBaseline(seed=args.seed)} if args.cv_forest else None
            cv = cross_validate(make, table, n_splits=args.cv, seed=args.seed, baselines=extra)
            print(f"{args.cv}-fold cross-validation (held-out chemistries), MAE against the long-run value:")
            print(cv.summary())
            if args.cv_output:
                text = json.dumps(with_provenance({"tasks": list(cv.tasks), "mae": cv.mean()}, args), indent=2)
                atomic_write_text(args.cv_output, text + "\n")
        model = make().fit(table).fetch_model()
        model.save(args.output)
        add_npz_provenance(args.output, args)
        print(f"trained {model.n_models} model(s) on {len(table)} systems, tasks {', '.join(model.tasks)}, "
              f"features {list(model.feature_names)}; wrote {args.output}")
        return 0
    if args.action == "predict":
        from trajml.extrapolation.readers import read_table_csv

        model = MultitaskModel.load(args.model)
        pred = model.predict(read_table_csv(args.candidates))
        pred.write_csv(args.output, provenance_comment(args))
        print(f"predicted {len(pred.ids)} candidates; wrote {args.output}", file=sys.stderr)
        return 0
    raise ValueError("choose an action: table, train or predict.")  # pragma: no cover - argparse guards
