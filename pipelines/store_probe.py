"""The results store's shared-file-system requirement, checked on every worker before any unit runs.

Units write their results into ``OUTPUTS/store`` from wherever they run, and the driver reads them
back; on a cluster that folder must be on a file system every worker shares with the driver. A
worker that cannot see or write it would fail each unit it takes (or, worse, store results the
driver never sees). So at start the driver writes a probe file into the store, every worker reads
it and writes its own, and the driver reads those back; the first worker that fails stops the run
with a :class:`~trajml.errors.SharedStoreError` naming the worker and the path.

Workers that join later (a batch job that leaves the queue after the run started) are checked by
each unit: the run keeps a marker file in the store, and a unit whose worker does not see it fails
at once with the same message instead of writing results where the driver cannot read them.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from trajml.errors import SharedStoreError

__all__ = ["check_shared_store", "place_run_marker", "remove_run_markers", "missing_store"]

_PREFIX = ".probe-"
_MARKER = ".run-"


def _worker_probe(root: str, token: str, worker: str = "") -> str:
    """On ``worker`` (its address): read the driver's probe in ``root``, write its own; return that file's name."""
    driver = os.path.join(root, f"{_PREFIX}{token}")
    if not os.path.isdir(root):
        raise FileNotFoundError(f"the folder does not exist on host {socket.gethostname()}")
    try:
        with open(driver, encoding="utf-8") as fh:
            seen = fh.read()
    except FileNotFoundError:
        seen = ""
    if seen != token:
        raise FileNotFoundError(f"the driver's probe file {os.path.basename(driver)} is not there, so this host "
                                f"({socket.gethostname()}) sees another folder of that name, not the driver's")
    name = f"{_PREFIX}{token}-{uuid.uuid4().hex[:8]}"
    with open(os.path.join(root, name), "w", encoding="utf-8") as fh:
        fh.write(token)
    return name


def check_shared_store(client: Any, root: str) -> None:
    """Check that every worker of ``client`` reads and writes the store folder ``root`` the driver sees.

    Raises
    ------
    SharedStoreError
        Naming the first worker that failed, the path and why.
    """
    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    token = uuid.uuid4().hex
    mine = os.path.join(root, f"{_PREFIX}{token}")
    written: list[str] = []
    with open(mine, "w", encoding="utf-8") as fh:
        fh.write(token)
    try:
        answers = client.run(_probe, root, token, on_error="return")
        for worker, answer in sorted(answers.items()):
            if isinstance(answer, BaseException):
                _refuse(worker, root, f"{type(answer).__name__}: {answer}")
            path = os.path.join(root, answer)
            written.append(path)
            if not os.path.isfile(path):
                _refuse(worker, root, f"it wrote {answer} there, but the driver does not see that file")
    finally:
        for path in [mine, *written]:
            try:
                os.remove(path)
            except OSError:
                pass


def _probe(root: str, token: str, dask_worker: Any = None) -> str:
    # Dask passes the worker; _worker_probe is looked up at call time, so a test can stand in for it.
    return _worker_probe(root, token, getattr(dask_worker, "address", ""))


def _message(worker: str, root: str, why: str) -> str:
    return (f"Dask worker {worker} cannot use the results store '{root}' ({why}). Every worker must read and "
            "write the pipeline's outputs folder on a file system it shares with the driver: put 'outputs' "
            "(--outputs) on a shared file system (not a node-local scratch folder), or start the workers where "
            "they see it.")


def _refuse(worker: str, root: str, why: str) -> None:
    raise SharedStoreError(_message(worker, root, why))


def place_run_marker(root: str, run_id: str) -> str:
    """Write the run's marker file into the store folder ``root``; return its path."""
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, f"{_MARKER}{run_id}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(run_id)
    return path


def remove_run_markers(root: str) -> None:
    """Remove every run marker (this run's at its end; a killed run's at the next start, under the lock)."""
    if os.path.isdir(root):
        for name in os.listdir(root):
            if name.startswith((_MARKER, _PREFIX)):
                try:
                    os.remove(os.path.join(root, name))
                except OSError:
                    pass


def missing_store(marker: str) -> str | None:
    """On a worker: None when it sees the run marker, else the text of a :class:`SharedStoreError`."""
    if not marker or os.path.isfile(marker):
        return None
    worker = f"on host {socket.gethostname()} (PID {os.getpid()})"
    return _message(worker, os.path.dirname(marker), f"the run's marker file {os.path.basename(marker)} is not "
                    "there")
