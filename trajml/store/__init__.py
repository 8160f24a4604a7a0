"""What trajml keeps on disk: model files, graph datasets and the pipeline results store.

- :mod:`trajml.store.results`: the content-addressed store of finished pipeline units
  (:class:`ResultStore`, :func:`unit_key`).

Names load on first use, so ``import trajml.store`` imports no model, no torch and no matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trajml._lazy import lazy_exports

_EXPORTS = {
    "ResultStore": "results", "Entry": "results", "unit_key": "results", "canonical_json": "results",
    "SCHEMA_VERSION": "results",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from trajml.store.results import SCHEMA_VERSION, Entry, ResultStore, canonical_json, unit_key

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
