"""Brute-force NumPy shells for the species tests: per-frame minimum-image distances, no trajml kernel.

A molecule is a residue of the MDAnalysis Universe (the LAMMPS data file's molecule ids).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda


@functools.lru_cache(maxsize=4)
def universe(files):
    """One MDAnalysis Universe per file pair for the whole session (parsing the LAMMPS data takes seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mda.Universe(*files)


def min_image(delta, lengths):
    """Orthorhombic minimum image of (…, 3) displacements in Å."""
    return delta - lengths * np.round(delta / lengths)


def molecules_within(u, center, ligand, cutoff, *, site=None, com=False, n_frames=None):
    """(F, n_centers, n_ligand_molecules) bool: which ligand molecules (residues) each centre atom holds.

    ``com``: the molecule's centre of mass decides; ``site``: only its atoms matching ``site`` do;
    else any of its atoms does.
    """
    c = u.select_atoms(center)
    lig = u.select_atoms(ligand)
    res_of = lig.resindices
    residues, first = np.unique(res_of, return_index=True)
    if site is not None:
        lig = lig.intersection(u.select_atoms(site))
        res_of = lig.resindices
    order = np.argsort(res_of, kind="stable")
    owner = np.searchsorted(residues, res_of[order])
    out = []
    for ts in u.trajectory[:n_frames]:
        box = ts.dimensions[:3].astype(np.float64)
        assert np.allclose(ts.dimensions[3:], 90.0)
        pos = lig.positions.astype(np.float64)[order]
        if com:
            anchor = pos[np.searchsorted(owner, np.arange(residues.size))][owner]
            m = lig.masses.astype(np.float64)[order]
            rel = min_image(pos - anchor, box) * m[:, None]
            tot = np.bincount(owner, weights=m)
            pos = anchor[np.searchsorted(owner, np.arange(residues.size))] + np.stack(
                [np.bincount(owner, weights=rel[:, k]) for k in range(3)], axis=1) / tot[:, None]
            owner_now = np.arange(residues.size)
        else:
            owner_now = owner
        d = np.linalg.norm(min_image(pos[None, :, :] - c.positions.astype(np.float64)[:, None, :], box), axis=2)
        held = np.zeros((len(c), residues.size), dtype=bool)
        ci, aj = np.nonzero(d < cutoff)
        held[ci, owner_now[aj]] = True
        out.append(held)
    return np.array(out)


def atoms_within(u, center, ligand, cutoff, n_frames=None):
    """(F, n_centers) ligand atoms within the cut-off of each centre atom."""
    c, lig = u.select_atoms(center), u.select_atoms(ligand)
    out = []
    for ts in u.trajectory[:n_frames]:
        box = ts.dimensions[:3].astype(np.float64)
        d = np.linalg.norm(min_image(lig.positions[None].astype(np.float64) - c.positions[:, None], box), axis=2)
        out.append((d < cutoff).sum(axis=1))
    return np.array(out)


def brute_classes(pairs):
    """Per-Li⁺ speciation from (F, n_li, n_anions) bool: 0 free, 1 cip, 2 agg."""
    n_an = pairs.sum(axis=2)
    li_per_anion = pairs.sum(axis=1)
    out = np.where(n_an == 0, 0, 2)
    for t, i in zip(*np.nonzero(n_an == 1)):
        a = np.flatnonzero(pairs[t, i])[0]
        out[t, i] = 1 if li_per_anion[t, a] == 1 else 2
    return out
