"""Worker processes that follow their driver: they exit when the process that started them dies.

A driver killed with SIGKILL cannot stop its workers, and a worker of Dask's process pool or of a
LocalCluster goes on with its task, writes to the results store minutes later and then waits
forever for work. Each worker process we start ourselves therefore runs a watchdog thread that
checks its parent process every :data:`POLL_S` seconds and ends the worker (``os._exit``) when
the parent has gone (the worker is re-parented, so ``os.getppid()`` changes).

What it covers: ``scheduler="processes"`` (the process-pool initializer) and ``"local"`` (a worker
plugin of the LocalCluster, so workers the nanny restarts follow too). What it cannot do:

- workers of an external scheduler (``tcp://...``, a scheduler file) are not the driver's
  children and outlive it by design: the units they have in flight finish and are stored (the
  next run reuses them). Start those workers with ``dask worker --death-timeout 60`` to have them
  exit once their scheduler is gone; dask-jobqueue clusters started by trajml set it (the driver
  hosts their scheduler).
- a worker stuck inside a C call that holds the GIL cannot run its watchdog; it is ended only
  when that call returns. trajml's kernels release the GIL.

Linux's ``prctl(PR_SET_PDEATHSIG)`` is not used: it fires when the *thread* that started the
worker ends, which for pools started from a helper thread would kill healthy workers.
"""

from __future__ import annotations

import os
import threading

__all__ = ["POLL_S", "follow_parent"]

#: Seconds between two checks of the parent process.
POLL_S = 0.25

_started = False


def follow_parent(poll_s: float = POLL_S) -> None:
    """Exit this process soon after its parent dies (starts a daemon watchdog thread; idempotent).

    Used as the initializer of worker processes; call it in the worker, not in the driver.
    """
    global _started
    if _started:
        return
    _started = True
    parent = os.getppid()

    def watch() -> None:
        stop = threading.Event()
        while not stop.wait(poll_s):
            if os.getppid() != parent:
                # No clean-up: the driver that owned this work is gone; its store writes are atomic.
                os._exit(1)

    threading.Thread(target=watch, name="trajml-follow-driver", daemon=True).start()
