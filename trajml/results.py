"""Frozen results that carry their units and how they were computed."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

__all__ = ["Results", "read_only"]



def read_only(a: Any, dtype: Any = np.float64) -> np.ndarray:
    """A read-only copy of ``a`` as ``dtype``: frozen results must not change under their users.

    Parameters
    ----------
    a : array_like
    dtype : numpy dtype
    """
    out = np.array(a, dtype=dtype)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class Results:
    """Base class of analysis results.

    Subclasses are frozen dataclasses whose fields are the computed quantities;
    ``units`` maps each field name to its unit string ("" for dimensionless,
    absent for labels) and ``provenance`` records inputs, parameters and timing.

    Attributes
    ----------
    units : dict of str to str
        Unit of each field ("" for dimensionless).
    provenance : dict
        Inputs, parameters, versions and timing.
    replicas : tuple of Results
        One result per replica (trajectory) when there are several, else empty.
    """

    # Subclasses name the 1-D fields that form their table (to_pandas) and the dimensions of
    # their array fields (to_xarray); a field whose dimensions are just its own name is a coordinate.
    _TABLE: ClassVar[tuple[str, ...]] = ()
    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {}

    units: dict[str, str] = field(default_factory=dict, repr=False)
    provenance: dict[str, Any] = field(default_factory=dict, repr=False)
    replicas: tuple["Results", ...] = field(default=(), repr=False)

    # Headline fields of the short repr (default: the first few numbers).
    _HEADLINE: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Keep the short repr: @dataclass adds a field-by-field __repr__ only where the class has none.
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = Results.__repr__  # type: ignore[method-assign]

    def __repr__(self) -> str:
        """What the result is and its headline numbers with units; arrays only as shapes."""
        values = self._computed()
        names = list(self._HEADLINE) or [k for k, v in values.items() if _is_number(v)][:6]
        parts = [_show(k, values[k], self.units.get(k, "")) for k in names if k in values]
        arrays = [f"{k}{tuple(v.shape)}" for k, v in values.items() if isinstance(v, np.ndarray)][:4]
        if arrays:
            parts.append("arrays: " + ", ".join(arrays))
        if self.replicas:
            parts.append(f"{len(self.replicas)} replicas")
        return f"{type(self).__name__}({'; '.join(p for p in parts if p)})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython: the same short text
        p.text(repr(self))

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view of the computed fields (arrays become lists), without provenance."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("units", "provenance", "replicas"):
                continue
            out[f.name] = _plain(getattr(self, f.name))
        return out

    # -- replicas ------------------------------------------------------------------------------------
    def with_replicas(self, replicas: tuple["Results", ...]) -> "Results":
        """A copy that carries the per-replica results it was pooled or combined from."""
        return dataclasses.replace(self, replicas=tuple(replicas))

    def replica_values(self, name: str) -> np.ndarray:
        """A number of every replica, e.g. ``res.replica_values("first_min_r")`` (empty without replicas)."""
        return np.array([float(getattr(r, name)) for r in self.replicas], dtype=np.float64)

    def replica_spread(self, name: str) -> tuple[float, float, float]:
        """Mean, standard deviation (ddof=1) and standard error of a number over the replicas.

        Returns NaN for the spread with fewer than two replicas.
        """
        v = self.replica_values(name)
        if v.size == 0:
            return math.nan, math.nan, math.nan
        std = float(np.std(v, ddof=1)) if v.size > 1 else math.nan
        return float(v.mean()), std, std / math.sqrt(v.size) if v.size > 1 else math.nan

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of :meth:`to_dict` plus ``units``."""
        return json.dumps({**self.to_dict(), "units": self.units}, **kwargs)

    def _computed(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("units", "provenance", "replicas")}

    def to_pandas(self) -> Any:
        """The tabular part of the result as a :class:`pandas.DataFrame`.

        Columns are the 1-D array fields the subclass lists as its table (for an
        RDF: ``r``, ``g``, ``n``, ``counts``), or else every 1-D array field as
        long as the first one. ``DataFrame.attrs["units"]`` maps columns to units.

        Raises
        ------
        MissingExtraError
            pandas is not installed (``pip install 'trajml[tables]'``).
        """
        from trajml.errors import require_extra

        pd: Any = require_extra("pandas", "tables", f"{type(self).__name__}.to_pandas")
        df = pd.DataFrame(self._table())
        df.attrs["units"] = {k: self.units[k] for k in df.columns if k in self.units}
        return df

    def _table(self) -> dict[str, np.ndarray]:
        """Columns of :meth:`to_pandas`; subclasses with ragged distributions override it."""
        values = self._computed()
        names = list(self._TABLE)
        if not names:
            arrays = [k for k, v in values.items() if isinstance(v, np.ndarray) and v.ndim == 1]
            names = [k for k in arrays if len(values[k]) == len(values[arrays[0]])] if arrays else []
        return {k: values[k] for k in names if values[k] is not None}

    def to_xarray(self) -> Any:
        """The whole result as a labelled :class:`xarray.Dataset`.

        Array fields become variables with named dimensions (a field named like
        a dimension becomes its coordinate), numbers become 0-d variables, and
        strings and other labels become ``attrs``. Each variable's
        ``attrs["units"]`` holds its unit.

        Raises
        ------
        MissingExtraError
            xarray is not installed (``pip install 'trajml[tables]'``).
        """
        from trajml.errors import require_extra

        xr: Any = require_extra("xarray", "tables", f"{type(self).__name__}.to_xarray")
        values = self._computed()
        dims_of = {k: self._DIMS.get(k) for k in values}
        coord_names = {k for k, d in dims_of.items() if d == (k,)}
        data_vars: dict[str, Any] = {}
        coords: dict[str, Any] = {}
        attrs: dict[str, Any] = {"result": type(self).__name__}
        for name, value in values.items():
            unit = {"units": self.units[name]} if name in self.units else {}
            if isinstance(value, np.ndarray):
                dims = dims_of[name] or tuple(f"{name}_dim{k}" for k in range(value.ndim))
                target = coords if name in coord_names else data_vars
                target[name] = xr.Variable(dims, value, attrs=unit)
            elif isinstance(value, (bool, np.bool_, str)) or value is None:
                attrs[name] = str(value) if value is None or isinstance(value, str) else int(value)
            elif isinstance(value, (int, float, np.integer, np.floating)):
                data_vars[name] = xr.Variable((), value, attrs=unit)
            else:
                attrs[name] = json.dumps(_plain(value))
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _show(name: str, value: Any, unit: str) -> str:
    if _is_number(value):
        text = f"{float(value):.4g}" if isinstance(value, (float, np.floating)) else str(int(value))
        return f"{name}={text}{' ' + unit if unit else ''}"
    if isinstance(value, np.ndarray):
        return f"{name}{tuple(value.shape)}"
    if isinstance(value, str) and len(value) <= 40:
        return f"{name}={value!r}"
    return ""


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
