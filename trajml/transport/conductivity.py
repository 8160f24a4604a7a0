"""Ionic conductivity, Onsager transport coefficients and transference numbers of any ionic system.

Species: any number of ionic species (``species={"Li": "name Li", "Mg": "name Mg", "TFSI": "resname
TFSI"}``), each an atom or a molecular ion (``per_molecule``: the centre of mass of each molecule, a
bonded fragment or, without bonds, a residue), with one charge per species: given, or the sum of the
topology's partial charges per particle, checked to be an integer or an integer times a declared
``charge_scale`` (:mod:`trajml.transport.conductivity_charges`). ``Conductivity(cation, anion)`` is sugar
for two species with the signs checked.

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
* **Transference number** of each species ``t_i = q_i Σ_j q_j L_ij / Σ_jk q_j q_k L_jk`` (they sum
  to 1; a species moving against the current has ``t_i < 0``), and ``t₊ = Σ_{q_i>0} t_i``, the
  cations' share of the current (for a binary salt the usual ``(q₊² L₊₊ + q₊q₋ L₊₋) / Σ_ij q_i q_j
  L_ij``); their Nernst–Einstein twins ``t_i^NE = q_i² N_i D_i / Σ_s q_s² N_s D_s``; **ionicity**
  ``σ/σ_NE`` (the inverse Haven ratio).

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
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trajml._validation import TEMPERATURE_RANGE_K, Param, temperature_param
from trajml.errors import InvalidParameterError
from trajml.parallel.analysis import ParticleAnalysis
from trajml.selection import describe_selection
from trajml.transport.conductivity_charges import species_charges
from trajml.transport.conductivity_estimates import conductivity_estimates
from trajml.transport.conductivity_inputs import metadata_parameter, resolve_species, species_particles
from trajml.transport.conductivity_replicas import combine_replicas
from trajml.transport.conductivity_results import UNITS, ConductivityResults
from trajml.transport.diffusion import check_window
from trajml.transport.nernst_einstein import nernst_einstein_conductivity
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


def _check_species(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) < 2:
        raise ValueError("a mapping of at least two species labels to selections, e.g. "
                         "{'Li': 'name Li', 'TFSI': 'resname TFSI'}")
    return {str(k): v for k, v in value.items()}


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
    cation, anion : str or array_like of int, optional
        A binary salt: MDAnalysis selections (e.g. ``"name Li"``, ``"name TFSI"``) or topology indices;
        sugar for two species labelled from the topology, with the cation's charge checked positive and
        the anion's negative. None (both, without ``species``): ``"name Li"`` and ``"name TFSI"``.
    species : dict of str to selection, optional
        Any number (≥ 2) of ionic species, label to selection, e.g. ``{"Li": "name Li", "Na": "name Na",
        "TFSI": "resname TFSI", "FSI": "resname FSI"}`` (CLI: ``--species Li='name Li' ...``). Exclusive
        with ``cation``/``anion``. Results order the species as given.
    charges : dict of str to float, optional
        Charge in e of one particle of each species (divalent ions allowed), keyed by species label
        (the ``species`` key, or for ``cation``/``anion`` the role or the atom name shared by the
        selection, the residue name with ``per_molecule``), or by atom names (summed per molecule with
        ``per_molecule``), e.g. ``{"Li": 1.0, "TFSI": -1.0}``. None sums the topology's partial charges
        per particle; each sum must be an integer (within 0.01 e), or an integer times ``charge_scale``.
    charge_scale : float, optional
        Declared scaling of the model's ionic charges (e.g. 0.8 for scaled-charge force fields): topology
        sums must then be integers times it. The sums themselves are used. None: the ``charge_scale``
        declared in the run's ``trajml simulate`` metadata file if there is one (the all-atom model's 0.8),
        else unscaled. Given ``charges`` are used as given (no check).
    temperature : float, optional
        Temperature in K. None reads it from the run's metadata file (``<stem>.json`` written by
        ``trajml simulate`` beside the topology or trajectory) and fails if there is none.
    volume : float, optional
        Volume in Å³; None (default) uses the mean box volume (required without boxes).
    per_molecule : bool
        Particles are the mass-weighted centres of the selected atoms of each molecule (molecular ions:
        bonded fragments, or residues when the topology has no bonds; a monatomic ion is its own molecule),
        and charges are summed per molecule. Default False (each atom is a particle).
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
    >>> two = Conductivity(species={"Li": "name Li", "TFSI": "name TFSI"}).run(src)  # the same salt as species
    >>> bool(two.sigma_S_m == res.sigma_S_m)
    True
    """

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {"fit_start": 5.0, "fit_stop": 25.0}
    _parameters = {
        "cation": Param("selection", help="cation selection (MDAnalysis syntax) of a binary salt", metavar="SEL",
                        nullable=True, none_help="name Li (without species)"),
        "anion": Param("selection", help="anion selection of a binary salt", metavar="SEL", nullable=True,
                       none_help="name TFSI (without species)"),
        "species": Param("mapping", help="ionic species, LABEL=SEL (any number; instead of cation/anion)",
                         nullable=True, none_help="cation and anion", check=_check_species, metavar="LABEL=SEL",
                         describe="a mapping of at least two species labels to selections, e.g. "
                         "{'Li': 'name Li', 'TFSI': 'resname TFSI'}"),
        "charges": Param("mapping", help="charge in e per species (species label, atom or residue name, or "
                         "cation/anion), NAME=Q", nullable=True, none_help="the topology's charges summed per "
                         "particle", items="float",
                         check=_check_charges, metavar="NAME=CHARGE",
                         describe="a non-empty mapping of species names to charges in e, e.g. "
                         "{'Li': 1.0, 'TFSI': -1.0}"),
        "charge_scale": Param("float", help="declared scaling of the ionic charges (topology sums must be "
                              "integers times it), e.g. 0.8", positive=True, nullable=True, metavar="SCALE",
                              none_help="the run metadata's charge_scale, else none (sums must be integers)"),
        "temperature": temperature_param(nullable=True,
                                         none_help="the run's metadata JSON beside the topology", metavar="K"),
        "volume": Param("float", help="volume", unit="Å^3", positive=True, nullable=True,
                        none_help="the mean box volume"),
        "per_molecule": Param("bool", help="ions are molecules' centres of mass (molecular ions: bonded fragments, or "
                              "residues without bonds), charges summed per molecule"),
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

    def __init__(self, cation: Any = None, anion: Any = None, *, species: dict[str, Any] | None = None,
                 charges: dict[str, float] | None = None, charge_scale: float | None = None,
                 temperature: float | None = None, volume: float | None = None, per_molecule: bool = False,
                 remove_drift: bool = True, unwrap: bool = True, fit_start: float | None = None,
                 fit_stop: float | None = None, n_blocks: int = 5, tolerance: float = 0.15,
                 max_fraction: float = 0.5, min_points: int = 5, points_per_decade: int = 10,
                 block_size: int | None = None, chunk_size: int | None = None, tmpdir: str | None = None) -> None:
        self._set_params(locals())

    @classmethod
    def _check_relations(cls, values: dict[str, Any]) -> None:
        check_window("Conductivity", values.get("fit_start"), values.get("fit_stop"))
        if values.get("species") is not None and (values.get("cation") is not None
                                                   or values.get("anion") is not None):
            raise InvalidParameterError(
                "Conductivity takes either 'species' or 'cation'/'anion', not both: give the cation and anion as "
                "two entries of species (CLI: --species LABEL=SEL ...).", parameter="species", owner="Conductivity",
                constraint="None when cation or anion is given", value=values.get("species"))

    # -- engine protocol --------------------------------------------------------------------------
    def bind(self, source: Any) -> "Conductivity":
        """Resolve the species (atoms or molecules), their masses and charges; return a bound copy."""
        b = copy.copy(self)
        spec = resolve_species(source, self.species, self.cation, self.anion)
        masses = source.atoms.masses
        if (self.remove_drift or self.per_molecule) and (masses is None or not np.all(np.isfinite(masses))
                                                         or masses.sum() <= 0):
            what = "remove_drift=True" if self.remove_drift else "per_molecule=True"
            raise ValueError(f"Conductivity with {what} needs atom masses, but '{source.members[0].topology}' has "
                             "none (pass remove_drift=False to keep the lab frame).")
        # (atoms, weights, offsets, label, mol) per species
        particles = [species_particles(source, g, masses, self.per_molecule) for g in spec.atoms]
        b._labels_txt = tuple(lab if lab is not None else p[3] for lab, p in zip(spec.labels, particles))
        b._selections = spec.selections
        b._charge_scale, scale_note = self.charge_scale, ""
        if self.charge_scale is None and self.charges is None:
            # A scaled-charge model simulated by trajml declares its scaling in the run's metadata.
            found = metadata_parameter(source, 0, "charge_scale")
            if found is not None and found[0] != 1.0:
                b._charge_scale = found[0]
                scale_note = f" (charge_scale={found[0]:g} declared in '{os.path.basename(found[1])}')"
        b._charges, b._q_source = species_charges(source, particles, b._labels_txt, spec.selections, self.charges,
                                                  roles=spec.roles, charge_scale=b._charge_scale,
                                                  per_molecule=self.per_molecule)
        b._q_source += scale_note
        b._n_ions = np.array([p[2].size - 1 for p in particles], dtype=np.int64)
        b._atoms = np.concatenate([p[0] for p in particles])
        b._weights = np.concatenate([p[1] for p in particles])
        starts = np.cumsum([0] + [p[2][-1] for p in particles[:-1]])
        b._offsets = np.concatenate([particles[0][2][:1]] + [p[2][1:] + k for p, k in zip(particles, starts)]
                                    ).astype(np.int64)
        b._labels = np.repeat(np.arange(len(particles), dtype=np.int64), b._n_ions)
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

        return ion_block_task(streamed.series, streamed.drift, self._labels, self._n_ions.size, streamed.max_lag,
                              block)

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
        res = conductivity_estimates(lag, idx, per_particle, self._labels, state["sums"], self._n_ions,
                                     self._charges, streamed.volume, streamed.temperature, self.n_blocks)
        sel_txt = tuple(str(describe_selection(s)) for s in self._selections)
        record = {**provenance, "selections": [describe_selection(s) for s in self._selections]}
        return ConductivityResults(
            species=self._labels_txt, selections=sel_txt, charges_e=self._charges, charge_source=self._q_source,
            charge_scale=1.0 if self._charge_scale is None else float(self._charge_scale),
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
        found = metadata_parameter(source, traj_id, "temperature")
        if found is not None and not TEMPERATURE_RANGE_K[0] < found[0] < TEMPERATURE_RANGE_K[1]:
            low, high = TEMPERATURE_RANGE_K
            raise ValueError(f"The temperature {found[0]:g} K in '{found[1]}' is outside ({low:g}, {high:g}) K; "
                             "fix the file or pass temperature=... (CLI: --temperature K).")
        found = None if found is None else found[0]
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
