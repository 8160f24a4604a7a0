"""Input validation shared by the kernels of :mod:`trajml.kernels` and their CUDA twins.

Pure-Python checks and error messages for the pair searches
(:mod:`~trajml.kernels.histograms`, :mod:`~trajml.kernels.counts`,
:mod:`~trajml.kernels.knn`) and their twins in :mod:`trajml.kernels.cuda`: the
device, lengths, positions, boxes, topology and molecule ids, species codes and
caller-given ``out`` arrays of every kernel, and the errors raised after a
kernel run (non-finite coordinates, offsets that disagree with the neighbour
counts). :func:`_prepare` also derives what every cell-list search needs from
the checked boxes: their inverses, perpendicular widths (:func:`_widths`) and
the cell grid (:func:`_cell_grid`). :func:`_check_moments` checks the arrays of
the displacement-moment kernels of :mod:`trajml.kernels.correlation`.

Messages name the function, the parameter, the constraint and the value, as
the project's conventions ask; nothing here is compiled, and nothing here
imports another module of :mod:`trajml.kernels`, so every kernel module (CUDA
twins included) may import it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

_DEVICES = ("cpu", "cuda")

#: Cells per frame are capped at this many per atom: beyond that the stencil
#: walks mostly empty cells. Coarser cells stay exact (they are only wider).
_CELLS_PER_ATOM = 1.0

#: Safety margin on the cell width so that rounding in the fractional
#: coordinates can never make a cell thinner than the cut-off.
_WIDTH_MARGIN = 1.0 + 1e-9


class _Prepared(NamedTuple):
    pos_a: np.ndarray  # float32 (F, Na, 3), C-contiguous
    pos_b: np.ndarray  # float32 (F, Nb, 3), C-contiguous
    boxes: np.ndarray  # float64 (F, 3, 3)
    invs: np.ndarray  # float64 (F, 3, 3)
    ncells: np.ndarray  # int64 (F, 3) cells along each box vector
    ortho: bool  # every box diagonal
    ids_a: np.ndarray  # int64 (Na,)
    ids_b: np.ndarray  # int64 (Nb,)


def _num(value: float) -> str:
    return repr(float(value))


def _check_device(func: str, device: object) -> str:
    if not isinstance(device, str) or device not in _DEVICES:
        raise ValueError(
            f"The 'device' parameter of {func} must be one of {list(_DEVICES)}. Got {device!r} instead."
        )
    return device


def _check_length(func: str, name: str, value: object, upper: str = "inf") -> float:
    """A length parameter that must be a finite float > 0 (Å)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"The '{name}' parameter of {func} must be a float in (0, {upper}) Å. "
            f"Got {value!r} of type {type(value).__name__} instead."
        )
    v = float(value)
    if not (v > 0.0 and math.isfinite(v)):
        raise ValueError(f"The '{name}' parameter of {func} must be a float in (0, {upper}) Å. Got {v!r} instead.")
    return v


