"""``trajml extrapolate``: predict converged (long-run) transport from short MD runs with a multitask GNN.

Sub-commands:

- ``table``: build a training table from the ``summary.csv`` of trajml pipeline runs (short and long);
- ``train``: fit a :class:`~trajml.models.deep.multitask.MultitaskExtrapolator` on a table or on
  ``id,smiles,value`` CSVs (one per property and fidelity), optionally cross-validated;
- ``predict``: screen candidates (``id,smiles`` plus the training features) with a saved model, and
  score them when their labels are given;
- ``evaluate``: score a predictions file against known labels (MAE, RMSE, R² with bootstrap intervals).

Label files may be published as they are: with or without a header, ``[Cu]``/``[Au]`` attachment
points, values in ``--units`` (S/cm, cm2/s, ...; converted to log10 of S/m and Å²/ps).
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
    """Add the ``extrapolate`` sub-command and its ``table``, ``train``, ``predict`` and ``evaluate`` actions."""
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
    _add_label_format(src)
    src.add_argument("--validation", type=_task_file, action="append", default=None, metavar="TASK=CSV",
                     help="long-run labels of the predefined validation set (early stopping), repeatable")
    src.add_argument("--test", type=_task_file, action="append", default=None, metavar="TASK=CSV",
                     help="long-run labels of the predefined test set: scored after training, never trained on")
    src.add_argument("--polymernet", default=None, metavar="DIR",
                     help="a dataset in the published layout DIR/PROPERTY/{50ns,5ns}/cv_K.csv,test.csv")
    src.add_argument("--property", default=None, metavar="NAME",
                     help="property folder of --polymernet (conductivity, li_diff, tfsi_diff, poly_diff)")
    src.add_argument("--split", type=int, default=0, metavar="K",
                     help="--polymernet split: cv_K validates, the other folds train (default: 0)")
    src.add_argument("--test-output", default=None, metavar="CSV", help="write the test set's predictions here")
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
    _add_scoring(tr)
    tr.add_argument("--quiet", action="store_true",
                    help="no progress (member and epoch, correction-prior search) on standard error")
    tr.add_argument("-o", "--output", required=True, metavar="MODEL", help="model file to write (.npz)")
    tr.set_defaults(func=run)

    pr = sub.add_parser("predict", help="predict long-run values of candidates with a trained model",
                        description="Candidates: CSV with id, smiles (or beads), the feature columns the model was "
                        "trained with and, optionally, measured short-run values as low:TASK columns; or, for a "
                        "model of one task, a published id,smiles,value file (no header needed; the value is the "
                        "short run, in --units).")
    pr.add_argument("model", metavar="MODEL", help="model file from 'trajml extrapolate train'")
    pr.add_argument("candidates", metavar="CANDIDATES", help="candidates CSV")
    pr.add_argument("-o", "--output", required=True, metavar="CSV",
                    help="predictions: id, TASK, TASK_std, TASK_short per task")
    pr.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads (default: 1)")
    pr.add_argument("--no-short-run", action="store_true",
                    help="ignore the candidates' short-run values (a placeholder column): predict from the graph alone")
    pr.add_argument("--labels", type=_task_file, action="append", default=None, metavar="TASK=CSV",
                    help="known long-run labels (id,smiles,value) of candidates: the predictions are scored")
    _add_label_format(pr)
    _add_scoring(pr)
    pr.set_defaults(func=run)

    ev = sub.add_parser("evaluate", help="score predictions against known labels",
                        description="MAE, RMSE and R² (with bootstrap intervals) per task and fidelity, and the "
                        "rms z-score of the predicted std, of a file from 'trajml extrapolate predict'.")
    ev.add_argument("predictions", metavar="PREDICTIONS", help="predictions CSV from 'trajml extrapolate predict'")
    ev.add_argument("--high", type=_task_file, action="append", default=None, metavar="TASK=CSV",
                    help="long-run labels of a task (id,smiles,value), repeatable")
    ev.add_argument("--low", type=_task_file, action="append", default=None, metavar="TASK=CSV",
                    help="short-run labels of a task, scored against the short-run head, repeatable")
    _add_label_format(ev)
    _add_scoring(ev)
    ev.set_defaults(func=run)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _add_label_format(group: Any) -> None:
    group.add_argument("--units", action="append", default=[], metavar="UNIT",
                       help="unit of the label values: S/cm, S/m, mS/cm, cm2/s, m2/s, A2/ps or log10(UNIT); applies "
                       "to every task of its kind (or TASK=UNIT), repeatable (default: log10 of S/m and Å^2/ps)")
    group.add_argument("--attachments", default=None, metavar="A,B",
                       help="the two attachment-point markers of the SMILES when not '*', '[*]' or '[Cu]','[Au]'")


def _add_scoring(parser: Any) -> None:
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help="bootstrap resamples of the intervals (default: 1000)")
    parser.add_argument("--scores", default=None, metavar="JSON", help="write the scores here")


def _label_format(args: argparse.Namespace, tasks: list[str]) -> dict[str, Any]:
    from trajml.extrapolation.value_units import units_by_task

    pair = None if args.attachments is None else [a.strip() for a in args.attachments.split(",")]
    return {"units": units_by_task(args.units, tasks), "attachments": pair}


def _report_scores(args: argparse.Namespace, pred: Any, labels: Any, source: str) -> None:
    from trajml.extrapolation.scores import format_scores, score_prediction

    scores = score_prediction(pred, labels, n_boot=args.bootstrap, seed=getattr(args, "seed", 0) or 0, source=source)
    print(f"scores against {source} (task units: log10 S/m, log10 Å^2/ps, t+):")
    print(format_scores(scores))
    if args.scores:
        text = json.dumps(with_provenance({"scores": [sc.as_dict() for sc in scores]}, args), indent=2)
        atomic_write_text(args.scores, text + "\n")


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
    """The training table and the predefined validation and test tables (None where not given)."""
    from trajml.extrapolation.readers import read_table_csv
    from trajml.extrapolation.splits import read_polymernet, split_from_csvs

    sources = [x for x in (args.table, args.high, args.polymernet) if x is not None]
    if len(sources) != 1:
        raise ValueError("give one of --table, --polymernet DIR --property NAME, or one or more --high TASK=CSV "
                         "(with optional --low, --features, --validation and --test).")
    if args.table is not None:
        if args.low or args.features or args.validation or args.test:
            raise ValueError("--low, --features, --validation and --test go with --high, not with --table.")
        return read_table_csv(args.table, require_labels=True), None, None
    if args.polymernet is not None:
        if args.property is None:
            raise ValueError("--polymernet needs --property (a folder of it: conductivity, li_diff, ...).")
        if args.low or args.features or args.validation or args.test or args.units or args.log10:
            raise ValueError("--polymernet reads its own files, units and split: drop --low, --features, "
                             "--validation, --test, --units and --log10 (or give the files with --high instead).")
        splits = read_polymernet(args.polymernet, args.property, args.split)
        return splits.train, splits.validation, splits.test
    files = [*(args.high or []), *(args.low or []), *(args.validation or []), *(args.test or [])]
    fmt = _label_format(args, list(dict.fromkeys(t for t, _ in files)))
    if args.log10:
        if fmt["units"]:
            raise ValueError("give --units or --log10, not both (--log10 is --units S/m --units A2/ps).")
        fmt["units"] = {t: ("S/m" if t == "log10_sigma" else "A2/ps") for t, _ in files if t.startswith("log10_")}

    def by_task(items: Any) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t, path in items or []:
            out.setdefault(t, []).append(path)
        return out

    splits = split_from_csvs(by_task(args.high), by_task(args.low), validation=by_task(args.validation),
                             test=by_task(args.test), features=args.features, **fmt)
    return splits.train, splits.validation, splits.test


def _labels(args: argparse.Namespace, high: Any, low: Any) -> Any:
    """Known labels (long- and short-run) as a table, in task units."""
    from trajml.extrapolation.readers import table_from_csvs

    fmt = _label_format(args, list(dict.fromkeys(t for t, _ in [*(high or []), *(low or [])])))
    return table_from_csvs(dict(high or []), dict(low or []), **fmt)


def _print_prior(model: Any) -> None:
    choice = model.provenance.get("correction_prior_choice")
    if not choice:
        return
    for task, prior in choice["chosen"].items():
        scores = ", ".join(f"{k}: {v:.4f}" for k, v in choice["mae"][task].items())
        print(f"correction prior of {task}: {prior:g} pseudo-rows (inner 3-fold MAE by prior: {scores})")


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
    if args.action == "evaluate":
        from trajml.extrapolation.readers import read_prediction_csv

        if not args.high and not args.low:
            raise ValueError("give the known labels: one or more --high TASK=CSV (and/or --low TASK=CSV).")
        pred = read_prediction_csv(args.predictions)
        _report_scores(args, pred, _labels(args, args.high, args.low), "the labels given")
        return 0
    from trajml.errors import require_extra

    require_extra("torch_geometric", "deep", "trajml extrapolate " + args.action)
    import torch

    from trajml.extrapolation.deep import MultitaskExtrapolator, MultitaskModel

    torch.set_num_threads(args.threads)

    if args.action == "train":
        table, validation, test = _training_table(args)

        params = parameters_from_args(args, multitask_parameters())
        params["progress"] = not args.quiet  # timestamped lines in a batch log, a bar on a terminal

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
        model = make().fit(table, validation).fetch_model()
        model.save(args.output)
        add_npz_provenance(args.output, args)
        print(f"trained {model.n_models} model(s) on {len(table)} systems"
              f"{f' (early stopping on {len(validation)} validation systems)' if validation is not None else ''}, "
              f"tasks {', '.join(model.tasks)}, features {list(model.feature_names)}; wrote {args.output}")
        _print_prior(model)
        from trajml.extrapolation.deep.calibration import calibration_text

        print(calibration_text(model.tasks, model.std_scale, model.std_floor, model.provenance.get("calibration", {})))
        weight = model.provenance.get("measured_weight")
        if weight:
            print("weight of a measured short run against the low-fidelity prediction (0 ignores it, 1 trusts it; "
                  f"from {weight['estimated_from'][0]}): " + ", ".join(
                      f"{t} {v:.2f}" for t, v in weight["mean"].items()))
        if test is not None:
            pred = model.predict(test)
            if args.test_output:
                pred.write_csv(args.test_output, provenance_comment(args))
            _report_scores(args, pred, test, f"the {len(test)} test systems")
            out_of_range = pred.out_of_range_text()
            if out_of_range:
                print(out_of_range)
        return 0
    if args.action == "predict":
        from trajml.extrapolation.readers import read_candidates_csv
        from trajml.extrapolation.tables import check_short_run_inputs

        model = MultitaskModel.load(args.model)
        fmt = _label_format(args, list(model.tasks))
        candidates = read_candidates_csv(args.candidates, model.tasks, units=fmt["units"].get(model.tasks[0]),
                                         attachments=fmt["attachments"])
        if args.no_short_run:
            candidates = candidates.without_labels("low")
        check_short_run_inputs(candidates, args.candidates, hint="or give --no-short-run")
        labels = _labels(args, args.labels, None) if args.labels else None
        pred = model.predict(candidates)
        pred.write_csv(args.output, provenance_comment(args))
        print(f"predicted {len(pred.ids)} candidates; wrote {args.output}", file=sys.stderr)
        out_of_range = pred.out_of_range_text()
        if out_of_range:
            print(out_of_range, file=sys.stderr)
        if labels is not None:
            _report_scores(args, pred, labels, "the labels given")
        return 0
    raise ValueError("choose an action: table, train, predict or evaluate.")  # pragma: no cover - argparse guards
