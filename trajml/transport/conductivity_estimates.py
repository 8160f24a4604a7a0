"""The numbers of :class:`~trajml.transport.conductivity.Conductivity` from its curves, for any number of species.

Given the per-particle MSDs and the per-species position sums ``M_s(t)`` of one trajectory,
:func:`conductivity_estimates` fits D, σ (Einstein–Helfand), σ_NE, the Onsager matrix ``L_ij``,
the transference numbers and the ionicity over one window, with their errors (D over particles;
σ, L, t over time blocks; propagated to ratios by the delta method). Definitions are in the
documentation of :mod:`trajml.transport.conductivity`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trajml.transport._uncertainty import few_blocks_warning
from trajml.transport.nernst_einstein import nernst_einstein_conductivity
from trajml.units import A2_PS_TO_CM2_S as _A2_PS_TO_CM2_S
from trajml.units import A2_PS_TO_M2_S as _A2_PS_TO_M2_S
from trajml.units import A3_TO_M3 as _A3_TO_M3
from trajml.units import E_CHARGE_C, N_A_MOL, S_M_TO_MS_CM
from trajml.units import KB_J_K as K_B_J_K

__all__ = ["conductivity_estimates", "onsager_transference", "pair_order"]

#: Largest |Σ_s N_s q_s| in e before a result warns that the system is not electroneutral.
NEUTRALITY_TOLERANCE = 1e-3


def pair_order(n_species: int) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i ≤ j``: the diagonal first, then ``i < j`` row by row (``θ`` of the delta method)."""
    return [(i, i) for i in range(n_species)] + [(i, j) for i in range(n_species) for j in range(i + 1, n_species)]


def onsager_transference(theta: np.ndarray, charges: np.ndarray, which: int | np.ndarray) -> float:
    """Transference number ``Σ_{i∈which} z_i Σ_j z_j L_ij / Σ_ij z_i z_j L_ij`` from ``θ`` (:func:`pair_order`).

    ``which`` is one species index or a boolean mask (e.g. the cations: their share of the current).
    """
    q = [float(v) for v in charges]
    pairs = pair_order(len(q))
    slope: dict[tuple[int, int], float] = {p: float(t) for p, t in zip(pairs, theta)}
    members = [int(which)] if np.isscalar(which) else [int(k) for k in np.flatnonzero(which)]
    total = 0.0
    for i, j in pairs:
        total = total + (q[i] * q[i] * slope[i, j] if i == j else 2 * q[i] * q[j] * slope[i, j])
    part = 0.0
    for i in members:
        num = q[i] * q[i] * slope[i, i]
        for j in range(len(q)):
            if j != i:
                num = num + q[i] * q[j] * slope[min(i, j), max(i, j)]
        part = part + num / total
    return part


def _ne_transference(x: np.ndarray, contrib: np.ndarray, members: np.ndarray) -> float:
    part = 0.0
    for i in members:
        part = part + contrib[i] * x[i] / (contrib @ x)
    return part


