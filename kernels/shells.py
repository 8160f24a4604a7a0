"""Shell membership around a few centres: which groups (atoms, molecules) lie within a cut-off, in one pass.

A solvation shell asks, for every frame and centre (a Li⁺), which *counted things* of a
species have a site within the cut-off: atoms, or molecules counted once. With a few
centres (tens) and a few thousand sites, a brute-force minimum-image scan of every
(centre, site) pair costs less than building a cell list, and it can reduce straight to
groups: :func:`shell_groups` scans a chunk serially, marks each group once per centre and
writes the sorted pair keys, with no neighbour list in between. Serial on purpose: the work
per chunk is a millisecond or so, less than waking a thread pool on a busy machine.

The scan copies each frame's sites into coordinate arrays (so the distance loop
vectorises), wraps differences with ``rint`` in an orthorhombic box, and, in a triclinic
one, accepts a pair when any of the 27 images of the wrapped difference is within the
cut-off (exact below half the shortest perpendicular width, which is checked).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._validation import _check_boxes, _check_ids, _check_length, _check_positions, _num, _widths
from .counts import _insertion_sort

__all__ = ["shell_groups"]


@numba.njit(nogil=True, cache=True)
def _shell_groups_kernel(
    pos_a: np.ndarray, index_a: np.ndarray, pos_b: np.ndarray, index_b: np.ndarray, boxes: np.ndarray,
    invs: np.ndarray, ortho: bool, r2: float, ids_a: np.ndarray, ids_b: np.ndarray, group_b: np.ndarray,
    n_groups: int, use_mol: bool, mol_a: np.ndarray, mol_b: np.ndarray, err: np.ndarray,
) -> np.ndarray:
    """Sorted keys ``(t * Na + i) * n_groups + g``; ``err[t] = 1`` where frame t holds a non-finite coordinate."""
    n_frames = pos_a.shape[0]
    n_a = index_a.shape[0]
    n_b = index_b.shape[0]
    bx = np.empty(n_b, dtype=np.float64)
    by = np.empty(n_b, dtype=np.float64)
    bz = np.empty(n_b, dtype=np.float64)
    d2 = np.empty(n_b, dtype=np.float64)
    near = np.empty(n_b, dtype=np.int64)
    seen = np.full(n_groups, -1, dtype=np.int64)  # the row that last counted each group: no reset per row
    found = np.empty(n_groups, dtype=np.int64)
    shifts = np.empty((27, 3), dtype=np.float64)
    keys = np.empty(max(16, 4 * n_frames * n_a), dtype=np.int64)
    n_keys = 0
    for t in range(n_frames):
        box = boxes[t]
        inv = invs[t]
        finite = True
        for j in range(n_b):
            k = index_b[j]
            bx[j] = pos_b[t, k, 0]
            by[j] = pos_b[t, k, 1]
            bz[j] = pos_b[t, k, 2]
            finite &= math.isfinite(bx[j] + by[j] + bz[j])
        if not ortho:
            s = 0
            for n0 in range(-1, 2):
                for n1 in range(-1, 2):
                    for n2 in range(-1, 2):
                        for k in range(3):
                            shifts[s, k] = n0 * box[0, k] + n1 * box[1, k] + n2 * box[2, k]
                        s += 1
        lx, ly, lz = box[0, 0], box[1, 1], box[2, 2]
        ix, iy, iz = inv[0, 0], inv[1, 1], inv[2, 2]
        for i in range(n_a):
            k = index_a[i]
            cx = np.float64(pos_a[t, k, 0])
            cy = np.float64(pos_a[t, k, 1])
            cz = np.float64(pos_a[t, k, 2])
            finite &= math.isfinite(cx + cy + cz)
            if ortho:
                for j in range(n_b):  # branch-free: vectorises
                    dx = bx[j] - cx
                    dy = by[j] - cy
                    dz = bz[j] - cz
                    dx -= lx * np.rint(dx * ix)
                    dy -= ly * np.rint(dy * iy)
                    dz -= lz * np.rint(dz * iz)
                    d2[j] = dx * dx + dy * dy + dz * dz
            else:
                for j in range(n_b):
                    dx = bx[j] - cx
                    dy = by[j] - cy
                    dz = bz[j] - cz
                    f0 = dx * inv[0, 0] + dy * inv[1, 0] + dz * inv[2, 0]
                    f1 = dx * inv[0, 1] + dy * inv[1, 1] + dz * inv[2, 1]
                    f2 = dx * inv[0, 2] + dy * inv[1, 2] + dz * inv[2, 2]
                    f0 -= np.rint(f0)
                    f1 -= np.rint(f1)
                    f2 -= np.rint(f2)
                    wx = f0 * box[0, 0] + f1 * box[1, 0] + f2 * box[2, 0]
                    wy = f0 * box[0, 1] + f1 * box[1, 1] + f2 * box[2, 1]
                    wz = f0 * box[0, 2] + f1 * box[1, 2] + f2 * box[2, 2]
                    best = wx * wx + wy * wy + wz * wz
                    if best >= r2:  # another image may still be within the cut-off in a skewed box
                        for s in range(27):
                            ex = wx + shifts[s, 0]
                            ey = wy + shifts[s, 1]
                            ez = wz + shifts[s, 2]
                            e2 = ex * ex + ey * ey + ez * ez
                            if e2 < best:
                                best = e2
                    d2[j] = best
            m = 0
            for j in range(n_b):  # compact the sites within the cut-off, branch-free
                near[m] = j
                m += d2[j] < r2
            row = t * n_a + i
            n_found = 0
            for q in range(m):
                j = near[q]
                if ids_b[j] == ids_a[i] or (use_mol and mol_b[j] == mol_a[i]):
                    continue
                g = group_b[j]
                if seen[g] != row:
                    seen[g] = row
                    found[n_found] = g
                    n_found += 1
            _insertion_sort(found, n_found)  # a shell holds a handful of groups
            if n_keys + n_found > keys.shape[0]:
                grown = np.empty(2 * keys.shape[0] + n_found, dtype=np.int64)
                grown[:n_keys] = keys[:n_keys]
                keys = grown
            for q in range(n_found):
                keys[n_keys + q] = row * n_groups + found[q]
            n_keys += n_found
        if not finite:
            err[t] = 1
    return keys[:n_keys]


def _check_index(func: str, name: str, index: object, n_atoms: int) -> np.ndarray:
    if index is None:
        return np.arange(n_atoms, dtype=np.int64)
    arr = np.asarray(index)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"The '{name}' parameter of {func} must be a 1-D integer array of positions along the "
                        f"atom axis. Got dtype {arr.dtype}, shape {arr.shape} instead.")
    if arr.size and (arr.min() < 0 or arr.max() >= n_atoms):
        raise ValueError(f"The '{name}' parameter of {func} must index the {n_atoms} atoms of its positions; it "
                         f"holds {int(arr.min())}..{int(arr.max())}.")
    return np.ascontiguousarray(arr, dtype=np.int64)


def shell_groups(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    cutoff: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    group_b: np.ndarray,
    n_groups: int,
    *,
    index_a: np.ndarray | None = None,
    index_b: np.ndarray | None = None,
    mol_a: np.ndarray | None = None,
    mol_b: np.ndarray | None = None,
) -> np.ndarray:
    """Every (frame, A atom, B group) with some B site of the group within ``cutoff``, each once.

    Parameters
    ----------
    pos_a : ndarray, shape (F, Ua, 3), float32
        Positions in Å holding the centres (all of them, or those picked by ``index_a``).
    pos_b : ndarray, shape (F, Ub, 3), float32
        Positions in Å holding the sites (all of them, or those picked by ``index_b``); may be
        the same array as ``pos_a``.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices with the box vectors as rows, in Å.
    cutoff : float
        Cut-off in Å (``d < cutoff``, minimum image), at most half the shortest perpendicular box
        width of every frame.
    ids_a, ids_b : ndarray, shape (Na,) and (Nb,), int64
        Topology indices of the centres and sites; a site with its centre's id is skipped.
    group_b : ndarray, shape (Nb,), int64
        Group of each site, in ``[0, n_groups)`` (the site itself for atoms; its molecule's
        number for molecules).
    n_groups : int
        Number of groups.
    index_a, index_b : ndarray of int64, optional
        Where the centres and sites sit along the atom axis of ``pos_a`` and ``pos_b``
        (default: every atom, in order), so a chunk is read in place, without a copy.
    mol_a, mol_b : ndarray, shape (Na,) and (Nb,), int64, optional
        Molecule ids: a site in its centre's molecule is skipped. Both or neither.

    Returns
    -------
    ndarray, shape (P,), int64
        Sorted, unique keys ``(t * Na + i) * n_groups + g`` for frame ``t``, centre ``i``, group ``g``.

    Raises
    ------
    ValueError, TypeError
        Bad shapes, dtypes or values (the parameter is named); a cut-off beyond half the
        shortest perpendicular box width; non-finite coordinates (the frame is named).

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.array([[[0.0, 0.0, 0.0], [9.0, 0.0, 0.0], [8.0, 0.0, 0.0], [3.0, 0.0, 0.0]]], dtype=np.float32)
    >>> box = np.diag([10.0, 10.0, 10.0])[None]
    >>> shell_groups(pos, pos, box, 2.5, np.array([0]), np.arange(1, 4), np.array([0, 0, 1]), 2,
    ...              index_a=np.array([0]), index_b=np.arange(1, 4)).tolist()
    [0]
    """
    func = "shell_groups"
    pa = _check_positions(func, "pos_a", pos_a, None)
    n_frames = pa.shape[0]
    pb = pa if pos_b is pos_a else _check_positions(func, "pos_b", pos_b, n_frames)
    b = _check_boxes(func, boxes, n_frames)
    r = _check_length(func, "cutoff", cutoff)
    ia = _check_index(func, "index_a", index_a, pa.shape[1])
    ib = _check_index(func, "index_b", index_b, pb.shape[1])
    ids_a = _check_ids(func, "ids_a", ids_a, ia.size)
    ids_b = _check_ids(func, "ids_b", ids_b, ib.size)
    group_b = _check_ids(func, "group_b", group_b, ib.size)
    if isinstance(n_groups, (bool, np.bool_)) or not isinstance(n_groups, (int, np.integer)) or n_groups < 0:
        raise ValueError(f"The 'n_groups' parameter of {func} must be a non-negative int. Got {n_groups!r} instead.")
    if group_b.size and (group_b.min() < 0 or group_b.max() >= n_groups):
        raise ValueError(f"The 'group_b' parameter of {func} must hold groups in [0, n_groups={n_groups}); it holds "
                         f"{int(group_b.min())}..{int(group_b.max())}.")
    if (mol_a is None) != (mol_b is None):
        raise ValueError(f"The 'mol_a' and 'mol_b' parameters of {func} must both be None (no molecule exclusion) "
                         f"or both be arrays. Got {type(mol_a).__name__} and {type(mol_b).__name__}.")
    use_mol = mol_a is not None
    mol_a = _check_ids(func, "mol_a", mol_a, ia.size) if use_mol else np.empty(0, np.int64)
    mol_b = _check_ids(func, "mol_b", mol_b, ib.size) if use_mol else np.empty(0, np.int64)
    if n_frames == 0 or ia.size == 0 or ib.size == 0:
        return np.empty(0, dtype=np.int64)
    ortho = bool(np.all(b[:, ~np.eye(3, dtype=bool)] == 0.0))
    if ortho:  # widths and inverses straight from the diagonal (the general path costs more than the scan)
        widths = np.abs(np.diagonal(b, axis1=1, axis2=2))
        bad = ~(widths > 0.0).all(axis=1)
    else:
        widths = _widths(b)
        bad = ~(np.abs(np.linalg.det(b)) > 0.0) | ~np.isfinite(widths).all(axis=1)
    flat = np.flatnonzero(bad)
    if flat.size:
        raise ValueError(f"The box of frame {flat[0]} of this chunk in {func} is singular: {b[flat[0]].tolist()}.")
    half = 0.5 * widths.min(axis=1)
    over = np.flatnonzero(r > half)
    if over.size:
        t = int(over[0])
        bound = math.floor(half[t] * 1e4) / 1e4
        raise ValueError(f"The 'cutoff' parameter ({_num(r)} Å) exceeds half the shortest perpendicular box width "
                         f"({_num(bound)} Å) at frame {t} of this chunk; minimum-image search needs "
                         f"cutoff <= {_num(bound)} Å.")
    if ortho:
        invs = np.zeros_like(b)
        idx = np.arange(3)
        invs[:, idx, idx] = 1.0 / np.diagonal(b, axis1=1, axis2=2)
    else:
        invs = np.ascontiguousarray(np.linalg.inv(b))
    err = np.zeros(n_frames, dtype=np.int8)
    keys = _shell_groups_kernel(pa, ia, pb, ib, b, invs, ortho, r * r, ids_a,
                                ids_b, group_b, int(n_groups), use_mol, mol_a, mol_b, err)
    bad = np.flatnonzero(err)
    if bad.size:
        raise ValueError(f"Non-finite coordinates in 'pos_a' or 'pos_b' of {func} at frame {bad[0]} of this chunk.")
    return keys
