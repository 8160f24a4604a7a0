"""Workflows: one call from trajectories to validated models, written to files.

- :mod:`trajml.workflows.kinetics`: features → kinetic model (GraphVAMPNet, VAMPNet or
  TICA → MSM) → implied timescales, Chapman–Kolmogorov test, populations and per-state
  interpretation (:func:`kinetic_analysis`), saved by :meth:`KineticAnalysis.write`.

Workflows compose the subject packages (:mod:`trajml.kinetics`, :mod:`trajml.store`,
:mod:`trajml.plotting`); models and results never write files or plot on their own.
Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trajml._lazy import lazy_exports

_EXPORTS = {"kinetic_analysis": "kinetics", "KineticAnalysis": "kinetics",
            "MODELS": "kinetics"}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from trajml.workflows.kinetics import MODELS, KineticAnalysis, kinetic_analysis

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
