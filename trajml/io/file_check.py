"""Whole-file integrity check of a source: the first damaged frame of any of its files, or None.

The checks made on every chunk read (:mod:`trajml.io.xtc_payload`, :mod:`trajml.io.plausibility`)
see only the frames read, so an analysis restricted to frames before the damage succeeds while
one that reads the damaged frame fails. A batch must not mix the two for one system:
:func:`first_damage` reads every frame of every file of a source once, in order, with the same
checks (an XTC frame the decoder would choke on is found by the bounds-checked walk before any
decoder sees it; NaN, coordinates far outside the box, jumps across chunks, degenerate boxes and
volume jumps by :func:`~trajml.io.plausibility.iter_findings`), and stops at the first finding.
The pipeline runs it once per system before the system's units
(:mod:`trajml.pipelines.system_check`); :func:`file_identity` is what its cached verdict is keyed by.
"""

from __future__ import annotations

import copy
import hashlib
import os
from typing import Any

__all__ = ["first_damage", "file_identity", "CHECK_VERSION"]

#: Bumped whenever the checks change, so verdicts cached by an older version are not reused.
CHECK_VERSION = 1


def first_damage(source: Any, chunk_size: int = 100) -> dict[str, Any] | None:
    """The first damaged frame of a source's files, in reading order, or None when every frame passes.

    Parameters
    ----------
    source : trajml.io.Source
        The opened source (opening it already walked the files' frame structure). Left unmodified.
    chunk_size : int
        Frames read at a time (memory is bounded by it).

    Returns
    -------
    dict or None
        ``file``, ``frame`` (index in that file), ``kind`` (``"undecodable"``, ``"nonfinite"``,
        ``"coordinate"``, ``"jump"``, ``"box"`` or ``"volume"``), ``atom``, ``value``, ``n_atoms``
        and ``message`` (as :func:`~trajml.io.plausibility.scan_source`).
    """
    from trajml.io.plausibility import iter_findings

    # A copy: iter_findings switches the per-read checks off while it reads, and the source may be
    # shared with analyses running in other threads.
    for finding in iter_findings(copy.copy(source), chunk_size):
        return finding
    return None


def file_identity(paths: list[str] | tuple[str, ...], options: Any = ()) -> str:
    """Hex digest of the files' identity: absolute path, size, modification and change times, inode.

    The change time (``st_ctime_ns``) is set by the system on every write and cannot be restored
    by a user, so a file rewritten in place with its old size and modification time still gets a
    new identity. ``options`` (reading options that change what is read) and :data:`CHECK_VERSION`
    are part of it.

    Parameters
    ----------
    paths : list of str
        Topology and trajectory files.
    options : object
        Anything with a stable ``repr`` that changes what the check reads.

    Returns
    -------
    str
        A SHA-256 hex digest.
    """
    h = hashlib.sha256(f"file-check v{CHECK_VERSION}|{options!r}\n".encode())
    for path in paths:
        st = os.stat(path)
        h.update(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}\n".encode())
    return h.hexdigest()
