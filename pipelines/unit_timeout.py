"""The per-unit time limit (``unit_timeout``): a hung unit fails with its name, the batch goes on.

The unit's work runs in a helper thread of its worker while the worker waits at most the limit.
A unit past it is reported failed and its result, should it ever come, is thrown away (it is never
stored); the worker goes on with the next unit. Python cannot stop a thread, so the abandoned work
keeps its core until it returns or its worker process ends (workers trajml starts end with the run).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

from trajml.errors import TrajmlError

__all__ = ["UnitTimeoutError", "call_with_timeout"]


class UnitTimeoutError(TrajmlError, TimeoutError):
    """A unit ran longer than ``unit_timeout``; the message names the unit and the limit."""


def call_with_timeout(func: Callable[[], Any], timeout: float | None, unit: str) -> Any:
    """``func()``, or :class:`UnitTimeoutError` once it has run ``timeout`` seconds (None: no limit)."""
    if timeout is None:
        return func()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # handed to the waiting thread, which raises it as its own
            box["error"] = exc

    worker = threading.Thread(target=contextvars.copy_context().run, args=(target,), daemon=True,
                              name=f"trajml-unit-{unit}")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise UnitTimeoutError(f"{unit} ran longer than the unit time limit of {timeout:g} s and was abandoned "
                               "(its result is not stored); raise unit_timeout (--unit-timeout) if such a unit "
                               "needs longer.")
    if "error" in box:
        raise box["error"]
    return box["value"]
