"""Li⁺ solvation: first-shell composition, ion-pair speciation and chains per shell.

Definitions
-----------
For each Li⁺ and frame, the first shell holds the polymer O atoms at
``d < cutoff_o`` and the anions at ``d < cutoff_anion`` (minimum image). Each
Li⁺ is classified as

free
    No anion in the shell: a free or solvent-separated ion (SSIP).
cip
    A contact ion pair: exactly one anion in the shell, and that anion is in
    no other Li⁺'s shell (no other Li⁺ within ``cutoff_anion`` of it).
agg
    An aggregate: everything else (two or more anions in the shell, or one
    anion that is shared with another Li⁺).

The chains of a shell are the distinct molecules (bonded fragments, or
residues without bonds) owning at least one of its polymer O atoms.
"""

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
from trajml.selection import describe_selection, molecule_ids, union_positions
from trajml.species import ResolvedSpecies, Species, first_pass_selection, shell_pairs

__all__ = ["Solvation", "SolvationState", "SolvationResults", "SPECIATION_LABELS", "classify_speciation"]

#: Speciation classes, in the order of every speciation array.
SPECIATION_LABELS = ("free", "cip", "agg")


@dataclass
class SolvationState:
    """Additive statistics of Li⁺ first shells.

    Attributes
    ----------
    composition : ndarray, shape (K_o, K_a), int64
        (frame, Li⁺) samples with i polymer O and j anions in the shell.
    chains : ndarray, shape (K_c,), int64
        (frame, Li⁺) samples with k distinct chains in the shell.
    anion_li : ndarray, shape (K_l,), int64
        (frame, anion) samples with k Li⁺ within ``cutoff_anion``.
    speciation : ndarray, shape (3,), int64
        (frame, Li⁺) samples per class, in :data:`SPECIATION_LABELS` order.
    n_frames : int
        Frames accumulated.
    blocks : list of tuple
        With ``keep_per_frame``: per chunk (traj_id (F,) int64, frames (F,) int64,
        times (F,) float64 ps, class counts (F, 3) int64).
    """

    composition: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    chains: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    anion_li: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    speciation: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int64))
    n_frames: int = 0
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)


@dataclass(frozen=True, eq=False, kw_only=True)
class SolvationResults(Results):
    """What :class:`Solvation` computes (definitions in :mod:`trajml.features.solvation`).

    Attributes
    ----------
    cutoff_o, cutoff_anion : float
        Shell cut-offs in Å for polymer O and anions.
    cutoff_sources : dict of str to str
        For each cut-off, "given" or "first minimum of g(r)".
    composition : ndarray, shape (K_o, K_a), float64
        Probability that a Li⁺ shell holds i polymer O and j anions.
    composition_occurrences : ndarray, shape (K_o, K_a), int64
        The (frame, Li⁺) sample counts behind ``composition``.
    n_o_probability : ndarray, shape (K_o,), float64
        Probability of i polymer O in a shell, i = 0..K_o-1.
    n_anion_probability : ndarray, shape (K_a,), float64
        Probability of j anions in a shell.
    n_chains_probability : ndarray, shape (K_c,), float64
        Probability of k distinct chains in a shell.
    anion_li_probability : ndarray, shape (K_l,), float64
        Probability that an anion has k Li⁺ within ``cutoff_anion``.
    mean_n_o, mean_n_anion, mean_n_chains, mean_anion_li : float
        Means of those distributions (dimensionless).
    fraction_free, fraction_cip, fraction_agg : float
        Fractions of (frame, Li⁺) samples per speciation class; they sum to 1.
    n_frames : int
        Frames analysed.
    n_li, n_polymer_o, n_anions : int
        Counted things in each selection: atoms, or molecules under a species rule.
    per_frame_speciation : ndarray, shape (F, 3), float64, or None
        Class fractions per frame (``keep_per_frame=True`` only), columns as :data:`SPECIATION_LABELS`.
    frames, traj_ids : ndarray, shape (F,), int64, or None
        Frame number and trajectory of each row of ``per_frame_speciation``.
    times : ndarray, shape (F,), float64, or None
        Time of each row in ps.
    """

    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "composition": ("n_o", "n_anion"), "composition_occurrences": ("n_o", "n_anion"),
        "n_o_probability": ("n_o",), "n_anion_probability": ("n_anion",),
        "n_chains_probability": ("n_chains",), "anion_li_probability": ("li_per_anion",),
        "per_frame_speciation": ("frames", "speciation"), "frames": ("frames",), "traj_ids": ("frames",),
        "times": ("frames",),
    }

    cutoff_o: float
    cutoff_anion: float
    cutoff_sources: dict[str, str]
    composition: np.ndarray
    composition_occurrences: np.ndarray
    n_o_probability: np.ndarray
    n_anion_probability: np.ndarray
    n_chains_probability: np.ndarray
    anion_li_probability: np.ndarray
    mean_n_o: float
    mean_n_anion: float
    mean_n_chains: float
    mean_anion_li: float
    fraction_free: float
    fraction_cip: float
    fraction_agg: float
    n_frames: int
    n_li: int
    n_polymer_o: int
    n_anions: int
    per_frame_speciation: np.ndarray | None = None
    frames: np.ndarray | None = None
    traj_ids: np.ndarray | None = None
    times: np.ndarray | None = None

    def _table(self) -> dict[str, np.ndarray]:
        """One row per count k: probability of k O, k anions and k chains in a Li⁺ shell."""
        dists = {"n_o": self.n_o_probability, "n_anion": self.n_anion_probability,
                 "n_chains": self.n_chains_probability}
        k = max(len(v) for v in dists.values())
        table = {"count": np.arange(k)}
        for name, p in dists.items():
            table[name] = np.pad(p, (0, k - len(p)))
        return table


