"""The engine gives identical results on every scheduler and records provenance."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import cloudpickle
import numpy as np
import pytest

from trajml.errors import MissingBoxError
from trajml.features import Featurizer, TrajectorySummary
from trajml.io import open_source
from trajml.parallel import map_specs, run
from trajml.results import Results

# Workers of the process schedulers cannot import this test module: ship it by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@dataclass
class _SumState:
    total: np.ndarray
    n: int


@dataclass(frozen=True, eq=False)
class _SumResult(Results):
    mean_positions: np.ndarray = None
    n_frames: int = 0


class PositionMean(Featurizer[_SumState]):
    """Per-atom mean position: touches every coordinate of every frame."""

    def __init__(self, needs_box: bool = False):
        self.needs_box = needs_box

    def init_state(self):
        return _SumState(np.zeros((0, 3)), 0)

    def update(self, state, chunk):
        return self.merge(state, _SumState(chunk.positions.astype(np.float64).sum(axis=0), chunk.n_frames))

    def merge(self, a, b):
        if a.n == 0:
            return b
        if b.n == 0:
            return a
        return _SumState(a.total + b.total, a.n + b.n)

    def finalize(self, state, provenance):
        return _SumResult(mean_positions=state.total / state.n, n_frames=state.n, provenance=provenance)


@pytest.fixture(scope="module")
def source(small_triclinic_xtc):
    return open_source(*small_triclinic_xtc)


def test_mean_positions_equal_plain_numpy_over_mdanalysis(source, small_triclinic_xtc):
    import MDAnalysis as mda

    u = mda.Universe(*small_triclinic_xtc)
    expected = np.mean([ts.positions.astype(np.float64) for ts in u.trajectory], axis=0)
    res = run(PositionMean(), source, chunk_size=7, progress=False)
    np.testing.assert_allclose(res.mean_positions, expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("scheduler", ["threads", "processes", "local"])
def test_every_scheduler_gives_identical_results(source, scheduler):
    ref = run(PositionMean(), source, chunk_size=6, progress=False)
    res = run(PositionMean(), source, chunk_size=6, scheduler=scheduler, n_workers=2, progress=False)
    np.testing.assert_array_equal(res.mean_positions, ref.mean_positions)
    ref_s = run(TrajectorySummary(), source, chunk_size=6, progress=False)
    res_s = run(TrajectorySummary(), source, chunk_size=6, scheduler=scheduler, n_workers=2, progress=False)
    assert res_s.mean_volume == ref_s.mean_volume and res_s.n_frames == ref_s.n_frames == 40
    assert res.provenance["scheduler"].startswith(scheduler if scheduler != "local" else "local")


def test_distributed_client_and_address(source):
    from dask.distributed import Client, LocalCluster

    ref = run(PositionMean(), source, chunk_size=9, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            res = run(PositionMean(), source, chunk_size=9, scheduler=client, progress=False)
            assert res.provenance["scheduler"].startswith("distributed:tcp://")
        res_addr = run(PositionMean(), source, chunk_size=9, scheduler=cluster.scheduler_address, progress=False)
    np.testing.assert_array_equal(res.mean_positions, ref.mean_positions)
    np.testing.assert_array_equal(res_addr.mean_positions, ref.mean_positions)


_STARTED: dict[int, float] = {}


def _slow_first(x: int) -> int:
    import time

    _STARTED[x] = time.monotonic()  # the workers are threads of this process (processes=False)
    time.sleep(0.3 if x == 0 else 0.01)
    return x


def _slow_fourth(x: int) -> int:
    import time

    _STARTED[x] = time.monotonic()
    time.sleep(0.6 if x == 3 else 0.01)
    return x


def test_distributed_window_slides_in_order_and_cancels_when_stopped():
    """Results come back in input order past a slow first item; a consumer that stops leaves no task queued."""
    import gc
    import time

    from dask.distributed import Client, LocalCluster

    from trajml.parallel import imap_ordered

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        assert list(imap_ordered(_slow_first, range(30), scheduler=client, window=4)) == list(range(30))
        # The window slides: items after the first window start while its slow last item runs.
        _STARTED.clear()
        assert list(imap_ordered(_slow_fourth, range(8), scheduler=client, window=4)) == list(range(8))
        assert min(_STARTED[i] for i in range(4, 8)) < _STARTED[3] + 0.4
        stopped = imap_ordered(_slow_first, range(30), scheduler=client, window=4)
        assert [next(stopped), next(stopped)] == [0, 1]
        stopped.close()
        del stopped
        gc.collect()
        deadline = time.monotonic() + 10
        while client.futures and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not client.futures


def test_one_chunk_equals_many_chunks_merged(source):
    whole = run(PositionMean(), source, chunk_size=10_000, progress=False)
    for size in (1, 7, 13):
        parts = run(PositionMean(), source, chunk_size=size, progress=False)
        np.testing.assert_allclose(parts.mean_positions, whole.mean_positions, rtol=1e-12)
        assert parts.provenance["n_chunks"] == -(-40 // size)


def test_summary_volume_statistics_equal_mdanalysis(source, small_triclinic_xtc):
    import MDAnalysis as mda
    from MDAnalysis.lib.mdamath import box_volume

    u = mda.Universe(*small_triclinic_xtc)
    vols = np.array([box_volume(ts.dimensions) for ts in u.trajectory])
    res = run(TrajectorySummary(), source, chunk_size=11, progress=False)
    assert res.mean_volume == pytest.approx(vols.mean(), rel=1e-5)
    assert res.std_volume == pytest.approx(vols.std(), rel=1e-3)
    assert res.min_volume == pytest.approx(vols.min(), rel=1e-5)
    assert res.time_range[0] == pytest.approx((u.trajectory[0].time, u.trajectory[-1].time))


def test_provenance_records_read_and_compute_time_per_chunk(source):
    res = run(PositionMean(), source, chunk_size=10, step=2, progress=False)
    chunks = res.provenance["chunks"]
    assert [c["spec"] for c in chunks] == [(0, 0, 19, 2), (0, 20, 39, 2)]
    assert all(c["read_s"] > 0 and c["compute_s"] >= 0 for c in chunks)
    assert res.n_frames == 20
    assert res.provenance["files"] == [[source.members[0].topology, *source.members[0].parts]]


def test_inputs_are_not_modified(source):
    spec = source.partition(5)[0]
    chunk = source.read(spec)
    before = chunk.positions.copy()
    PositionMean().update(PositionMean().init_state(), chunk)
    np.testing.assert_array_equal(chunk.positions, before)


def test_missing_box_names_file_and_frame(psf_dcd):
    src = open_source(*psf_dcd)
    with pytest.raises(MissingBoxError, match=r"PositionMean needs periodic boxes.*adk_dims\.dcd.*frame 0"):
        run(PositionMean(needs_box=True), src, progress=False)


def test_bad_scheduler_message(source):
    with pytest.raises(ValueError, match=r"'scheduler' parameter of run must be one of .*Got 'gpu' instead"):
        run(PositionMean(), source, scheduler="gpu", progress=False)
    with pytest.raises(TypeError, match="dask.distributed.Client"):
        map_specs(abs, [1], scheduler=3.5)


def test_map_specs_keeps_input_order_on_threads():
    assert map_specs(abs, list(range(-50, 0)), scheduler="threads", n_workers=2) == list(range(50, 0, -1))


def test_progress_bar_can_be_silenced(source, capsys):
    run(PositionMean(), source, chunk_size=10, progress=False)
    assert capsys.readouterr().err == ""
