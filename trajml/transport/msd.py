"""Mean-squared displacement over all time origins, partitioned over particles.

Algorithm
---------
1. **Stream once** (:func:`~trajml.transport.store.stream_to_store`; on a scheduler with
   workers, atom series at frame step 1 are read and unwrapped chunk by chunk in parallel,
   :mod:`trajml.transport.stream_parallel`, with the same values): the
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

import contextlib
import dataclasses
import functools
import math
import operator
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trajml._validation import Param, check_choice
from trajml.parallel.analysis import ParticleAnalysis
from trajml.results import Results
from trajml.selection import describe_selection, resolve_atoms

__all__ = ["MSD", "MSDResults", "PER_PARTICLE_LIMIT_BYTES", "MEMORY_BUDGET_BYTES"]

#: With ``per_particle=None`` per-particle MSDs are kept when they take at most this many bytes.
PER_PARTICLE_LIMIT_BYTES = 128 * 2**20
#: Memory budget of one task's arrays (positions, FFT buffers), used for the default block size.
_TASK_BYTES = 64 * 2**20
#: The same for tasks sent to other processes (a Dask cluster, "processes"): each costs a round trip
#: and its worker's first touch of the series file, so they get about 0.2 s of work instead of 0.06 s
#: (51 200 beads, 400 frames: 21 tasks instead of 62; in one process smaller blocks stay in cache).
_REMOTE_TASK_BYTES = 192 * 2**20
#: Particles per partial sum: tasks sum their particles' moments in groups of this many (tasks start
#: at multiples of it), folded in order, so the MSD does not depend on the task size or scheduler.
#: Fewer for series so long that 16 particles would exceed the in-process task budget (see _sum_block).
SUM_BLOCK = 16
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
    sum_block: int = SUM_BLOCK


def _sum_block(n_frames: int) -> int:
    """Particles per partial sum for series of ``n_frames``: :data:`SUM_BLOCK`, or as many as fit the
    in-process task budget (down to 1), so that a block of whole groups never needs more memory than
    that budget allows. It depends on the frames alone: every scheduler groups the same way."""
    return int(min(SUM_BLOCK, max(1, _TASK_BYTES // (_BYTES_PER_VALUE * max(n_frames, 1)))))


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
        if opts.n_time_blocks:  # one gather of a particle-major copy serves both moments' reads
            pos = np.ascontiguousarray(pos)
    msd, m4 = _moments(pos, opts.method, opts.non_gaussian, opts.fft_workers)
    onehot = (labels[lo:hi, None] == np.arange(opts.n_groups)[None, :]).astype(np.float64)  # (B, G)
    # Sums over fixed groups of sum_block particles, folded in order by merge: the same numbers
    # whatever the task's size (tasks start at multiples of sum_block).
    group, groups, n_frames = opts.sum_block, opts.n_groups, msd.shape[1]
    edges = range(0, hi - lo, group)

    def sums(values: np.ndarray | None, shape: tuple[int, ...]) -> list[np.ndarray] | None:
        if values is None:
            return None
        return [(onehot[e:e + group].T @ values[e:e + group]).reshape(shape) for e in edges]

    block_sums = None
    k = opts.n_time_blocks
    if k:
        length = pos.shape[1] // k
        sub = pos[:, :k * length].reshape(pos.shape[0] * k, length, 3)  # row b k + j: particle b in block j
        if opts.method == "fft":  # only their group sums are kept: no per-particle block MSDs
            from trajml.kernels.correlation import msd_fft_run_sums

            weights = (onehot[:, None, :, None] * np.eye(k)[None, :, None, :]).reshape(len(onehot) * k, -1)
            runs = msd_fft_run_sums(sub, weights, group * k, workers=opts.fft_workers)
            block_sums = list(runs.reshape(len(runs), groups, k, length))
        else:
            block_msd, _ = _moments(sub, opts.method, False, opts.fft_workers)
            block_sums = sums(block_msd.reshape(pos.shape[0], k * length), (groups, k, length))
    return {"msd": sums(msd, (groups, n_frames)), "m4": sums(m4, (groups, n_frames)), "blocks": block_sums,
            "per_particle": msd if opts.per_particle else None}


def _fold(parts: list[np.ndarray] | None) -> np.ndarray | None:
    """``((p0 + p1) + p2) + ...``: the sums of the particle groups, in particle order."""
    return None if parts is None else functools.reduce(operator.add, parts)


@dataclass(frozen=True, eq=False)
class _Streamed:
    """One trajectory's stored series, as the block tasks read it (picklable)."""

    series: Any
    drift: np.ndarray | None
    times: np.ndarray
    dt: float
    n_frames: int
    labels: np.ndarray
    opts: _TaskOptions
    in_memory: bool
    traj_id: int
    files: tuple[str, ...]
    task_bytes: int = _TASK_BYTES
    workers: int = 1


