"""Cut-offs against every frame's box from the XTC frame headers, without a second read of the file.

The oracle is MDAnalysis: its decoded frames' ``dimensions`` turned into box vectors, and the half
smallest perpendicular width computed here by hand (volume over the largest face area).
"""

from __future__ import annotations

import MDAnalysis as mda
import numpy as np
import pytest
from MDAnalysis.lib.mdamath import triclinic_vectors

from trajml.io import open_source
from trajml.periodic import check_source_boxes

N_ATOMS = 30


def _write(folder, boxes: list[list[float]], n_atoms: int = N_ATOMS) -> tuple[str, str]:
    u = mda.Universe.empty(n_atoms, trajectory=True, atom_resindex=np.zeros(n_atoms, dtype=int))
    u.add_TopologyAttr("names", ["X"] * n_atoms)
    rng = np.random.default_rng(0)
    top, traj = str(folder / "npt.pdb"), str(folder / "npt.xtc")
    with mda.Writer(traj, n_atoms) as w:
        for k, dims in enumerate(boxes):
            u.dimensions = dims
            u.atoms.positions = rng.uniform(0, 10, (n_atoms, 3))
            u.trajectory.ts.time = float(k)
            w.write(u)
    u.dimensions = boxes[0]
    u.atoms.write(top)
    return top, traj


def _oracle(traj: str, top: str) -> float:
    u = mda.Universe(top, traj)
    halves = []
    for ts in u.trajectory:
        a, b, c = triclinic_vectors(ts.dimensions).astype(np.float64)
        volume = abs(np.dot(a, np.cross(b, c)))
        halves.append(0.5 * volume / max(np.linalg.norm(np.cross(b, c)), np.linalg.norm(np.cross(c, a)),
                                         np.linalg.norm(np.cross(a, b))))
    return min(halves)


@pytest.fixture
def npt(tmp_path):
    # A shrinking, then shearing box: the smallest frame is frame 3, not frame 0.
    boxes = [[30, 30, 30, 90, 90, 90], [29, 30, 31, 90, 90, 90], [28.5, 29, 30, 90, 90, 90],
             [28, 29, 30, 70, 80, 60], [29, 29, 29, 90, 90, 90]]
    return _write(tmp_path, boxes)


def test_probe_knows_the_smallest_box_of_every_frame(npt):
    src = open_source(*npt)
    (info,) = src.members[0].infos
    assert info.max_cutoff == pytest.approx(_oracle(npt[1], npt[0]), rel=1e-5)
    assert info.max_cutoff < 14.0  # not the first frame's 15 Å


def test_a_cut_off_that_fits_needs_no_read(npt, monkeypatch):
    src = open_source(*npt)

    def no_read(*args, **kwargs):
        raise AssertionError("the boxes were read again")

    monkeypatch.setattr(type(src), "iter_chunks", no_read)
    check_source_boxes(src, 0.99 * src.members[0].infos[0].max_cutoff, "r_max", "RDF")


def test_a_cut_off_that_does_not_fit_names_the_frame(npt):
    src = open_source(*npt)
    limit = _oracle(npt[1], npt[0])
    with pytest.raises(ValueError, match=rf"'r_max' parameter of RDF must be at most half the smallest perpendicular "
                                         rf"box width, {limit:.4g} Å in trajectory 0 frame 3"):
        check_source_boxes(src, 14.0, "r_max", "RDF")


def test_a_box_given_when_opening_replaces_the_headers(npt):
    src = open_source(*npt, box=[20, 20, 20, 90, 90, 90])
    assert src.members[0].infos[0].max_cutoff is None
    with pytest.raises(ValueError, match=r"box width, 10 Å in trajectory 0 frame 0"):
        check_source_boxes(src, 12.0, "r_max", "RDF")
    check_source_boxes(src, 9.0, "r_max", "RDF")


def test_few_atoms_are_stored_uncompressed(tmp_path):
    top, traj = _write(tmp_path, [[20, 21, 22, 90, 90, 90], [19, 21, 22, 90, 90, 90]], n_atoms=5)
    info = open_source(top, traj).members[0].infos[0]
    assert info.max_cutoff == pytest.approx(9.5, rel=1e-6) == pytest.approx(_oracle(traj, top), rel=1e-6)
