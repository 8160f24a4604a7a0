"""Plausibility checks on every chunk: damage that decodes cleanly is refused, naming file, frame and atom.

The oracle is the construction: each file is written with MDAnalysis from positions whose one damaged
frame and atom the test chose itself; the bundled samples and a wrapped random walk must pass.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from trajml.chunk import ChunkSpec
from trajml.errors import CorruptTrajectoryError, ImplausibleFrameError, NonFiniteCoordinatesError
from trajml.io import open_source
from trajml.io.plausibility import find_implausible, scan_source

N_ATOMS, N_FRAMES, L = 40, 24, 30.0


def _walk(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A wrapped random walk (0.5 Å steps) in a cubic 30 Å box: positions (f, n, 3) and dimensions (f, 6)."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, L, (N_ATOMS, 3)) + np.cumsum(rng.normal(0, 0.5, (N_FRAMES, N_ATOMS, 3)), axis=0)
    dims = np.tile([L, L, L, 90.0, 90.0, 90.0], (N_FRAMES, 1))
    return np.mod(pos, L).astype(np.float32), dims


def _write(tmp_path, pos: np.ndarray, dims: np.ndarray, ext: str = "xtc") -> tuple[str, str]:
    import MDAnalysis as mda

    u = mda.Universe.empty(N_ATOMS, trajectory=True)
    u.add_TopologyAttr("names", ["O"] * N_ATOMS)
    u.add_TopologyAttr("resids", [1])
    top, traj = str(tmp_path / "top.pdb"), str(tmp_path / f"traj.{ext}")
    u.atoms.positions = pos[0]
    u.dimensions = dims[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(top)
        with mda.Writer(traj, N_ATOMS) as w:
            for p, d in zip(pos, dims):
                u.atoms.positions = p
                u.dimensions = d
                w.write(u.atoms)
    return top, traj


def _read_all(top: str, traj: str, chunk_size: int = 100) -> None:
    src = open_source(top, traj)
    for _ in src.iter_chunks(chunk_size=chunk_size):
        pass


def test_wrapped_walk_passes(tmp_path):
    pos, dims = _walk()
    top, traj = _write(tmp_path, pos, dims)
    _read_all(top, traj, chunk_size=5)
    assert scan_source(open_source(top, traj), chunk_size=5) == []


@pytest.mark.parametrize("chunk_size", [100, 7])  # 7: frame 7 starts a chunk, the jump is at its boundary
def test_atom_moved_82_A_is_named(tmp_path, chunk_size):
    pos, dims = _walk()
    pos[7:, 5, 0] += 82.0  # atom 5 jumps by 82 Å at frame 7 and stays there
    top, traj = _write(tmp_path, pos, dims)
    with pytest.raises(ImplausibleFrameError, match=r"traj\.xtc' frame 7 .*atom 5 moved 8[0-4]\.\d+ Å") as exc:
        _read_all(top, traj)
    assert isinstance(exc.value, CorruptTrajectoryError)
    assert "stop=7" in str(exc.value) and "--stop 7" in exc.value.cli_message
    found = scan_source(open_source(top, traj), chunk_size=chunk_size)
    assert [(f["frame"], f["kind"], f["atom"]) for f in found] == [(7, "jump", 5)]


def test_huge_coordinate_refused(tmp_path):
    pos, dims = _walk()
    pos[4, 9, 1] = 1e30
    top, traj = _write(tmp_path, pos, dims, "trr")
    with pytest.raises(ImplausibleFrameError, match=r"frame 4 .*atom 9 is at 1e\+30 Å"):
        _read_all(top, traj)


def test_far_outside_box_refused(tmp_path):
    pos, dims = _walk()
    pos[3, 2] = 5000.0  # 166 box lengths out, below the absolute bound
    top, traj = _write(tmp_path, pos, dims, "trr")
    with pytest.raises(ImplausibleFrameError, match=r"frame 3 .*atom 2 at .* box lengths outside the box"):
        _read_all(top, traj)


def test_nan_refused(tmp_path):
    pos, dims = _walk()
    pos[6, 1, 2] = np.nan
    top, traj = _write(tmp_path, pos, dims, "trr")
    with pytest.raises(NonFiniteCoordinatesError, match=r"frame 6 has NaN"):
        _read_all(top, traj)
    found = scan_source(open_source(top, traj, check_finite=False))
    assert [(f["frame"], f["kind"]) for f in found] == [(6, "nonfinite")]


def test_zero_box_named_at_its_frame(tmp_path):
    pos, dims = _walk()
    dims[10, :3] = 0.0
    top, traj = _write(tmp_path, pos, dims, "trr")
    src = open_source(top, traj)
    src.read(ChunkSpec(0, 0, 10))  # frames before the damage read fine
    with pytest.raises(ImplausibleFrameError, match=r"frame 10 is implausible.*box is degenerate"):
        src.read(ChunkSpec(0, 0, N_FRAMES))


def test_volume_jump_refused(tmp_path):
    pos, dims = _walk()
    pos[12] *= 2.0  # the whole frame blown up by 2: no atom moves relative to the box, the volume x8
    dims[12, :3] *= 2.0
    top, traj = _write(tmp_path, pos, dims, "trr")
    with pytest.raises(ImplausibleFrameError, match=r"frame 12 .*volume changed by a factor 8"):
        _read_all(top, traj)


def test_scan_lists_every_implausible_frame(tmp_path):
    pos, dims = _walk()
    pos[5:, 3, 2] += 60.0
    pos[15:, 8, 0] -= 70.0
    pos[20, 1] = 2e6
    top, traj = _write(tmp_path, pos, dims, "trr")
    found = scan_source(open_source(top, traj), chunk_size=6)
    assert [(f["frame"], f["kind"], f["atom"]) for f in found] == [
        (5, "jump", 3), (15, "jump", 8), (20, "coordinate", 1)]


def test_find_implausible_names_topology_index_of_a_subset():
    pos, dims = _walk()
    box = np.tile(np.eye(3) * L, (N_FRAMES, 1, 1))
    pos[2, 9] += 100.0  # out at frame 2, back at frame 3
    found = find_implausible(pos[:, [4, 9]], box, np.arange(N_FRAMES), atoms=np.array([4, 9]))
    assert [(f.frame, f.kind, f.atom) for f in found] == [(2, "jump", 9), (3, "jump", 9)]


@pytest.mark.parametrize("prefix", ["sample", "sample_aa"])
def test_bundled_samples_pass(prefix):
    from trajml import data

    top = getattr(data, f"{prefix}_topology")()
    traj = getattr(data, f"{prefix}_trajectory")()
    src = open_source(top, traj)
    assert scan_source(src) == []
    for _ in src.iter_chunks(chunk_size=50):  # the checks run on every chunk read
        pass


def test_damage_in_a_chunks_first_frame_names_that_frame(tmp_path):
    pos, dims = _walk()
    pos[10, 6, 1] += 60.0  # frame 10 only: the next frame jumps back
    top, traj = _write(tmp_path, pos, dims, "trr")
    src = open_source(top, traj)
    with pytest.raises(ImplausibleFrameError, match=r"frame 10 is implausible.*atom 6 moved .* since frame 9"):
        src.read(ChunkSpec(0, 10, 15))


_READ_ALL = """
import sys
from trajml.io import open_source
from trajml.errors import CorruptTrajectoryError
try:
    for _ in open_source(sys.argv[1], sys.argv[2]).iter_chunks(chunk_size=5):
        pass
