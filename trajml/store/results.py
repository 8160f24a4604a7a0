"""The pipeline results store: content-addressed (system, stage) units on a plain file system.

Layout::

    STORE/objects/ab/abcdef.../    one finished (system, stage) unit
        result.json                the result (numbers, arrays as lists, units)
        entry.json                 stage, system, parameters, key inputs, timing, provenance
        NAME.csv                   tables (one header line, then rows)
        NAME.png                   figures
    STORE/tmp/                     entries being written

The key is ``sha256`` of the canonical JSON of {schema version, stage name and
version, parameters with defaults filled in, source fingerprint (paths, sizes,
modification times, reading options), the keys of the units it depends on and
the system metadata the stage declares}. A changed parameter therefore changes
only the keys of that stage and of the stages that depend on it.

An entry is written into a fresh folder under ``tmp/`` and moved into place with
one ``os.replace`` (a rename, atomic on POSIX file systems), so a reader sees a
complete entry or none, whatever moment a crash (even SIGKILL) strikes. Two
workers finishing the same key race harmlessly: the second rename fails and its
copy is dropped, the content being the same by construction. On a cluster the
store must live on a file system every worker and the driver share.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SCHEMA_VERSION", "ResultStore", "Entry", "unit_key", "canonical_json"]

#: Version of the entry layout and of the key recipe; bump to invalidate every stored entry.
SCHEMA_VERSION = 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, numpy values as Python values."""
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def unit_key(stage: str, stage_version: int, params: dict[str, Any], fingerprint: str,
             dependencies: dict[str, str] | None = None, metadata: dict[str, Any] | None = None) -> str:
    """The content address of one (system, stage) unit.

    Parameters
    ----------
    stage : str
        Registered stage name.
    stage_version : int
        The stage's output version.
    params : dict
        Every parameter, defaults filled in (ids of referenced stages are
        replaced by the dependency keys, so renaming a stage id reuses results).
    fingerprint : str
        The system's source fingerprint.
    dependencies : dict of str to str
        Parameter name -> key of the unit it refers to.
    metadata : dict
        The system metadata values the stage declares it uses.

    Returns
    -------
    str
        64 hex digits.
    """
    doc = {"schema": SCHEMA_VERSION, "stage": stage, "version": stage_version, "params": params,
           "source": fingerprint, "deps": dependencies or {}, "metadata": metadata or {}}
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A finished unit read back from the store: folder, result data and entry metadata."""

    key: str
    path: str
    data: dict[str, Any]
    meta: dict[str, Any]

    def file(self, name: str) -> str:
        """Absolute path of a file of the entry (``rdf.png``, ``rdf.csv``)."""
        return os.path.join(self.path, name)


class ResultStore:
    """Finished units keyed by content; see the module documentation.

    Parameters
    ----------
    root : str
        Store folder (created when missing).
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = os.path.abspath(os.fspath(root))
        os.makedirs(os.path.join(self.root, "objects"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "tmp"), exist_ok=True)

    def path(self, key: str) -> str:
        """Folder of entry ``key`` (whether or not it exists)."""
        return os.path.join(self.root, "objects", key[:2], key)

    def has(self, key: str) -> bool:
        """Whether unit ``key`` is finished (entries appear whole, so existence suffices)."""
        return os.path.isdir(self.path(key))

    def keys(self) -> list[str]:
        """Every stored key, sorted."""
        base = os.path.join(self.root, "objects")
        return sorted(k for d in os.listdir(base) for k in os.listdir(os.path.join(base, d)))

    def get(self, key: str) -> Entry:
        """Read entry ``key``.

        Raises
        ------
        KeyError
            No finished entry has that key.
        """
        folder = self.path(key)
        if not os.path.isdir(folder):
            raise KeyError(f"No stored result with key {key[:12]}… in '{self.root}'.")
        with open(os.path.join(folder, "result.json"), encoding="utf-8") as fh:
            data = json.load(fh)
        with open(os.path.join(folder, "entry.json"), encoding="utf-8") as fh:
            meta = json.load(fh)
        return Entry(key, folder, data, meta)

    def put(self, key: str, output: Any, meta: dict[str, Any]) -> str:
        """Write a :class:`~trajml.pipelines.registry.StageOutput` as entry ``key``, atomically.

        Returns
        -------
        str
            The entry folder.
        """
        final = self.path(key)
        if os.path.isdir(final):
            return final
        tmp = os.path.join(self.root, "tmp", f"{key}.{uuid.uuid4().hex}")
        os.makedirs(tmp)
        try:
            files = []
            _write(os.path.join(tmp, "result.json"), json.dumps(_jsonable(output.data), sort_keys=True, indent=1))
            for name, columns in output.tables.items():
                _write(os.path.join(tmp, f"{name}.csv"), _csv(columns))
                files.append(f"{name}.csv")
            missing = {}
            for name, fig in output.figures.items():
                if fig is None or isinstance(fig, str):  # asked for, but the stage had nothing to draw
                    missing[name] = fig or "the stage had no data to draw it"
                    continue
                fig.savefig(os.path.join(tmp, f"{name}.png"), dpi=110)
                _close(fig)
                files.append(f"{name}.png")
            numbers = {k: [_finite_or_none(v), unit] for k, (v, unit) in output.numbers.items()}
            _write(os.path.join(tmp, "entry.json"), json.dumps(_jsonable(
                {**meta, "key": key, "schema": SCHEMA_VERSION, "numbers": numbers, "files": files,
                 **({"missing_figures": missing} if missing else {}),
                 "written": time.strftime("%Y-%m-%dT%H:%M:%S")}), sort_keys=True, indent=1))
            os.makedirs(os.path.dirname(final), exist_ok=True)
            try:
                os.replace(tmp, final)
            except OSError:
                if not os.path.isdir(final):  # not a lost race: a real failure
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return final

    def clean_tmp(self, older_than_s: float = 3600.0) -> int:
        """Remove half-written folders left by killed runs (older than ``older_than_s``); return how many."""
        base, now, n = os.path.join(self.root, "tmp"), time.time(), 0
        for name in os.listdir(base):
            p = os.path.join(base, name)
            if now - os.path.getmtime(p) > older_than_s:
                shutil.rmtree(p, ignore_errors=True)
                n += 1
        return n


def _finite_or_none(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _csv(columns: dict[str, Any]) -> str:
    names = list(columns)
    cols = [list(np.asarray(columns[k]).tolist()) for k in names]
    lines = [",".join(names)]
    for row in zip(*cols):
        lines.append(",".join(repr(v) if isinstance(v, float) else str(v) for v in row))
    return "\n".join(lines) + "\n"


def _close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)
