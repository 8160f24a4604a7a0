"""No-jump unwrapping against MDAnalysis' NoJump transformation.

Wrapped trajectories are generated here (a random walk of a few hundred
particles wrapped into an orthorhombic, a triclinic and an NPT-like triclinic
box whose size fluctuates by ~1 %); MDAnalysis'
:class:`~MDAnalysis.transformations.nojump.NoJump` is the oracle.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from trajml.chunk import Chunk, ChunkSpec
from trajml.errors import MissingBoxError
from trajml.unwrap import (
    Unwrapper,
    chunk_image_shift,
    iter_unwrapped,
    read_unwrapped,
    unwrap_chunk,
    unwrap_parallel,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader
    from MDAnalysis.lib.mdamath import triclinic_vectors
    from MDAnalysis.transformations.nojump import NoJump

N_ATOMS = 300
N_FRAMES = 150
TOL = 1e-4  # Å
BOX_KINDS = ["orthorhombic", "triclinic", "npt"]


# --------------------------------------------------------------------------- #
# generated trajectories and the MDAnalysis oracle
# --------------------------------------------------------------------------- #


def make_wrapped(kind: str, n_frames: int = N_FRAMES, n_atoms: int = N_ATOMS, seed: int = 0):
    """A wrapped random walk; returns (true positions, wrapped float32 positions, dimensions (F, 6))."""
    rng = np.random.default_rng(seed)
    if kind == "orthorhombic":
        dims = np.array([25.0, 27.0, 29.0, 90.0, 90.0, 90.0])
    else:
        dims = np.array([25.0, 27.0, 29.0, 75.0, 100.0, 65.0])
    dims = np.tile(dims, (n_frames, 1))
    if kind == "npt":
        dims[:, :3] *= 1.0 + 0.01 * np.sin(np.linspace(0, 6 * np.pi, n_frames))[:, None]
        dims[:, :3] *= 1.0 + 0.003 * rng.standard_normal((n_frames, 1))
    boxes = np.array([triclinic_vectors(d) for d in dims], dtype=np.float64)
    start = rng.uniform(0, 1, (n_atoms, 3)) @ boxes[0]
    steps = rng.normal(0.0, 1.0, (n_frames, n_atoms, 3))  # Å per frame
    steps[0] = 0.0
    true = start[None] + np.cumsum(steps, axis=0)
    frac = np.einsum("fnj,fjk->fnk", true, np.linalg.inv(boxes))
    wrapped = np.einsum("fnj,fjk->fnk", frac - np.floor(frac), boxes).astype(np.float32)
    return true, wrapped, dims.astype(np.float32)


def memory_universe(wrapped: np.ndarray, dims: np.ndarray):
    u = mda.Universe.empty(wrapped.shape[1], trajectory=True)
    u.load_new(wrapped.copy(), format=MemoryReader, dimensions=dims.copy())
    return u


def nojump_oracle(universe) -> np.ndarray:
    """Positions (F, N, 3) of MDAnalysis' NoJump over the whole trajectory."""
    universe.trajectory.add_transformations(NoJump())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array([ts.positions.copy() for ts in universe.trajectory])


def raw_chunks_of(universe, traj_id: int = 0):
    """(positions, boxes, times) as trajml sees them, read through MDAnalysis without transformations."""
    pos, boxes, times = [], [], []
    for ts in universe.trajectory:
        pos.append(ts.positions.copy())
        boxes.append(ts.triclinic_dimensions.astype(np.float32))
        times.append(ts.time)
    return np.array(pos, np.float32), np.array(boxes, np.float32), np.array(times, np.float64)


