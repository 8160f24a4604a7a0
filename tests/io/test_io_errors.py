"""Bad input gets a clear error that names the file, frame or selection at fault.

Damaged files are made here from good ones written by MDAnalysis: cut short
(a crash during writing) or overwritten in the middle (disk corruption).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pytest

from trajml.errors import (
    AtomCountMismatchError,
    CorruptTrajectoryError,
    EmptySelectionError,
    MissingBoxError,
    NonFiniteCoordinatesError,
    SelectionError,
    UnknownFormatError,
)
from trajml.features import TrajectorySummary
from trajml.io import open_source
from trajml.parallel import run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from MDAnalysis.coordinates.memory import MemoryReader


@pytest.fixture
def files(tmp_path: Any, io: Any) -> dict[str, str]:
    u = io.make_universe(n_frames=20)
    return {
        "u": u,
        "dir": str(tmp_path),
        "top": io.write_topology(u, tmp_path / "top.pdb"),
        "xtc": io.write_trajectory(u, tmp_path / "run.xtc"),
        "dcd": io.write_trajectory(u, tmp_path / "run.dcd"),
    }


def test_missing_trajectory_and_topology_files(files: dict) -> None:
    with pytest.raises(FileNotFoundError, match=r"Trajectory file '.*nope\.xtc' does not exist"):
        open_source(files["top"], files["dir"] + "/nope.xtc")
    with pytest.raises(FileNotFoundError, match=r"Topology file '.*nope\.pdb' does not exist"):
        open_source(files["dir"] + "/nope.pdb", files["xtc"])


def test_unknown_format_lists_readable_formats(files: dict) -> None:
    path = files["dir"] + "/run.weird"
    with open(path, "w") as fh:
        fh.write("not a trajectory\n")
    with pytest.raises(UnknownFormatError, match=r"'.*run\.weird' has a format .* '\.weird'.*Readable formats: .*XTC"):
        open_source(files["top"], path)


def test_atom_count_mismatch_names_both_counts_and_the_file(files: dict, io: Any, tmp_path: Any) -> None:
    top22 = io.write_topology(io.make_universe(n_atoms=22, n_frames=2), tmp_path / "top22.pdb")
    with pytest.raises(AtomCountMismatchError, match=r"'.*top22\.pdb' has 22 atoms but trajectory '.*run\.xtc' has 24"):
        open_source(top22, files["xtc"])


def _damage(path: str, out: str, *, cut: float | None = None, overwrite: bool = False) -> str:
    data = bytearray(open(path, "rb").read())
    if cut is not None:
        data = data[: int(len(data) * cut)]
    if overwrite:
        mid = len(data) // 2
        data[mid:mid + 16] = b"\xff" * 16
    with open(out, "wb") as fh:
        fh.write(bytes(data))
    return out


@pytest.mark.parametrize("fmt", ["xtc", "dcd"])
def test_truncated_file_names_file_and_frame_and_truncate_keeps_good_frames(files: dict, io: Any, fmt: str) -> None:
    bad = _damage(files[fmt], files["dir"] + f"/cut.{fmt}", cut=0.63)
    with pytest.raises(CorruptTrajectoryError, match=rf"'.*cut\.{fmt}' is truncated or corrupt: frame 12 .*"
                                                     r"Frames 0 to 11 are readable; open it with on_damage='truncate'"):
        open_source(files["top"], bad)
    src = open_source(files["top"], bad, on_damage="truncate")
    assert src.n_frames == 12
    chunk = src.read(src.partition(100)[0])
    pos, boxes, times = io.oracle(files["top"], files[fmt], range(12))
    io.assert_chunk_equals_oracle(chunk, pos, boxes, times)


def test_corrupt_xtc_header_names_frame_and_byte(files: dict) -> None:
    bad = _damage(files["xtc"], files["dir"] + "/bad.xtc", overwrite=True)
    with pytest.raises(CorruptTrajectoryError, match=r"'.*bad\.xtc' is truncated or corrupt: frame 10 at byte \d+ "
                                                     r"is not an XTC frame header"):
        open_source(files["top"], bad)
    assert open_source(files["top"], bad, on_damage="truncate").n_frames == 10


def test_corrupt_dcd_coordinates_are_caught_as_non_finite(files: dict) -> None:
    # DCD has no per-frame checksum: overwritten coordinates become NaN floats, caught on read.
    bad = _damage(files["dcd"], files["dir"] + "/bad.dcd", overwrite=True)
    src = open_source(files["top"], bad)
    with pytest.raises(NonFiniteCoordinatesError, match=r"'.*bad\.dcd' frame 9 has NaN or infinite coordinates"):
        list(src.iter_chunks(5))


def test_nan_coordinates_name_file_frame_and_atom(files: dict, io: Any) -> None:
    u = files["u"]
    pos = u.trajectory.coordinate_array.copy()
    pos[7, 3, 1] = np.nan
    dims = np.array([ts.dimensions for ts in u.trajectory])
    u.load_new(pos, format=MemoryReader, dimensions=dims)
    path = io.write_trajectory(u, files["dir"] + "/nan.trr")
    src = open_source(files["top"], path)
    chunks = iter(src.iter_chunks(5))
    next(chunks)  # frames 0-4 are fine
    with pytest.raises(NonFiniteCoordinatesError,
                       match=r"'.*nan\.trr' frame 7 has NaN .* \(1 atoms, first at index 3\)"):
        next(chunks)


def test_empty_and_unparsable_selections_are_quoted(files: dict) -> None:
    src = open_source(files["top"], files["xtc"])
    with pytest.raises(EmptySelectionError, match=r"Selection 'name Zz' matched no atom in '.*top\.pdb'\. "
                                                  r"Atom names present: C, O"):
        src.select("name Zz")
    with pytest.raises(SelectionError, match=re.escape("Selection 'name and (' could not be parsed")):
        src.select("name and (")


def test_missing_box_when_the_analysis_needs_one(tmp_path: Any, io: Any) -> None:
    u = io.make_universe(n_frames=4, box=False)
    top = io.write_topology(u, tmp_path / "top.pdb")
    path = io.write_trajectory(u, tmp_path / "nobox.xtc")

    class NeedsBox(TrajectorySummary):
        needs_box = True

    with pytest.raises(MissingBoxError, match=r"NeedsBox needs periodic boxes, but trajectory 0 \('.*nobox\.xtc'\) "
                                              r"has no box at frame 0"):
        run(NeedsBox(), open_source(top, path), progress=False)


@pytest.mark.parametrize("kwargs, match", [
    ({"chunk_size": 0}, r"'chunk_size' parameter must be an int >= 1\. Got 0"),
    ({"chunk_size": 2.5}, r"'chunk_size' .* Got 2\.5"),
    ({"step": 0}, r"'step' parameter must be an int >= 1\. Got 0"),
    ({"start": -1}, r"'start' parameter must be an int >= 0\. Got -1"),
    ({"stop": -3}, r"'stop' parameter must be None or an int >= 0\. Got -3"),
])
def test_bad_partition_parameters(files: dict, kwargs: dict, match: str) -> None:
    src = open_source(files["top"], files["xtc"])
    with pytest.raises(ValueError, match=match):
        src.partition(**{"chunk_size": 5, **kwargs})


def test_bad_atom_indices(files: dict) -> None:
    src = open_source(files["top"], files["xtc"])
    spec = src.partition(5)[0]
    with pytest.raises(IndexError, match=r"index 24, outside \[0, 24\)"):
        src.read(spec, np.array([0, 24]))
    with pytest.raises(TypeError, match=r"1-D array of integer topology indices .*np\.flatnonzero"):
        src.read(spec, np.ones(24, dtype=bool))
