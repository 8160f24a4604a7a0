"""Docstring checks of the public API: each public class and function has a docstring, and the names
in its numpydoc ``Parameters`` section are the parameters of its signature.

A class is checked against ``__init__`` (its own docstring, or ``__init__``'s when that one has a
Parameters section). A dataclass whose docstring has no Parameters section may describe its fields
under ``Attributes`` instead (a Results record). Data (constants, tuples) is not checked.

A docstring without a Parameters section may delegate: when it refers (``:func:`...```,
``:class:`...```) to an object whose signature has these parameters (it may have more, such as
``device``) and whose docstring documents them (the NumPy twin of a kernel, "see
:func:`imap_ordered` for the parameters"), those are its parameters. A class that inherits
``__init__`` is checked where ``__init__`` is defined.
Fields a dataclass inherits are checked on the class that declares them.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from collections.abc import Callable, Iterable

from numpydoc.docscrape import NumpyDocString


def _documented(section: Iterable) -> list[str]:
    names = []
    for item in section:
        for part in item.name.split(","):
            part = part.strip().lstrip("*")
            if part:
                names.append(part)
    return names


def _signature_names(func: Callable, drop_first: bool) -> list[str] | None:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if drop_first and params and params[0].name in ("self", "cls"):
        params = params[1:]
    return [p.name for p in params]


def _resolve(target: str) -> object | None:
    parts = target.lstrip("~.").split(".")
    for k in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        try:
            for attr in parts[k:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _delegated(doc: str, signature: list[str]) -> bool:
    """The docstring refers to an object that documents exactly these parameters."""
    for target in re.findall(r":(?:func|class|meth):`~?([\w.]+)`", doc):
        other = _resolve(target)
        if other is None:
            continue
        func = other.__init__ if inspect.isclass(other) else other
        other_doc = inspect.getdoc(other) or ""
        try:
            documented = _documented(NumpyDocString(other_doc)["Parameters"])
        except Exception:
            continue
        theirs = _signature_names(func, drop_first=inspect.isclass(other))
        # a twin may lack options of the original (``device``), never have parameters of its own
        if theirs is not None and set(signature) <= set(theirs) and set(signature) <= set(documented):
            return True
    return False


def check_object(qualname: str, obj: object) -> list[str]:
    """Problems of one public object, each naming it (empty: fine)."""
    if not (inspect.isclass(obj) or callable(obj)):
        return []
    doc = inspect.getdoc(obj) if not inspect.isclass(obj) else obj.__dict__.get("__doc__") or inspect.getdoc(obj)
    if not doc or not doc.strip():
        return [f"{qualname}: no docstring"]
    try:
        parsed = NumpyDocString(doc)
    except Exception as exc:  # numpydoc raises ValueError/Warning subclasses on malformed sections
        return [f"{qualname}: the docstring is not valid numpydoc ({exc})"]
    documented = _documented(parsed["Parameters"])
    if inspect.isclass(obj):
        if issubclass(obj, BaseException) and not documented:
            return []  # exceptions take their message; their fields are Attributes
        init_doc = inspect.getdoc(obj.__init__) if "__init__" in obj.__dict__ else None
        if not documented and init_doc:
            try:
                documented = _documented(NumpyDocString(init_doc)["Parameters"])
            except Exception:
                pass
        if obj.__init__ is object.__init__:
            signature = []
        elif "__init__" not in obj.__dict__ and not documented and not dataclasses.is_dataclass(obj):
            return []  # inherited __init__: checked on the class that defines it
        else:
            signature = _signature_names(obj.__init__, drop_first=True)
        if not documented and dataclasses.is_dataclass(obj):
            attributes = set(_documented(parsed["Attributes"]))
            own = getattr(obj, "__annotations__", {}) if "__annotations__" in obj.__dict__ else {}
            missing = [f.name for f in dataclasses.fields(obj) if f.init and f.name not in attributes
                       and not f.name.startswith("_") and f.name in own]
            return [f"{qualname}: fields {missing} are described neither under Parameters nor Attributes"] \
                if missing else []
    else:
        signature = _signature_names(obj, drop_first=False)
    if signature is None:
        return []
    signature = [n for n in signature if not n.startswith("_")]
    if not documented and signature and _delegated(doc, signature):
        return []
    missing = [n for n in signature if n not in documented]
    extra = [n for n in documented if n not in signature]
    problems = []
    if missing:
        problems.append(f"{qualname}: parameters {missing} of the signature are not in the docstring's Parameters")
    if extra:
        problems.append(f"{qualname}: the docstring's Parameters list {extra}, which the signature does not have")
    return problems


def public_api_problems(names: dict[str, list[str]]) -> list[str]:
    """Problems of every public callable (``names``: namespace -> public names), each named once."""
    seen: set[int] = set()
    problems = []
    for ns, members in sorted(names.items()):
        module = importlib.import_module(ns)
        for name in members:
            obj = getattr(module, name)
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            problems += check_object(f"{ns}.{name}", obj)
    return problems
