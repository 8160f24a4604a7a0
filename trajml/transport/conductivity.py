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
σ (blocks) and σ_NE (particles) errors as independent. ``n_blocks`` in the result says how many blocks
are behind these errors (fewer than asked when a given window is long); with fewer than 5 the result's
``warnings`` say the error is not a reliable uncertainty (the spread of 2 blocks is itself uncertain by ~70 %).

Units: D in Å²/ps and cm²/s, σ in S/m and mS/cm (1 S/m = 10 mS/cm), L in mol²/(J·m·s), T in K, V in Å³.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trajml._validation import Param
from trajml.parallel.analysis import ParticleAnalysis
from trajml.selection import describe_selection, resolve_atoms
from trajml.transport._uncertainty import few_blocks_warning
from trajml.transport.conductivity_inputs import (
    _ROLES,
    metadata_temperature,
    species_charges,
    species_particles,
)
from trajml.transport.conductivity_replicas import combine_replicas
from trajml.transport.conductivity_results import UNITS, ConductivityResults
from trajml.transport.diffusion import check_window
from trajml.transport.nernst_einstein import nernst_einstein_conductivity
from trajml.units import A2_PS_TO_CM2_S as _A2_PS_TO_CM2_S
from trajml.units import A2_PS_TO_M2_S as _A2_PS_TO_M2_S
from trajml.units import A3_TO_M3 as _A3_TO_M3
from trajml.units import E_CHARGE_C, N_A_MOL, S_M_TO_MS_CM
from trajml.units import KB_J_K as K_B_J_K

__all__ = ["Conductivity", "ConductivityResults", "nernst_einstein_conductivity",
           "E_CHARGE_C", "K_B_J_K", "N_A_MOL", "S_M_TO_MS_CM"]


def _check_charges(value: dict[str, Any]) -> dict[str, float]:
    if not value:
        raise ValueError("a non-empty mapping of species names to charges in e, e.g. {'Li': 1.0, 'TFSI': -1.0}")
    out = {}
    for key, q in value.items():
        if isinstance(q, bool) or not isinstance(q, (int, float, np.integer, np.floating)) or not math.isfinite(q):
            raise ValueError(f"a mapping of species names to finite charges in e; {key!r} has {q!r}")
        out[str(key)] = float(q)
    return out


@dataclass(frozen=True, eq=False)
class _Streamed:
    """One trajectory's ion series and what its fit needs (picklable)."""

    series: Any
    drift: np.ndarray | None
    lag: np.ndarray
    idx: np.ndarray | None
    max_lag: int
    volume: float
    temperature: float
    temperature_source: str
    dt: float
    n_frames: int


