"""Run an all-atom PEO/LiTFSI simulation with OpenMM and write its outputs (``trajml simulate --model all-atom``).

:func:`simulate_allatom` goes through four stages:

1. **Build** — random trans/gauche chains, TFSI⁻ and Li⁺ placed without overlaps in a cubic box at
   ``initial_density`` (:func:`~trajml.sim.allatom_builder.build_allatom`).
2. **Minimisation** of the full model (:func:`~trajml.sim.allatom_system.build_allatom_system`).
3. **Equilibration** at ``temperature`` (Langevin, Monte Carlo barostat every 25 steps): 10 % of
   ``n_equilibration`` at ``timestep / 2`` and 45 % at ``timestep``, both at ``compression_pressure``
   (the low-density start collapses to a melt), then 45 % at ``pressure``. A chunk that produces NaN or
   infinite energies is redone from the last good state with half the step (at most three times).
4. **Production** — the barostat is switched off (constant volume at the last equilibration box) and
   ``n_steps`` steps are run; every ``save_interval`` steps the positions (molecules kept whole, each
   wrapped into the box by OpenMM) are written.

Outputs in ``output_dir``, through the same writers as the coarse-grained model: ``<name>.psf`` (bonds,
charges as simulated, masses, resnames ``PEO``/``TFSI``/``LI``), ``<name>.xtc`` or ``.dcd``, ``<name>.json``
and optionally ``<name>.pdb``; each written under a temporary name and moved into place only when the
whole run succeeded.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import numpy as np

from trajml.errors import NonFiniteCoordinatesError, require_extra
from trajml.sim.allatom_builder import build_allatom
from trajml.sim.allatom_metadata import allatom_metadata
from trajml.sim.allatom_parameters import AllAtomParameters
from trajml.sim.allatom_system import build_allatom_system
from trajml.sim.openmm_stages import _advance, _production, _state_ok
from trajml.sim.openmm_system import make_platform
from trajml.sim.outputs import _open_writer, _temporary, _write_pdb
from trajml.sim.parameters import BOLTZMANN
from trajml.sim.psf import write_psf
from trajml.sim.run import SimulationResult, _check_name, _resolve_parameters

__all__ = ["simulate_allatom"]

logger = logging.getLogger("trajml.sim")

_BAROSTAT_FREQUENCY = 25
_AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660


def _box_edge(state: Any, unit: Any) -> float:
    return float(state.getPeriodicBoxVectors()[0][0].value_in_unit(unit.angstrom))


def simulate_allatom(
    parameters: AllAtomParameters | None = None,
    output_dir: str | os.PathLike[str] = ".",
    name: str = "spe_aa",
    *,
    write_pdb: bool = False,
    progress: bool = True,
    **overrides: Any,
) -> SimulationResult:
    """Simulate an all-atom PEO/LiTFSI electrolyte and write topology, trajectory and metadata.

    Parameters
    ----------
    parameters : AllAtomParameters, optional
        The knobs; defaults to ``AllAtomParameters()`` (the bundled all-atom sample's).
    output_dir : str or path-like
        Directory for the outputs; created if missing.
    name : str
        File stem of the outputs.
    write_pdb : bool
        Also write ``<name>.pdb`` with the first frame.
    progress : bool
        Show a progress bar over the equilibration and production steps.
    **overrides
        Parameters to change, validated like :class:`AllAtomParameters`.

    Returns
    -------
    SimulationResult
        Paths of the files written and a few counts (``n_atoms`` is the number of atoms).

    Raises
    ------
    ValueError
        For an invalid parameter, a start that cannot be built or a cut-off too long for the box.
    trajml.errors.NonFiniteCoordinatesError
        If the simulation blows up beyond recovery; no file is written.
    trajml.errors.MissingExtraError
        If OpenMM is not installed (``pip install 'trajml[sim]'``).
    """
    t_start = time.perf_counter()
    params = _resolve_parameters(parameters, AllAtomParameters, "simulate_allatom", overrides)
    name = _check_name(name)
    out_dir = os.fspath(output_dir)
    mm = require_extra("openmm", "sim", "trajml simulate --model all-atom")
    unit = require_extra("openmm.unit", "sim", "trajml simulate --model all-atom")
    mda = require_extra("MDAnalysis", "sim", "trajml simulate --model all-atom")
    os.makedirs(out_dir, exist_ok=True)

    topology, positions = build_allatom(params)
    system = build_allatom_system(topology, cutoff=params.cutoff, hydrogen_mass=params.hydrogen_mass)
    barostat = mm.MonteCarloBarostat(params.compression_pressure, params.temperature, _BAROSTAT_FREQUENCY)
    system.addForce(barostat)
    platform, props = make_platform(params)
    seeds = [int(s) for s in np.random.default_rng(params.seed + 1).integers(1, 2**31 - 1, size=3)]
    barostat.setRandomNumberSeed(seeds[2])
    dof = 3 * topology.n_atoms - system.getNumConstraints() - 3
    timings: dict[str, float] = {}

    final = {
        "topology": os.path.join(out_dir, f"{name}.psf"),
        "trajectory": os.path.join(out_dir, f"{name}.{params.trajectory_format}"),
        "metadata": os.path.join(out_dir, f"{name}.json"),
    }
    if write_pdb:
        final["pdb"] = os.path.join(out_dir, f"{name}.pdb")
    temps = {key: _temporary(out_dir, name, os.path.basename(path).rsplit(".", 1)[1]) for key, path in final.items()}

    try:
        write_psf(
            temps["topology"], names=topology.names, types=topology.types, resnames=topology.resnames,
            resids=topology.resids, segids=topology.segids, charges=topology.charges, masses=topology.masses,
            bonds=topology.bonds,
            title=[
                "trajml simulate --model all-atom: PEO/LiTFSI, OPLS-AA PEO + CL&P Li/TFSI",
                f"{params.n_chains} chains CH3O(CH2CH2O){params.eo_units}CH3, {params.n_li} Li, {params.n_anions} TFSI",
                f"ion charges scaled by {params.charge_scale:g}; units: angstrom, e, amu",
            ],
        )

        t0 = time.perf_counter()
        integrator = mm.LangevinMiddleIntegrator(params.temperature, params.friction, params.timestep / 2.0)
        integrator.setRandomNumberSeed(seeds[0])
        context = mm.Context(system, integrator, platform, props)
        context.setPositions(positions * 0.1)
        try:
            mm.LocalEnergyMinimizer.minimize(context, 10.0, 5000)
        except mm.OpenMMException as exc:
            raise NonFiniteCoordinatesError(
                f"Energy minimisation blew up (seed {params.seed}): {exc}. Try another 'seed' or a lower "
                "'initial_density'."
            ) from exc
        state = context.getState(getPositions=True, getEnergy=True)
        if not _state_ok(state, unit):
            raise NonFiniteCoordinatesError(
                f"Energy minimisation gave non-finite energies (seed {params.seed}). Try another 'seed' or a "
                "lower 'initial_density'."
            )
        minimized_energy = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        context.setVelocitiesToTemperature(params.temperature, seeds[1])
        timings["minimization_s"] = time.perf_counter() - t0

        from trajml._progress import progress_bar

        bar = progress_bar(params.n_equilibration + params.n_steps, "trajml simulate", "step", progress)
        retries: list[int] = []
        equil_log: dict[str, list[float]] = {"time_ps": [], "temperature_k": [], "density_g_per_cm3": [],
                                             "box_length_angstrom": []}
        clock = {"t": 0.0, "dt": params.timestep / 2.0}

        def on_steps(n: int) -> None:
            bar.update(n)
            clock["t"] += n * clock["dt"]
            st = context.getState(getEnergy=True)
            edge = _box_edge(st, unit)
            equil_log["time_ps"].append(clock["t"])
            equil_log["temperature_k"].append(2.0 * st.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
                                              / (dof * BOLTZMANN))
            equil_log["density_g_per_cm3"].append(params.total_mass * _AMU_PER_A3_TO_G_PER_CM3 / edge**3)
            equil_log["box_length_angstrom"].append(edge)
            logger.info("%.1f ps: T = %.1f K, density = %.3f g/cm3", clock["t"], equil_log["temperature_k"][-1],
                        equil_log["density_g_per_cm3"][-1])

        t0 = time.perf_counter()
        n_a = params.n_equilibration // 10
        n_b = (params.n_equilibration - n_a) // 2
        n_c = params.n_equilibration - n_a - n_b
        chunk = max(500, min(5000, params.n_equilibration // 40 or 500))
        for steps, dt, pressure, label in ((n_a, params.timestep / 2.0, params.compression_pressure, "compression"),
                                           (n_b, params.timestep, params.compression_pressure, "compression"),
                                           (n_c, params.timestep, params.pressure, "equilibration")):
            if steps:
                context.setParameter(mm.MonteCarloBarostat.Pressure(), pressure)
                clock["dt"] = dt
                _advance(context, integrator, steps, dt, chunk, unit, on_steps, label, retries)
        timings["equilibration_s"] = time.perf_counter() - t0

        # Production at constant volume.
        barostat.setFrequency(0)
        context.reinitialize(preserveState=True)
        integrator.setStepSize(params.timestep)
        t0 = time.perf_counter()
        n_frames = params.n_frames
        writer = _open_writer(temps["trajectory"], params.trajectory_format, topology.n_atoms, params)
        universe = mda.Universe.empty(topology.n_atoms, trajectory=True)
        box = _box_edge(context.getState(), unit)
        try:
            thermo, first_frame = _production(
                integrator, context, writer, universe, n_frames, params.save_interval, params.timestep, box, dof,
                unit, bar, wrap=False,
                advice=f"Lower 'timestep' (got {params.timestep} ps) or lengthen 'n_equilibration'.")
        finally:
            writer.close()
            bar.close()
        timings["production_s"] = time.perf_counter() - t0
        context = integrator = None  # free the OpenMM context before writing the outputs

        if write_pdb and first_frame is not None:
            _write_pdb(temps["topology"], temps["pdb"], first_frame, box)
        wall = time.perf_counter() - t_start
        timings["total_s"] = wall
        metadata = allatom_metadata(
            params, topology, name, final, mm, props, platform_name=platform.getName(), box_length=box,
            minimized_energy=minimized_energy, n_constraints=system.getNumConstraints(), retries=retries,
            timings=timings, equilibration=equil_log, thermo={k: v.tolist() for k, v in thermo.items()},
        )
        with open(temps["metadata"], "w", encoding="utf-8") as fh:
            json.dump(metadata, fh, indent=1, sort_keys=False)
            fh.write("\n")
        for key in [k for k in final if k != "metadata"] + ["metadata"]:
            os.replace(temps[key], final[key])
    except BaseException:
        for tmp in temps.values():
            try:
                os.remove(tmp)
            except OSError:
                pass
        raise

    logger.info("simulate_allatom: wrote %s in %.1f s", final["trajectory"], wall)
    return SimulationResult(
        topology=final["topology"], trajectory=final["trajectory"], metadata=final["metadata"],
        pdb=final.get("pdb"), n_atoms=topology.n_atoms, n_frames=params.n_frames,
        frame_interval=params.frame_interval, wall_seconds=wall,
    )
