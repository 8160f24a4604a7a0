"""Training tables of short-run (low-fidelity) and long-run (high-fidelity) transport labels (torch-free).

A table row is one system: a polymer graph (a repeat-unit SMILES with two ``*`` attachment points, or
the bead sequence of a coarse-grained repeat unit), numeric features (global descriptors such as salt
concentration and temperature, and optional short-run descriptors such as MSD slopes or residence
times), and per task a low- and a high-fidelity label, either of which may be missing (NaN).

Tasks and units
---------------
``log10_sigma``     log10 of the ionic conductivity σ in S/m
``log10_D_Li``      log10 of the Li⁺ self-diffusion coefficient in Å²/ps
``log10_D_anion``   log10 of the anion self-diffusion coefficient in Å²/ps
``log10_D_polymer`` log10 of the polymer (bead or atom) self-diffusion coefficient in Å²/ps
``transference``    cation transference number t₊ (dimensionless)

Sources: CSV files of ``id,smiles,value`` (one per property and fidelity, the layout of published
polymer-electrolyte datasets), a wide CSV of the whole table (:func:`read_table_csv`), or the
``summary.csv`` cross-system tables of trajml pipeline runs (:func:`table_from_pipeline`).
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from trajml.results import Results

__all__ = ["TASKS", "TASK_UNITS", "ExtrapolationTable", "ExtrapolationPrediction", "read_property_csv",
           "table_from_csvs", "read_table_csv", "write_table_csv", "table_from_pipeline", "kfold_indices",
           "check_task", "check_labels", "PIPELINE_TARGETS"]

TASKS = ("log10_sigma", "log10_D_Li", "log10_D_anion", "log10_D_polymer", "transference")
TASK_UNITS = {"log10_sigma": "log10(S/m)", "log10_D_Li": "log10(Å^2/ps)", "log10_D_anion": "log10(Å^2/ps)",
              "log10_D_polymer": "log10(Å^2/ps)", "transference": ""}

#: Default pipeline columns of each task (``STAGE_ID.NUMBER [UNIT]`` of the cross-system table).
#: A name without a unit matches the column of that name with any unit (``msd.D`` matches ``msd.D [Å^2/ps]``).
PIPELINE_TARGETS = {"log10_sigma": "transport.sigma", "log10_D_Li": "msd.D", "transference": "transport.transference"}

# Factors to S/m and Å²/ps of the units the pipeline stages report.
_TO_SI = {"S/m": 1.0, "mS/cm": 0.1, "S/cm": 100.0, "Å^2/ps": 1.0, "A^2/ps": 1.0, "cm^2/s": 1e4, "m^2/s": 1e8}


def check_task(owner: str, task: Any) -> str:
    """Validate a task name (one of :data:`TASKS`)."""
    if task not in TASKS:
        raise ValueError(f"The 'task' parameter of {owner} must be one of {list(TASKS)}. Got {task!r} instead.")
    return str(task)


# ----------------------------------------------------------------------------------------------
# the table
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ExtrapolationTable:
    """Systems with graphs, features and masked low/high-fidelity labels.

    Attributes
    ----------
    ids : tuple of str
        One identifier per row.
    graphs : tuple
        Repeat-unit SMILES strings (``graph_kind == "smiles"``) or tuples of bead names (``"cg"``).
    graph_kind : str
        ``"smiles"`` or ``"cg"``.
    feature_names : tuple of str
        Names of the feature columns (global and short-run descriptors).
    features : ndarray, shape (n, n_features), float64
        Finite feature values, in the units their names state.
    tasks : tuple of str
        Task names (a subset of :data:`TASKS`, in that order).
    low, high : ndarray, shape (n, n_tasks), float64
        Short-run and long-run labels in the task units (see the module docstring); NaN = missing.
    groups : tuple of str
        Chemistry of each row (default: its graph), for cross-validation that holds out whole chemistries.
    """

    ids: tuple[str, ...]
    graphs: tuple[Any, ...]
    graph_kind: str
    feature_names: tuple[str, ...]
    features: np.ndarray
    tasks: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    groups: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        owner = "ExtrapolationTable"
        n = len(self.ids)
        if self.graph_kind not in ("smiles", "cg"):
            raise ValueError(f"The 'graph_kind' parameter of {owner} must be 'smiles' or 'cg'. "
                             f"Got {self.graph_kind!r} instead.")
        if len(self.graphs) != n:
            raise ValueError(f"{owner} has {n} ids but {len(self.graphs)} graphs.")
        for t in self.tasks:
            check_task(owner, t)
        feats = np.asarray(self.features, dtype=np.float64).reshape(n, len(self.feature_names))
        bad = np.argwhere(~np.isfinite(feats))
        if len(bad):
            i, j = bad[0]
            raise ValueError(f"Feature '{self.feature_names[j]}' of row {i + 1} (id {self.ids[i]!r}) is "
                             f"{feats[i, j]}; features must be finite.")
        object.__setattr__(self, "features", feats)
        for name in ("low", "high"):
            a = np.asarray(getattr(self, name), dtype=np.float64).reshape(n, len(self.tasks))
            if np.isinf(a).any():
                i, j = np.argwhere(np.isinf(a))[0]
                raise ValueError(f"The {name}-fidelity '{self.tasks[j]}' label of row {i + 1} (id {self.ids[i]!r}) "
                                 f"is infinite.")
            object.__setattr__(self, name, a)
        groups = tuple(str(g) for g in self.groups) or tuple(
            g if isinstance(g, str) else " ".join(g) for g in self.graphs)
        if len(groups) != n:
            raise ValueError(f"{owner} has {n} ids but {len(groups)} groups.")
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        object.__setattr__(self, "graphs", tuple(g if isinstance(g, str) else tuple(g) for g in self.graphs))

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: Sequence[int] | np.ndarray) -> "ExtrapolationTable":
        """The table restricted to ``rows`` (indices, in the order given)."""
        r = np.asarray(rows, dtype=np.int64)
        return ExtrapolationTable(tuple(self.ids[i] for i in r), tuple(self.graphs[i] for i in r), self.graph_kind,
                                  self.feature_names, self.features[r], self.tasks, self.low[r], self.high[r],
                                  tuple(self.groups[i] for i in r))

    def without_labels(self, fidelity: str = "high") -> "ExtrapolationTable":
        """A copy with the ``fidelity`` ('low' or 'high') labels all missing (for screening)."""
        blank = np.full_like(self.high, np.nan)
        return ExtrapolationTable(self.ids, self.graphs, self.graph_kind, self.feature_names, self.features,
                                  self.tasks, blank if fidelity == "low" else self.low,
                                  blank if fidelity == "high" else self.high, self.groups)


def check_labels(owner: str, table: ExtrapolationTable, fidelity: str = "high") -> None:
    """Refuse a table whose ``fidelity`` labels are all missing, or constant, for some task."""
    values = getattr(table, fidelity)
    for j, t in enumerate(table.tasks):
        v = values[:, j][np.isfinite(values[:, j])]
        if v.size == 0:
            raise ValueError(f"{owner}: the {fidelity}-fidelity labels of task '{t}' are empty (every row is "
                             f"missing); drop the task or give labels.")
        if v.size >= 2 and np.ptp(v) == 0.0:
            raise ValueError(f"{owner}: the {fidelity}-fidelity labels of task '{t}' are constant ({v[0]:g} in all "
                             f"{v.size} rows); there is nothing to learn.")
        if v.size < 2:
            raise ValueError(f"{owner}: task '{t}' has only {v.size} {fidelity}-fidelity label; at least 2 are needed.")


@dataclass(frozen=True, eq=False, kw_only=True)
class ExtrapolationPrediction(Results):
    """Predicted long-run (and short-run) values of each row.

    Attributes
    ----------
    ids : tuple of str
    tasks : tuple of str
    high : ndarray, shape (n, n_tasks), float64
        Predicted long-run values in the task units (log10 S/m, log10 Å²/ps, or t₊).
    high_std : ndarray, shape (n, n_tasks), float64
        Their standard deviation (ensemble spread and, with a heteroscedastic head, the predicted
        noise); NaN when the model gives none.
    low : ndarray, shape (n, n_tasks), float64
        Predicted short-run values (NaN when the model gives none).
    """

    ids: tuple[str, ...]
    tasks: tuple[str, ...]
    high: np.ndarray
    high_std: np.ndarray
    low: np.ndarray

    def columns(self) -> dict[str, np.ndarray]:
        """Columns ``TASK``, ``TASK_std``, ``TASK_short`` for a CSV (ids excluded)."""
        out: dict[str, np.ndarray] = {}
        for j, t in enumerate(self.tasks):
            out[t] = self.high[:, j]
            out[f"{t}_std"] = self.high_std[:, j]
            out[f"{t}_short"] = self.low[:, j]
        return out

    def _table(self) -> dict[str, np.ndarray]:
        return {"id": np.asarray(self.ids, dtype=object), **self.columns()}

    def write_csv(self, path: str) -> None:
        """Write ``id`` and :meth:`columns` to ``path`` atomically (a temporary file, then a rename)."""
        cols = self.columns()
        rows = [[i, *(_fmt(cols[c][k]) for c in cols)] for k, i in enumerate(self.ids)]
        _atomic_csv(path, ["id", *cols], rows)


def _fmt(v: float) -> str:
    return "" if not math.isfinite(v) else f"{v:.8g}"


def _atomic_csv(path: str, header: list[str], rows: Iterable[Sequence[Any]]) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise OSError(f"Cannot write the output file '{path}': {exc.strerror or exc}.") from None


# ----------------------------------------------------------------------------------------------
# CSV readers
# ----------------------------------------------------------------------------------------------

def _read_rows(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]]]:
    name = os.fspath(path)
    try:
        with open(name, newline="", encoding="utf-8-sig") as fh:
            lines = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    except OSError as exc:
        raise OSError(f"Cannot read the CSV file '{name}': {exc.strerror or exc}.") from None
    if not lines:
        raise ValueError(f"CSV file '{name}' is empty: expected a header line and at least one row.")
    header = [h.strip() for h in lines[0]]
    rows = [[c.strip() for c in r] for r in lines[1:]]
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


def read_property_csv(path: str | os.PathLike[str], *, log10: bool = False) -> tuple[list[str], list[str], np.ndarray]:
    """Read one property at one fidelity from a CSV of ``id,smiles,value``.

    Parameters
    ----------
    path : str or path-like
        CSV with a header naming the columns ``id``, ``smiles`` and ``value`` (any order, any case;
        other columns are ignored). Empty values are missing labels.
    log10 : bool
        Take log10 of the values (which must then be > 0), for files that hold σ in S/m or D in Å²/ps
        rather than their logarithms.

    Returns
    -------
    ids, smiles : list of str
    values : ndarray, shape (n,), float64
        NaN where missing.
    """
    name = os.fspath(path)
    header, rows = _read_rows(name)
    lower = [h.lower() for h in header]
    missing = [c for c in ("id", "smiles", "value") if c not in lower]
    if missing:
        raise ValueError(f"CSV file '{name}' has no column(s) {missing}; a property file has the header "
                         f"'id,smiles,value'. Got {header}.")
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
    bad = np.flatnonzero(np.isinf(values) | (log10 & (values <= 0)))
    if len(bad):
        k = bad[0]
        need = "finite and > 0 (log10 is taken)" if log10 else "finite"
        raise ValueError(f"The value of row {k + 1} (id {ids[k]!r}) of '{name}' is {values[k]:g}; it must be {need}.")
    if log10:
        values = np.log10(values)
    return ids, [r[cs] for r in rows], values


def table_from_csvs(high: Mapping[str, str | os.PathLike[str]], low: Mapping[str, str | os.PathLike[str]] | None = None,
                    *, features: str | os.PathLike[str] | None = None, log10: bool = False) -> ExtrapolationTable:
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

    Returns
    -------
    ExtrapolationTable
        Rows in order of first appearance; an id's SMILES must agree across files.
    """
    owner = "table_from_csvs"
    low = dict(low or {})
    tasks = [t for t in TASKS if t in high or t in low]
    for t in list(high) + list(low):
        check_task(owner, t)
    if not tasks:
        raise ValueError(f"The 'high' parameter of {owner} must name at least one task file. Got {dict(high)!r}.")
    order: dict[str, int] = {}
    smiles: dict[str, tuple[str, str]] = {}
    labels: dict[tuple[str, str], tuple[list[str], np.ndarray]] = {}
    for fid, files in (("high", high), ("low", low)):
        for t, path in files.items():
            ids, sm, vals = read_property_csv(path, log10=log10 and t.startswith("log10_"))
            for i, s in zip(ids, sm):
                if i in smiles and smiles[i][0] != s:
                    raise ValueError(f"Id {i!r} has SMILES {smiles[i][0]!r} in '{smiles[i][1]}' but {s!r} in "
                                     f"'{os.fspath(path)}'.")
                smiles.setdefault(i, (s, os.fspath(path)))
                order.setdefault(i, len(order))
            labels[(fid, t)] = (ids, vals)
    ids = sorted(order, key=order.__getitem__)
    arrays = {f: np.full((len(ids), len(tasks)), np.nan) for f in ("low", "high")}
    for (fid, t), (tids, vals) in labels.items():
        arrays[fid][[order[i] for i in tids], tasks.index(t)] = vals
    names: tuple[str, ...] = ()
    feats = np.zeros((len(ids), 0))
    if features is not None:
        fname = os.fspath(features)
        header, rows = _read_rows(fname)
        if "id" not in [h.lower() for h in header]:
            raise ValueError(f"Feature file '{fname}' has no 'id' column. Got {header}.")
        ci = [h.lower() for h in header].index("id")
        cols = [c for c in range(len(header)) if c != ci and header[c].lower() != "smiles"]
        names = tuple(header[c] for c in cols)
        by_id = {r[ci]: r for r in rows}
        absent = [i for i in ids if i not in by_id]
        if absent:
            raise ValueError(f"Feature file '{fname}' has no row for id(s) {absent[:5]}.")
        feats = np.array([[_number(by_id[i][c], f"Feature '{header[c]}' of id {i!r} in '{fname}'") for c in cols]
                          for i in ids]).reshape(len(ids), len(cols))
    return ExtrapolationTable(tuple(ids), tuple(smiles[i][0] for i in ids), "smiles", names, feats, tuple(tasks),
                              arrays["low"], arrays["high"])


