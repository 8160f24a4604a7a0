"""Save and load fitted models: one ``.npz`` file of arrays plus a JSON header of parameters.

The header records the model type and the file-format version; :func:`load_model` refuses a
file written for another model type, or by a newer format version, with a message naming both.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from trajml.results import Results, _plain

__all__ = ["save_model", "load_model", "read_header", "FORMAT", "FORMAT_VERSION"]

FORMAT = "trajml.models"
FORMAT_VERSION = 1


def _registry() -> dict[str, type]:
    from trajml.models.koopman import CovarianceModel
    from trajml.models.msm import MSMModel
    from trajml.models.tica import ProjectionModel, TICAMSMModel

    return {c.__name__: c for c in (CovarianceModel, MSMModel, ProjectionModel, TICAMSMModel)}


# Models that write and read their own files (same header; networks need torch, so they are
# imported only when such a file is read).
_SELF_SAVING = {"VAMPNetModel": ("trajml.models.deep.vampnet", "VAMPNetModel"),
                "GraphVAMPNetModel": ("trajml.models.deep.graph_vampnet", "GraphVAMPNetModel"),
                "FESModel": ("trajml.models.fes.model", "FESModel"),
                "MultitaskModel": ("trajml.models.deep.multitask", "MultitaskModel")}


def _flatten(model: Results, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    header: dict[str, Any] = {"model_type": type(model).__name__, "params": {}, "arrays": [], "none": [],
                              "nested": {}, "units": dict(model.units),
                              "provenance": json.loads(json.dumps(_plain(model.provenance), default=str))}
    for f in fields(model):
        if f.name in ("units", "provenance"):
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
        TICAMSMModel, VAMPNetModel, GraphVAMPNetModel, FESModel or MultitaskModel.
    path : str or path-like
        Destination file.
    """
    if type(model).__name__ in _SELF_SAVING:
        model.save(path)
        return
    kinds = _registry()
    if not (is_dataclass(model) and type(model).__name__ in kinds):
        raise TypeError(f"The 'model' parameter of save_model must be one of {sorted(kinds)}. "
                        f"Got {type(model).__name__} instead.")
    arrays: dict[str, np.ndarray] = {}
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, **_flatten(model, "", arrays)}
    with open(os.fspath(path), "wb") as fh:
        np.savez(fh, __header__=np.array(json.dumps(header)), **{f"a:{k}": v for k, v in arrays.items()})


def _build(header: dict[str, Any], prefix: str, data: Any, kinds: dict[str, type]) -> Any:
    cls = kinds[header["model_type"]]
    kwargs: dict[str, Any] = dict(header["params"])
    for name in header["arrays"]:
        a = np.array(data[f"a:{prefix}{name}"])
        a.flags.writeable = False
        kwargs[name] = a
    for name in header["none"]:
        kwargs[name] = None
    for name, sub in header["nested"].items():
        kwargs[name] = _build(sub, f"{prefix}{name}.", data, kinds)
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
    kinds = _registry()
    try:
        with np.load(name, allow_pickle=False) as data:
            header = read_header(data, name)
            kind = header.get("model_type")
            if kind in _SELF_SAVING:
                if expected is not None and kind != expected.__name__:
                    raise ValueError(f"File '{name}' holds a {kind}, not a {expected.__name__}: it was written for "
                                     f"another model type.")
                import importlib

                module, cls = _SELF_SAVING[kind]
                return getattr(importlib.import_module(module), cls).load(name)
            if kind not in kinds:
                raise ValueError(f"File '{name}' holds an unknown model type {kind!r}; known: {sorted(kinds)}.")
            if expected is not None and kind != expected.__name__:
                raise ValueError(f"File '{name}' holds a {kind}, not a {expected.__name__}: it was written for "
                                 f"another model type.")
            return _build(header, "", data, kinds)
    except (OSError, EOFError) as exc:
        raise ValueError(f"File '{name}' cannot be read as a trajml model file: {exc}") from exc
