"""The report's provenance panel: what ran, with which versions and parameters, when, where and how long.

A number in a paper needs the code and the inputs that made it. The panel gives trajml's version
and its dependencies', the Python and platform, the pipeline file (name, SHA-256 of its bytes and
its text in a collapsible block), each stage's full parameters (defaults filled in), when the run
started and finished (UTC), the host name (no user name), and the wall time of the run and of
each stage (seconds).
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import os
import platform
from typing import Any

from trajml.pipelines.report_format import format_quantity

__all__ = ["dependency_versions", "provenance_section"]

#: Distributions whose versions change the numbers of a run (those installed are listed).
_DEPENDENCIES = ("numpy", "scipy", "numba", "MDAnalysis", "mdtraj", "matplotlib", "pandas", "dask",
                 "distributed", "deeptime", "torch", "torch-geometric", "pyyaml")


def dependency_versions() -> dict[str, str]:
    """trajml, Python and every installed distribution of :data:`_DEPENDENCIES`: name -> version."""
    from trajml._version import __version__

    out = {"trajml": __version__, "Python": platform.python_version()}
    for name in _DEPENDENCIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _value_text(value: Any) -> str:
    # inputs (parameters, metadata) are shown as given, not rounded: 0.5 stays 0.5
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value_text(v)}" for k, v in value.items()) or "{}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(v) for v in value) or "[]"
    return "null" if value is None else str(value)


def key_value_list(items: dict[str, Any]) -> str:
    """HTML ``<dl>`` of ``items`` (nested mappings and lists as comma-separated text), never a dict repr."""
    e = html.escape
    return "<dl class='kv'>" + "".join(f"<dt>{e(str(k))}</dt><dd>{e(_value_text(v))}</dd>"
                                       for k, v in items.items()) + "</dl>"


def provenance_section(spec: Any, summary: Any, stored_seconds: dict[str, float] | None = None) -> str:
    """HTML of the provenance panel (``<section id='provenance'>``).

    Parameters
    ----------
    spec : PipelineSpec
        The pipeline that ran (its file is read for the hash and the text).
    summary : RunSummary
        Its outcomes, start and finish times and wall times.
    stored_seconds : dict of str to float, optional
        Per stage id, the seconds its reused units took when they were computed (s).
    """
    e = html.escape
    out = ["<section id='provenance'><h2>Provenance</h2>"]
    name = os.path.basename(spec.path)
    try:
        with open(spec.path, "rb") as fh:
            raw = fh.read()
        digest = hashlib.sha256(raw).hexdigest()
        out.append(f"<p>Pipeline file <code>{e(name)}</code>, SHA-256 <code>{digest}</code> (as read when the "
                   "report was written).</p><details><summary>Pipeline file text</summary>"
                   f"<pre>{e(raw.decode('utf-8', errors='replace'))}</pre></details>")
    except OSError as exc:
        out.append(f"<p class='warning'>Pipeline file <code>{e(name)}</code> could not be read for its hash and "
                   f"text ({e(type(exc).__name__)}: {e(str(exc))}).</p>")
    when = {"started (UTC)": getattr(summary, "started", "") or "not recorded",
            "finished (UTC)": getattr(summary, "finished", "") or "not recorded",
            "host": platform.node() or "unknown", "platform": f"{platform.system()} {platform.machine()}",
            "scheduler": summary.scheduler, "run id": summary.run_id,
            "wall time": format_quantity(float(summary.wall_s), "s")}
    out.append("<h3>Run</h3>" + key_value_list(when))
    out.append("<h3>Versions</h3>" + key_value_list(dependency_versions()))
    stages = summary.stages()
    out.append("<h3>Stages</h3>")
    for st in spec.stages:
        times = stages.get(st.id, {})
        timing = (f"{format_quantity(float(times.get('wall_s', 0.0)), 's')} wall, "
                  f"{format_quantity(float(times.get('seconds', 0.0)), 's')} in units"
                  if times.get("computed") else "no unit computed in this run")
        if times.get("reused"):
            before = (stored_seconds or {}).get(st.id)
            timing += (f"; {times['reused']} reused from the store"
                       + (f" (they took {format_quantity(float(before), 's')} when computed)" if before else ""))
        out.append(f"<details><summary><code>{e(st.id)}</code> ({e(st.stage)}): {e(timing)}</summary>"
                   f"{key_value_list(dict(st.params))}</details>")
    out.append("</section>")
    return "\n".join(out)
