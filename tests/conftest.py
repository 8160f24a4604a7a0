"""Shared fixtures: small inputs from MDAnalysis' test data package or generated here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

warnings.filterwarnings("ignore", module="MDAnalysis")


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Train the small test networks on one thread: on a busy 2-core runner torch's OpenMP workers
    spin against other processes and a 40 ms step can take over a second."""
    import importlib.util

    from trajml._threads import torch_threads

    with torch_threads(1 if importlib.util.find_spec("torch") else None):
        yield


@pytest.fixture(scope="session")
def psf_dcd() -> tuple[str, str]:
    """Adenylate kinase PSF + 98-frame DCD from MDAnalysisTests (no box)."""
    from MDAnalysisTests.datafiles import DCD, PSF

    return PSF, DCD


@pytest.fixture(scope="session")
def gro_xtc() -> tuple[str, str]:
    """A 47 681-atom GRO + 10-frame XTC with a triclinic box, from MDAnalysisTests."""
    from MDAnalysisTests.datafiles import GRO, XTC

    return GRO, XTC


@pytest.fixture(scope="session")
def small_triclinic_xtc(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A 300-atom, 40-frame wrapped random walk in a fluctuating triclinic box, as PDB + XTC."""
    import MDAnalysis as mda

    rng = np.random.default_rng(7)
    n_atoms, n_frames = 300, 40
    folder = tmp_path_factory.mktemp("tric")
    u = mda.Universe.empty(n_atoms, trajectory=True)
    u.add_TopologyAttr("names", np.where(np.arange(n_atoms) % 3 == 0, "Li", "O"))
    u.add_TopologyAttr("resids", [1])
    base = np.array([30.0, 32.0, 34.0, 80.0, 95.0, 70.0])
    pos = rng.uniform(0, 30, size=(n_atoms, 3))
    top, traj = str(folder / "top.pdb"), str(folder / "traj.xtc")
    u.atoms.positions = pos
    u.dimensions = base
    u.atoms.write(top)
    with mda.Writer(traj, n_atoms) as w:
        for _ in range(n_frames):
            pos = pos + rng.normal(scale=1.5, size=pos.shape)
            dims = base.copy()
            dims[:3] *= 1 + 0.01 * rng.standard_normal(3)
            u.dimensions = dims
            u.atoms.positions = pos
            u.atoms.wrap()
            w.write(u.atoms)
    return top, traj


@pytest.fixture(scope="session")
def sample() -> tuple[str, str]:
    """The bundled sample SPE: topology and trajectory paths."""
    from trajml.data import sample_topology, sample_trajectory

    return sample_topology(), sample_trajectory()

