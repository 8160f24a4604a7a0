"""What the report says beside transport numbers: their warnings, and fit windows that differ between stages.

One system's D can come from two stages: the ``msd`` stage (D of one selection) and the ``transport``
stage (D of the cation and anion, beside σ). Each fits over a window in ps; when the windows (or the
frames of reference) differ, the two D of one species differ too. The report then says so, with both
windows and why each was chosen, instead of showing two numbers for one quantity without a word. The
transport stage's ``window_from`` makes the windows one (see :func:`trajml.pipelines.stages.transport.transport`).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["stage_warnings", "window_notes"]


def stage_warnings(data: dict[str, Any]) -> list[str]:
    """The ``warnings`` of a stored stage result and of the D fit it holds (the msd stage's ``diffusion``)."""
    nested = data.get("diffusion") if isinstance(data.get("diffusion"), dict) else {}
    return [str(w) for w in (*data.get("warnings", ()), *nested.get("warnings", ()))]


def _same(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def _msd_reason(fit: dict[str, Any]) -> str:
    if fit.get("window_method") == "given":
        return "given"
    return "automatic: the longest diffusive stretch of this MSD, up to max_fraction of the run"


def _transport_reason(data: dict[str, Any]) -> str:
    source = data.get("window_source", data.get("window_method"))
    if source == "given":
        return "given"
    if source == "auto":
        return (f"automatic on the MSD pooled over both ions, kept within one of {data.get('n_blocks')} time "
                "blocks so that σ has a block error")
    return f"from the {source}"


def window_notes(stored: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """Plain-text notes for every msd/transport pair of one system whose D disagree in window or frame.

    Parameters
    ----------
    stored : list of (stage id, stage name, data)
        The finished units of one system, ``data`` as stored (``result.json``).

    Returns
    -------
    list of str
        One note per (msd stage, transport stage) pair that fits the same species over different
        windows (ps) or in different frames of reference; empty when they agree.
    """
    notes = []
    msds = [(sid, d) for sid, stage, d in stored if stage == "msd" and isinstance(d.get("diffusion"), dict)]
    transports = [(sid, d) for sid, stage, d in stored if stage == "transport"]
    for msd_id, m in msds:
        fit = m["diffusion"]
        for tr_id, t in transports:
            selections = list(t.get("selections", ()))
            if m.get("selection") not in selections:
                continue
            k = selections.index(m.get("selection"))
            species = t["species"][k]
            same_window = _same(fit.get("fit_start_ps"), t.get("fit_start_ps")) and _same(
                fit.get("fit_stop_ps"), t.get("fit_stop_ps"))
            same_frame = bool(m.get("drift_removed")) == bool(t.get("drift_removed"))
            if same_window and same_frame:
                continue
            text = (f"Two D of {species}: the {msd_id} stage gives {fit['D_A2_ps']:.4g} Å²/ps over "
                    f"{fit['fit_start_ps']:g}–{fit['fit_stop_ps']:g} ps ({_msd_reason(fit)}); the {tr_id} stage "
                    f"gives {t['D_A2_ps'][k]:.4g} Å²/ps over {t['fit_start_ps']:g}–{t['fit_stop_ps']:g} ps "
                    f"({_transport_reason(t)}), the window of its σ and σ_NE.")
            if not same_window:
                text += (f" The windows differ; set window_from: {msd_id} on the {tr_id} stage to fit σ over the "
                         "D window.")
            if not same_frame:
                moved = tr_id if t.get("drift_removed") else msd_id
                text += (f" Only the {moved} stage removes the centre-of-mass drift (barycentric frame), which "
                         "changes D under a thermostat that does not conserve momentum.")
            notes.append(text)
    return notes
