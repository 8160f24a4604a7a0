"""Shared plumbing of the figures: the off-screen backend, pyplot on first use, axes and input checks.

matplotlib is imported on first use; without it the functions raise
:class:`~trajml.errors.MissingExtraError` naming the ``plot`` extra (``pip install 'trajml[plot]'``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["use_offscreen_backend", "warm_up_in_background"]


def use_offscreen_backend() -> None:
    """Draw into files only (Agg), unless pyplot is already imported with the user's backend.

    For code that writes figures in workers or from the command line, where no display exists.
    """
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


def warm_up_in_background() -> None:
    """Import pyplot off-screen on a daemon thread, once per process, while the caller works on.

    A worker's first figure otherwise pays matplotlib's import (about 0.3 s) after its analysis,
    when the other workers may be idle. Only matplotlib is imported here, never trajml's modules
    (two threads importing modules that import each other could see them half-initialised);
    a failure is left to the figure's own import to report.
    """
    import sys
    import threading

    if "matplotlib.pyplot" in sys.modules or any(t.name == _WARM_THREAD for t in threading.enumerate()):
        return

    def work() -> None:
        try:
            use_offscreen_backend()
            import matplotlib.pyplot  # noqa: F401
        except Exception:  # pragma: no cover - reported where a figure is drawn
            pass

    threading.Thread(target=work, name=_WARM_THREAD, daemon=True).start()


_WARM_THREAD = "trajml-warm-up-pyplot"


def _pyplot() -> Any:
    from trajml.errors import require_extra

    require_extra("matplotlib", "plot", "trajml.plotting")
    import matplotlib.pyplot as plt

    return plt


def _axes(ax: Any, n: int = 1, figsize: tuple[float, float] = (5.0, 3.5)) -> tuple[Any, Any]:
    if ax is not None:
        axes = list(np.ravel(ax)) if n > 1 else [ax]
        if len(axes) != n:
            raise ValueError(f"The 'ax' parameter must hold {n} matplotlib Axes. Got {len(axes)} instead.")
        return axes[0].figure, (axes if n > 1 else axes[0])
    plt = _pyplot()
    fig, axes = plt.subplots(1, n, figsize=figsize, layout="constrained")
    return fig, (list(np.ravel(axes)) if n > 1 else axes)


def _check(result: Any, kind: str, needed: tuple[str, ...]) -> None:
    missing = [k for k in needed if not hasattr(result, k)]
    if missing:
        raise TypeError(f"{kind} needs a result with {', '.join(needed)}; got {type(result).__name__}.")
