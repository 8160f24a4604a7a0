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


def write_psf(path: str, names: np.ndarray, resids: np.ndarray, masses: np.ndarray, charges=None, resnames=None,
              bonds=()) -> None:
    """A minimal PSF (EXT format: whitespace-separated fields); charges in e (default 0), bonds as 0-based pairs."""
    n = len(names)
    charges = np.zeros(n) if charges is None else np.asarray(charges, dtype=np.float64)
    resnames = np.full(n, "RES") if resnames is None else np.asarray(resnames)
    lines = ["PSF EXT NAMD", "", "         1 !NTITLE", "* trajml transport test system", "",
             f"{n:10d} !NATOM"]
    for i, (name, resid, resname, q, mass) in enumerate(zip(names, resids, resnames, charges, masses)):
        lines.append(f"{i + 1:10d} SYS      {int(resid):<8d} {resname:<8s} {name:<8s} {name:<6s} "
                     f"{float(q):14.6f}{float(mass):14.4f}{0:8d}")
    pairs = [f"{a + 1:10d}{b + 1:10d}" for a, b in bonds]
    lines += ["", f"{len(pairs):10d} !NBOND: bonds"]
    lines += ["".join(pairs[k:k + 4]) for k in range(0, len(pairs), 4)]
    lines += ["", "         0 !NTHETA: angles", "", "         0 !NPHI: dihedrals", "",
              "         0 !NIMPHI: impropers", ""]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def write_system(folder, unwrapped: np.ndarray, box: float, dt: float, names=None, masses=None,
                 wrap: bool = True, stem: str = "sys", resids=None, **topology) -> tuple[str, str]:
    """Write unwrapped positions (T, N, 3) wrapped into a cubic box as PSF + DCD with MDAnalysis.

    ``topology`` passes ``charges``, ``resnames`` and ``bonds`` on to :func:`write_psf`; ``resids``
    default to one residue per atom.
    """
    import MDAnalysis as mda

    n_frames, n_atoms = unwrapped.shape[:2]
    names = np.full(n_atoms, "P") if names is None else np.asarray(names)
    masses = np.ones(n_atoms) if masses is None else np.asarray(masses)
    psf, dcd = str(folder / f"{stem}.psf"), str(folder / f"{stem}.dcd")
    write_psf(psf, names, np.arange(1, n_atoms + 1) if resids is None else resids, masses, **topology)
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
