"""A ground-truth kinetic toy: ions hopping between lattice sites with a known rate matrix.

Sites of two to four *families* sit on a periodic orthorhombic lattice. Every site owns its
own cage of host atoms at a fixed distance, arranged by family: ``"octahedral"`` (6 hosts on
the ±x, ±y, ±z axes), ``"tetrahedral"`` (4 hosts on alternate cube corners), ``"cubic"``
(8 hosts on all cube corners) or ``"linear"`` (2 hosts on ±z). All hosts carry one name
(``"O"``), so only their arrangement around an ion tells the families apart, as in the
octahedral/tetrahedral toy of GDyNet (Xie et al., Nat. Commun. 2019). Ions (``"Li"``) hop
between sites; the family of each ion is a continuous-time Markov chain whose generator is
the given rate matrix ``K`` (1/ps), sampled *exactly* at the frame times with
``P = expm(K · dt)``. A hop lands on a random free site of the destination family, so two
ions never share a site, and the family-level process stays exactly Markovian with
generator ``K`` whatever the other ions do. Optional same-family hops (``intra_rate``)
move an ion between sites without changing its family.

Host atoms and ions get isotropic Gaussian thermal displacements (``noise``, Å) in every
frame. The trajectory can be written as a PSF topology and an XTC trajectory that
:func:`trajml.io.open_source` reads. Plain NumPy and SciPy: no OpenMM, no torch.

Examples
--------
>>> from trajml.sim.hopping import hopping_system
>>> toy = hopping_system(200, n_ions=4, cells=(2, 2, 2), seed=1)
>>> toy.positions.shape  # 8 cells x (6 + 4 + 8) hosts + 4 ions
(200, 148, 3)
>>> [round(float(t), 2) for t in toy.exact_timescales()]
[41.77, 8.98]
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import scipy.linalg

from trajml._validation import check_float, check_int

__all__ = ["HoppingSystem", "hopping_system", "FAMILY_GEOMETRIES", "DEFAULT_RATE_MATRIX"]


def _unit(rows: Sequence[Sequence[float]]) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float64)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


#: Unit vectors from a site to its hosts, by family name (dimensionless).
FAMILY_GEOMETRIES: dict[str, np.ndarray] = {
    "octahedral": _unit([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]),
    "tetrahedral": _unit([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]),
    "cubic": _unit([[sx, sy, sz] for sx in (1, -1) for sy in (1, -1) for sz in (1, -1)]),
    "linear": _unit([[0, 0, 1], [0, 0, -1]]),
}
for _v in FAMILY_GEOMETRIES.values():
    _v.flags.writeable = False

# Fractional positions of the (up to four) family sub-lattices in the unit cell: an fcc-like
# arrangement, so nearest sites of different families are a face diagonal / 2 apart.
_SUBLATTICE = np.array([[0.25, 0.25, 0.25], [0.75, 0.75, 0.25], [0.75, 0.25, 0.75], [0.25, 0.75, 0.75]])

_DEFAULT_FAMILIES = ("octahedral", "tetrahedral", "cubic", "linear")

#: Default family-level generator (1/ps) for octahedral, tetrahedral, cubic sites. It obeys
#: detailed balance with stationary populations (0.5, 0.3, 0.2); exact implied timescales
#: 41.77 ps and 8.98 ps.
DEFAULT_RATE_MATRIX = np.array([[-0.012, 0.008, 0.004],
                                [0.04 / 3.0, -0.16 / 3.0, 0.04],
                                [0.01, 0.06, -0.07]])
DEFAULT_RATE_MATRIX.flags.writeable = False

_MASSES = {"O": 15.999, "Li": 6.94}  # amu


# ----------------------------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------------------------

def check_rate_matrix(rate_matrix: Any, owner: str = "hopping_system", name: str = "rate_matrix") -> np.ndarray:
    """Validate a continuous-time Markov generator (rates in 1/ps).

    Parameters
    ----------
    rate_matrix : array_like, shape (n, n), float
        Off-diagonal entries are the rates i → j in 1/ps (>= 0); every row sums to zero.
    owner, name : str
        Caller and parameter name, for messages.

    Returns
    -------
    ndarray, shape (n, n), float64
        A read-only copy.

    Raises
    ------
    ValueError
        Not a finite square matrix of size >= 2, a negative off-diagonal rate, a row that does not
        sum to zero, or a generator that is not irreducible (no unique stationary distribution).
    """
    try:
        k = np.array(rate_matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The '{name}' parameter of {owner} must be a square float matrix (1/ps). "
                         f"Got {rate_matrix!r} instead.") from exc
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] < 2:
        raise ValueError(f"The '{name}' parameter of {owner} must be a square matrix of shape (n, n) with n >= 2 "
                         f"(1/ps). Got shape {k.shape} instead.")
    if not np.all(np.isfinite(k)):
        raise ValueError(f"The '{name}' parameter of {owner} must be finite. Got {k.tolist()} instead.")
    off = k - np.diag(np.diag(k))
    if np.any(off < 0):
        i, j = np.argwhere(off < 0)[0]
        raise ValueError(f"The '{name}' parameter of {owner} must have off-diagonal rates >= 0 (1/ps); "
                         f"entry [{i}, {j}] is {float(k[i, j])!r}.")
    scale = max(float(np.abs(k).max()), 1e-300)
    rows = k.sum(axis=1)
    if np.any(np.abs(rows) > 1e-9 * scale):
        i = int(np.argmax(np.abs(rows)))
        raise ValueError(f"The '{name}' parameter of {owner} must be a generator whose rows sum to zero (the diagonal "
                         f"is minus the total escape rate); row {i} sums to {float(rows[i])!r}.")
    # irreducible: every state reaches every other state through positive rates
    reach = (off > 0) | np.eye(len(k), dtype=bool)
    for _ in range(int(np.ceil(np.log2(len(k)))) + 1):
        reach = (reach.astype(np.int64) @ reach.astype(np.int64)) > 0
    if not reach.all():
        raise ValueError(f"The '{name}' parameter of {owner} must be irreducible (every family reachable from every "
                         f"other, so the stationary distribution is unique). Got {k.tolist()}.")
    k.flags.writeable = False
    return k


def _stationary(k: np.ndarray) -> np.ndarray:
    # left null vector of the generator: pi K = 0, sum(pi) = 1 (least squares on the augmented system)
    n = len(k)
    a = np.vstack([k.T, np.ones((1, n))])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def _ro(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


# ----------------------------------------------------------------------------------------------
# the result
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class HoppingSystem:
    """A generated hopping trajectory with its ground truth.

    Atoms are ordered hosts first (grouped by site, sites grouped by family), then ions.

    Attributes
    ----------
    positions : ndarray, shape (T, N, 3), float32
        Coordinates in Å, wrapped into ``[0, box)``.
    box : ndarray, shape (3,), float64
        Orthorhombic box lengths in Å.
    names : tuple of str, length N
        Atom names: ``"O"`` for every host, ``"Li"`` for every ion.
    ion_indices : ndarray, shape (n_ions,), int64
        Atom indices of the ions.
    host_indices : ndarray, shape (n_hosts,), int64
        Atom indices of the hosts.
    host_sites : ndarray, shape (n_hosts,), int64
        Site that owns each host atom.
    site_positions : ndarray, shape (n_sites, 3), float64
        Site centres in Å (inside the box).
    site_families : ndarray, shape (n_sites,), int64
        Family index of each site (row/column of ``rate_matrix``).
    family_names : tuple of str
        Geometry of each family (keys of :data:`FAMILY_GEOMETRIES`).
    ion_sites : ndarray, shape (T, n_ions), int64
        Ground truth: site of each ion in each frame.
    ion_families : ndarray, shape (T, n_ions), int64
        Ground truth: family of each ion in each frame.
    rate_matrix : ndarray, shape (n_families, n_families), float64
        Family-level generator in 1/ps.
    dt_ps : float
        Time between frames in ps.
    host_distance : float
        Site–host distance in Å (before noise).
    noise : float
        Standard deviation of the thermal displacement per Cartesian component, in Å.
    intra_rate : float
        Rate of hops to another site of the same family, in 1/ps.
    seed : int
        Seed of the generator.
    """

    positions: np.ndarray
    box: np.ndarray
    names: tuple[str, ...]
    ion_indices: np.ndarray
    host_indices: np.ndarray
    host_sites: np.ndarray
    site_positions: np.ndarray
    site_families: np.ndarray
    family_names: tuple[str, ...]
    ion_sites: np.ndarray
    ion_families: np.ndarray
    rate_matrix: np.ndarray
    dt_ps: float
    host_distance: float
    noise: float
    intra_rate: float
    seed: int

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return int(self.positions.shape[0])

    @property
    def n_atoms(self) -> int:
        """Number of atoms N (hosts and ions)."""
        return int(self.positions.shape[1])

    @property
    def n_ions(self) -> int:
        """Number of ions."""
        return int(self.ion_indices.size)

    @property
    def n_families(self) -> int:
        """Number of site families (size of ``rate_matrix``)."""
        return int(self.rate_matrix.shape[0])

    @property
    def times_ps(self) -> np.ndarray:
        """Time of each frame in ps, shape (T,), float64 (frame 0 at 0 ps)."""
        return np.arange(self.n_frames, dtype=np.float64) * self.dt_ps

    @property
    def dimensions(self) -> np.ndarray:
        """Box as MDAnalysis ``[a, b, c, alpha, beta, gamma]`` (Å, degrees), shape (6,), float64."""
        return np.r_[self.box, 90.0, 90.0, 90.0]

    def exact_timescales(self) -> np.ndarray:
        """Exact implied timescales of the family process, longest first.

        Returns
        -------
        ndarray, shape (n_families - 1,), float64
            ``-1 / Re(μ_i)`` in ps for the non-zero eigenvalues ``μ_i`` of ``rate_matrix``. They do
            not depend on the lag: ``expm(K τ)`` has eigenvalues ``exp(μ_i τ)``.
        """
        mu = np.linalg.eigvals(self.rate_matrix).real
        mu = np.sort(mu)[::-1][1:]  # drop the zero eigenvalue (the largest)
        return -1.0 / mu

    def stationary_distribution(self) -> np.ndarray:
        """Stationary family populations ``π`` with ``π K = 0``, shape (n_families,), float64 (sum 1)."""
        return _stationary(self.rate_matrix)

    def transition_matrix(self, lag: int = 1) -> np.ndarray:
        """Exact family transition matrix ``expm(K · lag · dt_ps)`` over ``lag`` frames, shape (n, n), float64."""
        if isinstance(lag, (bool, np.bool_)) or not isinstance(lag, (int, np.integer)) or lag < 1:
            raise ValueError(f"The 'lag' parameter of HoppingSystem.transition_matrix must be an int >= 1 (frames). "
                             f"Got {lag!r} instead.")
        return scipy.linalg.expm(self.rate_matrix * (int(lag) * self.dt_ps))

    def write(self, directory: str | os.PathLike[str], name: str = "hopping") -> tuple[str, str]:
        """Write a PSF topology and an XTC trajectory (with the box and frame times).

        Parameters
        ----------
        directory : str or path-like
            Existing folder; ``<name>.psf`` and ``<name>.xtc`` are written (overwritten) there.
        name : str
            File stem, without whitespace or path separators.

        Returns
        -------
        topology, trajectory : str
            Paths of the PSF and XTC files, ready for ``trajml.io.open_source(topology, trajectory)``.
            XTC stores coordinates to 0.01 Å.

        Notes
        -----
        Hosts are residue ``HOST`` (segment ``HOST``, one residue per site), ions residue ``LI``
        (segment ``ION``, one residue each); every host is named and typed ``O``, every ion
        ``Li``. Charges are zero: the toy has no electrostatics.
        """
        import MDAnalysis as mda

        from trajml.sim.psf import write_psf

        folder = os.fspath(directory)
        if not os.path.isdir(folder):
            raise ValueError(f"The 'directory' parameter of HoppingSystem.write must be an existing folder. "
                             f"Got {folder!r} instead.")
        if not isinstance(name, str) or not name or any(c.isspace() or c in "/\\" for c in name):
            raise ValueError(f"The 'name' parameter of HoppingSystem.write must be a non-empty file stem without "
                             f"whitespace or path separators. Got {name!r} instead.")
        top, traj = os.path.join(folder, f"{name}.psf"), os.path.join(folder, f"{name}.xtc")
        n_hosts, n_ions = self.host_indices.size, self.n_ions
        resids = np.r_[self.host_sites + 1, np.arange(n_ions) + 1]
        write_psf(top, names=list(self.names), types=list(self.names),
                  resnames=["HOST"] * n_hosts + ["LI"] * n_ions, resids=resids,
                  segids=["HOST"] * n_hosts + ["ION"] * n_ions, charges=np.zeros(self.n_atoms),
                  masses=[_MASSES[n] for n in self.names], bonds=np.zeros((0, 2), dtype=np.int64),
                  title=["trajml.sim.hopping: ions hopping between lattice sites",
                         f"families {', '.join(self.family_names)}; dt {self.dt_ps:g} ps; seed {self.seed}",
                         "units: angstrom, e, amu"])
        universe = mda.Universe.empty(self.n_atoms, trajectory=True)
        ts = universe.trajectory.ts
        dims = self.dimensions.astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MDAnalysis warns about the missing topology attributes
            with mda.Writer(traj, n_atoms=self.n_atoms, format="XTC") as w:
                for k in range(self.n_frames):
                    ts.positions = self.positions[k]
                    ts.dimensions = dims
                    ts.time = k * self.dt_ps
                    ts.frame = k
                    w.write(universe.atoms)
        return top, traj


# ----------------------------------------------------------------------------------------------
# the generator
# ----------------------------------------------------------------------------------------------

def _sample_rows(rng: np.random.Generator, cum: np.ndarray, state: np.ndarray) -> np.ndarray:
    # inverse-CDF sampling of one step for every walker at once
    u = rng.random(state.size)
    return (cum[state] < u[:, None]).sum(axis=1)


def hopping_system(
    n_frames: int,
    *,
    dt_ps: float = 1.0,
    n_ions: int = 16,
    cells: Sequence[int] = (4, 4, 4),
    rate_matrix: Any = None,
    families: Sequence[str] | None = None,
    cell_length: float | Sequence[float] = 10.0,
    host_distance: float = 2.0,
    noise: float = 0.15,
    intra_rate: float = 0.0,
    seed: int = 0,
) -> HoppingSystem:
    """Generate ions hopping between lattice sites with a known family-level rate matrix.

    Parameters
    ----------
    n_frames : int
        Frames T (>= 1).
    dt_ps : float
        Time between frames in ps.
    n_ions : int
        Number of ions (>= 1). Every family needs at least ``2 * n_ions`` sites, so a hop always
        finds a free site.
    cells : sequence of 3 int
        Unit cells along x, y, z; each cell holds one site of every family.
    rate_matrix : array_like, shape (n, n), optional
        Family-level generator in 1/ps (off-diagonal rates >= 0, rows summing to zero,
        irreducible), 2 <= n <= 4. Default :data:`DEFAULT_RATE_MATRIX` (3 families).
    families : sequence of str, optional
        Geometry of each family, distinct keys of :data:`FAMILY_GEOMETRIES`; default the first n
        of ``("octahedral", "tetrahedral", "cubic", "linear")``.
    cell_length : float or sequence of 3 float
        Unit-cell edge(s) in Å; the box is ``cells * cell_length``.
    host_distance : float
        Site–host distance in Å. Must be below half the nearest site–site distance, so the
        cages of neighbouring sites do not overlap.
    noise : float
        Standard deviation in Å of the Gaussian displacement of every atom, per Cartesian
        component and frame, independent between frames (0 gives a perfect lattice).
    intra_rate : float
        Rate in 1/ps of hops to another site of the same family (does not change the family).
    seed : int
        Seed of ``numpy.random.default_rng``; equal seeds give identical systems.

    Returns
    -------
    HoppingSystem

    Raises
    ------
    ValueError
        For an invalid parameter; the message names it and the value.

    Notes
    -----
    Initial families are drawn from the stationary distribution, so the trajectory is in
    equilibrium from frame 0. Each frame the family of every ion is drawn from the row of
    ``P = expm(K · dt_ps)`` (exact for the continuous-time chain observed at the frame times).
    An ion whose family changed, or that makes a same-family hop (probability
    ``1 - exp(-intra_rate · dt_ps)`` given no family change), moves to a uniformly random site of
    its new family that no ion occupied in the previous frame nor takes in this one.
    """
    owner = "hopping_system"
    t_frames = check_int(n_frames, "n_frames", "hopping_system")
    dt = check_float(dt_ps, "dt_ps", "hopping_system", unit="ps")
    n_ion = check_int(n_ions, "n_ions", "hopping_system")
    try:
        cells_arr = np.array(cells)
    except (TypeError, ValueError):
        cells_arr = np.array([])
    if (cells_arr.shape != (3,) or cells_arr.dtype.kind not in "iu"
            or np.any(cells_arr < 1)):
        raise ValueError(f"The 'cells' parameter of {owner} must be three ints >= 1 (unit cells along x, y, z). "
                         f"Got {cells!r} instead.")
    cells_arr = cells_arr.astype(np.int64)
    try:
        lengths = np.broadcast_to(np.asarray(cell_length, dtype=np.float64), (3,)).copy()
    except (TypeError, ValueError):
        lengths = np.full(3, np.nan)
    if not np.all(np.isfinite(lengths)) or np.any(lengths <= 0):
        raise ValueError(f"The 'cell_length' parameter of {owner} must be a float or three floats in (0, inf) Å. "
                         f"Got {cell_length!r} instead.")
    r_host = check_float(host_distance, "host_distance", "hopping_system", unit="Å")
    sigma = check_float(noise, "noise", "hopping_system", low_closed=True, unit="Å")
    r_intra = check_float(intra_rate, "intra_rate", "hopping_system", low_closed=True, unit="1/ps")
    seed_i = check_int(seed, "seed", "hopping_system", minimum=0)
    k = DEFAULT_RATE_MATRIX if rate_matrix is None else check_rate_matrix(rate_matrix, owner)
    n_fam = len(k)
    if families is None:
        if n_fam > len(_DEFAULT_FAMILIES):
            raise ValueError(f"The 'rate_matrix' parameter of {owner} has {n_fam} families; at most "
                             f"{len(_DEFAULT_FAMILIES)} geometries exist ({', '.join(_DEFAULT_FAMILIES)}).")
        fam_names = _DEFAULT_FAMILIES[:n_fam]
    else:
        fam_names = tuple(families) if not isinstance(families, str) else (families,)
        if (len(fam_names) != n_fam or len(set(fam_names)) != n_fam
                or any(f not in FAMILY_GEOMETRIES for f in fam_names)):
            raise ValueError(f"The 'families' parameter of {owner} must name {n_fam} distinct geometries (one per row "
                             f"of 'rate_matrix') from {sorted(FAMILY_GEOMETRIES)}. Got {families!r} instead.")
    n_cells = int(np.prod(cells_arr))
    if n_cells < 2 * n_ion:
        raise ValueError(f"The 'n_ions' parameter of {owner} ({n_ion}) needs at least 2 * n_ions = {2 * n_ion} sites "
                         f"per family, so a hop always finds a free site; 'cells' = {tuple(cells_arr.tolist())} gives "
                         f"{n_cells}. Use more cells or fewer ions.")
    # Nearest distance between two site centres: sub-lattice offsets (half face diagonals) or
    # the lattice period along an axis.
    half_diag = 0.5 * np.sqrt(lengths[[0, 0, 1]] ** 2 + lengths[[1, 2, 2]] ** 2)
    d_min = float(min(half_diag.min() if n_fam > 1 else np.inf, lengths.min()))
    if r_host >= 0.5 * d_min:
        raise ValueError(f"The 'host_distance' parameter of {owner} must be below half the nearest site–site "
                         f"distance ({0.5 * d_min:.4g} Å for cell_length {lengths.tolist()} Å) so that cages do not "
                         f"overlap. Got {host_distance!r} instead.")

    rng = np.random.default_rng(seed_i)
    box = cells_arr * lengths

    # --- static lattice: sites grouped by family, hosts grouped by site
    grid = np.stack(np.meshgrid(*[np.arange(c) for c in cells_arr], indexing="ij"), axis=-1).reshape(-1, 3)
    site_pos = np.concatenate([(grid + _SUBLATTICE[f]) * lengths for f in range(n_fam)])
    site_fam = np.repeat(np.arange(n_fam), n_cells)
    vecs = [FAMILY_GEOMETRIES[f] for f in fam_names]
    n_per = np.array([len(v) for v in vecs])
    host_sites = np.repeat(np.arange(n_fam * n_cells), n_per[site_fam])
    offsets = np.concatenate([np.tile(v, (n_cells, 1)) for v in vecs]) * r_host
    host_ref = site_pos[host_sites] + offsets
    n_hosts = len(host_ref)

    # --- family chain, exact at the frame times
    p = scipy.linalg.expm(k * dt)
    p = np.clip(p, 0.0, None)
    cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    pi = _stationary(k)
    fam = np.empty((t_frames, n_ion), dtype=np.int64)
    fam[0] = rng.choice(n_fam, size=n_ion, p=pi)
    p_intra = -math.expm1(-r_intra * dt)
    # --- sites: distinct initial sites per family, then hops to free sites
    sites = np.empty((t_frames, n_ion), dtype=np.int64)
    occupied = np.zeros(n_fam * n_cells, dtype=bool)
    for f in range(n_fam):
        who = np.flatnonzero(fam[0] == f)
        sites[0, who] = f * n_cells + rng.choice(n_cells, size=who.size, replace=False)
    occupied[sites[0]] = True
    # One step per frame is inherent to a Markov chain; each step is vectorised over the ions.
    for t in range(1, t_frames):
        fam[t] = _sample_rows(rng, cum, fam[t - 1])
        move = fam[t] != fam[t - 1]
        if p_intra > 0:
            move |= rng.random(n_ion) < p_intra
        sites[t] = sites[t - 1]
        if move.any():
            for f in np.unique(fam[t, move]):
                who = np.flatnonzero(move & (fam[t] == f))
                # vacated sites stay blocked for this frame: with >= 2 n_ions sites per family
                # there are always enough free ones
                free = f * n_cells + np.flatnonzero(~occupied[f * n_cells:(f + 1) * n_cells])
                sites[t, who] = rng.choice(free, size=who.size, replace=False)
                occupied[sites[t, who]] = True
            occupied[sites[t - 1, move]] = False

    # --- coordinates: reference positions + thermal noise, wrapped into the box
    pos = np.empty((t_frames, n_hosts + n_ion, 3), dtype=np.float32)
    pos[:, :n_hosts] = host_ref.astype(np.float32)
    pos[:, n_hosts:] = site_pos[sites]
    if sigma > 0:
        pos += np.float32(sigma) * rng.standard_normal(pos.shape, dtype=np.float32)
    box32 = box.astype(np.float32)
    pos -= box32 * np.floor(pos / box32)
    pos[pos >= box32] = 0.0  # float32 rounding of x = -tiny gives exactly box
    pos[pos < 0] = 0.0

    names = ("O",) * n_hosts + ("Li",) * n_ion
    return HoppingSystem(
        positions=_ro(pos), box=_ro(box.astype(np.float64)), names=names,
        ion_indices=_ro(np.arange(n_hosts, n_hosts + n_ion, dtype=np.int64)),
        host_indices=_ro(np.arange(n_hosts, dtype=np.int64)), host_sites=_ro(host_sites.astype(np.int64)),
        site_positions=_ro(site_pos), site_families=_ro(site_fam.astype(np.int64)), family_names=tuple(fam_names),
        ion_sites=_ro(sites), ion_families=_ro(fam), rate_matrix=_ro(np.array(k, dtype=np.float64)), dt_ps=dt,
        host_distance=r_host, noise=sigma, intra_rate=r_intra, seed=seed_i,
    )
