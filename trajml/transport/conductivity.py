"""Ionic conductivity, Onsager transport coefficients and transference numbers of a binary salt.

Definitions (3-D; ``V`` the mean box volume, ``k_B T`` the thermal energy, ``q_s`` charges in e):

* **Nernst–Einstein** conductivity from self-diffusion (no ion–ion correlations):
  ``σ_NE = e²/(V k_B T) Σ_s N_s q_s² D_s``; its error is propagated from the D errors
  (standard errors over independent particles), species taken as independent.
* **Einstein–Helfand** (collective) conductivity, every self and cross correlation included:
  ``σ = e²/(6 V k_B T) d/dt ⟨|Σ_i q_i Δr_i(t)|²⟩``, the charge displacement averaged over
  **all** time origins (FFT).
* **Onsager coefficients** from the species' collective displacements
  ``ΔM_s(t) = Σ_{i∈s} Δr_i(t)``: ``L_ij = 1/(6 V k_B T N_A²) d/dt ⟨ΔM_i(t)·ΔM_j(t)⟩`` in
  **mol²/(J·m·s)**, the convention of concentrated-solution theory (Newman) used by Fong et al.
  (ACS Cent. Sci. 2019; Macromolecules 2020): molar flux in mol/(m²·s) per gradient of the molar
  electrochemical potential in J/(mol·m), so that ``σ = F² Σ_ij z_i z_j L_ij`` (``F = e N_A``,
  ``z`` the charges in e). This equals the Einstein–Helfand σ exactly (the charge displacement is
  ``Σ_s q_s ΔM_s``). ``sigma_ij_S_m = F² z_i z_j L_ij`` gives each pair's contribution to σ in S/m
  (the "S/m per e²" view; the off-diagonal pair appears once in each of (i, j) and (j, i)). The self
  part is ``L_ii^self = N_i D_i/(V k_B T N_A²)`` (so ``σ_NE = F² Σ z_i² L_ii^self``) and the distinct
  part ``L_ij^distinct = L_ij − δ_ij L_ii^self``.
* Cation **transference number** ``t₊ = (q₊² L₊₊ + q₊q₋ L₊₋) / Σ_ij q_i q_j L_ij``; its
  Nernst–Einstein twin ``t₊^NE = q₊² N₊ D₊ / Σ_s q_s² N_s D_s``; **ionicity** ``σ/σ_NE`` (the
  inverse Haven ratio).

Algorithm: the trajectory is streamed **once**, no-jump unwrapped, into a particle-major store of the
ions' series (atoms, or centres of mass of molecules with ``per_molecule``), recording each frame's
box volume and, with ``remove_drift``, the whole system's centre-of-mass displacement. Blocks of
particles are then loaded on any scheduler to give per-particle MSDs (self-diffusion, errors over
particles) and the per-species sums of positions ``M_s(t)``: the collective analysis needs only
``(species, frames, 3)`` memory. Cross MSDs of ``M_s`` are evaluated over all origins by FFT.

Reference frame: with ``remove_drift=True`` (default) the whole system's mass-weighted centre-of-mass
displacement is subtracted from every ion, i.e. the barycentric frame. Under momentum-conserving
dynamics the centre of mass does not move, but thermostats that do not conserve momentum (Langevin,
Andersen, as in the bundled sample) let it random-walk, which adds to the self-diffusion and to every
``L_ij``. ``σ`` of an electroneutral system does not depend on the frame (``Σ_s q_s N_s = 0``); the
``L_ij``, D's and transference numbers do: in a system of ions only, the barycentric frame forces
``Σ_s m_s ΔM_s = 0``.

Fit window (one window for D, σ and L, so that σ/σ_NE compares like with like): given
(``fit_start``/``fit_stop`` in ps), or chosen automatically as :class:`~trajml.transport.Diffusion`
chooses it, on the MSD pooled over all ions, among lags up to ``max_fraction`` of the run **and**
within one time block (so block errors exist). The result says which in ``window_method``.

Uncertainty of the collective quantities (σ, L_ij, t₊): the run is cut into ``n_blocks`` consecutive
time blocks, the cross MSDs are computed within each block (all origins inside it) and fitted over the
same window; the covariance of the block estimates over ``n_blocks`` estimates that of the full-run
values (standard error of a mean of independent blocks), propagated to ratios to first order
(delta method). D errors are standard errors over independent particles; ionicity errors combine the
σ (blocks) and σ_NE (particles) errors as independent.

Units: D in Å²/ps and cm²/s, σ in S/m and mS/cm (1 S/m = 10 mS/cm), L in mol²/(J·m·s), T in K, V in Å³.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trajml.features._selection import check_float, check_int, describe_selection, resolve_atoms
from trajml.results import Results
from trajml.units import A2_PS_TO_CM2_S as _A2_PS_TO_CM2_S
from trajml.units import A2_PS_TO_M2_S as _A2_PS_TO_M2_S
from trajml.units import A3_TO_M3 as _A3_TO_M3
from trajml.units import E_CHARGE_C, N_A_MOL, S_M_TO_MS_CM
from trajml.units import KB_J_K as K_B_J_K

__all__ = ["Conductivity", "ConductivityResults", "nernst_einstein_conductivity",
           "E_CHARGE_C", "K_B_J_K", "N_A_MOL", "S_M_TO_MS_CM"]

_ROLES = ("cation", "anion")


@dataclass(frozen=True, eq=False, kw_only=True)
class ConductivityResults(Results):
    """Conductivities, Onsager coefficients and transference numbers of a cation/anion pair.

    Species arrays are ordered (cation, anion).

    Attributes
    ----------
    species : tuple of str
        Species labels (atom names, or residue names with ``per_molecule``).
    selections : tuple of str
        The cation and anion selections, as given.
    charges_e : ndarray, shape (2,), float64
        Charge of one particle of each species in e.
    charge_source : str
        ``"given"`` (the ``charges`` parameter) or ``"topology"``.
    n_ions : ndarray, shape (2,), int64
        Particles of each species.
    temperature_K : float
        Temperature in K.
    temperature_source : str
        ``"given"`` or ``"metadata"`` (the run's metadata file).
    volume_A3 : float
        Mean box volume in Å³ (or the given volume).
    lag_ps : ndarray, shape (T,), float64
        Lag times in ps.
    self_msd_A2 : ndarray, shape (2, T), float64
        Self MSD of each species in Å² (averaged over particles and all origins).
    collective_msd_A2 : ndarray, shape (2, 2, T), float64
        ``⟨ΔM_i · ΔM_j⟩`` of the species' summed displacements in Å² (all origins).
    charge_msd_e2A2 : ndarray, shape (T,), float64
        ``⟨|Σ_i q_i Δr_i|²⟩`` in e²·Å², computed directly from the charge-weighted sum.
    D_A2_ps, D_err_A2_ps : ndarray, shape (2,), float64
        Self-diffusion coefficients and standard errors (over particles) in Å²/ps.
    D_cm2_s, D_err_cm2_s : ndarray, shape (2,), float64
        The same in cm²/s.
    sigma_S_m, sigma_err_S_m : float
        Einstein–Helfand conductivity and its block standard error in S/m.
    sigma_mS_cm, sigma_err_mS_cm : float
        The same in mS/cm.
    sigma_NE_S_m, sigma_NE_err_S_m : float
        Nernst–Einstein conductivity and its error in S/m.
    sigma_NE_mS_cm, sigma_NE_err_mS_cm : float
        The same in mS/cm.
    sigma_onsager_S_m : float
        ``F² Σ_ij z_i z_j L_ij`` in S/m (equals ``sigma_S_m`` to round-off).
    sigma_ij_S_m, sigma_ij_err_S_m : ndarray, shape (2, 2), float64
        Contributions ``F² z_i z_j L_ij`` to σ (summing to it) and their block errors in S/m.
    L_mol2_J_m_s, L_err_mol2_J_m_s : ndarray, shape (2, 2), float64
        Onsager coefficients ``L_ij`` (``σ = F² Σ z_i z_j L_ij``) and block standard errors in
        mol²/(J·m·s).
    L_self_mol2_J_m_s, L_self_err_mol2_J_m_s : ndarray, shape (2,), float64
        Self parts ``N_i D_i/(V k_B T N_A²)`` and errors in mol²/(J·m·s).
    L_distinct_mol2_J_m_s, L_distinct_err_mol2_J_m_s : ndarray, shape (2, 2), float64
        Distinct parts ``L_ij − δ_ij L_ii^self`` and errors in mol²/(J·m·s).
    transference, transference_err : float
        Cation transference number from the Onsager coefficients, and its error.
    transference_NE, transference_NE_err : float
        Nernst–Einstein cation transference number, and its error.
    ionicity, ionicity_err : float
        ``σ/σ_NE`` (inverse Haven ratio), and its error.
    fit_start_ps, fit_stop_ps : float
        Fit window in ps (both ends included).
    n_fit_points : int
        Lags in the window.
    window_method : str
        ``"given"`` or ``"auto"``.
    n_blocks : int
        Time blocks behind the errors of σ, L and t₊.
    block_ps : float
        Span of one time block in ps.
    error_method : str
        ``"blocks"`` (σ, L, t₊), with D errors over ``"particles"``.
    drift_removed : bool
        Whether the system's centre-of-mass displacement was subtracted.
    unwrapped : bool
        Whether coordinates were no-jump unwrapped.
    per_molecule : bool
        Whether particles are molecules' centres of mass.
    n_frames : int
        Frames used.
    dt_ps : float
        Time between stored frames in ps.
    """

    _TABLE: ClassVar[tuple[str, ...]] = ("lag_ps", "charge_msd_e2A2")
    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "lag_ps": ("lag_ps",), "charge_msd_e2A2": ("lag_ps",), "self_msd_A2": ("species", "lag_ps"),
        "collective_msd_A2": ("species", "species_j", "lag_ps"), "charges_e": ("species",),
        "n_ions": ("species",), "D_A2_ps": ("species",), "D_err_A2_ps": ("species",), "D_cm2_s": ("species",),
        "D_err_cm2_s": ("species",), "L_mol2_J_m_s": ("species", "species_j"),
        "L_err_mol2_J_m_s": ("species", "species_j"), "L_self_mol2_J_m_s": ("species",),
        "L_self_err_mol2_J_m_s": ("species",), "L_distinct_mol2_J_m_s": ("species", "species_j"),
        "L_distinct_err_mol2_J_m_s": ("species", "species_j"), "sigma_ij_S_m": ("species", "species_j"),
        "sigma_ij_err_S_m": ("species", "species_j"),
    }

    species: tuple[str, ...]
    selections: tuple[str, ...]
    charges_e: np.ndarray
    charge_source: str
    n_ions: np.ndarray
    temperature_K: float
    temperature_source: str
    volume_A3: float
    lag_ps: np.ndarray
    self_msd_A2: np.ndarray
    collective_msd_A2: np.ndarray
    charge_msd_e2A2: np.ndarray
    D_A2_ps: np.ndarray
    D_err_A2_ps: np.ndarray
    D_cm2_s: np.ndarray
    D_err_cm2_s: np.ndarray
    sigma_S_m: float
    sigma_err_S_m: float
    sigma_mS_cm: float
    sigma_err_mS_cm: float
    sigma_NE_S_m: float
    sigma_NE_err_S_m: float
    sigma_NE_mS_cm: float
    sigma_NE_err_mS_cm: float
    sigma_onsager_S_m: float
    sigma_ij_S_m: np.ndarray
    sigma_ij_err_S_m: np.ndarray
    L_mol2_J_m_s: np.ndarray
    L_err_mol2_J_m_s: np.ndarray
    L_self_mol2_J_m_s: np.ndarray
    L_self_err_mol2_J_m_s: np.ndarray
    L_distinct_mol2_J_m_s: np.ndarray
    L_distinct_err_mol2_J_m_s: np.ndarray
    transference: float
    transference_err: float
    transference_NE: float
    transference_NE_err: float
    ionicity: float
    ionicity_err: float
    fit_start_ps: float
    fit_stop_ps: float
    n_fit_points: int
    window_method: str
    n_blocks: int
    block_ps: float
    error_method: str = "blocks"
    drift_removed: bool = True
    unwrapped: bool = True
    per_molecule: bool = False
    n_frames: int = 0
    dt_ps: float = float("nan")


UNITS = {
    "charges_e": "e", "n_ions": "", "temperature_K": "K", "volume_A3": "Å^3", "lag_ps": "ps",
    "self_msd_A2": "Å^2", "collective_msd_A2": "Å^2", "charge_msd_e2A2": "e^2 Å^2",
    "D_A2_ps": "Å^2/ps", "D_err_A2_ps": "Å^2/ps", "D_cm2_s": "cm^2/s", "D_err_cm2_s": "cm^2/s",
    "sigma_S_m": "S/m", "sigma_err_S_m": "S/m", "sigma_mS_cm": "mS/cm", "sigma_err_mS_cm": "mS/cm",
    "sigma_NE_S_m": "S/m", "sigma_NE_err_S_m": "S/m", "sigma_NE_mS_cm": "mS/cm", "sigma_NE_err_mS_cm": "mS/cm",
    "sigma_onsager_S_m": "S/m", "sigma_ij_S_m": "S/m", "sigma_ij_err_S_m": "S/m",
    "L_mol2_J_m_s": "mol^2/(J m s)", "L_err_mol2_J_m_s": "mol^2/(J m s)",
    "L_self_mol2_J_m_s": "mol^2/(J m s)", "L_self_err_mol2_J_m_s": "mol^2/(J m s)",
    "L_distinct_mol2_J_m_s": "mol^2/(J m s)", "L_distinct_err_mol2_J_m_s": "mol^2/(J m s)",
    "transference": "", "transference_err": "", "transference_NE": "", "transference_NE_err": "",
    "ionicity": "", "ionicity_err": "", "fit_start_ps": "ps", "fit_stop_ps": "ps", "n_fit_points": "",
    "n_blocks": "", "block_ps": "ps", "n_frames": "", "dt_ps": "ps",
}


def nernst_einstein_conductivity(n_ions: Any, charges_e: Any, D_A2_ps: Any, volume_A3: float,
                                 temperature_K: float, D_err_A2_ps: Any = None) -> tuple[float, float]:
    """Nernst–Einstein conductivity ``e²/(V k_B T) Σ_s N_s q_s² D_s`` with its propagated error.

    Parameters
    ----------
    n_ions : array_like, shape (S,), int
        Particles of each species.
    charges_e : array_like, shape (S,), float
        Charge of one particle of each species in e.
    D_A2_ps : array_like, shape (S,), float
        Self-diffusion coefficients in Å²/ps.
    volume_A3 : float
        Volume in Å³.
    temperature_K : float
        Temperature in K.
    D_err_A2_ps : array_like, shape (S,), float, optional
        Standard errors of the D's in Å²/ps (independent species).

    Returns
    -------
    sigma : float
        Conductivity in S/m.
    sigma_err : float
        Its standard error in S/m (NaN without D errors).

    Examples
    --------
    >>> s, e = nernst_einstein_conductivity([60, 60], [1, -1], [1e-3, 1e-3], 3e5, 300.0, [1e-4, 1e-4])
    >>> round(s, 5), round(e, 6)
    (0.02479, 0.001753)
    """
    n = np.asarray(n_ions, dtype=np.float64)
    q = np.asarray(charges_e, dtype=np.float64)
    d = np.asarray(D_A2_ps, dtype=np.float64)
    pref = E_CHARGE_C**2 * _A2_PS_TO_M2_S / (volume_A3 * _A3_TO_M3 * K_B_J_K * temperature_K)
    sigma = float(pref * np.sum(n * q**2 * d))
    if D_err_A2_ps is None:
        return sigma, math.nan
    err = np.asarray(D_err_A2_ps, dtype=np.float64)
    return sigma, float(pref * math.sqrt(np.sum((n * q**2 * err) ** 2)))


def _metadata_temperature(source: Any, traj_id: int) -> float | None:
    """Temperature in K from a ``trajml simulate`` metadata file (``<stem>.json`` beside the files)."""
    member = source.members[traj_id]
    for path in (member.topology, *member.parts):
        candidate = os.path.splitext(path)[0] + ".json"
        if not os.path.isfile(candidate):
            continue
        try:
            with open(candidate, encoding="utf-8") as fh:
                meta = json.load(fh)
            value = float(meta["parameters"]["temperature"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if math.isfinite(value) and value > 0:
            return value
    return None


class Conductivity:
    """Einstein–Helfand and Nernst–Einstein conductivity, Onsager coefficients, transference numbers.

    Parameters
    ----------
    cation, anion : str or array_like of int
        MDAnalysis selections (e.g. ``"name Li"``, ``"name TFSI"``) or topology indices.
    charges : dict of str to float, optional
        Charge in e of one particle of each species, keyed by role (``"cation"``, ``"anion"``), by the
        species label (the atom name shared by the selection; the residue name with ``per_molecule``),
        or by atom names (summed per molecule with ``per_molecule``), e.g.
        ``{"Li": 1.0, "TFSI": -1.0}``. None reads the topology's charges.
    temperature : float, optional
        Temperature in K. None reads it from the run's metadata file (``<stem>.json`` written by
        ``trajml simulate`` beside the topology or trajectory) and fails if there is none.
    volume : float, optional
        Volume in Å³; None (default) uses the mean box volume (required without boxes).
    per_molecule : bool
        Particles are the mass-weighted centres of the selected atoms of each molecule (polyatomic ions).
    remove_drift : bool
        Subtract the whole system's mass-weighted centre-of-mass displacement (barycentric frame; see
        the module documentation). Needs masses. Default True.
    unwrap : bool
        No-jump unwrap (needs boxes); False only for coordinates already unwrapped.
    fit_start, fit_stop : float, optional
        Fit window in ps (both or neither); None chooses it automatically.
    n_blocks : int
        Time blocks for the errors of σ, L and t₊ (≥ 2). Default 5. With a given window that does not
        fit in a block, fewer (longer) blocks are used, down to 2.
    tolerance, max_fraction, min_points, points_per_decade
        Automatic window, as in :class:`~trajml.transport.Diffusion`.
    block_size : int, optional
        Particles per correlation task (None: all in one task up to a ~64 MiB budget).
    chunk_size : int
        Frames per read while streaming. Default 100.
    tmpdir : str, optional
        Parent folder of the temporary series store.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> res = Conductivity("name Li", "name TFSI").run(src)
    >>> res.species, res.temperature_source, res.sigma_S_m > 0
    (('Li', 'TFSI'), 'metadata', True)
    """

    def __init__(self, cation: Any, anion: Any, *, charges: dict[str, float] | None = None,
                 temperature: float | None = None, volume: float | None = None, per_molecule: bool = False,
                 remove_drift: bool = True, unwrap: bool = True, fit_start: float | None = None,
                 fit_stop: float | None = None, n_blocks: int = 5, tolerance: float = 0.15,
                 max_fraction: float = 0.5, min_points: int = 5, points_per_decade: int = 10,
                 block_size: int | None = None, chunk_size: int = 100, tmpdir: str | None = None) -> None:
        owner = "Conductivity"
        self.cation = cation
        self.anion = anion
        if charges is not None:
            if not isinstance(charges, dict) or not charges:
                raise ValueError(f"The 'charges' parameter of Conductivity must be a non-empty dict of species "
                                 f"name to charge in e, e.g. {{'Li': 1.0, 'TFSI': -1.0}}. Got {charges!r} instead.")
            clean = {}
            for key, value in charges.items():
                clean[str(key)] = check_float(value, f"charges[{key!r}]", owner, low=-math.inf, unit="e")
            charges = clean
        self.charges = charges
        self.temperature = check_float(temperature, "temperature", owner, unit="K", allow_none=True)
        self.volume = check_float(volume, "volume", owner, unit="Å^3", allow_none=True)
        self.per_molecule = bool(per_molecule)
        self.remove_drift = bool(remove_drift)
        self.unwrap = bool(unwrap)
        self.fit_start = check_float(fit_start, "fit_start", owner, low_closed=True, unit="ps", allow_none=True)
        self.fit_stop = check_float(fit_stop, "fit_stop", owner, unit="ps", allow_none=True)
        if (self.fit_start is None) != (self.fit_stop is None):
            raise ValueError("The 'fit_start' and 'fit_stop' parameters of Conductivity go together: give both (ps) "
                             f"or neither (automatic window). Got fit_start={fit_start!r}, fit_stop={fit_stop!r}.")
        if self.fit_start is not None and self.fit_stop <= self.fit_start:
            raise ValueError(f"The 'fit_stop' parameter of Conductivity must be greater than fit_start "
                             f"({self.fit_start:g} ps). Got {self.fit_stop:g} ps instead.")
        self.n_blocks = check_int(n_blocks, "n_blocks", owner, minimum=2)
        self.tolerance = check_float(tolerance, "tolerance", owner, unit="")
        self.max_fraction = check_float(max_fraction, "max_fraction", owner, high=1.0 + 1e-12, unit="")
        self.min_points = check_int(min_points, "min_points", owner, minimum=2)
        self.points_per_decade = check_int(points_per_decade, "points_per_decade", owner, minimum=2)
        self.block_size = check_int(block_size, "block_size", owner, allow_none=True)
        self.chunk_size = check_int(chunk_size, "chunk_size", owner)
        self.tmpdir = tmpdir

    # -- public ----------------------------------------------------------------------------------
    def run(self, source: Any, *, start: int = 0, stop: int | None = None, step: int = 1, traj_id: int = 0,
            scheduler: Any = "serial", n_workers: int | None = None, progress: bool = False) -> ConductivityResults:
        """Analyse frames ``start:stop:step`` of one trajectory.

        Parameters
        ----------
        source : trajml.io.Source
            The trajectories.
        start, stop, step : int
            Frames used (every frame of ``start:stop`` is read for unwrapping).
        traj_id : int
            Which trajectory of the source.
        scheduler : str or distributed.Client
            Where the per-block tasks run (``"serial"``, ``"threads"``, ``"processes"``, ``"local"``, a
            Client or an address).
        n_workers : int, optional
            Workers of the local schedulers.
        progress : bool
            Show progress bars.

        Returns
        -------
        ConductivityResults

        Raises
        ------
        ValueError
            Missing or wrongly signed charges, a missing temperature, masses missing with
            ``remove_drift``, a fit window outside the data or with too few points.
        MissingBoxError
            Wrapped coordinates without a box to unwrap them with.
        """
        from trajml.parallel import map_specs, scheduler_name
        from trajml.transport._onsager import ion_block_task, stream_ions
        from trajml.transport.store import SeriesStore

        t0 = time.perf_counter()
        owner = "Conductivity"
        temperature, t_source = self._temperature(source, traj_id)
        groups = [resolve_atoms(source, sel, role, owner) for sel, role in zip((self.cation, self.anion), _ROLES)]
        if np.intersect1d(groups[0], groups[1]).size:
            raise ValueError(f"The 'cation' ({describe_selection(self.cation)!r}) and 'anion' "
                             f"({describe_selection(self.anion)!r}) selections of Conductivity share atoms; "
                             "give disjoint selections.")
        masses = source.atoms.masses
        if (self.remove_drift or self.per_molecule) and (masses is None or not np.all(np.isfinite(masses))
                                                         or masses.sum() <= 0):
            what = "remove_drift=True" if self.remove_drift else "per_molecule=True"
            raise ValueError(f"Conductivity with {what} needs atom masses, but '{source.members[0].topology}' has "
                             "none (pass remove_drift=False to keep the lab frame).")
        particles = [self._particles(source, g, masses) for g in groups]  # (atoms, weights, offsets, label, mol)
        labels_txt = tuple(p[3] for p in particles)
        charges, q_source = self._charges(source, particles, labels_txt)
        n_ions = np.array([p[2].size - 1 for p in particles], dtype=np.int64)
        atoms = np.concatenate([particles[0][0], particles[1][0]])
        weights = np.concatenate([particles[0][1], particles[1][1]])
        offsets = np.concatenate([particles[0][2], particles[1][2][1:] + particles[0][2][-1]]).astype(np.int64)
        labels = np.repeat(np.arange(2, dtype=np.int64), n_ions)

        partition = source.partition(1, start=start, stop=stop, step=step, traj_ids=[traj_id])  # validates
        n_frames = len(partition)
        if n_frames < 2 * (self.min_points + 1):
            raise ValueError(f"Conductivity needs at least {2 * (self.min_points + 1)} frames (two time blocks of "
                             f"min_points + 1); frames {start}:{stop}:{step} of trajectory {traj_id} give {n_frames}.")
        with SeriesStore(self.tmpdir) as store:
            stream = stream_ions(source, store, atoms, weights, offsets, masses=masses,
                                 remove_drift=self.remove_drift, unwrap=self.unwrap, traj_id=traj_id, start=start,
                                 stop=stop, step=step, chunk_size=self.chunk_size, progress=progress, owner=owner)
            dt = self._dt(stream.times, source, traj_id)
            lag = np.arange(n_frames) * dt
            if self.fit_start is not None:
                idx = self._given_window(lag)
                max_lag = int(idx[-1])
            else:
                idx = None
                max_lag = self._auto_max_lag(n_frames)
            volume = self._volume(stream.volumes, source, traj_id)
            n_part = int(n_ions.sum())
            block = self.block_size or max(1, (64 * 2**20) // (200 * n_frames))
            block = min(block, n_part)
            bounds = [(lo, min(lo + block, n_part)) for lo in range(0, n_part, block)]
            task = functools.partial(ion_block_task, stream.series, stream.drift, labels, 2, max_lag)
            parts = map_specs(task, bounds, scheduler=scheduler, n_workers=n_workers, progress=progress,
                              desc="Conductivity: particle blocks")
        per_particle = np.concatenate([p["msd"] for p in parts])
        self_msd = sum(p["msd_sum"] for p in parts) / n_ions[:, None]
        sums = sum(p["sums"] for p in parts)  # (2, T, 3)
        window_method = "given"
        if idx is None:
            idx = self._auto_window(lag, per_particle.mean(axis=0))
            window_method = "auto"
        res = self._finish(lag, idx, window_method, per_particle, labels, self_msd, sums, n_ions, charges,
                           volume, temperature)
        provenance = {
            "selections": [describe_selection(self.cation), describe_selection(self.anion)],
            "parameters": {k: v for k, v in vars(self).items() if k not in ("cation", "anion")},
            "files": [[m.topology, *m.parts] for m in source.members], "traj_id": traj_id,
            "frames": {"start": start, "stop": stop, "step": step}, "scheduler": scheduler_name(scheduler),
            "n_tasks": len(bounds), "wall_s": time.perf_counter() - t0,
        }
        sel_txt = tuple(str(describe_selection(s)) for s in (self.cation, self.anion))
        return ConductivityResults(
            species=labels_txt, selections=sel_txt, charges_e=charges, charge_source=q_source, n_ions=n_ions,
            temperature_K=temperature, temperature_source=t_source, volume_A3=volume, lag_ps=lag,
            self_msd_A2=self_msd, **res, window_method=window_method, drift_removed=self.remove_drift,
            unwrapped=self.unwrap, per_molecule=self.per_molecule, n_frames=n_frames, dt_ps=dt,
            units=dict(UNITS), provenance=provenance)

    # -- inputs ----------------------------------------------------------------------------------
    def _temperature(self, source: Any, traj_id: int) -> tuple[float, str]:
        if self.temperature is not None:
            return self.temperature, "given"
        found = _metadata_temperature(source, traj_id)
        if found is None:
            member = source.members[traj_id]
            raise ValueError(
                "Conductivity needs the temperature in K: pass temperature=... (CLI: --temperature K). No metadata "
                f"file with parameters.temperature was found beside '{member.topology}' or its trajectory.")
        return found, "metadata"

    def _particles(self, source: Any, atoms: np.ndarray,
                   masses: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, np.ndarray]:
        """Atoms grouped by particle, their weights, particle offsets, the species label, molecule of each atom."""
        table = source.atoms
        if not self.per_molecule:
            names = np.unique(table.names[atoms].astype(str))
            label = str(names[0]) if names.size == 1 else "+".join(names.tolist())
            return (atoms, np.ones(atoms.size), np.arange(atoms.size + 1, dtype=np.int64), label,
                    np.arange(atoms.size))
        mol = table.molecules[atoms]
        order = np.lexsort((atoms, mol))
        atoms, mol = atoms[order], mol[order]
        _, first, seg_of = np.unique(mol, return_index=True, return_inverse=True)
        offsets = np.append(first, atoms.size).astype(np.int64)
        totals = np.add.reduceat(masses[atoms], first)
        if np.any(totals <= 0):
            raise ValueError("Conductivity with per_molecule=True: a selected molecule has a total mass of 0 amu.")
        weights = masses[atoms] / totals[seg_of]
        resnames = np.unique(table.resnames[atoms].astype(str))
        label = str(resnames[0]) if resnames.size == 1 and resnames[0] else "+".join(
            np.unique(table.names[atoms].astype(str)).tolist())
        return atoms, weights, offsets, label, seg_of

    def _charges(self, source: Any, particles: list, labels: tuple[str, ...]) -> tuple[np.ndarray, str]:
        table = source.atoms
        example = f"charges={{'{labels[0]}': 1.0, '{labels[1]}': -1.0}} (CLI: --charges {labels[0]}=1 {labels[1]}=-1)"
        out = np.empty(2)
        used: set[str] = set()
        for s, (role, (atoms, _w, offsets, label, seg)) in enumerate(zip(_ROLES, particles)):
            sel = describe_selection(self.cation if s == 0 else self.anion)
            if self.charges is not None:
                names = table.names[atoms].astype(str)
                if role in self.charges or label in self.charges:
                    key = role if role in self.charges else label
                    per_particle = np.array([self.charges[key]])
                    used.add(key)
                elif all(n in self.charges for n in np.unique(names)):
                    per_atom = np.array([self.charges[n] for n in names])
                    per_particle = np.add.reduceat(per_atom, offsets[:-1])
                    used.update(np.unique(names).tolist())
                else:
                    raise ValueError(f"The 'charges' parameter of Conductivity gives no charge for the {role} species "
                                     f"{label!r} (selection {sel!r}); its keys are {sorted(self.charges)}. Give "
                                     f"every species, e.g. {example}.")
            else:
                if table.charges is None:
                    raise ValueError(f"Conductivity needs the charge of the {role} species {label!r} (selection "
                                     f"{sel!r}), but the topology '{source.members[0].topology}' carries no charges. "
                                     f"Give them per species as {example}.")
                per_particle = np.add.reduceat(table.charges[atoms], offsets[:-1])
            if np.ptp(per_particle) > 1e-6:
                raise ValueError(f"The {role} particles of selection {sel!r} carry different charges (from "
                                 f"{per_particle.min():g} to {per_particle.max():g} e); Conductivity needs one charge "
                                 f"per species: refine the selection or give {example}.")
            q = float(per_particle.mean())
            if (q <= 0) if s == 0 else (q >= 0):
                origin = "given" if self.charges is not None else f"read from '{source.members[0].topology}'"
                want = "positive" if s == 0 else "negative"
                raise ValueError(f"The {role} species {label!r} (selection {sel!r}) has charge {q:g} e ({origin}); "
                                 f"Conductivity needs a {want} charge. Give the charges per species as {example}.")
            out[s] = q
        if self.charges is not None:
            unused = set(self.charges) - used
            if unused:
                raise ValueError(f"The 'charges' parameter of Conductivity names {sorted(unused)}, which match no "
                                 f"species; use 'cation', 'anion', {labels[0]!r} or {labels[1]!r}.")
        return out, "given" if self.charges is not None else "topology"

    def _dt(self, times: np.ndarray, source: Any, traj_id: int) -> float:
        steps = np.diff(times)
        if not np.allclose(steps, steps[0], rtol=1e-5, atol=1e-6) or steps[0] <= 0:
            raise ValueError(f"Conductivity needs equally spaced frames, but the times of trajectory {traj_id} "
                             f"({', '.join(source.members[traj_id].parts)}) go in steps from {steps.min():g} to "
                             f"{steps.max():g} ps.")
        return float(np.mean(steps))

    def _volume(self, volumes: np.ndarray | None, source: Any, traj_id: int) -> float:
        if self.volume is not None:
            return self.volume
        if volumes is None:
            raise ValueError(f"Conductivity needs the volume, but trajectory {traj_id} "
                             f"({', '.join(source.members[traj_id].parts)}) has no box: pass volume=... in Å^3.")
        return float(np.mean(volumes))

    # -- windows ---------------------------------------------------------------------------------
    def _auto_max_lag(self, n_frames: int) -> int:
        return min(int(math.floor(self.max_fraction * (n_frames - 1))), n_frames // self.n_blocks - 1)

    def _given_window(self, lag: np.ndarray) -> np.ndarray:
        end, dt = float(lag[-1]), float(lag[1] - lag[0])
        tol = 1e-3 * dt
        if self.fit_start >= end:
            raise ValueError(f"The 'fit_start' parameter of Conductivity must be below the last lag. Got "
                             f"{self.fit_start:g} ps instead (the data end at {end:g} ps).")
        if self.fit_stop > end + tol:
            raise ValueError(f"The 'fit_stop' parameter of Conductivity must be at most the last lag. Got "
                             f"{self.fit_stop:g} ps instead (the data end at {end:g} ps).")
        idx = np.flatnonzero((lag >= self.fit_start - tol) & (lag <= self.fit_stop + tol))
        if idx.size < self.min_points:
            raise ValueError(f"The fit window [{self.fit_start:g}, {self.fit_stop:g}] ps holds {idx.size} lags (lag "
                             f"step {dt:g} ps); Conductivity needs at least min_points={self.min_points}. Widen the "
                             "window.")
        half = lag[lag.size // 2 - 1]
        if idx[-1] > lag.size // 2 - 1:
            raise ValueError(f"The fit window of Conductivity ends at {lag[idx[-1]]:g} ps, beyond {half:g} ps: block "
                             "errors need at least 2 time blocks that each span the window. Use a shorter window or "
                             "a longer trajectory.")
        return idx

    def _auto_window(self, lag: np.ndarray, pooled: np.ndarray) -> np.ndarray:
        from trajml.transport.diffusion import Diffusion
        from trajml.transport.msd import MSDResults

        n_use = pooled.size
        fake = MSDResults(lag_ps=lag[:n_use], msd_A2=pooled, n_particles=1, n_frames=n_use,
                          dt_ps=float(lag[1] - lag[0]))
        try:
            fit = Diffusion(tolerance=self.tolerance, max_fraction=1.0, min_points=self.min_points,
                            points_per_decade=self.points_per_decade, error="auto").fit(fake).fetch_model()
        except ValueError as exc:
            raise ValueError(f"Conductivity could not choose a fit window automatically among lags up to "
                             f"{lag[n_use - 1]:g} ps (max_fraction={self.max_fraction:g} of the run, within one of "
                             f"n_blocks={self.n_blocks} time blocks): {exc}") from None
        tol = 1e-3 * float(lag[1] - lag[0])
        return np.flatnonzero((lag >= fit.fit_start_ps - tol) & (lag <= fit.fit_stop_ps + tol))

    # -- estimates -------------------------------------------------------------------------------
    def _finish(self, lag: np.ndarray, idx: np.ndarray, window_method: str, per_particle: np.ndarray,
                labels: np.ndarray, self_msd: np.ndarray, sums: np.ndarray, n_ions: np.ndarray,
                charges: np.ndarray, volume: float, temperature: float) -> dict[str, Any]:
        from trajml.kernels.correlation import msd_fft
        from trajml.transport._onsager import cross_msd_fft, delta_method, linear_weights

        n_frames = lag.size
        w = linear_weights(lag[idx])
        # self-diffusion over the window, errors over independent particles
        d_i = per_particle[:, idx] @ w / 6.0
        d = np.array([d_i[labels == s].mean() for s in range(2)])
        d_err = np.array([d_i[labels == s].std(ddof=1) / math.sqrt(n_ions[s]) if n_ions[s] > 1 else math.nan
                          for s in range(2)])
        # collective displacements: full run and time blocks
        z = cross_msd_fft(sums)  # (2, 2, T)
        n_blocks = min(self.n_blocks, n_frames // (int(idx[-1]) + 1))
        length = n_frames // n_blocks
        z_blocks = cross_msd_fft(sums[:, :n_blocks * length].reshape(2, n_blocks, length, 3).transpose(1, 0, 2, 3))
        slope = z[:, :, idx] @ w  # Å²/ps
        slope_k = z_blocks[:, :, :, idx] @ w  # (K, 2, 2)
        # charge displacement, computed on its own (the Einstein–Helfand route)
        current = np.einsum("s,stk->tk", charges, sums)[None]
        charge_msd = np.empty((1, n_frames))
        msd_fft(current, charge_msd)
        charge_msd = charge_msd[0]
        kt = K_B_J_K * temperature
        to_particle = _A2_PS_TO_M2_S / (6.0 * volume * _A3_TO_M3 * kt)  # Å²/ps -> 1/(J m s)
        e2 = E_CHARGE_C**2
        sigma = float(e2 * to_particle * (charge_msd[idx] @ w))
        qq = np.outer(charges, charges)
        sigma_k = e2 * to_particle * np.einsum("ij,kij->k", qq, slope_k)
        sigma_err = float(sigma_k.std(ddof=1) / math.sqrt(n_blocks))
        big_l = slope * to_particle / N_A_MOL**2
        big_l_err = slope_k.std(axis=0, ddof=1) / math.sqrt(n_blocks) * to_particle / N_A_MOL**2
        l_self = 6.0 * n_ions * d * to_particle / N_A_MOL**2
        l_self_err = 6.0 * n_ions * d_err * to_particle / N_A_MOL**2
        l_dist = big_l - np.diag(l_self)
        l_dist_err = np.sqrt(big_l_err**2 + np.diag(l_self_err**2))
        sigma_ne, sigma_ne_err = nernst_einstein_conductivity(n_ions, charges, d, volume, temperature, d_err)
        # transference numbers and ionicity
        theta = np.array([slope[0, 0], slope[1, 1], slope[0, 1]])
        theta_k = np.stack([slope_k[:, 0, 0], slope_k[:, 1, 1], slope_k[:, 0, 1]], axis=1)
        cov = np.cov(theta_k, rowvar=False, ddof=1) / n_blocks
        qp, qm = charges

        def t_plus(th: np.ndarray) -> float:
            return (qp * qp * th[0] + qp * qm * th[2]) / (qp * qp * th[0] + qm * qm * th[1] + 2 * qp * qm * th[2])

        t_on = float(t_plus(theta))
        t_on_err = delta_method(t_plus, theta, cov)
        contrib = n_ions * charges**2
        t_ne = float(contrib[0] * d[0] / (contrib @ d))
        t_ne_err = delta_method(lambda x: contrib[0] * x[0] / (contrib @ x), d, np.diag(d_err**2))
        ionicity = sigma / sigma_ne
        ionicity_err = abs(ionicity) * math.hypot(sigma_err / sigma, sigma_ne_err / sigma_ne)
        sigma_on = float((E_CHARGE_C * N_A_MOL) ** 2 * np.sum(qq * big_l))
        return {
            "collective_msd_A2": z, "charge_msd_e2A2": charge_msd,
            "D_A2_ps": d, "D_err_A2_ps": d_err,
            "D_cm2_s": d * _A2_PS_TO_CM2_S, "D_err_cm2_s": d_err * _A2_PS_TO_CM2_S,
            "sigma_S_m": sigma, "sigma_err_S_m": sigma_err, "sigma_mS_cm": sigma * S_M_TO_MS_CM,
            "sigma_err_mS_cm": sigma_err * S_M_TO_MS_CM, "sigma_NE_S_m": sigma_ne, "sigma_NE_err_S_m": sigma_ne_err,
            "sigma_NE_mS_cm": sigma_ne * S_M_TO_MS_CM, "sigma_NE_err_mS_cm": sigma_ne_err * S_M_TO_MS_CM,
            "sigma_onsager_S_m": sigma_on, "sigma_ij_S_m": qq * big_l * (E_CHARGE_C * N_A_MOL) ** 2,
            "sigma_ij_err_S_m": np.abs(qq) * big_l_err * (E_CHARGE_C * N_A_MOL) ** 2,
            "L_mol2_J_m_s": big_l, "L_err_mol2_J_m_s": big_l_err,
            "L_self_mol2_J_m_s": l_self, "L_self_err_mol2_J_m_s": l_self_err, "L_distinct_mol2_J_m_s": l_dist,
            "L_distinct_err_mol2_J_m_s": l_dist_err, "transference": t_on, "transference_err": t_on_err,
            "transference_NE": t_ne, "transference_NE_err": t_ne_err, "ionicity": ionicity,
            "ionicity_err": ionicity_err, "fit_start_ps": float(lag[idx[0]]), "fit_stop_ps": float(lag[idx[-1]]),
            "n_fit_points": int(idx.size), "n_blocks": int(n_blocks), "block_ps": float(length * (lag[1] - lag[0])),
        }
