"""The guarded OpenMM stages of :func:`~trajml.sim.run.simulate`: soft push-off and chunked stepping.

* :func:`_push_off` removes the overlaps of a random start with a soft, capped cosine repulsion whose
  amplitude grows 1 → 100 ε, minimising and taking a few Langevin steps at each level.
* :func:`_advance` runs steps in chunks; a chunk that produces NaN or infinite energies is redone from
  the last good state with half the step, at most ``_MAX_RETRIES`` times in a row, then
  :class:`~trajml.errors.NonFiniteCoordinatesError` is raised.
* :func:`_state_ok` and :func:`_is_nan_failure` tell a blown-up state or OpenMM error apart.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable

import numpy as np

from trajml.errors import NonFiniteCoordinatesError, require_extra
from trajml.sim.builder import SPETopology
from trajml.sim.openmm_system import build_pushoff_system
from trajml.sim.parameters import BOLTZMANN, EPSILON, SimulationParameters

__all__: list[str] = []

logger = logging.getLogger("trajml.sim")

_PUSHOFF_AMPLITUDES = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)  # in ε
_MAX_RETRIES = 3


def _is_nan_failure(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "nan" in text or "infinit" in text or "non-finite" in text


def _state_ok(state: Any, unit: Any) -> bool:
    pe = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    ke = state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
    if not (math.isfinite(pe) and math.isfinite(ke)):
        return False
    pos = state.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    return bool(np.all(np.isfinite(pos)))


def _push_off(topology: SPETopology, params: SimulationParameters, positions_nm: np.ndarray, seed: int,
              platform: Any, props: dict[str, str]) -> np.ndarray:
    mm = require_extra("openmm", "sim", "trajml simulate")
    unit = require_extra("openmm.unit", "sim", "trajml simulate")
    system = build_pushoff_system(topology)
    integrator = mm.LangevinMiddleIntegrator(params.temperature, 5.0, 0.002)
    integrator.setRandomNumberSeed(seed)
    context = mm.Context(system, integrator, platform, props)
    try:
        context.setPositions(positions_nm)
        context.setVelocitiesToTemperature(params.temperature, seed)
        for amplitude in _PUSHOFF_AMPLITUDES:
            context.setParameter("A", amplitude * EPSILON)
            mm.LocalEnergyMinimizer.minimize(context, 10.0, 200)
            integrator.step(100)
        mm.LocalEnergyMinimizer.minimize(context, 10.0, 500)
        state = context.getState(getPositions=True, getEnergy=True)
        if not _state_ok(state, unit):
            raise NonFiniteCoordinatesError(
                "The soft push-off stage of simulate produced non-finite energies or positions "
                f"(seed {params.seed}). This should not happen; please report it with the parameters."
            )
        return np.array(state.getPositions(asNumpy=True).value_in_unit(unit.nanometer))
    finally:
        del context, integrator


def _max_bond_length(topology: SPETopology, positions_angstrom: np.ndarray) -> float:
    if not len(topology.bonds):
        return 0.0
    d = positions_angstrom[topology.bonds[:, 0]] - positions_angstrom[topology.bonds[:, 1]]
    box = topology.box_length
    d -= box * np.round(d / box)
    return float(np.max(np.linalg.norm(d, axis=1)))


def _advance(context: Any, integrator: Any, n_steps: int, step_size: float, chunk: int, unit: Any,
             on_steps: Callable[[int], None], label: str, retries: list[int]) -> None:
    """Run ``n_steps`` at ``step_size`` in chunks, redoing a failed chunk with half the step."""
    done = 0
    while done < n_steps:
        todo = min(chunk, n_steps - done)
        good = context.getState(getPositions=True, getVelocities=True, getParameters=True)
        dt = step_size
        for attempt in range(_MAX_RETRIES + 1):
            integrator.setStepSize(dt)
            failed = False
            try:
                integrator.step(todo if attempt == 0 else todo * 2**attempt)
                state = context.getState(getPositions=True, getEnergy=True)
                failed = not _state_ok(state, unit)
            except Exception as exc:  # OpenMMException on NaN coordinates
                if not _is_nan_failure(exc):
                    raise
                failed = True
            if not failed:
                break
            if attempt == _MAX_RETRIES:
                raise NonFiniteCoordinatesError(
                    f"The {label} stage of simulate produced non-finite energies or positions even with "
                    f"the time step cut to {dt:.3g} ps. Lower 'timestep' (got {step_size:.3g} ps) or soften "
                    "the interactions ('eps_li_o', 'relative_permittivity')."
                )
            retries.append(done)
            context.setState(good)
            dt = dt / 2.0
            logger.warning("%s: non-finite state; redoing %d steps with time step %.3g ps", label, todo, dt)
        integrator.setStepSize(step_size)
        done += todo
        on_steps(todo)




def _production(integrator: Any, context: Any, writer: Any, universe: Any, n_frames: int, save_interval: int,
                timestep: float, box: float, dof: int, unit: Any, bar: Any, *, wrap: bool,
                advice: str) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Production of both models: step, check, write each frame; the thermodynamic log and the first frame.

    ``wrap`` puts every atom into the cubic box (the CG model); otherwise OpenMM's per-molecule wrapping
    is kept (molecules stay whole). ``advice`` ends the message of a non-finite frame (the fix).
    Returns ``{"time_ps", "potential_energy_kj_per_mol", "temperature_k"}`` arrays (n_frames,) and the
    first frame's positions (N, 3) float32 Å.
    """
    thermo = {"time_ps": np.empty(n_frames), "potential_energy_kj_per_mol": np.empty(n_frames),
              "temperature_k": np.empty(n_frames)}
    first_frame: np.ndarray | None = None
    ts = universe.trajectory.ts
    for k in range(n_frames):
        step = (k + 1) * save_interval
        try:
            integrator.step(save_interval)
        except Exception as exc:
            if not _is_nan_failure(exc):
                raise
            raise NonFiniteCoordinatesError(
                f"Production frame {k} (step {step}) has non-finite coordinates: {exc}. {advice}") from exc
        state = context.getState(getPositions=True, getEnergy=True, enforcePeriodicBox=True)
        if not _state_ok(state, unit):
            raise NonFiniteCoordinatesError(
                f"Production frame {k} (step {step}) has non-finite energies or coordinates. {advice}")
        xyz = np.asarray(state.getPositions(asNumpy=True).value_in_unit(unit.angstrom), dtype=np.float64)
        if wrap:
            xyz = np.mod(xyz, box)
        xyz32 = xyz.astype(np.float32)
        if wrap:
            xyz32[xyz32 >= np.float32(box)] = 0.0  # float32 rounding of a coordinate just below the edge
        if first_frame is None:
            first_frame = xyz32.copy()
        ts.positions = xyz32
        ts.dimensions = np.array([box, box, box, 90.0, 90.0, 90.0], dtype=np.float32)
        ts.time = step * timestep
        ts.data["step"] = step
        ts.frame = k
        writer.write(universe.atoms)
        thermo["time_ps"][k] = step * timestep
        thermo["potential_energy_kj_per_mol"][k] = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        ke = state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
        thermo["temperature_k"][k] = 2.0 * ke / (dof * BOLTZMANN)
        bar.update(save_interval)
    return thermo, first_frame
