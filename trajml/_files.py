"""Atomic file writes: a reader (or a rerun after a crash) never sees a half-written file.

Every file trajml writes (results, model files, tables, reports) goes through
:func:`atomic_write`: the content is written to a temporary file in the destination's folder
and renamed over the destination only once complete (:func:`os.replace` is atomic on POSIX
file systems); on any failure the temporary file is removed and the destination is untouched.

The finished file gets the permissions a plain :func:`open` would give it: a new file
``0o666`` less the umask (and the folder's default ACL), an existing file keeps its mode, so
outputs in a shared project folder stay readable to the group. (:func:`tempfile.mkstemp`
would leave every output ``0o600``.)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from typing import IO, Any

__all__ = ["atomic_write", "atomic_write_text", "atomic_write_json", "atomic_savez"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", *, what: str = "output file",
                 encoding: str | None = None, newline: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or path-like
        The destination.
    mode : {"wb", "w"}
        Binary or text.
    what : str
        What the file is, for the error message (``"model file"``).
    encoding, newline : str, optional
        For text mode (UTF-8 by default).

    Raises
    ------
    OSError
        The folder cannot be written; the message names the file and the reason.
    """
    name = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(name))
    try:
        fd, tmp = _create_temporary(folder, os.path.basename(name))
        _keep_mode(name, fd)
    except OSError as exc:
        raise OSError(f"Cannot write the {what} '{name}': {exc.strerror or exc}.") from None
    if "b" not in mode:
        encoding = encoding or "utf-8"
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
        os.replace(tmp, name)
    except OSError as exc:
        _remove(tmp)
        raise OSError(f"Cannot write the {what} '{name}': {exc.strerror or exc}.") from None
    except BaseException:
        _remove(tmp)
        raise


def _create_temporary(folder: str, base: str) -> tuple[int, str]:
    """Create ``folder/.BASE.RANDOM.tmp`` exclusively with mode 0o666, which the kernel narrows by the umask.

    Passing the mode to :func:`os.open` (rather than a ``chmod`` after
    :func:`tempfile.mkstemp`) applies the umask and default ACLs exactly as a plain open
    would, without reading the process umask (which cannot be read thread-safely).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no unused temporary name beside '{base}' in '{folder}'")


def _keep_mode(name: str, fd: int) -> None:
    """Give the temporary file the mode of the file it replaces, as overwriting in place would keep it."""
    try:
        mode = stat.S_IMODE(os.stat(name).st_mode)
    except OSError:
        return  # a new file: the umask decided
    try:
        os.fchmod(fd, mode)
    except (OSError, AttributeError):  # no fchmod (Windows) or a file system without modes
        pass


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def atomic_write_text(path: str | os.PathLike[str], text: str, *, what: str = "output file") -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w", what=what) as fh:
        fh.write(text)


def atomic_write_json(path: str | os.PathLike[str], value: Any, *, what: str = "output file",
                      **dump_kwargs: Any) -> None:
    """Write ``value`` as JSON to ``path`` atomically (``dump_kwargs`` go to :func:`json.dump`)."""
    with atomic_write(path, "w", what=what) as fh:
        json.dump(value, fh, **dump_kwargs)
        fh.write("\n")


def atomic_savez(path: str | os.PathLike[str], arrays: Mapping[str, Any], *, what: str = "output file") -> None:
    """Write arrays as an uncompressed ``.npz`` to ``path`` atomically (``path`` is used as given)."""
    import numpy as np

    with atomic_write(path, "wb", what=what) as fh:
        np.savez(fh, **arrays)
