"""Periodic nearest-neighbour graphs per frame (GDyNet-style inputs), streamed chunk by chunk.

Graphs leave trajml as plain CSR arrays; turning them into torch-geometric
``Data`` objects is the job of one module on the models side. No attribute
here contains ``index`` (torch-geometric shifts such attributes when batching).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from trajml._validation import DEVICES, Param
from trajml.accumulators import add_padded, distribution
from trajml.chunk import Chunk
from trajml.features.base import Featurizer
from trajml.periodic import check_chunk, check_source_boxes
from trajml.results import Results
from trajml.selection import resolve_atoms, species_codes

__all__ = ["NeighborGraphs", "GraphChunk", "GraphState", "GraphResults"]


@dataclass(frozen=True, eq=False)
class GraphChunk:
    """Neighbour graphs of consecutive frames of one trajectory, as CSR arrays.

    Row ``f * n_targets + i`` lists the neighbours of target ``targets[i]`` in
    frame ``f`` of this chunk, nearest first.

    Attributes
    ----------
    traj_id : int
        Trajectory of the frames.
    frames : ndarray, shape (F,), int64
        Frame numbers within the trajectory.
    times : ndarray, shape (F,), float64
        Times in ps.
    boxes : ndarray, shape (F, 3, 3), float32
        Box matrices (rows are box vectors) in Å.
    species : ndarray, shape (N,), int32
        Species code of every atom of the topology (the graph nodes).
    species_names : tuple of str
        Label of each species code.
    targets : ndarray, shape (n_targets,), int64
        Topology ids of the atoms whose neighbours are listed.
    offsets : ndarray, shape (F * n_targets + 1,), int64
        CSR row offsets into ``neighbors`` and ``distances``.
    neighbors : ndarray, shape (E,), int64
        Topology ids of the neighbours.
    distances : ndarray, shape (E,), float32
        Minimum-image distances in Å, ascending within each row.
    """

    traj_id: int
    frames: np.ndarray
    times: np.ndarray
    boxes: np.ndarray
    species: np.ndarray
    species_names: tuple[str, ...]
    targets: np.ndarray
    offsets: np.ndarray
    neighbors: np.ndarray
    distances: np.ndarray

    @property
    def n_frames(self) -> int:
        """int: frames F in the chunk."""
        return int(self.frames.shape[0])

    @property
    def n_targets(self) -> int:
        """int: target atoms per frame."""
        return int(self.targets.shape[0])

    @property
    def degree(self) -> np.ndarray:
        """ndarray, shape (F, n_targets), int64: neighbours listed per target and frame."""
        return np.diff(self.offsets).reshape(self.n_frames, self.n_targets)

    def frame(self, f: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR arrays of frame ``f`` of this chunk (0-based within the chunk).

        Returns
        -------
        offsets : ndarray, shape (n_targets + 1,), int64
            Row offsets starting at 0.
        neighbors : ndarray, shape (E_f,), int64
            Topology ids of the neighbours.
        distances : ndarray, shape (E_f,), float32
            Distances in Å.
        """
        if not 0 <= f < self.n_frames:
            raise IndexError(f"Frame {f} is outside this chunk of {self.n_frames} frames.")
        rows = self.offsets[f * self.n_targets:(f + 1) * self.n_targets + 1]
        lo, hi = int(rows[0]), int(rows[-1])
        return rows - lo, self.neighbors[lo:hi], self.distances[lo:hi]


@dataclass
class GraphState:
    """Additive graph statistics.

    Attributes
    ----------
    degree : ndarray, shape (K,), int64
        (frame, target) rows with k neighbours kept.
    n_truncated : int
        Rows that had more than ``max_neighbors`` neighbours within ``r_max``.
    n_frames : int
        Frames accumulated.
    """

    degree: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_truncated: int = 0
    n_frames: int = 0


