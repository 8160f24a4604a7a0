"""The pipeline results store; it lives in :mod:`trajml.store.results` and is re-exported here.

``trajml.pipelines.store`` keeps its names (:class:`ResultStore`, :func:`unit_key`, :class:`Entry`,
:func:`canonical_json`, ``SCHEMA_VERSION``), so pipeline code and stored keys are unchanged.
"""

from __future__ import annotations

from trajml.store.results import SCHEMA_VERSION, DamagedEntryError, Entry, ResultStore, canonical_json, unit_key

__all__ = ["SCHEMA_VERSION", "DamagedEntryError", "ResultStore", "Entry", "unit_key", "canonical_json"]