class ArraySource:
    """In-memory stand-in for :class:`trajml.io.Source` (same contract), picklable."""

    def __init__(self, positions, boxes, dt: float = 1.0):
        # positions: list over trajectories of (F, N, 3) float32; boxes: list of (F, 3, 3) float32 or None
        self.positions = [np.asarray(p, np.float32) for p in positions]
        self.boxes = [None if b is None else np.asarray(b, np.float32) for b in boxes]
        self.dt = dt
        self.reads: list[ChunkSpec] = []

    @property
    def n_trajectories(self) -> int:
        return len(self.positions)

    @property
    def n_atoms(self) -> int:
        return self.positions[0].shape[1]

    def n_frames_of(self, traj_id: int) -> int:
        return self.positions[traj_id].shape[0]

    def partition(self, chunk_size, start=0, stop=None, step=1, traj_ids=None):
        specs = []
        for t in range(self.n_trajectories) if traj_ids is None else traj_ids:
            end = self.n_frames_of(t) if stop is None else min(stop, self.n_frames_of(t))
            frames = range(start, end, step)
            for i in range(0, len(frames), chunk_size):
                sub = frames[i:i + chunk_size]
                specs.append(ChunkSpec(int(t), sub.start, sub[-1] + 1, step))
        return specs

    def read(self, spec: ChunkSpec, atoms=None) -> Chunk:
        self.reads.append(spec)
        frames = np.arange(spec.start, spec.stop, spec.step, dtype=np.int64)
        if frames.size and frames[-1] >= self.n_frames_of(spec.traj_id):
            raise IndexError(f"frames {spec.start}:{spec.stop} beyond trajectory {spec.traj_id}")
        pos = self.positions[spec.traj_id][frames]
        if atoms is not None:
            atoms = np.asarray(atoms, np.int64)
            pos = pos[:, atoms]
        box = self.boxes[spec.traj_id]
        return Chunk(
            positions=np.ascontiguousarray(pos),
            boxes=None if box is None else box[frames].copy(),
            times=frames * self.dt,
            frames=frames,
            traj_id=spec.traj_id,
            atom_indices=atoms,
        )


@functools.lru_cache(maxsize=None)
def case(kind: str):
    """(true positions, wrapped positions, boxes, times, oracle) for a box kind, computed once."""
    true, wrapped, dims = make_wrapped(kind)
    positions, boxes, times = raw_chunks_of(memory_universe(wrapped, dims))
    oracle = nojump_oracle(memory_universe(wrapped, dims))
    return true, positions, boxes, times, oracle


def chunks(positions, boxes, times, chunk_size, traj_id=0, offset=0):
    n = positions.shape[0]
    for s in range(0, n, chunk_size):
        e = min(n, s + chunk_size)
        yield Chunk(
            positions=positions[s:e].copy(),
            boxes=boxes[s:e].copy(),
            times=times[s:e].copy(),
            frames=np.arange(s, e, dtype=np.int64) + offset,
            traj_id=traj_id,
        )


# --------------------------------------------------------------------------- #
# the generator and the oracle are sane
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("kind", BOX_KINDS)
def test_generated_data_crosses_boundaries(kind):
    true, positions, boxes, _, oracle = case(kind)
    assert not np.allclose(positions, oracle)  # many atoms did cross a boundary
    np.testing.assert_array_equal(oracle[0], positions[0])
    if kind != "npt":  # fixed box: no-jump recovers the true walk up to the first frame's image
        np.testing.assert_allclose(oracle - oracle[0], true - true[0], atol=2e-3)


# --------------------------------------------------------------------------- #
# serial and chunked, array level
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("kind", BOX_KINDS)
@pytest.mark.parametrize("chunk_size", [1, 7, N_FRAMES])
def test_unwrapper_matches_mdanalysis(kind, chunk_size):
    _, positions, boxes, times, oracle = case(kind)
    unwrapper = Unwrapper()
    pieces = [unwrapper(c) for c in chunks(positions, boxes, times, chunk_size)]
    result = np.concatenate([p.positions for p in pieces])
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, oracle, rtol=0, atol=TOL)
    np.testing.assert_array_equal(result[0], positions[0])  # the reference frame is untouched
    np.testing.assert_array_equal(np.concatenate([p.frames for p in pieces]), np.arange(N_FRAMES))
    assert unwrapper.last_frame == N_FRAMES - 1
    assert unwrapper.images.shape == (N_ATOMS, 3) and unwrapper.images.dtype == np.int64


