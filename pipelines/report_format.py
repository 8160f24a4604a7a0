"""How the report writes a number: by magnitude, with its unit, its error to matching digits.

One function, :func:`format_quantity`, writes every number the report shows, so a volume reads
``3.0×10⁵ Å³`` and not ``3e+05 Å^3``, and ``0.199 ± 0.012`` keeps the value's digits to the
error's. A value that is missing or not finite is never shown as a number: the caller says why.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["format_quantity", "format_unit", "is_number"]

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
#: Magnitudes written in plain decimals; outside, a power of ten.
_PLAIN_LOW, _PLAIN_HIGH = 1e-3, 1e5
MISSING = "–"


def format_unit(unit: str) -> str:
    """``Å^3`` → ``Å³``, ``Å^2/ps`` → ``Å²/ps``, ``e^-1`` → ``e⁻¹``; other text unchanged."""
    return re.sub(r"\^(-?\d+)", lambda m: m.group(1).translate(_SUPERSCRIPT), unit or "")


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite real number (bools are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _exponent(x: float) -> int:
    return int(math.floor(math.log10(abs(x)))) if x else 0


def _times_ten(exp: int) -> str:
    return f"×10{str(exp).translate(_SUPERSCRIPT)}"


def _error_digits(err: float) -> int:
    """Decimal places that give ``err`` two significant digits when it starts with 1 or 2, else one."""
    exp = _exponent(err)
    lead = err / 10.0 ** exp
    return -exp + (1 if lead < 2.95 else 0)


def format_quantity(value: Any, unit: str = "", error: Any = None, *, digits: int = 4) -> str:
    """The text of one number of the report (plain text; HTML-escape it where it goes into a page).

    Parameters
    ----------
    value : float, int or None
        The number, in ``unit``. None, NaN or ±inf give ``–`` (the caller says why it is missing).
    unit : str
        Its unit as stored (``Å^3``); written with superscripts (``Å³``). Empty: dimensionless.
    error : float, optional
        Its standard error in ``unit``. The value is rounded to the error's last digit (two
        significant digits of the error when it starts with 1 or 2, one otherwise); a missing or
        non-finite error shows the value alone.
    digits : int
        Significant digits of a value without an error.

    Returns
    -------
    str
        e.g. ``0.199 ± 0.012 Å²/ps``, ``3.0×10⁵ Å³``, ``(3.01 ± 0.12)×10⁵ Å³``, ``12 400``, ``–``.

    Examples
    --------
    >>> format_quantity(301000.0, "Å^3")
    '3.010×10⁵ Å³'
    >>> format_quantity(0.19912, "Å^2/ps", 0.01234)
    '0.199 ± 0.012 Å²/ps'
    >>> format_quantity(float("nan"), "K")
    '–'
    """
    u = format_unit(unit)
    tail = f" {u}" if u else ""
    if isinstance(value, bool):
        return str(value)
    if not is_number(value):
        return MISSING
    if isinstance(value, int):
        return _group(str(abs(value)), "-" if value < 0 else "") + tail
    v = float(value)
    if is_number(error) and error > 0:
        return _with_error(v, float(error)) + tail
    a = abs(v)
    if a == 0.0:
        return "0" + tail
    if a < _PLAIN_HIGH and v == int(v):  # a whole number (a count, 300 K) needs no decimals
        return _group(str(abs(int(v))), "-" if v < 0 else "") + tail
    if _PLAIN_LOW <= a < _PLAIN_HIGH:
        places = max(digits - 1 - _exponent(v), 0)
        text = f"{v:.{places}f}"
        sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
        whole, _, frac = body.partition(".")
        return _group(whole, sign) + (f".{frac}" if frac else "") + tail
    exp = _exponent(v)
    mantissa = v / 10.0 ** exp
    if round(abs(mantissa), digits - 1) >= 10.0:  # 9.9996 rounds up to the next power
        exp, mantissa = exp + 1, mantissa / 10.0
    return f"{mantissa:.{digits - 1}f}{_times_ten(exp)}" + tail


def _group(whole: str, sign: str) -> str:
    """Thousands separated by a thin space from 10 000 on (SI style: 12 400, 1234)."""
    if len(whole) <= 4:
        return sign + whole
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + "\u2009".join(groups)


def _with_error(v: float, err: float) -> str:
    scale = max(_exponent(v), _exponent(err))
    if _PLAIN_LOW <= max(abs(v), err) < _PLAIN_HIGH:
        places = max(_error_digits(err), 0)
        return f"{round(v, places) + 0.0:.{places}f} ± {round(err, places):.{places}f}"  # + 0.0: no "-0.0"
    # one power of ten for both: (3.01 ± 0.12)×10⁵
    m, me = v / 10.0 ** scale, err / 10.0 ** scale
    places = max(_error_digits(me), 0)
    return f"({round(m, places) + 0.0:.{places}f} ± {me:.{places}f}){_times_ten(scale)}"
