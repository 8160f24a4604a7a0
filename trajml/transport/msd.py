"""Mean-squared displacement over all time origins, partitioned over particles.

Algorithm
---------
1. **Stream once** (:func:`~trajml.transport.store.stream_to_store`): the
   trajectory is read in chunks of frames (only the selected atoms unless
   ``remove_drift``), no-jump unwrapped, and the selected atoms' series (or the
   mass-weighted centres of mass of their molecules) are written, one
   contiguous ``(F, P, 3)`` slab per chunk, to a frame-major store: in memory
   when they fit ``memory_budget`` and the tasks run in this process
   (``"serial"``/``"threads"``), else to a ``.npy`` file in a temporary folder.
   With ``remove_drift`` the same pass computes the whole system's
   centre-of-mass displacement ``R(t) - R(0)`` over **all** atoms.
2. **Correlate per block of particles**: each task takes every frame of a block
   of particles, subtracts the drift, and evaluates the MSD (and optionally
   ``⟨Δr⁴⟩``) of every particle over **all** time origins by batched real FFTs
   (:mod:`trajml.kernels.correlation`; with ``"serial"`` each FFT uses every core of
   the machine). Tasks run on any ``scheduler``; memory per task is
   ``block_size × T``.
3. **Reduce**: per-particle moments are summed over particles (and kept per
   particle when asked) and the temporary folder is removed.

The non-Gaussian parameter (3-D) is ``α₂(t) = 3⟨Δr⁴⟩ / (5⟨Δr²⟩²) − 1``, with
both moments averaged over every origin and particle. ``method="fft"`` (the
default) evaluates ``⟨Δr⁴⟩`` exactly over all origins by expanding it into
correlations (agreeing with direct sums to ~1e-9 relative);
``method="direct"`` sums ``|Δr|⁴`` over every origin directly in O(T²) per
particle (no expansion, slow for long series).

A molecule's centre-of-mass displacement is the mass-weighted mean of its
atoms' displacements, so its MSD does not depend on whether the molecule was
whole in the first frame.
"""

from __future__ import annotations

import functools
import math
import os
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trajml.features._selection import check_choice, check_int, describe_selection, resolve_atoms
from trajml.results import Results

__all__ = ["MSD", "MSDResults", "PER_PARTICLE_LIMIT_BYTES", "MEMORY_BUDGET_BYTES"]

#: With ``per_particle=None`` per-particle MSDs are kept when they take at most this many bytes.
PER_PARTICLE_LIMIT_BYTES = 128 * 2**20
#: Memory budget of one task's arrays (positions, FFT buffers), used for the default block size.
_TASK_BYTES = 64 * 2**20
#: Rough bytes per particle and frame that a task needs (positions, padded FFTs, moments).
_BYTES_PER_VALUE = 200
#: Default ``memory_budget`` of MSD: series up to this size are kept in memory.
MEMORY_BUDGET_BYTES = 256 * 2**20

METHODS = ("fft", "direct")
SPECIES_BY = ("names", "types", "resnames")


