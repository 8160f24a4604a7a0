"""Deprecated: ``trajml.models`` was split into subject packages; this shim keeps the old paths for one release.

Where things live now:

- covariances, MSM, TICA, soft validation, state interpretation: :mod:`trajml.kinetics`;
  VAMPNets and graph VAMPNets: :mod:`trajml.kinetics.deep`;
- free-energy surfaces (``trajml.models.fes``): :mod:`trajml.fes`; their figures: :mod:`trajml.plotting`;
- extrapolation tables, readers, baselines, descriptors: :mod:`trajml.extrapolation`; the multitask
  network: :mod:`trajml.extrapolation.deep`;
- model files (``save_model``, ``load_model``, ``save_fes``, ``load_fes``), graph datasets: :mod:`trajml.store`;
- ``kinetic_analysis``: :mod:`trajml.workflows`.

Every name the old packages exported, and every old module path (``trajml.models.msm``,
``trajml.models.fes.gp``, ``trajml.models.deep.multitask``, ...), still resolves to the very same
object at its new home, with a :class:`DeprecationWarning` naming it (see :mod:`trajml.models._shim`).
``import trajml.models`` imports neither torch nor the new packages.
"""

from __future__ import annotations

from typing import Any

from trajml.models._shim import NAMES, install, moved_name

install()

__all__ = sorted(NAMES["trajml.models"])


def __getattr__(name: str) -> Any:
    return moved_name(__name__, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
