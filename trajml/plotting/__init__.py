"""Matplotlib figures of trajml results, one module per subject. Compute classes never plot; these functions take
Results.

- :mod:`trajml.plotting.structure`: g(r), coordination numbers, Li⁺ solvation, shells of many species;
- :mod:`trajml.plotting.transport`: MSDs, the self and collective MSDs behind a conductivity,
  residence-time correlation functions;
- :mod:`trajml.plotting.kinetics`: implied timescales, Chapman–Kolmogorov tests, populations and
  per-state structure of kinetic models;
- :mod:`trajml.plotting.fes`: free-energy surfaces with minima, basins and paths; path profiles.

matplotlib is imported on first use; without it the functions raise
:class:`~trajml.errors.MissingExtraError` naming the ``plot`` extra
(``pip install 'trajml[plot]'``). Each function draws on the axes it is given,
or on a new figure, and returns the :class:`~matplotlib.figure.Figure`.
Names load on first use, so ``import trajml.plotting`` imports neither matplotlib nor the subject modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trajml._lazy import lazy_exports

_EXPORTS = {
    "use_offscreen_backend": "_base", "warm_up_in_background": "_base",
    "plot_rdf": "structure", "plot_coordination": "structure", "plot_solvation": "structure",
    "plot_shells": "structure",
    "plot_msd": "transport", "plot_residence": "transport", "plot_transport": "transport",
    "plot_implied_timescales": "kinetics", "plot_ck_test": "kinetics", "plot_populations": "kinetics",
    "plot_state_rdf": "kinetics", "plot_state_shell": "kinetics", "plot_state_populations": "kinetics",
    "plot_fes": "fes", "plot_path_profile": "fes",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from trajml.plotting._base import use_offscreen_backend, warm_up_in_background
    from trajml.plotting.fes import plot_fes, plot_path_profile
    from trajml.plotting.kinetics import (
        plot_ck_test,
        plot_implied_timescales,
        plot_populations,
        plot_state_populations,
        plot_state_rdf,
        plot_state_shell,
    )
    from trajml.plotting.structure import plot_coordination, plot_rdf, plot_shells, plot_solvation
    from trajml.plotting.transport import plot_msd, plot_residence, plot_transport

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
