"""Chunks read by trajml equal MDAnalysis' own frames, bit for bit, in every format.

Oracle: ``MDAnalysis.Universe`` opened independently on the same files;
positions compared with ``assert_array_equal`` (float32), boxes against
``ts.triclinic_dimensions`` and times against ``ts.time``.
"""

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

# PDB and GRO files store no time step; MDAnalysis says so each time a time is asked for.
pytestmark = pytest.mark.filterwarnings("ignore:Reader has no dt information")

# MDAnalysis' COORDINATES_* files double every coordinate each frame (synthetic, not a simulation):
# the plausibility checks (trajml.io.plausibility) rightly refuse them, so trajml reads them unchecked.
UNCHECKED = {D.COORDINATES_XTC, D.COORDINATES_TRR, D.COORDINATES_H5MD}

# name -> (topology, trajectory, keyword arguments for both open_source and MDAnalysis.Universe).
# "gen:<key>" refers to a file of the generated system (conftest.system).
CASES: dict[str, tuple[str, str | None, dict[str, Any]]] = {
    "gen-xtc": ("gen:top", "gen:xtc", {}),
    "gen-trr": ("gen:top", "gen:trr", {}),
    "gen-dcd": ("gen:top", "gen:dcd", {}),
    "gen-ncdf": ("gen:top", "gen:ncdf", {}),
    "gen-h5md": ("gen:top", "gen:h5md", {}),
    "gen-pdb-multiframe": ("gen:pdb_multi", None, {}),
    "gen-gro": ("gen:gro", None, {}),
    "mdat-xtc": (D.COORDINATES_TOPOLOGY, D.COORDINATES_XTC, {}),
    "mdat-trr": (D.COORDINATES_TOPOLOGY, D.COORDINATES_TRR, {}),
    "mdat-dcd-psf": (D.PSF, D.DCD, {}),
    "mdat-dcd-triclinic": (D.PSF_TRICLINIC, D.DCD_TRICLINIC, {}),
    "mdat-lammps-data-dcd": (D.LAMMPSdata2, D.LAMMPSdcd2,
                             {"format": "LAMMPS", "topology_format": "DATA", "timeunit": "fs"}),
    "mdat-lammps-dump": (D.LAMMPS_chain, D.LAMMPSDUMP_chain1, {"format": "LAMMPSDUMP"}),
    "mdat-lammps-dump-triclinic": (D.LAMMPSdata_triclinic, D.LAMMPSDUMP_triclinic,
                                   {"format": "LAMMPSDUMP", "atom_style": "id type q x y z"}),
    "mdat-ncdf": (D.PRMncdf, D.NCDF, {}),
    "mdat-ncdf-box": (D.PRM_NCBOX, D.TRJ_NCBOX, {}),
    "mdat-h5md": (D.COORDINATES_TOPOLOGY, D.COORDINATES_H5MD, {}),
    "mdat-gro": (D.COORDINATES_GRO, None, {}),
    "mdat-pdb-multiframe": (D.PDB_multiframe, None, {}),
}

# (chunk_size, start, step, atom subset?)
READS = [
    pytest.param(1, 0, 1, False, id="chunk1"),
    pytest.param(4, 1, 3, True, id="chunk4-step3-subset"),
    pytest.param(1000, 0, 2, True, id="one-chunk-step2-subset"),
]


def _resolve(name: str, system: dict[str, str]) -> tuple[str, str | None, dict[str, Any]]:
    top, traj, kwargs = CASES[name]
    top = system[top[4:]] if top.startswith("gen:") else top
    if traj is not None and traj.startswith("gen:"):
        traj = system[traj[4:]]
    return top, traj, kwargs


@pytest.mark.parametrize("chunk_size, start, step, subset", READS)
@pytest.mark.parametrize("name", list(CASES))
def test_chunks_equal_mdanalysis(name: str, chunk_size: int, start: int, step: int, subset: bool,
                                 system: dict[str, str], io: Any) -> None:
    top, traj, kwargs = _resolve(name, system)
    src = open_source(top, traj, **kwargs, check_finite=traj not in UNCHECKED)
    n_frames = src.n_frames_of(0)
    atoms = None
    if subset:  # every third atom, in descending order: order must be kept
        atoms = np.arange(src.n_atoms)[::-3].copy()
    specs = src.partition(chunk_size, start=start, step=step)
    expected_frames = np.arange(start, n_frames, step)
    got_frames = np.concatenate([np.arange(s.start, s.stop, s.step) for s in specs]) if specs else np.empty(0)
    np.testing.assert_array_equal(got_frames, expected_frames)
    assert all(len(s) <= chunk_size for s in specs)

    positions, boxes, times = io.oracle(top, traj, expected_frames, atoms, **kwargs)
    offset = 0
    for spec in specs:
        chunk = src.read(spec, atoms)
        sl = slice(offset, offset + chunk.n_frames)
        np.testing.assert_array_equal(chunk.frames, expected_frames[sl])
        assert chunk.traj_id == 0
        io.assert_chunk_equals_oracle(chunk, positions[sl], boxes[sl], times[sl])
        if atoms is not None:
            np.testing.assert_array_equal(chunk.atom_indices, atoms)
        offset += chunk.n_frames
    assert offset == len(expected_frames)


@pytest.mark.parametrize("name", ["gen-xtc", "mdat-dcd-psf", "mdat-lammps-dump", "mdat-ncdf"])
def test_frame_count_and_atoms_match_mdanalysis(name: str, system: dict[str, str]) -> None:
    top, traj, kwargs = _resolve(name, system)
    src = open_source(top, traj, **kwargs, check_finite=traj not in UNCHECKED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(top, traj, **kwargs)
    assert src.n_frames_of(0) == src.n_frames == u.trajectory.n_frames
    assert src.n_atoms == src.atoms.n_atoms == u.atoms.n_atoms
    table = src.atoms
    np.testing.assert_array_equal(table.resids, u.atoms.resids)
    np.testing.assert_array_equal(table.types, np.asarray(u.atoms.types).astype(str))
    if hasattr(u.atoms, "names"):
        np.testing.assert_array_equal(table.names, np.asarray(u.atoms.names).astype(str))
    if hasattr(u.atoms, "masses"):
        np.testing.assert_allclose(table.masses, u.atoms.masses)


def test_iter_chunks_equals_read_of_partition(system: dict[str, str]) -> None:
    src = open_source(system["top"], system["xtc"])
    atoms = np.array([5, 0, 7])
    direct = [src.read(s, atoms) for s in src.partition(7, start=2, stop=25, step=2)]
    streamed = list(src.iter_chunks(7, start=2, stop=25, step=2, atoms=atoms))
    assert len(direct) == len(streamed) == 2
    for a, b in zip(direct, streamed):
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.frames, b.frames)


def test_stop_beyond_the_end_is_clamped_and_empty_ranges_give_no_chunk(system: dict[str, str]) -> None:
    src = open_source(system["top"], system["xtc"])
    n = src.n_frames_of(0)
    specs = src.partition(100, start=n - 3, stop=n + 50)
    assert [(s.start, s.stop) for s in specs] == [(n - 3, n)]
    assert src.partition(10, start=n + 1) == []
    assert src.partition(10, start=5, stop=5) == []
