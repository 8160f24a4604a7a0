"""The mdtraj backend agrees with the MDAnalysis backend.

Oracle: the MDAnalysis backend is itself checked bit for bit against
MDAnalysis in test_io_formats.py; here mdtraj, an independent reader, must
agree with it to float32 rounding of the nm -> Å conversion.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from trajml.io import open_source

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from MDAnalysisTests import datafiles as D

ATOL = 1e-4  # Å: float32 rounding of nm -> Å for coordinates up to ~100 Å

CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "gen-xtc": ("gen:top", "gen:xtc", {}),
    "gen-trr": ("gen:top", "gen:trr", {}),
    "gen-dcd": ("gen:top", "gen:dcd", {}),
    "gen-ncdf": ("gen:top", "gen:ncdf", {}),
    "mdat-xtc-adk": (D.GRO, D.XTC, {}),
    "mdat-trr-adk": (D.GRO, D.TRR, {}),
    "mdat-dcd-psf": (D.PSF, D.DCD, {}),
    # mdtraj cannot parse a LAMMPS data file; topologies always go through MDAnalysis.
    "mdat-lammps-data-dcd": (D.LAMMPSdata2, D.LAMMPSdcd2,
                             {"format": "LAMMPS", "topology_format": "DATA", "timeunit": "fs"}),
}


def _resolve(name: str, system: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    top, traj, kwargs = CASES[name]
    top = system[top[4:]] if top.startswith("gen:") else top
    traj = system[traj[4:]] if traj.startswith("gen:") else traj
    return top, traj, kwargs


def _assert_close(a: Any, b: Any) -> None:
    np.testing.assert_array_equal(a.frames, b.frames)
    assert a.traj_id == b.traj_id
    assert a.positions.dtype == b.positions.dtype == np.float32
    np.testing.assert_allclose(a.positions, b.positions, rtol=0, atol=ATOL)
    assert (a.boxes is None) == (b.boxes is None)
    if a.boxes is not None:
        np.testing.assert_allclose(a.boxes, b.boxes, rtol=0, atol=ATOL)
    np.testing.assert_allclose(a.times, b.times, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("chunk_size, start, step, subset", [(3, 0, 1, False), (4, 1, 3, True)])
@pytest.mark.parametrize("name", list(CASES))
def test_mdtraj_backend_agrees_with_mdanalysis(name: str, chunk_size: int, start: int, step: int, subset: bool,
                                               system: dict[str, str]) -> None:
    top, traj, kwargs = _resolve(name, system)
    a = open_source(top, traj, backend="mdanalysis", **kwargs)
    b = open_source(top, traj, backend="mdtraj", **kwargs)
    assert a.n_frames == b.n_frames and a.n_atoms == b.n_atoms
    atoms = np.arange(a.n_atoms)[::-7].copy() if subset else None
    specs = a.partition(chunk_size, start=start, step=step)
    assert specs == b.partition(chunk_size, start=start, step=step) and specs
    for spec in specs[:6]:
        _assert_close(a.read(spec, atoms), b.read(spec, atoms))


def test_mdtraj_backend_on_continuation_parts(tmp_path: Any, io: Any) -> None:
    u = io.make_universe(n_frames=20)
    top = io.write_topology(u, tmp_path / "top.pdb")
    p1 = io.write_trajectory(u, tmp_path / "p1.xtc", frames=slice(0, 8))
    p2 = io.write_trajectory(u, tmp_path / "p2.xtc", frames=slice(7, 20))  # repeats frame 7
    a = open_source(top, [p1, p2])
    b = open_source(top, [p1, p2], backend="mdtraj")
    assert a.n_frames == b.n_frames == 20
    for spec in a.partition(6, step=1):
        _assert_close(a.read(spec), b.read(spec))


def test_mdtraj_backend_reports_no_box_like_mdanalysis(tmp_path: Any, io: Any) -> None:
    # XTC stores a zero box when there is none; mdtraj reads zeros, MDAnalysis None.
    u = io.make_universe(n_frames=5, box=False)
    top = io.write_topology(u, tmp_path / "top.pdb")
    traj = io.write_trajectory(u, tmp_path / "nobox.xtc")
    a = open_source(top, traj)
    b = open_source(top, traj, backend="mdtraj")
    spec = a.partition(10)[0]
    assert a.read(spec).boxes is None
    _assert_close(a.read(spec), b.read(spec))


def test_mdtraj_backend_rejects_a_cell_it_cannot_interpret() -> None:
    # mdtraj reads the CHARMM triclinic DCD cell of this file into NaN box vectors; MDAnalysis reads it.
    a = open_source(D.PSF_TRICLINIC, D.DCD_TRICLINIC)
    assert a.read(a.partition(2)[0]).boxes is not None
    b = open_source(D.PSF_TRICLINIC, D.DCD_TRICLINIC, backend="mdtraj")
    with pytest.raises(ValueError,
                       match=r"tip125_tric_C36\.dcd' frame 0: mdtraj cannot interpret .* backend='mdanalysis'"):
        b.read(b.partition(2)[0])
