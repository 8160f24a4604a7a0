"""What trajml keeps on disk: model files, graph datasets and the pipeline results store.

- :mod:`trajml.store.models`: model files (``.npz`` of arrays with a JSON header) —
  :func:`save_model`, :func:`load_model`, :func:`read_header` — and the registry of model types,
  filled by the model classes themselves (:class:`StoredModel`), so the store imports no model;
- :mod:`trajml.store.fes`: free-energy model files (:func:`save_fes`, :func:`load_fes`);
- :mod:`trajml.store.graphs`: periodic neighbour graphs of whole trajectories on disk
  (:class:`GraphDataset`), read back as torch-geometric batches;
- :mod:`trajml.store.results`: the content-addressed store of finished pipeline units
  (:class:`ResultStore`, :func:`unit_key`, :class:`DamagedEntryError`); each unit's arrays are one
  netCDF file, ``arrays.nc`` (:mod:`trajml.store.arrays`), that ``xarray.open_dataset`` opens;
- :mod:`trajml.store.pipeline_results`: a whole pipeline's results — :func:`open_results` (an xarray
  Dataset along ``system``) and :func:`results_table` (a pandas table, system × quantity).

Names load on first use, so ``import trajml.store`` imports no model, no torch, no matplotlib and no
xarray or h5py (those load when arrays are written or read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trajml._lazy import lazy_exports

_EXPORTS = {
    "save_model": "models", "load_model": "models", "read_header": "models", "FORMAT": "models",
    "FORMAT_VERSION": "models", "StoredModel": "models", "register_model": "models", "model_class": "models",
    "MODEL_TYPES": "models",
    "save_fes": "fes", "load_fes": "fes",
    "GraphDataset": "graphs", "frames_to_batch": "graphs", "chunk_to_batch": "graphs", "padded_from_chunk": "graphs",
    "ResultStore": "results", "Entry": "results", "unit_key": "results", "canonical_json": "results",
    "SCHEMA_VERSION": "results", "DamagedEntryError": "results",
    "open_results": "pipeline_results", "results_table": "pipeline_results", "unit_dataset": "pipeline_results",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from trajml.store.fes import load_fes, save_fes
    from trajml.store.graphs import GraphDataset, chunk_to_batch, frames_to_batch, padded_from_chunk
    from trajml.store.models import (
        FORMAT,
        FORMAT_VERSION,
        MODEL_TYPES,
        StoredModel,
        load_model,
        model_class,
        read_header,
        register_model,
        save_model,
    )
    from trajml.store.pipeline_results import open_results, results_table, unit_dataset
    from trajml.store.results import SCHEMA_VERSION, DamagedEntryError, Entry, ResultStore, canonical_json, unit_key

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
