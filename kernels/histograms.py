"""Pair-distance histograms of two atom selections under the minimum image (the counts behind an RDF).

:func:`pair_histogram` walks the periodic cell list of :mod:`trajml.kernels.cells`
(see there for the algorithm and the conventions); when A and B are the same
atoms it walks half of the stencil and counts each unordered pair twice. Each
thread adds into its own row of a partial histogram, summed once per chunk.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._validation import _check_device, _check_histogram_args, _raise_nonfinite, _same_selection
from .cells import _cells, _gather, _n_split, _per_frame, _stencil

__all__ = ["pair_histogram"]


@numba.njit(nogil=True, cache=True)
def _hist_cells(
    c_lo: int, c_hi: int, n0: int, n1: int, n2: int, box: np.ndarray, half: bool,
    a_start: np.ndarray, axs: np.ndarray, ays: np.ndarray, azs: np.ndarray, a_id: np.ndarray, a_mol: np.ndarray,
    b_start: np.ndarray, bxs: np.ndarray, bys: np.ndarray, bzs: np.ndarray, b_id: np.ndarray, b_mol: np.ndarray,
    use_mol: bool, r_min: float, r_max2: float, dr: float, hist: np.ndarray,
) -> None:
    """Histogram the pairs of the A atoms in cells [c_lo, c_hi) into ``hist`` (+=)."""
    nb = hist.shape[0]
    r0 = np.empty(27, dtype=np.int64)
    r1 = np.empty(27, dtype=np.int64)
    sx = np.empty(27, dtype=np.float64)
    sy = np.empty(27, dtype=np.float64)
    sz = np.empty(27, dtype=np.float64)
    hits = np.empty(b_start[-1] + 1, dtype=np.int64)
    hit_d2 = np.empty(b_start[-1] + 1, dtype=np.float64)
    for c in range(c_lo, c_hi):
        i0 = a_start[c]
        i1 = a_start[c + 1]
        if i0 == i1:
            continue
        m = _stencil(c, n0, n1, n2, box, half, b_start, r0, r1, sx, sy, sz)
        for ia in range(i0, i1):
            idi = a_id[ia]
            moli = a_mol[ia] if use_mol else 0
            for s in range(m):
                j0 = r0[s]
                j1 = r1[s]
                if half and s == 0:
                    j0 = ia + 1  # own cell, no shift: each unordered pair once
                px = axs[ia] - sx[s]
                py = ays[ia] - sy[s]
                pz = azs[ia] - sz[s]
                # Pass 1, branch-free: compact the slots within r_max (about 1 in 6 candidates).
                nk = 0
                for jb in range(j0, j1):
                    dx = bxs[jb] - px
                    dy = bys[jb] - py
                    dz = bzs[jb] - pz
                    d2 = dx * dx + dy * dy + dz * dz
                    hits[nk] = jb
                    hit_d2[nk] = d2
                    nk += d2 < r_max2
                # Pass 2: exclusions and binning on the hits only.
                for q in range(nk):
                    jb = hits[q]
                    if b_id[jb] != idi and (not use_mol or b_mol[jb] != moli):
                        d = math.sqrt(hit_d2[q])
                        if d >= r_min:
                            k = int((d - r_min) / dr)
                            if k >= nb:
                                k = nb - 1
                            hist[k] += 1


@numba.njit(nogil=True, parallel=True, cache=True)
def _pair_histogram_kernel(
    pos_a: np.ndarray, pos_b: np.ndarray, boxes: np.ndarray, invs: np.ndarray, ncells: np.ndarray, ortho: bool,
    r_min: float, r_max: float, ids_a: np.ndarray, ids_b: np.ndarray, mol_a: np.ndarray, mol_b: np.ndarray,
    use_mol: bool, half: bool, per_frame: bool, n_split: int, partial: np.ndarray, err: np.ndarray,
) -> None:
    """Pair-distance histogram of a chunk into ``partial[thread]`` (+=); ``err[t] = 1`` on non-finite input."""
    n_frames = pos_a.shape[0]
    n_bins = partial.shape[1]
    r_max2 = r_max * r_max
    dr = (r_max - r_min) / n_bins
    if per_frame:
        for tp in numba.prange(n_frames):
            t = np.int64(tp)  # prange indices are unsigned: one signature for the helpers
            tid = numba.get_thread_id()
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if half:
                b_start, bxs, bys, bzs, b_ord, ok_b = a_start, axs, ays, azs, a_ord, ok_a
            else:
                b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            a_id = _gather(ids_a, a_ord)
            b_id = _gather(ids_b, b_ord)
            a_mol = _gather(mol_a, a_ord) if use_mol else mol_a
            b_mol = _gather(mol_b, b_ord) if use_mol else mol_b
            _hist_cells(
                np.int64(0), n0 * n1 * n2, n0, n1, n2, boxes[t], half,
                a_start, axs, ays, azs, a_id, a_mol, b_start, bxs, bys, bzs, b_id, b_mol,
                use_mol, r_min, r_max2, dr, partial[tid],
            )
    else:
        for t in range(n_frames):
            n0, n1, n2 = ncells[t, 0], ncells[t, 1], ncells[t, 2]
            ncell = n0 * n1 * n2
            a_start, axs, ays, azs, a_ord, ok_a = _cells(pos_a, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if half:
                b_start, bxs, bys, bzs, b_ord, ok_b = a_start, axs, ays, azs, a_ord, ok_a
            else:
                b_start, bxs, bys, bzs, b_ord, ok_b = _cells(pos_b, t, boxes[t], invs[t], n0, n1, n2, ortho)
            if not (ok_a and ok_b):
                err[t] = 1
            a_id = _gather(ids_a, a_ord)
            b_id = _gather(ids_b, b_ord)
            a_mol = _gather(mol_a, a_ord) if use_mol else mol_a
            b_mol = _gather(mol_b, b_ord) if use_mol else mol_b
            for s in numba.prange(n_split):
                tid = numba.get_thread_id()
                _hist_cells(
                    s * ncell // n_split, (s + 1) * ncell // n_split, n0, n1, n2, boxes[t], half,
                    a_start, axs, ays, azs, a_id, a_mol, b_start, bxs, bys, bzs, b_id, b_mol,
                    use_mol, r_min, r_max2, dr, partial[tid],
                )


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def pair_histogram(
    pos_a: np.ndarray,
    pos_b: np.ndarray,
    boxes: np.ndarray,
    r_min: float,
    r_max: float,
    ids_a: np.ndarray,
    ids_b: np.ndarray,
    mol_a: np.ndarray | None,
    mol_b: np.ndarray | None,
    out: np.ndarray,
    *,
    device: str = "cpu",
) -> None:
    """Add the minimum-image pair-distance histogram of a chunk to ``out``.

    Counts ordered pairs ``(i, j)``, ``i`` in A and ``j`` in B, over all frames,
    whose distance ``d`` lies in ``[r_min, r_max)``, in ``n_bins = len(out)``
    equal bins: ``bin = floor((d - r_min) / ((r_max - r_min) / n_bins))``
    (clipped to ``n_bins - 1`` against rounding at the top edge). When A and B
    are the same atoms each unordered pair counts twice, as in MDAnalysis'
    ``InterRDF``.

    Parameters
    ----------
    pos_a : ndarray, shape (F, Na, 3), float32
        Positions of selection A in Å (other float dtypes are converted).
    pos_b : ndarray, shape (F, Nb, 3), float32
        Positions of selection B in Å.
    boxes : ndarray, shape (F, 3, 3), float32 or float64
        Box matrices with the box vectors as rows, in Å; orthorhombic or
        triclinic, may change per frame.
    r_min : float
        Lower edge of the first bin in Å, ``0 <= r_min < r_max``.
    r_max : float
        Upper edge of the last bin in Å, at most half the shortest
        perpendicular box width of every frame (see :func:`~trajml.kernels.geometry.max_cutoff`).
    ids_a, ids_b : ndarray, shape (Na,) and (Nb,), int64
        Topology indices; pairs with ``ids_a[i] == ids_b[j]`` are skipped.
    mol_a, mol_b : ndarray, shape (Na,) and (Nb,), int64, or None
        Molecule ids; when given, pairs in the same molecule are skipped.
        Both or neither must be given.
    out : ndarray, shape (n_bins,), int64
        Histogram the counts are added to (``+=``); ``n_bins >= 1``.
    device : {"cpu", "cuda"}
        Where to run; ``"cuda"`` uses :mod:`trajml.kernels.cuda`.

    Raises
    ------
    ValueError
        On bad shapes or values (``r_max`` beyond half the box width names
        the frame), or non-finite coordinates (naming the frame; ``out`` is
        then left unchanged).
    TypeError
        On wrong dtypes or non-array arguments.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.array([[[0.0, 0.0, 0.0], [9.0, 0.0, 0.0]]], dtype=np.float32)
    >>> box = np.diag([10.0, 10.0, 10.0])[None]
    >>> ids = np.arange(2)
    >>> out = np.zeros(5, dtype=np.int64)
    >>> pair_histogram(pos, pos, box, 0.0, 5.0, ids, ids, None, None, out)
    >>> out  # the two ordered pairs at 1 Å (minimum image)
    array([0, 2, 0, 0, 0])
    """
    func = "pair_histogram"
    if _check_device(func, device) == "cuda":
        from .cuda.histograms import pair_histogram as twin

        return twin(pos_a, pos_b, boxes, r_min, r_max, ids_a, ids_b, mol_a, mol_b, out)
    p, rmin, rmax, ma, mb, out = _check_histogram_args(
        func, pos_a, pos_b, boxes, r_min, r_max, ids_a, ids_b, mol_a, mol_b, out
    )
    n_frames = p.pos_a.shape[0]
    if n_frames == 0 or p.pos_a.shape[1] == 0 or p.pos_b.shape[1] == 0:
        return
    half = _same_selection(p, ma, mb)
    use_mol = ma is not None
    empty = np.empty(0, dtype=np.int64)
    # One row per worker of numba's pool: get_thread_id() < NUMBA_NUM_THREADS always.
    partial = np.zeros((numba.config.NUMBA_NUM_THREADS, out.shape[0]), dtype=np.int64)
    err = np.zeros(n_frames, dtype=np.int8)
    _pair_histogram_kernel(
        p.pos_a, p.pos_a if half else p.pos_b, p.boxes, p.invs, p.ncells, p.ortho, rmin, rmax,
        p.ids_a, p.ids_b, ma if use_mol else empty, mb if use_mol else empty, use_mol, half,
        _per_frame(n_frames), _n_split(), partial, err,
    )
    _raise_nonfinite(func, err)
    total = partial.sum(axis=0)
    out += 2 * total if half else total
