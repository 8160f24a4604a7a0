"""A small X-PLOR/CHARMM PSF writer (atoms and bonds).

The file uses the standard fixed-column X-PLOR layout that MDAnalysis
(``PSFParser``), mdtraj (``load_psf``), VMD and OpenMM read::

    (I8,1X,A4,1X,A4,1X,A4,1X,A4,1X,A4,1X,2G14.6,I8)
     id   segid resid resname name type  charge mass imove

Atom types are strings (X-PLOR style), here the bead names. When a field does
not fit those columns (more than 9999 molecules, or names longer than 4
characters) the writer switches to the whitespace-separated layout flagged by
``PSF EXT NAMD`` in the header, which MDAnalysis and mdtraj also read.
Angles, dihedrals and the other sections are written empty.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

__all__ = ["write_psf"]


def _fits_standard(segids: Sequence[str], resids: np.ndarray, resnames: Sequence[str], names: Sequence[str],
                   types: Sequence[str], n_atoms: int) -> bool:
    width_ok = all(0 < len(str(x)) <= 4 for col in (segids, resnames, names, types) for x in col)
    return width_ok and n_atoms <= 99_999_999 and (resids.size == 0 or int(resids.max()) <= 9999)


def write_psf(
    path: str | os.PathLike[str],
    *,
    names: Sequence[str],
    types: Sequence[str],
    resnames: Sequence[str],
    resids: Sequence[int] | np.ndarray,
    segids: Sequence[str],
    charges: Sequence[float] | np.ndarray,
    masses: Sequence[float] | np.ndarray,
    bonds: np.ndarray,
    title: Sequence[str] = (),
) -> None:
    """Write an X-PLOR PSF file with atoms and bonds.

    Parameters
    ----------
    path : str or path-like
        File to write (overwritten).
    names, types, resnames, segids : sequence of str, length N
        Atom names, atom types (strings), residue names and segment ids. No
        field may contain whitespace or be empty.
    resids : sequence of int, length N
        Residue numbers (>= 1).
    charges : array_like, shape (N,), float
        Charges in e.
    masses : array_like, shape (N,), float
        Masses in amu.
    bonds : ndarray, shape (B, 2), int
        0-based atom indices of the bonds.
    title : sequence of str, optional
        REMARKS lines for the title block.

    Raises
    ------
    ValueError
        If the columns have different lengths, a string field is empty or
        contains whitespace, or a bond refers to a missing atom.
    """
    n = len(names)
    resids_arr = np.asarray(resids, dtype=np.int64)
    charges_arr = np.asarray(charges, dtype=np.float64)
    masses_arr = np.asarray(masses, dtype=np.float64)
    bonds_arr = np.asarray(bonds, dtype=np.int64).reshape(-1, 2)
    columns = {"types": types, "resnames": resnames, "resids": resids_arr, "segids": segids,
               "charges": charges_arr, "masses": masses_arr}
    for key, col in columns.items():
        if len(col) != n:
            raise ValueError(f"The '{key}' parameter of write_psf must have one entry per atom ({n}). "
                             f"Got {len(col)} instead.")
    for key, col in (("names", names), ("types", types), ("resnames", resnames), ("segids", segids)):
        for x in col:
            if not str(x) or any(ch.isspace() for ch in str(x)):
                raise ValueError(f"The '{key}' parameter of write_psf must hold non-empty strings without whitespace. "
                                 f"Got {x!r} instead.")
    if bonds_arr.size and (bonds_arr.min() < 0 or bonds_arr.max() >= n):
        raise ValueError(f"The 'bonds' parameter of write_psf must hold atom indices in [0, {n}). "
                         f"Got {bonds_arr.min()}..{bonds_arr.max()} instead.")

    standard = _fits_standard(segids, resids_arr, resnames, names, types, n)
    lines: list[str] = ["PSF" if standard else "PSF EXT NAMD", ""]
    remarks = [f" REMARKS {t}" for t in title] or [" REMARKS written by trajml"]
    lines.append(f"{len(remarks):8d} !NTITLE")
    lines.extend(remarks)
    lines.append("")
    lines.append(f"{n:8d} !NATOM")
    for i in range(n):
        seg, rid, rn, nm, ty = str(segids[i]), int(resids_arr[i]), str(resnames[i]), str(names[i]), str(types[i])
        q, m = float(charges_arr[i]), float(masses_arr[i])
        if standard:
            lines.append(f"{i + 1:8d} {seg:<4s} {rid:<4d} {rn:<4s} {nm:<4s} {ty:<4s} {q:14.6f}{m:14.4f}{0:8d}")
        else:
            lines.append(f"{i + 1:10d} {seg:<8s} {rid:<8d} {rn:<8s} {nm:<8s} {ty:<6s} {q:14.6f} {m:13.4f} {0:11d}")
    lines.append("")
    lines.append(f"{len(bonds_arr):8d} !NBOND: bonds")
    flat = (bonds_arr + 1).reshape(-1)
    width = 8 if standard else 10
    per_line = 8  # four pairs
    for start in range(0, flat.size, per_line):
        lines.append("".join(f"{v:{width}d}" for v in flat[start:start + per_line]))
    lines.append("")
    for header in ("!NTHETA: angles", "!NPHI: dihedrals", "!NIMPHI: impropers", "!NDON: donors", "!NACC: acceptors"):
        lines.append(f"{0:8d} {header}")
        lines.append("")
    lines.append(f"{0:8d} !NNB")
    lines.append("")
    # IBLO: one (zero) entry per atom, eight per line.
    for start in range(0, n, 8):
        lines.append("".join(f"{0:8d}" for _ in range(min(8, n - start))))
    lines.append("")
    lines.append(f"{1:8d}{0:8d} !NGRP")
    lines.append(f"{0:8d}{0:8d}{0:8d}")
    lines.append("")
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
