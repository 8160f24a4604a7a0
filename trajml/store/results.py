"""The pipeline results store: content-addressed (system, stage) units on a plain file system.

Layout::

    STORE/objects/ab/abcdef.../    one finished (system, stage) unit
        result.json                the result: numbers, labels, units; a placeholder for each array
        arrays.nc                  its arrays (netCDF-4, units as attributes; see trajml.store.arrays)
        entry.json                 stage, system, parameters, key inputs, timing, provenance
        NAME.csv                   tables (one header line, then rows)
        NAME.png                   figures
        sha256.json                SHA-256 of every other file of the entry
    STORE/tmp/                     entries being written

The key is ``sha256`` of the canonical JSON of {schema version, stage name and
version, parameters with defaults filled in, source fingerprint (paths, sizes,
modification times, reading options), the keys of the units it depends on and
the system metadata the stage declares}, and the arrays' precision where it is not
the lossless default (``store_precision: float32``: a unit stored rounded is never reused
for a lossless run, nor the other way round). A changed parameter therefore changes
only the keys of that stage and of the stages that depend on it.

An entry is written into a fresh folder under ``tmp/`` and moved into place with
one ``os.replace`` (a rename, atomic on POSIX file systems), so a reader sees a
complete entry or none, whatever moment a crash (even SIGKILL) strikes. Two
workers finishing the same key race harmlessly: the second rename fails and its
copy is dropped, the content being the same by construction. On a cluster the
store must live on a file system every worker and the driver share.

Every entry carries ``sha256.json``, the SHA-256 of each of its other files, written
last into the temporary folder. :meth:`ResultStore.check` verifies it, so an entry
damaged after the fact (truncated, bytes changed, a file deleted) is found, and
:meth:`ResultStore.discard` takes it out so that the unit is computed again.
Entries written before the arrays moved to ``arrays.nc`` keep them as JSON lists in
``result.json``; they load as they are (:meth:`ResultStore.get` gives the lists) and are
reused, since the keys are unchanged.

Entries written before checksums existed have no ``sha256.json``: what can be
verified is (result.json and entry.json parse as JSON objects, every file that
entry.json lists exists), and such an entry is trusted once it passes, rather
than recomputing every stored unit of every project once.
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

from trajml.store.arrays import (
    ARRAYS,
    join_arrays,
    numeric_arrays,
    placeholders,
    read_arrays,
    split_arrays,
    write_arrays,
)

__all__ = ["SCHEMA_VERSION", "ResultStore", "Entry", "unit_key", "canonical_json", "DamagedEntryError"]

#: The file of an entry that holds the SHA-256 of each of its other files.
CHECKSUMS = "sha256.json"


class DamagedEntryError(KeyError):
    """A stored entry whose files fail their checksums (or are missing or unreadable).

    A KeyError, as for a missing entry: the caller treats it as not stored and computes it again.
    """

    def __str__(self) -> str:  # KeyError quotes its argument; this message is a sentence
        return str(self.args[0]) if self.args else ""

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
    """Deterministic JSON: sorted keys, no spaces, numpy values as Python values.

    Parameters
    ----------
    value : object
        JSON-serialisable, numpy values allowed.
    """
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def unit_key(stage: str, stage_version: int, params: dict[str, Any], fingerprint: str,
             dependencies: dict[str, str] | None = None, metadata: dict[str, Any] | None = None,
             precision: str = "float64") -> str:
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
    precision : {"float64", "float32"}
        The precision its float arrays are stored at (a pipeline's ``store_precision``); the
        default leaves the key what it was before the setting existed.

    Returns
    -------
    str
        64 hex digits.
    """
    doc = {"schema": SCHEMA_VERSION, "stage": stage, "version": stage_version, "params": params,
           "source": fingerprint, "deps": dependencies or {}, "metadata": metadata or {}}
    if precision != "float64":
        doc["store_precision"] = precision
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A finished unit read back from the store: folder, result data and entry metadata.

    Attributes
    ----------
    key, path : str
        Store key and folder.
    data : dict
        The stage's result, with every numeric array as an ndarray (float64 or int64), whether the
        entry keeps its arrays in ``arrays.nc`` or (written by an earlier release) as JSON lists in
        ``result.json``.
    meta : dict
        Entry metadata (stage, parameters, timing, ...).
    """

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
        # The files read here; a lost figure or table is the reader's to name (the report does).
        problem = self.check(key, ("result.json", "entry.json", ARRAYS))
        if problem:
            raise DamagedEntryError(f"The stored result {folder} is damaged: {problem}. Run the pipeline again "
                                    "to compute it anew.")
        with open(os.path.join(folder, "result.json"), encoding="utf-8") as fh:
            data = json.load(fh)
        with open(os.path.join(folder, "entry.json"), encoding="utf-8") as fh:
            meta = json.load(fh)
        names = placeholders(data)
        if not names:  # written before arrays.nc: the same arrays, from the JSON lists
            data = numeric_arrays(data)
        else:
            try:
                data = join_arrays(data, read_arrays(os.path.join(folder, ARRAYS), names))
            except (OSError, KeyError, ValueError) as exc:  # only where no checksum could say so first
                raise DamagedEntryError(f"The stored result {folder} is damaged: {ARRAYS} is unreadable "
                                        f"({type(exc).__name__}: {exc}). Run the pipeline again to compute it "
                                        "anew.") from None
        return Entry(key, folder, data, meta)

    def check(self, key: str, names: tuple[str, ...] | None = None) -> str | None:
        """What is wrong with the stored entry ``key``: None when it is whole, else a short reason.

        With ``sha256.json`` every file it lists must exist with its checksum; without it (an entry
        written before checksums existed) result.json and entry.json must parse as JSON objects,
        every file entry.json lists must exist, and so must arrays.nc where result.json refers to
        it. A missing entry is not damaged (None).

        Parameters
        ----------
        key : str
            The entry.
        names : tuple of str, optional
            Check only these files of the entry (default: every file).
        """
        folder = self.path(key)
        if not os.path.isdir(folder):
            return None
        sums_path = os.path.join(folder, CHECKSUMS)
        if os.path.isfile(sums_path):
            try:
                with open(sums_path, encoding="utf-8") as fh:
                    sums = json.load(fh)
            except (OSError, ValueError) as exc:
                return f"{CHECKSUMS} is unreadable ({type(exc).__name__})"
            if not isinstance(sums, dict) or not {"result.json", "entry.json"} <= set(sums):
                return f"{CHECKSUMS} does not list result.json and entry.json"
            for name, digest in sorted(sums.items()):
                if names is not None and name not in names:
                    continue
                path = os.path.join(folder, name)
                if not os.path.isfile(path):
                    return f"{name} is missing"
                if _sha256(path) != digest:
                    return f"{name} does not match its checksum"
            return None
        # Written before checksums existed: verify what can be verified.
        parsed = {}
        for name in ("result.json", "entry.json"):
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as fh:
                    parsed[name] = json.load(fh)
            except FileNotFoundError:
                return f"{name} is missing"
            except (OSError, ValueError) as exc:
                return f"{name} is not valid JSON ({type(exc).__name__}: {exc})"
            if not isinstance(parsed[name], dict):
                return f"{name} is not a JSON object"
        for name in parsed["entry.json"].get("files", []):
            if names is not None and name not in names:
                continue
            if not os.path.isfile(os.path.join(folder, str(name))):
                return f"{name} is missing"
        # sha256.json lost from an entry that keeps arrays: its arrays file must be there at least
        if placeholders(parsed["result.json"]) and not os.path.isfile(os.path.join(folder, ARRAYS)):
            return f"{ARRAYS} is missing"
        return None

    def discard(self, key: str) -> None:
        """Take entry ``key`` out of the store (a damaged one), so that its unit counts as not stored.

        The folder is first renamed into ``tmp/`` (atomic: a reader sees the entry whole or not at
        all), then removed.
        """
        folder = self.path(key)
        trash = os.path.join(self.root, "tmp", f"damaged-{key}.{uuid.uuid4().hex}")
        try:
            os.replace(folder, trash)
        except FileNotFoundError:
            return  # another process discarded it already
        shutil.rmtree(trash, ignore_errors=True)

    def put(self, key: str, output: Any, meta: dict[str, Any], precision: str = "float64") -> str:
        """Write a :class:`~trajml.pipelines.registry.StageOutput` as entry ``key``, atomically.

        Parameters
        ----------
        key : str
            The unit's key (:func:`unit_key`, with the same ``precision``).
        output : StageOutput
            The stage's result, tables and figures.
        meta : dict
            Entry metadata (stage, system, parameters, timing, ...) for ``entry.json``.
        precision : {"float64", "float32"}
            The precision of the float arrays in ``arrays.nc`` (:func:`trajml.store.arrays.write_arrays`):
            bit for bit by default.

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
            data, arrays = split_arrays(output.data)
            _write(os.path.join(tmp, "result.json"), json.dumps(_jsonable(data), sort_keys=True, indent=1))
            if arrays:
                write_arrays(os.path.join(tmp, ARRAYS), arrays, {
                    "title": f"trajml stage {meta.get('stage_id', meta.get('stage', ''))} of system "
                             f"{meta.get('system', '')}",
                    "stage": meta.get("stage"), "stage_id": meta.get("stage_id"), "system": meta.get("system"),
                    "key": key, "schema": SCHEMA_VERSION}, precision)
                _fsync(os.path.join(tmp, ARRAYS))
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
                 **({"store_precision": precision} if precision != "float64" else {}),
                 **({"missing_figures": missing} if missing else {}),
                 "written": time.strftime("%Y-%m-%dT%H:%M:%S")}), sort_keys=True, indent=1))
            # Last: the checksums of every file above, so a damaged entry is found on reading.
            sums = {name: _sha256(os.path.join(tmp, name)) for name in sorted(os.listdir(tmp))}
            _write(os.path.join(tmp, CHECKSUMS), json.dumps(sums, sort_keys=True, indent=1))
            os.makedirs(os.path.dirname(final), exist_ok=True)
            try:
                os.replace(tmp, final)
            except OSError:
                if not os.path.isdir(final):  # not a lost race: a real failure
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return final

    def clean_tmp(self, older_than_s: float = 3600.0) -> list[str]:
        """Remove half-written folders left by killed runs (older than ``older_than_s`` s); return their paths.

        A run that holds the outputs folder's lock passes 0: no other run can be writing there.
        """
        base, now, removed = os.path.join(self.root, "tmp"), time.time(), []
        for name in sorted(os.listdir(base)):
            p = os.path.join(base, name)
            try:
                if now - os.path.getmtime(p) < older_than_s:
                    continue
            except FileNotFoundError:
                continue
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.remove(p)
            removed.append(p)
        return removed


def _finite_or_none(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync(path: str) -> None:
    with open(path, "rb") as fh:
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
