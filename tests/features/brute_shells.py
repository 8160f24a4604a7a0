"""Brute-force NumPy shells for the species tests: per-frame minimum-image distances, no trajml kernel.

A molecule is a residue of the MDAnalysis Universe (the LAMMPS data file's molecule ids).
"""

from __future__ import annotations

import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda


def universe(files):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mda.Universe(*files)


def min_image(delta, lengths):
    """Orthorhombic minimum image of (…, 3) displacements in Å."""
    return delta - lengths * np.round(delta / lengths)


def molecules_within(u, center, ligand, cutoff, *, site=None, com=False, n_frames=None):
    """(F, n_centers, n_ligand_molecules) bool: which ligand molecules each centre atom holds.

    ``com``: the molecule's centre of mass decides; ``site``: only its atoms matching ``site`` do;
    else any of its atoms does.
    """
    c = u.select_atoms(center)
    lig = u.select_atoms(ligand)
    res = lig.residues
    out = []
    for ts in u.trajectory[:n_frames]:
        box = ts.dimensions[:3].astype(np.float64)
        assert np.allclose(ts.dimensions[3:], 90.0)
        held = np.zeros((len(c), len(res)), dtype=bool)
        for k, r in enumerate(res):
            atoms = r.atoms.intersection(lig)
            if site is not None:
                atoms = atoms.intersection(u.select_atoms(site))
            pos = atoms.positions.astype(np.float64)
            if com:
                m = atoms.masses.astype(np.float64)
                rel = min_image(pos - pos[0], box)
                pos = (pos[0] + (m[:, None] * rel).sum(0) / m.sum())[None]
            d = np.linalg.norm(min_image(pos[None, :, :] - c.positions.astype(np.float64)[:, None, :], box), axis=2)
            held[:, k] = (d < cutoff).any(axis=1)
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
