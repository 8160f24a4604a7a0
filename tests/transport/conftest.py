"""Fixtures of the transport tests: the bundled sample, MDAnalysis oracles and generated Brownian systems."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

warnings.filterwarnings("ignore", module="MDAnalysis")


@pytest.fixture(scope="session")
def sample_files() -> tuple[str, str]:
    from trajml.data import sample_topology, sample_trajectory

    return sample_topology(), sample_trajectory()


@pytest.fixture(scope="session")
def sample_source(sample_files):
    from trajml.io import open_source

    return open_source(*sample_files)


@pytest.fixture(scope="session")
def nojump_universe(sample_files):
    """The sample in memory, unwrapped by MDAnalysis' NoJump (the oracle's coordinates)."""
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader
    from MDAnalysis.transformations.nojump import NoJump

    u = mda.Universe(*sample_files)
    u.trajectory.add_transformations(NoJump())
    pos = np.array([ts.positions.copy() for ts in u.trajectory])
    dims = np.array([ts.dimensions.copy() for ts in u.trajectory])
    dt = u.trajectory.dt
    mem = mda.Universe(sample_files[0])
    mem.load_new(pos, format=MemoryReader, dimensions=dims, dt=dt)
    return mem


def write_psf(path: str, names: np.ndarray, resids: np.ndarray, masses: np.ndarray) -> None:
    """A minimal PSF (EXT format: whitespace-separated fields) with no bonds."""
    lines = ["PSF EXT NAMD", "", "         1 !NTITLE", "* trajml transport test system", "",
             f"{len(names):10d} !NATOM"]
    for i, (name, resid, mass) in enumerate(zip(names, resids, masses)):
        lines.append(f"{i + 1:10d} SYS      {int(resid):<8d} RES      {name:<8s} {name:<6s} "
                     f"{0.0:14.6f}{float(mass):14.4f}{0:8d}")
    lines += ["", "         0 !NBOND: bonds", "", "         0 !NTHETA: angles", "",
              "         0 !NPHI: dihedrals", "", "         0 !NIMPHI: impropers", ""]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def write_system(folder, unwrapped: np.ndarray, box: float, dt: float, names=None, masses=None,
                 wrap: bool = True, stem: str = "sys") -> tuple[str, str]:
    """Write unwrapped positions (T, N, 3) wrapped into a cubic box as PSF + DCD with MDAnalysis."""
    import MDAnalysis as mda

    n_frames, n_atoms = unwrapped.shape[:2]
    names = np.full(n_atoms, "P") if names is None else np.asarray(names)
    masses = np.ones(n_atoms) if masses is None else np.asarray(masses)
    psf, dcd = str(folder / f"{stem}.psf"), str(folder / f"{stem}.dcd")
    write_psf(psf, names, np.arange(1, n_atoms + 1), masses)
    u = mda.Universe(psf)
    with mda.Writer(dcd, n_atoms, dt=dt) as w:
        for t in range(n_frames):
            x = np.mod(unwrapped[t], box) if wrap else unwrapped[t]
            u.load_new(x[None].astype(np.float32), dimensions=[box, box, box, 90, 90, 90], dt=dt)
            w.write(u.atoms)
    return psf, dcd


def brownian(rng: np.random.Generator, n_frames: int, d: np.ndarray, dt: float, box: float) -> np.ndarray:
    """Exact Brownian paths: Gaussian increments of variance 2 D dt per axis; (T, N, 3) in Å."""
    d = np.asarray(d, dtype=np.float64)
    steps = rng.standard_normal((n_frames, d.size, 3)) * np.sqrt(2.0 * d * dt)[None, :, None]
    steps[0] = rng.uniform(0.0, box, size=(d.size, 3))
    return np.cumsum(steps, axis=0)
