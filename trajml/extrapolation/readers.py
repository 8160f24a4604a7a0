"""Extrapolation tables from files: property CSVs, a wide table CSV, and the summary tables of trajml pipeline runs.

Sources: CSV files of ``id,smiles,value`` (one per property and fidelity, the layout of published
polymer-electrolyte datasets; :func:`read_property_csv`, :func:`table_from_csvs`), a wide CSV of the
whole table (:func:`read_table_csv`, :func:`write_table_csv`), or the ``summary.csv`` cross-system
tables of trajml pipeline runs (:func:`table_from_pipeline`). Units and tasks are those of
:mod:`trajml.extrapolation.tables`.
"""

from __future__ import annotations

import csv
import math
import os
import re
from typing import Any, Mapping, Sequence

import numpy as np

from trajml.extrapolation.tables import TASKS, ExtrapolationTable, _atomic_csv, _fmt, check_task

__all__ = ["read_property_csv", "table_from_csvs", "read_features", "merge_smiles", "read_prediction_csv",
           "read_table_csv", "read_candidates_csv", "write_table_csv", "table_from_pipeline",
           "PIPELINE_TARGETS"]

#: Default pipeline columns of each task (``STAGE_ID.NUMBER [UNIT]`` of the cross-system table).
#: A name without a unit matches the column of that name with any unit (``msd.D`` matches ``msd.D [Å^2/ps]``).
PIPELINE_TARGETS = {"log10_sigma": "transport.sigma", "log10_D_Li": "msd.D", "transference": "transport.transference"}

# Factors to S/m and Å²/ps of the units the pipeline stages report.
_TO_SI = {"S/m": 1.0, "mS/cm": 0.1, "S/cm": 100.0, "Å^2/ps": 1.0, "A^2/ps": 1.0, "cm^2/s": 1e4, "m^2/s": 1e8}


# ----------------------------------------------------------------------------------------------
# CSV readers
# ----------------------------------------------------------------------------------------------