class MSD(ParticleAnalysis):
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
        Default False: the lab frame, as MDAnalysis ``EinsteinMSD``, ``gmx msd`` and
        LAMMPS ``compute msd``. :class:`~trajml.transport.Conductivity` works in the
        barycentric frame (``remove_drift=True``) because the Einstein–Helfand
        conductivity needs it; pass True here to compare its D with the MSD's.
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
        Particles per task, rounded up to a multiple of 16 (the numbers do not depend on it; fewer than
        16 for series longer than ~21 000 frames, so that the memory of a task stays bounded).
        None: as many as fit a ~64 MiB task budget in this process, ~192 MiB on other processes
        (a Dask cluster's workers), where each task also costs a round trip.
    chunk_size : int or None
        Frames per read while streaming (None: the run's ``chunk_size``, 100 by default).
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

    Notes
    -----
    Several trajectories in the source are replicas: each is analysed alone and the result
    pools them (the particle-weighted mean MSD over the lags all replicas share, time blocks
    and per-particle MSDs of every replica), with each replica's own result in ``replicas``.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> res = MSD("name Li").run(src)
    >>> res.n_particles, res.msd_A2.shape, float(res.msd_A2[0])
    (60, (300,), 0.0)
    """

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {}
    _parameters = {
        "select": Param("selection", help="atoms whose MSD is computed (MDAnalysis syntax, e.g. 'name Li')",
                        aliases=("--sel",), metavar="SEL"),
        "per_molecule": Param("bool", help="use each molecule's mass-weighted centre of mass (selected atoms)"),
        "remove_drift": Param("bool", help="subtract the whole system's centre-of-mass displacement"),
        "unwrap": Param("bool", help="no-jump unwrap the coordinates (off: they are already unwrapped)"),
        "per_particle": Param("bool", help="keep every particle's MSD", nullable=True,
                              none_help="when they take at most 128 MiB", cli=False),
        "non_gaussian": Param("bool", help="also compute the non-Gaussian parameter alpha2"),
        "method": Param("str", help="per-particle moments by FFT over all origins, or direct sums",
                        choices=METHODS),
        "time_blocks": Param("int", help="consecutive time blocks for block errors of D (0: none)", minimum=0),
        "block_size": Param("int", help="particles per correlation task (rounded up to a multiple of 16, "
                                    "fewer for very long series; the numbers do not depend on it)",
                            minimum=1, nullable=True,
                            none_help="from a ~64 MiB budget, ~192 MiB on a cluster's workers"),
        "chunk_size": Param("int", help="frames per read while streaming", minimum=1, nullable=True,
                            none_help="the run's chunk_size", cli=False),
        "memory_budget": Param("int", help="bytes the stored series may take in memory (0: always a file)",
                               minimum=0, cli=False),
        "tmpdir": Param("path", help="folder of the temporary series store", nullable=True,
                        none_help="the system's temporary folder"),
    }

    def __init__(self, select: Any = "all", *, per_molecule: bool = False, remove_drift: bool = False,
                 unwrap: bool = True, per_particle: bool | None = None, non_gaussian: bool = False,
                 method: str = "fft", time_blocks: int = 5, block_size: int | None = None,
                 chunk_size: int | None = None, memory_budget: int = MEMORY_BUDGET_BYTES,
                 tmpdir: str | None = None) -> None:
        self._set_params(locals())
        self._by: str | None = None

    # -- public ----------------------------------------------------------------------------------
    def run_by_species(self, source: Any, by: str = "names", **options: Any) -> dict[str, MSDResults]:
        """One MSD per species of the selection, from a single pass over the trajectory.

        Parameters
        ----------
        source : trajml.io.Source
            The trajectories.
        by : {"names", "types", "resnames"}
            Topology attribute naming the species (a molecule takes its first atom's).
        **options
            As for :func:`trajml.parallel.run` (``traj_id=k`` picks one trajectory, as before).

        Returns
        -------
        dict of str to MSDResults
            In order of first appearance in the topology.
        """
        from trajml.parallel import run

        check_choice(by, "by", "MSD.run_by_species", SPECIES_BY)
        if "traj_id" in options:
            options["traj_ids"] = [options.pop("traj_id")]
        copy_ = _copy(self)  # the class stays pure: the grouping lives on a copy
        copy_._by = by
        return run(copy_, source, **options)

    # -- engine protocol ------------------------------------------------------------------------
    def bind(self, source: Any) -> "MSD":
        """Resolve the particles (atoms or molecules, masses, species groups); return a bound copy."""
        b = _copy(self)
        atoms, segments, ids, masses = self._particles(source)
        b._atoms, b._segments, b._ids, b._masses = atoms, segments, ids, masses
        n_part = ids.size
        if self._by is None:
            b._labels, b._names = np.zeros(n_part, dtype=np.int64), [""]
        else:
            first_atoms = atoms if segments is None else atoms[segments[:-1]]
            raw = np.asarray(getattr(source.atoms, self._by))[first_atoms].astype(str)
            names_arr, first_idx, labels = np.unique(raw, return_index=True, return_inverse=True)
            order = np.argsort(first_idx)
            remap = np.empty_like(order)
            remap[order] = np.arange(order.size)
            b._labels = remap[labels].astype(np.int64)
            b._names = [str(names_arr[i]) for i in order]
        return b

    @contextlib.contextmanager
    def stream(self, source: Any, traj_id: int, frames: range, chunk_size: int, scheduler: Any,
               progress: bool) -> Iterator[_Streamed]:
        """Unwrap trajectory ``traj_id`` once into a series store (memory or a temporary file)."""
        from trajml.io.spacing import equal_spacing
        from trajml.parallel import scheduler_name, task_slots
        from trajml.transport.store import SeriesStore, stream_to_store

        files = tuple(source.members[traj_id].parts)
        n_frames = len(frames)
        if n_frames < 2:
            raise ValueError(f"MSD needs at least 2 frames; frames {frames.start}:{frames.stop}:{frames.step} of "
                             f"trajectory {traj_id} ({', '.join(files)}) give {n_frames}.")
        n_part = self._ids.size
        sched = scheduler_name(scheduler)
        series_bytes = n_part * n_frames * 3 * (8 if self._segments is not None else 4)
        in_memory = sched in ("serial", "threads") and series_bytes <= self.memory_budget
        keep_pp = self.per_particle
        if keep_pp is None:
            keep_pp = n_part * n_frames * 8 <= PER_PARTICLE_LIMIT_BYTES
        k_blocks = self.time_blocks if n_frames // max(self.time_blocks, 1) >= 2 else 0
        fft_workers = _n_cores() if sched == "serial" else 1
        opts = _TaskOptions(self.method, self.non_gaussian, bool(keep_pp), k_blocks, len(self._names), fft_workers,
                            _sum_block(n_frames))
        # Atom series into a file on a scheduler with workers: chunks read and unwrapped in parallel
        # (bitwise the serial values); molecules, drift and frame steps stream serially.
        parallel = (not in_memory and sched != "serial" and self._segments is None and not self.remove_drift
                    and frames.step == 1)
        with SeriesStore(self.tmpdir) as store:
            if parallel:
                from trajml.transport.stream_parallel import stream_to_file_parallel

                streamed = stream_to_file_parallel(
                    source, store.folder, self._atoms, unwrap=self.unwrap, traj_id=traj_id, start=frames.start,
                    stop=frames.stop, chunk_size=self.chunk_size or chunk_size, scheduler=scheduler,
                    progress=progress)
            else:
                streamed = stream_to_store(
                    source, store, self._atoms, segments=self._segments, masses=self._masses,
                    remove_drift=self.remove_drift, unwrap=self.unwrap, traj_id=traj_id, start=frames.start,
                    stop=frames.stop, step=frames.step, chunk_size=self.chunk_size or chunk_size, progress=progress,
                    in_memory=in_memory)
            dt = equal_spacing(source, traj_id, np.asarray(frames), streamed.times, "MSD")
            task_bytes = _TASK_BYTES if sched in ("serial", "threads") else _REMOTE_TASK_BYTES
            yield _Streamed(streamed.series, streamed.drift, streamed.times, dt, n_frames,
                            self._labels, opts, in_memory, traj_id, files, task_bytes, task_slots(scheduler))

    def blocks(self, streamed: _Streamed, scheduler: Any, n_workers: int | None) -> list[tuple[int, int]]:
        """Particle ranges of about ``block_size`` (or a ~64 MiB task budget, ~192 MiB on other processes)."""
        n_part = self._ids.size
        block = self.block_size
        if block is None:  # equal blocks, as many as a multiple of the workers: none waits for the last one
            most = max(1, streamed.task_bytes // (_BYTES_PER_VALUE * streamed.n_frames))
            n_blocks = -(-n_part // most)
            if n_blocks > 1:
                n_blocks = -(-n_blocks // streamed.workers) * streamed.workers
            block = max(1, -(-n_part // max(n_blocks, 1)))
        group = streamed.opts.sum_block
        block = -(-block // group) * group  # whole groups: the numbers do not depend on the block size
        block = min(block, n_part)
        return [(lo, min(lo + block, n_part)) for lo in range(0, n_part, block)]

    def task(self, streamed: _Streamed, block: tuple[int, int]) -> dict[str, Any]:
        """Moments of one block of particles over all frames (runs on a worker)."""
        return _block_task(streamed.series, streamed.drift, streamed.labels, streamed.opts, block)

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        """Sum the moments (group after group, in particle order); keep per-particle MSDs in particle order."""
        def add(x: Any, y: Any) -> Any:
            return None if x is None else [_fold(x + y)]

        pp = None if a["per_particle"] is None else np.concatenate([a["per_particle"], b["per_particle"]])
        return {"msd": add(a["msd"], b["msd"]), "m4": add(a["m4"], b["m4"]), "blocks": add(a["blocks"], b["blocks"]),
                "per_particle": pp}

    def finalize(self, streamed: _Streamed, state: dict[str, Any], provenance: dict[str, Any]) -> Any:
        """The MSD of one trajectory (a dict by species from :meth:`run_by_species`)."""
        labels, names = streamed.labels, self._names
        state = {**state, "msd": _fold(state["msd"]), "m4": _fold(state["m4"]), "blocks": _fold(state["blocks"])}
        counts = np.bincount(labels, minlength=len(names)).astype(np.float64)
        lag = np.arange(streamed.n_frames) * streamed.dt
        sel = describe_selection(self.select)
        record = {**provenance, "selection": sel, "series_store": "memory" if streamed.in_memory else "file",
                  "block_size": self.blocks(streamed, None, None)[0][1] if self._ids.size else 0}
        out: dict[str, MSDResults] = {}
        for g, name in enumerate(names):
            n_g = counts[g]
            msd = state["msd"][g] / n_g
            m4 = alpha = None
            if state["m4"] is not None:
                m4 = state["m4"][g] / n_g
                alpha = _alpha2(m4, msd)
            mask = labels == g
            sel_text = sel if isinstance(sel, str) else f"{len(sel)} indices"
            if name:
                sel_text = f"({sel_text}) and {self._by[:-1]} {name}"
            out[name] = MSDResults(
                lag_ps=lag, msd_A2=msd, msd4_A4=m4, alpha2=alpha,
                msd_per_particle_A2=state["per_particle"][mask] if state["per_particle"] is not None else None,
                particle_ids=self._ids[mask],
                time_block_msd_A2=None if state["blocks"] is None else state["blocks"][g] / n_g,
                n_particles=int(n_g), n_frames=streamed.n_frames, dt_ps=streamed.dt, selection=sel_text,
                particles="molecules" if self.per_molecule else "atoms", drift_removed=self.remove_drift,
                unwrapped=self.unwrap, method=self.method, units=dict(UNITS),
                provenance={**record, "species": name or None},
            )
        return out if self._by is not None else out[""]

    def combine(self, results: list[Any], provenance: dict[str, Any], states: list[Any] | None = None) -> Any:
        """Pool replicas: the particle-weighted mean MSD over the lags every replica has."""
        if self._by is not None:
            return {name: pool_replicas([r[name] for r in results], provenance) for name in results[0]}
        return pool_replicas(results, provenance)

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


def _copy(msd: MSD) -> MSD:
    import copy

    return copy.copy(msd)


def _alpha2(m4: np.ndarray, msd: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 3.0 * m4 / (5.0 * msd**2) - 1.0
    alpha[0] = math.nan
    return alpha


def pool_replicas(results: list[MSDResults], provenance: dict[str, Any]) -> MSDResults:
    """The MSD of several replicas of one system, each analysed alone.

    The pooled curve is the particle-weighted mean of the replicas' MSDs over the lags they all
    have (the shortest replica's); so are ``⟨Δr⁴⟩`` and α₂. Per-particle MSDs and time blocks
    of every replica are kept side by side (truncated to common lengths), so the errors of D
    come from every particle and block. Each replica's own result is in ``replicas``.

    Raises
    ------
    ValueError
        Replicas saved at different time steps; the message names each trajectory's step.
    """
    dts = np.array([r.dt_ps for r in results])
    if not np.allclose(dts, dts[0], rtol=1e-5):
        steps = ", ".join(f"trajectory {r.provenance.get('traj_id', k)}: {r.dt_ps:g} ps"
                          for k, r in enumerate(results))
        raise ValueError(f"MSD replicas must share a time step to be pooled; got {steps}. Analyse them apart with "
                         "traj_ids=[k].")
    n = min(r.n_frames for r in results)
    w = np.array([r.n_particles for r in results], dtype=np.float64)
    msd = sum(wk * r.msd_A2[:n] for wk, r in zip(w, results)) / w.sum()
    m4 = alpha = None
    if all(r.msd4_A4 is not None for r in results):
        m4 = sum(wk * r.msd4_A4[:n] for wk, r in zip(w, results)) / w.sum()
        alpha = _alpha2(m4, msd)
    pp = None
    if all(r.msd_per_particle_A2 is not None for r in results):
        pp = np.concatenate([r.msd_per_particle_A2[:, :n] for r in results])
    blocks = None
    if all(r.time_block_msd_A2 is not None for r in results):
        length = min(r.time_block_msd_A2.shape[1] for r in results)
        blocks = np.concatenate([r.time_block_msd_A2[:, :length] for r in results])
    first = results[0]
    return dataclasses.replace(
        first, lag_ps=first.lag_ps[:n], msd_A2=msd, msd4_A4=m4, alpha2=alpha, msd_per_particle_A2=pp,
        particle_ids=np.concatenate([r.particle_ids for r in results]), time_block_msd_A2=blocks,
        n_particles=int(w.sum()), n_frames=n,
        provenance={**provenance, "selection": first.provenance.get("selection"), "n_replicas": len(results),
                    "replica_frames": [r.n_frames for r in results]},
        replicas=tuple(results))
