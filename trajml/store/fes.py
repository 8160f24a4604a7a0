"""Free-energy model files: a :class:`~trajml.fes.model.FESModel` as one ``.npz`` of arrays plus a JSON header.

The header follows :mod:`trajml.store.models` (``format``, ``format_version``, ``model_type``), so a
file is recognisable as a trajml model file; the evaluator behind the model (histogram table,
KDE samples, GP posterior, network weights) is stored as plain arrays, never pickled. The model
and surface classes are found through the model-file registry (:func:`~trajml.store.models.model_class`),
so this module imports no free-energy code.
"""

from __future__ import annotations

import json
import os
from dataclasses import MISSING, fields
from typing import Any

import numpy as np

from trajml._files import atomic_write
from trajml.results import _plain
from trajml.results import read_only as _ro
from trajml.store.models import FORMAT, FORMAT_VERSION, model_class, read_header

__all__ = ["save_fes", "load_fes"]

_MODEL_TYPE = "FESModel"
#: Scalars of an MLPSurface's calibrated uncertainty (:func:`trajml.fes.nn.spread_scale`).
_MLP_CALIBRATION = ("spread_scale", "count_noise", "log_exposure", "bias_floor")


def _surface_arrays(surface: Any) -> tuple[str, dict[str, Any], dict[str, np.ndarray]]:
    kind = type(surface).__name__
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    if isinstance(surface, model_class("MLPSurface")):
        scalars["n_members"] = len(surface.layers)
        scalars["n_layers"] = len(surface.layers[0])
        for m, member in enumerate(surface.layers):
            for k, (W, b) in enumerate(member):
                arrays[f"W{m}_{k}"], arrays[f"b{m}_{k}"] = W, b
        arrays["shift"], arrays["scale"] = surface.shift, surface.scale
        for name in _MLP_CALIBRATION:  # the calibrated σ (files written before it keep the defaults)
            scalars[name] = float(getattr(surface, name))
        return kind, scalars, arrays
    if kind not in ("GridSurface", "CellSurface", "KDESurface", "GPSurface"):
        raise TypeError(f"save_fes cannot store a surface of type {kind}.")
    for f in fields(surface):
        v = getattr(surface, f.name)
        if f.name == "edges":
            scalars["n_edges"] = len(v)
            for k, e in enumerate(v):
                arrays[f"edges{k}"] = e
        elif isinstance(v, np.ndarray):
            arrays[f.name] = v
        else:
            scalars[f.name] = float(v)
    return kind, scalars, arrays


def _surface_from(kind: str, scalars: dict[str, Any], data: Any) -> Any:
    def a(name: str) -> np.ndarray:
        return np.array(data[f"s:{name}"])

    if kind == "MLPSurface":
        layers = tuple(tuple((a(f"W{m}_{k}"), a(f"b{m}_{k}")) for k in range(scalars["n_layers"]))
                       for m in range(scalars["n_members"]))
        return model_class("MLPSurface")(layers=layers, shift=a("shift"), scale=a("scale"),
                                         **{k: float(scalars[k]) for k in _MLP_CALIBRATION if k in scalars})
    if kind not in ("GridSurface", "CellSurface", "KDESurface", "GPSurface"):
        raise KeyError(kind)
    cls = model_class(kind)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name == "edges":
            kwargs["edges"] = tuple(a(f"edges{k}") for k in range(scalars["n_edges"]))
        elif f.name in scalars:
            kwargs[f.name] = scalars[f.name]
        elif f"s:{f.name}" not in data and f.default is not MISSING:
            continue  # a field added later: files written before it keep its default
        else:
            kwargs[f.name] = a(f.name)
    return cls(**kwargs)


def save_fes(model: Any, path: str | os.PathLike[str]) -> None:
    """Write a :class:`~trajml.fes.model.FESModel` to ``path`` (atomically: temp file + rename).

    Parameters
    ----------
    model : FESModel
    path : str or os.PathLike
    """
    if not isinstance(model, model_class(_MODEL_TYPE)):
        raise TypeError(f"The 'model' parameter of save_fes must be a FESModel. Got {type(model).__name__} instead.")
    kind, scalars, sarrays = _surface_arrays(model.surface)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "model_type": _MODEL_TYPE,
              "params": {"method": model.method, "temperature_K": model.temperature_K, "kT_kJmol": model.kT_kJmol,
                         "cv_units": model.cv_units, "n_samples": model.n_samples, "n_effective": model.n_effective,
                         "offset_kT": model.offset_kT, "ndim": model.ndim},
              "surface": {"kind": kind, "scalars": scalars}, "units": dict(model.units),
              "provenance": json.loads(json.dumps(_plain(model.provenance), default=str))}
    arrays = {"a:free_energy_kJmol": model.free_energy_kJmol, "a:uncertainty_kJmol": model.uncertainty_kJmol}
    for k in range(model.ndim):
        arrays[f"a:axis_{k}"], arrays[f"a:edges_{k}"] = model.axes[k], model.edges[k]
    arrays.update({f"s:{k}": v for k, v in sarrays.items()})
    with atomic_write(path, "wb", what="model file") as fh:
        np.savez(fh, __header__=np.array(json.dumps(header)), **arrays)


def load_fes(path: str | os.PathLike[str]) -> Any:
    """Read a model written by :func:`save_fes`; refuses other files with a message saying why.

    Parameters
    ----------
    path : str or os.PathLike
    """
    FESModel = model_class(_MODEL_TYPE)
    name = os.fspath(path)
    try:
        with np.load(name, allow_pickle=False) as data:
            h = read_header(data, name, _MODEL_TYPE)
            p = h["params"]
            nd = int(p.pop("ndim"))
            surface = _surface_from(h["surface"]["kind"], h["surface"]["scalars"], data)
            return FESModel(axes=tuple(_ro(data[f"a:axis_{k}"]) for k in range(nd)),
                            edges=tuple(_ro(data[f"a:edges_{k}"]) for k in range(nd)),
                            free_energy_kJmol=_ro(data["a:free_energy_kJmol"]),
                            uncertainty_kJmol=_ro(data["a:uncertainty_kJmol"]), surface=surface,
                            units=h["units"], provenance=h["provenance"], **p)
    except (OSError, EOFError, KeyError) as exc:
        raise ValueError(f"File '{name}' cannot be read as a trajml free-energy model: {exc}") from exc
