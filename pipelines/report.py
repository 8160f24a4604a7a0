"""A static HTML report of a pipeline run: no server, no JavaScript, one folder to copy anywhere.

``REPORT/index.html`` holds

- the run's counts (computed / reused / failed / skipped) and the failed units with their reasons;
- a cross-system table: one row per system, its metadata and the key numbers of
  every stage (column ``STAGE_ID.NUMBER [unit]``), also written as
  ``summary.csv`` (and ``summary.parquet`` when pandas and pyarrow are installed);
- one section per system: metadata, then per stage its key numbers with units,
  its figures (PNG files copied into ``REPORT/figures/``) and links to its CSV
  tables (copied into ``REPORT/tables/``), its warnings (e.g. an error from fewer than 5
  time blocks), or the reason it failed; and, where an ``msd`` and a ``transport`` stage give one
  species two D over different fit windows, both windows with the reason
  (:mod:`trajml.pipelines.report_windows`);
- a provenance panel (:mod:`trajml.pipelines.report_provenance`): versions, the pipeline file
  (hash and text), each stage's parameters, when and where it ran, wall times.

Every number goes through :func:`~trajml.pipelines.report_format.format_quantity` (by magnitude,
with its unit, errors to matching digits, ``X ± X_err`` in one cell); a missing number shows ``–``,
never ``nan``. Wide and long tables sit in a scroll box, and a cross-system table with more columns
than :data:`TRANSPOSE_OVER` is transposed (one row per quantity, one column per system).
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
from typing import Any

from trajml.pipelines.report_diagnostics import passed_checks
from trajml.pipelines.report_format import MISSING, format_quantity, format_unit
from trajml.pipelines.report_provenance import key_value_list, provenance_section
from trajml.pipelines.report_series import temperature_series_section
from trajml.pipelines.report_windows import stage_warnings, window_notes

__all__ = ["write_report", "cross_system_table", "TRANSPOSE_OVER"]

#: A cross-system table with more columns than this is written transposed (quantities as rows).
TRANSPOSE_OVER = 8

_CSS = """body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #bbb;padding:2px 8px;text-align:right;white-space:nowrap}th{background:#eee}
td.l,th.l{text-align:left}.failed{color:#a00}.skipped{color:#a60}.warning{color:#a60}
.note{background:#f6f6e8;padding:4px}img{max-width:100%;margin:4px 0}section{margin-top:2em}
.scroll{overflow:auto;width:fit-content;max-width:100%;max-height:70vh;border:1px solid #ddd;margin:.5em 0}
.scroll table{margin:0}.scroll thead th{position:sticky;top:0;z-index:1}
.scroll th.row{position:sticky;left:0;background:#f4f4f4;z-index:0}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:.5em 0}
dl.kv dt{font-weight:bold}dl.kv dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;padding:6px}
details{margin:.3em 0}td.fit-failed{white-space:normal;min-width:24em;color:#a00}
code{overflow-wrap:anywhere}.small{font-size:small;color:#555}"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _cell(value: Any, unit: str = "", error: Any = None) -> str:
    """Escaped text of one result cell; a missing value says so in its tooltip."""
    text = format_quantity(value, unit, error)
    if text == MISSING and not isinstance(value, str):
        return f"<span title='not computed or not finite'>{MISSING}</span>"
    if isinstance(value, str):
        return html.escape(value)
    return html.escape(text)


_COLUMN = re.compile(r"^(?P<name>.*?)(?: \[(?P<unit>[^\]]*)\])?$")


def _split(column: str) -> tuple[str, str]:
    """``'msd.D [Å^2/ps]'`` → (``'msd.D'``, ``'Å^2/ps'``)."""
    m = _COLUMN.match(column)
    return m["name"], m["unit"] or ""


def _with_errors(names: list[str]) -> list[tuple[str, str | None]]:
    """Pair each name (``D``, ``msd.D [Å^2/ps]``) with its ``D_err`` sibling, dropping the siblings."""
    present = set(names)
    errors = {}
    for n in names:
        base, unit = _split(n)
        err = f"{base}_err" + (f" [{unit}]" if unit else "")
        if err in present and err != n:
            errors[n] = err
    siblings = set(errors.values())
    return [(n, errors.get(n)) for n in names if n not in siblings]


def cross_system_table(spec: Any, summary: Any, store: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows (one per system) of metadata and key numbers of every finished unit."""
    meta_keys: list[str] = []
    for s in spec.systems:
        meta_keys += [k for k, v in s.metadata.items() if not isinstance(v, (dict, list)) and k not in meta_keys]
    columns = ["system", *meta_keys]
    rows = {s.name: {"system": s.name, **{k: s.metadata.get(k) for k in meta_keys}} for s in spec.systems}
    for o in summary.outcomes:
        if o.status not in ("computed", "reused"):
            continue
        for name, (value, unit) in store.get(o.key).meta.get("numbers", {}).items():
            col = f"{o.stage_id}.{name}" + (f" [{unit}]" if unit else "")
            if col not in columns:
                columns.append(col)
            rows[o.system][col] = value
    return columns, [rows[s.name] for s in spec.systems]


def _write_tables(folder: str, columns: list[str], rows: list[dict[str, Any]]) -> list[str]:
    path = os.path.join(folder, "summary.csv")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows({c: ("" if r.get(c) is None else r.get(c)) for c in columns} for r in rows)
    written = ["summary.csv"]
    try:
        import pandas as pd
        import pyarrow  # noqa: F401
    except ImportError:
        return written
    pd.DataFrame(rows, columns=columns).to_parquet(os.path.join(folder, "summary.parquet"))
    return written + ["summary.parquet"]


def write_report(spec: Any, summary: Any, store: Any, folder: str) -> str:
    """Write the report of ``summary`` into ``folder``; return the path of ``index.html``.

    Parameters
    ----------
    spec : PipelineSpec
        The pipeline that ran.
    summary : RunSummary
        Its outcomes.
    store : ResultStore
        Where finished units are.
    folder : str
        Report folder (replaced wholesale, so no stale figure survives).
    """
    tmp = folder.rstrip(os.sep) + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "figures"))
    os.makedirs(os.path.join(tmp, "tables"))
    columns, rows = cross_system_table(spec, summary, store)
    downloads = _write_tables(tmp, columns, rows)
    by_system: dict[str, list[Any]] = {}
    for o in summary.outcomes:
        by_system.setdefault(o.system, []).append(o)
    e = html.escape
    counts = ", ".join(f"{summary.count(s)} {s}" for s in ("computed", "reused", "failed", "skipped"))
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(spec.name)} – trajml report</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{e(spec.name)}</h1><p>Pipeline <code>{e(os.path.basename(spec.path))}</code>, run "
             f"<code>{e(summary.run_id)}</code> on <code>{e(summary.scheduler)}</code>: {len(summary.outcomes)} "
             f"units ({counts}) in {e(format_quantity(float(summary.wall_s), 's'))}. Lengths in Å, times in ps; "
             "versions, parameters and timings under <a href='#provenance'>Provenance</a>.</p>"]
    if summary.failures:
        parts.append("<h2 id='failures'>Failed systems</h2><div class='scroll'><table><tr><th class='l'>unit</th>"
                     "<th class='l'>status</th><th class='l'>reason</th></tr>")
        parts += [f"<tr class='{o.status}'><td class='l'>{e(o.unit)}</td><td class='l'>{o.status}</td>"
                  f"<td class='l' style='white-space:normal'>{e(o.reason)}</td></tr>" for o in summary.failures]
        parts.append("</table></div>")
    parts.append("<h2>All systems</h2><p>" + " · ".join(f"<a href='{d}'>{d}</a>" for d in downloads) + "</p>")
    parts.append(_summary_table(columns, rows))
    parts.append(temperature_series_section(columns, rows, tmp))
    for s in spec.systems:
        parts.append(_system_section(s, by_system.get(s.name, []), store, tmp))
    stored: dict[str, float] = {}
    for o in summary.outcomes:
        if o.status == "reused":
            stored[o.stage_id] = stored.get(o.stage_id, 0.0) + float(store.get(o.key).meta.get("seconds", 0.0))
    parts.append(provenance_section(spec, summary, stored))
    parts.append("</body></html>")
    with open(os.path.join(tmp, "index.html"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return os.path.join(folder, "index.html")


def _summary_table(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """The cross-system table in a scroll box; transposed when it has more than TRANSPOSE_OVER columns."""
    e = html.escape
    cols = _with_errors(columns[1:])
    if len(cols) + 1 <= TRANSPOSE_OVER:
        head = "".join(f"<th>{e(_split(c)[0])}" + (f" [{e(format_unit(_split(c)[1]))}]" if _split(c)[1] else "")
                       + "</th>" for c, _ in cols)
        body = "".join(f"<tr><th class='l row'>{e(str(r['system']))}</th>"
                       + "".join(f"<td>{_cell(r.get(c), '', r.get(err) if err else None)}</td>" for c, err in cols)
                       + "</tr>" for r in rows)
        return (f"<div class='scroll wide'><table><thead><tr><th class='l'>system</th>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table></div>")
    head = "".join(f"<th>{e(str(r['system']))}</th>" for r in rows)
    body = []
    for c, err in cols:
        name, unit = _split(c)
        body.append(f"<tr><th class='l row'>{e(name)}</th><td class='l'>{e(format_unit(unit))}</td>"
                    + "".join(f"<td>{_cell(r.get(c), '', r.get(err) if err else None)}</td>" for r in rows) + "</tr>")
    return (f"<p class='small'>{len(cols)} quantities × {len(rows)} systems, one row per quantity "
            "(the same table as summary.csv, transposed).</p>"
            f"<div class='scroll wide'><table><thead><tr><th class='l'>quantity</th><th class='l'>unit</th>{head}"
            f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _missing_figure(system: str, stage_id: str, name: str, why: str) -> str:
    """The report's message (and a log line) for a figure a stage asked for but that cannot be shown."""
    from trajml._progress import log_line

    text = (f"Figure '{name}' of stage {stage_id!r} for system {system!r} is not shown: {why}. The rest of the "
            "report is complete; delete the stage's entry from the store (or change a parameter) and rerun the "
            "pipeline to draw it again.")
    log_line(f"report: {text}")
    return f"<p class='warning missing-figure'>{html.escape(text)}</p>"


def _system_section(system: Any, outcomes: list[Any], store: Any, folder: str) -> str:
    e = html.escape
    out = [f"<section id='{_slug(system.name)}'><h2>{e(system.name)}</h2>",
           f"<p>Topology <code>{e(os.path.basename(system.topology))}</code>, trajectory "
           f"{', '.join(f'<code>{e(os.path.basename(t))}</code>' for t in system.trajectories)}</p>"]
    if system.metadata:
        out.append(key_value_list(system.metadata))
    entries = {o.key: store.get(o.key) for o in outcomes if o.status in ("computed", "reused")}
    notes = window_notes([(o.stage_id, o.stage, entries[o.key].data) for o in outcomes if o.key in entries])
    out += [f"<p class='note'>Fit windows: {e(n)}</p>" for n in notes]
    for o in outcomes:
        out.append(f"<h3>{e(o.stage_id)} <small>({e(o.stage)}, {o.status})</small></h3>")
        if o.status not in ("computed", "reused"):
            out.append(f"<p class='{o.status}'>{e(o.reason)}</p>")
            continue
        entry = entries[o.key]
        out += [f"<p class='warning'>Warning: {e(w)}</p>" for w in stage_warnings(entry.data)]
        checked = passed_checks(entry.data)
        out += [f"<p class='note'>Checked: {e(' '.join(checked))}</p>"] if checked else []
        numbers = entry.meta.get("numbers", {})
        if numbers:
            cells = [(k, _cell(numbers[k][0], numbers[k][1], numbers[err][0] if err else None))
                     for k, err in _with_errors(list(numbers))]
            out.append("<div class='scroll'><table>" + "".join(
                f"<tr><th class='l'>{e(k)}</th><td>{c}</td></tr>" for k, c in cells) + "</table></div>")
        for name, why in entry.meta.get("missing_figures", {}).items():
            out.append(_missing_figure(system.name, o.stage_id, f"{name}.png", why))
        links = []
        for name in entry.meta.get("files", []):
            sub = "figures" if name.endswith(".png") else "tables"
            target = f"{_slug(system.name)}--{_slug(o.stage_id)}--{name}"
            source = entry.file(name)
            if not os.path.isfile(source):
                out.append(_missing_figure(system.name, o.stage_id, name, "its file is missing from the stored result")
                           if sub == "figures" else f"<p class='warning'>Table {e(name)} is missing from the stored "
                           "result.</p>")
                continue
            shutil.copyfile(source, os.path.join(folder, sub, target))
            if sub == "figures":
                out.append(f"<img src='figures/{target}' alt='{e(o.stage_id)} of {e(system.name)}'>")
            else:
                links.append(f"<a href='tables/{target}'>{e(name)}</a>")
        if links:
            out.append("<p>Tables: " + ", ".join(links) + "</p>")
    out.append("</section>")
    return "\n".join(out)