@pytest.mark.parametrize("kind", BOX_KINDS)
@pytest.mark.parametrize("chunk_size", [1, 7, N_FRAMES])
def test_two_pass_shuffled_matches_mdanalysis(kind, chunk_size):
    """Pass 1 and pass 2 on chunks in random order, with a prefix sum in between."""
    _, positions, boxes, times, oracle = case(kind)
    parts = list(chunks(positions, boxes, times, chunk_size))
    prevs = [None] + [
        Chunk(p.positions[-1:], p.boxes[-1:], p.times[-1:], p.frames[-1:], p.traj_id) for p in parts[:-1]
    ]
    order = np.random.default_rng(7).permutation(len(parts))
    shifts = {}
    for i in order:
        shifts[i] = chunk_image_shift(parts[i], prevs[i])
        assert shifts[i].shape == (N_ATOMS, 3) and shifts[i].dtype == np.int64
    starts = np.cumsum([np.zeros((N_ATOMS, 3), np.int64)] + [shifts[i] for i in range(len(parts) - 1)], axis=0)
    result = np.empty_like(positions)
    for i in order[::-1]:
        out = unwrap_chunk(parts[i], prevs[i], starts[i])
        result[out.frames] = out.positions
    np.testing.assert_allclose(result, oracle, rtol=0, atol=TOL)


def test_unwrap_chunk_takes_last_frame_of_a_longer_prev():
    _, positions, boxes, times, oracle = case("triclinic")
    first, second = list(chunks(positions, boxes, times, 80))
    shift = chunk_image_shift(first, None)
    out = unwrap_chunk(second, first, shift)
    np.testing.assert_allclose(out.positions, oracle[80:], atol=TOL)
    # start_images defaults to zeros at the trajectory start
    np.testing.assert_allclose(unwrap_chunk(first, None).positions, oracle[:80], atol=TOL)


def test_inputs_left_unmodified_and_metadata_kept():
    _, positions, boxes, times, _ = case("npt")
    (chunk,) = chunks(positions, boxes, times, N_FRAMES, traj_id=2)
    before = chunk.positions.copy()
    out = Unwrapper()(chunk)
    np.testing.assert_array_equal(chunk.positions, before)
    assert out.traj_id == 2 and out.boxes is chunk.boxes and out.times is chunk.times
    assert out.atom_indices is None


def test_atom_subset_equals_full_unwrap_subset():
    _, positions, boxes, times, oracle = case("triclinic")
    atoms = np.arange(0, N_ATOMS, 7)
    unwrapper = Unwrapper()
    result = np.concatenate(
        [unwrapper(c.take_atoms(atoms)).positions for c in chunks(positions, boxes, times, 13)]
    )
    np.testing.assert_allclose(result, oracle[:, atoms], atol=TOL)


def test_strided_stream_matches_mdanalysis_on_strided_frames():
    """A stream of every 2nd frame unwraps like NoJump over that strided trajectory."""
    _, positions, boxes, times, _ = case("orthorhombic")
    sub_pos, sub_box = positions[::2], boxes[::2]
    u = mda.Universe.empty(N_ATOMS, trajectory=True)
    dims = np.array([[b[0, 0], b[1, 1], b[2, 2], 90, 90, 90] for b in sub_box], np.float32)
    u.load_new(sub_pos.copy(), format=MemoryReader, dimensions=dims)
    oracle = nojump_oracle(u)
    unwrapper = Unwrapper()
    out = []
    for s in range(0, sub_pos.shape[0], 9):
        e = min(sub_pos.shape[0], s + 9)
        frames = 2 * np.arange(s, e, dtype=np.int64)
        out.append(unwrapper(Chunk(sub_pos[s:e].copy(), sub_box[s:e].copy(), frames * 1.0, frames)).positions)
    np.testing.assert_allclose(np.concatenate(out), oracle, atol=TOL)
    assert unwrapper.step == 2


# --------------------------------------------------------------------------- #
# source level (in-memory source with the Source contract)
# --------------------------------------------------------------------------- #


def array_source(kinds=("npt",)) -> ArraySource:
    data = [case(k) for k in kinds]
    return ArraySource([d[1] for d in data], [d[2] for d in data])


@pytest.mark.parametrize("chunk_size", [1, 7, N_FRAMES])
def test_iter_unwrapped_matches_mdanalysis(chunk_size):
    source = array_source(("orthorhombic", "npt"))
    for traj_id, kind in enumerate(("orthorhombic", "npt")):
        out = list(iter_unwrapped(source, chunk_size=chunk_size, traj_id=traj_id))
        assert all(c.traj_id == traj_id for c in out)
        np.testing.assert_allclose(np.concatenate([c.positions for c in out]), case(kind)[4], atol=TOL)


