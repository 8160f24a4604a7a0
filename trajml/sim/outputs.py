"""Files :func:`~trajml.sim.run.simulate` writes: temporary names, the trajectory writer, the first-frame PDB.

Every output is written under a temporary name in the output directory (:func:`_temporary`) and
moved into place only after the whole run succeeded.
"""

from __future__ import annotations

import os
import uuid
import warnings
from typing import Any

import numpy as np

from trajml.errors import require_extra
from trajml.sim.parameters import SimulationParameters

__all__: list[str] = []


def _temporary(directory: str, name: str, suffix: str) -> str:
    return os.path.join(directory, f".{name}.{suffix}.{uuid.uuid4().hex[:12]}.tmp")


def _open_writer(path: str, fmt: str, n_atoms: int, params: SimulationParameters) -> Any:
    mda = require_extra("MDAnalysis", "sim", "trajml simulate")
    if fmt == "xtc":
        return mda.Writer(path, n_atoms=n_atoms, format="XTC")
    return mda.Writer(
        path,
        n_atoms=n_atoms,
        format="DCD",
        dt=params.frame_interval,
        nsavc=params.save_interval,
        istart=params.save_interval,
        remarks="trajml simulate: CG PEO/LiTFSI",
    )


def _write_pdb(psf_path: str, pdb_path: str, positions: np.ndarray, box: float) -> None:
    mda = require_extra("MDAnalysis", "sim", "trajml simulate")
    from MDAnalysis.coordinates.memory import MemoryReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(psf_path, topology_format="PSF")
        u.load_new(positions[None].astype(np.float32), format=MemoryReader,
                   dimensions=np.array([box, box, box, 90.0, 90.0, 90.0]))
        with mda.Writer(pdb_path, n_atoms=u.atoms.n_atoms, format="PDB") as w:
            w.write(u.atoms)
