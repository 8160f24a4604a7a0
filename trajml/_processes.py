"""Whether a process of this host is alive: to tell a killed run's leftovers from a running one's."""

from __future__ import annotations

import errno
import os

__all__ = ["pid_alive"]


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (also when another user owns it)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: checks existence, sends nothing
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True