def _read_rows(path: str | os.PathLike[str],
               headerless: Sequence[str] | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV; with ``headerless``, a file whose first line names none of those
    columns is taken to have no header and those columns (the published ``id,smiles,value`` files)."""
    name = os.fspath(path)
    try:
        with open(name, newline="", encoding="utf-8-sig") as fh:
            # '#' lines are comments (the provenance line trajml's own CSV outputs start with).
            lines = [r for r in csv.reader(fh) if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    except OSError as exc:
        raise OSError(f"Cannot read the CSV file '{name}': {exc.strerror or exc}.") from None
    if not lines:
        raise ValueError(f"CSV file '{name}' is empty: expected a header line and at least one row.")
    first = [h.strip() for h in lines[0]]
    if headerless is not None and not {h.lower() for h in first} & {c.lower() for c in headerless}:
        if len(first) != len(headerless):
            raise ValueError(f"CSV file '{name}' has no header and {len(first)} fields in its first row; a file "
                             f"without a header must have the {len(headerless)} columns {','.join(headerless)}.")
        header, body = list(headerless), lines
    else:
        header, body = first, lines[1:]
    rows = [[c.strip() for c in r] for r in body]
    for k, r in enumerate(rows):
        if len(r) != len(header):
            raise ValueError(f"Row {k + 1} of CSV file '{name}' has {len(r)} fields; the header has {len(header)}.")
    if not rows:
        raise ValueError(f"CSV file '{name}' has a header but no rows.")
    return header, rows


def _number(text: str, what: str) -> float:
    if text == "" or text.lower() in ("nan", "na", "none", "null"):
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} is {text!r}, not a number.") from None


def read_property_csv(path: str | os.PathLike[str], *, log10: bool = False, task: str | None = None,
                      units: str | None = None,
                      attachments: Sequence[str] | None = None) -> tuple[list[str], list[str], np.ndarray]:
    """Read one property at one fidelity from a CSV of ``id,smiles,value``, as published.

    Parameters
    ----------
    path : str or path-like
        CSV of the columns ``id``, ``smiles`` and ``value``: with a header naming them (any order, any
        case; other columns are ignored) or without a header, in that order. Empty values are missing
        labels. Attachment points may be ``*``, ``[*]`` or ``[Cu]``/``[Au]``; they come back as ``*``.
    log10 : bool
        Take log10 of the values (which must then be > 0), for files that hold σ in S/m or D in Å²/ps
        rather than their logarithms (the same as ``units='S/m'`` or ``'A2/ps'``).
    task : str, optional
        The task the values are labels of (one of :data:`~trajml.extrapolation.tables.TASKS`): they
        are then converted from ``units`` to the task's units and checked for plausibility.
    units : str, optional
        Unit of the values (``'S/cm'``, ``'S/m'``, ``'mS/cm'``, ``'cm2/s'``, ``'m2/s'``, ``'A2/ps'``, or
        ``'log10(UNIT)'`` for logarithms; see :mod:`trajml.extrapolation.value_units`); needs ``task``.
        Default: the task's own units (log10 of S/m or Å²/ps; with ``log10``, S/m or Å²/ps).
    attachments : pair of str, optional
        The two markers of the attachment points when they are neither ``*`` nor ``[Cu]``/``[Au]``.

    Returns
    -------
    ids, smiles : list of str
    values : ndarray, shape (n,), float64
        NaN where missing; in the task's units when ``task`` is given.
    """
    from trajml.extrapolation.attachments import check_attachments, normalise_attachments
    from trajml.extrapolation.value_units import TASK_KIND, to_task_units

    name = os.fspath(path)
    if units is not None and task is None:
        raise ValueError(f"read_property_csv('{name}'): 'units' needs 'task' (the task the values are labels of).")
    if units is not None and log10:
        raise ValueError(f"read_property_csv('{name}'): give 'units' or 'log10', not both ('log10' is units='S/m' "
                         f"or 'A2/ps').")
    markers = check_attachments("read_property_csv", attachments)
    header, rows = _read_rows(name, headerless=("id", "smiles", "value"))
    lower = [h.lower() for h in header]
    missing = [c for c in ("id", "smiles", "value") if c not in lower]
    if missing:
        raise ValueError(f"CSV file '{name}' has no column(s) {missing}; a property file has the header "
                         f"'id,smiles,value' (or no header and those three columns). Got {header}.")
    ci, cs, cv = (lower.index(c) for c in ("id", "smiles", "value"))
    ids = [r[ci] for r in rows]
    seen: dict[str, int] = {}
    for k, i in enumerate(ids):
        if not i:
            raise ValueError(f"Row {k + 1} of CSV file '{name}' has an empty id.")
        if i in seen:
            raise ValueError(f"Id {i!r} appears twice in CSV file '{name}' (rows {seen[i] + 1} and {k + 1}).")
        seen[i] = k
    values = np.array([_number(r[cv], f"The value of row {k + 1} (id {r[ci]!r}) of '{name}'")
                       for k, r in enumerate(rows)])
    smiles = [normalise_attachments(r[cs], markers, where=f"row {k + 1} (id {r[ci]!r}) of '{name}'")
              for k, r in enumerate(rows)]
    if task is not None:
        check_task("read_property_csv", task)
        if units is None:
            kind = TASK_KIND[task]
            raw = {"conductivity": "S/m", "diffusion": "A2/ps", "dimensionless": "1"}[kind]
            units = raw if log10 or kind == "dimensionless" else f"log10({raw})"
        return ids, smiles, to_task_units(values, task, units, lambda k: f"row {k + 1} (id {ids[k]!r})", name)
    bad = np.flatnonzero(np.isinf(values) | (log10 & (values <= 0)))
    if len(bad):
        k = bad[0]
        need = "finite and > 0 (log10 is taken)" if log10 else "finite"
        raise ValueError(f"The value of row {k + 1} (id {ids[k]!r}) of '{name}' is {values[k]:g}; it must be {need}.")
    if log10:
        values = np.log10(values)
    return ids, smiles, values


def table_from_csvs(high: Mapping[str, str | os.PathLike[str]], low: Mapping[str, str | os.PathLike[str]] | None = None,
                    *, features: str | os.PathLike[str] | None = None, log10: bool = False,
                    units: Mapping[str, str] | None = None,
                    attachments: Sequence[str] | None = None) -> ExtrapolationTable:
    """Build a table from per-property, per-fidelity CSVs of ``id,smiles,value``.

    Parameters
    ----------
    high : mapping of task to path
        Long-run labels per task (keys from :data:`TASKS`).
    low : mapping of task to path, optional
        Short-run labels per task.
    features : path, optional
        CSV with an ``id`` column and numeric feature columns (e.g. ``salt_concentration``,
        ``temperature``); every id of the label files must appear in it.
    log10 : bool
        The ``log10_*`` files hold σ (S/m) and D (Å²/ps) rather than their logarithms.
    units : mapping of task to str, optional
        Unit of each task's values (``'S/cm'``, ``'cm2/s'``, ``'log10(S/cm)'``, ...; see
        :func:`read_property_csv`), converted to the task units; default the task units.
    attachments : pair of str, optional
        Attachment markers other than ``*``, ``[*]`` and ``[Cu]``/``[Au]``.

    Returns
    -------
    ExtrapolationTable
        Rows in order of first appearance; an id's SMILES must agree across files.
    """
    owner = "table_from_csvs"
    low = dict(low or {})
    units = dict(units or {})
    tasks = [t for t in TASKS if t in high or t in low]
    for t in list(high) + list(low) + list(units):
        check_task(owner, t)
    if not tasks:
        raise ValueError(f"The 'high' parameter of {owner} must name at least one task file. Got {dict(high)!r}.")
    order: dict[str, int] = {}
    smiles: dict[str, tuple[str, str]] = {}
    labels: dict[tuple[str, str], tuple[list[str], np.ndarray]] = {}
    for fid, files in (("high", high), ("low", low)):
        for t, path in files.items():
            ids, sm, vals = read_property_csv(path, log10=log10 and t.startswith("log10_") and t not in units,
                                              task=t, units=units.get(t), attachments=attachments)
            merge_smiles(smiles, order, ids, sm, os.fspath(path))
            labels[(fid, t)] = (ids, vals)
    ids = sorted(order, key=order.__getitem__)
    arrays = {f: np.full((len(ids), len(tasks)), np.nan) for f in ("low", "high")}
    for (fid, t), (tids, vals) in labels.items():
        arrays[fid][[order[i] for i in tids], tasks.index(t)] = vals
    names, feats = read_features(features, ids)
    return ExtrapolationTable(tuple(ids), tuple(smiles[i][0] for i in ids), "smiles", names, feats, tuple(tasks),
                              arrays["low"], arrays["high"])


def merge_smiles(smiles: dict[str, tuple[str, str]], order: dict[str, int], ids: Sequence[str],
                 sm: Sequence[str], path: str) -> None:
    """Record each id's SMILES (and the file it came from) in ``smiles`` and its first appearance in
    ``order``; refuse an id whose SMILES differs between files."""
    for i, s in zip(ids, sm):
        if i in smiles and smiles[i][0] != s:
            raise ValueError(f"Id {i!r} has SMILES {smiles[i][0]!r} in '{smiles[i][1]}' but {s!r} in '{path}'.")
        smiles.setdefault(i, (s, path))
        order.setdefault(i, len(order))


def read_features(features: str | os.PathLike[str] | None, ids: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Feature names and the (len(ids), n_features) values of ``ids`` from a CSV with an ``id`` column."""
    if features is None:
        return (), np.zeros((len(ids), 0))
    fname = os.fspath(features)
    header, rows = _read_rows(fname)
    if "id" not in [h.lower() for h in header]:
        raise ValueError(f"Feature file '{fname}' has no 'id' column. Got {header}.")
    ci = [h.lower() for h in header].index("id")
    cols = [c for c in range(len(header)) if c != ci and header[c].lower() != "smiles"]
    by_id = {r[ci]: r for r in rows}
    absent = [i for i in ids if i not in by_id]
    if absent:
        raise ValueError(f"Feature file '{fname}' has no row for id(s) {absent[:5]}.")
    feats = np.array([[_number(by_id[i][c], f"Feature '{header[c]}' of id {i!r} in '{fname}'") for c in cols]
                      for i in ids]).reshape(len(ids), len(cols))
    return tuple(header[c] for c in cols), feats


