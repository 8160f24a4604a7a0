"""The featurizer protocol: pure analyses with mergeable, additive state.

A featurizer holds hyper-parameters only. Per-run state lives in a small state
object that :meth:`Featurizer.update` fills from one :class:`~trajml.chunk.Chunk`
and :meth:`Featurizer.merge` combines exactly and associatively, so a
trajectory can be split into chunks, processed anywhere, and reduced in any
grouping. :meth:`Featurizer.finalize` normalises once, at the end.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from trajml.chunk import Chunk
from trajml.parallel.analysis import Analysis

__all__ = ["Featurizer", "State"]

State = TypeVar("State")


class Featurizer(Analysis, Generic[State]):
    """Base class of every frame-partitioned analysis.

    Subclasses declare their parameters (:class:`trajml.base.Parameterized`), set the class
    attributes and implement the four methods. The
    engine (:func:`trajml.parallel.run`) calls :meth:`bind` once on the driver,
    ships the bound featurizer to workers, and there calls :meth:`init_state` and
    :meth:`update` per chunk; states travel back and are merged in a fixed order.

    Attributes
    ----------
    needs_box : bool
        True when the analysis uses periodic boundaries; chunks without a box
        then raise :class:`~trajml.errors.MissingBoxError`.
    atoms : ndarray of int64 or None
        Topology indices the analysis reads (set by :meth:`bind`); None reads all atoms.
    """

    partition: ClassVar[str] = "frames"
    needs_box: bool = False
    atoms: np.ndarray | None = None

    def bind(self, source: Any) -> "Featurizer[State]":
        """Resolve selections against ``source`` once; return a picklable featurizer.

        The default returns ``self``. Subclasses that take selection strings
        return a copy whose index arrays are filled in.
        """
        return self

    @abstractmethod
    def init_state(self) -> State:
        """Return an empty state: the identity of :meth:`merge`."""

    @abstractmethod
    def update(self, state: State, chunk: Chunk) -> State:
        """Accumulate one chunk into ``state`` and return it."""

    @abstractmethod
    def merge(self, a: State, b: State) -> State:
        """Combine two states; must be associative and exact."""

    @abstractmethod
    def finalize(self, state: State, provenance: dict[str, Any]) -> Any:
        """Turn the reduced state into a frozen result carrying units and ``provenance``."""
