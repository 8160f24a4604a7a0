"""XTC frames read by trajml's decoder equal MDAnalysis' Universe, coordinate for coordinate."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from trajml.chunk import ChunkSpec


def _cases():
    import MDAnalysisTests.datafiles as datafiles

    from trajml.data import sample_aa_topology, sample_aa_trajectory, sample_topology, sample_trajectory

    return [(sample_topology(), sample_trajectory()), (sample_aa_topology(), sample_aa_trajectory()),
            (datafiles.GRO, datafiles.XTC), (datafiles.PDB_sub_sol, datafiles.XTC_sub_sol)]


@pytest.mark.parametrize("case", range(4))
def test_positions_boxes_and_times_equal_mdanalysis_bitwise(case):
    import MDAnalysis as mda

    from trajml.io import open_source

    top, traj = _cases()[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(top, traj)
        src = open_source(top, traj, check_finite=False)
    assert src.members[0].infos[0].frame_offsets is not None  # the decoder path is the one under test
    n = len(u.trajectory)
    atoms = np.arange(0, len(u.atoms), 7)
    for spec, sub in ((ChunkSpec(0, 0, n), None), (ChunkSpec(0, 1, n, 3), atoms)):
        chunk = src.read(spec, atoms=sub)
        frames = range(spec.start, spec.stop, spec.step)
        want = np.stack([u.trajectory[f].positions.copy() if sub is None else u.trajectory[f].positions[sub]
                         for f in frames])  # a copy: the timestep's array is reused
        np.testing.assert_array_equal(chunk.positions, want)
        np.testing.assert_array_equal(chunk.boxes,
                                      np.stack([u.trajectory[f].triclinic_dimensions.copy() for f in frames]))
        raw = np.array([u.trajectory[f].time for f in frames])
        np.testing.assert_allclose(chunk.times, raw, rtol=0, atol=1e-3)  # regular axes give t0 + k dt exactly


def test_reader_options_that_change_times_or_boxes_read_through_mdanalysis(monkeypatch):
    import trajml.io.backends as backends
    from trajml.data import sample_topology, sample_trajectory
    from trajml.io import open_source

    def refuse(*args, **kwargs):
        raise AssertionError("the decoder path must not read a file with a given box")

    monkeypatch.setattr(backends, "read_xtc_frames", refuse)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src = open_source(sample_topology(), sample_trajectory(), box=[90.0, 90.0, 90.0, 90.0, 90.0, 90.0])
    chunk = src.read(ChunkSpec(0, 0, 5))
    np.testing.assert_allclose(chunk.boxes[0], np.diag([90.0, 90.0, 90.0]), atol=1e-5)
