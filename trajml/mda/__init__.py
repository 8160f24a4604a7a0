"""An MDAKit-style front end: trajml analyses built from AtomGroups, run like ``MDAnalysis`` analyses.

>>> from trajml.mda import RDF, MSD                                         # doctest: +SKIP
>>> rdf = RDF(u.select_atoms("name Li"), u.select_atoms("name O"), r_max=10.0).run(stop=100)
>>> rdf.results.g                                                        # doctest: +SKIP

Each class takes the AtomGroups (and the keyword parameters) of the trajml analysis of the same
name, finds the Universe they belong to, and ``run(start, stop, step)`` returns ``self`` with
``results`` set to the trajml Results. Underneath it is exactly
``trajml.parallel.run(trajml_analysis, universe, ...)``: the Universe becomes a Source of its files
(:mod:`trajml.io.universe`, with its refusals), the AtomGroups become topology indices, and the
results equal those of the path and selection-string route.

The classes here are wrappers, not new analyses: parameters, validation, units and results are
those of :mod:`trajml.features` and :mod:`trajml.transport`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from trajml.features import RDF as _RDF
from trajml.features import Coordination as _Coordination
from trajml.parallel import run as _run
from trajml.selection import is_atomgroup
from trajml.transport import MSD as _MSD
from trajml.transport import Conductivity as _Conductivity
from trajml.transport import ResidenceTime as _ResidenceTime

__all__ = ["AnalysisFrontEnd", "RDF", "Coordination", "MSD", "Conductivity", "ResidenceTime"]

# MDAnalysis' names of its parallel backends, in trajml's scheduler vocabulary.
_BACKENDS = {"serial": "serial", "multiprocessing": "processes"}


class AnalysisFrontEnd:
    """A trajml analysis bound to the Universe of its AtomGroups (the MDAnalysis ``AnalysisBase`` call style).

    Parameters
    ----------
    *groups : AtomGroup or str
        The analysis' selection parameters in its order (e.g. ``select_a, select_b``); at least one is an
        AtomGroup, and all AtomGroups belong to one Universe. Strings are resolved against that Universe.
    **params
        The other parameters of the trajml analysis (``r_max=10.0``, ...).

    Attributes
    ----------
    analysis : trajml analysis
        The wrapped analysis (its AtomGroups kept as indices).
    universe : MDAnalysis.Universe
        Where the frames come from (reopened from its files by the workers).
    results : Results or None
        The trajml Results of the last :meth:`run`.
    """

    _analysis_class: ClassVar[type]

    def __init__(self, *groups: Any, **params: Any) -> None:
        owner = f"trajml.mda.{type(self).__name__}"
        universes = {id(g.universe): g.universe for g in (*groups, *params.values()) if is_atomgroup(g)}
        if not universes:
            raise TypeError(f"{owner} takes its Universe from its AtomGroups, and got none: pass AtomGroups "
                            f"(u.select_atoms(...)), or use trajml.{self._home()}.{type(self).__name__}(...)"
                            ".run(universe) with selection strings.")
        if len(universes) > 1:
            files = ", ".join(f"'{u.filename}'" for u in universes.values())
            raise ValueError(f"The AtomGroups given to {owner} belong to {len(universes)} different Universes "
                             f"({files}); select them all from one Universe.")
        self.universe = next(iter(universes.values()))
        self.analysis = self._analysis_class(*groups, **params)
        self.results: Any = None

    @classmethod
    def _home(cls) -> str:
        return cls._analysis_class.__module__.split(".")[1]

    def run(self, start: int | None = None, stop: int | None = None, step: int | None = None, *,
            verbose: bool | None = None, backend: str | None = None, n_workers: int | None = None,
            **options: Any) -> "AnalysisFrontEnd":
        """Run over the Universe's frames ``start:stop:step``; return ``self`` with :attr:`results` set.

        Parameters
        ----------
        start, stop, step : int, optional
            Frame slice (None: from the first, to the last, every frame).
        verbose : bool, optional
            Show progress bars (trajml's ``progress``).
        backend : str, optional
            ``"serial"``, ``"multiprocessing"`` (trajml's ``"processes"``) or any trajml scheduler
            (``"threads"``, ``"local"``, a dask Client); default serial.
        n_workers : int, optional
            Workers of a parallel backend.
        **options
            Other keywords of :func:`trajml.parallel.run` (``chunk_size``, ``scheduler``).
        """
        if backend is not None:
            options["scheduler"] = _BACKENDS.get(backend, backend) if isinstance(backend, str) else backend
        self.results = _run(self.analysis, self.universe, start=0 if start is None else start, stop=stop,
                            step=1 if step is None else step, n_workers=n_workers, progress=verbose, **options)
        return self

    def __repr__(self) -> str:
        return f"<trajml.mda.{type(self).__name__} {self.analysis!r} of {self.universe!r}>"


def _front_end(analysis: type) -> type:
    doc = (f"``{analysis.__name__}`` of :mod:`trajml.{analysis.__module__.split('.')[1]}` with the MDAnalysis call "
           f"style: ``{analysis.__name__}(atomgroup, ..., **params).run(start, stop, step).results``.\n\n"
           f"See :class:`{analysis.__module__}.{analysis.__name__}` for the parameters and results.")
    return type(analysis.__name__, (AnalysisFrontEnd,), {"_analysis_class": analysis, "__doc__": doc,
                                                          "__module__": __name__})


RDF = _front_end(_RDF)
Coordination = _front_end(_Coordination)
MSD = _front_end(_MSD)
Conductivity = _front_end(_Conductivity)
ResidenceTime = _front_end(_ResidenceTime)
