"""TrajectorySummary: frame counts, times and box statistics, streamed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from trajml.accumulators import ExactSum
from trajml.chunk import Chunk
from trajml.features.base import Featurizer
from trajml.results import Results

__all__ = ["TrajectorySummary", "SummaryState", "SummaryResults"]


@dataclass
class SummaryState:
    """Additive statistics of one or more chunks (per trajectory id)."""

    n_frames: dict[int, int] = field(default_factory=dict)
    t_min: dict[int, float] = field(default_factory=dict)
    t_max: dict[int, float] = field(default_factory=dict)
    n_box: int = 0
    # Exact sums: the mean and spread of the volume do not depend on how the frames were chunked.
    sum_volume: ExactSum = field(default_factory=ExactSum)
    sum_volume_sq: ExactSum = field(default_factory=ExactSum)
    min_volume: float = np.inf
    max_volume: float = -np.inf
    sum_box: list[ExactSum] = field(default_factory=lambda: [ExactSum() for _ in range(9)])


@dataclass(frozen=True, eq=False)
class SummaryResults(Results):
    """What :class:`TrajectorySummary` computes.

    Attributes
    ----------
    n_frames : int
        Frames analysed over all trajectories.
    frames_per_trajectory : dict of int to int
        Frames analysed per trajectory id.
    time_range : dict of int to tuple of float
        First and last time (ps) per trajectory id.
    mean_volume, std_volume, min_volume, max_volume : float
        Box volume statistics in Å³ (NaN without boxes).
    mean_box : ndarray, shape (3, 3), float64
        Mean box matrix in Å (NaN without boxes).
    """

    n_frames: int = 0
    frames_per_trajectory: dict[int, int] = field(default_factory=dict)
    time_range: dict[int, tuple[float, float]] = field(default_factory=dict)
    mean_volume: float = float("nan")
    std_volume: float = float("nan")
    min_volume: float = float("nan")
    max_volume: float = float("nan")
    mean_box: np.ndarray = field(default_factory=lambda: np.full((3, 3), np.nan))


class TrajectorySummary(Featurizer[SummaryState]):
    """Count frames and accumulate time ranges and box-volume statistics.

    The cheapest complete pass over a trajectory: it reads every frame (so it
    also validates the files) and reports what ``trajml info`` prints.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> from trajml.parallel import run
    >>> res = run(TrajectorySummary(), open_source(sample_topology(), sample_trajectory()), progress=False)
    >>> res.n_frames > 0
    True
    """

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {}
    needs_box = False
    _parameters: dict = {}

    def __init__(self) -> None:
        # Only the first atom is needed to count frames and read boxes.
        self.atoms = np.zeros(1, dtype=np.int64)

    def init_state(self) -> SummaryState:
        return SummaryState()

    def update(self, state: SummaryState, chunk: Chunk) -> SummaryState:
        t = chunk.traj_id
        state.n_frames[t] = state.n_frames.get(t, 0) + chunk.n_frames
        if chunk.n_frames:
            state.t_min[t] = min(state.t_min.get(t, np.inf), float(chunk.times.min()))
            state.t_max[t] = max(state.t_max.get(t, -np.inf), float(chunk.times.max()))
        if chunk.boxes is not None and chunk.n_frames:
            vol = chunk.volumes
            state.n_box += chunk.n_frames
            state.sum_volume.add_many(vol)
            state.sum_volume_sq.add_many(vol.astype(np.float64) ** 2)
            state.min_volume = min(state.min_volume, float(vol.min()))
            state.max_volume = max(state.max_volume, float(vol.max()))
            for k, column in enumerate(chunk.boxes.astype(np.float64).reshape(-1, 9).T):
                state.sum_box[k].add_many(column)
        return state

    def merge(self, a: SummaryState, b: SummaryState) -> SummaryState:
        out = SummaryState()
        for t in sorted(set(a.n_frames) | set(b.n_frames)):
            out.n_frames[t] = a.n_frames.get(t, 0) + b.n_frames.get(t, 0)
            mins = [s.t_min[t] for s in (a, b) if t in s.t_min]
            maxs = [s.t_max[t] for s in (a, b) if t in s.t_max]
            if mins:
                out.t_min[t], out.t_max[t] = min(mins), max(maxs)
        out.n_box = a.n_box + b.n_box
        out.sum_volume = a.sum_volume.merge(b.sum_volume)
        out.sum_volume_sq = a.sum_volume_sq.merge(b.sum_volume_sq)
        out.min_volume = min(a.min_volume, b.min_volume)
        out.max_volume = max(a.max_volume, b.max_volume)
        out.sum_box = [x.merge(y) for x, y in zip(a.sum_box, b.sum_box)]
        return out

    def finalize(self, state: SummaryState, provenance: dict[str, Any]) -> SummaryResults:
        n = state.n_box
        total = state.sum_volume.value
        mean = total / n if n else float("nan")
        # n·var = Σv² − (Σv)²/n from exact sums: one rounding, the same for every chunking.
        var = max(state.sum_volume_sq.merge(ExactSum().add(-total * total / n)).value / n, 0.0) if n else float("nan")
        sum_box = np.array([x.value for x in state.sum_box]).reshape(3, 3)
        return SummaryResults(
            n_frames=int(sum(state.n_frames.values())),
            frames_per_trajectory=dict(state.n_frames),
            time_range={t: (state.t_min[t], state.t_max[t]) for t in state.t_min},
            mean_volume=mean,
            std_volume=float(np.sqrt(var)) if n else float("nan"),
            min_volume=state.min_volume if n else float("nan"),
            max_volume=state.max_volume if n else float("nan"),
            mean_box=sum_box / n if n else np.full((3, 3), np.nan),
            units={"n_frames": "", "time_range": "ps", "mean_volume": "Å^3", "std_volume": "Å^3",
                   "min_volume": "Å^3", "max_volume": "Å^3", "mean_box": "Å"},
            provenance=provenance,
        )
