"""Declared parameters: each parameter is declared once and checked the same way everywhere.

A :class:`Param` states a parameter's kind, unit, constraint, help line and (deprecated)
former names. Analyses and estimators declare theirs in ``_parameters``
(:class:`trajml.base.Parameterized` fills in each name and takes each default from the
``__init__`` signature, so a default is written exactly once). From the same declaration

- Python validates keyword arguments (:meth:`Param.validate`),
- the command line builds its options (:mod:`trajml.cli._options`) and parses their text
  (:meth:`Param.parse_text`),
- pipelines build each stage's YAML schema (:mod:`trajml.pipelines.registry`),

and all three report a bad value with the same constraint text, e.g.
``must be a float in (0, inf) Å. Got -1.0 instead.``, prefixed in Python by
``The 'r_max' parameter of RDF``, on the command line by ``argument --r-max:`` and in YAML
by the file, line and key.

The ``check_*`` functions are the one set of ad-hoc validators for values that are not
declared parameters (arguments of plain functions); they build a :class:`Param` on the fly so
their messages read exactly like declared ones.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from trajml.errors import InvalidParameterError

__all__ = ["Param", "REQUIRED", "KINDS", "DEVICES", "check_float", "check_int", "check_choice", "check_bool",
           "check_device", "invalid", "cli_value_text", "TEMPERATURE_RANGE_K", "temperature_param",
           "check_temperature"]

#: Kinds of declared parameters.
KINDS = ("float", "int", "bool", "str", "selection", "mapping", "floats", "ints", "path", "any")

#: Open range of a temperature in K. Solid polymer electrolytes are simulated at 250-600 K; below 1 K or
#: above 10 000 K a value is a slip (a kT in eV, 1e-30, milli-kelvin, a wrong exponent) that would scale
#: k_B T and every number derived from it silently, so it is refused rather than used.
TEMPERATURE_RANGE_K = (1.0, 1.0e4)
#: Most histogram bins an analysis takes (80 MB of float64 counts per histogram).
MAX_BINS = 10_000_000

#: Values of the reserved ``device`` parameter.
DEVICES = ("cpu", "cuda")


class _Required:
    """Sentinel: the parameter has no default and must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"

    def __reduce__(self) -> str:
        return "REQUIRED"


#: Default of a parameter that must be given.
REQUIRED: Any = _Required()


def _num(x: float) -> str:
    return f"{x:g}"


