"""Test systems shared by the pair-search kernel tests (imported as a plain module, like pipeline_helpers)."""

from __future__ import annotations

import itertools

import numpy as np

from trajml.kernels import counts, histograms, knn

N_ATOMS = 240
N_FRAMES = 5
KINDS = ["orthorhombic", "triclinic", "npt"]
# Skewed triclinic box: lengths 20-25 Å, angles 60/75/110 degrees.
TRICLINIC_DIMS = np.array([20.0, 23.0, 25.0, 60.0, 75.0, 110.0])

#: The modules whose kernels choose between parallel-over-frames and parallel-over-cells.
PER_FRAME_MODULES = (histograms, counts, knn)


def triclinic_vectors(dims: np.ndarray) -> np.ndarray:
    """Box matrix (rows) from [a, b, c, alpha, beta, gamma] via MDAnalysis (an independent oracle)."""
    from MDAnalysis.lib.mdamath import triclinic_vectors as mda_triclinic_vectors

    return mda_triclinic_vectors(np.asarray(dims, dtype=np.float32)).astype(np.float64)


def make_boxes(kind: str, n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """(F, 3, 3) boxes: one orthorhombic or triclinic box for every frame, or an NPT-like box per frame."""
    if kind == "orthorhombic":
        return np.repeat(np.diag([21.0, 23.0, 25.0])[None], n_frames, axis=0).astype(np.float32)
    base = triclinic_vectors(TRICLINIC_DIMS)
    if kind == "triclinic":
        return np.repeat(base[None], n_frames, axis=0)
    # NPT-like: every frame its own (anisotropically scaled) triclinic box.
    scale = 1.0 + 0.03 * rng.standard_normal((n_frames, 3))
    return (base[None] * scale[:, :, None]).astype(np.float32)


def make_data(kind: str, seed: int = 0, n_frames: int = N_FRAMES, n_atoms: int = N_ATOMS):
    """Uniform random positions (float32, wrapped and unwrapped), boxes, ids and molecule ids (6 atoms each)."""
    rng = np.random.default_rng(seed)
    boxes = make_boxes(kind, n_frames, rng)
    frac = rng.uniform(-0.3, 1.3, (n_frames, n_atoms, 3))  # wrapped and unwrapped positions mixed
    pos = np.einsum("fnj,fjk->fnk", frac, boxes.astype(np.float64)).astype(np.float32)
    ids = np.arange(n_atoms, dtype=np.int64) + 1000
    mol = np.arange(n_atoms, dtype=np.int64) // 6
    return pos, boxes, ids, mol


def selections(pos, ids, mol, same: bool):
    """A and B: the same atoms, or two overlapping, unordered subsets."""
    if same:
        return pos, pos, ids, ids, mol, mol
    a = np.arange(0, pos.shape[1], 3)
    b = np.arange(pos.shape[1] - 1, 40, -1)  # overlaps A: shared atoms must be excluded by id
    return pos[:, a], pos[:, b], ids[a], ids[b], mol[a], mol[b]


def set_per_frame(monkeypatch, per_frame: bool) -> None:
    """Force every pair-search kernel to run parallel over frames (True) or over the cells of each frame."""
    for module in PER_FRAME_MODULES:
        monkeypatch.setattr(module, "_per_frame", lambda n_frames, v=per_frame: v)


def both_modes(monkeypatch):
    """Run the loop body with the kernels parallel over frames, then over the cells of each frame."""
    for per_frame in (True, False):
        set_per_frame(monkeypatch, per_frame)
        yield per_frame


def small_system():
    """Four NPT frames of 30 atoms, for the validation tests."""
    pos, boxes, ids, mol = make_data("npt", seed=7, n_frames=4, n_atoms=30)
    return pos, boxes, ids, mol


def knn_out(n_frames: int, n_a: int, k: int):
    """Output arrays pre-filled with garbage (every slot must be overwritten)."""
    return (
        np.full((n_frames, n_a, k), 77, dtype=np.int64),
        np.full((n_frames, n_a, k), -3.0, dtype=np.float32),
        np.full((n_frames, n_a), -5, dtype=np.int64),
    )


def images_bruteforce(pos_a: np.ndarray, pos_b: np.ndarray, box: np.ndarray, reach: int) -> np.ndarray:
    """Shortest distance over all (2 reach + 1)^3 images of the raw (unwrapped) difference."""
    delta = pos_b[None].astype(np.float64) - pos_a[:, None].astype(np.float64)
    best = np.full(delta.shape[:2], np.inf)
    for n in itertools.product(range(-reach, reach + 1), repeat=3):
        d = delta + np.asarray(n, dtype=np.float64) @ box
        best = np.minimum(best, np.sqrt((d * d).sum(-1)))
    return best
