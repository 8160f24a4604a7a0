"""The stage registry: named analyses with a parameter schema that pipelines can run.

The built-in stages register themselves when :mod:`trajml.pipelines.stages` is imported (the
pipeline package does so); a plug-in registers its own the same way.

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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trajml._text import closest
from trajml._validation import REQUIRED, Param
from trajml.errors import InvalidParameterError
from trajml.parallel.options import FRAME_OPTIONS

__all__ = [
    "Param", "StageDef", "StageOutput", "StageContext", "REQUIRED", "FRAME_PARAMS",
    "register_stage", "unregister_stage", "get_stage", "stage_names", "check_param", "closest",
    "analysis_params",
]

#: Frame selection and chunking shared by every trajectory stage (the run options' declaration).
FRAME_PARAMS: dict[str, Param] = dict(FRAME_OPTIONS)


@dataclass
class StageOutput:
    """What a stage function returns; the store writes it as one entry.

    Attributes
    ----------
    data : dict
        JSON-serialisable result (e.g. ``Results.to_dict()`` plus ``"units"`` and ``"dims"``, the
        dimension names of its arrays). The store keeps its numeric arrays in the entry's
        ``arrays.nc`` and the rest in ``result.json`` (:mod:`trajml.store.arrays`).
    numbers : dict of str to (float, str)
        Key numbers with their units, for the report and the cross-system table.
    tables : dict of str to dict of str to array_like
        CSV tables: name -> columns (1-D, equal lengths).
    figures : dict of str to matplotlib.figure.Figure, str or None
        Figures saved as ``NAME.png``. None (or a str saying why) for a figure the stage could not
        draw because its data is missing: the report says so in its place.
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
        (its ``data`` dict, numeric arrays as float64 or int64 ndarrays).
    opener : callable, optional
        ``opener(system) -> Source`` (the runner passes a per-worker cache).
    scheduler : str or dask.distributed.Client
        Where the stage's analysis runs its chunks or particle blocks (``scheduler=`` of
        :func:`trajml.parallel.run`): ``"serial"``, ``"threads"``, or the Client of the
        cluster the unit runs on (:mod:`trajml.pipelines.unit_parallel`).
    n_workers : int or None
        Workers of that scheduler (``n_workers=`` of :func:`trajml.parallel.run`).
    scratch : str or None
        Folder for temporary files the analysis' tasks share (``tmpdir`` of MSD) that every worker
        sees; None: the system's temporary folder.
    """

    system: Any
    dependencies: dict[str, dict[str, Any]]
    opener: Callable[[Any], Any] | None = None
    _source: Any = None
    scheduler: Any = "serial"
    n_workers: int | None = None
    scratch: str | None = None

    @property
    def source(self) -> Any:
        """trajml.io.Source: the system's trajectories, opened on first use."""
        if self._source is None:
            self._source = self.opener(self.system) if self.opener else self.system.open()
        return self._source