@dataclass(frozen=True, eq=False, kw_only=True)
class MSDResults(Results):
    """Mean-squared displacement of a selection, averaged over all time origins and particles.

    Attributes
    ----------
    lag_ps : ndarray, shape (T,), float64
        Lag times in ps (``0, Δt, 2Δt, …``).
    msd_A2 : ndarray, shape (T,), float64
        3-D MSD ``⟨|r(t+τ) − r(t)|²⟩`` in Å², averaged over origins and particles.
    msd4_A4 : ndarray, shape (T,), float64, or None
        Fourth moment ``⟨|Δr|⁴⟩`` in Å⁴ (with ``non_gaussian=True``).
    alpha2 : ndarray, shape (T,), float64, or None
        Non-Gaussian parameter ``3⟨Δr⁴⟩/(5⟨Δr²⟩²) − 1`` (dimensionless; NaN at lag 0).
    msd_per_particle_A2 : ndarray, shape (P, T), float64, or None
        Each particle's MSD over all origins, in Å² (kept when asked, or when small).
    particle_ids : ndarray, shape (P,), int64
        Topology index of each atom, or molecule id of each molecule.
    time_block_msd_A2 : ndarray, shape (K, L), float64, or None
        MSD computed within each of K consecutive time blocks of L frames
        (averaged over particles), in Å², for block-averaged errors.
    n_particles : int
        Particles averaged (atoms, or molecules with ``per_molecule``).
    n_frames : int
        Frames used (T).
    dt_ps : float
        Time between stored frames in ps.
    selection : str
        The selection, as given.
    particles : str
        ``"atoms"`` or ``"molecules"`` (mass-weighted centres of mass).
    drift_removed : bool
        Whether the system's centre-of-mass displacement was subtracted.
    unwrapped : bool
        Whether coordinates were no-jump unwrapped.
    method : str
        ``"fft"`` or ``"direct"``.
    """

    _TABLE: ClassVar[tuple[str, ...]] = ("lag_ps", "msd_A2", "msd4_A4", "alpha2")
    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "lag_ps": ("lag_ps",), "msd_A2": ("lag_ps",), "msd4_A4": ("lag_ps",), "alpha2": ("lag_ps",),
        "msd_per_particle_A2": ("particle", "lag_ps"), "particle_ids": ("particle",),
        "time_block_msd_A2": ("time_block", "block_lag"),
    }

    lag_ps: np.ndarray
    msd_A2: np.ndarray
    msd4_A4: np.ndarray | None = None
    alpha2: np.ndarray | None = None
    msd_per_particle_A2: np.ndarray | None = None
    particle_ids: np.ndarray | None = None
    time_block_msd_A2: np.ndarray | None = None
    n_particles: int = 0
    n_frames: int = 0
    dt_ps: float = float("nan")
    selection: str = ""
    particles: str = "atoms"
    drift_removed: bool = False
    unwrapped: bool = True
    method: str = "fft"


UNITS = {"lag_ps": "ps", "msd_A2": "Å^2", "msd4_A4": "Å^4", "alpha2": "", "msd_per_particle_A2": "Å^2",
         "particle_ids": "", "time_block_msd_A2": "Å^2", "n_particles": "", "n_frames": "", "dt_ps": "ps"}


@dataclass(frozen=True)
class _TaskOptions:
    method: str
    non_gaussian: bool
    per_particle: bool
    n_time_blocks: int
    n_groups: int
    fft_workers: int = 1


def _moments(pos: np.ndarray, method: str, want_m4: bool, workers: int = 1) -> tuple[np.ndarray, np.ndarray | None]:
    from trajml.kernels import correlation as kernels

    msd = np.empty(pos.shape[:2])
    m4 = np.empty(pos.shape[:2]) if want_m4 else None
    if method == "fft":
        kernels.displacement_moments_fft(pos, msd, m4, workers=workers)
    else:
        kernels.displacement_moments_direct(pos, msd, m4)
    return msd, m4


def _n_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _block_task(series: Any, drift: np.ndarray | None, labels: np.ndarray, opts: _TaskOptions,
                bounds: tuple[int, int]) -> dict[str, Any]:
    """Moments of particles ``bounds[0]:bounds[1]`` over all frames (runs on a worker)."""
    lo, hi = bounds
    if drift is not None or opts.method != "fft":
        pos = series.load(lo, hi)  # float64 copy
        if drift is not None:
            pos -= drift[None, :, :]
    else:
        pos = series.view(lo, hi)  # the FFT kernel copies it into its own float64 buffer
    msd, m4 = _moments(pos, opts.method, opts.non_gaussian, opts.fft_workers)
    onehot = (labels[lo:hi, None] == np.arange(opts.n_groups)[None, :]).astype(np.float64)  # (B, G)
    out: dict[str, Any] = {"msd": onehot.T @ msd, "m4": None if m4 is None else onehot.T @ m4, "blocks": None,
                           "per_particle": msd if opts.per_particle else None}
    k = opts.n_time_blocks
    if k:
        length = pos.shape[1] // k
        sub = pos[:, :k * length].reshape(pos.shape[0] * k, length, 3)
        block_msd, _ = _moments(sub, opts.method, False, opts.fft_workers)
        block_msd = block_msd.reshape(pos.shape[0], k * length)
        out["blocks"] = (onehot.T @ block_msd).reshape(opts.n_groups, k, length)
    return out


