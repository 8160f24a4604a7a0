"""Generators of small test systems, written with MDAnalysis (PDB topology + XTC trajectory)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda


def write_system(folder: Any, names: Sequence[str], resindex: np.ndarray, positions: np.ndarray,
                 dimensions: np.ndarray, *, resnames: Sequence[str] | None = None,
                 bonds: Sequence[tuple[int, int]] | None = None, stem: str = "sys") -> tuple[str, str]:
    """Write a PDB topology and an XTC trajectory; return their paths.

    positions: (F, N, 3) Å; dimensions: (F, 6) [a, b, c, alpha, beta, gamma] (Å, degrees).
    """
    n_frames, n_atoms, _ = positions.shape
    n_res = int(resindex.max()) + 1
    u = mda.Universe.empty(n_atoms, n_residues=n_res, atom_resindex=resindex, trajectory=True)
    u.add_TopologyAttr("names", list(names))
    u.add_TopologyAttr("types", list(names))
    u.add_TopologyAttr("resids", np.arange(1, n_res + 1))
    u.add_TopologyAttr("resnames", list(resnames) if resnames is not None else ["MOL"] * n_res)
    if bonds:
        u.add_TopologyAttr("bonds", list(bonds))
    top, traj = str(folder / f"{stem}.pdb"), str(folder / f"{stem}.xtc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.positions = positions[0]
        u.dimensions = dimensions[0]
        u.atoms.write(top)
        with mda.Writer(traj, n_atoms) as w:
            for pos, dims in zip(positions, dimensions):
                u.dimensions = dims
                u.atoms.positions = pos
                u.atoms.wrap()
                w.write(u.atoms)
    return top, traj


def spe_like(n_chains: int = 12, chain_length: int = 8, n_li: int = 16, n_anion: int = 16, n_frames: int = 12,
             box: Sequence[float] = (30.0, 30.0, 30.0, 90.0, 90.0, 90.0), seed: int = 3,
             npt: float = 0.0) -> dict[str, Any]:
    """A random-walk polymer/salt system: chains of alternating C/O beads (one residue each), Li, TFSI.

    Atoms are moved by Gaussian steps every frame; with ``npt`` > 0 the box lengths
    fluctuate by that relative amount (angles fixed).
    """
    rng = np.random.default_rng(seed)
    names, resindex, bonds = [], [], []
    for c in range(n_chains):
        for k in range(chain_length):
            names.append("C" if k % 2 == 0 else "O")
            resindex.append(c)
            if k:
                bonds.append((len(names) - 2, len(names) - 1))
    res = n_chains
    for name, count in (("Li", n_li), ("TFSI", n_anion)):
        for _ in range(count):
            names.append(name)
            resindex.append(res)
            res += 1
    n = len(names)
    base = np.asarray(box, dtype=np.float64)
    pos = rng.uniform(0, base[:3].min(), size=(n, 3))
    positions, dims = [], []
    for _ in range(n_frames):
        pos = pos + rng.normal(scale=1.0, size=pos.shape)
        d = base.copy()
        if npt:
            d[:3] *= 1 + npt * rng.standard_normal(3)
        positions.append(pos.copy())
        dims.append(d)
    return {"names": names, "resindex": np.asarray(resindex), "positions": np.asarray(positions),
            "dimensions": np.asarray(dims), "bonds": bonds,
            "resnames": ["PEO"] * n_chains + ["LI"] * n_li + ["TFSI"] * n_anion}
