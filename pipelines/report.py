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
  (:mod:`trajml.pipelines.report_windows`).
"""

from __future__ import annotations

import csv
import html
import math
import os
import re
import shutil
from typing import Any

from trajml.pipelines.report_diagnostics import passed_checks
from trajml.pipelines.report_series import temperature_series_section
from trajml.pipelines.report_windows import stage_warnings, window_notes

__all__ = ["write_report", "cross_system_table"]

_CSS = """body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}th{background:#eee}td.l,th.l{text-align:left}
.failed{color:#a00}.skipped{color:#a60}.warning{color:#a60}.note{background:#f6f6e8;padding:4px}
img{max-width:100%;margin:4px 0}section{margin-top:2em}"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


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
             f"units ({counts}) in {summary.wall_s:.1f} s. Lengths in Å, times in ps.</p>"]
    if summary.failures:
        parts.append("<h2 id='failures'>Failed systems</h2><table><tr><th class='l'>unit</th>"
                     "<th class='l'>status</th><th class='l'>reason</th></tr>")
        parts += [f"<tr class='{o.status}'><td class='l'>{e(o.unit)}</td><td class='l'>{o.status}</td>"
                  f"<td class='l'>{e(o.reason)}</td></tr>" for o in summary.failures]
        parts.append("</table>")
    parts.append("<h2>All systems</h2><p>" + " · ".join(f"<a href='{d}'>{d}</a>" for d in downloads) + "</p><table><tr>")
    parts += [f"<th>{e(c)}</th>" for c in columns]
    parts.append("</tr>")
    for r in rows:
        parts.append("<tr>" + "".join(f"<td class='l'>{_fmt(r.get(c))}</td>" if i == 0 else f"<td>{_fmt(r.get(c))}</td>"
                                      for i, c in enumerate(columns)) + "</tr>")
    parts.append("</table>")
    parts.append(temperature_series_section(columns, rows, tmp))
    for s in spec.systems:
        parts.append(_system_section(s, by_system.get(s.name, []), store, tmp))
    parts.append("</body></html>")
    with open(os.path.join(tmp, "index.html"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return os.path.join(folder, "index.html")


def _system_section(system: Any, outcomes: list[Any], store: Any, folder: str) -> str:
    e = html.escape
    out = [f"<section id='{_slug(system.name)}'><h2>{e(system.name)}</h2>",
           f"<p>Topology <code>{e(os.path.basename(system.topology))}</code>, trajectory "
           f"{', '.join(f'<code>{e(os.path.basename(t))}</code>' for t in system.trajectories)}</p>"]
    if system.metadata:
        out.append("<table>" + "".join(f"<tr><th class='l'>{e(str(k))}</th><td class='l'>{e(str(v))}</td></tr>"
                                       for k, v in system.metadata.items()) + "</table>")
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
            out.append("<table>" + "".join(f"<tr><th class='l'>{e(k)}</th><td>{_fmt(v)}</td><td class='l'>{e(u)}</td></tr>"
                                           for k, (v, u) in numbers.items()) + "</table>")
        links = []
        for name in entry.meta.get("files", []):
            sub = "figures" if name.endswith(".png") else "tables"
            target = f"{_slug(system.name)}--{_slug(o.stage_id)}--{name}"
            shutil.copyfile(entry.file(name), os.path.join(folder, sub, target))
            if sub == "figures":
                out.append(f"<img src='figures/{target}' alt='{e(o.stage_id)} of {e(system.name)}'>")
            else:
                links.append(f"<a href='tables/{target}'>{e(name)}</a>")
        if links:
            out.append("<p>Tables: " + ", ".join(links) + "</p>")
    out.append("</section>")
    return "\n".join(out)