def conductivity_estimates(lag: np.ndarray, idx: np.ndarray, per_particle: np.ndarray, labels: np.ndarray,
                           sums: np.ndarray, n_ions: np.ndarray, charges: np.ndarray, volume: float,
                           temperature: float, n_blocks_asked: int) -> dict[str, Any]:
    """Fit every number of a conductivity result over the window ``lag[idx]``.

    Parameters
    ----------
    lag : ndarray, shape (T,), float64
        Lag times in ps.
    idx : ndarray of int
        Lags of the fit window.
    per_particle : ndarray, shape (P, L), float64
        Per-particle MSDs in Å² (lags 0..L-1, L > idx[-1]).
    labels : ndarray, shape (P,), int64
        Species of each particle.
    sums : ndarray, shape (S, T, 3), float64
        Per-species sums of (drift-corrected) particle positions in Å.
    n_ions : ndarray, shape (S,), int64
        Particles per species.
    charges : ndarray, shape (S,), float64
        Charge of one particle of each species in e.
    volume : float
        Volume in Å³.
    temperature : float
        Temperature in K.
    n_blocks_asked : int
        Time blocks wanted for the errors (fewer are used when a block cannot hold the window).

    Returns
    -------
    dict
        The fields of :class:`~trajml.transport.ConductivityResults` computed from the curves.
    """
    from trajml.kernels.correlation import msd_fft
    from trajml.transport._onsager import cross_msd_fft, delta_method, linear_weights

    n_species = n_ions.size
    n_frames = lag.size
    w = linear_weights(lag[idx])
    # self-diffusion over the window, errors over independent particles
    d_i = per_particle[:, idx] @ w / 6.0
    d = np.array([d_i[labels == s].mean() for s in range(n_species)])
    d_err = np.array([d_i[labels == s].std(ddof=1) / math.sqrt(n_ions[s]) if n_ions[s] > 1 else math.nan
                      for s in range(n_species)])
    # collective displacements: full run and time blocks
    z = cross_msd_fft(sums)  # (S, S, T)
    n_blocks = min(n_blocks_asked, n_frames // (int(idx[-1]) + 1))
    length = n_frames // n_blocks
    z_blocks = cross_msd_fft(sums[:, :n_blocks * length].reshape(n_species, n_blocks, length, 3)
                             .transpose(1, 0, 2, 3))
    slope = z[:, :, idx] @ w  # Å²/ps
    slope_k = z_blocks[:, :, :, idx] @ w  # (K, S, S)
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
    # transference numbers (each species, and the cations together) and ionicity
    pairs = pair_order(n_species)
    theta = np.array([slope[i, j] for i, j in pairs])
    theta_k = np.stack([slope_k[:, i, j] for i, j in pairs], axis=1)
    cov = np.cov(theta_k, rowvar=False, ddof=1) / n_blocks
    cations = charges > 0
    t_each = np.array([onsager_transference(theta, charges, s) for s in range(n_species)])
    t_each_err = np.array([delta_method(lambda th, s=s: onsager_transference(th, charges, s), theta, cov)
                           for s in range(n_species)])
    t_on = float(onsager_transference(theta, charges, cations))
    t_on_err = delta_method(lambda th: onsager_transference(th, charges, cations), theta, cov)
    contrib = n_ions * charges**2
    d_cov = np.diag(d_err**2)
    t_ne_each = contrib * d / (contrib @ d)
    t_ne_each_err = np.array([delta_method(lambda x, s=s: _ne_transference(x, contrib, [s]), d, d_cov)
                              for s in range(n_species)])
    members = np.flatnonzero(cations)
    t_ne = float(_ne_transference(d, contrib, members))
    t_ne_err = delta_method(lambda x: _ne_transference(x, contrib, members), d, d_cov)
    ionicity = sigma / sigma_ne
    ionicity_err = abs(ionicity) * math.hypot(sigma_err / sigma, sigma_ne_err / sigma_ne)
    sigma_on = float((E_CHARGE_C * N_A_MOL) ** 2 * np.sum(qq * big_l))
    net = float(n_ions @ charges)
    warnings = [few_blocks_warning("σ (and L_ij, t₊)", int(n_blocks))]
    if abs(net) > NEUTRALITY_TOLERANCE:
        warnings.append(f"the species carry a net charge of {net:g} e (not electroneutral): σ then depends on the "
                        "reference frame; check that every ionic species is given")
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
        "transference_NE": t_ne, "transference_NE_err": t_ne_err,
        "transference_species": t_each, "transference_species_err": t_each_err,
        "transference_NE_species": t_ne_each, "transference_NE_species_err": t_ne_each_err,
        "ionicity": ionicity, "ionicity_err": ionicity_err, "fit_start_ps": float(lag[idx[0]]),
        "fit_stop_ps": float(lag[idx[-1]]), "n_fit_points": int(idx.size), "n_blocks": int(n_blocks),
        "block_ps": float(length * (lag[1] - lag[0])), "warnings": tuple(w for w in warnings if w),
    }
