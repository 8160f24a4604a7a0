"""Run a coarse-grained SPE simulation with OpenMM and write its outputs.

:func:`simulate` goes through four stages:

1. **Build** — random-walk chains (bond 0.97 σ) and ions at random places in
   a cubic box sized from ``density`` (seeded ``numpy.random.Generator``).
2. **Push-off** — a soft, capped cosine repulsion between all non-bonded
   pairs with harmonic bonds; its amplitude grows 1 → 100 ε with an energy
   minimisation and a few Langevin steps at each level. This removes the
   random overlaps that would make the full potential infinite.
3. **Equilibration** — the full model (FENE, WCA, Li–O LJ, Yukawa,
   bending); energy minimisation, velocities drawn at ``temperature``, then
   ``n_equilibration`` Langevin steps, the first quarter with ``timestep / 4``.
   A chunk that produces NaN or infinite energies is redone from the last good
   state with half the step, at most three times in a row.
4. **Production** — ``n_steps`` steps at ``timestep``; every
   ``save_interval`` steps the positions (each bead wrapped into the box) are
   checked for NaN/inf and written. A non-finite frame raises
   :class:`~trajml.errors.NonFiniteCoordinatesError` and nothing is written.

Outputs in ``output_dir``: ``<name>.psf``, ``<name>.xtc`` or ``<name>.dcd``,
``<name>.json`` and optionally ``<name>.pdb``. Each is written under a
temporary name in the same directory and moved into place with
:func:`os.replace` only after the whole run succeeded, so a crash leaves no
half-written file. Frame ``k`` (0-based) is the state after
``(k + 1) * save_interval`` production steps and carries the time
``(k + 1) * save_interval * timestep`` ps.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.errors import NonFiniteCoordinatesError, require_extra
from trajml.sim.builder import build_topology, initial_positions
from trajml.sim.metadata import SCHEMA_VERSION, _metadata
from trajml.sim.openmm_stages import _advance, _max_bond_length, _production, _push_off, _state_ok
from trajml.sim.openmm_system import FENE_R0, build_system, compute_cutoffs, make_platform
from trajml.sim.outputs import _open_writer, _temporary, _write_pdb
from trajml.sim.parameters import SimulationParameters
from trajml.sim.psf import write_psf

__all__ = ["simulate", "SimulationResult", "SCHEMA_VERSION"]

logger = logging.getLogger("trajml.sim")


@dataclass(frozen=True)
class SimulationResult:
    """Where :func:`simulate` wrote its outputs.

    Attributes
    ----------
    topology : str
        Path of the PSF topology.
    trajectory : str
        Path of the XTC or DCD trajectory (Å, ps when read with MDAnalysis).
    metadata : str
        Path of the JSON file with every parameter and derived quantity.
    pdb : str or None
        Path of the PDB of the first frame, if requested.
    n_atoms : int
        Number of beads.
    n_frames : int
        Number of frames written.
    frame_interval : float
        Time between frames in ps.
    wall_seconds : float
        Wall-clock duration of the whole run in s.
    """

    topology: str
    trajectory: str
    metadata: str
    pdb: str | None
    n_atoms: int
    n_frames: int
    frame_interval: float
    wall_seconds: float


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name or name in (".", "..") or any(
        sep in name for sep in ("/", "\\", os.sep)
    ) or any(ch.isspace() for ch in name):
        raise ValueError(
            "The 'name' parameter of simulate must be a non-empty file stem without path separators "
            f"or whitespace. Got {name!r} instead."
        )
    return name


def _resolve_parameters(parameters: Any, cls: type, owner: str, overrides: dict[str, Any]) -> Any:
    """``parameters`` (an instance of ``cls``, None for its defaults) with ``overrides`` applied."""
    if parameters is None:
        parameters = cls()
    elif not isinstance(parameters, cls):
        raise TypeError(
            f"The 'parameters' parameter of {owner} must be {'an' if cls.__name__[0] in 'AEIOU' else 'a'} "
            f"{cls.__name__} or None. "
            f"Got {type(parameters).__name__} instead."
        )
    return parameters.replace(**overrides) if overrides else parameters


def simulate(
    parameters: SimulationParameters | None = None,
    output_dir: str | os.PathLike[str] = ".",
    name: str = "spe",
    *,
    write_pdb: bool = False,
    progress: bool = True,
    **overrides: Any,
) -> SimulationResult:
    """Simulate a coarse-grained PEO/LiTFSI electrolyte and write topology, trajectory and metadata.

    Parameters
    ----------
    parameters : SimulationParameters, optional
        The knobs; defaults to ``SimulationParameters()`` (the bundled sample's).
    output_dir : str or path-like
        Directory for the outputs; created if missing.
    name : str
        File stem of the outputs (``<name>.psf`` etc.).
    write_pdb : bool
        Also write ``<name>.pdb`` with the first frame.
    progress : bool
        Show a progress bar over the equilibration and production steps.
    **overrides
        Parameters to change, e.g. ``simulate(n_chains=8, seed=3)``; validated
        like :class:`SimulationParameters`.

    Returns
    -------
    SimulationResult
        Paths of the files written and a few counts.

    Raises
    ------
    ValueError
        For an invalid parameter or a box too small for the cut-offs.
    trajml.errors.NonFiniteCoordinatesError
        If the simulation blows up (NaN/inf) beyond recovery; no file is written.
    trajml.errors.MissingExtraError
        If OpenMM is not installed (``pip install 'trajml[sim]'``).
    """
    t_start = time.perf_counter()
    params = _resolve_parameters(parameters, SimulationParameters, "simulate", overrides)
    name = _check_name(name)
    out_dir = os.fspath(output_dir)
    mm = require_extra("openmm", "sim", "trajml simulate")
    unit = require_extra("openmm.unit", "sim", "trajml simulate")
    require_extra("MDAnalysis", "sim", "trajml simulate")
    os.makedirs(out_dir, exist_ok=True)

    topology = build_topology(params)
    cutoffs = compute_cutoffs(topology, params)
    platform, props = make_platform(params)
    rng = np.random.default_rng(params.seed)
    positions = initial_positions(topology, params.n_chains, params.chain_length, rng)
    seeds = [int(s) for s in rng.integers(1, 2**31 - 1, size=3)]
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
            temps["topology"],
            names=topology.names,
            types=topology.names,
            resnames=topology.resnames,
            resids=topology.resids,
            segids=topology.segids,
            charges=topology.charges,
            masses=topology.masses,
            bonds=topology.bonds,
            title=[
                "trajml simulate: coarse-grained PEO/LiTFSI (Kremer-Grest style)",
                f"{params.n_chains} chains x {params.chain_length} beads, {params.n_li} Li, {params.n_anions} TFSI",
                "units: angstrom, e, amu",
            ],
        )

        # Stage 1: soft push-off.
        t0 = time.perf_counter()
        logger.info("push-off: %d beads in a %.2f Å box", topology.n_beads, topology.box_length)
        pos_nm = _push_off(topology, params, positions * 0.1, seeds[0], platform, props)
        max_bond = _max_bond_length(topology, pos_nm * 10.0)
        if max_bond >= 0.95 * FENE_R0:
            raise NonFiniteCoordinatesError(
                f"After the push-off stage a bond is {max_bond:.3g} Å long, too close to the FENE limit "
                f"R0 = {FENE_R0:.3g} Å; the full potential would be infinite. Try another 'seed' "
                f"(got {params.seed}) or a lower 'density'."
            )
        timings["pushoff_s"] = time.perf_counter() - t0

        # Stage 2: full potential, minimisation and equilibration.
        t0 = time.perf_counter()
        system = build_system(topology, params, cutoffs)
        integrator = mm.LangevinMiddleIntegrator(params.temperature, params.friction, params.timestep / 4.0)
        integrator.setRandomNumberSeed(seeds[2])
        context = mm.Context(system, integrator, platform, props)
        context.setPositions(pos_nm)
        try:
            mm.LocalEnergyMinimizer.minimize(context, 10.0, 2000)
        except mm.OpenMMException as exc:  # OpenMM raises on NaN coordinates inside the minimiser
            raise NonFiniteCoordinatesError(
                f"Energy minimisation with the full potential blew up (seed {params.seed}): {exc}. Try another "
                "'seed', a lower 'density', smaller anions or less salt."
            ) from exc
        state = context.getState(getPositions=True, getEnergy=True)
        if not _state_ok(state, unit):
            raise NonFiniteCoordinatesError(
                "Energy minimisation with the full potential gave non-finite energies or positions "
                f"(seed {params.seed}). Try another 'seed' or a lower 'density'."
            )
        minimized_energy = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        max_bond_min = _max_bond_length(topology, state.getPositions(asNumpy=True).value_in_unit(unit.angstrom))
        context.setVelocitiesToTemperature(params.temperature, seeds[1])
        timings["minimization_s"] = time.perf_counter() - t0

        from trajml._progress import progress_bar

        total_steps = params.n_equilibration + params.n_steps
        bar = progress_bar(total_steps, "trajml simulate", "step", progress)
        retries: list[int] = []
        t0 = time.perf_counter()
        n_short = params.n_equilibration // 4
        chunk = max(100, min(2000, params.n_equilibration // 10 or 100))
        if n_short:
            _advance(context, integrator, n_short, params.timestep / 4.0, chunk, unit, bar.update,
                     "equilibration", retries)
        if params.n_equilibration - n_short:
            _advance(context, integrator, params.n_equilibration - n_short, params.timestep, chunk, unit,
                     bar.update, "equilibration", retries)
        timings["equilibration_s"] = time.perf_counter() - t0

        # Stage 3: production.
        t0 = time.perf_counter()
        integrator.setStepSize(params.timestep)
        box = topology.box_length
        n_frames = params.n_frames
        dof = 3 * topology.n_beads
        writer = _open_writer(temps["trajectory"], params.trajectory_format, topology.n_beads, params)
        mda = require_extra("MDAnalysis", "sim", "trajml simulate")
        universe = mda.Universe.empty(topology.n_beads, trajectory=True)
        try:
            thermo, first_frame = _production(
                integrator, context, writer, universe, n_frames, params.save_interval, params.timestep, box, dof,
                unit, bar, wrap=True, advice=f"Lower 'timestep' (got {params.timestep} ps).")
        finally:
            writer.close()
            bar.close()
        timings["production_s"] = time.perf_counter() - t0
        final_state = context.getState(getPositions=True)
        max_bond_final = _max_bond_length(topology, final_state.getPositions(asNumpy=True).value_in_unit(unit.angstrom))
        del context, integrator

        if write_pdb and first_frame is not None:
            _write_pdb(temps["topology"], temps["pdb"], first_frame, box)

        wall = time.perf_counter() - t_start
        timings["total_s"] = wall
        metadata = _metadata(
            params, topology, cutoffs, name, final, mm, props,
            platform_name=platform.getName(),
            minimized_energy=minimized_energy,
            max_bonds={"after_minimization": max_bond_min, "final": max_bond_final},
            retries=retries,
            timings=timings,
            thermo={
                "time_ps": thermo["time_ps"].tolist(),
                "potential_energy_kj_per_mol": thermo["potential_energy_kj_per_mol"].tolist(),
                "temperature_k": thermo["temperature_k"].tolist(),
            },
        )
        with open(temps["metadata"], "w", encoding="utf-8") as fh:
            json.dump(metadata, fh, indent=1, sort_keys=False)
            fh.write("\n")
        # Move everything into place; the JSON last, as the marker of a complete run.
        for key in [k for k in final if k != "metadata"] + ["metadata"]:
            os.replace(temps[key], final[key])
    except BaseException:
        for tmp in temps.values():
            try:
                os.remove(tmp)
            except OSError:
                pass
        raise

    logger.info("simulate: wrote %s in %.1f s", final["trajectory"], wall)
    return SimulationResult(
        topology=final["topology"],
        trajectory=final["trajectory"],
        metadata=final["metadata"],
        pdb=final.get("pdb"),
        n_atoms=topology.n_beads,
        n_frames=params.n_frames,
        frame_interval=params.frame_interval,
        wall_seconds=wall,
    )