class Conductivity(ParticleAnalysis):
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

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {"fit_start": 5.0, "fit_stop": 25.0}
    _parameters = {
        "cation": Param("selection", help="cation selection (MDAnalysis syntax)", metavar="SEL"),
        "anion": Param("selection", help="anion selection", metavar="SEL"),
        "charges": Param("mapping", help="charge in e per species (atom or residue name, or cation/anion), "
                         "NAME=Q", nullable=True, none_help="the topology's charges", items="float",
                         check=_check_charges, metavar="NAME=CHARGE",
                         describe="a non-empty mapping of species names to charges in e, e.g. "
                         "{'Li': 1.0, 'TFSI': -1.0}"),
        "temperature": Param("float", help="temperature", unit="K", positive=True, nullable=True,
                             none_help="the run's metadata JSON beside the topology", metavar="K"),
        "volume": Param("float", help="volume", unit="Å^3", positive=True, nullable=True,
                        none_help="the mean box volume"),
        "per_molecule": Param("bool", help="ions are molecules' centres of mass (polyatomic ions)"),
        "remove_drift": Param("bool", help="subtract the whole system's centre-of-mass displacement (barycentric "
                              "frame, which the Einstein-Helfand conductivity needs)", aliases=("--keep-drift",)),
        "unwrap": Param("bool", help="no-jump unwrap the coordinates (off: they are already unwrapped)"),
        "fit_start": Param("float", help="start of the fit window (give both ends or neither)", unit="ps",
                           minimum=0.0, nullable=True, none_help="automatic"),
        "fit_stop": Param("float", help="end of the fit window", unit="ps", positive=True, nullable=True,
                          none_help="automatic"),
        "n_blocks": Param("int", help="time blocks for the errors of sigma, L_ij and t+", minimum=2,
                          aliases=("--blocks",)),
        "tolerance": Param("float", help="automatic window: largest |local log-log slope - 1|", positive=True),
        "max_fraction": Param("float", help="automatic window: longest lag, as a fraction of the trajectory",
                              positive=True, high=1.0, high_closed=True),
        "min_points": Param("int", help="fewest lags a fit window may hold", minimum=2),
        "points_per_decade": Param("int", help="automatic window: log-grid density", minimum=2),
        "block_size": Param("int", help="particles per correlation task", minimum=1, nullable=True,
                            none_help="from a ~64 MiB budget"),
        "chunk_size": Param("int", help="frames per read while streaming", minimum=1, nullable=True,
                            none_help="the run's chunk_size", cli=False),
        "tmpdir": Param("path", help="folder of the temporary series store", nullable=True,
                        none_help="the system's temporary folder"),
    }

    def __init__(self, cation: Any = "name Li", anion: Any = "name TFSI", *, charges: dict[str, float] | None = None,
                 temperature: float | None = None, volume: float | None = None, per_molecule: bool = False,
                 remove_drift: bool = True, unwrap: bool = True, fit_start: float | None = None,
                 fit_stop: float | None = None, n_blocks: int = 5, tolerance: float = 0.15,
                 max_fraction: float = 0.5, min_points: int = 5, points_per_decade: int = 10,
                 block_size: int | None = None, chunk_size: int | None = None, tmpdir: str | None = None) -> None:
        self._set_params(locals())

    @classmethod
    def _check_relations(cls, values: dict[str, Any]) -> None:
        check_window("Conductivity", values.get("fit_start"), values.get("fit_stop"))

    # -- engine protocol --------------------------------------------------------------------------
    def bind(self, source: Any) -> "Conductivity":
        """Resolve the ions (atoms or molecules), their masses and charges; return a bound copy."""
        owner = "Conductivity"
        b = copy.copy(self)
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
        # (atoms, weights, offsets, label, mol) per species
        particles = [species_particles(source, g, masses, self.per_molecule) for g in groups]
        b._labels_txt = tuple(p[3] for p in particles)
        b._charges, b._q_source = species_charges(source, particles, b._labels_txt, self.charges, self.cation,
                                                  self.anion)
        b._n_ions = np.array([p[2].size - 1 for p in particles], dtype=np.int64)
        b._atoms = np.concatenate([particles[0][0], particles[1][0]])
        b._weights = np.concatenate([particles[0][1], particles[1][1]])
        b._offsets = np.concatenate([particles[0][2], particles[1][2][1:] + particles[0][2][-1]]).astype(np.int64)
        b._labels = np.repeat(np.arange(2, dtype=np.int64), b._n_ions)
        b._masses = masses
        return b

    @contextlib.contextmanager
    def stream(self, source: Any, traj_id: int, frames: range, chunk_size: int, scheduler: Any,
               progress: bool) -> Iterator[_Streamed]:
        """Unwrap the ions of trajectory ``traj_id`` once into a series store; fix the fit lags."""
        from trajml.transport._onsager import stream_ions
        from trajml.transport.store import SeriesStore

        owner = "Conductivity"
        temperature, t_source = self._temperature(source, traj_id)
        n_frames = len(frames)
        if n_frames < 2 * (self.min_points + 1):
            raise ValueError(f"Conductivity needs at least {2 * (self.min_points + 1)} frames (two time blocks of "
                             f"min_points + 1); frames {frames.start}:{frames.stop}:{frames.step} of trajectory "
                             f"{traj_id} give {n_frames}.")
        with SeriesStore(self.tmpdir) as store:
            stream = stream_ions(source, store, self._atoms, self._weights, self._offsets, masses=self._masses,
                                 remove_drift=self.remove_drift, unwrap=self.unwrap, traj_id=traj_id,
                                 start=frames.start, stop=frames.stop, step=frames.step,
                                 chunk_size=self.chunk_size or chunk_size, progress=progress, owner=owner)
            dt = self._dt(stream.times, source, traj_id, frames)
            lag = np.arange(n_frames) * dt
            if self.fit_start is not None:
                idx = self._given_window(lag)
                max_lag = int(idx[-1])
            else:
                idx = None
                max_lag = self._auto_max_lag(n_frames)
            volume = self._volume(stream.volumes, source, traj_id)
            yield _Streamed(stream.series, stream.drift, lag, idx, max_lag, volume, temperature, t_source, dt,
                            n_frames)

    def blocks(self, streamed: _Streamed, scheduler: Any, n_workers: int | None) -> list[tuple[int, int]]:
        """Ion ranges of about ``block_size`` (or a ~64 MiB task budget)."""
        n_part = int(self._n_ions.sum())
        block = min(self.block_size or max(1, (64 * 2**20) // (200 * streamed.n_frames)), n_part)
        return [(lo, min(lo + block, n_part)) for lo in range(0, n_part, block)]

    def task(self, streamed: _Streamed, block: tuple[int, int]) -> dict[str, np.ndarray]:
        """Per-ion MSDs and per-species position sums of one block (runs on a worker)."""
        from trajml.transport._onsager import ion_block_task

        return ion_block_task(streamed.series, streamed.drift, self._labels, 2, streamed.max_lag, block)

    def merge(self, a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-ion MSDs side by side (ion order); species sums added."""
        return {"msd": np.concatenate([a["msd"], b["msd"]]), "msd_sum": a["msd_sum"] + b["msd_sum"],
                "sums": a["sums"] + b["sums"]}

    def finalize(self, streamed: _Streamed, state: dict[str, np.ndarray], provenance: dict[str, Any]
                 ) -> ConductivityResults:
        """σ, σ_NE, L_ij, t₊ and their errors of one trajectory."""
        lag, idx = streamed.lag, streamed.idx
        per_particle = state["msd"]
        self_msd = state["msd_sum"] / self._n_ions[:, None]
        window_method = "given"
        if idx is None:
            idx = self._auto_window(lag, per_particle.mean(axis=0))
            window_method = "auto"
        res = self._finish(lag, idx, window_method, per_particle, self._labels, self_msd, state["sums"],
                           self._n_ions, self._charges, streamed.volume, streamed.temperature)
        sel_txt = tuple(str(describe_selection(s)) for s in (self.cation, self.anion))
        record = {**provenance, "selections": [describe_selection(self.cation), describe_selection(self.anion)]}
        return ConductivityResults(
            species=self._labels_txt, selections=sel_txt, charges_e=self._charges, charge_source=self._q_source,
            n_ions=self._n_ions, temperature_K=streamed.temperature, temperature_source=streamed.temperature_source,
            volume_A3=streamed.volume, lag_ps=lag, self_msd_A2=self_msd, **res, window_method=window_method,
            drift_removed=self.remove_drift, unwrapped=self.unwrap, per_molecule=self.per_molecule,
            n_frames=streamed.n_frames, dt_ps=streamed.dt, units=dict(UNITS), provenance=record)

    def combine(self, results: list[ConductivityResults], provenance: dict[str, Any],
                states: list[Any] | None = None) -> ConductivityResults:
        """Replicas: the mean of every replica's numbers, with their standard error as the error."""
        return combine_replicas(results, provenance)

    # -- inputs ----------------------------------------------------------------------------------
    def _temperature(self, source: Any, traj_id: int) -> tuple[float, str]:
        if self.temperature is not None:
            return self.temperature, "given"
        found = metadata_temperature(source, traj_id)
        if found is None:
            member = source.members[traj_id]
            raise ValueError(
                "Conductivity needs the temperature in K: pass temperature=... (CLI: --temperature K). No metadata "
                f"file with parameters.temperature was found beside '{member.topology}' or its trajectory.")
        return found, "metadata"

    def _dt(self, times: np.ndarray, source: Any, traj_id: int, frames: range) -> float:
        from trajml.io.spacing import equal_spacing

        return equal_spacing(source, traj_id, np.asarray(frames), times, "Conductivity")

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
            "warnings": tuple(w for w in (few_blocks_warning("σ (and L_ij, t₊)", int(n_blocks)),) if w),
        }
