"""The Dask worker plugin that makes LocalCluster workers follow their driver (:mod:`.orphans`).

A module of its own because it imports ``distributed``, which ``import trajml`` must not.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from trajml.parallel.orphans import follow_parent

__all__ = ["FollowDriver"]


class FollowDriver(WorkerPlugin):
    """On every worker (restarted ones too): exit when the worker's parent process dies."""

    name = "trajml-follow-driver"
    idempotent = True

    def setup(self, worker: Any) -> None:
        follow_parent()
