"""Base classes of everything that takes parameters: declared parameters, and estimators.

:class:`Parameterized` gives a class its declared parameters (scikit-learn style): the class
lists a :class:`~trajml._validation.Param` per ``__init__`` argument in ``_parameters``; the
default of each comes from the ``__init__`` signature, so it is written once. From that one
declaration the class validates its arguments (:meth:`Parameterized.validate_params`), reports
them (:meth:`~Parameterized.get_params`, a short ``repr``), accepts former names with a
``DeprecationWarning``, and the command line and the pipeline stages build their options and
YAML schemas (:mod:`trajml.cli._options`, :mod:`trajml.pipelines.registry`).

:class:`Estimator` follows deeptime: ``fit(data)`` returns ``self``, ``fetch_model()`` returns a
frozen model. Analyses of trajectories (run by the engine over a Source) build on
:class:`Parameterized` in :mod:`trajml.parallel.analysis`.

Every concrete subclass is recorded in a registry (:func:`registered`), which the contract
test suites and the drift test walk instead of a hand-written list.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

from trajml._validation import REQUIRED, Param, _same
from trajml.errors import InvalidParameterError, NotFittedError, WrongCallError

__all__ = ["Parameterized", "Estimator", "registered"]

_REGISTRY: dict[str, type] = {}
# Modules of the base classes themselves, which are not analyses or estimators of their own.
_BASES = ("trajml.base", "trajml.parallel.analysis", "trajml.features.base")

# Method names people reach for on an estimator, and what to say instead.
_ESTIMATOR_MISCALLS = ("run", "compute", "from_source")


def registered(kind: type | None = None) -> dict[str, type]:
    """Every concrete parameterized class defined so far, by qualified name.

    Parameters
    ----------
    kind : type, optional
        Keep only subclasses of this base (e.g. :class:`Estimator`).

    Returns
    -------
    dict of str to type
        ``"module.ClassName" -> class``; import a module to register its classes.
    """
    return {k: c for k, c in _REGISTRY.items() if kind is None or issubclass(c, kind)}


class Parameterized:
    """Declared, validated parameters with defaults taken from ``__init__``.

    Subclasses set ``_parameters = {"r_max": Param("float", help=..., unit="Å", positive=True), ...}``
    (one entry per ``__init__`` argument) and call ``self._set_params(locals())`` in
    ``__init__``. Cross-parameter constraints go in :meth:`_check_relations`.
    """

    _parameters: ClassVar[Mapping[str, Param]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_parameters" in cls.__dict__:
            cls._parameters = _complete(cls)
            renamed = {alias: p.name for p in cls._parameters.values() for alias in p.aliases
                       if not alias.startswith("-")}
            if renamed and "__init__" in cls.__dict__:
                cls.__init__ = _accept_renamed(cls.__init__, renamed, cls.__name__)  # type: ignore[method-assign]
        if not inspect.isabstract(cls) and not cls.__name__.startswith("_") and cls.__module__ not in _BASES:
            _REGISTRY[f"{cls.__module__}.{cls.__qualname__}"] = cls

    # -- declaration ------------------------------------------------------------------------------
    @classmethod
    def parameters(cls) -> dict[str, Param]:
        """The declared parameters, in ``__init__`` order, with their defaults."""
        return dict(cls._parameters)

    @classmethod
    def validate_params(cls, values: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
        """Check parameter values against the declaration; return them normalised.

        Parameters
        ----------
        values : mapping
            Parameter name -> value. Missing names take their defaults.
        partial : bool
            Check only the names given (no defaults filled, relations checked on what is there).

        Raises
        ------
        InvalidParameterError
            A value outside its constraint, an unknown name (with the closest known one), a
            required parameter missing, or a broken relation between parameters.
        """
        owner = cls.__name__
        declared = cls._parameters
        for key in values:
            if key not in declared:
                from trajml._text import closest

                raise InvalidParameterError(
                    f"{owner} has no parameter {key!r}.{closest(key, declared)} "
                    f"Parameters: {', '.join(declared)}.", parameter=key, owner=owner, value=values[key])
        out: dict[str, Any] = {}
        for name, p in declared.items():
            if name in values:
                out[name] = p.validate(values[name], owner)
            elif not partial:
                if p.required:
                    raise InvalidParameterError(f"{owner} needs the '{name}' parameter ({p.help}).",
                                                parameter=name, owner=owner, constraint="given")
                out[name] = p.default
        cls._check_relations(out)
        return out

    @classmethod
    def _check_relations(cls, values: dict[str, Any]) -> None:
        """Constraints between parameters; raise :class:`InvalidParameterError` naming one of them."""

    def _set_params(self, values: Mapping[str, Any]) -> None:
        """Validate the ``__init__`` arguments (``locals()``) and store them as attributes."""
        given = {k: values[k] for k in type(self)._parameters if k in values}
        for k, v in type(self).validate_params(given).items():
            setattr(self, k, v)

    def get_params(self) -> dict[str, Any]:
        """The parameters as given to ``__init__`` (after validation)."""
        return {k: getattr(self, k) for k in type(self)._parameters}

    def __repr__(self) -> str:
        shown = []
        for name, p in type(self)._parameters.items():
            value = getattr(self, name, p.default)
            if p.required or not _same(value, p.default):
                shown.append(f"{name}={_short(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"


class Estimator(Parameterized):
    """deeptime/scikit-learn estimator: ``fit(data)`` returns ``self``; ``fetch_model()`` a frozen model."""

    _model: Any = None

    def fetch_model(self) -> Any:
        """The model of the last :meth:`fit` (frozen; fitting again does not change it)."""
        if self._model is None:
            raise NotFittedError(f"{type(self).__name__} has not been fitted: call fit(...) first.")
        return self._model

    def __getattr__(self, name: str) -> Any:
        if name in _ESTIMATOR_MISCALLS:
            cls = type(self).__name__
            raise WrongCallError(f"{cls} is an estimator: it has no '{name}' method. Call "
                                 f"{cls}(...).fit(data).fetch_model().")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


# -- helpers ---------------------------------------------------------------------------------------
def _complete(cls: type) -> dict[str, Param]:
    """Name each declared parameter and take its default from ``cls.__init__``; refuse drift."""
    sig = inspect.signature(cls.__init__)
    args = {n: a for n, a in sig.parameters.items()
            if n != "self" and a.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}
    declared = dict(cls.__dict__["_parameters"])
    if set(declared) != set(args):
        missing, extra = sorted(set(args) - set(declared)), sorted(set(declared) - set(args))
        raise TypeError(f"{cls.__name__}._parameters must declare exactly the arguments of __init__; "
                        f"undeclared: {missing}, not in __init__: {extra}.")
    out = {}
    for name, a in args.items():
        default = REQUIRED if a.default is inspect.Parameter.empty else a.default
        written = declared[name].default
        if written is not REQUIRED and not _same(written, default):
            raise TypeError(f"{cls.__name__}._parameters[{name!r}] declares the default {written!r}, but __init__ "
                            f"has {default!r}; write one default.")
        out[name] = declared[name].replace(name=name, default=default)
    return out


def _accept_renamed(init: Any, renamed: dict[str, str], owner: str) -> Any:
    positional = [n for n, a in inspect.signature(init).parameters.items()
                  if a.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)][1:]

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        for old, new in renamed.items():
            if old in kwargs:
                if new in kwargs or new in positional[:len(args)]:
                    raise InvalidParameterError(f"{owner} got both '{new}' and its former name '{old}'; give "
                                                f"'{new}' only.", parameter=new, owner=owner)
                warnings.warn(f"The '{old}' parameter of {owner} is now called '{new}'; the old name will be "
                              "removed in the next release.", DeprecationWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
        init(self, *args, **kwargs)

    return wrapper


def _short(value: Any) -> str:
    """A parameter value for a repr: short, never a whole array."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape})" if value.size > 6 else repr(value.tolist())
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