def test_iter_unwrapped_atoms_and_range():
    source = array_source(("triclinic",))
    oracle = case("triclinic")[4]
    atoms = [3, 1, 250]
    out = list(iter_unwrapped(source, chunk_size=10, atoms=atoms, stop=55))
    result = np.concatenate([c.positions for c in out])
    np.testing.assert_allclose(result, oracle[:55, atoms], atol=TOL)
    np.testing.assert_array_equal(out[0].atom_indices, atoms)
    # a later start makes that frame the reference: same as unwrapping the sliced arrays
    _, positions, boxes, times, _ = case("triclinic")
    later = np.concatenate([c.positions for c in iter_unwrapped(source, chunk_size=10, start=40)])
    unwrapper = Unwrapper()
    expected = np.concatenate(
        [unwrapper(c).positions for c in chunks(positions[40:], boxes[40:], times[40:], 25, offset=40)]
    )
    np.testing.assert_array_equal(later, expected)


@pytest.mark.parametrize("scheduler", ["serial", "threads"])
@pytest.mark.parametrize("chunk_size", [1, 7, N_FRAMES])
def test_unwrap_parallel_matches_mdanalysis(scheduler, chunk_size):
    source = array_source(("triclinic", "npt"))
    oracle = case("npt")[4]
    plan = unwrap_parallel(source, chunk_size=chunk_size, traj_id=1, scheduler=scheduler)
    assert [spec for spec, _ in plan] == source.partition(chunk_size, traj_ids=[1])
    assert not plan[0][1].any() and plan[0][1].dtype == np.int64
    result = np.empty_like(oracle)
    for i in np.random.default_rng(3).permutation(len(plan)):
        spec, start_images = plan[i]
        out = read_unwrapped(source, spec, start_images)
        result[out.frames] = out.positions
    np.testing.assert_allclose(result, oracle, atol=TOL)


def test_unwrap_parallel_reads_each_chunk_once_plus_one_frame():
    source = array_source(("orthorhombic",))
    source.reads.clear()
    unwrap_parallel(source, chunk_size=40)
    assert source.reads == [ChunkSpec(0, 0, 40), ChunkSpec(0, 39, 80), ChunkSpec(0, 79, 120), ChunkSpec(0, 119, 150)]


def test_read_unwrapped_with_atoms_and_step():
    source = array_source(("npt",))
    oracle = case("npt")[4]
    atoms = np.arange(5, 200, 3)
    plan = unwrap_parallel(source, chunk_size=30, atoms=atoms)
    spec, start_images = plan[2]
    out = read_unwrapped(source, spec, start_images, atoms=atoms)
    np.testing.assert_allclose(out.positions, oracle[60:90, atoms], atol=TOL)
    # a strided spec reads every frame in between and keeps every step-th: still exact
    strided = read_unwrapped(source, ChunkSpec(0, 60, 90, 4), start_images, atoms=atoms)
    np.testing.assert_array_equal(strided.frames, np.arange(60, 90, 4))
    np.testing.assert_allclose(strided.positions, oracle[60:90:4, atoms], atol=TOL)


# --------------------------------------------------------------------------- #
# errors
# --------------------------------------------------------------------------- #


def _small(n_frames=10, start=0, traj_id=0, boxes=True, n_atoms=4, step=1):
    rng = np.random.default_rng(0)
    frames = start + step * np.arange(n_frames, dtype=np.int64)
    return Chunk(
        positions=rng.uniform(0, 10, (n_frames, n_atoms, 3)).astype(np.float32),
        boxes=np.tile(np.diag([10.0, 10.0, 10.0]).astype(np.float32), (n_frames, 1, 1)) if boxes else None,
        times=frames * 1.0,
        frames=frames,
        traj_id=traj_id,
    )


def test_unwrapper_rejects_gap():
    unwrapper = Unwrapper()
    unwrapper(_small(10, start=0))
    with pytest.raises(ValueError, match=r"consecutive.*ended at frame 9.*start at frame 10.*starts at frame 11"):
        unwrapper(_small(10, start=11))