@dataclass(frozen=True)
class StageDef:
    """A registered stage: name, function, parameter schema and ordering constraints.

    ``analysis`` holds the classes whose declared parameters the schema includes (their
    names, defaults and checks are the classes' own); ``analysis_names`` lists them.

    Attributes
    ----------
    name : str
    func : callable
        ``func(ctx, params) -> StageOutput``.
    params : mapping of str to Param
        The schema.
    requires, metadata : tuple of str
        See :func:`register_stage`.
    version : int
    doc : str
        First line of the function's docstring.
    check : callable or None
        Checks between parameters.
    analysis, analysis_names, skipped : tuple
    """

    name: str
    func: Callable[[StageContext, dict[str, Any]], StageOutput]
    params: Mapping[str, Param]
    requires: tuple[str, ...] = ()
    metadata: tuple[str, ...] = ()
    version: int = 1
    doc: str = ""
    check: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None
    analysis: tuple[Any, ...] = ()
    analysis_names: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    def check_relations(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems ``(key, text)`` between parameters: the analysis' own relations, then the stage's."""
        problems = []
        for cls in self.analysis:
            try:
                cls.validate_params({k: params[k] for k in cls.parameters() if k in self.analysis_names})
            except InvalidParameterError as exc:
                problems.append((exc.parameter or "", exc.problem))
        start, stop = params.get("start"), params.get("stop")
        if isinstance(start, int) and isinstance(stop, int) and stop <= start:  # found by --check, not mid-run
            problems.append(("stop", f"must be greater than 'start' ({start}): frames {start} to {stop} are none. "
                                     f"Got {stop} instead"))
        return problems + (self.check(params) if self.check else [])


def analysis_params(params: Mapping[str, Any], stage: StageDef | str, cls: Any = None) -> dict[str, Any]:
    """The keyword arguments of a stage's analysis class (``cls``, or its only one) among its parameters.

    Parameters
    ----------
    params : mapping
        The stage's validated parameters.
    stage : StageDef or str
    cls : class, optional
        One of the stage's analysis classes.
    """
    sdef = get_stage(stage) if isinstance(stage, str) else stage
    names = sdef.analysis_names if cls is None else [k for k in cls.parameters() if k in sdef.analysis_names]
    return {k: params[k] for k in names if k in params}


_REGISTRY: dict[str, StageDef] = {}


def register_stage(name: str, *, params: Mapping[str, Param] | None = None, analysis: Any = None,
                   skip: Iterable[str] = (), defaults: Mapping[str, Any] | None = None,
                   requires: tuple[str, ...] = (), metadata: tuple[str, ...] = (), version: int = 1,
                   frames: bool = True, check: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None,
                   replace: bool = False) -> Callable[[Callable], Callable]:
    """Decorator registering ``func(ctx, params) -> StageOutput`` as stage ``name``.

    Parameters
    ----------
    name : str
        Name used in the YAML ``stage:`` key.
    params : mapping of str to Param, optional
        Parameters of the stage itself (references to earlier stages, options of its output).
    analysis : class or tuple of classes, optional
        Analyses (or estimators) whose declared parameters join the schema with their own
        names, defaults and checks (:meth:`~trajml.base.Parameterized.parameters`); those
        declared Python-only (``cli=False``) are left out.
    skip : iterable of str
        Parameters of ``analysis`` the stage sets itself.
    defaults : mapping, optional
        Stage defaults that differ from the analysis' (the drift test lists every such case).
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
        if name in _REGISTRY and not replace:
            raise ValueError(f"A stage named {name!r} is already registered; pass replace=True to replace it.")
        classes = () if analysis is None else tuple(analysis) if isinstance(analysis, (tuple, list)) else (analysis,)
        declared: dict[str, Param] = {}
        for cls in classes:
            declared.update({k: p for k, p in cls.parameters().items() if k not in set(skip) and p.cli})
        for k, v in (defaults or {}).items():
            declared[k] = declared[k].replace(default=v)
        named = {k: p if p.name else p.replace(name=k) for k, p in (params or {}).items()}
        schema = {**declared, **named, **(FRAME_PARAMS if frames else {})}
        _REGISTRY[name] = StageDef(name, func, schema, tuple(requires), tuple(metadata), version,
                                   (func.__doc__ or "").strip().split("\n")[0], check, classes, tuple(declared),
                                   tuple(skip))
        return func

    return decorate


def unregister_stage(name: str) -> None:
    """Remove a stage from the registry (for plug-ins and tests).

    Parameters
    ----------
    name : str
    """
    _REGISTRY.pop(name, None)


def stage_names() -> list[str]:
    """Names of every registered stage, sorted."""
    return sorted(_REGISTRY)


def get_stage(name: str) -> StageDef:
    """The registered stage ``name``.

    Parameters
    ----------
    name : str

    Raises
    ------
    KeyError
        Unknown name; the message suggests the closest registered one.
    """
    if name not in _REGISTRY:
        raise KeyError(f"Unknown stage {name!r}.{closest(name, _REGISTRY)} "
                       f"Registered stages: {', '.join(sorted(_REGISTRY))}.")
    return _REGISTRY[name]


def check_param(param: Param, value: Any, owner: str = "stage") -> tuple[Any, str | None]:
    """Validate and normalise one YAML value with its declaration.

    YAML's ``none`` (a string) means None where None is allowed, like ``null``.

    Parameters
    ----------
    param : Param
        The declaration.
    value : object
        The YAML value.
    owner : str
        The stage, for the message.

    Returns
    -------
    value : Any
        The value, normalised (ints given for floats become floats).
    problem : str or None
        What is wrong, in the declaration's words (``"must be a float in (0, inf) Å. Got -1.0 instead."``).
    """
    if isinstance(value, str) and value.strip().lower() == "none" and param.nullable:
        value = None
    try:
        return param.validate(value, owner), None
    except InvalidParameterError as exc:
        return value, exc.problem
