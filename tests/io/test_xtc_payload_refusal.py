"""Frames whose compressed coordinates would crash the XTC decoder are refused, named, before decoding."""

from __future__ import annotations

import shutil

import pytest

from trajml.errors import CorruptTrajectoryError


def _damaged_copy(tmp_path, *frames: int):
    """A copy of the all-atom sample whose ``frames`` each have a run that overruns the atom count."""
    from tests.xtc_damage import damage_frames
    from trajml.data import sample_aa_topology, sample_aa_trajectory

    top = tmp_path / "aa.psf"
    shutil.copyfile(sample_aa_topology(), top)
    path = tmp_path / "aa.xtc"
    damage_frames(sample_aa_trajectory(), path, frames)
    return str(top), str(path)


def test_reading_a_damaged_frame_raises_naming_file_and_frame(tmp_path):
    from trajml.chunk import ChunkSpec
    from trajml.io import open_source

    top, path = _damaged_copy(tmp_path, 57)
    src = open_source(top, path)
    src.read(ChunkSpec(0, 0, 57))  # the frames before it read normally
    with pytest.raises(CorruptTrajectoryError, match=r"aa\.xtc' frame 57 is damaged: a run .*\(stop=57\)") as err:
        src.read(ChunkSpec(0, 50, 100))
    assert "--stop 57" in err.value.cli_message


def test_the_refusal_holds_without_plausibility_checks_and_for_strided_reads(tmp_path):
    from trajml.chunk import ChunkSpec
    from trajml.io import open_source

    top, path = _damaged_copy(tmp_path, 120)
    src = open_source(top, path, check_finite=False)
    with pytest.raises(CorruptTrajectoryError, match="frame 120 is damaged"):
        src.read(ChunkSpec(0, 0, 200, 40))
    src.read(ChunkSpec(0, 1, 200, 40))  # a stride that skips frame 120 reads only its own frames


def test_a_damaged_last_frame_is_dropped_when_truncating(tmp_path):
    from trajml.io import open_source

    top, path = _damaged_copy(tmp_path, 199)  # opening decodes the last frame: it is checked first
    with pytest.raises(CorruptTrajectoryError, match="frame 199"):
        open_source(top, path)
    with pytest.warns(RuntimeWarning, match="frame 199"):
        src = open_source(top, path, on_damage="truncate")
    assert src.n_frames == 199


def test_the_scan_lists_every_undecodable_frame_and_reads_on(tmp_path):
    from trajml.io import open_source
    from trajml.io.plausibility import scan_source

    top, path = _damaged_copy(tmp_path, 57, 120)
    found = scan_source(open_source(top, path))
    assert [(f["frame"], f["kind"]) for f in found] == [(57, "undecodable"), (120, "undecodable")]
    assert "run of compressed atoms" in found[0]["message"]