def test_unwrapper_rejects_overlap_and_rewind():
    unwrapper = Unwrapper()
    unwrapper(_small(10, start=0))
    with pytest.raises(ValueError, match="starts at frame 5"):
        unwrapper(_small(10, start=5))


def test_unwrapper_rejects_other_step():
    unwrapper = Unwrapper()
    unwrapper(_small(5, start=0, step=2))
    with pytest.raises(ValueError, match=r"start at frame 10 \(step 2\).*starts at frame 9 with step 1"):
        unwrapper(_small(5, start=9, step=1))
    unwrapper2 = Unwrapper()
    unwrapper2(_small(5, start=0, step=2))
    with pytest.raises(ValueError, match="with step 3"):
        unwrapper2(_small(5, start=10, step=3))


def test_unwrapper_rejects_other_trajectory_and_atoms():
    unwrapper = Unwrapper()
    unwrapper(_small(10, traj_id=0))
    with pytest.raises(ValueError, match="unwrapping trajectory 0 but got a chunk of trajectory 1"):
        unwrapper(_small(10, start=10, traj_id=1))
    with pytest.raises(ValueError, match="other atoms"):
        unwrapper(_small(10, start=10, n_atoms=5))
    unwrapper.reset()
    unwrapper(_small(10, start=10, traj_id=1))  # after reset a new trajectory may start
    assert unwrapper.traj_id == 1


def test_uneven_frames_rejected():
    chunk = _small(3)
    bad = Chunk(chunk.positions, chunk.boxes, chunk.times, np.array([0, 1, 3]), 0)
    with pytest.raises(ValueError, match=r"evenly spaced.*\[0, 1, 3\]"):
        Unwrapper()(bad)


def test_missing_box_names_trajectory_and_frame():
    with pytest.raises(MissingBoxError, match=r"trajectory 3 has no box \(frame 20\)"):
        Unwrapper()(_small(5, start=20, traj_id=3, boxes=False))
    with pytest.raises(MissingBoxError, match="trajectory 3"):
        chunk_image_shift(_small(5, traj_id=3, boxes=False), None)
    with pytest.raises(MissingBoxError, match=r"previous chunk of trajectory 0 has no box \(frame 4\)"):
        unwrap_chunk(_small(5, start=5), _small(5, boxes=False), np.zeros((4, 3), np.int64))
    chunk = _small(5, start=30, traj_id=2)
    chunk.boxes[3] = 0.0
    with pytest.raises(MissingBoxError, match="trajectory 2 frame 33 has a box of zero"):
        Unwrapper()(chunk)
    assert issubclass(MissingBoxError, ValueError)


def test_missing_box_from_source():
    source = ArraySource([case("orthorhombic")[1][:20]], [None])
    with pytest.raises(MissingBoxError, match=r"trajectory 0 has no box \(frame 0\)"):
        next(iter_unwrapped(source))
    with pytest.raises(MissingBoxError, match="trajectory 0"):
        unwrap_parallel(source, chunk_size=5)


def test_wrong_prev_and_start_images():
    with pytest.raises(ValueError, match=r"previous frame \(9\) is not the frame just before.*frame 11"):
        chunk_image_shift(_small(5, start=11), _small(10))
    with pytest.raises(ValueError, match="belongs to trajectory 1"):
        unwrap_chunk(_small(5, start=10), _small(10, traj_id=1), None)
    with pytest.raises(ValueError, match=r"'start_images' parameter must be an integer array of shape \(4, 3\)"):
        unwrap_chunk(_small(5, start=10), _small(10), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="holds 4 atoms, which are not the 5 atoms of the previous frame"):
        unwrap_chunk(_small(5, start=10), _small(10, n_atoms=5), np.zeros((4, 3), np.int64))


# --------------------------------------------------------------------------- #
# real files through trajml.io
# --------------------------------------------------------------------------- #

FILE_CASES = {"dcd": "npt", "xtc": "orthorhombic", "trr": "triclinic"}


