"""The validated pipeline: :class:`PipelineSpec`, its systems (:class:`SystemSpec`) and stages
(:class:`StageSpec`), and :class:`PipelineSpecError`, which names every problem of a pipeline file.

:mod:`trajml.pipelines.spec_validation` builds them from a parsed file; :mod:`trajml.pipelines.spec`
reads the file and exports them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from trajml.errors import TrajmlError

__all__ = ["PipelineSpecError", "SystemSpec", "StageSpec", "PipelineSpec"]


class PipelineSpecError(TrajmlError, ValueError):
    """An invalid pipeline file; ``problems`` lists (line, key, message) and the text names them all."""

    def __init__(self, filename: str, problems: list[tuple[int, str, str]]) -> None:
        self.filename = filename
        self.problems = sorted(problems, key=lambda p: p[0])
        lines = [f"{filename}, line {ln}: '{key}' {msg}" for ln, key, msg in self.problems]
        head = f"{len(lines)} problem{'s' if len(lines) > 1 else ''} in pipeline '{filename}':"
        super().__init__("\n  ".join([head, *lines]))


@dataclass(frozen=True)
class SystemSpec:
    """One simulation of a pipeline: files, reading options and metadata.

    Attributes
    ----------
    name : str
        Unique system name (folder name, topology stem, or the ``name`` key).
    topology : str
        Absolute topology path.
    trajectories : tuple of str
        Absolute trajectory paths, consecutive parts of one run.
    metadata : dict
        Free-form metadata (``temperature`` in K, ``charges`` in e per atom name, ...).
    type_map : tuple of (str, str)
        LAMMPS numeric types to names.
    reader : tuple of (str, Any)
        ``open_source`` reader options (all but ``type_map``), validated by their declaration.
    line : int
        Line of the input entry in the YAML file.
    """

    name: str
    topology: str
    trajectories: tuple[str, ...]
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    type_map: tuple[tuple[str, str], ...] = ()
    reader: tuple[tuple[str, Any], ...] = ()
    line: int = 0

    def open(self) -> Any:
        """Open the system as a :class:`trajml.io.Source`."""
        from trajml.io import open_source

        return open_source(self.topology, list(self.trajectories), type_map=dict(self.type_map) or None,
                           **dict(self.reader))

    def fingerprint(self) -> str:
        """Hex digest of paths, sizes, modification times and reading options.

        The recipe of :meth:`trajml.io.Source.fingerprint`, computed from ``os.stat``
        alone so the driver never opens a trajectory.
        """
        h = hashlib.sha256()
        for path in (self.topology, *self.trajectories):
            st = os.stat(path)
            h.update(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        h.update(repr((sorted(self.reader), self.type_map)).encode())
        return h.hexdigest()


@dataclass(frozen=True)
class StageSpec:
    """One stage of a pipeline: its id, registered stage name and full parameters (defaults filled)."""

    id: str
    stage: str
    params: dict[str, Any] = field(compare=False, hash=False)
    line: int = 0


@dataclass(frozen=True)
class PipelineSpec:
    """A validated pipeline: systems, stages in order, output folder (absolute).

    ``notes`` lists what the file should change but still works (former parameter names).

    Attributes
    ----------
    name, path : str
        The pipeline's name and file.
    systems : tuple of SystemSpec
    stages : tuple of StageSpec
    outputs : str
    notes : tuple of str
    scheduler_file : str or None
        The ``scheduler_file`` key: a running Dask scheduler's file to connect to.
    cluster : dict or None
        The ``cluster`` key: a SLURM/PBS cluster's settings (``type`` and dask-jobqueue settings).
    unit_timeout : float or None
        The ``unit_timeout`` key: seconds after which a unit fails (None: no limit).
    store_precision : str or None
        The ``store_precision`` key: "float32" stores float arrays rounded (None: "float64", lossless).
    """

    name: str
    path: str
    systems: tuple[SystemSpec, ...]
    stages: tuple[StageSpec, ...]
    outputs: str
    notes: tuple[str, ...] = field(default=(), compare=False)
    scheduler_file: str | None = None
    cluster: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    unit_timeout: float | None = None
    store_precision: str | None = None
