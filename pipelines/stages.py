"""The stage registry: named analyses with a parameter schema that pipelines can run.

A stage is a function ``func(ctx, params) -> StageOutput`` registered under a
name together with

- a **parameter schema** (``{name: Param}``) against which the YAML is validated
  before anything runs (types, ranges, choices, required keys, defaults);
- ``requires``: names of stages that must come **earlier** in every pipeline
  that uses it (e.g. a future ``msm`` stage requires ``graphs``);
- parameters of kind ``"stage:NAME"``: a reference to the id of an earlier stage
  of type NAME whose stored result the function reads (``coordination`` takes
  its cut-off from the first minimum of an earlier ``rdf`` stage this way); the
  referenced unit's key is part of the dependent unit's key, so changing the RDF
  parameters recomputes the coordination too;
- ``metadata``: per-system metadata keys the result depends on (e.g. a future
  ``transport`` stage needs ``temperature``); their values enter the key;
- ``version``: bump it when the stage's output changes, so stored results of
  the old version are not reused.

New stages plug in with :func:`register_stage`::

    @register_stage("transport", params={"max_lag": Param("float", 100.0, unit="ps")},
                    requires=("info",), metadata=("temperature", "charges"))
    def transport(ctx, params):
        ...
        return StageOutput(data=..., numbers={"conductivity": (value, "S/m")})
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trajml._text import closest

__all__ = [
    "Param", "StageDef", "StageOutput", "StageContext", "REQUIRED", "FRAME_PARAMS",
    "register_stage", "unregister_stage", "get_stage", "stage_names", "check_param", "closest",
]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Default of a parameter that must be given.
REQUIRED: Any = _Required()

_KINDS = ("float", "int", "str", "bool", "mapping")


@dataclass(frozen=True)
class Param:
    """One parameter of a stage.

    Attributes
    ----------
    kind : str
        "float", "int", "str", "bool", "mapping", or "stage:NAME" (the id of an
        earlier stage of type NAME).
    default : Any
        Value used when the YAML omits it; :data:`REQUIRED` when it must be given.
    doc : str
        One line for error messages and documentation.
    unit : str
        Unit of a number ("Å", "ps", ...; "" when dimensionless).
    minimum : float, optional
        Smallest allowed value (inclusive) of a number.
    positive : bool
        A number must be > 0.
    choices : tuple, optional
        Allowed values.
    nullable : bool
        ``null`` is allowed (and means "not given").
    """

    kind: str
    default: Any = REQUIRED
    doc: str = ""
    unit: str = ""
    minimum: float | None = None
    positive: bool = False
    choices: tuple[Any, ...] = ()
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS and not self.kind.startswith("stage:"):
            raise ValueError(f"Param kind must be one of {_KINDS} or 'stage:NAME'. Got {self.kind!r} instead.")

    @property
    def references(self) -> str | None:
        """str or None: the stage type a "stage:NAME" parameter refers to."""
        return self.kind.split(":", 1)[1] if self.kind.startswith("stage:") else None


#: Frame selection and chunking shared by every trajectory stage.
FRAME_PARAMS: dict[str, Param] = {
    "start": Param("int", 0, "first frame of every trajectory", minimum=0),
    "stop": Param("int", None, "stop before this frame (null: the end)", minimum=1, nullable=True),
    "step": Param("int", 1, "read every step-th frame", minimum=1),
    "chunk_size": Param("int", 100, "frames per chunk inside a unit", minimum=1),
}


@dataclass
class StageOutput:
    """What a stage function returns; the store writes it as one entry.

    Attributes
    ----------
    data : dict
        JSON-serialisable result (e.g. ``Results.to_dict()`` plus ``"units"``).
    numbers : dict of str to (float, str)
        Key numbers with their units, for the report and the cross-system table.
    tables : dict of str to dict of str to array_like
        CSV tables: name -> columns (1-D, equal lengths).
    figures : dict of str to matplotlib.figure.Figure
        Figures saved as ``NAME.png``.
    """

    data: dict[str, Any]
    numbers: dict[str, tuple[float, str]] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageContext:
    """What a stage function may use besides its parameters.

    Attributes
    ----------
    system : trajml.pipelines.spec.SystemSpec
        The simulation: name, files, metadata (temperature in K, charges in e, ...).
    dependencies : dict of str to dict
        For each "stage:NAME" parameter that is set, the referenced stored result
        (its ``data`` dict).
    opener : callable, optional
        ``opener(system) -> Source`` (the runner passes a per-worker cache).
    """

    system: Any
    dependencies: dict[str, dict[str, Any]]
    opener: Callable[[Any], Any] | None = None
    _source: Any = None

    @property
    def source(self) -> Any:
        """trajml.io.Source: the system's trajectories, opened on first use."""
        if self._source is None:
            self._source = self.opener(self.system) if self.opener else self.system.open()
        return self._source