def _check_positions(func: str, name: str, arr: object, n_frames: int | None) -> np.ndarray:
    if not isinstance(arr, np.ndarray):
        raise TypeError(
            f"The '{name}' parameter of {func} must be a float32 ndarray of shape (F, N, 3) in Å. "
            f"Got {type(arr).__name__} instead."
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(
            f"The '{name}' parameter of {func} must be a float32 ndarray of shape (F, N, 3) in Å. "
            f"Got dtype {arr.dtype} instead."
        )
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(
            f"The '{name}' parameter of {func} must have shape (F, N, 3) (frames, atoms, xyz). "
            f"Got shape {arr.shape} instead."
        )
    if n_frames is not None and arr.shape[0] != n_frames:
        raise ValueError(
            f"The '{name}' parameter of {func} has {arr.shape[0]} frames but 'pos_a' has {n_frames}."
        )
    return np.ascontiguousarray(arr, dtype=np.float32)


def _check_boxes(func: str, boxes: object, n_frames: int) -> np.ndarray:
    if not isinstance(boxes, np.ndarray) or not np.issubdtype(boxes.dtype, np.floating):
        got = boxes.dtype if isinstance(boxes, np.ndarray) else type(boxes).__name__
        raise TypeError(
            f"The 'boxes' parameter of {func} must be a float32 or float64 ndarray of shape (F, 3, 3) "
            f"(box vectors as rows, Å). Got {got} instead."
        )
    if boxes.shape[-1:] == (6,):
        raise ValueError(
            f"The 'boxes' parameter of {func} must hold (F, 3, 3) box matrices with the box vectors as "
            f"rows. Got shape {boxes.shape}: a 6-vector is ambiguous (lengths + angles, or lengths + tilt "
            "factors?); build matrices with trajml.Box.from_lengths_angles, from_matrix, from_mdanalysis "
            "or from_mdtraj."
        )
    if boxes.shape != (n_frames, 3, 3):
        raise ValueError(
            f"The 'boxes' parameter of {func} must have shape (F, 3, 3) = ({n_frames}, 3, 3) "
            f"(box vectors as rows, Å). Got shape {boxes.shape} instead."
        )
    b = np.ascontiguousarray(boxes, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(b).all(axis=(1, 2)))
    if bad.size:
        raise ValueError(f"The box of frame {bad[0]} of this chunk in {func} is not finite: {b[bad[0]].tolist()}.")
    return b


def _widths(boxes: np.ndarray) -> np.ndarray:
    """Perpendicular widths ``V / |b_i x b_j|`` along each box vector, (F, 3) in Å."""
    b = np.asarray(boxes, dtype=np.float64)
    if b.size and not b[:, ~np.eye(3, dtype=bool)].any():  # every box diagonal: the widths are its lengths
        return np.abs(np.diagonal(b, axis1=1, axis2=2)).copy()
    vol = np.abs(np.linalg.det(b))
    areas = np.stack(
        [
            np.linalg.norm(np.cross(b[:, 1], b[:, 2]), axis=-1),
            np.linalg.norm(np.cross(b[:, 2], b[:, 0]), axis=-1),
            np.linalg.norm(np.cross(b[:, 0], b[:, 1]), axis=-1),
        ],
        axis=-1,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        widths = vol[:, None] / areas
    # Diagonal boxes: exact widths, so that r_max = L / 2 passes the minimum-image check.
    diagonal = np.all(b[:, ~np.eye(3, dtype=bool)] == 0.0, axis=1)
    widths[diagonal] = np.abs(np.diagonal(b[diagonal], axis1=1, axis2=2))
    return widths


def _check_ids(func: str, name: str, ids: object, n: int) -> np.ndarray:
    if not isinstance(ids, np.ndarray) or not np.issubdtype(ids.dtype, np.integer):
        got = ids.dtype if isinstance(ids, np.ndarray) else type(ids).__name__
        raise TypeError(
            f"The '{name}' parameter of {func} must be an int64 ndarray of shape ({n},). Got {got} instead."
        )
    if ids.shape != (n,):
        raise ValueError(f"The '{name}' parameter of {func} must have shape ({n},). Got shape {ids.shape} instead.")
    return np.ascontiguousarray(ids, dtype=np.int64)


def _check_out(func: str, name: str, arr: object, dtype: type, shape: tuple[int, ...] | None, what: str) -> np.ndarray:
    if not isinstance(arr, np.ndarray) or arr.dtype != np.dtype(dtype):
        got = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
        raise TypeError(
            f"The '{name}' parameter of {func} must be a {np.dtype(dtype).name} ndarray {what}. Got {got} instead."
        )
    if shape is not None and arr.shape != shape:
        raise ValueError(
            f"The '{name}' parameter of {func} must have shape {shape} {what}. Got shape {arr.shape} instead."
        )
    if not arr.flags.c_contiguous or not arr.flags.writeable:
        raise ValueError(f"The '{name}' parameter of {func} must be a writeable, C-contiguous array.")
    return arr


def _prepare(
    func: str, pos_a: object, pos_b: object, boxes: object, r_name: str, r_max: float, ids_a: object, ids_b: object
) -> _Prepared:
    """Validate the arguments every pair search shares; compute inverses and cell grids."""
    pa = _check_positions(func, "pos_a", pos_a, None)
    n_frames = pa.shape[0]
    pb = _check_positions(func, "pos_b", pos_b, n_frames)
    b = _check_boxes(func, boxes, n_frames)
    ia = _check_ids(func, "ids_a", ids_a, pa.shape[1])
    ib = _check_ids(func, "ids_b", ids_b, pb.shape[1])
    widths = _widths(b)
    vol = np.abs(np.linalg.det(b)) if n_frames else np.empty(0)
    flat = np.flatnonzero(~(vol > 0.0) | ~np.isfinite(widths).all(axis=1))
    if flat.size:
        raise ValueError(f"The box of frame {flat[0]} of this chunk in {func} is singular: {b[flat[0]].tolist()}.")
    if n_frames:
        half = 0.5 * widths.min(axis=1)
        over = np.flatnonzero(r_max > half)
        if over.size:
            t = int(over[0])
            bound = math.floor(half[t] * 1e4) / 1e4  # rounded down so the advice is valid
            raise ValueError(
                f"The '{r_name}' parameter ({_num(r_max)} Å) exceeds half the shortest perpendicular box width "
                f"({_num(bound)} Å) at frame {t} of this chunk; minimum-image pair search needs "
                f"{r_name} <= {_num(bound)} Å."
            )
    invs = np.linalg.inv(b) if n_frames else np.empty((0, 3, 3))
    ncells = _cell_grid(widths, r_max, max(pa.shape[1], pb.shape[1])) if n_frames else np.empty((0, 3), np.int64)
    off = ~np.eye(3, dtype=bool)
    ortho = bool(np.all(b[:, off] == 0.0))
    return _Prepared(pa, pb, b, np.ascontiguousarray(invs), ncells, ortho, ia, ib)


def _cell_grid(widths: np.ndarray, r_max: float, n_atoms: int) -> np.ndarray:
    """Cells along each box vector per frame, (F, 3) int64: slabs at least r_max thick, capped in number."""
    cap = max(27.0, _CELLS_PER_ATOM * n_atoms)
    n = np.clip(np.floor(widths / (r_max * _WIDTH_MARGIN)), 1, cap).astype(np.int64)
    total = n.astype(np.float64).prod(axis=1)
    big = total > cap
    if np.any(big):
        scale = (cap / total[big]) ** (1.0 / 3.0)
        n[big] = np.maximum(1, np.floor(n[big] * scale[:, None])).astype(np.int64)
    return n


def _same_selection(p: _Prepared, mol_a: np.ndarray | None, mol_b: np.ndarray | None) -> bool:
    """A and B are the same atoms (so a half stencil counts every unordered pair once)."""
    if p.ids_a.shape != p.ids_b.shape or not np.array_equal(p.ids_a, p.ids_b):
        return False
    if (mol_a is None) != (mol_b is None) or (mol_a is not None and not np.array_equal(mol_a, mol_b)):
        return False
    return p.pos_a is p.pos_b or np.array_equal(p.pos_a, p.pos_b)


def _raise_nonfinite(func: str, err: np.ndarray) -> None:
    bad = np.flatnonzero(err)
    if bad.size:
        raise ValueError(f"Non-finite coordinates in 'pos_a' or 'pos_b' of {func} at frame {bad[0]} of this chunk.")


def _check_mol(
    func: str, mol_a: object, mol_b: object, n_a: int, n_b: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if (mol_a is None) != (mol_b is None):
        raise ValueError(
            f"The 'mol_a' and 'mol_b' parameters of {func} must both be None (no molecule exclusion) or both "
            f"be arrays. Got {type(mol_a).__name__} and {type(mol_b).__name__}."
        )
    if mol_a is None:
        return None, None
    return _check_ids(func, "mol_a", mol_a, n_a), _check_ids(func, "mol_b", mol_b, n_b)


def _check_histogram_args(
    func: str, pos_a: object, pos_b: object, boxes: object, r_min: object, r_max: object, ids_a: object,
    ids_b: object, mol_a: object, mol_b: object, out: object,
) -> tuple[_Prepared, float, float, np.ndarray | None, np.ndarray | None, np.ndarray]:
    rmax = _check_length(func, "r_max", r_max)
    if isinstance(r_min, (bool, np.bool_)) or not isinstance(r_min, (int, float, np.integer, np.floating)):
        raise TypeError(f"The 'r_min' parameter of {func} must be a float in [0, r_max) Å. Got {r_min!r} instead.")
    rmin = float(r_min)
    if not (0.0 <= rmin < rmax):
        raise ValueError(
            f"The 'r_min' parameter of {func} must be a float in [0, r_max) = [0, {_num(rmax)}) Å. "
            f"Got {rmin!r} instead."
        )
    out = _check_out(func, "out", out, np.int64, None, "of shape (n_bins,) (pair counts per bin)")
    if out.ndim != 1 or out.shape[0] < 1:
        raise ValueError(
            f"The 'out' parameter of {func} must have shape (n_bins,) with n_bins >= 1. Got shape {out.shape} instead."
        )
    p = _prepare(func, pos_a, pos_b, boxes, "r_max", rmax, ids_a, ids_b)
    ma, mb = _check_mol(func, mol_a, mol_b, p.pos_a.shape[1], p.pos_b.shape[1])
    return p, rmin, rmax, ma, mb, out


def _check_species(func: str, species_b: object, n_species: object, n_b: int) -> tuple[np.ndarray, int]:
    if isinstance(n_species, (bool, np.bool_)) or not isinstance(n_species, (int, np.integer)) or n_species < 1:
        raise ValueError(f"The 'n_species' parameter of {func} must be an int >= 1. Got {n_species!r} instead.")
    if not isinstance(species_b, np.ndarray) or not np.issubdtype(species_b.dtype, np.integer):
        got = species_b.dtype if isinstance(species_b, np.ndarray) else type(species_b).__name__
        raise TypeError(
            f"The 'species_b' parameter of {func} must be an int32 ndarray of shape ({n_b},) with codes in "
            f"[0, n_species). Got {got} instead."
        )
    if species_b.shape != (n_b,):
        raise ValueError(
            f"The 'species_b' parameter of {func} must have shape ({n_b},). Got shape {species_b.shape} instead."
        )
    if n_b and (species_b.min() < 0 or species_b.max() >= n_species):
        bad = species_b[(species_b < 0) | (species_b >= n_species)][0]
        raise ValueError(
            f"The 'species_b' parameter of {func} must hold codes in [0, n_species) = [0, {int(n_species)}). "
            f"Got {int(bad)} instead."
        )
    return np.ascontiguousarray(species_b, dtype=np.int32), int(n_species)


def _check_neighbor_counts_args(
    func: str, pos_a: object, pos_b: object, boxes: object, cutoff: object, ids_a: object, ids_b: object,
    species_b: object, n_species: object, out: object,
) -> tuple[_Prepared, float, np.ndarray, int, np.ndarray]:
    c = _check_length(func, "cutoff", cutoff)
    p = _prepare(func, pos_a, pos_b, boxes, "cutoff", c, ids_a, ids_b)
    species, n_sp = _check_species(func, species_b, n_species, p.pos_b.shape[1])
    shape = (p.pos_a.shape[0], p.pos_a.shape[1], n_sp)
    out = _check_out(func, "out", out, np.int32, shape, "(frames, atoms of A, species of B)")
    return p, c, species, n_sp, out


def _check_count_args(
    func: str, pos_a: object, pos_b: object, boxes: object, r_max: object, ids_a: object, ids_b: object,
    out_counts: object,
) -> tuple[_Prepared, float, np.ndarray]:
    r = _check_length(func, "r_max", r_max)
    p = _prepare(func, pos_a, pos_b, boxes, "r_max", r, ids_a, ids_b)
    shape = (p.pos_a.shape[0], p.pos_a.shape[1])
    out_counts = _check_out(func, "out_counts", out_counts, np.int64, shape, "(frames, atoms of A)")
    return p, r, out_counts


def _check_fill_args(
    func: str, pos_a: object, pos_b: object, boxes: object, r_max: object, ids_a: object, ids_b: object,
    offsets: object, out_neighbors: object, out_distances: object,
) -> tuple[_Prepared, float, np.ndarray, np.ndarray, np.ndarray]:
    r = _check_length(func, "r_max", r_max)
    p = _prepare(func, pos_a, pos_b, boxes, "r_max", r, ids_a, ids_b)
    n_rows = p.pos_a.shape[0] * p.pos_a.shape[1]
    if not isinstance(offsets, np.ndarray) or offsets.dtype != np.int64:
        got = offsets.dtype if isinstance(offsets, np.ndarray) else type(offsets).__name__
        raise TypeError(
            f"The 'offsets' parameter of {func} must be an int64 ndarray of shape ({n_rows + 1},). Got {got} instead."
        )
    if offsets.shape != (n_rows + 1,):
        raise ValueError(
            f"The 'offsets' parameter of {func} must have shape (F * Na + 1,) = ({n_rows + 1},). "
            f"Got shape {offsets.shape} instead."
        )
    offsets = np.ascontiguousarray(offsets)
    if offsets[0] != 0 or np.any(np.diff(offsets) < 0):
        raise ValueError(
            f"The 'offsets' parameter of {func} must be a non-decreasing prefix sum starting at 0 "
            "(np.concatenate([[0], np.cumsum(counts)]))."
        )
    n_pairs = int(offsets[-1])
    out_nb = _check_out(
        func, "out_neighbors", out_neighbors, np.int64, (n_pairs,), "(offsets[-1] neighbour indices into B)"
    )
    out_d = _check_out(func, "out_distances", out_distances, np.float32, (n_pairs,), "(offsets[-1] distances in Å)")
    if p.pos_b.shape[1] >= 2**32:
        raise ValueError(f"fill_neighbors supports fewer than 2**32 atoms in B. Got {p.pos_b.shape[1]}.")
    return p, r, offsets, out_nb, out_d


def _raise_offsets(func: str, err: np.ndarray) -> None:
    bad = np.flatnonzero(err)
    if bad.size:
        raise ValueError(
            f"The 'offsets' parameter of {func} disagrees with the neighbour counts at frame {bad[0]} of this "
            "chunk; build it from count_neighbors with the same positions, boxes, r_max and ids."
        )


def _check_knn_inputs(
    func: str, pos_a: object, pos_b: object, boxes: object, r_max: object, ids_a: object, ids_b: object, k: object,
) -> tuple[_Prepared, float, int]:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"The 'k' parameter of {func} must be an int >= 1. Got {k!r} instead.")
    r = _check_length(func, "r_max", r_max)
    p = _prepare(func, pos_a, pos_b, boxes, "r_max", r, ids_a, ids_b)
    if p.pos_b.shape[1] >= 2**32:
        raise ValueError(f"{func} supports fewer than 2**32 atoms in B. Got {p.pos_b.shape[1]}.")
    return p, r, int(k)


def _check_knn_args(
    func: str, pos_a: object, pos_b: object, boxes: object, r_max: object, ids_a: object, ids_b: object,
    k: object, out_neighbors: object, out_distances: object, out_counts: object,
) -> tuple[_Prepared, float, int, np.ndarray, np.ndarray, np.ndarray]:
    p, r, k = _check_knn_inputs(func, pos_a, pos_b, boxes, r_max, ids_a, ids_b, k)
    n_frames, n_a = p.pos_a.shape[0], p.pos_a.shape[1]
    out_nb = _check_out(
        func, "out_neighbors", out_neighbors, np.int64, (n_frames, n_a, k),
        "(frames, atoms of A, k) of neighbour indices into B",
    )
    out_d = _check_out(
        func, "out_distances", out_distances, np.float32, (n_frames, n_a, k), "(frames, atoms of A, k) in Å"
    )
    out_cnt = _check_out(func, "out_counts", out_counts, np.int64, (n_frames, n_a), "(frames, atoms of A)")
    return p, r, k, out_nb, out_d, out_cnt


def _check_count_all(func: str, count_all: object) -> bool:
    if not isinstance(count_all, (bool, np.bool_)):
        raise TypeError(
            f"The 'count_all' parameter of {func} must be a bool. Got {count_all!r} of type "
            f"{type(count_all).__name__} instead."
        )
    return bool(count_all)


def _check_max_neighbors(func: str, max_neighbors: object) -> None:
    if max_neighbors is not None and (
        isinstance(max_neighbors, (bool, np.bool_))
        or not isinstance(max_neighbors, (int, np.integer))
        or max_neighbors < 1
    ):
        raise ValueError(
            f"The 'max_neighbors' parameter of {func} must be None or an int >= 1. Got {max_neighbors!r} instead."
        )


def _check_moments(positions: np.ndarray, *outs: np.ndarray | None) -> None:
    """Shapes and dtypes of the displacement-moment kernels: positions (B, T, 3), outs float64 (B, T) or None."""
    if positions.ndim != 3 or positions.shape[2] != 3:
        raise ValueError(f"positions must have shape (B, T, 3); got {positions.shape}.")
    for out in outs:
        if out is not None and (out.shape != positions.shape[:2] or out.dtype != np.float64):
            raise ValueError(f"out arrays must be float64 of shape {positions.shape[:2]}; got {out.dtype} {out.shape}.")
