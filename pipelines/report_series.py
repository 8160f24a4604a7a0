"""Temperature series in the report: Arrhenius (and VFT) fits of transport numbers across systems.

When a pipeline holds three or more systems with a ``temperature`` in their metadata and a transport
number (a diffusion coefficient from an ``msd`` stage, a conductivity from a ``transport`` stage),
the report fits ln y = ln A − E_a/(R T) over the systems, and y = A exp(−B/(T − T0)) when there are
four or more, with the per-system errors as weights. A fit that does not determine its parameters
is shown as "fit failed: <reason>" (the reason from :attr:`trajml.transport.VFTFit.failure` or the
fitting error), never as numbers with a NaN error. Temperatures in K, E_a in kJ/mol, B and T0 in K.
"""

from __future__ import annotations

import html
import math
import os
import re
from typing import Any

from trajml.pipelines.report_format import format_quantity

__all__ = ["arrhenius_failure", "series_columns", "temperature_series_section"]

# Key numbers of the stages that make a temperature series: "<stage id>.<number> [unit]".
_SERIES = re.compile(r"^(?P<stage>[^.]+)\.(?P<name>D|sigma|sigma_NE) \[(?P<unit>[^\]]+)\]$")


def series_columns(columns: list[str]) -> list[tuple[str, str | None]]:
    """(value column, error column or None) of every number that can form a temperature series."""
    out = []
    for c in columns:
        m = _SERIES.match(c)
        if m:
            err = f"{m['stage']}.{m['name']}_err [{m['unit']}]"
            out.append((c, err if err in columns else None))
    return out


def _points(rows: list[dict[str, Any]], col: str, err: str | None) -> tuple[list[float], list[float], list[float]]:
    T, y, dy = [], [], []
    for r in rows:
        t, v = r.get("temperature"), r.get(col)
        e = r.get(err) if err else None
        if t is None or v is None:
            continue
        t, v = float(t), float(v)
        if not (math.isfinite(t) and t > 0 and math.isfinite(v) and v > 0):
            continue
        T.append(t)
        y.append(v)
        dy.append(float(e) if e is not None and math.isfinite(float(e)) and float(e) > 0 else math.nan)
    return T, y, dy


def arrhenius_failure(fit: Any) -> str:
    """Why an Arrhenius fit is no result (non-finite E_a or A), or ``""``; a missing error alone is not a failure."""
    if not (math.isfinite(fit.Ea_kJ_mol) and math.isfinite(fit.ln_A)):
        return "the points do not determine E_a and A (non-finite least-squares solution)"
    return ""


def temperature_series_section(columns: list[str], rows: list[dict[str, Any]], folder: str) -> str:
    """HTML of the temperature-series fits (empty when no series has three points).

    Parameters
    ----------
    columns, rows
        The cross-system table (``rows`` carry ``temperature`` in K when the metadata gives it).
    folder : str
        Report folder; the figure goes to ``figures/temperature_series.png``.
    """
    from trajml.transport import arrhenius_fit, vft_fit

    e = html.escape
    fits = []
    for col, err in series_columns(columns):
        T, y, dy = _points(rows, col, err)
        if len(set(T)) < 3:
            continue
        weights = None if any(math.isnan(d) for d in dy) else dy
        arr = arrhenius_fit(T, y, weights)
        vft: Any = "needs 4 or more temperatures"
        if len(set(T)) >= 4:
            try:
                vft = vft_fit(T, y, weights)
            except (ValueError, RuntimeError) as exc:  # too few or degenerate points for three parameters
                vft = str(exc)
            else:
                vft = vft.failure or vft
        fits.append((col, T, y, dy, arr, vft))
    if not fits:
        return ""
    parts = ["<h2 id='temperature-series'>Temperature series</h2>",
             "<div class='scroll'><table><tr><th class='l'>quantity</th><th>systems</th><th>E<sub>a</sub></th>"
             "<th>A</th><th>VFT B</th><th>VFT T<sub>0</sub></th></tr>"]
    for col, T, _, _, arr, vft in fits:
        unit = col[col.index("[") + 1:-1] if "[" in col else ""
        if isinstance(vft, str):
            v_cells = f"<td class='l fit-failed' colspan='2'>VFT fit failed: {e(vft)}</td>"
        else:
            v_cells = (f"<td>{e(format_quantity(vft.B_K, 'K', vft.B_err_K))}</td>"
                       f"<td>{e(format_quantity(vft.T0_K, 'K', vft.T0_err_K))}</td>")
        a_failure = arrhenius_failure(arr)
        a_cells = (f"<td class='l fit-failed' colspan='2'>Arrhenius fit failed: {e(a_failure)}</td>" if a_failure else
                   f"<td>{e(format_quantity(arr.Ea_kJ_mol, 'kJ/mol', arr.Ea_err_kJ_mol))}</td>"
                   f"<td>{e(format_quantity(arr.A, unit, arr.A_err))}</td>")
        parts.append(f"<tr><td class='l'>{e(col)}</td><td>{len(T)}</td>{a_cells}{v_cells}</tr>")
    parts.append("</table></div>")
    figure = _plot(fits, os.path.join(folder, "figures", "temperature_series.png"))
    if figure:
        parts.append(f"<p><img src='figures/{figure}' alt='temperature series'></p>")
    return "\n".join(parts)


def _plot(fits: list[tuple], path: str) -> str | None:
    from trajml.plotting import use_offscreen_backend

    use_offscreen_backend()
    import matplotlib.pyplot as plt
    import numpy as np

    from trajml.transport.temperature_series import R_KJ_MOL_K

    fig, ax = plt.subplots(figsize=(5.0, 3.5), layout="constrained")
    for col, T, y, dy, arr, _ in fits:
        if arrhenius_failure(arr):
            continue
        T, y, dy = np.asarray(T), np.asarray(y), np.asarray(dy)
        line = ax.errorbar(1000.0 / T, y, yerr=None if np.isnan(dy).any() else dy, fmt="o", label=col)
        grid = np.linspace(T.min(), T.max(), 50)
        ax.plot(1000.0 / grid, arr.A * np.exp(-arr.Ea_kJ_mol / (R_KJ_MOL_K * grid)), "-",
                color=line[0].get_color(), lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("value (column unit)")
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return os.path.basename(path)