except CorruptTrajectoryError as exc:
    print("REFUSED:", exc)
else:
    print("READ")
"""


@pytest.mark.parametrize("field, offset, value", [
    ("small-integer index", 84, 10**9),    # indexes the decoder's 73-entry table of bit sizes
    ("coordinate range", 72, -(2**31)),    # maxint[0] below minint[0]
    ("precision", 56, -1.0),
])
def test_damaged_xtc_header_refused_without_crash(tmp_path, field, offset, value):
    """The decoder trusts these fields; they are checked before it runs. Read in a subprocess so
    a crash fails this test instead of killing pytest."""
    import struct
    import subprocess
    import sys

    pos, dims = _walk()
    top, traj = _write(tmp_path, pos, dims)
    raw = bytearray(open(traj, "rb").read())
    at = 0
    for _ in range(5):  # to frame 5: 92 header bytes and the compressed bytes, padded to 4
        (n_bytes,) = struct.unpack(">i", raw[at + 88:at + 92])
        at += 92 + 4 * ((n_bytes + 3) // 4)
    raw[at + offset:at + offset + 4] = struct.pack(">f" if isinstance(value, float) else ">i", value)
    bad = tmp_path / "bad.xtc"
    bad.write_bytes(bytes(raw))
    run = subprocess.run([sys.executable, "-c", _READ_ALL, top, str(bad)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "REFUSED:" in run.stdout and f"frame 5 at byte {at} has a damaged header ({field}" in run.stdout


def test_unreadable_file_is_permission_denied_not_damaged(tmp_path, monkeypatch):
    """os.access stands in for a mode-000 file: root, which runs CI containers, may read any file."""
    import os

    pos, dims = _walk()
    top, traj = _write(tmp_path, pos, dims)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if str(p) == traj else real(p, mode, *a, **k))
    with pytest.raises(PermissionError,
                       match=r"Permission denied: cannot read '.*traj\.xtc' \(the file is not damaged"):
        open_source(top, traj)


def test_info_scan_lists_every_implausible_frame(tmp_path, capsys):
    from trajml.cli import main

    pos, dims = _walk()
    pos[5:, 3, 2] += 60.0
    dims[17, :3] = 0.0
    top, traj = _write(tmp_path, pos, dims, "trr")
    assert main(["info", top, traj, "--scan"]) == 1
    out = capsys.readouterr().out
    assert "IMPLAUSIBLE  : 2 frames" in out
    assert "traj.trr' frame 5 (jump): atom 3 moved" in out and "traj.trr' frame 17 (box): the box is degenerate" in out
    assert main(["info", top, traj, "--scan", "--json"]) == 1
    found = json.loads(capsys.readouterr().out)["implausible"]
    assert [(f["frame"], f["kind"]) for f in found] == [(5, "jump"), (17, "box")]
    pos, dims = _walk()
    top, traj = _write(tmp_path, pos, dims, "trr")
    assert main(["info", top, traj, "--scan"]) == 0
    assert "plausibility : every frame read passes" in capsys.readouterr().out


def test_triclinic_wrapped_walk_passes_and_a_two_box_vector_jump_is_found(small_triclinic_xtc):
    """Fractions from the triangular solve: wrapped crossings pass; 2 a + 0.3 b does not (oracle:
    the displacement the test adds, in box vectors)."""
    top, traj = small_triclinic_xtc
    src = open_source(top, traj)
    assert scan_source(src, chunk_size=7) == []
    chunk = src.read(ChunkSpec(0, 0, 10))
    pos = chunk.positions.copy()
    a, b = chunk.boxes[4, 0], chunk.boxes[4, 1]
    pos[4:, 17] += 2.0 * a + 0.3 * b
    found = find_implausible(pos, chunk.boxes, chunk.frames)
    assert [(f.frame, f.kind, f.atom) for f in found] == [(4, "jump", 17)]
    assert found[0].value == pytest.approx(np.linalg.norm(pos[4, 17].astype(float) - pos[3, 17]), rel=1e-5)
