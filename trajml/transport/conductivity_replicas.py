"""Conductivity of several replicas of one system: per-replica results, their mean and spread.

Each trajectory of a Source is analysed alone (its own fit window and time-block errors). The
combined result holds the mean of every replica's number; its error is the standard error of
the mean over replicas (``std(ddof=1) / √R``), the spread of independent runs, which is what a
scientist quotes for replicas. Curves are averaged over the lags every replica has. Each
replica's own result stays in ``replicas``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from trajml.transport.conductivity_results import ConductivityResults

__all__ = ["combine_replicas", "VALUE_ERROR"]

#: Numbers averaged over replicas, each with the field that takes the standard error of that mean.
VALUE_ERROR = {
    "sigma_S_m": "sigma_err_S_m", "sigma_mS_cm": "sigma_err_mS_cm", "sigma_NE_S_m": "sigma_NE_err_S_m",
    "sigma_NE_mS_cm": "sigma_NE_err_mS_cm", "transference": "transference_err",
    "transference_NE": "transference_NE_err", "ionicity": "ionicity_err", "D_A2_ps": "D_err_A2_ps",
    "D_cm2_s": "D_err_cm2_s", "sigma_ij_S_m": "sigma_ij_err_S_m", "L_mol2_J_m_s": "L_err_mol2_J_m_s",
    "L_self_mol2_J_m_s": "L_self_err_mol2_J_m_s", "L_distinct_mol2_J_m_s": "L_distinct_err_mol2_J_m_s",
    "transference_species": "transference_species_err", "transference_NE_species": "transference_NE_species_err",
}
_MEAN_ONLY = ("sigma_onsager_S_m", "volume_A3", "temperature_K")
_CURVES = ("self_msd_A2", "collective_msd_A2", "charge_msd_e2A2")


def combine_replicas(results: list[ConductivityResults], provenance: dict[str, Any]) -> ConductivityResults:
    """The mean of the replicas' conductivities, Onsager coefficients and transference numbers.

    Raises
    ------
    ValueError
        Replicas with different species, charges or time steps; the message names them.
    """
    first = results[0]
    for k, r in enumerate(results[1:], start=1):
        if r.species != first.species or not np.allclose(r.charges_e, first.charges_e):
            raise ValueError(f"Conductivity replicas must hold the same species and charges; replica {k} has "
                             f"{r.species} {r.charges_e.tolist()}, replica 0 {first.species} "
                             f"{first.charges_e.tolist()}.")
        if not math.isclose(r.dt_ps, first.dt_ps, rel_tol=1e-5):
            raise ValueError(f"Conductivity replicas must share a time step; replica {k} has {r.dt_ps:g} ps, "
                             f"replica 0 {first.dt_ps:g} ps. Analyse them apart with traj_ids=[k].")
    n_rep = len(results)
    changes: dict[str, Any] = {}
    for value, error in VALUE_ERROR.items():
        stack = np.array([np.asarray(getattr(r, value), dtype=np.float64) for r in results])
        mean = stack.mean(axis=0)
        err = stack.std(axis=0, ddof=1) / math.sqrt(n_rep)
        changes[value] = float(mean) if mean.ndim == 0 else mean
        changes[error] = float(err) if err.ndim == 0 else err
    for name in _MEAN_ONLY:
        changes[name] = float(np.mean([getattr(r, name) for r in results]))
    n = min(r.n_frames for r in results)
    for name in _CURVES:
        changes[name] = np.mean([np.asarray(getattr(r, name))[..., :n] for r in results], axis=0)
    windows = {(r.fit_start_ps, r.fit_stop_ps) for r in results}
    same_window = len(windows) == 1
    changes.update(
        lag_ps=first.lag_ps[:n], n_frames=n, error_method="replicas", n_blocks=sum(r.n_blocks for r in results),
        fit_start_ps=first.fit_start_ps if same_window else math.nan,
        fit_stop_ps=first.fit_stop_ps if same_window else math.nan,
        window_method=first.window_method if same_window else "per replica",
        n_fit_points=min(r.n_fit_points for r in results),
        warnings=(),  # the errors are over replicas now; each replica keeps its own block warnings
        provenance={**provenance, "selections": first.provenance.get("selections"), "n_replicas": n_rep,
                    "replica_windows_ps": sorted(windows)},
        replicas=tuple(results),
    )
    return dataclasses.replace(first, **changes)
