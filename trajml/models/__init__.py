"""Deprecated: ``trajml.models`` was split into subject packages; this shim keeps the old paths for one release.

================================  =====================================================
old                               new
================================  =====================================================
covariances, MSM, TICA, soft      :mod:`trajml.kinetics` (deep models: :mod:`trajml.kinetics.deep`)
validation, state interpretation
``save_model``, ``load_model``    :mod:`trajml.store` (graph datasets: :mod:`trajml.store.graphs`)
``kinetic_analysis``              :mod:`trajml.workflows`
================================  =====================================================

Every name the old packages exported, and every old module path (``trajml.models.msm``, ...),
still resolves to the same object at its new home, with a :class:`DeprecationWarning` naming it.
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