def read_table_csv(path: str | os.PathLike[str], *, require_labels: bool = False) -> ExtrapolationTable:
    """Read a wide table: ``id``, ``smiles`` or ``beads``, feature columns, ``low:TASK``, ``high:TASK``.

    ``beads`` holds a coarse-grained repeat unit as space-separated bead names (``C O``). Columns
    ``group`` (chemistry, for cross-validation) are optional. Every other column is a numeric feature.
    Screening candidates are such a file without label columns.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    require_labels : bool
        Refuse a file without ``low:``/``high:`` label columns.
    """
    name = os.fspath(path)
    header, rows = _read_rows(name)
    lower = [h.lower() for h in header]
    if "id" not in lower or ("smiles" in lower) == ("beads" in lower):
        raise ValueError(f"Table file '{name}' needs an 'id' column and exactly one of 'smiles' or 'beads'. "
                         f"Got {header}.")
    ci = lower.index("id")
    kind = "smiles" if "smiles" in lower else "cg"
    cg = lower.index("smiles" if kind == "smiles" else "beads")
    cgroup = lower.index("group") if "group" in lower else None
    label_cols: dict[tuple[str, str], int] = {}
    feat_cols = []
    for c, h in enumerate(header):
        m = re.fullmatch(r"(low|high):(\w+)", h)
        if m:
            label_cols[(m.group(1), check_task(f"read_table_csv ('{name}', column {h!r})", m.group(2)))] = c
        elif c not in (ci, cg, cgroup):
            feat_cols.append(c)
    tasks = tuple(t for t in TASKS if any(k[1] == t for k in label_cols))
    if require_labels and not tasks:
        raise ValueError(f"Table file '{name}' has no label columns ('high:TASK', 'low:TASK' with TASK in "
                         f"{list(TASKS)}).")
    ids = [r[ci] for r in rows]
    arrays = {f: np.full((len(rows), len(tasks)), np.nan) for f in ("low", "high")}
    for (fid, t), c in label_cols.items():
        arrays[fid][:, tasks.index(t)] = [_number(r[c], f"Column {header[c]!r} of row {k + 1} (id {r[ci]!r}) of "
                                                        f"'{name}'") for k, r in enumerate(rows)]
    feats = np.array([[_number(r[c], f"Feature {header[c]!r} of row {k + 1} (id {r[ci]!r}) of '{name}'")
                       for c in feat_cols] for k, r in enumerate(rows)]).reshape(len(rows), len(feat_cols))
    if kind == "smiles":
        from trajml.extrapolation.attachments import normalise_attachments

        graphs: tuple[Any, ...] = tuple(
            normalise_attachments(r[cg], where=f"row {k + 1} (id {r[ci]!r}) of '{name}'") for k, r in enumerate(rows))
    else:
        graphs = tuple(tuple(r[cg].split()) for r in rows)
    groups = tuple(r[cgroup] for r in rows) if cgroup is not None else ()
    return ExtrapolationTable(tuple(ids), graphs, kind, tuple(header[c] for c in feat_cols), feats, tasks,
                              arrays["low"], arrays["high"], groups)


