"""What the report says about the checks a stage ran on itself (its ``diagnostics`` records).

A stage that diagnoses its own result (the msm stage: implied-timescale convergence, timescales at
the lag, distinct states, Chapman–Kolmogorov test; the graphs stage: rows cut at max_neighbors)
stores one record per check, ``{"code", "passed", "message", "numbers"}``. The checks that failed
are also among the stage's ``warnings`` (shown as warnings); this module words the ones that passed,
so a reader sees what was checked, not only what went wrong.
"""

from __future__ import annotations

from typing import Any

__all__ = ["passed_checks"]


def passed_checks(data: dict[str, Any]) -> list[str]:
    """The messages of the diagnostics of a stored stage result that passed (empty without any)."""
    return [str(d.get("message", "")) for d in data.get("diagnostics", ()) if isinstance(d, dict) and d.get("passed")]
