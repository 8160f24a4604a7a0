"""The ``<name>.json`` record of a :func:`~trajml.sim.run.simulate` run: parameters, derived quantities, model,
units, files, software and timings (layout version :data:`SCHEMA_VERSION`).
"""

from __future__ import annotations

import os
import platform as _pyplatform
from typing import Any

import numpy as np

from trajml.sim.builder import TYPE_NAMES, SPETopology
from trajml.sim.openmm_system import (
    COULOMB_CONSTANT,
    FENE_K,
    FENE_R0,
    GROUP_ANGLES,
    GROUP_BONDS,
    GROUP_COULOMB,
    GROUP_LIO,
    GROUP_WCA,
)
from trajml.sim.parameters import BOLTZMANN, EPSILON, SIGMA, TAU, UNIT_MAPPING, SimulationParameters

__all__ = ["SCHEMA_VERSION"]

#: Version of the layout of ``<name>.json``.
SCHEMA_VERSION: int = 1


def _version(module: str) -> str | None:
    try:
        mod = __import__(module)
    except Exception:  # pragma: no cover - optional
        return None
    return str(getattr(mod, "__version__", None))


def _trajml_version() -> str | None:
    from trajml._version import __version__

    return __version__


def _openmm_version(mm: Any) -> str:
    version = getattr(mm, "__version__", None)
    if version is None:  # pragma: no cover - older OpenMM
        version = mm.Platform.getOpenMMVersion()
    return str(version)


def _species_table(topology: SPETopology) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for code, name in enumerate(TYPE_NAMES):
        mask = topology.type_codes == code
        if not np.any(mask):
            table[name] = {"count": 0}
            continue
        first = int(np.flatnonzero(mask)[0])
        table[name] = {
            "count": int(mask.sum()),
            "charge_e": float(topology.charges[first]),
            "mass_amu": float(topology.masses[first]),
            "sigma_angstrom": float(topology.sigmas[first]),
            "resname": str(topology.resnames[first]),
            "segid": str(topology.segids[first]),
        }
    return table


def _metadata(params: SimulationParameters, topology: SPETopology, cutoffs: Any, name: str,
              final: dict[str, str], mm: Any, props: dict[str, str], *, platform_name: str,
              minimized_energy: float, max_bonds: dict[str, float], retries: list[int],
              timings: dict[str, float], thermo: dict[str, list[float]]) -> dict[str, Any]:
    counts = topology.counts()
    box = topology.box_length
    kT = BOLTZMANN * params.temperature
    bjerrum = COULOMB_CONSTANT / (params.relative_permittivity * kT)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "trajml simulate",
        "name": name,
        "parameters": params.to_dict(),
        "derived": {
            "n_beads": topology.n_beads,
            "n_chains": params.n_chains,
            "n_polymer_beads": params.n_chains * params.chain_length,
            "n_backbone_c": counts["C"],
            "n_ether_oxygen": counts["O"],
            "n_li": counts["Li"],
            "n_anions": counts["TFSI"],
            "n_molecules": params.n_molecules,
            "total_charge_e": float(np.sum(topology.charges)),
            "eo_li_ratio_actual": counts["O"] / counts["Li"],
            "box_length_angstrom": box,
            "volume_angstrom3": box**3,
            "density_per_angstrom3": topology.n_beads / box**3,
            "reduced_density": topology.n_beads / box**3 * SIGMA**3,
            "frame_interval_ps": params.frame_interval,
            "n_frames": params.n_frames,
            "production_time_ps": params.n_steps * params.timestep,
            "equilibration_time_ps": (params.n_equilibration // 4) * params.timestep / 4.0
            + (params.n_equilibration - params.n_equilibration // 4) * params.timestep,
            "timestep_over_tau": params.timestep / TAU,
            "kT_over_epsilon": kT / EPSILON,
            "eps_li_o_over_epsilon": params.eps_li_o / EPSILON,
            "k_angle_over_epsilon": params.k_angle / EPSILON,
            "bjerrum_length_angstrom": bjerrum,
            "cutoffs_angstrom": cutoffs.to_dict(),
            "minimized_potential_energy_kj_per_mol": minimized_energy,
            "max_bond_length_angstrom": max_bonds,
            "equilibration_retries": len(retries),
        },
        "species": _species_table(topology),
        "model": {
            "description": "Kremer-Grest style coarse-grained PEO/LiTFSI after Wang et al., Chem. Mater. 2020",
            "chain_sequence": "C O C O ... C (ether O on odd positions, 0-based)",
            "bonds": "FENE: -0.5 k R0^2 ln(1 - (r/R0)^2)",
            "fene_k_kj_per_mol_per_angstrom2": FENE_K,
            "fene_r0_angstrom": FENE_R0,
            "pair": "WCA (LJ cut at 2^(1/6) sigma_ij, shifted by +epsilon) for all pairs except Li-O; "
                    "Lorentz-Berthelot mixing, epsilon_ij = epsilon",
            "li_o": "full LJ with depth eps_li_o, sigma_LiO = sigma, cut and shifted at 2.5 sigma_LiO",
            "electrostatics": "Yukawa q_i q_j/(4 pi eps0 eps_r) (exp(-r/lambda_D)/r - exp(-r_c/lambda_D)/r_c), "
                              "charged beads only",
            "angles": "k_angle (1 + cos theta)" if params.k_angle > 0 else "none (k_angle = 0)",
            "thermostat": "Langevin (OpenMM LangevinMiddleIntegrator)",
            "exclusions": "none",
            "force_groups": {"bonds": GROUP_BONDS, "angles": GROUP_ANGLES, "wca": GROUP_WCA,
                             "li_o": GROUP_LIO, "coulomb": GROUP_COULOMB},
        },
        "unit_mapping": dict(UNIT_MAPPING),
        "units": {"length": "angstrom", "time": "ps", "energy": "kJ/mol", "charge": "e",
                  "temperature": "K", "mass": "amu"},
        "files": {key: os.path.basename(path) for key, path in final.items()},
        "frames": {
            "first_time_ps": params.frame_interval,
            "interval_ps": params.frame_interval,
            "wrapped": "each bead wrapped into [0, L) (molecules may be split across the boundary)",
        },
        "software": {
            "trajml": _trajml_version(),
            "openmm": _openmm_version(mm),
            "numpy": np.__version__,
            "mdanalysis": _version("MDAnalysis"),
            "python": _pyplatform.python_version(),
        },
        "platform": {"name": platform_name, "properties": dict(props)},
        "timings_s": timings,
        "thermo": thermo,
    }