@dataclass(frozen=True, eq=False, kw_only=True)
class GraphResults(Results):
    """Statistics of the neighbour graphs of :class:`NeighborGraphs`.

    Attributes
    ----------
    degree : ndarray, shape (K,), int64
        Degrees 0..K-1 (neighbours kept per target and frame).
    probability : ndarray, shape (K,), float64
        Fraction of (frame, target) rows with each degree.
    occurrences : ndarray, shape (K,), int64
        Number of rows with each degree.
    mean_degree : float
        Mean degree (dimensionless).
    fraction_truncated : float
        Fraction of rows with more than ``max_neighbors`` neighbours within
        ``r_max`` (cut to the nearest ``max_neighbors``).
    n_frames, n_targets : int
        Frames analysed and target atoms per frame.
    r_max : float
        Neighbour cut-off in Å.
    max_neighbors : int or None
        The cap per row.
    species_names : tuple of str
        Species labels of the codes in :class:`GraphChunk`.
    """

    _TABLE: ClassVar[tuple[str, ...]] = ("degree", "probability", "occurrences")
    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {"degree": ("degree",), "probability": ("degree",),
                                                   "occurrences": ("degree",)}

    degree: np.ndarray
    probability: np.ndarray
    occurrences: np.ndarray
    mean_degree: float
    fraction_truncated: float
    n_frames: int
    n_targets: int
    r_max: float
    max_neighbors: int | None
    species_names: tuple[str, ...]


UNITS = {"degree": "", "probability": "", "occurrences": "", "mean_degree": "", "fraction_truncated": "",
         "n_frames": "", "n_targets": "", "r_max": "Å", "max_neighbors": ""}


