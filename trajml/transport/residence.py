"""Residence times, contact lifetimes and Li⁺ hopping between polymer chains: the :class:`ResidenceTime` analysis.

This module holds the analysis class, its run (partitioned over centres), the per-task state and its
exact merge, and the one-call conveniences :func:`residence_times` and :func:`ion_pair_lifetimes`.
The pieces it combines live beside it:

* :mod:`trajml.transport.contact_tcf` — contacts, the continuous and intermittent TCFs, their
  averages and ``tolerance_frames`` (definitions there), and :func:`tcf_from_series`;
* :mod:`trajml.transport.lifetimes` — :func:`fit_stretched_exponential` and :class:`LifetimeFit`;
* :mod:`trajml.transport.chain_hops` — Li⁺ hops between chains (definitions there);
* :mod:`trajml.transport.residence_results` — :class:`ResidenceResults` and its units.

Definitions
-----------
lifetimes
    Each TCF is fitted with a stretched exponential ``exp(-(t/tau)^beta)``
    (:func:`fit_stretched_exponential`) over lags ``0 < t <= fit_max_lag_ps``
    (default: half the longest trajectory) up to the first lag where ``C(t)``
    drops below ``threshold`` (default 0.01). The reported integral lifetime
    is ``tau_int = tau / beta * Gamma(1 / beta)``; independently, ``integral_ps``
    is the trapezoidal integral of the measured ``C(t)`` from 0 to the first
    lag where ``C(t) < threshold`` (or to the last lag, when it never drops
    that low; ``integral_converged`` then is False).
uncertainties
    ``*_err``: one standard deviation from the fit covariance (unweighted least
    squares, covariance scaled by the residuals; it ignores the correlation of
    neighbouring lags and so is optimistic). ``*_block_err``: the standard error
    of the mean of the same quantity fitted separately on ``error_blocks``
    disjoint blocks of centres (centre ``k`` of ``n`` belongs to block
    ``k * error_blocks // n``).

Memory and parallelism
----------------------
Time correlations need whole time series, so the work is partitioned over
**centres**: each task takes a block of ``centers_per_task`` centres and streams
every frame of every trajectory in chunks of ``chunk_size`` frames, keeping
only the sparse contact list: one int64 key ``pair * T + frame`` per contact.
A task therefore holds about ``24 * B * T * m`` bytes (keys, a sort buffer and
derived run arrays) for ``B`` centres, ``T`` frames of one trajectory and ``m``
mean contacts per centre, plus ``O(error_blocks * T)`` accumulators, an FFT
batch of at most ``2**22`` float64 values (32 MiB) for the intermittent TCF
and, with hop statistics, about ``64 * B * T`` bytes of per-(centre, frame)
arrays; never anything dense in (all pairs × all frames). Smaller
``centers_per_task`` lowers the bound; each task reads every frame of the
centres and ligands it needs. Partial results are integer
sums merged exactly, so any partition and any scheduler give identical numbers.
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from trajml._validation import DEVICES, Param
from trajml.accumulators import add_padded
from trajml.chunk import ChunkSpec
from trajml.errors import MissingBoxError
from trajml.features.first_shell import FIRST_SHELL_PARAMS, first_shell
from trajml.io.spacing import require_regular, step_tolerance
from trajml.parallel.analysis import ParticleAnalysis
from trajml.periodic import check_cutoff_fits
from trajml.selection import molecule_ids, resolve_atoms, union_positions
from trajml.species import ResolvedSpecies, Species, first_pass_selection, shell_pairs
from trajml.transport.chain_hops import _hop_statistics
from trajml.transport.contact_tcf import _continuous_sums, _intermittent_sums, _runs, tcf_from_series
from trajml.transport.lifetimes import LifetimeFit, fit_stretched_exponential
from trajml.transport.residence_results import UNITS, ResidenceResults

__all__ = [
    "ResidenceTime",
    "ResidenceResults",
    "LifetimeFit",
    "residence_times",
    "ion_pair_lifetimes",
    "fit_stretched_exponential",
    "tcf_from_series",
]

#: Fewest frames per trajectory the analysis accepts (three lags > 0 to fit two parameters).
MIN_FRAMES = 4


# ----------------------------------------------------------------------------------------------
# Per-task state
# ----------------------------------------------------------------------------------------------
@dataclass
class ResidenceState:
    """Exact, additive statistics of one or more blocks of centres.

    Attributes
    ----------
    cont_num, cont_den, int_num, int_den : ndarray, shape (G, K), int64
        Numerators and denominators of the continuous and intermittent TCFs per error block,
        at lags 0..K-1 frames (summed over trajectories).
    contacts_per_frame : list of ndarray, shape (T_t,), int64
        Contacts of every trajectory's frames (summed over centres).
    times : list of ndarray, shape (T_t,), float64
        Times in ps of every trajectory's analysed frames.
    hops, rearrangements, unbound : ndarray, shape (C,), int64
        Per centre (in the order of the centre selection, for the blocks merged so far).
    complete, censored : list of ndarray of int64
        Chain residence durations in frames.
    """

    cont_num: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    cont_den: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    int_num: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    int_den: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    contacts_per_frame: list[np.ndarray] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)
    hops: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rearrangements: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unbound: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    complete: list[np.ndarray] = field(default_factory=list)
    censored: list[np.ndarray] = field(default_factory=list)


def _merge(a: ResidenceState, b: ResidenceState) -> ResidenceState:
    """Combine the states of consecutive blocks of centres (exact integer sums)."""
    if not a.contacts_per_frame:
        cpf, times = b.contacts_per_frame, b.times
    elif not b.contacts_per_frame:
        cpf, times = a.contacts_per_frame, a.times
    else:
        cpf, times = [x + y for x, y in zip(a.contacts_per_frame, b.contacts_per_frame)], a.times
    return ResidenceState(
        cont_num=add_padded(a.cont_num, b.cont_num), cont_den=add_padded(a.cont_den, b.cont_den),
        int_num=add_padded(a.int_num, b.int_num), int_den=add_padded(a.int_den, b.int_den),
        contacts_per_frame=cpf, times=times,
        hops=np.concatenate([a.hops, b.hops]), rearrangements=np.concatenate([a.rearrangements, b.rearrangements]),
        unbound=np.concatenate([a.unbound, b.unbound]), complete=a.complete + b.complete,
        censored=a.censored + b.censored,
    )


def _merge_replicas(a: ResidenceState, b: ResidenceState) -> ResidenceState:
    """Combine the states of two trajectories (replicas) of the same centres (exact integer sums)."""
    return ResidenceState(
        cont_num=add_padded(a.cont_num, b.cont_num), cont_den=add_padded(a.cont_den, b.cont_den),
        int_num=add_padded(a.int_num, b.int_num), int_den=add_padded(a.int_den, b.int_den),
        contacts_per_frame=a.contacts_per_frame + b.contacts_per_frame, times=a.times + b.times,
        hops=a.hops + b.hops, rearrangements=a.rearrangements + b.rearrangements, unbound=a.unbound + b.unbound,
        complete=a.complete + b.complete, censored=a.censored + b.censored,
    )


@dataclass(frozen=True, eq=False)
class _Trajectory:
    """What the tasks of one trajectory read: the source and its chunks (picklable)."""

    source: Any
    specs: tuple[ChunkSpec, ...]


# ----------------------------------------------------------------------------------------------
# The analysis
# ----------------------------------------------------------------------------------------------
_RUN_KEYS = ("start", "stop", "step", "chunk_size", "centers_per_task", "scheduler", "n_workers", "progress",
             "traj_ids", "traj_id")


class ResidenceTime(ParticleAnalysis):
    """Contact time-correlation functions, lifetimes and (for polymer ligands) Li⁺ hopping.

    Partitioned over centres (see the module documentation for definitions,
    memory bound and uncertainties): call :meth:`run`.

    Parameters
    ----------
    select_a : str or array_like of int
        Centre atoms, e.g. ``"name Li"`` (selection string or topology indices). Formerly ``center``.
    select_b : str, array_like of int or Species
        Ligand atoms, e.g. ``"name O"`` (polymer O) or ``"name TFSI"`` (anions). Formerly ``ligand``.
        A :class:`~trajml.species.Species` (or its text, ``"any:resname PF6"``) makes each ligand a
        molecule: a contact lasts while any of its atoms (or its site, or its centre of mass) is within
        the cut-off, so an anion rolling over between its atoms is one contact, not several.
    cutoff : float, optional
        Contact cut-off in Å (``d < cutoff``). Default: the first minimum of the
        centre–ligand g(r) from a first pass over at most ``cutoff_frames`` frames.
    tolerance_frames : int
        Gaps of at most this many frames are ignored by the continuous TCF (default 0).
    threshold : float
        Fits and direct integrals stop where C(t) first drops below it (default 0.01).
    fit_max_lag_ps : float, optional
        Largest lag the fits use, in ps (default: half the longest trajectory).
    error_blocks : int
        Disjoint blocks of centres for block errors (default 5; capped at the number of centres).
    hopping : bool, optional
        Compute hop statistics. Default: when some molecule owns two or more ligand atoms.
    r_max : float, optional
        Range of the first-pass g(r) in Å (default: 15, or just under half the smallest box width when
        shorter).
    n_bins : int
        Bins of the first-pass g(r) (default 150: 0.1 Å bins, as an RDF).
    cutoff_frames : int
        Frame budget of the first pass (default 1000: every frame of shorter runs).
    smoothing : float
        Moving-average width in Å used to find the first minimum (default 0.5 Å).
    centers_per_task : int, optional
        Centres per task (default: all centres in one task with ``scheduler="serial"``,
        else about two tasks per worker). Bounds a task's memory (module documentation).
    device : {"cpu", "cuda"}
        Where the neighbour search runs.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> res = ResidenceTime("name Li", "name TFSI", cutoff=7.0).run(src, stop=60, progress=False)
    >>> float(res.continuous[0]), res.lag_ps.shape
    (1.0, (60,))
    """

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {}
    needs_box = True

    _parameters = {
        "select_a": Param("selection", help="centre atoms (MDAnalysis syntax, e.g. 'name Li')",
                          aliases=("center", "--center"), metavar="SEL"),
        "select_b": Param("selection", help="ligand atoms: polymer O, or one site per anion for ion pairs; or a "
                          "species RULE:SEL whose molecules are the ligands (e.g. 'any:resname PF6')",
                          aliases=("ligand", "--ligand"), metavar="SEL"),
        "cutoff": Param("float", help="contact cut-off (d < cutoff)", unit="Å", positive=True, nullable=True,
                        none_help="first minimum of g(r)"),
        "tolerance_frames": Param("int", help="gaps of at most this many frames ignored by the continuous C(t)",
                                  minimum=0),
        "threshold": Param("float", help="fits and integrals stop where C(t) first drops below it", positive=True,
                           high=1.0),
        "fit_max_lag_ps": Param("float", help="largest lag the fits use", unit="ps", positive=True, nullable=True,
                                none_help="half the longest trajectory", aliases=("--fit-max-lag",)),
        "error_blocks": Param("int", help="disjoint blocks of centres for block errors", minimum=1),
        "hopping": Param("bool", help="compute Li+ hops between chains", nullable=True,
                         none_help="when a molecule owns two or more ligands"),
        **FIRST_SHELL_PARAMS,
        "centers_per_task": Param("int", help="centres per task (bounds a task's memory)", minimum=1,
                                  nullable=True, none_help="all with serial, else about two tasks per worker"),
        "device": Param("str", help="where the neighbour search runs", choices=DEVICES),
    }

    def __init__(self, select_a: Any = "name Li", select_b: Any = "name O", *, cutoff: float | None = None,
                 tolerance_frames: int = 0, threshold: float = 0.01, fit_max_lag_ps: float | None = None,
                 error_blocks: int = 5, hopping: bool | None = None, r_max: float | None = None, n_bins: int = 150,
                 cutoff_frames: int = 1000, smoothing: float = 0.5, centers_per_task: int | None = None,
                 device: str = "cpu") -> None:
        self._set_params(locals())

    # -- driver side ----------------------------------------------------------------------------
    def bind(self, source: Any) -> "ResidenceTime":
        """Resolve selections, chains and the cut-off (first pass if needed); return a bound copy."""
        owner = "ResidenceTime"
        b = copy.copy(self)
        b._c = resolve_atoms(source, self.select_a, "select_a", owner)
        sp_b = Species.parse(self.select_b)
        pass_b: Any = self.select_b
        if sp_b.counts_groups:
            # Contacts with ligand molecules (each counted once), not with their atoms.
            b._sp_l = sp_b.resolve(source, "select_b", owner)
            b._mol_c = molecule_ids(source)[b._c]
            b._l, b._n_l, mol = b._sp_l.atoms, b._sp_l.n_groups, b._sp_l.group_molecule
            pass_b = first_pass_selection(sp_b, b._sp_l)
            if self.cutoff is None and sp_b.rule == "com":
                raise ValueError(f"{owner} finds its cut-off from an atom–atom g(r), which does not locate the shell "
                                 f"of centres of mass ({sp_b.text()!r}); give the 'cutoff' parameter (Å).")
        else:
            b._sp_l = None
            b._l = resolve_atoms(source, sp_b.select, "select_b", owner)
            b._n_l, mol = len(b._l), molecule_ids(source)[b._l]
            pass_b = sp_b.select
        chains, b._chain_of_ligand = np.unique(mol, return_inverse=True)
        b._chain_of_ligand = b._chain_of_ligand.astype(np.int64)
        b._n_chains = int(chains.size)
        per_chain = np.bincount(b._chain_of_ligand)
        b._hopping = bool(per_chain.max() >= 2) if self.hopping is None else self.hopping
        b._groups = min(self.error_blocks, len(b._c))
        b._group_of_center = (np.arange(len(b._c), dtype=np.int64) * b._groups) // len(b._c)
        b._shell = first_shell(source, self.select_a, pass_b, cutoff=self.cutoff, owner=owner, name="cutoff",
                               r_max=self.r_max, n_bins=self.n_bins, cutoff_frames=self.cutoff_frames,
                               smoothing=self.smoothing, device=self.device)
        b._cutoff = b._shell.cutoff
        return b

    def run(self, source: Any, **options: Any) -> ResidenceResults:
        """Run over ``source`` (``trajml.parallel.run(self, source, **options)``).

        ``centers_per_task`` is also accepted here, as before; every other option is
        :func:`trajml.parallel.run`'s. Several trajectories are separate time series of one
        system (replicas): their contact statistics are pooled, and each replica's own result is
        in ``replicas``.
        """
        from trajml.parallel import run

        analysis = self
        if "centers_per_task" in options:
            analysis = copy.copy(self)
            analysis.centers_per_task = type(self)._parameters["centers_per_task"].validate(
                options.pop("centers_per_task"), "ResidenceTime")
        return run(analysis, source, **options)

    @contextlib.contextmanager
    def stream(self, source: Any, traj_id: int, frames: range, chunk_size: int, scheduler: Any,
               progress: bool) -> Iterator[_Trajectory]:
        """The chunks of trajectory ``traj_id`` (tasks read them: each only its centres' atoms)."""
        owner = "ResidenceTime"
        if len(frames) < MIN_FRAMES:
            raise ValueError(
                f"{owner} needs at least {MIN_FRAMES} frames per trajectory to fit C(t); trajectory {traj_id} has "
                f"{len(frames)} frames in start:stop:step = {frames.start}:{frames.stop}:{frames.step} "
                f"({source.n_frames_of(traj_id)} in the file).")
        require_regular(source, traj_id, frames, owner)
        specs = tuple(source.partition(chunk_size, frames.start, frames.stop, frames.step, [traj_id]))
        yield _Trajectory(source, specs)

    def blocks(self, streamed: _Trajectory, scheduler: Any, n_workers: int | None) -> list[tuple[int, int]]:
        """Ranges of ``centers_per_task`` centres (all in one task with ``"serial"``)."""
        import os

        n_c = len(self._c)
        per_task = self.centers_per_task
        if per_task is None:
            workers = 1 if scheduler == "serial" else (n_workers or os.cpu_count() or 1)
            per_task = -(-n_c // (1 if workers == 1 else 2 * workers))
        return [(lo, min(lo + per_task, n_c)) for lo in range(0, n_c, per_task)]

    def task(self, streamed: _Trajectory, block: tuple[int, int]) -> ResidenceState:
        """Every frame of the trajectory for one block of centres (runs on a worker)."""
        return self._compute_block(streamed.source, (streamed.specs,), block)

    def merge(self, a: ResidenceState, b: ResidenceState) -> ResidenceState:
        """Consecutive blocks of centres (exact integer sums)."""
        return _merge(a, b)

    def finalize(self, streamed: _Trajectory, state: ResidenceState, provenance: dict[str, Any]
                 ) -> ResidenceResults:
        """TCFs, lifetimes and hop statistics of one trajectory."""
        return self._finalize(state, provenance)

    def combine(self, results: list[ResidenceResults], provenance: dict[str, Any],
                states: list[ResidenceState]) -> ResidenceResults:
        """Replicas pooled: contact statistics of every trajectory together, each replica's result kept."""
        pooled = states[0]
        for other in states[1:]:
            pooled = _merge_replicas(pooled, other)
        return self._finalize(pooled, {**provenance, "n_replicas": len(states)}).with_replicas(tuple(results))

    # -- worker side ----------------------------------------------------------------------------
    def _compute_block(self, source: Any, specs: tuple[tuple[ChunkSpec, ...], ...],
                       block: tuple[int, int]) -> ResidenceState:
        from trajml.kernels.counts import radius_neighbors

        owner = "ResidenceTime"
        lo, hi = block
        centers = self._c[lo:hi]
        n_b, n_l = len(centers), self._n_l
        atoms, (pos_c, pos_l) = union_positions(centers, self._l)
        if self._sp_l is not None:
            center_sp = ResolvedSpecies(name="select_a", rule="atom", atoms=centers, site_atoms=centers,
                                        site_group=np.arange(n_b, dtype=np.int64), group_molecule=self._mol_c[lo:hi],
                                        group_starts=np.arange(n_b, dtype=np.int64), weights=None)
        groups = self._group_of_center[lo:hi]
        g_of_pair = lambda p: groups[p // n_l]  # noqa: E731 - local, never pickled
        state = ResidenceState(hops=np.zeros(n_b, np.int64), rearrangements=np.zeros(n_b, np.int64),
                               unbound=np.zeros(n_b, np.int64))
        for traj_specs in specs:
            n_frames = sum(len(s) for s in traj_specs)
            keys, times, done = [], [], 0
            for spec in traj_specs:
                chunk = source.read(spec, atoms)
                if chunk.boxes is None:
                    raise MissingBoxError(f"{owner} needs periodic boxes, but trajectory {spec.traj_id} has no box "
                                          f"at frame {spec.start}.")
                check_cutoff_fits(chunk.boxes, self._cutoff, "cutoff", owner, traj_id=spec.traj_id,
                                  frames=chunk.frames)
                if self._sp_l is not None:
                    pairs = shell_pairs(center_sp, self._sp_l, chunk.positions, chunk.boxes, self._cutoff, pos_c,
                                        pos_l, device=self.device)
                    rows, nbrs = np.divmod(pairs, n_l)
                else:
                    offsets, nbrs, _ = radius_neighbors(
                        np.ascontiguousarray(chunk.positions[:, pos_c]),
                        np.ascontiguousarray(chunk.positions[:, pos_l]),
                        chunk.boxes, self._cutoff, centers, self._l, device=self.device)
                    rows = np.repeat(np.arange(chunk.n_frames * n_b, dtype=np.int64), np.diff(offsets))
                f_local, c_local = np.divmod(rows, n_b)
                keys.append((c_local * n_l + nbrs) * n_frames + (f_local + done))
                times.append(chunk.times.astype(np.float64))
                done += chunk.n_frames
            key = np.sort(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
            pair, start, length = _runs(key, n_frames, self.tolerance_frames)
            cn, cd = _continuous_sums(g_of_pair(pair), start, length, self._groups, n_frames)
            inum, iden = _intermittent_sums(key, g_of_pair, self._groups, n_frames)
            state.cont_num, state.cont_den = add_padded(state.cont_num, cn), add_padded(state.cont_den, cd)
            state.int_num, state.int_den = add_padded(state.int_num, inum), add_padded(state.int_den, iden)
            state.contacts_per_frame.append(np.bincount(key % n_frames, minlength=n_frames).astype(np.int64))
            state.times.append(np.concatenate(times))
            if self._hopping:
                h = _hop_statistics(key, n_frames, n_b, n_l, self._chain_of_ligand, self._n_chains)
                state.hops += h["hops"]
                state.rearrangements += h["rearrangements"]
                state.unbound += h["unbound"]
                state.complete.append(h["complete"])
                state.censored.append(h["censored"])
        return state

    # -- finalize -------------------------------------------------------------------------------
    def _dt(self, times: list[np.ndarray]) -> float:
        dts = []
        for t, tt in enumerate(times):
            d = np.diff(tt)
            dt = float(np.median(d))
            if not dt > 0 or np.max(np.abs(d - dt)) > max(1e-3 * dt + 1e-4, step_tolerance(tt)):
                raise ValueError(f"ResidenceTime needs evenly spaced frames; trajectory {t} has time steps from "
                                 f"{d.min():g} to {d.max():g} ps.")
            dts.append(dt)
        if max(dts) - min(dts) > 1e-3 * max(dts):
            raise ValueError(f"ResidenceTime needs one time step for every trajectory; got {sorted(set(dts))} ps.")
        return dts[0]

    def _finalize(self, state: ResidenceState, provenance: dict[str, Any]) -> ResidenceResults:
        dt = self._dt(state.times)
        n_lags = state.cont_num.shape[1]
        lag = np.arange(n_lags, dtype=np.float64) * dt
        fit_max = self.fit_max_lag_ps if self.fit_max_lag_ps is not None else 0.5 * (n_lags - 1) * dt
        with np.errstate(invalid="ignore", divide="ignore"):
            cc = state.cont_num.sum(0) / state.cont_den.sum(0)
            ci = state.int_num.sum(0) / state.int_den.sum(0)
            cc_g = state.cont_num / state.cont_den
            ci_g = state.int_num / state.int_den

        def sem(values: np.ndarray) -> Any:
            ok = np.isfinite(values)
            n = ok.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                sd = np.nanstd(np.where(ok, values, np.nan), axis=0, ddof=1)
            return np.where(n >= 2, sd / np.sqrt(np.maximum(n, 1)), np.nan)

        def fit(c: np.ndarray, label: str, quiet: bool = False) -> LifetimeFit:
            try:
                return fit_stretched_exponential(lag, c, threshold=self.threshold, max_lag_ps=fit_max)
            except ValueError as exc:
                if not quiet:
                    warnings.warn(f"ResidenceTime: no lifetime for the {label} TCF: {exc}", RuntimeWarning,
                                  stacklevel=3)
                return LifetimeFit.empty()

        fc, fi = fit(cc, "continuous"), fit(ci, "intermittent")
        bc = [fit(c, "", quiet=True) for c in cc_g]
        bi = [fit(c, "", quiet=True) for c in ci_g]

        def block_err(fits: list[LifetimeFit], name: str) -> float:
            v = np.array([getattr(f, name) for f in fits], dtype=np.float64)
            v = v[np.isfinite(v)]
            return float(v.std(ddof=1) / math.sqrt(v.size)) if v.size >= 2 else float("nan")

        cpf = np.concatenate(state.contacts_per_frame)
        n_c = len(self._c)
        hop: dict[str, Any] = {}
        if self._hopping:
            total_ns = n_c * sum((len(t) - 1) * dt for t in state.times) * 1e-3
            complete = np.sort(np.concatenate(state.complete)) * dt
            hop = dict(
                n_chains=self._n_chains, n_hops=int(state.hops.sum()),
                n_rearrangements=int(state.rearrangements.sum()),
                hop_rate_per_ns=float(state.hops.sum() / total_ns),
                rearrangement_rate_per_ns=float(state.rearrangements.sum() / total_ns),
                hops_per_center=state.hops.copy(),
                unbound_fraction=float(state.unbound.sum() / (n_c * cpf.size)),
                chain_residence_ps=complete,
                chain_residence_censored_ps=np.sort(np.concatenate(state.censored)) * dt,
                chain_residence_mean_ps=float(complete.mean()) if complete.size else float("nan"),
            )
        return ResidenceResults(
            lag_ps=lag, continuous=cc, intermittent=ci, continuous_err=sem(cc_g), intermittent_err=sem(ci_g),
            tau_ps=fc.tau_ps, tau_ps_err=fc.tau_ps_err, tau_ps_block_err=block_err(bc, "tau_ps"),
            beta=fc.beta, beta_err=fc.beta_err, beta_block_err=block_err(bc, "beta"),
            tau_int_ps=fc.tau_int_ps, tau_int_ps_err=fc.tau_int_ps_err,
            tau_int_ps_block_err=block_err(bc, "tau_int_ps"),
            integral_ps=fc.integral_ps, integral_ps_block_err=block_err(bc, "integral_ps"),
            integral_cut_ps=fc.integral_cut_ps, integral_converged=fc.integral_converged,
            intermittent_tau_ps=fi.tau_ps, intermittent_tau_ps_err=fi.tau_ps_err,
            intermittent_tau_ps_block_err=block_err(bi, "tau_ps"),
            intermittent_beta=fi.beta, intermittent_beta_err=fi.beta_err,
            intermittent_beta_block_err=block_err(bi, "beta"),
            intermittent_tau_int_ps=fi.tau_int_ps, intermittent_tau_int_ps_err=fi.tau_int_ps_err,
            intermittent_tau_int_ps_block_err=block_err(bi, "tau_int_ps"),
            intermittent_integral_ps=fi.integral_ps, intermittent_integral_cut_ps=fi.integral_cut_ps,
            intermittent_integral_converged=fi.integral_converged,
            threshold=self.threshold, fit_max_lag_ps=float(fit_max), cutoff=float(self._cutoff),
            cutoff_source=self._shell.origin,
            tolerance_frames=self.tolerance_frames, dt_ps=dt, n_frames=int(cpf.size),
            n_trajectories=len(state.times), n_centers=n_c, n_ligands=self._n_l, error_blocks=self._groups,
            mean_contacts=float(cpf.sum() / (n_c * cpf.size)), contacts_per_frame=cpf, centers=self._c.copy(),
            hopping=self._hopping, **hop, units=dict(UNITS),
            provenance={**provenance, "first_shell": {"cutoff": self._shell.describe()}},
        )


# ----------------------------------------------------------------------------------------------
# Conveniences
# ----------------------------------------------------------------------------------------------
def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    run_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in _RUN_KEYS}
    return kwargs, run_kw


def residence_times(source: Any, center: Any = "name Li", ligand: Any = "name O", **kwargs: Any) -> ResidenceResults:
    """Residence-time analysis of ``ligand`` atoms around ``center`` atoms in one call.

    Parameters
    ----------
    source : trajml.io.Source
        Trajectories.
    center, ligand : str or array_like of int
        Selections (default Li⁺ and polymer O).
    **kwargs
        :class:`ResidenceTime` parameters (``cutoff`` in Å, ``tolerance_frames``, ...) and
        :meth:`ResidenceTime.run` options (``start``, ``stop``, ``step``, ``scheduler``, ...).

    Returns
    -------
    ResidenceResults
    """
    params, run_kw = _split(dict(kwargs))
    return ResidenceTime(center, ligand, **params).run(source, **run_kw)


def ion_pair_lifetimes(source: Any, cation: Any = "name Li", anion: Any = "name TFSI",
                       **kwargs: Any) -> ResidenceResults:
    """Lifetimes of cation–anion contacts (ion pairs): :func:`residence_times` with the anions as ligands.

    Parameters
    ----------
    source : trajml.io.Source
        Trajectories.
    cation, anion : str or array_like of int
        Selections (default ``"name Li"`` and one site per anion, ``"name TFSI"``).
    **kwargs
        As :func:`residence_times`. Hop statistics are off unless ``hopping=True``.

    Returns
    -------
    ResidenceResults
        ``tau_int_ps`` is the ion-pair lifetime from the continuous TCF.
    """
    kwargs.setdefault("hopping", False)
    return residence_times(source, cation, anion, **kwargs)