def read_table_csv(path: str | os.PathLike[str], *, require_labels: bool = False) -> ExtrapolationTable:
    """Read a wide table: ``id``, ``smiles`` or ``beads``, feature columns, ``low:TASK``, ``high:TASK``.

    ``beads`` holds a coarse-grained repeat unit as space-separated bead names (``C O``). Columns
    ``group`` (chemistry, for cross-validation) are optional. Every other column is a numeric feature.
    Screening candidates are such a file without label columns.
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
    graphs = tuple(r[cg] if kind == "smiles" else tuple(r[cg].split()) for r in rows)
    groups = tuple(r[cgroup] for r in rows) if cgroup is not None else ()
    return ExtrapolationTable(tuple(ids), graphs, kind, tuple(header[c] for c in feat_cols), feats, tasks,
                              arrays["low"], arrays["high"], groups)


def write_table_csv(table: ExtrapolationTable, path: str) -> None:
    """Write ``table`` in the layout :func:`read_table_csv` reads (atomically)."""
    gcol = "smiles" if table.graph_kind == "smiles" else "beads"
    header = ["id", gcol, "group", *table.feature_names, *(f"{f}:{t}" for f in ("low", "high") for t in table.tasks)]
    rows = [[table.ids[k], g if isinstance(g, str) else " ".join(g), table.groups[k],
             *(repr(float(v)) for v in table.features[k]),
             *(_fmt(v) for v in table.low[k]), *(_fmt(v) for v in table.high[k])]
            for k, g in enumerate(table.graphs)]
    _atomic_csv(path, header, rows)


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


# ----------------------------------------------------------------------------------------------
# cross-validation folds
# ----------------------------------------------------------------------------------------------

def kfold_indices(n: int, n_splits: int = 5, seed: int | None = 0,
                  groups: Sequence[Any] | None = None,
                  stratify: Sequence[bool] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test indices of k-fold cross-validation.

    Parameters
    ----------
    n : int
        Number of rows.
    n_splits : int
        Number of folds (>= 2).
    seed : int or None
        Shuffle with ``numpy.random.RandomState(seed)`` (the splits then equal scikit-learn's
        ``KFold(n_splits, shuffle=True, random_state=seed)``); None keeps the order.
    groups : sequence, optional
        Group label per row (e.g. the chemistry): whole groups are held out together, so a chemistry
        seen in training never appears in its test fold.
    stratify : sequence of bool, optional
        Rows that are scarce and must be spread over the folds (e.g. those with a long-run label):
        groups holding any are dealt to the folds in turn before the others fill them up, so every
        fold tests some and trains on the rest. Without it the splits are plain (shuffled) k-fold.

    Returns
    -------
    list of (train, test)
        ``n_splits`` pairs of sorted int64 index arrays; every row is in exactly one test fold.
    """
    owner = "kfold_indices"
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ValueError(f"The 'n_splits' parameter of {owner} must be an int >= 2. Got {n_splits!r} instead.")
    if groups is None:
        units = np.arange(n)
        labels = units
    else:
        if len(groups) != n:
            raise ValueError(f"The 'groups' parameter of {owner} has {len(groups)} labels for {n} rows.")
        uniq, labels = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
        units = np.arange(len(uniq))
    if len(units) < n_splits:
        raise ValueError(f"{owner} cannot make {n_splits} folds of {len(units)} "
                         f"{'groups' if groups is not None else 'rows'}.")
    order = units if seed is None else np.random.RandomState(seed).permutation(len(units))
    if stratify is None:
        sizes = np.full(n_splits, len(units) // n_splits)
        sizes[: len(units) % n_splits] += 1
        stop = np.cumsum(sizes)
        folds = [order[stop[k] - sizes[k]: stop[k]] for k in range(n_splits)]
    else:
        if len(stratify) != n:
            raise ValueError(f"The 'stratify' parameter of {owner} has {len(stratify)} flags for {n} rows.")
        scarce = np.zeros(len(units), dtype=bool)
        scarce[labels[np.asarray(stratify, dtype=bool)]] = True
        # Deal the scarce groups round-robin, then the others into the currently smallest folds.
        dealt = np.concatenate([order[scarce[order]], order[~scarce[order]]])
        n_scarce = int(scarce.sum())
        members: list[list[int]] = [[] for _ in range(n_splits)]
        for pos, u in enumerate(dealt):
            k = pos % n_splits if pos < n_scarce else int(np.argmin([len(m) for m in members]))
            members[k].append(int(u))
        folds = [np.asarray(m, dtype=np.int64) for m in members]
    out = []
    for held in folds:
        test = np.flatnonzero(np.isin(labels, held))
        out.append((np.setdiff1d(np.arange(n), test).astype(np.int64), test.astype(np.int64)))
    return out