def read_candidates_csv(path: str | os.PathLike[str], tasks: Sequence[str], *, units: str | None = None,
                        attachments: Sequence[str] | None = None) -> ExtrapolationTable:
    """Screening candidates: a wide table (:func:`read_table_csv`) or a published ``id,smiles,value`` file.

    A file without a header (or with exactly the header ``id,smiles,value``) is read as published:
    its values are short-run values of the model's one task, in ``units`` (see
    :func:`read_property_csv`); published candidate files often hold one placeholder value there,
    which :func:`~trajml.extrapolation.tables.check_short_run_inputs` refuses.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    tasks : sequence of str
        The model's tasks; a published file needs exactly one.
    units : str, optional
        Unit of a published file's values (default: the task's own units).
    attachments : pair of str, optional
        Attachment markers other than ``*``, ``[*]`` and ``[Cu]``/``[Au]`` (published files).

    Returns
    -------
    ExtrapolationTable
    """
    name = os.fspath(path)
    header, _ = _read_rows(name, headerless=("id", "smiles", "value"))
    if [h.lower() for h in header] != ["id", "smiles", "value"]:
        return read_table_csv(name)
    if len(tasks) != 1:
        raise ValueError(f"Candidates file '{name}' is an 'id,smiles,value' file, whose value is the short run of one "
                         f"task; the model has the tasks {list(tasks)}. Write a table with 'id,smiles,low:TASK' "
                         f"columns instead.")
    ids, smiles, values = read_property_csv(name, task=tasks[0], units=units, attachments=attachments)
    return ExtrapolationTable(tuple(ids), tuple(smiles), "smiles", (), np.zeros((len(ids), 0)), (tasks[0],),
                              values[:, None], np.full((len(ids), 1), np.nan))


