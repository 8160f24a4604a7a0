"""The Dask worker plugin that imports the trajectory readers when a LocalCluster worker starts.

A worker's first chunk would otherwise import MDAnalysis (about half a second of one core) before
it reads a frame: the first worker runs the unit and has it already, every other worker starts its
share of the unit's chunks that much later. Imported at start, on every worker at once, it is paid
while the cluster starts instead. A module of its own because it imports ``distributed``, which
``import trajml`` must not.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["WarmReaders"]


class WarmReaders(WorkerPlugin):
    """On every worker (restarted ones too): import the modules every chunk read needs."""

    name = "trajml-warm-readers"
    idempotent = True

    def setup(self, worker: Any) -> None:
        from trajml.io.mdanalysis_formats import _mda

        _mda()
        import trajml.io.source  # noqa: F401  (the readers, the frame checks)