class Param:
    """The declaration of one parameter.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`, or ``"stage:NAME"`` for a pipeline reference to an earlier stage
        of type NAME. ``"selection"`` is an MDAnalysis selection string, an AtomGroup (kept as
        :class:`~trajml.selection.AtomGroupSelection`: indices plus its Universe's files) or topology indices;
        ``"floats"`` a sequence of floats; ``"mapping"`` a dict.
    default : object
        Default value; :data:`REQUIRED` when the parameter must be given. Analyses leave it
        unset: their ``__init__`` signature supplies it.
    help : str
        One line for the command line, the YAML reference and messages.
    unit : str
        Unit of a number (``"Å"``, ``"ps"``; ``""`` when dimensionless).
    low, high : float, optional
        Bounds of a number (each element of ``"floats"``); None: unbounded.
    low_closed, high_closed : bool
        Whether ``low``/``high`` themselves are allowed.
    positive : bool
        Shorthand for ``low=0, low_closed=False``.
    minimum : float, optional
        Shorthand for ``low=minimum, low_closed=True``.
    choices : tuple, optional
        Allowed values (None among them allows None).
    nullable : bool
        None is allowed (``none_help`` says what it means).
    none_help : str
        What None means, for help texts (``"first minimum of g(r)"``).
    increasing : bool
        ``"floats"`` must be strictly increasing.
    describe : str, optional
        Constraint text for kinds whose constraint the fields cannot express (mappings).
    check : callable, optional
        ``check(value) -> value`` run after the kind's own checks; raises ``ValueError`` with a
        constraint text (``"a mapping of species to charges in e"``) to reject a value.
    items : str
        Kind of a mapping's values on the command line (``"float"``: ``Li=1`` gives 1.0).
    aliases : tuple of str
        Former names, accepted with a ``DeprecationWarning`` (Python keywords, CLI flags, YAML keys).
    cli : bool
        Whether the command line and the pipeline YAML offer it (False: Python only).
    flag : str, optional
        The command-line flag when it is not ``--`` + the name with hyphens.
    metavar : str, optional
        Placeholder in the command-line help.
    name : str
        Filled in by the declaring class.
    """

    __slots__ = ("kind", "default", "help", "unit", "low", "high", "low_closed", "high_closed", "choices",
                 "nullable", "none_help", "increasing", "_describe", "check", "items", "aliases", "cli", "flag",
                 "metavar", "name")

    def __init__(self, kind: str, default: Any = REQUIRED, help: str = "", *, unit: str = "",
                 low: float | None = None, high: float | None = None, low_closed: bool = True,
                 high_closed: bool = False, positive: bool = False, minimum: float | None = None,
                 choices: Sequence[Any] = (), nullable: bool = False, none_help: str = "", increasing: bool = False,
                 describe: str | None = None, check: Callable[[Any], Any] | None = None, items: str = "",
                 aliases: Sequence[str] = (), cli: bool = True, flag: str | None = None, metavar: str | None = None,
                 name: str = "") -> None:
        if kind not in KINDS and not kind.startswith("stage:"):
            raise ValueError(f"Param kind must be one of {KINDS} or 'stage:NAME'. Got {kind!r} instead.")
        if positive:
            low, low_closed = 0.0, False
        if minimum is not None:
            low, low_closed = float(minimum), True
        choices = tuple(choices)
        self.kind = kind
        self.default = default
        self.help = help
        self.unit = unit
        self.low = low
        self.high = high
        self.low_closed = low_closed
        self.high_closed = high_closed
        self.choices = choices
        self.nullable = bool(nullable) or (bool(choices) and None in choices)
        self.none_help = none_help
        self.increasing = increasing
        self._describe = describe
        self.check = check
        self.items = items
        self.aliases = tuple(aliases)
        self.cli = cli
        self.flag = flag
        self.metavar = metavar
        self.name = name

    # -- identity -----------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> "Param":
        """A copy with some fields changed (``default``, ``name``, ``help`` …)."""
        values = {k: getattr(self, k) for k in self.__slots__ if k != "_describe"}
        values["describe"] = self._describe
        values.update(changes)
        kind = values.pop("kind")
        return Param(kind, **values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Param):
            return NotImplemented
        return all(_same(getattr(self, k), getattr(other, k)) for k in self.__slots__ if k != "check")

    def __hash__(self) -> int:
        return hash((self.kind, self.name, self.unit))

    def __repr__(self) -> str:
        return f"Param({self.kind!r}, {self.default!r}, {self.help!r}, name={self.name!r}, unit={self.unit!r})"

    @property
    def doc(self) -> str:
        """str: the help line (the name pipelines used before)."""
        return self.help

    @property
    def required(self) -> bool:
        """bool: the parameter has no default."""
        return self.default is REQUIRED

    @property
    def references(self) -> str | None:
        """str or None: the stage type a ``"stage:NAME"`` parameter refers to."""
        return self.kind.split(":", 1)[1] if self.kind.startswith("stage:") else None

    @property
    def cli_flag(self) -> str:
        """str: the command-line option (``--r-max``)."""
        return self.flag or "--" + self.name.replace("_", "-")

    # -- the constraint ------------------------------------------------------------------------------
    def _interval(self, kind: str) -> str:
        unit = f" {self.unit}" if self.unit else ""
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        if kind == "int":
            if self.high is None:
                return f"an int >= {int(low)}" if self.low is not None else "an int"
            return f"an int in [{int(low)}, {int(high)}]"
        left = "[" if self.low_closed and self.low is not None else "("
        right = "]" if self.high_closed and self.high is not None else ")"
        return f"a float in {left}{_num(low)}, {_num(high)}{right}{unit}"

    def constraint(self) -> str:
        """What a valid value is, e.g. ``"a float in (0, inf) Å"`` or ``"one of ('self', None)"``."""
        if self._describe:
            text = self._describe
        elif self.choices:
            text = f"one of {self.choices}"
        elif self.kind in ("float", "int"):
            text = self._interval(self.kind)
        elif self.kind == "floats":
            order = "increasing " if self.increasing else ""
            text = f"a non-empty sequence of {order}floats, each {self._interval('float')[2:]}"
        elif self.kind == "ints":
            text = f"a non-empty sequence of distinct ints, each {self._interval('int')[3:]}"
        elif self.kind == "bool":
            text = "a bool"
        elif self.kind == "selection":
            text = "an MDAnalysis selection string, an AtomGroup or a 1-D array of topology indices"
        elif self.kind == "mapping":
            text = "a mapping"
        elif self.kind == "path":
            text = "a file path"
        elif self.kind == "any":
            text = "any value"
        else:  # str and stage references
            text = "a non-empty string"
        if self.nullable and not self.choices and self.kind != "any":
            text += " or None"
        return text

    # -- checking ------------------------------------------------------------------------------------
    def error(self, value: Any, owner: str, name: str | None = None, constraint: str | None = None,
              suffix: str = "", shown: str | None = None) -> InvalidParameterError:
        """The error for ``value``: ``The 'name' parameter of owner must be ... Got value instead.``

        ``shown`` replaces ``repr(value)`` in the text (e.g. a length with its unit, ``"40 Å"``).
        """
        name = name or self.name
        constraint = constraint or self.constraint()
        got = repr(value) if shown is None else shown
        return InvalidParameterError(
            f"The '{name}' parameter of {owner} must be {constraint}. Got {got} instead.{suffix}",
            parameter=name, owner=owner, constraint=constraint, value=value)

    def validate(self, value: Any, owner: str, name: str | None = None) -> Any:
        """Check ``value`` and return it normalised (ints given for floats become floats, …).

        Raises
        ------
        InvalidParameterError
            The value breaks the constraint; the message names the parameter, owner, constraint and value.
        """
        if value is None:
            if self.nullable:
                return None
            raise self.error(value, owner, name)
        given = value  # a rejected value is shown as the caller wrote it, not as normalised
        kind = self.kind
        if self.choices:
            try:
                ok = value in self.choices
            except (TypeError, ValueError):  # unhashable or array-valued
                ok = False
            if not ok:
                from trajml._text import closest

                hint = closest(value, [c for c in self.choices if isinstance(c, str)]) if isinstance(value, str) else ""
                raise self.error(value, owner, name, suffix=hint)
            return value
        if kind == "float":
            out = _as_float(value)
            if out is None or not self._inside(out):
                raise self.error(value, owner, name)
            value = out
        elif kind == "int":
            if not _is_int(value) or not self._inside(float(value)):
                raise self.error(value, owner, name)
            value = int(value)
        elif kind == "floats":
            value = self._floats(value, owner, name)
        elif kind == "ints":
            value = self._ints(value, owner, name)
        elif kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise self.error(value, owner, name)
            value = bool(value)
        elif kind == "selection":
            value = _selection(value, self, owner, name)
        elif kind == "mapping":
            if not isinstance(value, Mapping):
                raise self.error(value, owner, name)
            value = {k: _light_atomgroup(v) for k, v in value.items()}  # labelled selections (LABEL=SEL)
        elif kind == "path":
            if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
                raise self.error(value, owner, name)
            value = os.fspath(value)
        elif kind != "any":  # str, stage references
            if not isinstance(value, str) or not value.strip():
                raise self.error(value, owner, name)
        if self.check is not None:
            try:
                value = self.check(value)
            except InvalidParameterError:
                raise
            except (ValueError, TypeError) as exc:
                raise self.error(given, owner, name, constraint=str(exc)) from None
        return value

    def _inside(self, v: float) -> bool:
        if not math.isfinite(v):
            return False
        if self.low is not None and (v < self.low or (v == self.low and not self.low_closed)):
            return False
        if self.high is not None and (v > self.high or (v == self.high and not self.high_closed)):
            return False
        return True

    def _floats(self, value: Any, owner: str, name: str | None) -> np.ndarray:
        if isinstance(value, (str, bytes, Mapping)):
            raise self.error(value, owner, name)
        try:
            arr = np.asarray(value, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise self.error(value, owner, name) from None
        if arr.size == 0 or not all(self._inside(float(v)) for v in arr):
            raise self.error(value, owner, name)
        if self.increasing and np.any(np.diff(arr) <= 0):
            raise self.error(value, owner, name)
        return arr

    def _ints(self, value: Any, owner: str, name: str | None) -> list[int]:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, np.ndarray)):
            raise self.error(value, owner, name)
        out = list(value)
        if (not out or not all(_is_int(v) and self._inside(float(v)) for v in out)
                or len(set(int(v) for v in out)) != len(out)):
            raise self.error(value, owner, name)
        return [int(v) for v in out]

    # -- text (command line) ---------------------------------------------------------------------------
    def parse_text(self, text: str, owner: str) -> Any:
        """Turn command-line text into a value and validate it.

        ``none`` (any case) means None for a parameter that allows None; numbers are parsed for
        numeric kinds; ``"floats"`` takes the list of words given to the option.
        """
        if isinstance(text, str) and text.strip().lower() in ("none", "null") and self.nullable:
            return self.validate(None, owner)
        value: Any = text
        if self.kind in ("float", "int") and not self.choices:
            value = _parse_number(text, self.kind)
            if value is None:
                raise self.error(text, owner)
        elif self.kind in ("floats", "ints"):
            words = text if isinstance(text, (list, tuple)) else str(text).replace(",", " ").split()
            numbers = [_parse_number(w, self.kind[:-1]) for w in words]
            if any(v is None for v in numbers):
                raise self.error(text, owner)
            value = numbers
        elif self.kind == "bool":
            low = str(text).strip().lower()
            if low not in ("true", "false", "yes", "no", "1", "0"):
                raise self.error(text, owner)
            value = low in ("true", "yes", "1")
        elif self.choices:
            value = _match_choice(text, self.choices)
        elif self.kind == "any":
            number = _parse_number(text, "float")
            value = text if number is None else number
        return self.validate(value, owner)

    def default_text(self) -> str:
        """How the default reads on the command line and in the YAML reference."""
        if self.default is REQUIRED:
            return "required"
        if self.default is None and self.none_help:
            return self.none_help
        return cli_value_text(self.default)