def write_table_csv(table: ExtrapolationTable, path: str, comment: str | None = None) -> None:
    """Write ``table`` in the layout :func:`read_table_csv` reads (atomically); ``comment`` as a first ``#`` line.

    Parameters
    ----------
    table : ExtrapolationTable
    path : str
        The CSV file to write.
    comment : str, optional
        Written as a first ``#`` line.
    """
    gcol = "smiles" if table.graph_kind == "smiles" else "beads"
    header = ["id", gcol, "group", *table.feature_names, *(f"{f}:{t}" for f in ("low", "high") for t in table.tasks)]
    rows = [[table.ids[k], g if isinstance(g, str) else " ".join(g), table.groups[k],
             *(repr(float(v)) for v in table.features[k]),
             *(_fmt(v) for v in table.low[k]), *(_fmt(v) for v in table.high[k])]
            for k, g in enumerate(table.graphs)]
    _atomic_csv(path, header, rows, comment)


# ----------------------------------------------------------------------------------------------
# tables from trajml pipeline runs
# ----------------------------------------------------------------------------------------------

def _summary_rows(source: Any) -> tuple[list[str], list[dict[str, str]]]:
    """Rows of a cross-system table: a ``summary.csv``, a report folder, a pipeline OUTPUTS folder,
    or ``(columns, rows)`` as returned by :func:`trajml.pipelines.report.cross_system_table`."""
    if isinstance(source, tuple) and len(source) == 2:
        cols, rows = source
        return list(cols), [{c: ("" if r.get(c) is None else str(r.get(c))) for c in cols} for r in rows]
    path = os.fspath(source)
    for cand in (path, os.path.join(path, "summary.csv"), os.path.join(path, "report", "summary.csv")):
        if os.path.isfile(cand):
            header, rows = _read_rows(cand)
            return header, [dict(zip(header, r)) for r in rows]
    raise OSError(f"No cross-system table found at '{path}': give a pipeline's summary.csv, its report folder "
                  f"or its OUTPUTS folder (written by 'trajml run' with the report on).")


def _convert(task: str, column: str, text: str, where: str) -> float:
    v = _number(text, f"Column {column!r} of {where}")
    if not task.startswith("log10_") or math.isnan(v):
        return v
    m = re.search(r"\[(.+)\]\s*$", column)
    unit = m.group(1).strip() if m else ("S/m" if task == "log10_sigma" else "Å^2/ps")
    if unit not in _TO_SI:
        raise ValueError(f"Column {column!r} has unit {unit!r}; known units are {sorted(_TO_SI)}.")
    v *= _TO_SI[unit]
    return math.log10(v) if v > 0 else math.nan  # a non-positive fitted σ or D is no label


