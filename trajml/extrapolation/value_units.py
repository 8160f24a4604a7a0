"""Units of published label values, their conversion to the task units, and a plausibility check.

Published datasets give σ and D as they were measured (Xie et al. 2022: σ in S/cm, D in cm²/s, not
logged) or as logarithms in other units. :func:`to_task_units` converts a column of values in a declared
unit (``"S/cm"``, ``"cm2/s"``, ``"log10(S/cm)"``, ...) to the units of a task (log10 of S/m for σ,
log10 of Å²/ps for D, see :mod:`trajml.extrapolation.tables`) and refuses values that cannot be that
quantity: a non-positive raw σ or D, or "logarithms" that are really raw values (every value in
(0, 1), or a σ above 1 S/cm, a D above 10⁻² cm²/s: no electrolyte conducts or diffuses that fast).
"""

from __future__ import annotations

import math
import re
from typing import Callable

import numpy as np

from trajml._fixes import cli_text, with_cli_text

__all__ = ["VALUE_UNITS", "parse_unit", "unit_kind", "to_task_units", "units_by_task", "TASK_KIND"]

#: Kind of quantity of each task.
TASK_KIND = {"log10_sigma": "conductivity", "log10_D_Li": "diffusion", "log10_D_anion": "diffusion",
             "log10_D_polymer": "diffusion", "transference": "dimensionless"}

#: Raw units: (kind, factor to the task's unit: S/m, Å²/ps or 1). Spelling variants map to one entry.
VALUE_UNITS = {
    "S/m": ("conductivity", 1.0), "S/cm": ("conductivity", 100.0), "mS/cm": ("conductivity", 0.1),
    "cm2/s": ("diffusion", 1e4), "m2/s": ("diffusion", 1e8), "A2/ps": ("diffusion", 1.0),
    "1": ("dimensionless", 1.0),
}
_SPELLING = {"cm^2/s": "cm2/s", "cm²/s": "cm2/s", "m^2/s": "m2/s", "m²/s": "m2/s", "Å2/ps": "A2/ps",
             "Å^2/ps": "A2/ps", "Å²/ps": "A2/ps", "A^2/ps": "A2/ps", "": "1", "-": "1", "none": "1"}

#: Largest plausible value of each kind, in the task unit (S/m, Å²/ps): 1 S/cm and 1e-2 cm²/s.
_CEILING = {"conductivity": 100.0, "diffusion": 100.0}


def parse_unit(text: str) -> tuple[str, bool]:
    """The canonical raw unit of ``text`` and whether the values are its log10.

    ``"log10(S/cm)"`` gives ``("S/cm", True)``; ``"cm^2/s"`` gives ``("cm2/s", False)``.

    Parameters
    ----------
    text : str
        A unit as a user writes it.

    Returns
    -------
    unit : str
    is_log10 : bool

    Raises
    ------
    ValueError
        An unknown unit; the message lists the known ones.
    """
    s = str(text).strip()
    m = re.fullmatch(r"log10\s*\((.*)\)", s, flags=re.IGNORECASE)
    logged = m is not None
    raw = (m.group(1) if m else s).strip()
    raw = _SPELLING.get(raw, _SPELLING.get(raw.lower(), raw))
    if raw not in VALUE_UNITS:
        known = ", ".join(u for u in VALUE_UNITS if u != "1")
        raise ValueError(f"Unknown value unit {text!r}; known units are {known} (or '1' for t+), each also as "
                         f"log10(UNIT) for values that are already logarithms.")
    return raw, logged


def unit_kind(text: str) -> str:
    """``'conductivity'``, ``'diffusion'`` or ``'dimensionless'``: what ``text`` measures."""
    return VALUE_UNITS[parse_unit(text)[0]][0]


