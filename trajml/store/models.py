"""Model files: one ``.npz`` file of arrays plus a JSON header, and the registry of the model types they hold.

The header records the model type and the file-format version; :func:`load_model` refuses a
file written for another model type, or by a newer format version, with a message naming both.

Registry
--------
Every class a model file holds derives from :class:`StoredModel`, which registers it under its
class name when the class is defined (``__init_subclass__``), so this module imports no model.
The registry is data, model type → ``"module:qualname"`` of its class, seeded with trajml's own
types: :func:`load_model` imports a model's module by name when a file is read before that module
was imported. Files written before the models moved to the subject packages load unchanged (the
format string ``"trajml.models"`` and version 1 are kept; a header names the class, not its module).
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from trajml._files import atomic_write
from trajml.results import Results, _plain

__all__ = ["save_model", "load_model", "read_header", "FORMAT", "FORMAT_VERSION", "StoredModel", "register_model",
           "model_class", "MODEL_TYPES"]

FORMAT = "trajml.models"
FORMAT_VERSION = 1

#: Model type (the class name a file's header records) -> ``"module:qualname"`` of its class. Seeded with
#: trajml's types, so their files load before their modules are imported; each :class:`StoredModel`
#: subclass adds (or confirms) its own entry when it is defined.
MODEL_TYPES: dict[str, str] = {
    "CovarianceModel": "trajml.kinetics.koopman:CovarianceModel",
    "MSMModel": "trajml.kinetics.msm:MSMModel",
    "ProjectionModel": "trajml.kinetics.tica:ProjectionModel",
    "TICAMSMModel": "trajml.kinetics.tica:TICAMSMModel",
    "VAMPNetModel": "trajml.kinetics.deep.models:VAMPNetModel",
    "GraphVAMPNetModel": "trajml.kinetics.deep.models:GraphVAMPNetModel",
    "FESModel": "trajml.fes.model:FESModel",
    "MultitaskModel": "trajml.extrapolation.deep.model:MultitaskModel",
    # the evaluators stored inside FESModel files
    "GridSurface": "trajml.fes.surfaces:GridSurface",
    "CellSurface": "trajml.fes.surfaces:CellSurface",
    "KDESurface": "trajml.fes.surfaces:KDESurface",
    "GPSurface": "trajml.fes.surfaces:GPSurface",
    "MLPSurface": "trajml.fes.surfaces:MLPSurface",
}

# Model types that write and read their own file layout (networks need torch, so their modules are
# imported only when such a file is read): save_model calls their ``save``, load_model their ``load``.
_OWN_FILE: set[str] = {"VAMPNetModel", "GraphVAMPNetModel", "FESModel", "MultitaskModel"}
# Types stored only inside another model's file, never on their own.
_PARTS: set[str] = {"GridSurface", "CellSurface", "KDESurface", "GPSurface", "MLPSurface"}
# Classes registered in this process, by model type.
_CLASSES: dict[str, type] = {}


class StoredModel:
    """Base of the classes trajml model files hold: a subclass registers itself when it is defined.

    Notes
    -----
    A subclass takes two class keywords (``class M(StoredModel, own_file=True)``):

    ``own_file`` (bool)
        The class writes and reads its own file layout (a ``save(path)`` method and a ``load(path)``
        classmethod, with the header of :func:`read_header`); otherwise :func:`save_model` writes its
        dataclass fields (arrays, parameters, nested models) and :func:`load_model` rebuilds it.
    ``part`` (bool)
        Stored only inside another model's file (e.g. the surface behind a free-energy model).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> from trajml.results import Results
    >>> @dataclass(frozen=True, eq=False, kw_only=True)
    ... class MyModel(Results, StoredModel):
    ...     weights: "np.ndarray"
    >>> model_class("MyModel") is MyModel
    True
    """

    __slots__ = ()

    def __init_subclass__(cls, *, own_file: bool = False, part: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register_model(cls, own_file=own_file, part=part)


def register_model(cls: type, *, own_file: bool = False, part: bool = False) -> type:
    """Register ``cls`` under its class name (what :class:`StoredModel` subclasses do when defined).

    Parameters
    ----------
    cls : type
        The model class.
    own_file : bool
        It writes and reads its own file layout (see :class:`StoredModel`).
    part : bool
        It is stored only inside another model's file.

    Returns
    -------
    type
        ``cls``.

    Raises
    ------
    ValueError
        Another class of the same name is registered from another module: a file's header names the
        class only, so two model types must not share a name.
    """
    name = cls.__name__
    path = f"{cls.__module__}:{cls.__qualname__}"
    known = _CLASSES.get(name)
    if known is not None and known is not cls and f"{known.__module__}:{known.__qualname__}" != path:
        raise ValueError(f"Model type {name!r} is already registered for {known.__module__}.{known.__qualname__}; "
                         f"{cls.__module__}.{cls.__qualname__} needs another class name.")
    MODEL_TYPES[name] = path
    _CLASSES[name] = cls
    (_OWN_FILE.add if own_file else _OWN_FILE.discard)(name)
    (_PARTS.add if part else _PARTS.discard)(name)
    return cls


def model_class(model_type: str) -> type:
    """The class registered as ``model_type``, importing its module (by name) when needed.

    Parameters
    ----------
    model_type : str
        A key of :data:`MODEL_TYPES`, e.g. ``"MSMModel"``.

    Returns
    -------
    type

    Raises
    ------
    KeyError
        No such model type is registered.
    """
    cls = _CLASSES.get(model_type)
    if cls is None:
        module, _, qualname = MODEL_TYPES[model_type].partition(":")
        obj: Any = importlib.import_module(module)  # defining the class registers it
        cls = _CLASSES.get(model_type)
        if cls is None:  # pragma: no cover - a seeded path whose class does not derive from StoredModel
            for part in qualname.split("."):
                obj = getattr(obj, part)
            cls = obj
    return cls


def _field_kinds() -> list[str]:
    """Model types written field by field by :func:`save_model`."""
    return sorted(set(MODEL_TYPES) - _OWN_FILE - _PARTS)


def _flatten(model: Results, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    header: dict[str, Any] = {"model_type": type(model).__name__, "params": {}, "arrays": [], "none": [],
                              "nested": {}, "units": dict(model.units),
                              "provenance": json.loads(json.dumps(_plain(model.provenance), default=str))}
    for f in fields(model):
        if f.name in ("units", "provenance", "replicas"):  # a model file holds one model, not its replicas
            continue
        value = getattr(model, f.name)
        if isinstance(value, Results):
            header["nested"][f.name] = _flatten(value, f"{prefix}{f.name}.", arrays)
        elif isinstance(value, np.ndarray):
            arrays[prefix + f.name] = value
            header["arrays"].append(f.name)
        elif value is None:
            header["none"].append(f.name)
        else:
            header["params"][f.name] = _plain(value)
    return header


def save_model(model: Any, path: str | os.PathLike[str]) -> None:
    """Write a fitted model to ``path`` (an ``.npz`` file, written as given).

    Parameters
    ----------
    model : Results
        A frozen model from ``fetch_model()``: CovarianceModel, MSMModel, ProjectionModel,
        TICAMSMModel, VAMPNetModel, GraphVAMPNetModel, FESModel or MultitaskModel (or any other
        registered :class:`StoredModel`).
    path : str or path-like
        Destination file.
    """
    if type(model).__name__ in _OWN_FILE:
        model.save(path)
        return
    kinds = _field_kinds()
    if not (is_dataclass(model) and isinstance(model, StoredModel) and type(model).__name__ in kinds):
        raise TypeError(f"The 'model' parameter of save_model must be one of {kinds}. "
                        f"Got {type(model).__name__} instead.")
    arrays: dict[str, np.ndarray] = {}
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, **_flatten(model, "", arrays)}
    with atomic_write(path, "wb", what="model file") as fh:
        np.savez(fh, __header__=np.array(json.dumps(header)), **{f"a:{k}": v for k, v in arrays.items()})


def _build(header: dict[str, Any], prefix: str, data: Any) -> Any:
    cls = model_class(header["model_type"])
    kwargs: dict[str, Any] = dict(header["params"])
    for name in header["arrays"]:
        a = np.array(data[f"a:{prefix}{name}"])
        a.flags.writeable = False
        kwargs[name] = a
    for name in header["none"]:
        kwargs[name] = None
    for name, sub in header["nested"].items():
        kwargs[name] = _build(sub, f"{prefix}{name}.", data)
    return cls(units=header["units"], provenance=header["provenance"], **kwargs)


def read_header(data: Any, name: str, expected: str | None = None) -> dict[str, Any]:
    """The checked JSON header of an opened trajml model file (an ``np.load`` archive).

    Parameters
    ----------
    data : numpy.lib.npyio.NpzFile
        The opened file.
    name : str
        Its path, for messages.
    expected : str, optional
        Model type the caller reads; a file of another type is refused.

    Raises
    ------
    ValueError
        Not a trajml model file (no header, another format), another format
        version, or another model type than ``expected``.
    """
    if "__header__" not in data.files:
        raise ValueError(f"File '{name}' is not a trajml model file (it has no '__header__' entry).")
    header = json.loads(str(data["__header__"]))
    if header.get("format") != FORMAT:
        raise ValueError(f"File '{name}' is not a trajml model file (format {header.get('format')!r}).")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"File '{name}' was written with {FORMAT} format version {version}; this trajml "
                         f"reads version {FORMAT_VERSION}. Refit the model or use a matching trajml.")
    if expected is not None and header.get("model_type") != expected:
        raise ValueError(f"File '{name}' holds a {header.get('model_type')}, not a {expected}: it was written for "
                         f"another model type.")
    return header


def load_model(path: str | os.PathLike[str], expected: type | None = None) -> Any:
    """Read a model written by :func:`save_model`.

    The model's module need not be imported: the registry names it, and it is imported here.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save_model`.
    expected : type, optional
        Model class the caller wants; a file holding another type is refused.

    Returns
    -------
    Results
        The model: one of the types :func:`save_model` writes.

    Raises
    ------
    ValueError
        The file is not a trajml model file, was written for another model type than
        ``expected``, or by an unsupported format version.
    """
    name = os.fspath(path)
    kinds = _field_kinds()
    try:
        with np.load(name, allow_pickle=False) as data:
            header = read_header(data, name)
            kind = header.get("model_type")
            if kind in _OWN_FILE:
                if expected is not None and kind != expected.__name__:
                    raise ValueError(f"File '{name}' holds a {kind}, not a {expected.__name__}: it was written for "
                                     f"another model type.")
                return model_class(kind).load(name)
            if kind not in kinds:
                raise ValueError(f"File '{name}' holds an unknown model type {kind!r}; known: {kinds}.")
            if expected is not None and kind != expected.__name__:
                raise ValueError(f"File '{name}' holds a {kind}, not a {expected.__name__}: it was written for "
                                 f"another model type.")
            return _build(header, "", data)
    except (OSError, EOFError) as exc:
        raise ValueError(f"File '{name}' cannot be read as a trajml model file: {exc}") from exc
