"""Frozen results that carry their units and how they were computed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = ["Results"]


@dataclass(frozen=True, eq=False)
class Results:
    """Base class of analysis results.

    Subclasses are frozen dataclasses whose fields are the computed quantities;
    ``units`` maps each field name to its unit string ("" for dimensionless,
    absent for labels) and ``provenance`` records inputs, parameters and timing.
    """

    units: dict[str, str] = field(default_factory=dict, repr=False)
    provenance: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view of the computed fields (arrays become lists), without provenance."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("units", "provenance"):
                continue
            out[f.name] = _plain(getattr(self, f.name))
        return out

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of :meth:`to_dict` plus ``units``."""
        return json.dumps({**self.to_dict(), "units": self.units}, **kwargs)


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