class MSD:
    """Mean-squared displacement (and non-Gaussian parameter) over all time origins.

    Parameters
    ----------
    select : str or array_like of int
        MDAnalysis selection string (e.g. ``"name Li"``) or topology indices.
    per_molecule : bool
        Use the mass-weighted centre of mass of the selected atoms of each
        molecule (bonded fragment, else residue) as the particle, e.g. polymer
        chains with ``"resname PEO"``. Needs topology masses.
    remove_drift : bool
        Subtract the displacement of the whole system's mass-weighted centre of
        mass (over **all** atoms, computed in the same pass) from every series.
    unwrap : bool
        No-jump unwrap the coordinates (needs periodic boxes). Pass False only
        for trajectories already unwrapped.
    per_particle : bool or None
        Keep each particle's MSD (``msd_per_particle_A2``, P × T float64), which
        gives the standard error of D over independent particles. None (default)
        keeps them when they take at most ``PER_PARTICLE_LIMIT_BYTES`` (128 MiB).
    non_gaussian : bool
        Also compute ``⟨Δr⁴⟩`` and the non-Gaussian parameter ``α₂``.
    method : {"fft", "direct"}
        Algorithm of the per-particle moments: FFT over all origins,
        O(T log T), or direct sums over all origins, O(T²).
    time_blocks : int
        Also compute the MSD within this many consecutive time blocks, for
        block-averaged errors of D (0: none). Default 5.
    block_size : int or None
        Particles per task (None: as many as fit a ~64 MiB task budget).
    chunk_size : int
        Frames per read while streaming. Default 100.
    memory_budget : int
        Bytes the stored series may take in memory (``P × T × 3`` float32 for
        atoms, float64 for molecules): within it, and with the ``"serial"`` or
        ``"threads"`` scheduler, the series stay in memory; larger ones (or any
        with other schedulers) go to a temporary file, so memory stays bounded
        by ``chunk_size`` and ``block_size``. 0 always uses the file. Default
        :data:`MEMORY_BUDGET_BYTES` (256 MiB).
    tmpdir : str, optional
        Parent folder of the temporary series store (must be visible to every
        worker of a multi-machine cluster). Default: the system's temporary folder.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> res = MSD("name Li").run(src)
    >>> res.n_particles, res.msd_A2.shape, float(res.msd_A2[0])
    (60, (300,), 0.0)
    """

    def __init__(self, select: Any = "all", *, per_molecule: bool = False, remove_drift: bool = False,
                 unwrap: bool = True, per_particle: bool | None = None, non_gaussian: bool = False,
                 method: str = "fft", time_blocks: int = 5, block_size: int | None = None,
                 chunk_size: int = 100, memory_budget: int = MEMORY_BUDGET_BYTES,
                 tmpdir: str | None = None) -> None:
        owner = "MSD"
        self.select = select
        self.per_molecule = bool(per_molecule)
        self.remove_drift = bool(remove_drift)
        self.unwrap = bool(unwrap)
        if per_particle is not None and not isinstance(per_particle, (bool, np.bool_)):
            raise ValueError(f"The 'per_particle' parameter of MSD must be True, False or None. Got {per_particle!r} instead.")
        self.per_particle = per_particle
        self.non_gaussian = bool(non_gaussian)
        self.method = check_choice(method, "method", owner, METHODS)
        self.time_blocks = check_int(time_blocks, "time_blocks", owner, minimum=0)
        self.block_size = check_int(block_size, "block_size", owner, allow_none=True)
        self.chunk_size = check_int(chunk_size, "chunk_size", owner)
        self.memory_budget = check_int(memory_budget, "memory_budget", owner, minimum=0)
        self.tmpdir = tmpdir

    # -- public ----------------------------------------------------------------------------------
    def run(self, source: Any, *, start: int = 0, stop: int | None = None, step: int = 1, traj_id: int = 0,
            scheduler: Any = "serial", n_workers: int | None = None, progress: bool = False) -> MSDResults:
        """Compute the MSD of the selection over frames ``start:stop:step`` of one trajectory.

        Parameters
        ----------
        source : trajml.io.Source
            The trajectories.
        start, stop, step : int
            Frames used (every frame of ``start:stop`` is read for unwrapping).
        traj_id : int
            Which trajectory of the source.
        scheduler : str or distributed.Client
            Where the per-block tasks run: ``"serial"``, ``"threads"``,
            ``"processes"``, ``"local"``, a Client or an address.
        n_workers : int, optional
            Workers of the local schedulers.
        progress : bool
            Show progress bars.

        Returns
        -------
        MSDResults
        """
        return self._compute(source, None, start, stop, step, traj_id, scheduler, n_workers, progress)[""]

    def run_by_species(self, source: Any, by: str = "names", **kwargs: Any) -> dict[str, MSDResults]:
        """One MSD per species of the selection, from a single pass over the trajectory.

        Parameters
        ----------
        source : trajml.io.Source
            The trajectories.
        by : {"names", "types", "resnames"}
            Topology attribute naming the species (a molecule takes its first atom's).
        **kwargs
            As for :meth:`run`.

        Returns
        -------
        dict of str to MSDResults
            In order of first appearance in the topology.
        """
        check_choice(by, "by", "MSD.run_by_species", SPECIES_BY)
        opts = {"start": 0, "stop": None, "step": 1, "traj_id": 0, "scheduler": "serial", "n_workers": None,
                "progress": False}
        unknown = set(kwargs) - set(opts)
        if unknown:
            raise TypeError(f"MSD.run_by_species got unexpected keyword arguments {sorted(unknown)}.")
        opts.update(kwargs)
        return self._compute(source, by, opts["start"], opts["stop"], opts["step"], opts["traj_id"],
                             opts["scheduler"], opts["n_workers"], opts["progress"])

    # -- internals -------------------------------------------------------------------------------
    def _particles(self, source: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]:
        """Selected atoms (grouped by molecule), molecule segments, particle ids, masses."""
        atoms = resolve_atoms(source, self.select, "select", "MSD")
        masses = None
        if self.per_molecule or self.remove_drift:  # the atom table (molecules, masses) only when needed
            table = source.atoms
            masses = table.masses
            what = "per_molecule=True" if self.per_molecule else "remove_drift=True"
            if masses is None or not np.all(np.isfinite(masses)):
                raise ValueError(f"MSD with {what} needs atom masses, but '{source.members[0].topology}' has none.")
            bad = masses[atoms] if self.per_molecule else masses
            if np.any(bad < 0) or (self.remove_drift and masses.sum() <= 0):
                raise ValueError(f"MSD with {what} needs non-negative masses with a positive total in "
                                 f"'{source.members[0].topology}'.")
        if not self.per_molecule:
            return atoms, None, atoms, masses
        mol = table.molecules[atoms]
        order = np.lexsort((atoms, mol))
        atoms, mol = atoms[order], mol[order]
        ids, first = np.unique(mol, return_index=True)
        segments = np.append(first, atoms.size).astype(np.int64)
        totals = np.add.reduceat(masses[atoms], first)
        if np.any(totals <= 0):
            bad_mol = int(ids[np.flatnonzero(totals <= 0)[0]])
            raise ValueError(f"MSD with per_molecule=True: molecule {bad_mol} has a total mass of 0 amu for the "
                             f"selection {describe_selection(self.select)!r}.")
        return atoms, segments, ids.astype(np.int64), masses

    def _compute(self, source: Any, by: str | None, start: int, stop: int | None, step: int, traj_id: int,
                 scheduler: Any, n_workers: int | None, progress: bool) -> dict[str, MSDResults]:
        from trajml.parallel import map_specs, scheduler_name
        from trajml.transport.store import SeriesStore, stream_to_store

        t0 = time.perf_counter()
        atoms, segments, ids, masses = self._particles(source)
        n_part = ids.size
        if by is None:
            labels, names = np.zeros(n_part, dtype=np.int64), [""]
        else:
            first_atoms = atoms if segments is None else atoms[segments[:-1]]
            raw = np.asarray(getattr(source.atoms, by))[first_atoms].astype(str)
            names_arr, first_idx, labels = np.unique(raw, return_index=True, return_inverse=True)
            order = np.argsort(first_idx)
            remap = np.empty_like(order)
            remap[order] = np.arange(order.size)
            labels = remap[labels].astype(np.int64)
            names = [str(names_arr[i]) for i in order]
        partition = source.partition(1, start=start, stop=stop, step=step, traj_ids=[traj_id])  # validates
        n_frames = len(partition)
        if n_frames < 2:
            raise ValueError(f"MSD needs at least 2 frames; frames {start}:{stop}:{step} of trajectory {traj_id} "
                             f"({', '.join(source.members[traj_id].parts)}) give {n_frames}.")
        keep_pp = self.per_particle
        if keep_pp is None:
            keep_pp = n_part * n_frames * 8 <= PER_PARTICLE_LIMIT_BYTES
        k_blocks = self.time_blocks if n_frames // max(self.time_blocks, 1) >= 2 else 0
        block = self.block_size or max(1, _TASK_BYTES // (_BYTES_PER_VALUE * n_frames))
        block = min(block, n_part)
        sched = scheduler_name(scheduler)
        series_bytes = n_part * n_frames * 3 * (8 if segments is not None else 4)
        in_memory = sched in ("serial", "threads") and series_bytes <= self.memory_budget
        fft_workers = _n_cores() if sched == "serial" else 1
        t_stream = time.perf_counter()
        with SeriesStore(self.tmpdir) as store:
            streamed = stream_to_store(
                source, store, atoms, segments=segments, masses=masses, remove_drift=self.remove_drift,
                unwrap=self.unwrap, traj_id=traj_id, start=start, stop=stop, step=step,
                chunk_size=self.chunk_size, progress=progress, in_memory=in_memory)
            times = streamed.times
            steps = np.diff(times)
            if not np.allclose(steps, steps[0], rtol=1e-5, atol=1e-6) or steps[0] <= 0:
                raise ValueError(
                    f"MSD needs equally spaced frames, but the times of trajectory {traj_id} "
                    f"({', '.join(source.members[traj_id].parts)}) go in steps from {steps.min():g} to "
                    f"{steps.max():g} ps.")
            dt = float(np.mean(steps))
            t_corr = time.perf_counter()
            opts = _TaskOptions(self.method, self.non_gaussian, bool(keep_pp), k_blocks, len(names), fft_workers)
            bounds = [(lo, min(lo + block, n_part)) for lo in range(0, n_part, block)]
            task = functools.partial(_block_task, streamed.series, streamed.drift, labels, opts)
            parts = map_specs(task, bounds, scheduler=scheduler, n_workers=n_workers, progress=progress,
                              desc="MSD: particle blocks")
        t_end = time.perf_counter()
        msd_sum = sum(p["msd"] for p in parts)
        m4_sum = sum(p["m4"] for p in parts) if self.non_gaussian else None
        blk_sum = sum(p["blocks"] for p in parts) if k_blocks else None
        per_particle = np.concatenate([p["per_particle"] for p in parts]) if keep_pp else None
        counts = np.bincount(labels, minlength=len(names)).astype(np.float64)
        lag = np.arange(n_frames) * dt
        provenance = {
            "selection": describe_selection(self.select),
            "parameters": {k: v for k, v in vars(self).items() if k != "select"},
            "files": [[m.topology, *m.parts] for m in source.members],
            "traj_id": traj_id, "frames": {"start": start, "stop": stop, "step": step},
            "block_size": block, "n_tasks": len(bounds), "scheduler": sched,
            "series_store": "memory" if in_memory else "file",
            "select_s": t_stream - t0, "stream_s": t_corr - t_stream, "correlate_s": t_end - t_corr,
            "wall_s": t_end - t0,
        }
        out: dict[str, MSDResults] = {}
        for g, name in enumerate(names):
            n_g = counts[g]
            msd = msd_sum[g] / n_g
            m4 = alpha = None
            if m4_sum is not None:
                m4 = m4_sum[g] / n_g
                with np.errstate(invalid="ignore", divide="ignore"):
                    alpha = 3.0 * m4 / (5.0 * msd**2) - 1.0
                alpha[0] = math.nan
            mask = labels == g
            sel = describe_selection(self.select)
            sel_text = sel if isinstance(sel, str) else f"{len(sel)} indices"
            if name:
                sel_text = f"({sel_text}) and {by[:-1]} {name}"
            out[name] = MSDResults(
                lag_ps=lag, msd_A2=msd, msd4_A4=m4, alpha2=alpha,
                msd_per_particle_A2=per_particle[mask] if per_particle is not None else None,
                particle_ids=ids[mask], time_block_msd_A2=None if blk_sum is None else blk_sum[g] / n_g,
                n_particles=int(n_g), n_frames=n_frames, dt_ps=dt, selection=sel_text,
                particles="molecules" if self.per_molecule else "atoms", drift_removed=self.remove_drift,
                unwrapped=self.unwrap, method=self.method, units=dict(UNITS),
                provenance={**provenance, "species": name or None},
            )
        return out
