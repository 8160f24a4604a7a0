"""The pipeline runner: plan (system × stage) units, skip stored ones, run the rest, summarise, report.

A **unit** is one stage on one system. Planning happens on the driver and reads
no trajectory: each unit's key (:func:`trajml.pipelines.store.unit_key`) comes
from the stage parameters, the system's file fingerprint (``os.stat``) and the
keys of the units it depends on. Units whose key is in the store are *reused*;
the others run on the scheduler (:mod:`trajml.pipelines.executors`), each
writing its own entry into the store the moment it finishes, so a run killed at
any point loses at most the units in flight. Failed units (a corrupt
trajectory, a bad selection) are recorded with their reason, never stored, and
retried by the next run; units that depend on them are *skipped*. Before a unit
computes, its system's files pass the whole-file check once
(:mod:`trajml.pipelines.system_check`): a system whose file fails it fails all its
units with one message, its stored units included, and the other systems go on.

Each run keeps a folder ``OUTPUTS/runs/RUN_ID/`` with ``state.json``
(running/finished), ``outcomes.jsonl`` (one line per finished unit, appended as
they arrive) and ``summary.json``; ``OUTPUTS/summary.json`` is the latest run's.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import traceback
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import trajml.pipelines.stages  # noqa: F401  (registers the built-in stages)
from trajml._files import atomic_write_json
from trajml.errors import TrajmlError
from trajml.features.first_shell import shared_cache
from trajml.pipelines.devices import check_pipeline_devices, check_stage_device
from trajml.pipelines.executors import execute, validate_scheduler
from trajml.pipelines.outputs import claim_outputs, outputs_lock
from trajml.pipelines.registry import StageContext, get_stage
from trajml.pipelines.run_options import RUN_PIPELINE_OPTIONS
from trajml.pipelines.run_scheduler import open_scheduler, resolve_placement
from trajml.pipelines.spec import PipelineSpec, SystemSpec, load_pipeline
from trajml.pipelines.store_probe import check_shared_store, missing_store, place_run_marker, remove_run_markers
from trajml.pipelines.system_check import SystemFileError, check_system, open_system
from trajml.pipelines.unit_parallel import open_ahead_on_workers, plan_unit_scheduler, unit_scheduler, unit_scratch
from trajml.pipelines.unit_timeout import call_with_timeout
from trajml.plotting import warm_up_in_background
from trajml.store.results import ResultStore, unit_key

__all__ = ["UnitTask", "Outcome", "RunSummary", "DamagedEntryWarning", "plan", "execute_unit", "run_pipeline"]


class DamagedEntryWarning(UserWarning):
    """A stored unit failed its checksums (or is unreadable): it is discarded and computed again."""


@dataclass(frozen=True)
class UnitTask:
    """Everything a worker needs to run one unit (small and picklable).

    Attributes
    ----------
    unit : str
        ``"SYSTEM/STAGE_ID"``.
    after : tuple of str
        Units of this run it waits for (its dependencies that are not stored yet).
    dependencies : dict of str to str
        Parameter name -> key of the referenced unit (read from the store).
    """

    unit: str
    system: SystemSpec
    stage: str
    stage_id: str
    params: dict[str, Any]
    key: str
    dependencies: dict[str, str]
    after: tuple[str, ...]
    store_root: str
    fingerprint: str
    log: bool = False  # print a "started" line from the worker (a batch log; the driver logs the finish)
    timeout: float | None = None  # seconds (unit_timeout); None: no limit
    marker: str = ""  # the run's marker file in the store: a worker that does not see it has another store
    inner: str = "serial"  # where the unit's analysis runs its chunks (trajml.pipelines.unit_parallel)
    precision: str = "float64"  # of the float arrays it stores (store_precision)


@dataclass
class Outcome:
    """What became of one unit: status is "computed", "reused", "failed" or "skipped".

    ``notes`` are what opening the system's files changed (restart overlaps dropped,
    :attr:`trajml.io.Source.notes`), when the unit opened them. ``started`` is when the unit
    began on its worker (seconds since the epoch; 0 when it did not run) and ``seconds`` its
    own run time, so a stage's time is its units', not the run's.

    Attributes
    ----------
    unit, system, stage_id, stage, key : str
        The unit, its system, stage id and type, and store key.
    status : str
    reason : str
        Why it failed or was skipped.
    seconds : float
    notes : tuple of str
    started : float
    """

    unit: str
    system: str
    stage_id: str
    stage: str
    key: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    started: float = 0.0


@dataclass
class RunSummary:
    """The result of :func:`run_pipeline`: one outcome per unit, counts, and where things are.

    Attributes
    ----------
    run_id : str
    pipeline : str
        The pipeline file.
    outputs : str
        The outputs folder.
    scheduler : str
    resumed : bool
    outcomes : list of Outcome
        One per unit.
    wall_s : float
        Seconds of the run.
    report : str or None
        Path of the report's index.html.
    started, finished : str
        ISO timestamps.
    """

    run_id: str
    pipeline: str
    outputs: str
    scheduler: str
    resumed: bool
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0
    report: str | None = None
    started: str = ""   # UTC, ISO 8601, when the run began
    finished: str = ""  # UTC, ISO 8601, when its last unit finished (before the report)

    def count(self, status: str) -> int:
        """Number of units with ``status``."""
        return sum(o.status == status for o in self.outcomes)

    @property
    def computed(self) -> int:
        """int: units computed by this run."""
        return self.count("computed")

    @property
    def reused(self) -> int:
        """int: units found in the store."""
        return self.count("reused")

    @property
    def notes(self) -> list[str]:
        """list of str: the distinct notes of the units, in unit order (a system's are shared by its units)."""
        return list(dict.fromkeys(n for o in self.outcomes for n in o.notes))

    @property
    def failures(self) -> list[Outcome]:
        """list of Outcome: failed and skipped units."""
        return [o for o in self.outcomes if o.status in ("failed", "skipped")]

    def stages(self) -> dict[str, dict[str, Any]]:
        """Per stage id, in run order: unit counts by status and the stage's own times.

        ``seconds`` sums its units' own run times; ``wall_s`` runs from its first unit's start
        to its last unit's finish (0 when no unit of it ran in this run).
        """
        out: dict[str, dict[str, Any]] = {}
        for o in self.outcomes:
            st = out.setdefault(o.stage_id, {"units": 0, "computed": 0, "reused": 0, "failed": 0, "skipped": 0,
                                             "seconds": 0.0, "wall_s": 0.0})
            st["units"] += 1
            st[o.status] = st.get(o.status, 0) + 1
            st["seconds"] += o.seconds
        for sid, st in out.items():
            ran = [o for o in self.outcomes if o.stage_id == sid and o.started > 0]
            if ran:
                st["wall_s"] = max(o.started + o.seconds for o in ran) - min(o.started for o in ran)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view with the counts and the per-stage times."""
        counts = {s: self.count(s) for s in ("computed", "reused", "failed", "skipped")}
        return {**{k: v for k, v in asdict(self).items() if k != "outcomes"}, "counts": counts,
                "units": len(self.outcomes), "stages": self.stages(), "outcomes": [asdict(o) for o in self.outcomes]}

    def text(self) -> str:
        """Human-readable summary: counts, one line per stage with its own time, one per failed or skipped unit."""
        lines = [f"{len(self.outcomes)} units: {self.computed} computed, {self.reused} reused, "
                 f"{self.count('failed')} failed, {self.count('skipped')} skipped ({self.wall_s:.1f} s)"]
        for sid, st in self.stages().items():
            counts = ", ".join(f"{st[k]} {k}" for k in ("computed", "reused", "failed", "skipped") if st[k])
            lines.append(f"  {sid}: {counts}; {st['wall_s']:.1f} s wall, {st['seconds']:.1f} s in units")
        lines += [f"  {o.status.upper()} {o.unit}: {o.reason}" for o in self.failures]
        return "\n".join(lines)


def plan(spec: PipelineSpec, store: ResultStore, precision: str = "float64") -> tuple[list[UnitTask], list[Outcome]]:
    """Key every unit; return the tasks to run (dependency order) and the outcomes known already.

    ``precision`` is the run's ``store_precision``, part of every key.

    Known outcomes are "reused" (key stored) or "failed" (files vanished since validation).
    A stored entry that fails :meth:`~trajml.store.results.ResultStore.check` is discarded with a
    :class:`DamagedEntryWarning` naming the unit and the folder, and planned to run again.
    """
    tasks: list[UnitTask] = []
    known: list[Outcome] = []
    for system in spec.systems:
        try:
            fingerprint = system.fingerprint()
        except OSError as exc:
            for st in spec.stages:
                known.append(Outcome(f"{system.name}/{st.id}", system.name, st.id, st.stage, "", "failed",
                                     f"{type(exc).__name__}: {exc}"))
            continue
        keys: dict[str, str] = {}
        for st in spec.stages:
            sdef = get_stage(st.stage)
            deps = {p: keys[st.params[p]] for p, prm in sdef.params.items()
                    if prm.references and st.params.get(p) is not None}
            key_params = {k: (f"@{deps[k]}" if k in deps else v) for k, v in st.params.items()}
            meta = {m: system.metadata.get(m) for m in sdef.metadata}
            key = keys[st.id] = unit_key(sdef.name, sdef.version, key_params, fingerprint, deps, meta,
                                             precision)
            unit = f"{system.name}/{st.id}"
            if store.has(key):
                problem = store.check(key)
                if problem is None:
                    known.append(Outcome(unit, system.name, st.id, st.stage, key, "reused"))
                    continue
                # A damaged entry must neither wedge the run nor be reused: say so, drop it, compute it.
                warnings.warn(f"{unit}: the stored result {store.path(key)} is damaged ({problem}); "
                              "it is discarded and computed again.", DamagedEntryWarning, stacklevel=3)
                store.discard(key)
            after = tuple(f"{system.name}/{sid}" for sid in (st.params[p] for p in deps)
                          if any(t.unit == f"{system.name}/{sid}" for t in tasks))
            tasks.append(UnitTask(unit, system, st.stage, st.id, dict(st.params), key, deps, after,
                                  store.root, fingerprint))
    # Stage-major order: every system's first stage is submitted before any second stage.
    order = {st.id: i for i, st in enumerate(spec.stages)}
    tasks.sort(key=lambda t: order[t.stage_id])
    return tasks, known


def _open(system: SystemSpec) -> Any:
    """Per-process cache, by file identity: the check and the units of one system on one worker open its files once."""
    return open_system(system)


def execute_unit(task: UnitTask, *after: Outcome) -> Outcome:
    """Run one unit on a worker and store its result; never raises.

    Returns
    -------
    Outcome
        "computed"; "reused" when another run stored it meanwhile; "skipped" when a
        dependency did not finish; "failed" with ``"ExceptionType: message"``.
    """
    ctx: StageContext | None = None

    started = 0.0

    def outcome(status: str, reason: str = "", seconds: float = 0.0) -> Outcome:
        opened = getattr(ctx, "_source", None)  # only a unit that opened the files has their notes
        return Outcome(task.unit, task.system.name, task.stage_id, task.stage, task.key, status, reason, seconds,
                       tuple(getattr(opened, "notes", ())), started)

    store = ResultStore(task.store_root)
    if store.has(task.key):
        return outcome("reused")
    blind = missing_store(task.marker)
    if blind:
        return outcome("failed", f"SharedStoreError: {blind}")
    warm_up_in_background()  # its figure's pyplot import, behind the file check and the analysis
    try:  # before the dependencies: a unit of a damaged system fails by the file, not "skipped"
        check_system(task.system, task.store_root, _open)
    except Exception as exc:
        return outcome("failed", f"{type(exc).__name__}: {exc}")
    bad = [o for o in after if o.status not in ("computed", "reused")]
    if bad:
        return outcome("skipped", f"needs {bad[0].stage_id}, which {bad[0].status}")
    if task.log:
        from trajml._progress import log_line

        log_line(f"{task.unit}: started")
    started, t0 = time.time(), time.perf_counter()

    def compute() -> Any:  # the unit's work, which unit_timeout limits (storing it is not)
        nonlocal ctx
        deps = {p: store.get(k).data for p, k in task.dependencies.items()}
        # Units of one system on different workers share one first-shell cut-off per pair.
        with shared_cache(os.path.join(task.store_root, "cache", "first_shell")):
            ctx = StageContext(task.system, deps, opener=_open, scheduler=inner, n_workers=inner_workers,
                               scratch=unit_scratch(task.inner, task.store_root))
            return sdef.func(ctx, dict(task.params))

    try:
        sdef = get_stage(task.stage)
        check_stage_device(task.stage_id, task.stage, task.params)  # this worker's GPU
        inner, inner_workers = unit_scheduler(task.inner)  # on this thread: a cluster's worker is found here
        output = call_with_timeout(compute, task.timeout, task.unit)
        seconds = time.perf_counter() - t0
        meta = {"stage": task.stage, "stage_id": task.stage_id, "stage_version": sdef.version,
                "system": task.system.name, "params": task.params, "dependencies": task.dependencies,
                "fingerprint": task.fingerprint, "files": [task.system.topology, *task.system.trajectories],
                "metadata": task.system.metadata, "seconds": seconds, "worker": os.getpid()}
        store.put(task.key, output, meta, task.precision)
    except Exception as exc:  # one bad system must not stop the others
        # trajml's own errors name the file, frame or parameter; others get the line that raised.
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = (f" [{os.path.basename(last[0].filename)}:{last[0].lineno}]"
                 if last and not isinstance(exc, TrajmlError) else "")
        return outcome("failed", f"{type(exc).__name__}: {exc}{where}", time.perf_counter() - t0)
    return outcome("computed", seconds=seconds)


def _fail_damaged_systems(outcomes: list[Outcome]) -> None:
    """A system whose files failed the whole-file check fails all its units: its stored ones too.

    Their store entries are kept (see :mod:`trajml.pipelines.system_check`).
    """
    prefix = f"{SystemFileError.__name__}: "
    reasons = {o.system: o.reason for o in outcomes if o.status == "failed" and o.reason.startswith(prefix)}
    for o in outcomes:
        if o.system in reasons and o.status != "failed":
            o.status, o.reason = "failed", reasons[o.system]


def _worker_died(task: UnitTask, exc: BaseException) -> Outcome:
    return Outcome(task.unit, task.system.name, task.stage_id, task.stage, task.key, "failed",
                   f"worker lost: {type(exc).__name__}: {exc}")


def _run_folder(outputs: str, resume: bool) -> tuple[str, bool]:
    runs = os.path.join(outputs, "runs")
    os.makedirs(runs, exist_ok=True)
    if resume:
        for rid in sorted(os.listdir(runs), reverse=True):
            state = os.path.join(runs, rid, "state.json")
            if os.path.isfile(state):
                with open(state, encoding="utf-8") as fh:
                    if json.load(fh).get("status") == "running":
                        return rid, True
    rid = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    os.makedirs(os.path.join(runs, rid))
    return rid, False


def _write_json(path: str, value: Any) -> None:
    atomic_write_json(path, value, indent=1, default=str)


def run_pipeline(pipeline: PipelineSpec | str | os.PathLike, *, scheduler: Any = None,
                 n_workers: int | None = None, resume: bool = False, progress: bool = True,
                 outputs: str | None = None, report: bool = True, scheduler_file: str | os.PathLike | None = None,
                 cluster: dict[str, Any] | None = None, unit_timeout: float | None = None,
                 store_precision: str | None = None) -> RunSummary:
    """Run every (system × stage) unit of a pipeline that is not stored yet, then write the report.

    Parameters
    ----------
    pipeline : PipelineSpec or path
        A validated spec, or a YAML file (validated here; errors raise before anything runs).
    scheduler : str or dask.distributed.Client, optional
        "local" (a LocalCluster), "processes", "serial", a scheduler address, or a
        Client (e.g. of a dask-jobqueue cluster); see :mod:`trajml.pipelines.executors`.
        Default: the pipeline file's ``scheduler_file`` or ``cluster``, else "local".
    n_workers : int, optional
        Workers of "local" and "processes" (default: all cores).
    resume : bool
        Continue the latest interrupted run of this output folder under its run id.
        Stored units are reused either way: the store is content-addressed.
    progress : bool
        Show progress: on a terminal one bar per stage; elsewhere (a batch job's log)
        timestamped lines, each unit's and stage's with its own seconds, and a heartbeat.
    outputs : str, optional
        Output folder instead of the pipeline's ``outputs``.
    report : bool
        Write the HTML report (``OUTPUTS/report/index.html``).
    scheduler_file : path, optional
        Run on the Dask scheduler that wrote this file (``dask scheduler --scheduler-file FILE``)
        and its workers, instead of ``scheduler`` (:mod:`trajml.parallel.connect`).
    cluster : dict, optional
        Start a SLURM or PBS cluster with dask-jobqueue, e.g. ``{"type": "slurm", "cores": 16,
        "memory": "64GB", "walltime": "04:00:00", "jobs": 4}`` (:mod:`trajml.parallel.jobqueue`).
    unit_timeout : float, optional
        Longest run time of one unit in s; a unit that takes longer fails with its name and the
        timeout, and the other units go on. Default: the pipeline file's, else no limit.
    store_precision : {"float64", "float32"}, optional
        Precision of the stored units' float arrays: "float64" keeps every bit; "float32" rounds
        them (about half the bytes; :mod:`trajml.store.arrays`). It is part of each unit's key.
        Default: the pipeline file's, else "float64".

    Returns
    -------
    RunSummary
        Counts of computed, reused, failed and skipped units, the failures with
        their reasons, and the report path.

    Raises
    ------
    OutputsFolderError
        The outputs folder holds files trajml did not write (see :mod:`trajml.pipelines.outputs`).
    OutputsLockedError
        Another run is working in the outputs folder.
    FileNotFoundError
        The scheduler file does not exist.
    SchedulerConnectionError
        No scheduler answers at the address (or the scheduler file's) within a few seconds.
    SharedStoreError
        A worker cannot read or write the results store (:mod:`trajml.pipelines.store_probe`).
    InvalidParameterError
        A stage has ``device: cuda`` and the units run on this machine, which has no CUDA GPU
        (:mod:`trajml.pipelines.devices`; on a remote cluster the unit fails with that message).
    """
    if scheduler is not None:
        validate_scheduler(scheduler)
    if unit_timeout is not None:
        unit_timeout = RUN_PIPELINE_OPTIONS["unit_timeout"].validate(unit_timeout, "run_pipeline")
    if store_precision is not None:
        store_precision = RUN_PIPELINE_OPTIONS["store_precision"].validate(store_precision, "run_pipeline")
    spec = pipeline if isinstance(pipeline, PipelineSpec) else load_pipeline(pipeline)
    precision = store_precision or spec.store_precision or "float64"
    placement = resolve_placement(spec, scheduler, scheduler_file, cluster)
    if isinstance(placement.scheduler, str) and "://" not in placement.scheduler:
        check_pipeline_devices(spec)  # units run on this machine: refuse device: cuda without a GPU now
    timeout = unit_timeout if unit_timeout is not None else spec.unit_timeout
    out = os.path.abspath(outputs or spec.outputs)
    claim_outputs(out)  # refuses a folder holding a user's files before writing anything
    with outputs_lock(out), open_scheduler(placement) as where:
        return _run_locked(spec, out, where, n_workers, resume, progress, report, timeout, precision)


def _run_locked(spec: PipelineSpec, out: str, scheduler: Any, n_workers: int | None, resume: bool,
                progress: bool, report: bool, timeout: float | None = None, precision: str = "float64") -> RunSummary:
    """:func:`run_pipeline` once the outputs folder is claimed and locked."""
    store = ResultStore(os.path.join(out, "store"))
    # The lock means no other run writes here: whatever tmp/ holds was left by a killed run.
    from trajml._progress import log_line
    from trajml.transport.store import remove_stale_series_stores

    for path in store.clean_tmp(older_than_s=0.0):
        log_line(f"removed {path}, left half-written by an interrupted run")
    # Series stores of MSD/conductivity units killed mid-way (only those of dead PIDs of this host).
    for tmpdir in {None, *(st.params.get("tmpdir") for st in spec.stages)}:
        for path in remove_stale_series_stores(tmpdir):
            log_line(f"removed {path}, the temporary series store of a killed process")
    run_id, resumed = _run_folder(out, resume)
    folder = os.path.join(out, "runs", run_id)
    from trajml.parallel.schedulers import scheduler_name

    summary = RunSummary(run_id, spec.path, out, scheduler_name(scheduler), resumed,
                         started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    t0 = time.perf_counter()
    _write_json(os.path.join(folder, "state.json"), {"status": "running", "pipeline": spec.path,
                                                     "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    tasks, known = plan(spec, store, precision)
    summary.outcomes.extend(known)
    bars = _StageProgress(spec, tasks, progress, run_id)
    remove_run_markers(store.root)  # a killed run's (the lock says no other run is here)
    marker = place_run_marker(store.root, run_id)
    inner = plan_unit_scheduler(scheduler, n_workers, len(tasks), timeout)
    tasks = [dataclasses.replace(t, log=bars.lines, timeout=timeout, marker=marker, inner=inner, precision=precision)
             for t in tasks]
    journal = open(os.path.join(folder, "outcomes.jsonl"), "a", encoding="utf-8")

    def on_client(client: Any) -> None:
        check_shared_store(client, store.root)
        if inner.startswith("cluster"):
            open_ahead_on_workers(client, list({t.system.name: t.system for t in tasks}.values()), run_id)

    def on_done(o: Outcome) -> None:
        summary.outcomes.append(o)
        journal.write(json.dumps(asdict(o)) + "\n")
        journal.flush()
        bars.update(o)

    try:
        execute(execute_unit, tasks, scheduler, n_workers, on_done, _worker_died, run_id, on_client=on_client)
    finally:
        journal.close()
        bars.close()
        remove_run_markers(store.root)
    _fail_damaged_systems(summary.outcomes)
    order = {(s.name, st.id): i for i, (s, st) in enumerate((s, st) for s in spec.systems for st in spec.stages)}
    summary.outcomes.sort(key=lambda o: order.get((o.system, o.stage_id), -1))
    summary.wall_s = time.perf_counter() - t0
    summary.finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if report:
        from trajml.pipelines.report import write_report

        summary.report = write_report(spec, summary, store, os.path.join(out, "report"))
    _write_json(os.path.join(folder, "summary.json"), summary.to_dict())
    _write_json(os.path.join(out, "summary.json"), summary.to_dict())
    _write_json(os.path.join(folder, "state.json"), {"status": "finished", "pipeline": spec.path,
                                                     "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})
    return summary


class _StageProgress:
    """Progress of a run's stages: a bar per stage on a terminal, timestamped lines in a batch log.

    A stage's bar closes when its last unit finishes and counts from its first unit's start,
    so the time it keeps on screen is the stage's own. In a log, each unit's finish is a line
    with its own seconds (its worker prints its start), each stage's end a line with its own
    wall time, and a heartbeat says how far the run is while nothing else was printed for
    :func:`trajml._progress.heartbeat_interval` seconds.
    """

    def __init__(self, spec: PipelineSpec, tasks: list[UnitTask], enabled: bool, run_id: str) -> None:
        from trajml._progress import is_terminal, log_line

        self.total = {st.id: sum(t.stage_id == st.id for t in tasks) for st in spec.stages}
        self.done: dict[str, list[Outcome]] = {sid: [] for sid in self.total}
        self.lines = enabled and not is_terminal() and bool(tasks)
        self.bars: dict[str, Any] = {}
        self.run_id, self.n_tasks, self.t0 = run_id, len(tasks), time.perf_counter()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        if enabled and is_terminal():
            from tqdm import tqdm

            self.bars = {sid: tqdm(total=n, desc=f"{sid:<16}", unit="system", position=i, leave=True)
                         for i, (sid, n) in enumerate(self.total.items()) if n}
        elif self.lines:
            todo = ", ".join(f"{sid} {n}" for sid, n in self.total.items() if n)
            log_line(f"run {run_id}: {len(tasks)} units to run ({todo})")
            self._last = time.perf_counter()
            self._heartbeat = threading.Thread(target=self._beat, name="trajml-heartbeat", daemon=True)
            self._heartbeat.start()

    def _log(self, text: str) -> None:
        from trajml._progress import log_line

        self._last = time.perf_counter()
        log_line(text)

    def _beat(self) -> None:
        from trajml._progress import heartbeat_interval

        interval = max(heartbeat_interval(), 0.05)
        while not self._stop.wait(interval / 4):
            if time.perf_counter() - self._last >= interval:
                done = sum(len(v) for v in self.done.values())
                running = [sid for sid, n in self.total.items() if 0 < n != len(self.done[sid])]
                self._log(f"run {self.run_id}: {done}/{self.n_tasks} units finished after "
                          f"{time.perf_counter() - self.t0:.0f} s; stages not finished: {', '.join(running) or '-'}")

    def update(self, o: Outcome) -> None:
        """Count a finished unit of this run; close its stage when it was the last."""
        if o.stage_id not in self.done:
            return
        done = self.done[o.stage_id]
        done.append(o)
        n, total = len(done), self.total[o.stage_id]
        bar = self.bars.get(o.stage_id)
        if bar is not None:
            if n == 1 and o.started:
                bar.start_t = o.started  # tqdm's clock is time.time(): count from the unit's start
                # tqdm's close() skips its final redraw when the last draw predates start_t
                bar.last_print_t = max(bar.last_print_t, bar.start_t)
            bar.update(1)
            if n == total:
                bar.close()
        if self.lines:
            self._log(f"{o.unit}: {o.status} in {o.seconds:.1f} s ({o.stage_id} {n}/{total})"
                      + (f": {o.reason}" if o.reason else ""))
            if n == total:
                ran = [x for x in done if x.started]
                wall = max(x.started + x.seconds for x in ran) - min(x.started for x in ran) if ran else 0.0
                self._log(f"stage {o.stage_id}: finished {total} units in {wall:.1f} s "
                          f"({sum(x.seconds for x in done):.1f} s in units)")

    def close(self) -> None:
        """Stop the heartbeat and close the bars still open (an interrupted run)."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        for bar in self.bars.values():
            bar.close()
