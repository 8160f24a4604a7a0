"""What a case of the hostile tally is: its command, the words a clear error names, and the checks of exit 0.

Part of ``bench_hostile.py`` (run by hand, not in CI); its docstring says how cases are classified.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PY = sys.executable
RDF = ["--select-a", "name Li", "--select-b", "name O", "--r-max", "10", "--n-bins", "20", "--no-progress"]

Check = Callable[[Path, str], "str | None"]


@dataclass
class Case:
    """One bad input: a command run in ``WORK/cases/ID``, what a clear error names, and the exit-0 check."""

    id: str
    category: str
    argv: list[str]
    expect: tuple[str, ...] = ()
    ok: Check | None = None  # None: exit 0 is wrong; else returns None when the output is right, or why not
    setup: Callable[[Path], None] | None = None
    timeout: float = 120.0


# --------------------------------------------------------------------------------------------------
# Checks of exit-0 outcomes
# --------------------------------------------------------------------------------------------------

def _csv(path: Path) -> np.ndarray:
    rows = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")][1:]  # header
    return np.array([[float(x) for x in ln.split(",")] for ln in rows], dtype=float).reshape(len(rows), -1)


def same_csv(reference: str, rtol: float = 0.0) -> Check:
    """The case's out.csv equals the reference run's (exactly, or within ``rtol`` of the largest value)."""
    def check(folder: Path, text: str) -> str | None:
        ref = REFERENCE / reference
        if not (folder / "out.csv").is_file():
            return "no output file"
        a, b = _csv(folder / "out.csv"), _csv(ref)
        if a.shape != b.shape:
            return f"output shape {a.shape} differs from the clean run's {b.shape}"
        tol = rtol * max(float(np.abs(b).max()), 1e-12)
        diff = float(np.abs(a - b).max())
        return None if diff <= tol else f"output differs from the clean run by {diff:.3g}"
    return check


def warns(*words: str) -> Check:
    """Exit 0 is right when the output says so: every word appears."""
    def check(folder: Path, text: str) -> str | None:
        missing = [w for w in words if w.lower() not in text.lower()]
        return None if not missing else f"exit 0 without a word of {missing}"
    return check


def both(*checks: Check) -> Check:
    def check(folder: Path, text: str) -> str | None:
        for c in checks:
            why = c(folder, text)
            if why:
                return why
        return None
    return check


def run_counts(computed: int | None = None, failed: int | None = None) -> Check:
    """A pipeline run's summary.json counts."""
    def check(folder: Path, text: str) -> str | None:
        path = folder / "out" / "summary.json"
        if not path.is_file():
            return "no summary.json"
        counts = json.loads(path.read_text())["counts"]
        for name, want in (("computed", computed), ("failed", failed)):
            if want is not None and counts[name] != want:
                return f"{counts[name]} units {name}, expected {want}"
        return None
    return check


REFERENCE = Path()


def trajml(*args: str) -> list[str]:
    return [PY, "-m", "trajml", *args]

