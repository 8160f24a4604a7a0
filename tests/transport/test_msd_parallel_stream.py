"""MSD's unwrapping pass in parallel (:mod:`trajml.transport.stream_parallel`).

The series file the chunk tasks write is checked against MDAnalysis' NoJump (the oracle), and
MSD on workers against MSD in one process, bitwise: the serial stream is the reference the
rest of the MSD tests check against MDAnalysis and tidynamics.
"""

from __future__ import annotations

import numpy as np
import pytest

from trajml.transport import MSD
from trajml.transport.stream_parallel import stream_to_file_parallel

FIELDS = ("lag_ps", "msd_A2", "msd_per_particle_A2", "time_block_msd_A2", "msd4_A4", "particle_ids")


@pytest.mark.parametrize("chunk_size", [37, 300])
def test_series_file_is_mdanalysis_nojump(sample_source, sample_files, nojump_universe, tmp_path, chunk_size):
    import MDAnalysis as mda

    atoms = np.arange(sample_source.n_atoms)
    streamed = stream_to_file_parallel(sample_source, str(tmp_path), atoms, chunk_size=chunk_size,
                                       scheduler="threads", n_workers=2)
    series = np.load(streamed.series.path)
    oracle = np.array([ts.positions.copy() for ts in nojump_universe.trajectory])
    assert series.shape == oracle.shape == (300, sample_source.n_atoms, 3) and series.dtype == np.float32
    np.testing.assert_allclose(series, oracle, rtol=0, atol=2e-4)  # Å; both float32 from the same frames
    assert np.ptp(series[:, :, 0]) > 1.5 * nojump_universe.dimensions[0]  # atoms did cross the box
    np.testing.assert_allclose(streamed.times, [ts.time for ts in mda.Universe(*sample_files).trajectory],
                               rtol=1e-6)  # ps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["series.npy"]  # side files removed


def _same(a, b) -> bool:
    return all((getattr(a, f) is None and getattr(b, f) is None) or np.array_equal(getattr(a, f), getattr(b, f))
               for f in FIELDS)


@pytest.mark.parametrize("scheduler, params, frames", [
    ("processes", {"select": "name Li"}, {"start": 5, "stop": 250, "chunk_size": 37}),  # not on the reference
    ("threads", {"select": "name Li"}, {"start": 5, "stop": 250, "chunk_size": 37}),
    ("threads", {"select": "all", "non_gaussian": True}, {"stop": 120, "chunk_size": 25}),
    ("threads", {"select": "name Li", "unwrap": False}, {"stop": 100, "chunk_size": 30}),
    ("threads", {"select": "name TFSI", "block_size": 7}, {"chunk_size": 64}),
])
def test_msd_on_workers_equals_one_process_bitwise(sample_source, scheduler, params, frames):
    serial = MSD(**params).run(sample_source, progress=False, **frames)
    assert serial.provenance["series_store"] == "memory"
    # memory_budget=0: the series go to a file, which the chunk tasks fill in parallel
    other = MSD(**params, memory_budget=0).run(sample_source, progress=False, scheduler=scheduler, n_workers=2,
                                                **frames)
    assert other.provenance["series_store"] == "file"
    assert _same(serial, other)


@pytest.mark.parametrize("params, frames", [
    ({"select": "resname PEO", "per_molecule": True}, {"stop": 60}),  # centres of mass: serial stream
    ({"select": "name Li", "remove_drift": True}, {"stop": 60}),      # drift over all atoms: serial stream
    ({"select": "name Li"}, {"stop": 120, "step": 3}),                # frame step: serial stream
])
def test_streams_the_parallel_pass_does_not_take_give_the_same_results(sample_source, params, frames):
    serial = MSD(**params).run(sample_source, progress=False, **frames)
    other = MSD(**params, memory_budget=0).run(sample_source, progress=False, scheduler="threads", n_workers=2,
                                                **frames)
    assert _same(serial, other)