def cli_value_text(value: Any) -> str:
    """A value as the command line and YAML write it (``none``, ``true``, ``15``, ``6 8 10``)."""
    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(cli_value_text(v.item() if isinstance(v, np.generic) else v) for v in value)
    if isinstance(value, Mapping):
        return " ".join(f"{k}={cli_value_text(v)}" for k, v in value.items())
    return str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _as_float(value: Any) -> float | None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    return float(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _parse_number(text: Any, kind: str) -> Any:
    # An integral text stays an int, so a rejected value reads as the user wrote it ("Got -2").
    try:
        return int(text)
    except (TypeError, ValueError):
        pass
    if kind == "int":
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _match_choice(text: str, choices: tuple[Any, ...]) -> Any:
    for c in choices:
        if c is None and str(text).lower() in ("none", "null"):
            return None
        if not isinstance(c, str) and c is not None:
            parsed = _parse_number(text, "int" if isinstance(c, int) else "float")
            if parsed == c:
                return c
        if str(c) == text:
            return c
    return text


def _selection(value: Any, param: Param, owner: str, name: str | None) -> Any:
    from trajml.selection import AtomGroupSelection, is_atomgroup
    from trajml.species import Species

    if isinstance(value, Species):  # a selection plus a counting rule, where an analysis takes species
        return value
    if isinstance(value, str):
        if not value.strip():
            raise param.error(value, owner, name)
        return value
    if is_atomgroup(value):
        # Indices plus origin, not the AtomGroup: an AtomGroup pickles its whole Universe to every worker.
        if len(value) == 0:
            raise param.error(value, owner, name, shown="an empty AtomGroup")
        return AtomGroupSelection.from_atomgroup(value)
    if isinstance(value, AtomGroupSelection):
        if not len(value):
            raise param.error(value, owner, name, shown="an empty AtomGroup")
        return value
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise param.error(value, owner, name) from None
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise param.error(value, owner, name)
    return value


def _light_atomgroup(value: Any) -> Any:
    """An AtomGroup as its indices plus origin (a mapping's value is a selection); anything else as is."""
    from trajml.selection import AtomGroupSelection, is_atomgroup

    return AtomGroupSelection.from_atomgroup(value) if is_atomgroup(value) else value


# -- ad-hoc checks (arguments that are not declared parameters) ---------------------------------------
def invalid(name: str, owner: str, constraint: str, value: Any, suffix: str = "",
            shown: str | None = None) -> InvalidParameterError:
    """An :class:`InvalidParameterError` in the declared wording, for checks no :class:`Param` expresses."""
    return Param("any", name=name).error(value, owner, constraint=constraint, suffix=suffix, shown=shown)


def check_float(value: Any, name: str, owner: str, *, low: float = 0.0, high: float = math.inf,
                low_closed: bool = False, high_closed: bool = False, unit: str = "Å",
                allow_none: bool = False) -> float | None:
    """Validate a real number in ``(low, high)`` (``[low, …`` with ``low_closed``); return it as float."""
    return Param("float", name=name, unit=unit, low=low, high=None if high == math.inf else high,
                 low_closed=low_closed, high_closed=high_closed, nullable=allow_none).validate(value, owner)


def check_int(value: Any, name: str, owner: str, *, minimum: int = 1, maximum: int | None = None,
              allow_none: bool = False) -> int | None:
    """Validate an integer ``>= minimum`` (and ``<= maximum``); return it as int."""
    return Param("int", name=name, minimum=minimum, high=maximum, high_closed=True,
                 nullable=allow_none).validate(value, owner)


def temperature_param(help: str = "temperature", **fields: Any) -> Param:
    """The declaration of a temperature in K, in :data:`TEMPERATURE_RANGE_K` (other fields as :class:`Param`)."""
    low, high = TEMPERATURE_RANGE_K
    return Param("float", help=help, unit="K", low=low, low_closed=False, high=high, **fields)


def check_temperature(value: Any, name: str, owner: str, *, allow_none: bool = False) -> float | None:
    """Validate a temperature in K, in :data:`TEMPERATURE_RANGE_K`; return it as float."""
    return temperature_param(name=name, nullable=allow_none).validate(value, owner)


def check_choice(value: Any, name: str, owner: str, choices: Sequence[Any]) -> Any:
    """Validate that ``value`` is one of ``choices``."""
    return Param("any", name=name, choices=tuple(choices)).validate(value, owner)


def check_bool(value: Any, name: str, owner: str, *, allow_none: bool = False) -> bool | None:
    """Validate a bool (``numpy.bool_`` accepted)."""
    return Param("bool", name=name, nullable=allow_none).validate(value, owner)


def check_device(device: Any, owner: str) -> str:
    """Validate the reserved ``device`` parameter (``"cpu"`` or ``"cuda"``)."""
    return check_choice(device, "device", owner, DEVICES)