class NeighborGraphs(Featurizer[GraphState]):
    """The nearest neighbours of target atoms among all atoms, per frame, under periodic boundaries.

    Each (frame, target) row lists up to ``max_neighbors`` atoms within ``r_max``,
    nearest first (the atom itself excluded). Use :meth:`iter_graphs` to stream the
    graphs as :class:`GraphChunk` values (memory bounded by ``chunk_size``); as a
    featurizer (:func:`trajml.parallel.run`) it returns degree statistics.

    Parameters
    ----------
    select : str or array_like of int, optional
        Atoms whose neighbourhoods are listed (default: every atom). Formerly ``targets``.
    r_max : float
        Neighbour cut-off in Å (``d < r_max``); at most half the smallest box width. Default 7.
    max_neighbors : int or None
        Keep the nearest M per row (default 12); None keeps all within ``r_max``.
        Rows cut short are counted (``fraction_truncated``), never hidden.
    species_by : {"names", "types"}
        Atom attribute that defines species codes.
    device : {"cpu", "cuda"}
        Where the neighbour-search kernel runs.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> graphs = NeighborGraphs("name Li", r_max=8.0, max_neighbors=12)
    >>> g = next(graphs.iter_graphs(src, chunk_size=5))
    >>> g.offsets.shape == (5 * g.n_targets + 1,)
    True
    """

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {"select": "name Li", "r_max": 6.0, "max_neighbors": 4}
    needs_box = True

    _parameters = {
        "select": Param("selection", help="atoms whose neighbourhoods are listed (MDAnalysis syntax)",
                        nullable=True, none_help="every atom", aliases=("targets", "--targets"), metavar="SEL"),
        "r_max": Param("float", help="neighbour cut-off (d < r_max), at most half the shortest box width",
                       unit="Å", positive=True),
        "max_neighbors": Param("int", help="keep the nearest M per row; rows cut short are counted", minimum=1,
                               nullable=True, none_help="all within r_max"),
        "species_by": Param("str", help="atom attribute that defines species codes", choices=("names", "types")),
        "device": Param("str", help="where the neighbour-search kernel runs", choices=DEVICES),
    }

    def __init__(self, select: Any = None, *, r_max: float = 7.0, max_neighbors: int | None = 12,
                 species_by: str = "names", device: str = "cpu") -> None:
        self._set_params(locals())

    def bind(self, source: Any) -> "NeighborGraphs":
        """Resolve the targets and species codes against ``source``; return a bound copy."""
        b = copy.copy(self)
        b._t = (np.arange(source.n_atoms, dtype=np.int64) if self.select is None
                else resolve_atoms(source, self.select, "select", "NeighborGraphs"))
        b._all = np.arange(source.n_atoms, dtype=np.int64)
        b._all_targets = bool(np.array_equal(b._t, b._all))
        b._species, b._species_names = species_codes(source, self.species_by)
        b.atoms = None  # neighbours come from every atom
        check_source_boxes(source, self.r_max, "r_max", "NeighborGraphs")
        return b

    # -- graphs ----------------------------------------------------------------------------------------
    def _search(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """CSR neighbours of the targets, cut to ``max_neighbors``, and which rows were cut."""
        from trajml.kernels.counts import radius_neighbors
        from trajml.kernels.knn import knn_neighbors_csr

        check_chunk("NeighborGraphs", chunk, hasattr(self, "_t"), r_max=self.r_max)
        # All atoms as targets (the GDyNet default) needs no gathered copy.
        pos_t = chunk.positions if self._all_targets else np.ascontiguousarray(chunk.positions[:, self._t])
        m = self.max_neighbors
        if m is None:
            off, nb, dist = radius_neighbors(pos_t, chunk.positions, chunk.boxes, self.r_max, self._t, self._all,
                                             device=self.device)
            return off, nb, dist, np.zeros(len(off) - 1, dtype=bool)
        # One top-M pass straight into CSR rows; its counts stop at M + 1, enough to tell the rows that were cut.
        off, nb, d, counts = knn_neighbors_csr(pos_t, chunk.positions, chunk.boxes, self.r_max, self._t, self._all, m,
                                               device=self.device)
        return off, nb, d, counts.ravel() > m

    def graphs(self, chunk: Chunk) -> GraphChunk:
        """The neighbour graphs of one chunk read with ``atoms=None`` (bound featurizer)."""
        off, nb, dist, _ = self._search(chunk)
        return GraphChunk(traj_id=chunk.traj_id, frames=chunk.frames.copy(), times=chunk.times.copy(),
                          boxes=chunk.boxes.copy(), species=self._species, species_names=self._species_names,
                          targets=self._t, offsets=off, neighbors=nb.astype(np.int64, copy=False),
                          distances=dist)

    def iter_graphs(self, source: Any, chunk_size: int = 100, start: int = 0, stop: int | None = None,
                    step: int = 1, traj_ids: list[int] | None = None, *, scheduler: Any = "serial",
                    n_workers: int | None = None, progress: bool | None = False) -> Iterator[GraphChunk]:
        """Stream the graphs of ``source`` chunk by chunk, in trajectory then time order.

        Parameters
        ----------
        source : trajml.io.Source
            Trajectories to read.
        chunk_size : int
            Frames per yielded chunk; memory is bounded by it.
        start, stop, step : int
            Frame slice of every trajectory.
        traj_ids : list of int, optional
            Trajectories to include (default: all).
        scheduler, n_workers, progress
            As :func:`trajml.parallel.stream`, which computes the chunks (a few windows ahead on a
            parallel scheduler) and yields them in order.

        Yields
        ------
        GraphChunk
        """
        from trajml.parallel import stream

        yield from stream(self, source, "graphs", chunk_size=chunk_size, start=start, stop=stop, step=step,
                          traj_ids=traj_ids, scheduler=scheduler, n_workers=n_workers, progress=progress)

    # -- featurizer: degree statistics -----------------------------------------------------------------
    def init_state(self) -> GraphState:
        return GraphState()

    def update(self, state: GraphState, chunk: Chunk) -> GraphState:
        if chunk.n_frames == 0:
            return state
        off, _, _, truncated = self._search(chunk)
        state.degree = add_padded(state.degree, np.bincount(np.diff(off)).astype(np.int64))
        state.n_truncated += int(truncated.sum())
        state.n_frames += chunk.n_frames
        return state

    def merge(self, a: GraphState, b: GraphState) -> GraphState:
        return GraphState(degree=add_padded(a.degree, b.degree), n_truncated=a.n_truncated + b.n_truncated,
                          n_frames=a.n_frames + b.n_frames)

    def finalize(self, state: GraphState, provenance: dict[str, Any]) -> GraphResults:
        p, mean, _ = distribution(state.degree)
        rows = int(state.degree.sum())
        return GraphResults(
            degree=np.arange(len(state.degree), dtype=np.int64), probability=p, occurrences=state.degree.copy(),
            mean_degree=mean, fraction_truncated=state.n_truncated / rows if rows else float("nan"),
            n_frames=state.n_frames, n_targets=len(self._t), r_max=self.r_max, max_neighbors=self.max_neighbors,
            species_names=self._species_names, units=dict(UNITS), provenance=provenance,
        )