@pytest.fixture(scope="module")
def trajectory_files(tmp_path_factory):
    """PDB topology plus one wrapped trajectory per format; values are (topology, trajectory, oracle)."""
    directory = tmp_path_factory.mktemp("unwrap")
    files = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ext, kind in FILE_CASES.items():
            _, wrapped, dims = make_wrapped(kind, seed=11)
            u = memory_universe(wrapped, dims)
            u.add_TopologyAttr("names", ["LI"] * N_ATOMS)
            u.add_TopologyAttr("resnames", ["ION"])
            u.add_TopologyAttr("resids", [1])
            top = str(directory / f"{kind}.pdb")
            traj = str(directory / f"{kind}.{ext}")
            u.atoms.write(top)
            with mda.Writer(traj, N_ATOMS) as writer:
                for _ in u.trajectory:
                    writer.write(u.atoms)
            files[ext] = (top, traj, nojump_oracle(mda.Universe(top, traj)))
    return files


@pytest.mark.parametrize("ext", sorted(FILE_CASES))
@pytest.mark.parametrize("chunk_size", [1, 7, N_FRAMES])
def test_files_serial_matches_mdanalysis(trajectory_files, ext, chunk_size):
    from trajml.io import open_source

    top, traj, oracle = trajectory_files[ext]
    source = open_source(top, traj)
    result = np.concatenate([c.positions for c in iter_unwrapped(source, chunk_size=chunk_size)])
    np.testing.assert_allclose(result, oracle, rtol=0, atol=TOL)


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_files_parallel_matches_mdanalysis(trajectory_files, scheduler):
    from trajml.io import open_source

    top, traj, oracle = trajectory_files["dcd"]
    source = open_source(top, traj)
    atoms = source.select("index 0:199")
    plan = unwrap_parallel(source, chunk_size=7, atoms=atoms, scheduler=scheduler)
    result = np.empty_like(oracle[:, atoms])
    for i in np.random.default_rng(1).permutation(len(plan)):
        spec, start_images = plan[i]
        out = read_unwrapped(source, spec, start_images, atoms=atoms)
        result[out.frames] = out.positions
    np.testing.assert_allclose(result, oracle[:, atoms], rtol=0, atol=TOL)


@pytest.mark.parametrize("ext", sorted(FILE_CASES))
def test_files_mdtraj_backend_matches_mdanalysis(trajectory_files, ext):
    from trajml.io import open_source

    top, traj, oracle = trajectory_files[ext]
    source = open_source(top, traj, backend="mdtraj")
    result = np.concatenate([c.positions for c in iter_unwrapped(source, chunk_size=7)])
    np.testing.assert_allclose(result, oracle, rtol=0, atol=TOL)


# --------------------------------------------------------------------------- #
# the bundled sample: a real CG SPE run, chains cross the boundaries
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def sample_nojump():
    from trajml import data

    top, traj = data.sample_topology(), data.sample_trajectory()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = nojump_oracle(mda.Universe(top, traj))
    return top, traj, oracle


@pytest.mark.parametrize("chunk_size", [1, 7, None])
def test_sample_serial_matches_mdanalysis_nojump(sample_nojump, chunk_size):
    from trajml.io import open_source

    top, traj, oracle = sample_nojump
    source = open_source(top, traj)
    size = source.n_frames if chunk_size is None else chunk_size
    result = np.concatenate([c.positions for c in iter_unwrapped(source, chunk_size=size)])
    assert result.shape == oracle.shape
    # the sample's chains do cross the boundaries, so the comparison is not trivial
    raw = np.concatenate([c.positions for c in source.iter_chunks(chunk_size=source.n_frames)])
    assert np.abs(raw - oracle).max() > 10.0
    np.testing.assert_allclose(result, oracle, rtol=0, atol=TOL)


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
@pytest.mark.parametrize("chunk_size", [1, 7, None])
def test_sample_parallel_matches_mdanalysis_nojump(sample_nojump, scheduler, chunk_size):
    from trajml.io import open_source

    top, traj, oracle = sample_nojump
    source = open_source(top, traj)
    size = source.n_frames if chunk_size is None else chunk_size
    if chunk_size == 1 and scheduler == "processes":
        size = 3  # one task per frame in fresh processes costs minutes on 2 cores; 1 is covered by threads
    plan = unwrap_parallel(source, chunk_size=size, scheduler=scheduler)
    result = np.empty_like(oracle)
    for spec, start_images in plan:
        out = read_unwrapped(source, spec, start_images)
        result[out.frames] = out.positions
    np.testing.assert_allclose(result, oracle, rtol=0, atol=TOL)
