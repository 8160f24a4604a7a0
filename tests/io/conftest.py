"""Shared data for the trajml.io tests.

Small trajectories are generated here with MDAnalysis writers (a 24-atom system,
30 frames, a triclinic box that changes every frame); MDAnalysis itself, reading
the same files, is the oracle every test compares against.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader

N_ATOMS = 24
N_FRAMES = 30
DT = 2.0  # ps


def make_universe(n_atoms: int = N_ATOMS, n_frames: int = N_FRAMES, *, box: bool = True, seed: int = 0,
                  dt: float = DT) -> Any:
    """An in-memory Universe: alternating C/O atoms in 2-atom residues, random positions, a varying box."""
    rng = np.random.default_rng(seed)
    n_res = (n_atoms + 1) // 2
    u = mda.Universe.empty(n_atoms, n_residues=n_res, atom_resindex=np.arange(n_atoms) // 2, trajectory=True)
    names = np.array(["C", "O"] * n_res)[:n_atoms]
    u.add_TopologyAttr("names", names)
    u.add_TopologyAttr("types", names)
    u.add_TopologyAttr("elements", names)
    u.add_TopologyAttr("resnames", ["PEO"] * n_res)
    u.add_TopologyAttr("resids", np.arange(1, n_res + 1))
    u.add_TopologyAttr("masses", np.where(names == "C", 12.011, 15.999))
    positions = rng.uniform(0.0, 30.0, size=(n_frames, n_atoms, 3)).astype(np.float32)
    dims = np.array([[30.0 + 0.1 * i, 31.0, 32.0 - 0.05 * i, 88.0, 92.0, 95.0] for i in range(n_frames)],
                    dtype=np.float32)
    u.load_new(positions, format=MemoryReader, dimensions=dims if box else None, dt=dt)
    return u


def write_trajectory(universe: Any, path: os.PathLike | str, frames: Sequence[int] | slice | None = None,
                     **writer_kwargs: Any) -> str:
    """Write frames of ``universe`` with the MDAnalysis writer chosen by the extension; return the path."""
    path = str(path)
    if path.endswith(".h5md"):
        writer_kwargs.setdefault("timeunit", "ps")
        writer_kwargs.setdefault("lengthunit", "Angstrom")
    traj = universe.trajectory
    selected = traj if frames is None else traj[frames]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mda.Writer(path, n_atoms=universe.atoms.n_atoms, **writer_kwargs) as w:
            for _ in selected:
                w.write(universe.atoms)
    traj[0]
    return path


def write_topology(universe: Any, path: os.PathLike | str, frame: int = 0) -> str:
    """Write one frame of ``universe`` as a single-frame coordinate/topology file (PDB, GRO)."""
    path = str(path)
    universe.trajectory[frame]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        universe.atoms.write(path)
    universe.trajectory[0]
    return path


def oracle_frames(topology: str, trajectory: str | None, frames: Sequence[int], atoms: np.ndarray | None = None,
                  **kwargs: Any) -> tuple[np.ndarray, list[np.ndarray | None], np.ndarray]:
    """Positions (F, N, 3), per-frame triclinic boxes (or None) and times read by MDAnalysis itself."""
    args = (topology,) if trajectory is None else (topology, trajectory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(*args, **kwargs)
        pos, boxes, times = [], [], []
        for f in frames:
            ts = u.trajectory[int(f)]
            p = ts.positions if atoms is None else ts.positions[atoms]
            pos.append(np.array(p, dtype=np.float32, copy=True))
            tri = ts.triclinic_dimensions
            boxes.append(None if tri is None else np.array(tri, copy=True))
            times.append(float(ts.time))
        u.trajectory.close()
    n_atoms = u.atoms.n_atoms if atoms is None else len(atoms)
    positions = np.stack(pos) if pos else np.empty((0, n_atoms, 3), np.float32)
    return positions, boxes, np.array(times)


def assert_chunk_equals_oracle(chunk: Any, positions: np.ndarray, boxes: list[np.ndarray | None],
                               times: np.ndarray) -> None:
    """Exact equality of a chunk with MDAnalysis' own frames."""
    np.testing.assert_array_equal(chunk.positions, positions)
    assert chunk.positions.dtype == np.float32
    if chunk.boxes is None:
        assert any(b is None for b in boxes), "chunk has no box but MDAnalysis gives one for every frame"
    else:
        assert all(b is not None for b in boxes)
        np.testing.assert_array_equal(chunk.boxes, np.stack(boxes))
    np.testing.assert_array_equal(chunk.times, times)


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The generated 24-atom system in every format the tests read."""
    d = tmp_path_factory.mktemp("system")
    u = make_universe()
    files = {"top": write_topology(u, d / "top.pdb"), "gro": write_topology(u, d / "conf.gro", frame=3)}
    for ext in ("xtc", "trr", "dcd", "ncdf", "h5md"):
        files[ext] = write_trajectory(u, d / f"traj.{ext}")
    files["pdb_multi"] = write_trajectory(u, d / "multi.pdb", frames=slice(0, 12))
    return files


@pytest.fixture(scope="session")
def io() -> SimpleNamespace:
    """The helpers of this module, for test files (which cannot import a conftest)."""
    return SimpleNamespace(
        make_universe=make_universe,
        write_trajectory=write_trajectory,
        write_topology=write_topology,
        oracle=oracle_frames,
        assert_chunk_equals_oracle=assert_chunk_equals_oracle,
        N_ATOMS=N_ATOMS,
        N_FRAMES=N_FRAMES,
        DT=DT,
    )
