"""The analysis protocol the engine runs: frame-partitioned featurizers and particle-partitioned analyses.

:class:`Analysis` is what :func:`trajml.parallel.run` runs over a Source: a frame-partitioned
:class:`~trajml.features.base.Featurizer` or a :class:`ParticleAnalysis` (time correlations,
partitioned over particles). Both declare their parameters (:class:`trajml.base.Parameterized`);
``analysis.run(source)`` is sugar for ``trajml.parallel.run(analysis, source)``, and calling an
analysis like an estimator (``fit``, ``compute``) names the right call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from trajml.base import Parameterized
from trajml.errors import WrongCallError

__all__ = ["Analysis", "ParticleAnalysis", "RUN_CALL"]

#: How an analysis is run, for messages.
RUN_CALL = "{name}(...).run(source) or trajml.parallel.run({name}(...), source)"

# Method names people reach for on an analysis, and what to say instead.
_ANALYSIS_MISCALLS = ("compute", "fit", "fit_transform", "transform", "fetch_model", "from_source", "analyse",
                      "analyze", "calculate")


class Analysis(Parameterized, ABC):
    """Something :func:`trajml.parallel.run` runs over a Source.

    Attributes
    ----------
    partition : str
        ``"frames"`` (chunks of frames, any grouping: featurizers) or ``"particles"`` (every frame
        of a block of particles: time correlations).
    needs_box : bool
        The analysis uses periodic boundaries.
    """

    partition: ClassVar[str] = ""
    needs_box: bool = False

    def run(self, source: Any, **options: Any) -> Any:
        """Run over ``source``: the same as ``trajml.parallel.run(self, source, **options)``.

        See :func:`trajml.parallel.run` for the options (frames, chunk size, scheduler, progress).
        """
        from trajml.parallel.engine import run

        return run(self, source, **options)

    @abstractmethod
    def bind(self, source: Any) -> "Analysis":
        """Resolve selections against ``source`` once, on the driver; return a picklable copy."""

    def __getattr__(self, name: str) -> Any:
        if name in _ANALYSIS_MISCALLS:
            cls = type(self).__name__
            raise WrongCallError(f"{cls} is an analysis: it has no '{name}' method. Call "
                                 f"{RUN_CALL.format(name=cls)}.")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class ParticleAnalysis(Analysis):
    """A time-correlation analysis partitioned over particles (MSD, conductivity, residence).

    The engine calls, per trajectory of the source: :meth:`stream` once (one pass over the
    frames, e.g. unwrapping into a series store), :meth:`blocks` to split the particles into
    tasks, :meth:`task` per block on any scheduler, :meth:`merge` in block order, and
    :meth:`finalize` to turn the state into a result. Several trajectories are replicas:
    :meth:`combine` makes the ensemble result from the per-replica ones.
    """

    partition: ClassVar[str] = "particles"

    @abstractmethod
    def stream(self, source: Any, traj_id: int, frames: Any, chunk_size: int, scheduler: Any,
               progress: bool) -> Any:
        """Read trajectory ``traj_id`` once; return a context manager yielding what tasks read."""

    @abstractmethod
    def blocks(self, streamed: Any, scheduler: Any, n_workers: int | None) -> list[Any]:
        """Picklable task descriptions (e.g. particle index ranges), in merge order."""

    @abstractmethod
    def task(self, streamed: Any, block: Any) -> Any:
        """The partial state of one block (runs on a worker)."""

    @abstractmethod
    def merge(self, a: Any, b: Any) -> Any:
        """Combine two partial states (block order is kept)."""

    @abstractmethod
    def finalize(self, streamed: Any, state: Any, provenance: dict[str, Any]) -> Any:
        """The result of one trajectory."""

    def combine(self, results: list[Any], provenance: dict[str, Any], states: list[Any]) -> Any:
        """The result of several replicas, from their results (and states); the default refuses, naming them."""
        names = []
        for r in results:
            t = r.provenance.get("traj_id", "?")
            files = r.provenance.get("files", [])
            parts = files[t][1:] if isinstance(t, int) and t < len(files) else []
            names.append(f"trajectory {t}: {', '.join(parts)}")
        raise ValueError(f"{type(self).__name__} analyses one trajectory at a time, but the source holds "
                         f"{len(results)} ({'; '.join(names)}); pass traj_ids=[k] to pick one.")
