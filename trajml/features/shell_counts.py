"""Per-target shell counts by species at several radii: engineered features for kinetic models.

The classic kinetic route (TICA/VAMP → k-means → MSM) and the MLP VAMPNet need a fixed-length
descriptor of every target atom in every frame. For Li⁺ in a polymer electrolyte the natural one
is how many polymer O and anions sit within a few radii: a coarse, rotation-invariant picture of
the solvation shell. One neighbour search per chunk at the largest radius gives every count.

The per-frame counts are the output (a time series per trajectory), so the state holds them
chunk by chunk; merging concatenates in frame order.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from trajml._validation import DEVICES, Param
from trajml.chunk import Chunk
from trajml.features.base import Featurizer
from trajml.periodic import check_chunk, check_source_boxes
from trajml.results import Results
from trajml.selection import resolve_atoms

__all__ = ["ShellCounts", "ShellCountsResults"]


def _species(value: Any) -> dict[str, Any]:
    if not value:
        raise ValueError("a mapping of at least one label to a neighbour selection, e.g. {'O': 'name O'}")
    return {str(k): v for k, v in value.items()}


@dataclass
class ShellCountsState:
    """Per-frame counts read so far: ``(traj_id, first frame, counts)`` per chunk, in frame order."""

    parts: list[tuple[int, int, np.ndarray]] = field(default_factory=list)


@dataclass(frozen=True, eq=False, kw_only=True)
class ShellCountsResults(Results):
    """What :class:`ShellCounts` computes.

    Attributes
    ----------
    features : list of ndarray, each shape (T_i, n_targets, n_species * n_radii), float32
        One array per trajectory; columns follow ``feature_names`` (counts, dimensionless).
    feature_names : list of str
        ``"<species> < <r> Å"`` per column, species-major.
    radii : ndarray, shape (n_radii,), float64
        Shell radii in Å.
    species : tuple of str
        Species labels.
    targets : ndarray, shape (n_targets,), int64
        Topology indices of the target atoms.
    n_frames : int
        Frames counted over every trajectory.
    """

    features: list[np.ndarray]
    feature_names: list[str]
    radii: np.ndarray
    species: tuple[str, ...]
    targets: np.ndarray
    n_frames: int = 0

    def __repr__(self) -> str:
        shapes = ", ".join(str(f.shape) for f in self.features)
        return (f"ShellCountsResults({len(self.targets)} targets × {len(self.feature_names)} features "
                f"({', '.join(self.species)} within {', '.join(f'{r:g}' for r in self.radii)} Å); "
                f"{self.n_frames} frames: {shapes})")


class ShellCounts(Featurizer[ShellCountsState]):
    """Number of atoms of each species within each radius of every target atom, per frame.

    Parameters
    ----------
    select : str or array_like of int
        Centre (target) atoms (e.g. ``"name Li"``). Formerly ``targets``.
    species : mapping of str to selection
        Labelled neighbour selections, e.g. ``{"O": "name O", "TFSI": "name TFSI"}``; they must
        not overlap. A target never counts itself.
    radii : sequence of float
        Shell radii in Å, increasing (``d < r`` counts); the largest must fit half the box.
    device : {"cpu", "cuda"}
        Where the neighbour search runs.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> res = ShellCounts("name Li", {"O": "name O"}, radii=(6.0, 9.0)).run(src, stop=5)
    >>> res.features[0].shape
    (5, 60, 2)
    """

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {}
    needs_box = True
    _parameters = {
        "select": Param("selection", help="centre atoms whose shells are counted (MDAnalysis syntax)",
                        aliases=("targets", "--targets"), metavar="SEL"),
        "species": Param("mapping", help="labelled neighbour selections, LABEL=SEL", nullable=True,
                         none_help="O=name O TFSI=name TFSI", check=_species,
                         describe="a mapping of labels to neighbour selections, e.g. {'O': 'name O'}"),
        "radii": Param("floats", help="shell radii, increasing; the largest at most half the box", unit="Å",
                       positive=True, increasing=True, describe="increasing positive radii in Å"),
        "device": Param("str", help="where the neighbour search runs", choices=DEVICES),
    }

    def __init__(self, select: Any = "name Li", species: Mapping[str, Any] | None = None,
                 radii: Sequence[float] = (6.0, 8.0, 10.0), device: str = "cpu") -> None:
        self._set_params(locals())
        if self.species is None:
            self.species = {"O": "name O", "TFSI": "name TFSI"}

    @property
    def feature_names(self) -> list[str]:
        """list of str: ``"<species> < <r> Å"`` for each feature column, species-major."""
        return [f"{s} < {r:g} Å" for s in self.species for r in self.radii]

    def bind(self, source: Any) -> "ShellCounts":
        """Resolve the targets and species against ``source``; return a bound copy."""
        owner = "ShellCounts"
        b = copy.copy(self)
        b._t = resolve_atoms(source, self.select, "select", owner)
        code = np.full(source.n_atoms, -1, dtype=np.int64)
        for s, (label, sel) in enumerate(self.species.items()):
            ids = resolve_atoms(source, sel, f"species['{label}']", owner)
            if np.any(code[ids] >= 0):
                raise ValueError(f"The 'species' selections of {owner} overlap: '{label}' shares atoms with an "
                                 f"earlier label.")
            code[ids] = s
        b._nbr = np.flatnonzero(code >= 0).astype(np.int64)
        b._code = code[b._nbr]
        b.atoms = None  # targets and neighbours are gathered from the whole frame
        check_source_boxes(source, float(self.radii[-1]), "radii", owner)
        return b

    def init_state(self) -> ShellCountsState:
        return ShellCountsState()

    def update(self, state: ShellCountsState, chunk: Chunk) -> ShellCountsState:
        from trajml.kernels.counts import radius_neighbors

        if chunk.n_frames == 0:
            return state
        r_max = float(self.radii[-1])
        check_chunk("ShellCounts", chunk, hasattr(self, "_t"), radii=r_max)
        n_s, n_r, n_t = len(self.species), len(self.radii), len(self._t)
        off, nb, dist = radius_neighbors(np.ascontiguousarray(chunk.positions[:, self._t]),
                                         np.ascontiguousarray(chunk.positions[:, self._nbr]), chunk.boxes, r_max,
                                         self._t, self._nbr, device=self.device)
        rows = np.repeat(np.arange(len(off) - 1), np.diff(off))
        shell = np.searchsorted(self.radii, dist, side="right")  # first radius that counts this pair
        cell = (rows * n_s + self._code[nb]) * (n_r + 1) + shell  # nb indexes the neighbour selection
        hist = np.bincount(cell, minlength=(len(off) - 1) * n_s * (n_r + 1)).reshape(-1, n_s, n_r + 1)
        counts = np.cumsum(hist[..., :n_r], axis=-1).reshape(chunk.n_frames, n_t, n_s * n_r).astype(np.float32)
        state.parts.append((chunk.traj_id, int(chunk.frames[0]), counts))
        return state

    def merge(self, a: ShellCountsState, b: ShellCountsState) -> ShellCountsState:
        return ShellCountsState(parts=a.parts + b.parts)

    def finalize(self, state: ShellCountsState, provenance: dict[str, Any]) -> ShellCountsResults:
        n_traj = max((len(provenance.get("files", [])), 1 + max((p[0] for p in state.parts), default=-1)))
        width = len(self.species) * len(self.radii)
        per: list[list[np.ndarray]] = [[] for _ in range(n_traj)]
        for traj, _, counts in sorted(state.parts, key=lambda p: (p[0], p[1])):
            per[traj].append(counts)
        features = [np.concatenate(p) if p else np.zeros((0, len(self._t), width), np.float32) for p in per]
        return ShellCountsResults(features=features, feature_names=self.feature_names, radii=self.radii.copy(),
                                  species=tuple(self.species), targets=self._t.copy(),
                                  n_frames=int(sum(len(f) for f in features)),
                                  units={"features": "", "radii": "Å"}, provenance=provenance)

    def compute(self, source: Any, *, start: int = 0, stop: int | None = None, step: int = 1,
                chunk_size: int = 100) -> list[np.ndarray]:
        """The per-trajectory count arrays (``run(source, ...).features``), streamed chunk by chunk.

        Returns
        -------
        list of ndarray, each shape (T_i, n_targets, n_species * n_radii), float32
            One array per trajectory; columns follow :attr:`feature_names` (counts, dimensionless).
        """
        from trajml.parallel import run

        return run(self, source, start=start, stop=stop, step=step, chunk_size=chunk_size, progress=False).features
