"""Predefined splits of published datasets: training, validation and test tables from label files.

A published benchmark fixes which polymers train, which stop the training early and which score it
(Xie et al. 2022: ``PROPERTY/FIDELITY/cv_0..9.csv`` and ``test.csv``; split k validates on ``cv_k``
and trains on the other folds). :func:`split_from_csvs` builds the three tables from long-run label
files per task and role plus the short-run files, and refuses a split that leaks: a test or
validation id with a training long-run label of the same task, or, when tasks are trained jointly,
of another task (the shared trunk would learn that polymer). :func:`read_polymernet` reads the
published folder layout.

The rows of validation and test ids are taken out of the training table entirely (their short-run
labels included); they keep their short-run values as the input fed to the long-run head.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np

from trajml.extrapolation.readers import merge_smiles, read_features, read_property_csv
from trajml.extrapolation.tables import TASKS, ExtrapolationTable, check_task

__all__ = ["TableSplits", "split_from_csvs", "read_polymernet", "POLYMERNET_PROPERTIES"]

Paths = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]]

#: Property folders of the published layout: (task, unit of the values as published).
POLYMERNET_PROPERTIES = {"conductivity": ("log10_sigma", "S/cm"), "li_diff": ("log10_D_Li", "cm2/s"),
                         "tfsi_diff": ("log10_D_anion", "cm2/s"), "poly_diff": ("log10_D_polymer", "cm2/s")}


@dataclass(frozen=True)
class TableSplits:
    """Training, validation and test tables of one predefined split.

    Attributes
    ----------
    train : ExtrapolationTable
        Rows with long-run training labels and every other row with short-run labels only.
    validation, test : ExtrapolationTable or None
        Held-out rows with their long-run labels and, where known, their short-run values.
    """

    train: ExtrapolationTable
    validation: ExtrapolationTable | None = None
    test: ExtrapolationTable | None = None


def _paths(value: Paths) -> list[str]:
    return [os.fspath(value)] if isinstance(value, (str, os.PathLike)) else [os.fspath(p) for p in value]


def split_from_csvs(high: Mapping[str, Paths], low: Mapping[str, Paths] | None = None, *,
                    validation: Mapping[str, Paths] | None = None, test: Mapping[str, Paths] | None = None,
                    features: str | os.PathLike[str] | None = None, units: Mapping[str, str] | None = None,
                    attachments: Sequence[str] | None = None) -> TableSplits:
    """Training, validation and test tables from ``id,smiles,value`` files (one or more per task and role).

    Parameters
    ----------
    high, validation, test : mapping of task to path or list of paths
        Long-run labels that train, stop early and score. A list is read as one file (the folds of
        a published split); an id may appear in only one of its files.
    low : mapping of task to path or list of paths, optional
        Short-run labels of any rows (training, held out or neither).
    features, units, attachments
        As in :func:`~trajml.extrapolation.readers.table_from_csvs` (``units`` per task).

    Returns
    -------
    TableSplits

    Raises
    ------
    ValueError
        A held-out id with a training long-run label (of any task: joint training would learn it
        through the shared trunk), an id in both the validation and the test files, or a validation
        set without any long-run label.
    """
    units = dict(units or {})
    roles = {"train": dict(high), "validation": dict(validation or {}), "test": dict(test or {}),
             "low": dict(low or {})}
    for files in roles.values():
        for t in files:
            check_task("split_from_csvs", t)
    smiles: dict[str, tuple[str, str]] = {}
    order: dict[str, int] = {}
    labels: dict[str, dict[str, dict[str, tuple[float, str]]]] = {r: {} for r in roles}
    for role, files in roles.items():
        for t, paths in files.items():
            got = labels[role].setdefault(t, {})
            for path in _paths(paths):
                ids, sm, vals = read_property_csv(path, task=t, units=units.get(t), attachments=attachments)
                merge_smiles(smiles, order, ids, sm, path)
                for i, v in zip(ids, vals):
                    if i in got:
                        raise ValueError(f"Id {i!r} of task '{t}' appears in '{got[i][1]}' and in '{path}'.")
                    got[i] = (float(v), path)
    _check_leaks(labels)
    for t, got in labels["validation"].items():
        if not any(np.isfinite(v) for v, _ in got.values()):
            files = sorted({p for _, p in got.values()})
            raise ValueError(f"The validation file(s) {files} of task '{t}' hold no long-run label (every value is "
                             f"empty); early stopping needs the long-run values of the validation rows.")
    tasks = tuple(t for t in TASKS if any(t in labels[r] for r in roles))
    held = {r: [i for i in order if any(i in labels[r][t] for t in labels[r])] for r in ("validation", "test")}
    out = set(held["validation"]) | set(held["test"])

    def table(role: str, ids: list[str]) -> ExtrapolationTable:
        hi = np.full((len(ids), len(tasks)), np.nan)
        lo = np.full_like(hi, np.nan)
        for j, t in enumerate(tasks):
            hi[:, j] = [labels[role].get(t, {}).get(i, (np.nan, ""))[0] for i in ids]
            lo[:, j] = [labels["low"].get(t, {}).get(i, (np.nan, ""))[0] for i in ids]
        names, feats = read_features(features, ids)
        return ExtrapolationTable(tuple(ids), tuple(smiles[i][0] for i in ids), "smiles", names, feats, tasks, lo, hi)

    train = table("train", [i for i in order if i not in out])
    return TableSplits(train, table("validation", held["validation"]) if held["validation"] else None,
                       table("test", held["test"]) if held["test"] else None)


def _check_leaks(labels: dict[str, dict[str, dict[str, tuple[float, str]]]]) -> None:
    trained = {t: got for t, got in labels["train"].items()}
    for role in ("validation", "test"):
        for t, got in labels[role].items():
            for i, (_, path) in got.items():
                for t2, tr in trained.items():
                    if i in tr:
                        joint = "" if t2 == t else (f" Trained jointly, task '{t2}' would learn this polymer through "
                                                    f"the shared trunk: train the tasks separately, or take the id "
                                                    f"out of one file.")
                        raise ValueError(f"Id {i!r} of the {role} file '{path}' (task '{t}') also has a training label "
                                         f"in '{tr[i][1]}' (task '{t2}'): a held-out polymer must not train the "
                                         f"model.{joint}")
    for t, got in labels["test"].items():
        for t2, val in labels["validation"].items():
            both = sorted(set(got) & set(val))
            if both:
                raise ValueError(f"Id {both[0]!r} is in the test file '{got[both[0]][1]}' (task '{t}') and in the "
                                 f"validation file '{val[both[0]][1]}' (task '{t2}'); the two sets must not overlap.")


def read_polymernet(root: str | os.PathLike[str], prop: str, split: int = 0, *, high: str = "50ns",
                    low: str | None = "5ns", task: str | None = None, units: str | None = None) -> TableSplits:
    """One split of a dataset in the published polymernet layout (``ROOT/PROP/FIDELITY/cv_K.csv, test.csv``).

    Parameters
    ----------
    root : path
        The folder holding the property folders (``conductivity``, ``li_diff``, ...).
    prop : str
        Property folder; its task and the unit of its values come from :data:`POLYMERNET_PROPERTIES`
        unless ``task`` and ``units`` are given.
    split : int
        Validation fold: ``cv_{split}`` validates, the other ``cv_*`` files train, ``test.csv`` tests,
        as in the authors' code, for both fidelities (a polymer with a long run keeps the role of its
        long run, with its short-run value as the input of the long-run head). The short-run folder's
        ``pred.csv`` (the screening candidates, with a placeholder value) is not read.
    high, low : str
        Fidelity folders of the long-run and the short-run labels (``low=None``: none).
    task, units : str, optional
        For property folders not in :data:`POLYMERNET_PROPERTIES`.

    Returns
    -------
    TableSplits
    """
    folder = os.path.join(os.fspath(root), prop)
    if task is None or units is None:
        if prop not in POLYMERNET_PROPERTIES:
            raise ValueError(f"Property folder {prop!r} is not one of {sorted(POLYMERNET_PROPERTIES)}; give its "
                             f"'task' and 'units' (e.g. task='log10_sigma', units='S/cm').")
        task, units = task or POLYMERNET_PROPERTIES[prop][0], units or POLYMERNET_PROPERTIES[prop][1]
    hi_dir = os.path.join(folder, high)
    folds = {int(m.group(1)): p for p in glob.glob(os.path.join(hi_dir, "cv_*.csv"))
             if (m := re.fullmatch(r"cv_(\d+)\.csv", os.path.basename(p)))}
    if split not in folds:
        raise ValueError(f"No fold file 'cv_{split}.csv' in '{hi_dir}' (folds found: {sorted(folds)}); the 'split' "
                         f"parameter names the validation fold.")
    test = os.path.join(hi_dir, "test.csv")
    # not pred.csv: the screening candidates, with a placeholder value in every row, not short runs
    low_dir = os.path.join(folder, low) if low else ""
    low_files = sorted(p for p in glob.glob(os.path.join(low_dir, "*.csv"))
                       if os.path.basename(p) != "pred.csv") if low else []
    if low and not low_files:
        raise ValueError(f"No short-run files (*.csv other than pred.csv) in '{low_dir}'.")
    out = split_from_csvs({task: [folds[k] for k in sorted(folds) if k != split]},
                          {task: low_files} if low_files else None, validation={task: folds[split]},
                          test={task: test} if os.path.isfile(test) else None, units={task: units})
    if not low_files:
        return out
    # The authors' short-run split: cv_K validates and test.csv tests the low-fidelity head too. A
    # polymer with only a short run moves with its short-run file; one with a long run keeps the role
    # of its long run (and its short-run value, as the input fed to the long-run head).
    held = {}
    for role, name in (("validation", f"cv_{split}.csv"), ("test", "test.csv")):
        path = os.path.join(low_dir, name)
        held[role] = set(read_property_csv(path)[0]) if os.path.isfile(path) else set()
    train = out.train
    short_only = ~np.isfinite(train.high).any(axis=1)
    moved = {r: np.flatnonzero(short_only & np.isin(np.array(train.ids, dtype=object), list(ids)))
             for r, ids in held.items()}
    keep = np.setdiff1d(np.arange(len(train)), np.concatenate(list(moved.values())))
    return TableSplits(train.subset(keep), _joined(out.validation, train.subset(moved["validation"])),
                       _joined(out.test, train.subset(moved["test"])))


def _joined(a: ExtrapolationTable | None, b: ExtrapolationTable) -> ExtrapolationTable | None:
    """The rows of ``a`` followed by those of ``b`` (same columns); ``a`` alone when ``b`` is empty."""
    if len(b) == 0 or a is None:
        return a if len(b) == 0 else b
    return ExtrapolationTable(a.ids + b.ids, a.graphs + b.graphs, a.graph_kind, a.feature_names,
                              np.concatenate([a.features, b.features]), a.tasks, np.concatenate([a.low, b.low]),
                              np.concatenate([a.high, b.high]), a.groups + b.groups)
