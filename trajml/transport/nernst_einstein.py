"""Nernst–Einstein conductivity: ``σ_NE = e²/(V k_B T) Σ_s N_s q_s² D_s`` from self-diffusion.

No ion–ion correlations enter (compare the Einstein–Helfand conductivity of
:class:`~trajml.transport.conductivity.Conductivity`); the error is propagated from the D errors
(standard errors over independent particles), species taken as independent.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trajml.units import A2_PS_TO_M2_S as _A2_PS_TO_M2_S
from trajml.units import A3_TO_M3 as _A3_TO_M3
from trajml.units import E_CHARGE_C
from trajml.units import KB_J_K as K_B_J_K

__all__ = ["nernst_einstein_conductivity"]


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
