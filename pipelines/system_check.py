"""The whole-file check of a system, run once before its units, its verdict cached by file identity.

**Why.** The checks made on every chunk read see only the frames a unit reads: a unit restricted
to frames before a damaged one (``stop:``) would succeed while the system's other units fail,
and the report would mix results of a damaged file with failures. Instead, before any unit of a
system computes, :func:`check_system` reads every frame of the system's files once
(:func:`trajml.io.file_check.first_damage`: the XTC decoder walk, NaN, implausible coordinates,
jumps, boxes and volumes) and, when a frame fails, every unit of the system fails with one
message naming the file, the frame and the problem (:class:`SystemFileError`). Other systems
go on.

**Once.** The verdict is kept in ``STORE/cache/file_checks/IDENTITY.json``, keyed by
:func:`trajml.io.file_check.file_identity` (paths, sizes, modification and change times, inodes,
reading options, check version), so the units of a system after the first, other workers and
later runs read it instead of reading the files again; a file lock makes concurrent units of one
system wait for the first one's check rather than repeat it. A file changed in any way has a new
identity and is checked again.

**The store.** Unit keys contain the files' fingerprint (path, size, modification time), so a
file damaged after its units were stored normally gets new keys and every unit runs, and fails.
A file rewritten in place with its size and modification time restored keeps its unit keys but
not its identity: units to run fail by the check, and the driver reports the stored units of
that system as failed too, with the same message (their entries stay in the store; they were
computed from the file before it changed and come back once the file is restored). A run in
which every unit of a system is stored reads none of its files and does not check them. A
resumed run (``--resume``) is a run like any other here.

**Opened once per worker.** :func:`open_system` keeps the last few opened systems of a worker
process, keyed by the same file identity: the check and the units of a system on one worker
open its files (topology parse, XTC frame walk) once, so a unit's seconds are its analysis.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, Iterator

from trajml._files import atomic_write_json
from trajml.errors import CorruptTrajectoryError

__all__ = ["SystemFileError", "check_system", "check_path", "open_system"]

#: Opened systems a worker process keeps (:func:`open_system`).
OPENED_KEPT = 4
_opened: OrderedDict[str, Any] = OrderedDict()
_opened_lock = threading.Lock()


class SystemFileError(CorruptTrajectoryError):
    """A file of a pipeline system fails the whole-file check: every unit of the system fails with it."""


def check_path(store_root: str, identity: str) -> str:
    """Where the verdict of the files with ``identity`` is cached in a results store."""
    return os.path.join(store_root, "cache", "file_checks", f"{identity}.json")


def _identity(system: Any) -> str:
    from trajml.io.file_check import file_identity

    return file_identity([system.topology, *system.trajectories], (sorted(system.reader), system.type_map))


def open_system(system: Any) -> Any:
    """The system's :class:`trajml.io.Source`, opened once per worker process while its files are unchanged.

    Parameters
    ----------
    system : SystemSpec
        The system (its files and reading options).

    Returns
    -------
    trajml.io.Source
        Shared by the units of the system on this process (sources are read-only); a file
        rewritten since (new identity: size, times or inode) is opened again.
    """
    key = _identity(system)
    with _opened_lock:
        if key in _opened:
            _opened.move_to_end(key)
            return _opened[key]
    source = system.open()  # outside the lock: two units may open one system at once, both get a good Source
    with _opened_lock:
        _opened[key] = source
        while len(_opened) > OPENED_KEPT:
            _opened.popitem(last=False)
    return source


@contextmanager
def _exclusive(path: str) -> Iterator[None]:
    """An advisory lock on ``path`` (created) across processes; none where the platform has no flock."""
    try:
        import fcntl
    except ImportError:  # not POSIX: at worst two units check the same files
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            verdict = json.load(fh)
    except (OSError, ValueError):  # absent, or damaged: check again
        return None
    return verdict if isinstance(verdict, dict) and "ok" in verdict else None


def _message(system: Any, finding: dict[str, Any]) -> str:
    why = finding["message"] + ("; decoding it would crash the XTC decoder" if finding["kind"] == "undecodable" else "")
    return (f"Trajectory '{finding['file']}' frame {finding['frame']} fails the whole-file check "
            f"({finding['kind']}: {why}), so every unit of system '{system.name}' fails, "
            "whatever frames it reads. Replace the file with a good copy, or cut it before that frame "
            "(e.g. gmx trjconv -e); `trajml info --scan` lists every damaged frame.")


def check_system(system: Any, store_root: str, opener: Callable[[Any], Any]) -> None:
    """Raise :class:`SystemFileError` when a file of ``system`` fails the whole-file check.

    Parameters
    ----------
    system : SystemSpec
        The system (its files and reading options).
    store_root : str
        The results store whose ``cache/file_checks/`` keeps the verdicts.
    opener : callable
        ``opener(system) -> Source`` (the worker's cached opener); called only when no verdict is cached.

    Raises
    ------
    SystemFileError
        Naming the file, the frame and the problem.
    """
    from trajml.io.file_check import first_damage

    identity = _identity(system)
    path = check_path(store_root, identity)
    verdict = _read(path)
    if verdict is None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with _exclusive(path + ".lock"):
            verdict = _read(path)  # another unit of the system may have checked while this one waited
            if verdict is None:
                try:
                    source = opener(system)
                except SystemFileError:
                    raise
                except CorruptTrajectoryError as exc:  # the frame-structure walk at opening: the same verdict
                    raise SystemFileError(str(exc)) from exc
                finding = first_damage(source)
                verdict = {"ok": finding is None, "finding": finding}
                atomic_write_json(path, verdict, what="file check", default=str)
    if not verdict["ok"]:
        raise SystemFileError(_message(system, verdict["finding"]))
