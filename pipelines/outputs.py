"""The outputs folder of a pipeline run: trajml writes only into a folder it owns, one run at a time.

**Ownership.** A folder trajml made holds the marker file ``.trajml-outputs``. A run
refuses a folder that has other content and no marker (:class:`OutputsFolderError`),
so ``outputs: .`` or ``outputs: "~"`` can never replace a user's ``report/`` or
``summary.json``. A folder written by trajml before markers existed (it has
``store/objects/`` and ``runs/``, and nothing else but trajml's own names) is
adopted: the marker is added.

**Lock.** While a run works, the folder holds ``.trajml-lock`` with the run's PID,
host and start time, created with ``O_CREAT | O_EXCL`` (atomic: of two runs exactly
one creates it). A second run refuses (:class:`OutputsLockedError`) naming the first.
A lock whose PID is dead on this host is stale (a killed run): it is taken over
with a :class:`StaleLockWarning`. A lock from another host cannot be checked and is
never taken over.
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from trajml._processes import pid_alive
from trajml.errors import TrajmlError

__all__ = ["MARKER", "LOCK", "OutputsFolderError", "OutputsLockedError", "StaleLockWarning",
           "claim_outputs", "outputs_lock"]

#: Marker file of a folder trajml owns.
MARKER = ".trajml-outputs"
#: Lock file of a folder a run is working in.
LOCK = ".trajml-lock"
#: Names trajml writes at the top of an outputs folder (a folder of only these is a former trajml output).
_OWN_NAMES = {MARKER, LOCK, "store", "runs", "report", "report.tmp", "summary.json"}
_FIX = ("give a new or empty folder: 'outputs:' in the pipeline YAML, --outputs on the command line, "
        "outputs= in Python")


class OutputsFolderError(TrajmlError, FileExistsError):
    """The outputs folder holds files that are not trajml's; nothing was written into it."""


class OutputsLockedError(TrajmlError, RuntimeError):
    """Another run is working in the outputs folder."""


class StaleLockWarning(UserWarning):
    """The lock of a killed run (dead PID on this host) was taken over."""


def claim_outputs(folder: str) -> None:
    """Make ``folder`` trajml's (create it, or check it is trajml's) and write the marker.

    Raises
    ------
    OutputsFolderError
        ``folder`` exists with other content and no marker, or is not a folder.
    """
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise OutputsFolderError(f"The outputs folder '{folder}' is a file, not a folder; {_FIX}.")
    os.makedirs(folder, exist_ok=True)
    marker = os.path.join(folder, MARKER)
    if os.path.isfile(marker):
        return
    names = sorted(os.listdir(folder))
    former = (os.path.isdir(os.path.join(folder, "store", "objects"))
              and os.path.isdir(os.path.join(folder, "runs")) and set(names) <= _OWN_NAMES)
    if names and not former:
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        raise OutputsFolderError(
            f"The outputs folder '{folder}' holds files trajml did not write ({shown}) and no {MARKER} marker; "
            f"trajml writes only into a folder it owns and changed nothing there. Fix: {_FIX}.")
    with open(marker, "w", encoding="utf-8") as fh:
        fh.write("This folder holds trajml pipeline outputs; trajml may replace anything in it.\n")


@contextmanager
def outputs_lock(folder: str) -> Iterator[dict]:
    """Hold the lock of ``folder`` for the ``with`` block; yields the lock record (pid, host, started).

    Raises
    ------
    OutputsLockedError
        A live run (or one on another host) holds it.
    """
    path = os.path.join(folder, LOCK)
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for _ in range(3):  # a stale lock is removed, then created anew; a racing run may win in between
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            other = _read(path)
            stale = (other.get("host") == me["host"] and isinstance(other.get("pid"), int)
                     and not pid_alive(other["pid"]))
            if not stale:
                raise OutputsLockedError(
                    f"The outputs folder '{folder}' is in use by another trajml run (PID {other.get('pid', '?')} "
                    f"on host {other.get('host', '?')}, started {other.get('started', '?')}). Fix: wait for it to "
                    f"finish, or give another outputs folder; if that run is gone (another host cannot be "
                    f"checked), delete '{path}'.") from None
            warnings.warn(f"The outputs folder '{folder}' was locked by PID {other['pid']} on this host (started "
                          f"{other.get('started', '?')}), which is no longer running; its lock is taken over.",
                          StaleLockWarning, stacklevel=3)
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(me, fh)
        break
    else:
        raise OutputsLockedError(f"The outputs folder '{folder}' is being locked by other runs; try again.")
    try:
        yield me
    finally:
        if _read(path).get("pid") == me["pid"]:
            os.remove(path)


def _read(path: str) -> dict:
    """The lock record; a lock being written (empty) or unreadable reads as held by an unknown run."""
    try:
        with open(path, encoding="utf-8") as fh:
            value = json.load(fh)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
