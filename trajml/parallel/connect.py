"""Connecting to a running Dask scheduler by address or scheduler file, failing fast and clearly.

``dask scheduler --scheduler-file FILE`` (in a batch job, on a login node) writes a JSON file
with its address; ``trajml run --scheduler-file FILE`` (``run_pipeline(scheduler_file=...)``,
a pipeline's ``scheduler_file:``) reads it. Dask's own client waits for a missing file and retries
a dead address for its whole connect timeout (30 s by default) before a bare ``OSError``; here a
missing or unreadable file is refused at once and a scheduler that does not answer within
:data:`CONNECT_TIMEOUT_S` seconds is reported with the file, the address and what to check.
"""

from __future__ import annotations

import json
import os
from typing import Any

from trajml.errors import SchedulerConnectionError

__all__ = ["CONNECT_TIMEOUT_S", "read_scheduler_file", "connect"]

#: Seconds to wait for a scheduler to answer (a live one answers in milliseconds).
CONNECT_TIMEOUT_S = 5.0


def read_scheduler_file(path: str | os.PathLike, flag: str = "scheduler_file") -> str:
    """The scheduler address a Dask scheduler file holds.

    Raises
    ------
    FileNotFoundError
        No such file (the scheduler has not started, or another path was meant).
    ValueError
        The file is not a Dask scheduler file (JSON with an ``address``).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The scheduler file '{path}' given as {flag} does not exist: start the scheduler "
                                f"with 'dask scheduler --scheduler-file {path}' first (and wait until it has "
                                "written the file), or give the file it wrote.")
    try:
        with open(path, encoding="utf-8") as fh:
            address = json.load(fh).get("address")
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"The scheduler file '{path}' given as {flag} is not a Dask scheduler file "
                         f"(JSON with an 'address'): {exc}") from None
    if not isinstance(address, str) or "://" not in address:
        raise ValueError(f"The scheduler file '{path}' given as {flag} holds no scheduler address "
                         f"(got {address!r}); give the file 'dask scheduler --scheduler-file' wrote.")
    return address


def connect(address: str | None = None, scheduler_file: str | os.PathLike | None = None,
            timeout_s: float | None = None, flag: str = "scheduler_file") -> Any:
    """A ``dask.distributed.Client`` of a running scheduler (close it when done).

    Parameters
    ----------
    address : str, optional
        ``tcp://host:port``.
    scheduler_file : path, optional
        A file written by ``dask scheduler --scheduler-file``; used when ``address`` is None.
    timeout_s : float, optional
        Seconds to wait for the scheduler to answer (default :data:`CONNECT_TIMEOUT_S`).
    flag : str
        How the caller named the file (``--scheduler-file`` on the command line), for messages.

    Raises
    ------
    SchedulerConnectionError
        Nothing answered at the address in time (a ``ConnectionError``).
    """
    from dask.distributed import Client

    where = ""
    timeout_s = CONNECT_TIMEOUT_S if timeout_s is None else timeout_s
    if address is None:
        address = read_scheduler_file(scheduler_file, flag)  # type: ignore[arg-type]
        where = f" (named in the scheduler file '{os.fspath(scheduler_file)}')"  # type: ignore[arg-type]
    try:
        return Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError) as exc:
        stale = " The file may be left over from a scheduler that has stopped: start a new one." if where else ""
        raise SchedulerConnectionError(
            f"No Dask scheduler answered at {address}{where} within {timeout_s:g} s: is it running, and can this "
            f"machine reach it?{stale} ({type(exc).__name__}: {exc})") from None
