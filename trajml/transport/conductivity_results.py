"""Results of :class:`~trajml.transport.conductivity.Conductivity`: :class:`ConductivityResults` and its units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from trajml.results import Results

__all__ = ["ConductivityResults", "UNITS"]


@dataclass(frozen=True, eq=False, kw_only=True)
class ConductivityResults(Results):
    """Conductivities, Onsager coefficients and transference numbers of S ionic species.

    Species arrays are ordered as the species were given ((cation, anion) for ``cation``/``anion``);
    below S is the number of species.

    Attributes
    ----------
    species : tuple of str
        Species labels (the ``species`` keys; for ``cation``/``anion`` the atom names, or residue names
        with ``per_molecule``).
    selections : tuple of str
        Each species' selection, as given.
    charges_e : ndarray, shape (S,), float64
        Charge of one particle of each species in e.
    charge_source : str
        ``"given"`` (the ``charges`` parameter) or ``"topology"`` (partial charges summed per particle).
    charge_scale : float
        Declared scaling of the ionic charges (1.0: none); topology sums were checked against integers
        times it.
    n_ions : ndarray, shape (S,), int64
        Particles of each species.
    temperature_K : float
        Temperature in K.
    temperature_source : str
        ``"given"`` or ``"metadata"`` (the run's metadata file).
    volume_A3 : float
        Mean box volume in Å³ (or the given volume).
    lag_ps : ndarray, shape (T,), float64
        Lag times in ps.
    self_msd_A2 : ndarray, shape (S, T), float64
        Self MSD of each species in Å² (averaged over particles and all origins).
    collective_msd_A2 : ndarray, shape (S, S, T), float64
        ``⟨ΔM_i · ΔM_j⟩`` of the species' summed displacements in Å² (all origins).
    charge_msd_e2A2 : ndarray, shape (T,), float64
        ``⟨|Σ_i q_i Δr_i|²⟩`` in e²·Å², computed directly from the charge-weighted sum.
    D_A2_ps, D_err_A2_ps : ndarray, shape (S,), float64
        Self-diffusion coefficients and standard errors (over particles) in Å²/ps.
    D_cm2_s, D_err_cm2_s : ndarray, shape (S,), float64
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
    sigma_ij_S_m, sigma_ij_err_S_m : ndarray, shape (S, S), float64
        Contributions ``F² z_i z_j L_ij`` to σ (summing to it) and their block errors in S/m.
    L_mol2_J_m_s, L_err_mol2_J_m_s : ndarray, shape (S, S), float64
        Onsager coefficients ``L_ij`` (``σ = F² Σ z_i z_j L_ij``) and block standard errors in
        mol²/(J·m·s).
    L_self_mol2_J_m_s, L_self_err_mol2_J_m_s : ndarray, shape (S,), float64
        Self parts ``N_i D_i/(V k_B T N_A²)`` and errors in mol²/(J·m·s).
    L_distinct_mol2_J_m_s, L_distinct_err_mol2_J_m_s : ndarray, shape (S, S), float64
        Distinct parts ``L_ij − δ_ij L_ii^self`` and errors in mol²/(J·m·s).
    transference, transference_err : float
        Cation transference number ``t₊`` from the Onsager coefficients (the cations' share of the
        current, ``Σ_{q_i>0} t_i``; the usual t₊ of a binary salt), and its block error.
    transference_NE, transference_NE_err : float
        Nernst–Einstein ``t₊`` (``Σ_{q_i>0} t_i^NE``), and its error.
    transference_species, transference_species_err : ndarray, shape (S,), float64
        Transference number of each species ``t_i = q_i Σ_j q_j L_ij / Σ_jk q_j q_k L_jk`` (summing
        to 1), and block errors.
    transference_NE_species, transference_NE_species_err : ndarray, shape (S,), float64
        Nernst–Einstein ``t_i^NE = q_i² N_i D_i / Σ_s q_s² N_s D_s``, and errors (over particles).
    ionicity, ionicity_err : float
        ``σ/σ_NE`` (inverse Haven ratio), and its error.
    fit_start_ps, fit_stop_ps : float
        Fit window in ps (both ends included).
    n_fit_points : int
        Lags in the window.
    window_method : str
        ``"given"`` or ``"auto"``.
    n_blocks : int
        Time blocks behind the errors of σ, L and t (summed over replicas when combined); with fewer
        than 5, ``warnings`` says the errors are rough.
    block_ps : float
        Span of one time block in ps.
    error_method : str
        ``"blocks"`` (σ, L, t₊), with D errors over ``"particles"``; ``"replicas"`` when the
        numbers are means over replicas (several trajectories) and every error is the standard
        error of that mean (each replica's own result is in ``replicas``).
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
    warnings : tuple of str
        What makes the numbers less solid than they look, e.g. σ errors from fewer than 5 time
        blocks (:data:`trajml.transport._uncertainty.MIN_RELIABLE_BLOCKS`), or species that are not
        electroneutral together; empty when none.
    """

    _TABLE: ClassVar[tuple[str, ...]] = ("lag_ps", "charge_msd_e2A2")
    _HEADLINE: ClassVar[tuple[str, ...]] = ("sigma_mS_cm", "sigma_err_mS_cm", "sigma_NE_mS_cm", "transference",
                                            "ionicity", "fit_start_ps", "fit_stop_ps")
    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "lag_ps": ("lag_ps",), "charge_msd_e2A2": ("lag_ps",), "self_msd_A2": ("species", "lag_ps"),
        "collective_msd_A2": ("species", "species_j", "lag_ps"), "charges_e": ("species",),
        "n_ions": ("species",), "D_A2_ps": ("species",), "D_err_A2_ps": ("species",), "D_cm2_s": ("species",),
        "D_err_cm2_s": ("species",), "L_mol2_J_m_s": ("species", "species_j"),
        "L_err_mol2_J_m_s": ("species", "species_j"), "L_self_mol2_J_m_s": ("species",),
        "L_self_err_mol2_J_m_s": ("species",), "L_distinct_mol2_J_m_s": ("species", "species_j"),
        "L_distinct_err_mol2_J_m_s": ("species", "species_j"), "sigma_ij_S_m": ("species", "species_j"),
        "sigma_ij_err_S_m": ("species", "species_j"), "transference_species": ("species",),
        "transference_species_err": ("species",), "transference_NE_species": ("species",),
        "transference_NE_species_err": ("species",),
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
    transference_species: np.ndarray
    transference_species_err: np.ndarray
    transference_NE_species: np.ndarray
    transference_NE_species_err: np.ndarray
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
    warnings: tuple[str, ...] = ()
    charge_scale: float = 1.0

    def curves(self) -> dict[str, np.ndarray]:
        """The curves σ, L_ij and D were fitted to, as CSV columns (one row per lag).

        Columns, with ``A``, ``B``, ... the species labels (``species``, in order):

        * ``lag_ps``: lag time in ps;
        * ``self_msd_A_A2``, ``self_msd_B_A2``, ...: self MSD of each species in Å² (D = slope/6);
        * ``collective_msd_A_A_A2``, ``collective_msd_A_B_A2``, ``collective_msd_B_B_A2``, ...: every pair
          ``i ≤ j`` (row by row) of ``⟨ΔM_i·ΔM_j⟩`` of the species' summed displacements in Å² (L_ij
          from their slopes; the matrix is symmetric, so B_A is left out);
        * ``charge_msd_e2A2``: ``⟨|Σ_i q_i Δr_i|²⟩`` in e²·Å² (σ = e² slope / (6 V k_B T)).

        Returns
        -------
        dict of str to ndarray, shape (T,), float64
            Columns in the order above; the arrays are the result's own (not copies).
        """
        out = {"lag_ps": self.lag_ps}
        for s, name in enumerate(self.species):
            out[f"self_msd_{name}_A2"] = self.self_msd_A2[s]
        n = len(self.species)
        for i, j in ((i, j) for i in range(n) for j in range(i, n)):
            out[f"collective_msd_{self.species[i]}_{self.species[j]}_A2"] = self.collective_msd_A2[i, j]
        out["charge_msd_e2A2"] = self.charge_msd_e2A2
        return out


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
    "transference_species": "", "transference_species_err": "", "transference_NE_species": "",
    "transference_NE_species_err": "", "charge_scale": "",
    "ionicity": "", "ionicity_err": "", "fit_start_ps": "ps", "fit_stop_ps": "ps", "n_fit_points": "",
    "n_blocks": "", "block_ps": "ps", "n_frames": "", "dt_ps": "ps",
}
