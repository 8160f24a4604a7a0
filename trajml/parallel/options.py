"""The run options, declared once: frames, chunking, scheduler, workers and progress.

:func:`trajml.parallel.run`, every command line (``--start``, ``--chunk-size``, ``--scheduler``,
``--n-workers``, ``--no-progress``) and every pipeline stage (``start``, ``stop``, ``step``,
``chunk_size``) take these with the same names, defaults and checks.
"""

from __future__ import annotations

import sys
from typing import Any

from trajml._validation import Param, invalid

__all__ = ["RUN_OPTIONS", "FRAME_OPTIONS", "check_run_options", "show_progress", "check_scheduler"]

#: The frame slice and chunking every trajectory analysis takes.
FRAME_OPTIONS: dict[str, Param] = {
    "start": Param("int", 0, "first frame of every trajectory", minimum=0, name="start"),
    "stop": Param("int", None, "stop before this frame", minimum=0, nullable=True, none_help="the end",
                  name="stop"),
    "step": Param("int", 1, "read every step-th frame", minimum=1, name="step"),
    "chunk_size": Param("int", None, "frames per read (and per task); memory is bounded by it", minimum=1,
                        nullable=True, none_help="100", name="chunk_size"),
}

#: Everything :func:`trajml.parallel.run` takes besides the analysis and the source.
RUN_OPTIONS: dict[str, Param] = {
    **FRAME_OPTIONS,
    "traj_ids": Param("ints", None, "trajectories to include (each is a replica)", minimum=0, nullable=True,
                      none_help="all", aliases=("--traj-id",), name="traj_ids"),
    "scheduler": Param("any", "serial", "serial, threads, processes, local, or a dask scheduler address or Client",
                       name="scheduler"),
    "n_workers": Param("int", None, "workers of the local schedulers", minimum=1, nullable=True,
                       none_help="all cores", aliases=("--workers",), name="n_workers"),
    "progress": Param("bool", None, "show progress (bars on a terminal, timestamped lines in a log file)",
                      nullable=True, none_help="when on a terminal", name="progress"),
}

SCHEDULERS = ("serial", "threads", "processes", "local")


def check_scheduler(scheduler: Any, owner: str = "run") -> Any:
    """Validate a scheduler: a name, a ``tcp://`` (or other ``://``) address, or a distributed Client."""
    if isinstance(scheduler, str):
        if scheduler in SCHEDULERS or "://" in scheduler:
            return scheduler
        raise invalid("scheduler", owner, f"one of {SCHEDULERS}, a dask.distributed.Client or a scheduler address "
                      "such as 'tcp://host:8786'", scheduler)
    if not hasattr(scheduler, "submit") or not hasattr(scheduler, "gather"):
        raise invalid("scheduler", owner, "a string or a dask.distributed.Client", scheduler)
    return scheduler


def check_run_options(owner: str = "run", **values: Any) -> dict[str, Any]:
    """Validate run options (names of :data:`RUN_OPTIONS`); return them normalised.

    Parameters
    ----------
    owner : str
        Who asks, for the message.
    **values
        Run options by name.
    """
    out = {}
    for name, value in values.items():
        if name == "scheduler":
            out[name] = check_scheduler(value, owner)
        else:
            out[name] = RUN_OPTIONS[name].validate(value, owner)
    return out


def show_progress(progress: bool | None) -> bool:
    """The one progress policy: as asked, or (None) when standard error is a terminal.

    How it shows is :func:`trajml._progress.progress_bar`'s choice: bars on a terminal,
    timestamped lines where standard error is a file (``progress=True`` in a batch job).

    Parameters
    ----------
    progress : bool or None
        As asked; None: when standard error is a terminal.
    """
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)
