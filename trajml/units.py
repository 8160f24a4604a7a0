"""Physical constants (CODATA 2018, exact SI definitions) and the unit conversions trajml uses.

Inside trajml lengths are in Å, times in ps, energies in kJ/mol, charges in e, temperatures
in K and masses in amu; conversions happen only at readers and on output, with the factors
below. Every constant is defined here once.

Examples
--------
>>> from trajml import units
>>> round(units.KB_KJ_MOL_K * 300.0, 6)            # kT at 300 K in kJ/mol
2.494339
>>> units.A2_PS_TO_CM2_S                         # 1 Å²/ps in cm²/s
0.0001
"""

from __future__ import annotations

__all__ = [
    "E_CHARGE_C", "KB_J_K", "N_A_MOL", "KB_KJ_MOL_K", "R_KJ_MOL_K",
    "A_TO_M", "A_TO_NM", "A2_PS_TO_M2_S", "A2_PS_TO_CM2_S", "A3_TO_M3", "PS_TO_S", "FS_TO_PS", "NS_TO_PS",
    "S_M_TO_MS_CM", "S_M_TO_S_CM", "kT",
]

#: Elementary charge in C (exact).
E_CHARGE_C = 1.602176634e-19
#: Boltzmann constant in J/K (exact).
KB_J_K = 1.380649e-23
#: Avogadro constant in 1/mol (exact).
N_A_MOL = 6.02214076e23
#: Boltzmann constant in kJ/(mol K): ``KB_J_K * N_A_MOL / 1000`` (the molar gas constant).
KB_KJ_MOL_K = 0.00831446261815324
#: Molar gas constant in kJ/(mol K); the same number as :data:`KB_KJ_MOL_K`.
R_KJ_MOL_K = KB_KJ_MOL_K

#: 1 Å in m.
A_TO_M = 1e-10
#: 1 Å in nm.
A_TO_NM = 0.1
#: 1 Å³ in m³.
A3_TO_M3 = 1e-30
#: 1 ps in s.
PS_TO_S = 1e-12
#: 1 fs in ps.
FS_TO_PS = 1e-3
#: 1 ns in ps.
NS_TO_PS = 1e3
#: 1 Å²/ps in m²/s.
A2_PS_TO_M2_S = 1e-8
#: 1 Å²/ps in cm²/s.
A2_PS_TO_CM2_S = 1e-4
#: 1 S/m in mS/cm.
S_M_TO_MS_CM = 10.0
#: 1 S/m in S/cm.
S_M_TO_S_CM = 0.01


def kT(temperature: float) -> float:
    """Thermal energy ``k_B T`` in kJ/mol.

    Parameters
    ----------
    temperature : float
        Temperature in K.

    Returns
    -------
    float
        ``KB_KJ_MOL_K * temperature`` in kJ/mol.
    """
    return KB_KJ_MOL_K * float(temperature)