def table_from_pipeline(short: Any, long: Any = None, *, targets: Mapping[str, str] | None = None,
                        features: Sequence[str] | None = None, descriptors: Sequence[str] = (),
                        smiles_column: str | None = "smiles", beads_column: str | None = None,
                        pair_by: str = "system", fidelity_column: str | None = None,
                        short_label: str = "short", long_label: str = "long") -> ExtrapolationTable:
    """Training table from trajml batch runs: short and long runs of the same systems.

    Parameters
    ----------
    short : path or (columns, rows)
        Cross-system table of the short runs: a pipeline's ``summary.csv`` (or the report / OUTPUTS
        folder holding it), or the output of :func:`trajml.pipelines.report.cross_system_table`.
        With ``fidelity_column`` it holds the short and the long runs.
    long : path or (columns, rows), optional
        The long runs' table; rows are matched to the short runs by ``pair_by``.
    targets : mapping of task to column, optional
        Columns of each task, default :data:`PIPELINE_TARGETS` (those present are used; a name without
        ``[UNIT]`` matches that column whatever its unit). σ and D are
        converted from the unit in the column name (``mS/cm``, ``S/m``, ``Å^2/ps``, ``cm^2/s``) to
        S/m and Å²/ps, then log10 is taken.
    features : sequence of str, optional
        Metadata columns used as global descriptors (default: every numeric metadata column, i.e.
        column without a stage prefix, other than ``pair_by`` and ``fidelity_column``).
    descriptors : sequence of str
        Short-run columns used as descriptors (e.g. ``"msd.loglog_slope"``, ``"residence.tau [ps]"``,
        ``"msm.population_0"``); taken from the short runs only.
    smiles_column, beads_column : str
        Metadata column holding the repeat-unit SMILES, or the space-separated CG bead names.
    pair_by : str
        Column that identifies the same system in the short and the long runs.
    fidelity_column : str, optional
        Metadata column whose value is ``short_label`` or ``long_label`` on each row (one table).
    short_label, long_label : str
        Values of ``fidelity_column`` that mark a short and a long run.

    Returns
    -------
    ExtrapolationTable
        One row per system with a short run; its long-run labels NaN where no long run matched.
    """
    owner = "table_from_pipeline"
    targets = dict(PIPELINE_TARGETS if targets is None else targets)
    for t in targets:
        check_task(owner, t)
    cols, rows = _summary_rows(short)
    if fidelity_column is not None:
        if long is not None:
            raise ValueError(f"{owner} takes either a 'long' table or a 'fidelity_column', not both.")
        if fidelity_column not in cols:
            raise ValueError(f"The fidelity column {fidelity_column!r} is not in the table; columns: {cols}.")
        labels = {r[fidelity_column] for r in rows}
        if not labels <= {short_label, long_label}:
            raise ValueError(f"Column {fidelity_column!r} holds {sorted(labels - {short_label, long_label})}; "
                             f"expected {short_label!r} or {long_label!r}.")
        long_rows = [r for r in rows if r[fidelity_column] == long_label]
        rows = [r for r in rows if r[fidelity_column] == short_label]
        long_cols = cols
    else:
        long_cols, long_rows = _summary_rows(long) if long is not None else (cols, [])
    if not rows:
        raise ValueError(f"{owner}: no short-run rows.")
    gcol = beads_column if beads_column is not None else smiles_column
    for name, c in (("pair_by", pair_by), ("graph column", gcol)):
        if c is None or c not in cols:
            raise ValueError(f"The {name} {c!r} is not a column of the short-run table; columns: {cols}.")
    targets = {t: _resolve(c, cols + [x for x in long_cols if x not in cols]) for t, c in targets.items()}
    tasks = tuple(t for t in TASKS if t in targets and (targets[t] in cols or targets[t] in long_cols))
    if not tasks:
        raise ValueError(f"None of the target columns {sorted(targets.values())} is in the tables; columns: {cols}.")
    if features is None:
        skip = {pair_by, fidelity_column, smiles_column, beads_column, "system"}
        features = [c for c in cols if "." not in c and c not in skip
                    and all(_is_number(r[c]) for r in rows)]
    feats = list(features) + list(descriptors)
    for c in feats:
        if c not in cols:
            raise ValueError(f"Feature column {c!r} is not in the short-run table; columns: {cols}.")
    by_key: dict[str, dict[str, str]] = {}
    for r in long_rows:
        if r[pair_by] in by_key:
            raise ValueError(f"Two long runs share {pair_by} = {r[pair_by]!r}.")
        by_key[r[pair_by]] = r
    low = np.full((len(rows), len(tasks)), np.nan)
    high = np.full_like(low, np.nan)
    for k, r in enumerate(rows):
        where = f"short run {r[pair_by]!r}"
        lr = by_key.get(r[pair_by])
        for j, t in enumerate(tasks):
            c = targets[t]
            if c in r:
                low[k, j] = _convert(t, c, r[c], where)
            if lr is not None and c in lr:
                high[k, j] = _convert(t, c, lr[c], f"long run {r[pair_by]!r}")
    x = np.array([[_number(r[c], f"Feature {c!r} of short run {r[pair_by]!r}") for c in feats] for r in rows])
    graphs = tuple(r[gcol] if beads_column is None else tuple(r[gcol].split()) for r in rows)
    # A CG repeat unit is the same bead sequence for every chemistry of a family (only the force
    # field differs), so grouping by graph would lump them all: each paired system is its own chemistry.
    ids = tuple(r[pair_by] for r in rows)
    return ExtrapolationTable(ids, graphs, "cg" if beads_column else "smiles", tuple(feats),
                              x.reshape(len(rows), len(feats)), tasks, low, high,
                              groups=ids if beads_column else ())