UNITS = {"cutoff_o": "Å", "cutoff_anion": "Å", **{k: "" for k in (
    "composition", "composition_occurrences", "n_o_probability", "n_anion_probability", "n_chains_probability",
    "anion_li_probability", "mean_n_o", "mean_n_anion", "mean_n_chains", "mean_anion_li", "fraction_free",
    "fraction_cip", "fraction_agg", "n_frames", "n_li", "n_polymer_o", "n_anions", "per_frame_speciation",
    "frames", "traj_ids", "count", "n_o", "n_anion", "n_chains")}, "times": "ps"}


def classify_speciation(anion_offsets: np.ndarray, anion_neighbors: np.ndarray, n_frames: int, n_li: int,
                        n_anions: int) -> tuple[np.ndarray, np.ndarray]:
    """Speciation class of every (frame, Li⁺) row from the Li⁺→anion neighbour lists.

    Parameters
    ----------
    anion_offsets : ndarray, shape (n_frames * n_li + 1,), int64
        CSR row offsets over (frame, Li⁺).
    anion_neighbors : ndarray, shape (E,), int64
        Anion positions (0..n_anions-1) within ``cutoff_anion`` of each row's Li⁺.
    n_frames, n_li, n_anions : int
        Sizes.

    Returns
    -------
    classes : ndarray, shape (n_frames * n_li,), int64
        0 free, 1 cip, 2 agg (see :data:`SPECIATION_LABELS`).
    li_per_anion : ndarray, shape (n_frames, n_anions), int64
        Number of Li⁺ within the cut-off of each anion.
    """
    rows = n_frames * n_li
    n_anion = np.diff(anion_offsets)
    frame_of_edge = np.repeat(np.arange(rows, dtype=np.int64) // n_li, n_anion)
    li_per_anion = np.bincount(frame_of_edge * n_anions + anion_neighbors,
                               minlength=n_frames * n_anions).reshape(n_frames, n_anions)
    classes = np.full(rows, 2, dtype=np.int64)
    classes[n_anion == 0] = 0
    single = np.flatnonzero(n_anion == 1)
    partner = anion_neighbors[anion_offsets[single]]
    alone = li_per_anion[single // n_li, partner] == 1
    classes[single[alone]] = 1
    return classes, li_per_anion


def _one_site_per_anion(source: Any, anion: np.ndarray, selection: Any, owner: str) -> None:
    """Refuse an anion selection holding several atoms of one molecule: each would count as an anion.

    Skipped where the topology defines no molecules (one molecule for every atom).
    """
    mol = molecule_ids(source)
    if np.unique(mol).size < 2:
        return
    ids, counts = np.unique(mol[anion], return_counts=True)
    if counts.max() > 1:
        k = int(np.argmax(counts))
        raise ValueError(
            f"The 'anion' selection of {owner} ({describe_selection(selection)!r}) holds {int(counts[k])} atoms of "
            f"molecule {int(ids[k])} ({int((counts > 1).sum())} molecules hold several); {owner} counts each atom as "
            "an anion, which would miscount CIP and AGG. Select one site per anion (e.g. its P or N atom), or "
            "count each molecule once: anion='any:<selection>' (or SolvationShells for more species).")


class Solvation(Featurizer[SolvationState]):
    """Li⁺ first-shell composition, ion-pair speciation and chains per shell, streamed.

    Parameters
    ----------
    cation : str or array_like of int
        Li⁺ atoms (default ``"name Li"``). Formerly ``li``.
    polymer_o : str or array_like of int
        Polymer (ether) oxygen atoms (default ``"name O"``).
    anion : str, array_like of int or Species
        One site per anion (default ``"name TFSI"``; for all-atom TFSI use e.g. its N atom), or a
        :class:`~trajml.species.Species` counting each anion molecule once (``"any:resname TFSI"``);
        ``polymer_o`` takes a species too. Several atoms of one anion molecule under the atom rule
        are refused: each would count as an anion. For more species use
        :class:`~trajml.features.solvation_shells.SolvationShells`.
    cutoff_o, cutoff_anion : float, optional
        Shell cut-offs in Å (``d < cutoff`` is in the shell). Each cut-off not
        given is the first minimum of the corresponding Li⁺ g(r)
        (:func:`~trajml.features.rdf.find_first_shell`), from a first pass in
        :meth:`bind` over at most ``cutoff_frames`` frames spread over the source.
    r_max : float, optional
        Range in Å of the first-pass RDFs (default: 15, or just under half the smallest box width when
        shorter).
    n_bins : int
        Bins of the first-pass RDFs (default 150: 0.1 Å bins, as an :class:`RDF`).
    cutoff_frames : int
        Frame budget of the first pass (default 1000: every frame of shorter runs).
    keep_per_frame : bool
        Also return the speciation fractions of every frame (memory grows with frames).
    smoothing : float
        Moving-average width in Å used to find the first minima (default 0.5 Å).
    device : {"cpu", "cuda"}
        Where the neighbour-search kernel runs.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> from trajml.parallel import run
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> res = run(Solvation(cutoff_o=4.5, cutoff_anion=7.0), src, progress=False)
    >>> round(res.fraction_free + res.fraction_cip + res.fraction_agg, 12)
    1.0
    """

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {}
    needs_box = True

    _parameters = {
        "cation": Param("selection", help="Li⁺ (cation) atoms whose shells are analysed (MDAnalysis syntax)",
                        aliases=("li", "--li"), metavar="SEL"),
        "polymer_o": Param("selection", help="polymer (ether) oxygen atoms; or a species RULE:SEL counting "
                           "molecules (e.g. 'any:resname EC')", metavar="SEL"),
        "anion": Param("selection", help="one site per anion (for all-atom TFSI e.g. its N atom), or each anion "
                       "molecule once: 'any:resname TFSI'", metavar="SEL"),
        "cutoff_o": Param("float", help="Li–O shell cut-off", unit="Å", positive=True, nullable=True,
                          none_help="first minimum of g(r)"),
        "cutoff_anion": Param("float", help="Li–anion shell cut-off", unit="Å", positive=True, nullable=True,
                              none_help="first minimum of g(r)"),
        **FIRST_SHELL_PARAMS,
        "keep_per_frame": Param("bool", help="also keep the speciation fractions of every frame"),
        "device": Param("str", help="where the neighbour-search kernel runs", choices=DEVICES),
    }

    def __init__(self, cation: Any = "name Li", polymer_o: Any = "name O", anion: Any = "name TFSI", *,
                 cutoff_o: float | None = None, cutoff_anion: float | None = None, r_max: float | None = None,
                 n_bins: int = 150, cutoff_frames: int = 1000, keep_per_frame: bool = False, smoothing: float = 0.5,
                 device: str = "cpu") -> None:
        self._set_params(locals())

    def bind(self, source: Any) -> "Solvation":
        """Resolve selections, molecule ids and cut-offs (first pass if needed); return a bound copy."""
        owner = "Solvation"
        b = copy.copy(self)
        sp_o, sp_an = Species.parse(self.polymer_o), Species.parse(self.anion)
        b._sp_li = Species(self.cation).resolve(source, "cation", owner)
        b._sp_o = sp_o.resolve(source, "polymer_o", owner)
        b._sp_an = sp_an.resolve(source, "anion", owner)
        b._li, b._o, b._an = b._sp_li.atoms, b._sp_o.all_atoms, b._sp_an.all_atoms
        # A bead is a cation, a polymer oxygen or an anion, never two of them: shells would double count.
        for (na, a), (nb, bb) in ((("cation", b._li), ("polymer_o", b._o)), (("cation", b._li), ("anion", b._an)),
                                  (("polymer_o", b._o), ("anion", b._an))):
            shared = np.intersect1d(a, bb)
            if shared.size:
                raise ValueError(
                    f"The '{na}' ({getattr(self, na)!r}) and '{nb}' ({getattr(self, nb)!r}) selections of {owner} "
                    f"must not overlap; they share {shared.size} atoms (first index {int(shared[0])})."
                )
        if sp_an.rule == "atom":
            _one_site_per_anion(source, b._an, self.anion, owner)
        b.atoms, (b._pos_li, b._pos_o, b._pos_an) = union_positions(b._li, b._sp_o.atoms, b._sp_an.atoms)
        _, b._chain_o = np.unique(b._sp_o.group_molecule, return_inverse=True)  # compact 0..n_chains-1
        b._n_chains = int(b._chain_o.max()) + 1
        b._shells = {}
        for name, sp, res, given in (("cutoff_o", sp_o, b._sp_o, self.cutoff_o),
                                     ("cutoff_anion", sp_an, b._sp_an, self.cutoff_anion)):
            if given is None and sp.rule == "com":
                raise ValueError(f"{owner} finds '{name}' from an atom–atom g(r), which does not locate the shell of "
                                 f"centres of mass ({sp.text()!r}); give the '{name}' parameter (Å).")
            shell = first_shell(source, self.cation, first_pass_selection(sp, res), cutoff=given, owner=owner,
                                name=name, r_max=self.r_max, n_bins=self.n_bins, cutoff_frames=self.cutoff_frames,
                                smoothing=self.smoothing, device=self.device)
            b._shells[name] = shell
            setattr(b, "_" + name, shell.cutoff)
        b._sources = {name: shell.origin for name, shell in b._shells.items()}
        return b

    def init_state(self) -> SolvationState:
        return SolvationState()

    def update(self, state: SolvationState, chunk: Chunk) -> SolvationState:
        if chunk.n_frames == 0 and hasattr(self, "_cutoff_o"):
            return state
        bound = hasattr(self, "_cutoff_o")
        check_chunk("Solvation", chunk, bound, **({"cutoff_o": self._cutoff_o, "cutoff_anion": self._cutoff_anion}
                                                  if bound else {}))
        f, n_li, n_an = chunk.n_frames, len(self._li), self._sp_an.n_groups
        off_o, nb_o = self._shell_rows(chunk, self._sp_o, self._pos_o, self._cutoff_o)
        off_a, nb_a = self._shell_rows(chunk, self._sp_an, self._pos_an, self._cutoff_anion)
        n_o, n_a = np.diff(off_o), np.diff(off_a)
        classes, li_per_anion = classify_speciation(off_a, nb_a, f, n_li, n_an)

        width = int(n_a.max()) + 1
        comp = np.bincount(n_o * width + n_a, minlength=(int(n_o.max()) + 1) * width)
        state.composition = add_padded(state.composition, comp.reshape(-1, width).astype(np.int64))
        # Distinct chains per shell: unique (row, chain) pairs, counted per row.
        rows = np.repeat(np.arange(f * n_li, dtype=np.int64), n_o)
        keys = np.unique(rows * self._n_chains + self._chain_o[nb_o])
        n_chains = np.bincount(keys // self._n_chains, minlength=f * n_li)
        state.chains = add_padded(state.chains, np.bincount(n_chains).astype(np.int64))
        state.anion_li = add_padded(state.anion_li, np.bincount(li_per_anion.ravel()).astype(np.int64))
        state.speciation = state.speciation + np.bincount(classes, minlength=3).astype(np.int64)
        state.n_frames += f
        if self.keep_per_frame:
            per_frame = np.zeros((f, 3), dtype=np.int64)
            np.add.at(per_frame, (np.arange(f * n_li) // n_li, classes), 1)
            state.blocks.append((np.full(f, chunk.traj_id, dtype=np.int64), chunk.frames.copy(),
                                 chunk.times.copy(), per_frame))
        return state

    def _shell_rows(self, chunk: Chunk, species: ResolvedSpecies, pos: np.ndarray,
                    cutoff: float) -> tuple[np.ndarray, np.ndarray]:
        """CSR rows over (frame, Li⁺) of the atoms (or molecules, each once) of one species in the shell."""
        from trajml.kernels.counts import radius_neighbors

        if species.rule == "atom":
            off, nb, _ = radius_neighbors(np.ascontiguousarray(chunk.positions[:, self._pos_li]),
                                          np.ascontiguousarray(chunk.positions[:, pos]), chunk.boxes, cutoff,
                                          self._li, species.atoms, device=self.device)
            return off, nb
        keys = shell_pairs(self._sp_li, species, chunk.positions, chunk.boxes, cutoff, self._pos_li, pos,
                           device=self.device)
        rows = chunk.n_frames * len(self._li)
        off = np.zeros(rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys // species.n_groups, minlength=rows), out=off[1:])
        return off, keys % species.n_groups

    def merge(self, a: SolvationState, b: SolvationState) -> SolvationState:
        return SolvationState(
            composition=add_padded(a.composition, b.composition), chains=add_padded(a.chains, b.chains),
            anion_li=add_padded(a.anion_li, b.anion_li), speciation=a.speciation + b.speciation,
            n_frames=a.n_frames + b.n_frames, blocks=a.blocks + b.blocks,
        )

    def finalize(self, state: SolvationState, provenance: dict[str, Any]) -> SolvationResults:
        comp = state.composition
        total = int(comp.sum())
        p_comp = comp / total if total else np.full(comp.shape, np.nan)
        p_o, mean_o, _ = distribution(comp.sum(axis=1))
        p_a, mean_a, _ = distribution(comp.sum(axis=0))
        p_c, mean_c, _ = distribution(state.chains)
        p_l, mean_l, _ = distribution(state.anion_li)
        n_spec = int(state.speciation.sum())
        frac = state.speciation / n_spec if n_spec else np.full(3, np.nan)
        per_frame = frames = traj_ids = times = None
        if self.keep_per_frame:
            blocks = state.blocks
            traj_ids = np.concatenate([x[0] for x in blocks]) if blocks else np.zeros(0, np.int64)
            frames = np.concatenate([x[1] for x in blocks]) if blocks else np.zeros(0, np.int64)
            times = np.concatenate([x[2] for x in blocks]) if blocks else np.zeros(0)
            per_frame = (np.concatenate([x[3] for x in blocks]) / len(self._li) if blocks
                         else np.zeros((0, 3)))
        return SolvationResults(
            cutoff_o=self._cutoff_o, cutoff_anion=self._cutoff_anion, cutoff_sources=dict(self._sources),
            composition=p_comp, composition_occurrences=comp.copy(),
            n_o_probability=p_o, n_anion_probability=p_a, n_chains_probability=p_c, anion_li_probability=p_l,
            mean_n_o=mean_o, mean_n_anion=mean_a, mean_n_chains=mean_c, mean_anion_li=mean_l,
            fraction_free=float(frac[0]), fraction_cip=float(frac[1]), fraction_agg=float(frac[2]),
            n_frames=state.n_frames, n_li=len(self._li), n_polymer_o=self._sp_o.n_groups, n_anions=self._sp_an.n_groups,
            per_frame_speciation=per_frame, frames=frames, traj_ids=traj_ids, times=times,
            units=dict(UNITS),
            provenance={**provenance, "first_shell": {k: v.describe() for k, v in self._shells.items()}},
        )
