"""What :class:`~trajml.features.solvation_shells.SolvationShells` returns, and its composition table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trajml.accumulators import distribution
from trajml.results import Results

__all__ = ["ShellsResults", "shells_results"]


@dataclass(frozen=True, eq=False, kw_only=True)
class ShellsResults(Results):
    """Cation shells with any number of species (definitions in :mod:`trajml.features.solvation_shells`).

    Attributes
    ----------
    species : tuple of str
        Species names, the order of every per-species axis.
    cutoffs : dict of str to float
        Shell cut-off per species in Å.
    cutoff_sources : dict of str to str
        Per species, "given" or "first minimum of g(r)".
    compositions : ndarray, shape (C, S), int64
        Each distinct shell composition (count of each species), most frequent first.
    composition_occurrences : ndarray, shape (C,), int64
        (frame, cation) samples with each composition.
    composition_fraction : ndarray, shape (C,), float64
        Fraction of samples with each composition (its population; sums to 1).
    mean_coordination : ndarray, shape (S,), float64
        Mean number of each species in a shell (dimensionless).
    coordination_probability : ndarray, shape (S, K), float64
        Probability of k of each species in a shell, k = 0..K-1.
    fraction_paired : ndarray, shape (S,), float64
        Fraction of samples with at least one of each species in the shell.
    anions : tuple of str
        The species speciation considers.
    fraction_free, fraction_cip, fraction_agg : float
        Fractions of (frame, cation) samples per speciation class; they sum to 1.
    anion_cation_probability : ndarray, shape (K,), float64
        Probability that an anion (molecule) has k cations within its species' cut-off.
    chains : str or None
        The species whose molecules are counted as chains.
    n_chains_probability : ndarray, shape (K_c,), float64
        Probability of k distinct chains in a shell (empty without ``chains``).
    mean_n_chains : float
        Its mean (NaN without ``chains``).
    n_frames, n_cations : int
        Frames analysed; cations per frame.
    n_molecules : ndarray, shape (S,), int64
        Counted things (atoms or molecules) per species.
    per_frame_counts : ndarray, shape (F, n_cations, S), int32, or None
        Each cation's count of each species per frame (``keep_per_frame=True`` only).
    per_frame_class : ndarray, shape (F, n_cations), int8, or None
        Each cation's speciation class (0 free, 1 cip, 2 agg) per frame.
    chain_offsets : ndarray, shape (F * n_cations + 1,), int64, or None
        CSR rows over (frame, cation) into ``chain_ids``.
    chain_ids : ndarray, int64, or None
        Molecule ids (the source's molecule numbering) of the chains in each shell.
    frames, traj_ids : ndarray, shape (F,), int64, or None
        Frame number and trajectory of each per-frame row.
    times : ndarray, shape (F,), float64, or None
        Time of each row in ps.
    """

    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "compositions": ("composition", "species"), "composition_occurrences": ("composition",),
        "composition_fraction": ("composition",), "mean_coordination": ("species",),
        "coordination_probability": ("species", "count"), "fraction_paired": ("species",),
        "anion_cation_probability": ("cations_per_anion",), "n_chains_probability": ("n_chains",),
        "n_molecules": ("species",), "per_frame_counts": ("frames", "cations", "species"),
        "per_frame_class": ("frames", "cations"), "chain_offsets": ("rows",), "chain_ids": ("chain_entries",),
        "frames": ("frames",), "traj_ids": ("frames",), "times": ("frames",),
    }

    species: tuple[str, ...]
    cutoffs: dict[str, float]
    cutoff_sources: dict[str, str]
    compositions: np.ndarray
    composition_occurrences: np.ndarray
    composition_fraction: np.ndarray
    mean_coordination: np.ndarray
    coordination_probability: np.ndarray
    fraction_paired: np.ndarray
    anions: tuple[str, ...]
    fraction_free: float
    fraction_cip: float
    fraction_agg: float
    anion_cation_probability: np.ndarray
    chains: str | None
    n_chains_probability: np.ndarray
    mean_n_chains: float
    n_frames: int
    n_cations: int
    n_molecules: np.ndarray
    per_frame_counts: np.ndarray | None = None
    per_frame_class: np.ndarray | None = None
    chain_offsets: np.ndarray | None = None
    chain_ids: np.ndarray | None = None
    frames: np.ndarray | None = None
    traj_ids: np.ndarray | None = None
    times: np.ndarray | None = None

    def _table(self) -> dict[str, np.ndarray]:
        """One row per shell composition: the count of each species, its occurrences and fraction."""
        table = {name: self.compositions[:, s] for s, name in enumerate(self.species)}
        table["occurrences"] = self.composition_occurrences
        table["fraction"] = self.composition_fraction
        return table

    def speciation(self) -> dict[str, float]:
        """The speciation fractions by class name (free/SSIP, cip, agg)."""
        return {"free": self.fraction_free, "cip": self.fraction_cip, "agg": self.fraction_agg}

    def coordination(self) -> dict[str, float]:
        """Mean number of each species in a shell, by species name."""
        return dict(zip(self.species, self.mean_coordination.tolist()))


UNITS = {"cutoffs": "Å", "times": "ps", **{k: "" for k in (
    "compositions", "composition_occurrences", "composition_fraction", "mean_coordination", "coordination_probability",
    "fraction_paired", "fraction_free", "fraction_cip", "fraction_agg", "anion_cation_probability",
    "n_chains_probability", "mean_n_chains", "n_frames", "n_cations", "n_molecules", "per_frame_counts",
    "per_frame_class", "chain_offsets", "chain_ids", "frames", "traj_ids", "occurrences", "fraction")}}


def _per_frame(blocks: list[tuple[np.ndarray, ...]], n_cations: int, n_species: int) -> dict[str, Any]:
    if not blocks:
        return {"traj_ids": np.zeros(0, np.int64), "frames": np.zeros(0, np.int64), "times": np.zeros(0),
                "per_frame_counts": np.zeros((0, n_cations, n_species), np.int32),
                "per_frame_class": np.zeros((0, n_cations), np.int8)}
    out = {"traj_ids": np.concatenate([b[0] for b in blocks]), "frames": np.concatenate([b[1] for b in blocks]),
           "times": np.concatenate([b[2] for b in blocks]), "per_frame_counts": np.concatenate([b[3] for b in blocks]),
           "per_frame_class": np.concatenate([b[4] for b in blocks])}
    if blocks[0][5] is not None:
        shift = np.cumsum([0] + [int(b[5][-1]) for b in blocks[:-1]])
        out["chain_offsets"] = np.concatenate([[0]] + [b[5][1:] + s for b, s in zip(blocks, shift)]).astype(np.int64)
        out["chain_ids"] = np.concatenate([b[6] for b in blocks])
    return out


def shells_results(state: Any, *, names: tuple[str, ...], cutoffs: dict[str, float], shells: dict[str, Any],
                   n_cations: int, n_molecules: list[int], anions: tuple[str, ...], chains: str | None,
                   keep_per_frame: bool, provenance: dict[str, Any]) -> ShellsResults:
    """Normalise a reduced :class:`~trajml.features.solvation_shells.ShellsState` once."""
    s = len(names)
    items = sorted(state.compositions.items(), key=lambda kv: (-kv[1], kv[0]))
    comps = np.array([k for k, _ in items], dtype=np.int64).reshape(-1, s)
    occ = np.array([v for _, v in items], dtype=np.int64)
    total = int(occ.sum())
    k = max([len(h) for h in state.coordination] + [1])
    coord = np.zeros((s, k))
    means = np.full(s, np.nan)
    for i, h in enumerate(state.coordination):
        p, means[i], _ = distribution(h)
        coord[i, :len(p)] = p
    n_spec = int(state.speciation.sum())
    frac = state.speciation / n_spec if n_spec else np.full(3, np.nan)
    p_an, _, _ = distribution(state.anion_cations)
    p_ch, mean_ch, _ = distribution(state.chains) if chains is not None else (np.zeros(0), np.nan, np.nan)
    per_frame = _per_frame(state.blocks, n_cations, s) if keep_per_frame else {}
    return ShellsResults(
        species=tuple(names), cutoffs=dict(cutoffs), cutoff_sources={n: sh.origin for n, sh in shells.items()},
        compositions=comps, composition_occurrences=occ,
        composition_fraction=occ / total if total else np.zeros(0), mean_coordination=means,
        coordination_probability=coord, fraction_paired=state.paired / total if total else np.full(s, np.nan),
        anions=tuple(anions), fraction_free=float(frac[0]), fraction_cip=float(frac[1]), fraction_agg=float(frac[2]),
        anion_cation_probability=p_an, chains=chains, n_chains_probability=p_ch, mean_n_chains=float(mean_ch),
        n_frames=state.n_frames, n_cations=n_cations, n_molecules=np.asarray(n_molecules, dtype=np.int64),
        **per_frame, units=dict(UNITS), provenance=provenance)
