"""Multi-part runs, ensembles and LAMMPS type maps, against MDAnalysis reading the same files."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from trajml.io import open_source

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysisTests import datafiles as D


def test_continuation_parts_are_concatenated_and_a_repeated_first_frame_dropped(tmp_path: Any, io: Any) -> None:
    u = io.make_universe(n_frames=30)
    top = io.write_topology(u, tmp_path / "top.pdb")
    p1 = io.write_trajectory(u, tmp_path / "p1.xtc", frames=slice(0, 12))
    p2 = io.write_trajectory(u, tmp_path / "p2.xtc", frames=slice(11, 20))  # restart repeats frame 11
    p3 = io.write_trajectory(u, tmp_path / "p3.xtc", frames=slice(20, 30))  # no repeat
    src = open_source(top, [p1, p2, p3])
    assert src.n_trajectories == 1 and src.n_frames == 30
    whole = io.write_trajectory(u, tmp_path / "whole.xtc")
    pos, boxes, times = io.oracle(top, whole, range(30))
    # chunks that straddle part boundaries, with a step
    got = [src.read(spec) for spec in src.partition(7)]
    io.assert_chunk_equals_oracle(
        type(got[0])(np.concatenate([c.positions for c in got]), np.concatenate([c.boxes for c in got]),
                     np.concatenate([c.times for c in got]), np.concatenate([c.frames for c in got])),
        pos, boxes, times,
    )
    strided = [src.read(spec) for spec in src.partition(4, start=2, step=3)]
    frames = np.concatenate([c.frames for c in strided])
    np.testing.assert_array_equal(frames, np.arange(2, 30, 3))
    np.testing.assert_array_equal(np.concatenate([c.positions for c in strided]), pos[frames])
    np.testing.assert_array_equal(np.concatenate([c.times for c in strided]), times[frames])


def test_ensemble_chunks_carry_their_trajectory_id(tmp_path: Any, io: Any) -> None:
    ua, ub = io.make_universe(n_frames=15, seed=1), io.make_universe(n_frames=22, seed=2)
    top = io.write_topology(ua, tmp_path / "top.pdb")
    a = io.write_trajectory(ua, tmp_path / "rep1.dcd")
    b1 = io.write_trajectory(ub, tmp_path / "rep2a.xtc", frames=slice(0, 10))
    b2 = io.write_trajectory(ub, tmp_path / "rep2b.xtc", frames=slice(10, 22))
    src = open_source(top, [[a], [b1, b2]])
    assert src.n_trajectories == 2 and src.n_frames_of(0) == 15 and src.n_frames_of(1) == 22
    for start, stop, step in ((0, None, 1), (3, 18, 4), (16, None, 2), (0, 5, 10)):
        assert src.frames_in_range(start, stop, step) == [len(range(15)[start:stop:step]),
                                                          len(range(22)[start:stop:step])]
    specs = src.partition(8)
    assert [s.traj_id for s in specs] == [0, 0, 1, 1, 1]
    for traj_id, (u, path) in enumerate([(ua, a), (ub, io.write_trajectory(ub, tmp_path / "rep2.xtc"))]):
        pos, boxes, times = io.oracle(top, path, range(u.trajectory.n_frames))
        chunks = [src.read(s) for s in specs if s.traj_id == traj_id]
        assert all(c.traj_id == traj_id for c in chunks)
        np.testing.assert_array_equal(np.concatenate([c.positions for c in chunks]), pos)
    only_second = src.partition(100, traj_ids=[1])
    assert [s.traj_id for s in only_second] == [1]


def test_ensemble_of_different_systems_sizes_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"same number of atoms; got \[3341, 47681\]"):
        open_source([D.PSF, D.GRO], [[D.DCD], [D.XTC]])


LAMMPS = dict(format="LAMMPSDUMP")


def test_lammps_type_map_names_numeric_types() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(D.LAMMPS_chain, D.LAMMPSDUMP_chain1, **LAMMPS)
    types = sorted(set(u.atoms.types), key=int)
    names = ["Q", "R", "S", "T", "U", "V", "W", "X"][: len(types)]
    tmap = {int(t): n for t, n in zip(types, names)}
    src = open_source(D.LAMMPS_chain, D.LAMMPSDUMP_chain1, type_map=tmap, **LAMMPS)
    expected = np.array([tmap[int(t)] for t in u.atoms.types])
    np.testing.assert_array_equal(src.atoms.types, expected)
    np.testing.assert_array_equal(src.atoms.names, expected)
    first = names[0]
    np.testing.assert_array_equal(src.select(f"name {first}"), np.flatnonzero(expected == first))
    chunk = src.read(src.partition(3)[0], src.select(f"type {first}"))
    np.testing.assert_array_equal(chunk.positions[0], u.trajectory[0].positions[expected == first])


def test_incomplete_type_map_names_missing_types() -> None:
    with pytest.raises(ValueError, match=r"'type_map' given for '.*' has no entry for atom type\(s\) '2'"):
        open_source(D.LAMMPS_chain, D.LAMMPSDUMP_chain1, type_map={1: "C"}, **LAMMPS)