def to_task_units(values: np.ndarray, task: str, unit: str, where: Callable[[int], str], source: str) -> np.ndarray:
    """Values in ``unit`` converted to the units of ``task`` (log10 taken where the task is a log10).

    Parameters
    ----------
    values : ndarray, shape (n,), float64
        As read (NaN = missing label).
    task : str
        One of :data:`TASK_KIND`.
    unit : str
        Declared unit (see :func:`parse_unit`).
    where : callable
        ``where(k)`` describes row ``k`` for messages (``"row 3 (id 'p7')"``).
    source : str
        The file, for messages.

    Returns
    -------
    ndarray, shape (n,), float64
        log10 of S/m (σ), log10 of Å²/ps (D), or t₊ unchanged.

    Raises
    ------
    ValueError
        The unit measures another quantity than the task, or a value cannot be that quantity.
    """
    raw, logged = parse_unit(unit)
    kind, factor = VALUE_UNITS[raw]
    want = TASK_KIND[task]
    if kind != want:
        py, cli = cli_text(f"The values of '{source}' are declared in {unit!r} (a {kind}) but task {task!r} is a "
                           f"{want}; declare the file's unit, e.g. {{units}} (or its log10(...)).",
                           units=_example(task))
        raise with_cli_text(ValueError(py), cli)
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    if kind == "dimensionless":
        return v.copy()
    if not logged:
        bad = np.flatnonzero(finite & (v <= 0))
        if len(bad):
            k = int(bad[0])
            raise ValueError(f"The value of {where(k)} of '{source}' is {v[k]:g} {raw}; a {kind} must be > 0 (a "
                             f"fitted σ or D that is not positive is no label: leave the value empty).")
        out = np.full_like(v, np.nan)
        out[finite] = np.log10(v[finite] * factor)
    else:
        if finite.sum() >= 3 and np.all((v[finite] > 0) & (v[finite] < 1)):
            py, cli = cli_text(f"Every value of '{source}' lies in (0, 1) although it is declared as {unit!r}: these "
                               f"look like raw values, not logarithms; declare their unit, e.g. {{units}}.",
                               units=_example(task))
            raise with_cli_text(ValueError(py), cli)
        out = v + math.log10(factor)
    too_high = np.flatnonzero(finite & (out > math.log10(_CEILING[kind])))
    if len(too_high):
        k = int(too_high[0])
        ceiling = "1 S/cm" if kind == "conductivity" else "1e-2 cm2/s"
        py, cli = cli_text(f"The value of {where(k)} of '{source}' is {v[k]:g} {unit}, above {ceiling}, which no "
                           f"electrolyte reaches: check the declared unit ({{units}} for raw values).",
                           units=_example(task))
        raise with_cli_text(ValueError(py), cli)
    return out


def _example(task: str) -> str:
    return {"conductivity": "S/cm", "diffusion": "cm2/s", "dimensionless": "1"}[TASK_KIND[task]]


def units_by_task(items: list[str], tasks: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Units of each task from ``UNIT`` items (every task of that unit's kind) and ``TASK=UNIT`` items.

    Parameters
    ----------
    items : list of str
        ``UNIT`` or ``TASK=UNIT`` (``--units`` on the command line).
    tasks : sequence of str
        The tasks of the table.

    Returns
    -------
    dict of str to str
        Unit text per task.

    Raises
    ------
    ValueError
        An unknown unit, or a ``UNIT`` that measures none of ``tasks``.
    """
    out: dict[str, str] = {}
    for item in items:
        task, sep, unit = item.partition("=")
        if sep and task in TASK_KIND:
            parse_unit(unit)
            out[task] = unit
            continue
        kind = unit_kind(item)
        match = [t for t in tasks if TASK_KIND.get(t) == kind]
        if not match:
            raise ValueError(f"--units {item} is a {kind} unit, but none of the tasks given ({', '.join(tasks)}) is a "
                             f"{kind}; give the unit of each task's files, e.g. --units S/cm --units cm2/s, or "
                             f"TASK=UNIT.")
        for t in match:
            out.setdefault(t, item)
    return out
