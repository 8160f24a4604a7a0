"""Cation solvation shells with any number of species (polymer O, anions, solvents, plasticisers, additives).

Definitions
-----------
Each species is a :class:`~trajml.species.Species` (a selection plus a counting rule) with its own
cut-off: the given one, or the first minimum of its g(r) with the cation
(:func:`~trajml.features.first_shell.first_shell`). For each cation and frame, the shell holds, per
species, the counted things (atoms, or molecules once) within that cut-off (minimum image). From
the shells:

composition
    The number of each species in a shell (a row such as ``bn=4, fec=0, pf6=1``); a composition's
    population is how often it occurs over (frame, cation) samples.
coordination
    The mean and distribution of the number of each species per cation.
pairing
    The fraction of (frame, cation) samples with at least one of each species.
speciation
    Over the anion species together: *free* (no anion in the shell: free or solvent-separated,
    SSIP), *cip* (exactly one anion, held by no other cation), *agg* (everything else: two or more
    anions, or one shared with another cation). Each cation is classified, not each cluster.
chains
    The distinct molecules of the ``chains`` species in a shell (which, with ``keep_per_frame``,
    and how many).
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from trajml._validation import DEVICES, Param
from trajml.accumulators import add_padded
from trajml.chunk import Chunk
from trajml.features.base import Featurizer
from trajml.features.first_shell import FIRST_SHELL_PARAMS, first_shell
from trajml.features.shell_overlap import check_disjoint
from trajml.features.solvation import SPECIATION_LABELS, classify_speciation
from trajml.features.solvation_tables import ShellsResults, shells_results
from trajml.periodic import check_chunk, check_source_boxes
from trajml.selection import union_positions
from trajml.species import Species, counts_per_center, first_pass_selection, shell_pairs

__all__ = ["SolvationShells", "ShellsState", "ShellsResults"]

_DEFAULT_SPECIES = {"polymer_o": "name O", "anion": "name TFSI"}


def _parse_species(value: dict[str, Any]) -> dict[str, Species]:
    if not value:
        raise ValueError("a non-empty mapping of species names to species, e.g. {'bn': 'any:resname BN'}")
    return {str(k): Species.parse(v) for k, v in value.items()}


def _check_species(value: dict[str, Any]) -> dict[str, Any]:
    """Each value parses as a species; text and mappings stay as given (they key stored results as JSON)."""
    parsed = _parse_species(value)
    return {k: v if isinstance(v, (str, dict)) else parsed[str(k)] for k, v in ((str(k), v) for k, v in value.items())}


def _check_cutoffs(value: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, r in value.items():
        if isinstance(r, bool) or not isinstance(r, (int, float, np.integer, np.floating)) or not 0 < r < np.inf:
            raise ValueError(f"a mapping of species names to positive cut-offs in Å; {key!r} has {r!r}")
        out[str(key)] = float(r)
    return out


def _names(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(x).strip() for x in items if str(x).strip())


def _composition_counts(flat: np.ndarray) -> dict[tuple[int, ...], int]:
    """How often each row of ``flat`` (samples, species) occurs: rows coded as one mixed-radix integer each."""
    if flat.size == 0:
        return {}
    radix = flat.max(axis=0).astype(np.int64) + 1
    if float(np.prod(radix.astype(np.float64))) >= 2.0**62:  # too many combinations for one int64
        rows, pops = np.unique(flat, axis=0, return_counts=True)
    else:
        place = np.concatenate([np.cumprod(radix[::-1])[::-1][1:], [1]])
        codes, pops = np.unique(flat.astype(np.int64) @ place, return_counts=True)
        rows = (codes[:, None] // place) % radix
    return {tuple(int(x) for x in r): int(p) for r, p in zip(rows, pops)}


@dataclass
class ShellsState:
    """Additive statistics of cation shells.

    Attributes
    ----------
    compositions : Counter of tuple to int
        (frame, cation) samples per composition (counts per species, in species order).
    coordination : list of ndarray, shape (K_s,), int64
        Per species: samples with k of it in the shell.
    paired : ndarray, shape (S,), int64
        Samples with at least one of each species.
    speciation : ndarray, shape (3,), int64
        Samples per speciation class (:data:`~trajml.features.solvation.SPECIATION_LABELS`).
    anion_cations : ndarray, shape (K,), int64
        (frame, anion) samples with k cations within the anion's cut-off.
    chains : ndarray, shape (K_c,), int64
        Samples with k distinct chains in the shell.
    n_frames : int
        Frames accumulated.
    blocks : list of tuple
        With ``keep_per_frame``: per chunk (traj_id (F,), frames (F,), times (F,) ps,
        counts (F, n_cations, S) int32, classes (F, n_cations) int8, chain offsets, chain ids).
    """

    compositions: Counter = field(default_factory=Counter)
    coordination: list[np.ndarray] = field(default_factory=list)
    paired: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    speciation: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int64))
    anion_cations: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    chains: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_frames: int = 0
    blocks: list[tuple[np.ndarray, ...]] = field(default_factory=list)


class SolvationShells(Featurizer[ShellsState]):
    """Cation shells with any number of species: compositions, coordination, pairing, speciation, chains.

    Parameters
    ----------
    cation : str or array_like of int
        Cation atoms whose shells are analysed (default ``"name Li"``).
    species : dict of str to Species or str
        Shell species by name: a :class:`~trajml.species.Species` or its text form
        (``"name O"`` counts atoms, ``"any:resname PF6"`` each PF₆⁻ once, ``"com:resname EC"``
        each EC at its centre of mass). Default ``{"polymer_o": "name O", "anion": "name TFSI"}``.
        No atom may be in two species or in a species and the cation selection.
    cutoffs : dict of str to float, optional
        Cut-off in Å per species name (``d < cutoff``); each species not named gets the first
        minimum of its g(r) with the cation (a ``com`` species must be given one).
    anions : str or sequence of str, optional
        Names of the anion species that speciation and ion pairing consider (comma-separated in
        text). Default: ``"anion"``, which must then be a species.
    chains : str, optional
        Name of the species whose molecules are the chains counted per shell (e.g. the polymer
        O); default: none.
    r_max, n_bins, cutoff_frames, smoothing
        The first pass that finds cut-offs (:data:`~trajml.features.first_shell.FIRST_SHELL_PARAMS`).
    keep_per_frame : bool
        Also keep every cation's counts, class and chains in every frame (memory grows with frames).
    device : {"cpu", "cuda"}
        Where the pair search runs.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> shells = SolvationShells(species={"O": "name O", "anion": "name TFSI"}, cutoffs={"O": 4.5, "anion": 7.0},
    ...                          chains="O")
    >>> res = shells.run(src, stop=5, progress=False)
    >>> round(res.fraction_free + res.fraction_cip + res.fraction_agg, 12)
    1.0
    """

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {"cutoffs": {"polymer_o": 4.5, "anion": 7.0}}
    needs_box = True

    _parameters = {
        "cation": Param("selection", help="cation atoms whose shells are analysed (MDAnalysis syntax)", metavar="SEL"),
        "species": Param("mapping", help="shell species, NAME=SPECIES: a selection counting atoms, or RULE:SEL "
                         "counting molecules (rules com, any, any[SITE], residue-com, residue-any)", nullable=True,
                         none_help="polymer_o='name O' anion='name TFSI'", check=_check_species,
                         metavar="NAME=SPECIES",
                         describe="a non-empty mapping of species names to species, e.g. {'bn': 'any:resname BN'}"),
        "cutoffs": Param("mapping", help="shell cut-off per species, NAME=Å", unit="Å", nullable=True,
                         none_help="first minimum of each g(r)", items="float", check=_check_cutoffs,
                         metavar="NAME=CUTOFF", describe="a mapping of species names to positive cut-offs in Å"),
        "anions": Param("str", help="anion species names for speciation and ion pairing, comma-separated",
                        nullable=True, none_help="anion", metavar="NAMES"),
        "chains": Param("str", help="species whose molecules are the chains counted per shell", nullable=True,
                        none_help="no chain counts", metavar="NAME"),
        **FIRST_SHELL_PARAMS,
        "keep_per_frame": Param("bool", help="also keep every cation's counts, class and chains in every frame"),
        "device": Param("str", help="where the pair search runs", choices=DEVICES),
    }

    def __init__(self, cation: Any = "name Li", species: dict[str, Any] | None = None, *,
                 cutoffs: dict[str, float] | None = None, anions: str | tuple[str, ...] | None = None,
                 chains: str | None = None, r_max: float | None = None, n_bins: int = 150, cutoff_frames: int = 1000,
                 keep_per_frame: bool = False, smoothing: float = 0.5, device: str = "cpu") -> None:
        if isinstance(anions, (list, tuple)):  # stored as its text form, as the command line gives it
            anions = ",".join(_names(anions))
        self._set_params(locals())
        names = tuple((self.species or _DEFAULT_SPECIES).keys())
        if self.anions is None and "anion" not in names:
            raise ValueError(f"SolvationShells needs the anion species for speciation and ion pairing: give the "
                             f"'anions' parameter (names among {', '.join(map(repr, names))}, comma-separated), "
                             "or name a species 'anion'.")
        for param, given in (("anions", _names(self.anions or "anion")), ("cutoffs", tuple(self.cutoffs or ())),
                             ("chains", _names(self.chains or ""))):
            unknown = [n for n in given if n not in names]
            if unknown:
                raise ValueError(f"The '{param}' parameter of SolvationShells names {', '.join(map(repr, unknown))}, "
                                 f"which is not a species; the species are {', '.join(map(repr, names))}.")

    @property
    def species_names(self) -> tuple[str, ...]:
        """tuple of str: the species, in the order of every per-species array."""
        return tuple((self.species or _DEFAULT_SPECIES).keys())

    def bind(self, source: Any) -> "SolvationShells":
        """Resolve the cation and every species, and each cut-off (first pass if not given); a bound copy."""
        owner = "SolvationShells"
        b = copy.copy(self)
        species = _parse_species(self.species or _DEFAULT_SPECIES)
        b._cation = Species(self.cation).resolve(source, "cation", owner)
        b._sp = [sp.resolve(source, name, owner) for name, sp in species.items()]
        check_disjoint(owner, [("cation", b._cation.atoms)] + [(s.name, s.all_atoms) for s in b._sp])
        b.atoms, positions = union_positions(b._cation.atoms, *[s.atoms for s in b._sp])
        b._pos_cation, b._pos = positions[0], positions[1:]
        if b.atoms.size == source.n_atoms:  # every atom: read whole frames, without a gathering copy
            b.atoms = None
        b._anions = [i for i, name in enumerate(species) if name in _names(self.anions or "anion")]
        b._chains = next((i for i, name in enumerate(species) if name == self.chains), None)
        if b._chains is not None:
            _, b._chain_of_group = np.unique(b._sp[b._chains].group_molecule, return_inverse=True)
        cutoffs, b._shells = {}, {}
        given_all = {k: v for k, v in (self.cutoffs or {}).items() if k in species}
        if given_all:  # the largest given cut-off against every frame's box: one read of the boxes for all
            largest = max(given_all, key=given_all.get)
            check_source_boxes(source, float(given_all[largest]), f"cutoffs[{largest}]", owner)
        for (name, sp), res in zip(species.items(), b._sp):
            given = (self.cutoffs or {}).get(name)
            if given is None and sp.rule == "com":
                raise ValueError(f"A centre-of-mass species has no atom g(r) to find its shell from; give the "
                                 f"'cutoffs' parameter of {owner} a value for {name!r} (Å).")
            shell = first_shell(source, self.cation, first_pass_selection(sp, res), cutoff=given, owner=owner,
                                name=f"cutoffs[{name}]", r_max=self.r_max, n_bins=self.n_bins,
                                cutoff_frames=self.cutoff_frames, smoothing=self.smoothing, device=self.device,
                                check_boxes=False)
            cutoffs[name], b._shells[name] = shell.cutoff, shell
        b._cutoffs = cutoffs
        return b

    def init_state(self) -> ShellsState:
        return ShellsState(coordination=[np.zeros(0, np.int64)] * len(self.species_names),
                           paired=np.zeros(len(self.species_names), dtype=np.int64))

    def update(self, state: ShellsState, chunk: Chunk) -> ShellsState:
        bound = hasattr(self, "_cutoffs")
        if chunk.n_frames == 0 and bound:
            return state
        check_chunk("SolvationShells", chunk, bound, **({f"cutoffs[{k}]": v for k, v in self._cutoffs.items()}
                                                        if bound else {}))
        f, n_c = chunk.n_frames, self._cation.n_groups
        keys = [shell_pairs(self._cation, sp, chunk.positions, chunk.boxes, self._cutoffs[sp.name], self._pos_cation,
                            pos, device=self.device) for sp, pos in zip(self._sp, self._pos)]
        counts = np.stack([counts_per_center(k, f, n_c, sp.n_groups) for k, sp in zip(keys, self._sp)], axis=-1)
        flat = counts.reshape(-1, counts.shape[-1])
        state.compositions.update(_composition_counts(flat))
        state.coordination = [add_padded(h, np.bincount(flat[:, s]).astype(np.int64))
                              for s, h in enumerate(state.coordination)]
        state.paired = state.paired + (flat > 0).sum(axis=0)
        classes = self._speciation(state, keys, f, n_c)
        chain_off, chain_ids = self._chain_rows(state, keys, f, n_c)
        state.n_frames += f
        if self.keep_per_frame:
            state.blocks.append((np.full(f, chunk.traj_id, dtype=np.int64), chunk.frames.copy(), chunk.times.copy(),
                                 counts.astype(np.int32), classes.reshape(f, n_c).astype(np.int8), chain_off,
                                 chain_ids))
        return state

    def _speciation(self, state: ShellsState, keys: list[np.ndarray], f: int, n_c: int) -> np.ndarray:
        """Classify every (frame, cation) over all anion species together; accumulate; return the classes."""
        sizes = [self._sp[i].n_groups for i in self._anions]
        n_an = int(sum(sizes))
        if n_an == 0:
            classes = np.zeros(f * n_c, dtype=np.int64)
        else:
            shift = np.cumsum([0] + sizes[:-1])
            if len(self._anions) == 1:  # one anion species: its keys are the merged keys, sorted already
                merged = keys[self._anions[0]]
            else:
                merged = np.sort(np.concatenate([
                    (keys[i] // self._sp[i].n_groups) * n_an + shift[j] + keys[i] % self._sp[i].n_groups
                    for j, i in enumerate(self._anions)]))
            offsets = np.zeros(f * n_c + 1, dtype=np.int64)
            np.cumsum(np.bincount(merged // n_an, minlength=f * n_c), out=offsets[1:])
            classes, per_anion = classify_speciation(offsets, merged % n_an, f, n_c, n_an)
            state.anion_cations = add_padded(state.anion_cations, np.bincount(per_anion.ravel()).astype(np.int64))
        state.speciation = state.speciation + np.bincount(classes, minlength=len(SPECIATION_LABELS))
        return classes

    def _chain_rows(self, state: ShellsState, keys: list[np.ndarray], f: int,
                    n_c: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Distinct chains per (frame, cation): accumulate how many; return which (CSR) for ``keep_per_frame``."""
        if self._chains is None:
            return None, None
        sp = self._sp[self._chains]
        k = keys[self._chains]
        n_mol = int(self._chain_of_group.max()) + 1
        pairs = np.unique((k // sp.n_groups) * n_mol + self._chain_of_group[k % sp.n_groups])
        n_chains = np.bincount(pairs // n_mol, minlength=f * n_c)
        state.chains = add_padded(state.chains, np.bincount(n_chains).astype(np.int64))
        if not self.keep_per_frame:
            return None, None
        offsets = np.zeros(f * n_c + 1, dtype=np.int64)
        np.cumsum(n_chains, out=offsets[1:])
        molecules = np.unique(sp.group_molecule)[pairs % n_mol]
        return offsets, molecules.astype(np.int64)

    def merge(self, a: ShellsState, b: ShellsState) -> ShellsState:
        return ShellsState(
            compositions=a.compositions + b.compositions,
            coordination=[add_padded(x, y) for x, y in zip(a.coordination, b.coordination)],
            paired=a.paired + b.paired, speciation=a.speciation + b.speciation,
            anion_cations=add_padded(a.anion_cations, b.anion_cations), chains=add_padded(a.chains, b.chains),
            n_frames=a.n_frames + b.n_frames, blocks=a.blocks + b.blocks)

    def finalize(self, state: ShellsState, provenance: dict[str, Any]) -> ShellsResults:
        names = self.species_names
        return shells_results(
            state, names=names, cutoffs=self._cutoffs, shells=self._shells, n_cations=self._cation.n_groups,
            n_molecules=[sp.n_groups for sp in self._sp], anions=tuple(names[i] for i in self._anions),
            chains=self.chains, keep_per_frame=self.keep_per_frame,
            provenance={**provenance, "first_shell": {k: v.describe() for k, v in self._shells.items()}})