def _resolve(column: str, columns: Sequence[str]) -> str:
    """``column`` itself, or the column named ``column [UNIT]`` when ``column`` has no unit."""
    if column in columns or "[" in column:
        return column
    found = [c for c in columns if c.startswith(column + " [")]
    return found[0] if found else column


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def read_prediction_csv(path: str | os.PathLike[str]) -> Any:
    """Read predictions written by ``trajml extrapolate predict`` (``id``, ``TASK``, ``TASK_std``, ``TASK_short``,
    and ``TASK_beyond_range`` where the model recorded its training range).

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.

    Returns
    -------
    ExtrapolationPrediction
        Missing ``_std`` or ``_short`` columns read as NaN.
    """
    from trajml.extrapolation.tables import ExtrapolationPrediction

    name = os.fspath(path)
    header, rows = _read_rows(name)
    if "id" not in header:
        raise ValueError(f"Prediction file '{name}' has no 'id' column. Got {header}.")
    tasks = tuple(t for t in TASKS if t in header)
    if not tasks:
        raise ValueError(f"Prediction file '{name}' has no task column (one of {list(TASKS)}). Got {header}.")
    ci = header.index("id")

    def column(col: str) -> np.ndarray:
        if col not in header:
            return np.full(len(rows), np.nan)
        c = header.index(col)
        return np.array([_number(r[c], f"Column {col!r} of row {k + 1} (id {r[ci]!r}) of '{name}'")
                         for k, r in enumerate(rows)])

    cols = {suffix: np.stack([column(t + suffix) for t in tasks], axis=1) for suffix in ("", "_std", "_short")}
    beyond = (np.stack([column(t + "_beyond_range") for t in tasks], axis=1)
              if any(t + "_beyond_range" in header for t in tasks) else None)
    return ExtrapolationPrediction(ids=tuple(r[ci] for r in rows), tasks=tasks, high=cols[""], high_std=cols["_std"],
                                   low=cols["_short"], beyond_range=beyond)
