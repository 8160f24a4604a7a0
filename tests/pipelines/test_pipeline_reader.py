"""A pipeline input's ``reader:`` mapping reaches the files: a LAMMPS DCD read with the run's units.

The oracle is a brute-force MSD of the positions MDAnalysis' LAMMPS DCD reader gives, with the
time step it reads for units real (2 fs × 250 steps = 0.5 ps).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysis.coordinates.LAMMPS import DCDWriter
    from MDAnalysis.coordinates.memory import MemoryReader


def _lammps_run(folder):
    rng = np.random.default_rng(2)
    u = mda.Universe.empty(20, trajectory=True)
    u.add_TopologyAttr("names", ["Li"] * 10 + ["O"] * 10)
    u.add_TopologyAttr("types", ["Li"] * 10 + ["O"] * 10)
    positions = (np.cumsum(rng.normal(size=(12, 20, 3)), axis=0) + 15.0).astype(np.float32)
    u.load_new(positions, format=MemoryReader, dimensions=[30, 30, 30, 90, 90, 90], dt=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(str(folder / "run.pdb"))
        with DCDWriter(str(folder / "run.dcd"), n_atoms=20, dt=0.5, nsavc=250, remarks="Written by LAMMPS") as w:
            for _ in u.trajectory:
                w.write(u.atoms)
        ref = mda.Universe(str(folder / "run.pdb"), str(folder / "run.dcd"), format="LAMMPS", timeunit="fs")
        x = np.array([ref.select_atoms("name Li").positions.copy() for _ in ref.trajectory], dtype=np.float64)
    return float(ref.trajectory.dt), np.array([np.mean(np.sum((x[k:] - x[:len(x) - k]) ** 2, axis=-1))
                                               for k in range(len(x))])


def test_a_reader_mapping_sets_the_time_unit_of_a_lammps_dcd(tmp_path):
    from trajml.pipelines import run_pipeline

    dt, msd = _lammps_run(tmp_path)
    assert dt == pytest.approx(0.5)
    (tmp_path / "pipeline.yaml").write_text(
        "inputs:\n  - name: lammps\n    topology: run.pdb\n    trajectory: run.dcd\n"
        "    reader: {lammps_units: real}\n"
        "stages:\n  - {stage: msd, select: name Li, unwrap: false, fit_start: 1.0, fit_stop: 3.0}\n"
        f"outputs: {tmp_path / 'out'}\n")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        summary = run_pipeline(str(tmp_path / "pipeline.yaml"), scheduler="serial", progress=False)
    assert not [w for w in record if "LAMMPS stores times" in str(w.message)]
    (outcome,) = summary.outcomes
    entry = tmp_path / "out" / "store" / "objects" / outcome.key[:2] / outcome.key
    table = np.loadtxt(next(entry.glob("*.csv")), delimiter=",", skiprows=1)
    assert np.allclose(table[:, 0], 0.5 * np.arange(12))
    assert np.allclose(table[:, 1], msd, rtol=1e-5)
    assert json.loads((entry / "result.json").read_text())
