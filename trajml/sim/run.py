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
import math
import os
import platform as _pyplatform
import time
import uuid
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from trajml.errors import NonFiniteCoordinatesError, require_extra
from trajml.sim.builder import TYPE_NAMES, SPETopology, build_topology, initial_positions
from trajml.sim.openmm_system import (
    FENE_K,
    FENE_R0,
    GROUP_ANGLES,
    GROUP_BONDS,
    GROUP_COULOMB,
    GROUP_LIO,
    GROUP_WCA,
    COULOMB_CONSTANT,
    build_pushoff_system,
    build_system,
    compute_cutoffs,
    make_platform,
)
from trajml.sim.parameters import BOLTZMANN, EPSILON, SIGMA, TAU, UNIT_MAPPING, SimulationParameters
from trajml.sim.psf import write_psf

__all__ = ["simulate", "SimulationResult", "SCHEMA_VERSION"]

logger = logging.getLogger("trajml.sim")

#: Version of the layout of ``<name>.json``.
SCHEMA_VERSION: int = 1

_PUSHOFF_AMPLITUDES = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)  # in ε
_MAX_RETRIES = 3


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


def _version(module: str) -> str | None:
    try:
        mod = __import__(module)
    except Exception:  # pragma: no cover - optional
        return None
    return str(getattr(mod, "__version__", None))


def _trajml_version() -> str | None:
    try:
        import trajml

        return str(trajml.__version__)  # type: ignore[attr-defined]
    except Exception:
        return None


def _openmm_version(mm: Any) -> str:
    version = getattr(mm, "__version__", None)
    if version is None:  # pragma: no cover - older OpenMM
        version = mm.Platform.getOpenMMVersion()
    return str(version)


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


def _temporary(directory: str, name: str, suffix: str) -> str:
    return os.path.join(directory, f".{name}.{suffix}.{uuid.uuid4().hex[:12]}.tmp")


def _open_writer(path: str, fmt: str, n_atoms: int, params: SimulationParameters) -> Any:
    mda = require_extra("MDAnalysis", "sim", "trajml simulate")
    if fmt == "xtc":
        return mda.Writer(path, n_atoms=n_atoms, format="XTC")
    return mda.Writer(
        path,
        n_atoms=n_atoms,
        format="DCD",
        dt=params.frame_interval,
        nsavc=params.save_interval,
        istart=params.save_interval,
        remarks="trajml simulate: CG PEO/LiTFSI",
    )


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
    if parameters is None:
        parameters = SimulationParameters()
    elif not isinstance(parameters, SimulationParameters):
        raise TypeError(
            "The 'parameters' parameter of simulate must be a SimulationParameters or None. "
            f"Got {type(parameters).__name__} instead."
        )
    params = parameters.replace(**overrides) if overrides else parameters
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

        from tqdm.auto import tqdm

        total_steps = params.n_equilibration + params.n_steps
        bar = tqdm(total=total_steps, disable=not progress, unit="step", desc="trajml simulate", leave=False)
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
        thermo_time = np.empty(n_frames)
        thermo_pe = np.empty(n_frames)
        thermo_temp = np.empty(n_frames)
        dof = 3 * topology.n_beads
        first_frame: np.ndarray | None = None
        writer = _open_writer(temps["trajectory"], params.trajectory_format, topology.n_beads, params)
        mda = require_extra("MDAnalysis", "sim", "trajml simulate")
        universe = mda.Universe.empty(topology.n_beads, trajectory=True)
        ts = universe.trajectory.ts
        try:
            for k in range(n_frames):
                step = (k + 1) * params.save_interval
                try:
                    integrator.step(params.save_interval)
                except Exception as exc:
                    if not _is_nan_failure(exc):
                        raise
                    raise NonFiniteCoordinatesError(
                        f"Production frame {k} (step {step}) of simulate has non-finite coordinates: {exc}. "
                        f"Lower 'timestep' (got {params.timestep} ps)."
                    ) from exc
                state = context.getState(getPositions=True, getEnergy=True, enforcePeriodicBox=True)
                if not _state_ok(state, unit):
                    raise NonFiniteCoordinatesError(
                        f"Production frame {k} (step {step}) of simulate has non-finite energies or coordinates. "
                        f"Lower 'timestep' (got {params.timestep} ps)."
                    )
                xyz = np.asarray(state.getPositions(asNumpy=True).value_in_unit(unit.angstrom), dtype=np.float64)
                xyz = np.mod(xyz, box)
                xyz32 = xyz.astype(np.float32)
                xyz32[xyz32 >= np.float32(box)] = 0.0
                if first_frame is None:
                    first_frame = xyz32.copy()
                ts.positions = xyz32
                ts.dimensions = np.array([box, box, box, 90.0, 90.0, 90.0], dtype=np.float32)
                ts.time = step * params.timestep
                ts.data["step"] = step
                ts.frame = k
                writer.write(universe.atoms)
                thermo_time[k] = step * params.timestep
                thermo_pe[k] = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
                ke = state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
                thermo_temp[k] = 2.0 * ke / (dof * BOLTZMANN)
                bar.update(params.save_interval)
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
                "time_ps": thermo_time.tolist(),
                "potential_energy_kj_per_mol": thermo_pe.tolist(),
                "temperature_k": thermo_temp.tolist(),
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


def _write_pdb(psf_path: str, pdb_path: str, positions: np.ndarray, box: float) -> None:
    mda = require_extra("MDAnalysis", "sim", "trajml simulate")
    from MDAnalysis.coordinates.memory import MemoryReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(psf_path, topology_format="PSF")
        u.load_new(positions[None].astype(np.float32), format=MemoryReader,
                   dimensions=np.array([box, box, box, 90.0, 90.0, 90.0]))
        with mda.Writer(pdb_path, n_atoms=u.atoms.n_atoms, format="PDB") as w:
            w.write(u.atoms)


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
            "electrostatics": "Yukawa q_i q_j/(4 pi eps0 eps_r) (exp(-r/lambda_D)/r - exp(-r_c/lambda_D)/r_c), charged beads only",
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