@dataclass(frozen=True)
class StageDef:
    """A registered stage: name, function, parameter schema and ordering constraints."""

    name: str
    func: Callable[[StageContext, dict[str, Any]], StageOutput]
    params: Mapping[str, Param]
    requires: tuple[str, ...] = ()
    metadata: tuple[str, ...] = ()
    version: int = 1
    doc: str = ""
    check: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None


_REGISTRY: dict[str, StageDef] = {}
_BUILTINS_LOADED = False


def register_stage(name: str, *, params: Mapping[str, Param], requires: tuple[str, ...] = (),
                   metadata: tuple[str, ...] = (), version: int = 1, frames: bool = True,
                   check: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None,
                   replace: bool = False) -> Callable[[Callable], Callable]:
    """Decorator registering ``func(ctx, params) -> StageOutput`` as stage ``name``.

    Parameters
    ----------
    name : str
        Name used in the YAML ``stage:`` key.
    params : mapping of str to Param
        The parameter schema.
    requires : tuple of str
        Stage names that must appear earlier in a pipeline.
    metadata : tuple of str
        System metadata keys whose values the result depends on (they enter the key).
    version : int
        Output version; bump it to invalidate stored results.
    frames : bool
        Add the shared frame parameters (start, stop, step, chunk_size).
    check : callable, optional
        ``check(params) -> [(key, problem), ...]`` for constraints between
        parameters (run at validation, after each value passed its own check).
    replace : bool
        Allow replacing an existing stage of that name.
    """
    def decorate(func: Callable) -> Callable:
        _load_builtins()
        if name in _REGISTRY and not replace:
            raise ValueError(f"A stage named {name!r} is already registered; pass replace=True to replace it.")
        schema = {**params, **(FRAME_PARAMS if frames else {})}
        _REGISTRY[name] = StageDef(name, func, schema, tuple(requires), tuple(metadata), version,
                                   (func.__doc__ or "").strip().split("\n")[0], check)
        return func

    return decorate


def unregister_stage(name: str) -> None:
    """Remove a stage from the registry (for plug-ins and tests)."""
    _REGISTRY.pop(name, None)


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        import trajml.pipelines.builtin_stages  # noqa: F401  (registers info, rdf, coordination, solvation)
        import trajml.pipelines.transport_stages  # noqa: F401  (registers msd, residence, transport)
        import trajml.pipelines.kinetics_stages  # noqa: F401  (registers graphs, msm, fes)
        import trajml.pipelines.extrapolate_stage  # noqa: F401  (registers extrapolate)


def stage_names() -> list[str]:
    """Names of every registered stage, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_stage(name: str) -> StageDef:
    """The registered stage ``name``.

    Raises
    ------
    KeyError
        Unknown name; the message suggests the closest registered one.
    """
    _load_builtins()
    if name not in _REGISTRY:
        raise KeyError(f"Unknown stage {name!r}.{closest(name, _REGISTRY)} "
                       f"Registered stages: {', '.join(sorted(_REGISTRY))}.")
    return _REGISTRY[name]


def check_param(param: Param, value: Any) -> tuple[Any, str | None]:
    """Validate and normalise one parameter value.

    Returns
    -------
    value : Any
        The value, normalised (ints given for floats become floats).
    problem : str or None
        What is wrong (``"must be a float > 0 Å; got -1"``), or None.
    """
    unit = f" {param.unit}" if param.unit else ""
    if value is None:
        return (None, None) if param.nullable else (None, f"must not be null ({param.doc or param.kind})")
    kind = param.kind
    if kind in ("float", "int"):
        is_num = isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
            return value, f"must be an int; got {value!r}"
        if not is_num or not math.isfinite(value):
            return value, f"must be a finite number{unit}; got {value!r}"
        value = float(value) if kind == "float" else int(value)
        if param.positive and value <= 0:
            return value, f"must be > 0{unit}; got {value!r}"
        if param.minimum is not None and value < param.minimum:
            return value, f"must be >= {param.minimum:g}{unit}; got {value!r}"
    elif kind == "bool":
        if not isinstance(value, bool):
            return value, f"must be true or false; got {value!r}"
    elif kind == "mapping":
        if not isinstance(value, Mapping):
            return value, f"must be a mapping; got {type(value).__name__}"
        value = dict(value)
    else:  # "str" and "stage:NAME"
        if not isinstance(value, str) or not value.strip():
            return value, f"must be a non-empty string; got {value!r}"
    if param.choices and value not in param.choices:
        return value, f"must be one of {', '.join(map(repr, param.choices))}; got {value!r}.{closest(value, param.choices)}"
    return value, None
