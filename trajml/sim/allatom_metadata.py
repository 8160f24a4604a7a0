"""The ``<name>.json`` record of an all-atom run: parameters, derived quantities, force field and its sources,
charge scaling, units, files, software, platform, timings and speed (layout version
:data:`~trajml.sim.metadata.SCHEMA_VERSION`, ``"model": "all-atom"``).
"""

from __future__ import annotations

import os
import platform as _pyplatform
from typing import Any

import numpy as np

from trajml.sim.allatom_builder import AllAtomTopology
from trajml.sim.allatom_forcefield import FORCEFIELD_FILE, FORCEFIELD_SOURCES, ION_RESIDUES
from trajml.sim.allatom_parameters import AllAtomParameters
from trajml.sim.allatom_system import (
    GROUP_ANGLES,
    GROUP_BONDS,
    GROUP_COULOMB,
    GROUP_LJ,
    GROUP_PAIRS14,
    GROUP_TORSIONS,
    SCALE_14,
)
from trajml.sim.metadata import SCHEMA_VERSION, _openmm_version, _trajml_version, _version

__all__ = ["allatom_metadata"]

_AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660


def allatom_metadata(params: AllAtomParameters, topology: AllAtomTopology, name: str, final: dict[str, str],
                     mm: Any, props: dict[str, str], *, platform_name: str, box_length: float,
                     minimized_energy: float, n_constraints: int, retries: list[int],
                     timings: dict[str, float], equilibration: dict[str, list[float]],
                     thermo: dict[str, list[float]]) -> dict[str, Any]:
    """The JSON-serialisable record of one all-atom run (see the module docstring)."""
    counts = topology.counts()
    simulated_ps = (params.n_equilibration // 10) * params.timestep / 2.0 + (
        params.n_equilibration - params.n_equilibration // 10 + params.n_steps) * params.timestep
    md_seconds = timings.get("equilibration_s", 0.0) + timings.get("production_s", 0.0)
    ns_per_day = simulated_ps * 1e-3 / (md_seconds / 86400.0) if md_seconds > 0 else None
    ions = np.isin(topology.resnames, ION_RESIDUES)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "trajml simulate --model all-atom",
        "model": "all-atom",
        "name": name,
        "parameters": params.to_dict(),
        "derived": {
            "n_atoms": topology.n_atoms,
            "n_chains": counts.get("PEO", 0),
            "n_li": counts.get("LI", 0),
            "n_anions": counts.get("TFSI", 0),
            "n_ether_oxygen": params.n_ether_oxygen,
            "eo_li_ratio_actual": params.n_ether_oxygen / params.n_li,
            "n_constraints": n_constraints,
            "total_charge_e": float(np.sum(topology.charges)),
            "li_charge_e": float(params.charge_scale),
            "tfsi_charge_e": -float(params.charge_scale),
            "total_mass_amu": params.total_mass,
            "initial_box_length_angstrom": topology.box_length,
            "box_length_angstrom": box_length,
            "density_g_per_cm3": params.total_mass * _AMU_PER_A3_TO_G_PER_CM3 / box_length**3,
            "frame_interval_ps": params.frame_interval,
            "n_frames": params.n_frames,
            "production_time_ps": params.n_steps * params.timestep,
            "equilibration_time_ps": simulated_ps - params.n_steps * params.timestep,
            "minimized_potential_energy_kj_per_mol": minimized_energy,
            "equilibration_retries": len(retries),
        },
        "force_field": {
            "file": FORCEFIELD_FILE,
            "sources": dict(FORCEFIELD_SOURCES),
            "charge_scale": params.charge_scale,
            "scaled_residues": list(ION_RESIDUES),
            "n_scaled_atoms": int(np.sum(ions)),
            "scale_14_lj": SCALE_14,
            "scale_14_coulomb": SCALE_14,
            "combining_rule": "geometric (sigma_ij = sqrt(sigma_i sigma_j), epsilon_ij = sqrt(epsilon_i epsilon_j))",
            "electrostatics": "PME, real-space cut-off = cutoff",
            "lennard_jones": "plain cut-off at cutoff with long-range dispersion correction",
            "constraints": "bonds to H",
            "force_groups": {"bonds": GROUP_BONDS, "angles": GROUP_ANGLES, "torsions": GROUP_TORSIONS,
                             "coulomb": GROUP_COULOMB, "lennard_jones": GROUP_LJ, "pairs_14": GROUP_PAIRS14},
        },
        "protocol": {
            "thermostat": "Langevin (OpenMM LangevinMiddleIntegrator)",
            "barostat": "Monte Carlo, isotropic, every 25 steps, during equilibration only",
            "stages": "10% of n_equilibration at timestep/2 and compression_pressure, 45% at compression_pressure, "
                      "45% at pressure; production at constant volume",
            "masses": ("force-field masses" if params.hydrogen_mass is None else
                       f"hydrogen mass repartitioning: every H {params.hydrogen_mass:g} amu, taken from its bonded "
                       "heavy atom (molecular masses unchanged); the topology file keeps the physical masses"),
        },
        "units": {"length": "angstrom", "time": "ps", "energy": "kJ/mol", "charge": "e",
                  "temperature": "K", "mass": "amu", "pressure": "bar", "density": "g/cm^3"},
        "files": {key: os.path.basename(path) for key, path in final.items()},
        "frames": {
            "first_time_ps": params.frame_interval,
            "interval_ps": params.frame_interval,
            "wrapped": "molecules kept whole, each wrapped into the box by its centre (OpenMM enforcePeriodicBox)",
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
        "performance": {"simulated_ps": simulated_ps, "ns_per_day": ns_per_day},
        "equilibration_log": equilibration,
        "thermo": thermo,
    }
