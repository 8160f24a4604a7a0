"""Equality of two Results reached by two routes (a Universe or a path, an AtomGroup or a string)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def assert_same_results(a: Any, b: Any) -> None:
    """Every field but the provenance, replicas and the selection's description, exactly (NaN equal to NaN)."""
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        if f.name not in ("provenance", "replicas", "selection"):
            np.testing.assert_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)
