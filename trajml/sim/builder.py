"""Topology arrays and a random initial configuration for the CG SPE model (NumPy only).

Bead order: the polymer chains one after another (beads ``C O C O … C``),
then every Li⁺, then every anion. Each chain and each ion is its own residue
(molecule); ``resids`` number them 1, 2, … in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajml.sim.parameters import BEAD_MASS, SIGMA, SimulationParameters

__all__ = ["SPETopology", "build_topology", "initial_positions", "BOND_LENGTH", "TYPE_NAMES"]

#: Initial bond length of the random walks, in Å (0.97 σ, the FENE + WCA minimum).
BOND_LENGTH: float = 0.97 * SIGMA

#: Bead type codes → names. Names double as PSF atom types.
TYPE_NAMES: tuple[str, ...] = ("C", "O", "Li", "TFSI")
C, O, LI, ANION = 0, 1, 2, 3  # noqa: E741 -- module constants named like the beads; openmm_system imports O


@dataclass(frozen=True, eq=False)
class SPETopology:
    """Per-bead arrays of a CG SPE system.

    Attributes
    ----------
    type_codes : ndarray, shape (N,), int64
        0 = C (backbone), 1 = O (ether oxygen), 2 = Li, 3 = TFSI (anion).
    names : ndarray, shape (N,), str
        Bead names (``C``, ``O``, ``Li``, ``TFSI``); also used as atom types.
    resnames : ndarray, shape (N,), str
        ``PEO``, ``LI`` or ``TFSI``.
    segids : ndarray, shape (N,), str
        Segment per species: ``PEO``, ``LI`` or ``TFSI``.
    resids : ndarray, shape (N,), int64
        Molecule number, 1-based (chains first, then Li⁺, then anions).
    charges : ndarray, shape (N,), float64
        Charges in e.
    masses : ndarray, shape (N,), float64
        Masses in amu.
    sigmas : ndarray, shape (N,), float64
        Bead diameters σ_i in Å (pairs mix as (σ_i + σ_j) / 2).
    bonds : ndarray, shape (B, 2), int64
        0-based bead indices of the backbone bonds.
    angles : ndarray, shape (A, 3), int64
        0-based bead indices of consecutive triples along each chain.
    box_length : float
        Edge of the cubic box in Å.
    """

    type_codes: np.ndarray
    names: np.ndarray
    resnames: np.ndarray
    segids: np.ndarray
    resids: np.ndarray
    charges: np.ndarray
    masses: np.ndarray
    sigmas: np.ndarray
    bonds: np.ndarray
    angles: np.ndarray
    box_length: float

    @property
    def n_beads(self) -> int:
        """int: number of beads N."""
        return int(self.type_codes.shape[0])

    def counts(self) -> dict[str, int]:
        """dict: number of beads of each name (``C``, ``O``, ``Li``, ``TFSI``)."""
        return {name: int(np.sum(self.type_codes == code)) for code, name in enumerate(TYPE_NAMES)}

    def indices(self, name: str) -> np.ndarray:
        """ndarray, int64: 0-based indices of the beads called ``name``."""
        if name not in TYPE_NAMES:
            raise ValueError(f"The 'name' parameter of SPETopology.indices must be one of {TYPE_NAMES}. "
                             f"Got {name!r} instead.")
        return np.flatnonzero(self.type_codes == TYPE_NAMES.index(name))


def build_topology(params: SimulationParameters) -> SPETopology:
    """Build the per-bead arrays of the system that ``params`` describes.

    Parameters
    ----------
    params : SimulationParameters

    Returns
    -------
    SPETopology
    """
    nc, length = params.n_chains, params.chain_length
    n_li, n_an = params.n_li, params.n_anions
    n_poly = nc * length
    chain_codes = np.where(np.arange(length) % 2 == 1, O, C)
    codes = np.concatenate([np.tile(chain_codes, nc), np.full(n_li, LI), np.full(n_an, ANION)]).astype(np.int64)
    names = np.array(TYPE_NAMES, dtype=object)[codes].astype(str)
    species = np.concatenate([np.zeros(n_poly, int), np.ones(n_li, int), np.full(n_an, 2)])
    resnames = np.array(["PEO", "LI", "TFSI"])[species]
    segids = resnames.copy()
    resids = np.concatenate(
        [np.repeat(np.arange(nc), length), nc + np.arange(n_li), nc + n_li + np.arange(n_an)]
    ).astype(np.int64) + 1
    charges = np.zeros(codes.shape[0])
    charges[codes == LI] = 1.0
    charges[codes == ANION] = -1.0
    masses = np.full(codes.shape[0], BEAD_MASS)
    sigmas = np.full(codes.shape[0], SIGMA)
    sigmas[codes == ANION] = float(params.anion_sigma)

    starts = np.arange(nc)[:, None] * length
    local_bonds = np.stack([np.arange(length - 1), np.arange(1, length)], axis=1)
    bonds = (starts[:, :, None] + local_bonds[None]).reshape(-1, 2).astype(np.int64)
    if length >= 3:
        local_angles = np.stack([np.arange(length - 2), np.arange(1, length - 1), np.arange(2, length)], axis=1)
        angles = (starts[:, :, None] + local_angles[None]).reshape(-1, 3).astype(np.int64)
    else:
        angles = np.zeros((0, 3), dtype=np.int64)
    return SPETopology(
        type_codes=codes,
        names=names,
        resnames=resnames,
        segids=segids,
        resids=resids,
        charges=charges,
        masses=masses,
        sigmas=sigmas,
        bonds=bonds,
        angles=angles,
        box_length=params.box_length,
    )


def _random_unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def initial_positions(topology: SPETopology, n_chains: int, chain_length: int, rng: np.random.Generator) -> np.ndarray:
    """Random initial configuration: chains as random walks, ions at random places.

    Each chain starts at a uniformly random point of the box and grows by
    steps of :data:`BOND_LENGTH` in random directions; a step that would come
    closer than 0.9 σ to the bead two places back is redrawn (no immediate
    back-folding). Overlaps between distant beads are left for the soft
    push-off stage to remove. Positions are not wrapped (chains are
    continuous).

    Parameters
    ----------
    topology : SPETopology
    n_chains, chain_length : int
        Chain layout of ``topology``.
    rng : numpy.random.Generator
        Source of randomness (seeded by the caller).

    Returns
    -------
    ndarray, shape (N, 3), float64
        Positions in Å.
    """
    box = topology.box_length
    n = topology.n_beads
    pos = np.empty((n, 3))
    n_poly = n_chains * chain_length
    min_back = 0.9 * SIGMA
    for c in range(n_chains):
        start = c * chain_length
        pos[start] = rng.uniform(0.0, box, size=3)
        for k in range(1, chain_length):
            i = start + k
            for _ in range(100):
                trial = pos[i - 1] + BOND_LENGTH * _random_unit_vectors(rng, 1)[0]
                if k < 2 or np.linalg.norm(trial - pos[i - 2]) >= min_back:
                    break
            pos[i] = trial
    pos[n_poly:] = rng.uniform(0.0, box, size=(n - n_poly, 3))
    return pos
