"""The scaling benchmark's inputs: tiled, forward-backward replayed copies of the bundled CG sample.

Part of ``bench_scaling.py`` (run by hand, not in CI); its docstring describes the method.
"""

from __future__ import annotations

import itertools
import os
import time
import warnings
from typing import Any, Callable

import numpy as np

SAMPLE_FRAMES_USED = 300


def replay_index(n_frames: int, n_sample: int) -> np.ndarray:
    """Sample frame shown at each output frame: forward, backward, forward … (no frame repeated at a turn)."""
    period = 2 * (n_sample - 1)
    k = np.arange(n_frames) % period
    return np.where(k < n_sample, k, period - k)


def nojump(wrapped: np.ndarray, box: float | np.ndarray, first: np.ndarray | None = None) -> np.ndarray:
    """(T, N, 3) float64 positions, Å, unwrapped in time (no step longer than half the orthorhombic ``box``).

    Frame 0 is ``first`` when given (e.g. the molecules made whole), else ``wrapped[0]``; each later
    frame adds the minimum-image steps of ``wrapped`` to it.
    """
    x = np.array(wrapped, dtype=np.float64)
    step = np.diff(x, axis=0)
    step -= box * np.round(step / box)
    if first is not None:
        x[0] = first
    x[1:] = x[0] + np.cumsum(step, axis=0)
    return x


def unwrapped_sample() -> dict[str, Any]:
    """The bundled sample unwrapped: no-jump in time, molecules whole in frame 0 (Å, ps)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import MDAnalysis as mda

        from trajml import data

        u = mda.Universe(data.sample_topology(), data.sample_trajectory())
    dims = u.dimensions
    if not (np.allclose(dims[3:], 90.0) and np.allclose(dims[:3], dims[0])):
        raise ValueError(f"The bundled sample's box must be cubic to be tiled; got {dims}.")
    box = float(dims[0])
    wrapped = np.stack([ts.positions.astype(np.float64) for ts in u.trajectory])
    bonds = np.sort(np.asarray(u.bonds.indices, dtype=np.int64).reshape(-1, 2), axis=1)
    bonds = bonds[np.lexsort((bonds[:, 1], bonds[:, 0]))]
    whole0 = wrapped[0].copy()
    for i, j in bonds:  # chains are listed bead by bead: each bond's first bead is already placed
        d = whole0[j] - whole0[i]
        whole0[j] = whole0[i] + d - box * np.round(d / box)
    longest = np.max(np.linalg.norm(whole0[bonds[:, 0]] - whole0[bonds[:, 1]], axis=1))
    if longest > box / 4:
        raise RuntimeError(f"Could not make the sample's molecules whole (a bond of {longest:.1f} Å remains).")
    unwrapped = nojump(wrapped, box, first=whole0)
    atoms = u.atoms
    return {"positions": unwrapped, "box": box, "dt": float(u.trajectory.dt), "n_atoms": len(atoms),
            "names": atoms.names, "types": atoms.types, "resnames": atoms.resnames, "resids": atoms.resids,
            "segids": atoms.segids, "charges": atoms.charges, "masses": atoms.masses,
            "bonds": bonds}


def make_inputs(workdir: str, tiles: int, n_frames: int, sample: Callable[[], dict[str, Any]],
                log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write (or reuse) the PSF and XTC of ``tiles``³ copies of the sample over ``n_frames`` frames."""
    from types import SimpleNamespace

    import _common
    from MDAnalysis.lib.formats.libmdaxdr import XTCFile

    os.makedirs(workdir, exist_ok=True)
    psf = os.path.join(workdir, f"tiled{tiles}.psf")
    xtc = os.path.join(workdir, f"tiled{tiles}_F{n_frames}.xtc")
    s = None
    if not os.path.exists(psf) or not os.path.exists(xtc):
        s = sample()
    n0 = None
    if not os.path.exists(psf):
        n0, k = s["n_atoms"], tiles ** 3
        rep = lambda a: np.tile(np.asarray(a), k)  # noqa: E731
        resid_step = int(np.max(s["resids"]))
        layout = SimpleNamespace(  # the fields _common.write_psf reads
            n_atoms=n0 * k, names=rep(s["names"]), types=rep(s["types"]), resnames=rep(s["resnames"]),
            segids=rep(s["segids"]), charges=rep(s["charges"]), masses=rep(s["masses"]),
            resids=np.concatenate([s["resids"] + c * resid_step for c in range(k)]),
            bonds=np.concatenate([s["bonds"] + c * n0 for c in range(k)]))
        _common.write_psf(psf + ".tmp", layout, title=f"{k} periodic copies of the trajml CG sample")
        os.replace(psf + ".tmp", psf)
    if not os.path.exists(xtc):
        t0 = time.perf_counter()
        pos, box = s["positions"], s["box"]
        n_sample = min(SAMPLE_FRAMES_USED, len(pos))
        shifts = box * np.array(list(itertools.product(range(tiles), repeat=3)), dtype=np.float64)
        big = tiles * box
        box_nm = np.eye(3, dtype=np.float32) * np.float32(big / 10.0)
        with XTCFile(xtc + ".tmp", "w") as fh:
            for f, idx in enumerate(replay_index(n_frames, n_sample)):
                frame = np.mod(pos[idx][None, :, :] + shifts[:, None, :], big).reshape(-1, 3)
                fh.write((frame / 10.0).astype(np.float32), box_nm, f, f * s["dt"], 1000.0)
        os.replace(xtc + ".tmp", xtc)
        log(f"  wrote {os.path.basename(xtc)}: {tiles ** 3 * s['n_atoms']} beads x {n_frames} frames, "
            f"box {big:.1f} Å ({time.perf_counter() - t0:.1f} s)")
    with warnings.catch_warnings():  # build MDAnalysis' offsets cache now, outside any timing
        warnings.simplefilter("ignore")
        import MDAnalysis as mda

        u = mda.Universe(psf, xtc)
        n_atoms, frames, dt, box_len = len(u.atoms), len(u.trajectory), float(u.trajectory.dt), float(u.dimensions[0])
    if frames != n_frames:
        raise RuntimeError(f"'{xtc}' holds {frames} frames, expected {n_frames}: delete it and rerun.")
    return {"topology": psf, "trajectory": xtc, "n_atoms": n_atoms, "n_frames": n_frames, "dt_ps": dt,
            "box_A": box_len, "tiles": tiles, "replayed": n_frames > SAMPLE_FRAMES_USED}

