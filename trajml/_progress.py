"""Progress that reads well both on a terminal and in a batch job's log file.

On a terminal (standard error is a tty) progress is a tqdm bar. Anywhere else (a SLURM or PBS
output file, a pipe, a notebook's captured stream) a bar would fill the file with carriage
returns and cursor codes and, redrawn at exit, show every bar with the time at close; there
:func:`progress_bar` prints plain timestamped lines instead: one when a unit starts, a
heartbeat at most every :func:`heartbeat_interval` seconds with how far it got, and one when it
finishes with its own seconds.

The heartbeat interval is ``TRAJML_PROGRESS_INTERVAL`` (seconds, default 30) in the
environment, so it reaches Dask workers as well as the driver.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

__all__ = ["progress_bar", "LineProgress", "heartbeat_interval", "is_terminal", "log_line"]

#: Default seconds between two heartbeat lines of one unit.
DEFAULT_INTERVAL = 30.0


def heartbeat_interval() -> float:
    """Seconds between heartbeat lines: ``TRAJML_PROGRESS_INTERVAL`` or 30 (an unreadable value counts as 30)."""
    text = os.environ.get("TRAJML_PROGRESS_INTERVAL", "")
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_INTERVAL
    return value if value >= 0 else DEFAULT_INTERVAL


def is_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (standard error by default) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def log_line(text: str, stream: IO[str] | None = None) -> None:
    """Print ``YYYY-MM-DD HH:MM:SS text`` to ``stream`` (standard error) and flush, so batch logs stay current."""
    out = sys.stderr if stream is None else stream
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}", file=out, flush=True)


class LineProgress:
    """A tqdm-like counter that prints timestamped lines (see the module documentation).

    Only ``update``, ``set_postfix`` and ``close`` (and use as a context manager) are offered:
    what trajml's loops call on a bar.

    Parameters
    ----------
    total : int, optional
        Number of steps, when known.
    desc : str
        What runs (``"VAMPNet"``, ``"RDF: blocks"``).
    unit : str
        What a step is (``"epoch"``, ``"chunk"``).
    stream : file, optional
        Where lines go (standard error by default).
    interval : float, optional
        Seconds between heartbeats (default :func:`heartbeat_interval`).
    """

    def __init__(self, total: int | None = None, desc: str = "", unit: str = "step", *,
                 stream: IO[str] | None = None, interval: float | None = None) -> None:
        self.total, self.desc, self.unit, self.n = total, desc or "progress", unit, 0
        self.stream = stream
        self.interval = heartbeat_interval() if interval is None else interval
        self.postfix = ""
        self.closed = False
        self.start_t = self._last = time.perf_counter()
        of = f" ({total} {unit}s)" if total is not None else ""
        log_line(f"{self.desc}: started{of}", self.stream)

    def _count(self) -> str:
        return f"{self.n}/{self.total} {self.unit}s" if self.total is not None else f"{self.n} {self.unit}s"

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps; print a heartbeat when the interval has passed since the last line."""
        self.n += n
        now = time.perf_counter()
        if now - self._last >= self.interval and not self.closed:
            self._last = now
            log_line(f"{self.desc}: {self._count()}, {now - self.start_t:.0f} s{self.postfix}", self.stream)

    def set_postfix(self, **values: Any) -> None:
        """Latest scores to show on the next line (``train=0.93``)."""
        self.postfix = "; " + ", ".join(f"{k}={v}" for k, v in values.items()) if values else ""

    def close(self) -> None:
        """Print the finish line with this unit's own seconds (once)."""
        if self.closed:
            return
        self.closed = True
        log_line(f"{self.desc}: finished {self._count()} in {time.perf_counter() - self.start_t:.1f} s"
                 f"{self.postfix}", self.stream)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _Silent:
    """The bar of a loop that shows no progress."""

    n = 0

    def update(self, n: int = 1) -> None:
        """Do nothing."""

    def set_postfix(self, **values: Any) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def progress_bar(total: int | None, desc: str, unit: str, enabled: bool = True, *, leave: bool = False,
                 stream: IO[str] | None = None, **tqdm_kwargs: Any) -> Any:
    """A progress counter: a tqdm bar on a terminal, :class:`LineProgress` elsewhere, silent when not ``enabled``.

    Parameters
    ----------
    total : int, optional
        Number of steps.
    desc, unit : str
        Label and step name.
    enabled : bool
        Whether to show progress at all (the caller's policy, e.g. :func:`trajml.parallel.show_progress`).
    leave : bool
        Keep the bar on screen when done (terminal only).
    stream : file, optional
        Standard error by default; its being a terminal picks the bar.
    **tqdm_kwargs
        Passed on to tqdm (``position``).

    Returns
    -------
    object
        With ``update(n)``, ``set_postfix(**values)`` and ``close()``.
    """
    if not enabled:
        return _Silent()
    out = sys.stderr if stream is None else stream
    if is_terminal(out) or (stream is None and "ipykernel" in sys.modules):  # a notebook draws a widget
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=leave, file=out, **tqdm_kwargs)
    return LineProgress(total, desc, unit, stream=out)
