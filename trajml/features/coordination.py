"""Coordination numbers: how many ligand atoms (or molecules, by a species rule) lie within a cut-off of each centre."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from trajml._validation import DEVICES, Param
from trajml.accumulators import add_padded, distribution
from trajml.chunk import Chunk
from trajml.features.base import Featurizer
from trajml.features.first_shell import FIRST_SHELL_PARAMS, first_shell
from trajml.periodic import check_chunk
from trajml.results import Results
from trajml.selection import resolve_atoms, union_positions
from trajml.species import Species, counts_per_center, first_pass_selection, shell_pairs

__all__ = ["Coordination", "CoordinationState", "CoordinationResults", "cutoff_from_rdf"]


@dataclass
class CoordinationState:
    """Additive statistics of coordination numbers.

    Attributes
    ----------
    histogram : ndarray, shape (K,), int64
        Number of (frame, centre) samples with k ligands within the cut-off, k = 0..K-1.
    n_frames : int
        Frames accumulated.
    blocks : list of tuple
        With ``keep_per_frame``: per chunk (traj_id (F,) int64, frames (F,) int64,
        times (F,) float64 ps, counts (F, n_centers) int32), in merge order.
    """

    histogram: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_frames: int = 0
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)


@dataclass(frozen=True, eq=False, kw_only=True)
class CoordinationResults(Results):
    """What :class:`Coordination` computes.

    Attributes
    ----------
    cutoff : float
        Cut-off distance in Å (ligands at d < cutoff count).
    cutoff_source : str
        "given", or "first minimum of g(r)" when chosen by a first pass.
    count : ndarray, shape (K,), int64
        Coordination numbers 0, 1, ..., K-1 (dimensionless).
    probability : ndarray, shape (K,), float64
        Fraction of (frame, centre) samples with each coordination number.
    occurrences : ndarray, shape (K,), int64
        Number of (frame, centre) samples with each coordination number.
    mean, std : float
        Mean and standard deviation of the coordination number (dimensionless).
    n_frames : int
        Frames analysed.
    n_centers, n_ligands : int
        Counted centres and ligands: atoms, or molecules/residues under a species rule.
    centers : ndarray, shape (n_centers,), int64
        Topology indices of the centre atoms (columns of ``per_frame``); under a species rule the
        first atom of each centre molecule.
    rdf_r, rdf_g : ndarray, shape (n_bins,), float64, or None
        Bin centres (Å) and g(r) of the first-pass RDF that chose the cut-off; None when given.
    per_frame : ndarray, shape (F, n_centers), int32, or None
        Coordination number of every centre in every frame (``keep_per_frame=True`` only).
    frames : ndarray, shape (F,), int64, or None
        Frame number of each row of ``per_frame`` within its trajectory.
    traj_ids : ndarray, shape (F,), int64, or None
        Trajectory of each row of ``per_frame``.
    times : ndarray, shape (F,), float64, or None
        Time of each row of ``per_frame`` in ps.
    """

    _TABLE: ClassVar[tuple[str, ...]] = ("count", "probability", "occurrences")
    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "count": ("count",), "probability": ("count",), "occurrences": ("count",),
        "centers": ("centers",), "rdf_r": ("rdf_r",), "rdf_g": ("rdf_r",),
        "per_frame": ("frames", "centers"), "frames": ("frames",), "traj_ids": ("frames",), "times": ("frames",),
    }

    cutoff: float
    cutoff_source: str
    count: np.ndarray
    probability: np.ndarray
    occurrences: np.ndarray
    mean: float
    std: float
    n_frames: int
    n_centers: int
    n_ligands: int
    centers: np.ndarray
    rdf_r: np.ndarray | None = None
    rdf_g: np.ndarray | None = None
    per_frame: np.ndarray | None = None
    frames: np.ndarray | None = None
    traj_ids: np.ndarray | None = None
    times: np.ndarray | None = None


UNITS = {"cutoff": "Å", "count": "", "probability": "", "occurrences": "", "mean": "", "std": "",
         "n_frames": "", "n_centers": "", "n_ligands": "", "rdf_r": "Å", "rdf_g": "", "per_frame": "",
         "frames": "", "traj_ids": "", "times": "ps"}


def cutoff_from_rdf(owner: str, name: str, center: Any, ligand: Any, source: Any, *, r_max: float | None,
                    n_bins: int, smoothing: float, max_frames: int, device: str) -> tuple[float, Any]:
    """The first minimum of the centre–ligand g(r) as a cut-off in Å (see :func:`~trajml.features.first_shell`).

    Returns
    -------
    cutoff : float
        In Å.
    shell : FirstShell
        The cut-off with the first pass behind it.
    """
    shell = first_shell(source, center, ligand, owner=owner, name=name, r_max=r_max, n_bins=n_bins,
                        cutoff_frames=max_frames, smoothing=smoothing, device=device)
    return shell.cutoff, shell


class Coordination(Featurizer[CoordinationState]):
    """Coordination numbers of centre atoms by ligand atoms within a cut-off, streamed.

    Parameters
    ----------
    select_a : str, array_like of int or Species
        Centre atoms (default ``"name Li"``): selection string or topology indices. Formerly ``center``.
        A :class:`~trajml.species.Species` (or its text form, e.g. ``"com:resname EC"``) makes each
        centre a molecule.
    select_b : str, array_like of int or Species
        Ligand atoms (default ``"name O"``). An atom in both selections is not its own ligand.
        Formerly ``ligand``. A species counts molecules: ``"any:resname PF6"`` counts each PF₆⁻
        once when any of its atoms is within the cut-off (``"any[name P]:resname PF6"``: when its
        P is), ``"com:resname PF6"`` at its centre of mass (needs ``cutoff``). A centre is never
        counted by its own molecule when either side counts molecules. The default, a bare
        selection, counts atoms as before.
    cutoff : float, optional
        Cut-off in Å; ligands at ``d < cutoff`` count. By default it is the first
        minimum of the centre–ligand g(r) (:func:`~trajml.features.first_shell.first_shell`),
        from a first pass in :meth:`bind` over at most ``cutoff_frames`` frames spread
        evenly over the whole source; the same pair and source give the same cut-off to
        every analysis.
    r_max : float, optional
        Range in Å of the first-pass RDF (default: 15, or just under half the smallest box width when
        shorter); unused with ``cutoff``.
    n_bins : int
        Bins of the first-pass RDF (default 150: 0.1 Å bins, as an :class:`RDF`).
    cutoff_frames : int
        Frame budget of the first pass (default 1000: every frame of shorter runs).
    keep_per_frame : bool
        Also return the coordination number of every centre in every frame
        (memory grows with the number of frames). Default False: only the
        mergeable distribution.
    smoothing : float
        Moving-average width in Å used to find the first minimum (default 0.5 Å).
    device : {"cpu", "cuda"}
        Where the neighbour-count kernel runs.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> from trajml.parallel import run
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> res = run(Coordination("name Li", "name O", cutoff=4.0), src, progress=False)
    >>> bool(abs(res.probability.sum() - 1.0) < 1e-12)
    True
    """

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {}
    needs_box = True

    _parameters = {
        "select_a": Param("selection", help="centre atoms (MDAnalysis syntax, e.g. 'name Li'), or a species "
                          "RULE:SEL counting molecules (rules atom, com, any, residue-com, residue-any)",
                          aliases=("center", "--center"), metavar="SEL"),
        "select_b": Param("selection", help="ligand atoms counted around each centre (e.g. 'name O'), or a "
                          "species counting molecules once, e.g. 'any:resname PF6' or 'any[name P]:resname PF6'",
                          aliases=("ligand", "--ligand"), metavar="SEL"),
        "cutoff": Param("float", help="cut-off: ligands at d < cutoff count", unit="Å", positive=True,
                        nullable=True, none_help="first minimum of g(r)"),
        **FIRST_SHELL_PARAMS,
        "keep_per_frame": Param("bool", help="also keep every centre's count in every frame"),
        "device": Param("str", help="where the neighbour-count kernel runs", choices=DEVICES),
    }

    def __init__(self, select_a: Any = "name Li", select_b: Any = "name O", *, cutoff: float | None = None,
                 r_max: float | None = None, n_bins: int = 150, cutoff_frames: int = 1000, keep_per_frame: bool = False,
                 smoothing: float = 0.5, device: str = "cpu") -> None:
        self._set_params(locals())

    def bind(self, source: Any) -> "Coordination":
        """Resolve selections (and the cut-off, by a first pass, when not given); return a bound copy."""
        b = copy.copy(self)
        sp_a, sp_b = Species.parse(self.select_a), Species.parse(self.select_b)
        b._groups = sp_a.counts_groups or sp_b.counts_groups
        if b._groups:
            # Molecules (or residues) are counted: resolve both species into the arrays the pair search takes.
            b._sp_c = sp_a.resolve(source, "select_a", "Coordination")
            b._sp_l = sp_b.resolve(source, "select_b", "Coordination")
            b._c, n_lig = b._sp_c.site_atoms[np.unique(b._sp_c.site_group, return_index=True)[1]], b._sp_l.n_groups
            b.atoms, (b._pos_c, b._pos_l) = union_positions(b._sp_c.atoms, b._sp_l.atoms)
            pass_a, pass_b = first_pass_selection(sp_a, b._sp_c), first_pass_selection(sp_b, b._sp_l)
            if self.cutoff is None and "com" in (sp_a.rule, sp_b.rule):
                raise ValueError(
                    "Coordination finds its cut-off from an atom–atom g(r), which does not locate the shell of "
                    f"centres of mass ({sp_a.text()!r} around {sp_b.text()!r}); give the 'cutoff' parameter (Å).")
        else:
            b._c = resolve_atoms(source, sp_a.select, "select_a", "Coordination")
            b._l = resolve_atoms(source, sp_b.select, "select_b", "Coordination")
            n_lig = len(b._l)
            b.atoms, (b._pos_c, b._pos_l) = union_positions(b._c, b._l)
            pass_a, pass_b = sp_a.select, sp_b.select
        b._n_ligands = n_lig
        b._shell = first_shell(source, pass_a, pass_b, cutoff=self.cutoff, owner="Coordination",
                               name="cutoff", r_max=self.r_max, n_bins=self.n_bins, cutoff_frames=self.cutoff_frames,
                               smoothing=self.smoothing, device=self.device)
        b._cutoff = b._shell.cutoff
        return b

    def init_state(self) -> CoordinationState:
        return CoordinationState()

    def update(self, state: CoordinationState, chunk: Chunk) -> CoordinationState:
        from trajml.kernels.counts import neighbor_counts

        if chunk.n_frames == 0 and hasattr(self, "_cutoff"):
            return state
        check_chunk("Coordination", chunk, hasattr(self, "_cutoff"), cutoff=getattr(self, "_cutoff", 0.0))
        if self._groups:
            keys = shell_pairs(self._sp_c, self._sp_l, chunk.positions, chunk.boxes, self._cutoff, self._pos_c,
                               self._pos_l, device=self.device)
            counts = counts_per_center(keys, chunk.n_frames, self._sp_c.n_groups,
                                       self._sp_l.n_groups).astype(np.int32)
        else:
            pos_c = np.ascontiguousarray(chunk.positions[:, self._pos_c])
            pos_l = np.ascontiguousarray(chunk.positions[:, self._pos_l])
            out = np.zeros((chunk.n_frames, len(self._c), 1), dtype=np.int32)
            neighbor_counts(pos_c, pos_l, chunk.boxes, self._cutoff, self._c, self._l,
                            np.zeros(len(self._l), dtype=np.int32), 1, out, device=self.device)
            counts = out[:, :, 0]
        state.histogram = add_padded(state.histogram, np.bincount(counts.ravel()).astype(np.int64))
        state.n_frames += chunk.n_frames
        if self.keep_per_frame:
            state.blocks.append((np.full(chunk.n_frames, chunk.traj_id, dtype=np.int64),
                                 chunk.frames.copy(), chunk.times.copy(), counts.copy()))
        return state

    def merge(self, a: CoordinationState, b: CoordinationState) -> CoordinationState:
        return CoordinationState(histogram=add_padded(a.histogram, b.histogram), n_frames=a.n_frames + b.n_frames,
                                 blocks=a.blocks + b.blocks)

    def finalize(self, state: CoordinationState, provenance: dict[str, Any]) -> CoordinationResults:
        p, mean, std = distribution(state.histogram)
        per_frame = frames = traj_ids = times = None
        if self.keep_per_frame:
            blocks = state.blocks
            traj_ids = np.concatenate([x[0] for x in blocks]) if blocks else np.zeros(0, np.int64)
            frames = np.concatenate([x[1] for x in blocks]) if blocks else np.zeros(0, np.int64)
            times = np.concatenate([x[2] for x in blocks]) if blocks else np.zeros(0)
            per_frame = (np.concatenate([x[3] for x in blocks]) if blocks
                         else np.zeros((0, len(self._c)), np.int32))
        return CoordinationResults(
            cutoff=float(self._cutoff),
            cutoff_source=self._shell.origin,
            count=np.arange(len(state.histogram), dtype=np.int64), probability=p,
            occurrences=state.histogram.copy(), mean=mean, std=std, n_frames=state.n_frames,
            n_centers=len(self._c), n_ligands=self._n_ligands, centers=self._c.copy(),
            rdf_r=self._shell.rdf_r, rdf_g=self._shell.rdf_g,
            per_frame=per_frame, frames=frames, traj_ids=traj_ids, times=times,
            units=dict(UNITS), provenance={**provenance, "first_shell": {"cutoff": self._shell.describe()}},
        )
