"""Atomic writes: the finished file's mode follows the umask (as a plain open() would), or the replaced file's."""

from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pytest

from trajml._files import atomic_savez, atomic_write, atomic_write_json, atomic_write_text

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@pytest.fixture
def umask():
    """Set a umask for one test and restore the old one."""
    old = os.umask(0o022)

    def set_(value: int) -> None:
        os.umask(value)

    yield set_
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _write_binary(path) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(b"x")


def _write_text_handle(path) -> None:
    with atomic_write(path, "w") as fh:
        fh.write("x")


WRITERS = {
    "atomic_write wb": _write_binary,
    "atomic_write w": _write_text_handle,
    "atomic_write_text": lambda p: atomic_write_text(p, "x"),
    "atomic_write_json": lambda p: atomic_write_json(p, {"a": 1}),
    "atomic_savez": lambda p: atomic_savez(p, {"a": np.arange(3)}),
}


@pytest.mark.parametrize("writer", WRITERS.values(), ids=list(WRITERS))
@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_file_mode_follows_the_umask(writer, mask, expected, umask, tmp_path):
    umask(mask)
    path = tmp_path / "out.bin"
    writer(path)
    assert _mode(path) == expected
    with open(tmp_path / "plain", "w") as fh:  # what a plain open() gives
        fh.write("x")
    assert _mode(tmp_path / "plain") == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin", "plain"]  # no temporary left


def test_replaced_file_keeps_its_mode(umask, tmp_path):
    umask(0o022)
    path = tmp_path / "out.txt"
    path.write_text("old")
    os.chmod(path, 0o664)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o664


def test_failure_leaves_no_temporary_and_no_file(umask, tmp_path):
    path = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_write(path, "w") as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_named(tmp_path):
    with pytest.raises(OSError, match="Cannot write the output file .*missing"):
        atomic_write_text(tmp_path / "missing" / "out.txt", "x")
