"""The mdtraj reader: reads frames with mdtraj and converts nm to Å.

mdtraj reads only coordinates, boxes and times; atom identities and selections come from the
MDAnalysis topology, and a file's frame count and timing from its probe (:class:`PartInfo`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from trajml.errors import CorruptTrajectoryError, UnknownFormatError
from trajml.io.mdanalysis_reader import _CACHE_SIZE
from trajml.io.part_info import PartInfo

__all__: list[str] = []


# mdtraj handles whose files store a time per frame; for the others times follow the probe's t0 + k*dt.
_MDTRAJ_TIMED = ("XTCTrajectoryFile", "TRRTrajectoryFile", "NetCDFTrajectoryFile", "HDF5TrajectoryFile",
                 "DTRTrajectoryFile")
_mdtraj_lock = threading.Lock()
_mdtraj_topologies: OrderedDict[int, Any] = OrderedDict()


def _mdtraj_open(part: str, fmt: str | None) -> Any:
    """Open ``part`` with mdtraj (by extension, or by the MDAnalysis ``format`` name)."""
    import mdtraj
    from mdtraj.formats.registry import FormatRegistry

    cls = None
    if fmt:
        cls = FormatRegistry.fileobjects.get("." + fmt.lower())
    try:
        if cls is not None:
            return cls(part)
        return mdtraj.open(part)
    except Exception as exc:
        raise UnknownFormatError(
            f"mdtraj cannot read trajectory '{part}' ({type(exc).__name__}: {exc}); use backend='mdanalysis'."
        ) from None


def _mdtraj_n_frames(part: str, fmt: str | None = None) -> int:
    with _mdtraj_open(part, fmt) as handle:
        if not (hasattr(handle, "seek") and hasattr(handle, "read_as_traj")):
            raise UnknownFormatError(
                f"mdtraj cannot stream trajectory '{part}' ({type(handle).__name__} has no seek/read_as_traj); "
                "use backend='mdanalysis'."
            )
        return len(handle)


def _mdtraj_topology(n_atoms: int) -> Any:
    """A placeholder mdtraj Topology of ``n_atoms`` atoms (thread-safe, cached).

    mdtraj needs a Topology only to count atoms; atom identities come from the
    MDAnalysis topology, so any topology format MDAnalysis reads works here.
    """
    with _mdtraj_lock:
        top = _mdtraj_topologies.get(n_atoms)
        if top is not None:
            _mdtraj_topologies.move_to_end(n_atoms)
            return top
    import mdtraj

    top = mdtraj.Topology()
    residue = top.add_residue("X", top.add_chain())
    for _ in range(n_atoms):
        top.add_atom("X", None, residue)
    with _mdtraj_lock:
        _mdtraj_topologies[n_atoms] = top
        while len(_mdtraj_topologies) > _CACHE_SIZE:
            _mdtraj_topologies.popitem(last=False)
    return top


def _read_mdtraj(part: str, local_frames: np.ndarray, atoms: np.ndarray | None, info: PartInfo,
                 fmt: str | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Read frames with mdtraj and convert nm to Å."""
    n_atoms = info.n_atoms if atoms is None else len(atoms)
    if local_frames.size == 0:
        return np.empty((0, n_atoms, 3), np.float32), None, np.empty(0)
    first, last = int(local_frames[0]), int(local_frames[-1])
    stride = int(local_frames[1] - local_frames[0]) if len(local_frames) > 1 else 1
    top = _mdtraj_topology(info.n_atoms)
    # mdtraj's TRR reader corrupts the heap for atom indices that are not increasing:
    # hand it sorted unique indices and restore the caller's order here.
    order = None
    if atoms is not None:
        wanted, order = np.unique(np.asarray(atoms, dtype=np.int64), return_inverse=True)
    with _mdtraj_open(part, fmt) as handle:
        # mdtraj's TRR reader also overruns a buffer when it strides over the end of the file
        # with an atom subset: read all atoms there and select below.
        if order is not None and stride > 1 and type(handle).__name__ == "TRRTrajectoryFile":
            order = wanted[order]
            wanted = None
        try:
            handle.seek(first)
            traj = handle.read_as_traj(top, n_frames=(last - first) // stride + 1, stride=stride,
                                       atom_indices=None if atoms is None else wanted)
        except Exception as exc:
            raise CorruptTrajectoryError(
                f"Trajectory '{part}': mdtraj cannot read frames {first} to {last}: {type(exc).__name__}: {exc}"
            ) from exc
        timed = type(handle).__name__ in _MDTRAJ_TIMED
    if traj.n_frames != len(local_frames):
        raise CorruptTrajectoryError(
            f"Trajectory '{part}': mdtraj returned {traj.n_frames} frames for frames {first} to {last} "
            f"(expected {len(local_frames)})."
        )
    xyz = traj.xyz if order is None else traj.xyz[:, order]
    positions = np.ascontiguousarray(xyz * np.float32(10.0), dtype=np.float32)
    boxes = None
    if traj.unitcell_vectors is not None:
        with np.errstate(invalid="ignore"):
            vectors = np.ascontiguousarray(traj.unitcell_vectors * np.float32(10.0), dtype=np.float32)
        bad = ~np.isfinite(vectors).all(axis=(1, 2))
        if bad.any():
            raise UnknownFormatError(
                f"Trajectory '{part}' frame {int(local_frames[int(np.argmax(bad))])}: mdtraj cannot interpret "
                "this file's unit cell (its box vectors come out non-finite; CHARMM/NAMD triclinic DCD cells "
                "are one such convention); use backend='mdanalysis'."
            )
        # A box of zeros means "no box" (what MDAnalysis reports as dimensions None).
        if np.all(np.any(vectors != 0, axis=(1, 2))):
            boxes = vectors
    if timed:
        times = np.asarray(traj.time, dtype=np.float64)
    else:
        times = info.first_time + local_frames.astype(np.float64) * info.dt
    return positions, boxes, times
