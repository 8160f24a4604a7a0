"""Trajectory times: t0 + frame * dt despite float32 stamps; clear errors for real irregularities.

Oracles: MDAnalysis reading the same files (positions, raw stamps), MDAnalysis
``EinsteinMSD(fft=True)`` for the MSD, a numpy least-squares line through its MSD
for D, and the times the test wrote (float64 arithmetic ``t0 + k * dt``).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pytest

from trajml.errors import IrregularTimeError
from trajml.io import open_source

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

N_ATOMS = 120
N_FRAMES = 200
DT = 0.4  # ps
T0 = 5.0e5  # ps: one float32 unit is 0.03 ps here
BOX = 200.0  # Å: the walkers never leave it, so no unwrapping question arises


def _walk(n_frames: int = N_FRAMES, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.3, size=(n_frames, N_ATOMS, 3))
    steps[0] = rng.uniform(80.0, 120.0, size=(N_ATOMS, 3))
    return np.cumsum(steps, axis=0).astype(np.float32)


def _universe() -> Any:
    u = mda.Universe.empty(N_ATOMS, trajectory=True)
    names = ["Li"] * (N_ATOMS // 2) + ["TFSI"] * (N_ATOMS - N_ATOMS // 2)
    u.add_TopologyAttr("names", names)
    u.add_TopologyAttr("types", names)
    u.add_TopologyAttr("masses", [6.94 if n == "Li" else 280.0 for n in names])
    u.add_TopologyAttr("resnames", ["ION"])
    u.add_TopologyAttr("resids", [1])
    u.dimensions = [BOX, BOX, BOX, 90.0, 90.0, 90.0]
    return u


def _write(path: Any, positions: np.ndarray, times: np.ndarray) -> str:
    """Write frames with MDAnalysis' own writer (XTC: float32 times), each with the given time."""
    u = _universe()
    path = str(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mda.Writer(path, n_atoms=N_ATOMS) as w:
            for k, (x, t) in enumerate(zip(positions, times)):
                u.atoms.positions = x
                u.trajectory.ts.time = float(t)
                u.trajectory.ts.data["step"] = k
                u.dimensions = [BOX, BOX, BOX, 90.0, 90.0, 90.0]
                w.write(u.atoms)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("time")
    x = _walk()
    u = _universe()
    u.atoms.positions = x[0]
    top = str(d / "top.pdb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(top)
    times = T0 + DT * np.arange(N_FRAMES)
    return {"dir": d, "top": top, "x": x, "times": times, "xtc": _write(d / "long.xtc", x, times)}


def _mda_stamps(top: str, traj: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(top, traj)
        return np.array([ts.time for ts in u.trajectory])


def test_float32_stamps_jitter_but_the_axis_is_regular(run: dict[str, Any]) -> None:
    stamps = _mda_stamps(run["top"], run["xtc"])
    steps = np.diff(stamps)
    assert steps.max() - steps.min() > 0.02  # the problem: stamps 0.03 ps apart at 5e5 ps
    src = open_source(run["top"], run["xtc"])
    info = src.members[0].infos[0]
    assert info.regular and info.irregularity is None
    assert src.dt == DT
    chunks = list(src.iter_chunks(chunk_size=37))
    np.testing.assert_array_equal(np.concatenate([c.times for c in chunks]), run["times"])
    # the stamps themselves are what MDAnalysis reads, within one float32 unit
    np.testing.assert_allclose(stamps, run["times"], rtol=0, atol=np.spacing(np.float32(T0 + DT * N_FRAMES)))


def test_long_time_msd_and_d_match_mdanalysis(run: dict[str, Any]) -> None:
    pytest.importorskip("tidynamics")
    from MDAnalysis.analysis.msd import EinsteinMSD

    from trajml.transport import MSD, Diffusion

    res = MSD("all").run(open_source(run["top"], run["xtc"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from MDAnalysis.coordinates.memory import MemoryReader

        # MDAnalysis' positions of the file, on an exact 0.4 ps axis (EinsteinMSD would otherwise
        # take the float32 stamps' jitter for distinct lags)
        u = mda.Universe(run["top"], run["xtc"])
        pos = np.array([ts.positions.copy() for ts in u.trajectory])
        u.load_new(pos, format=MemoryReader, dt=DT)
        ref = EinsteinMSD(u, select="all", msd_type="xyz", fft=True)
        ref.run()
    np.testing.assert_allclose(res.msd_A2[1:], ref.results.timeseries[1:], rtol=1e-6)
    np.testing.assert_allclose(res.lag_ps, DT * np.arange(N_FRAMES), rtol=1e-12)
    d = Diffusion(4.0, 30.0).fit(res).fetch_model()
    lag = DT * np.arange(N_FRAMES)
    window = (lag >= 4.0 - 1e-9) & (lag <= 30.0 + 1e-9)
    slope = np.polyfit(lag[window], ref.results.timeseries[window], 1)[0]
    assert d.D_A2_ps == pytest.approx(slope / 6.0, rel=1e-6)


def _uneven(run: dict[str, Any], kind: str) -> tuple[str, int]:
    """A one-file trajectory with a real irregularity; returns the file and the frame that breaks the axis."""
    times = run["times"].copy()
    x = run["x"]
    if kind == "gap":  # frames 120 and 121 were never saved
        keep = np.r_[0:120, 122:N_FRAMES]
        return _write(run["dir"] / "gap.xtc", x[keep], times[keep]), 120
    if kind == "repeat":  # frame 80 written twice
        keep = np.r_[0:81, 80:N_FRAMES]
        return _write(run["dir"] / "repeat.xtc", x[keep], times[keep]), 81
    # a restart appended to the same file: back from frame 149 to the time of frame 140
    keep = np.r_[0:150, 140:N_FRAMES]
    return _write(run["dir"] / "backwards.xtc", x[keep], times[keep]), 150


@pytest.mark.parametrize("kind, words", [("gap", "missing frame"), ("repeat", "repeats the time"),
                                         ("backwards", "goes back in time")])
def test_uneven_times_fail_msd_naming_file_and_frame_while_rdf_runs(run: dict[str, Any], kind: str,
                                                                    words: str) -> None:
    from trajml.features import RDF
    from trajml.transport import MSD

    path, frame = _uneven(run, kind)
    src = open_source(run["top"], path)
    info = src.members[0].infos[0]
    assert not info.regular and info.axis.irregular_frame == frame
    with pytest.raises(IrregularTimeError, match=rf"MSD needs equally spaced frames.*frame {frame} of "
                                                 rf"'{re.escape(path)}'.*{words}"):
        MSD("all").run(src)
    assert np.isfinite(RDF("all", r_max=10.0, n_bins=20).run(src, stop=20).g).all()
    # frames before the irregularity are equally spaced: the analysis runs on them
    assert MSD("all").run(src, stop=frame).lag_ps[1] == pytest.approx(DT)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_restart_overlap_of_k_frames_is_dropped_with_a_note(run: dict[str, Any], k: int) -> None:
    x, times = run["x"], run["times"]
    a = _write(run["dir"] / f"a{k}.xtc", x[:100], times[:100])
    b = _write(run["dir"] / f"b{k}.xtc", x[100 - k:], times[100 - k:])
    src = open_source(run["top"], [a, b])
    assert src.n_frames == N_FRAMES and src.members[0].skip_first == (0, k)
    assert len(src.notes) == 1 and f"'{b}' frames 0 to {k - 1}" in src.notes[0] and "dropped" in src.notes[0]
    assert src.members[0].axis.regular and src.dt == DT
    chunks = list(src.iter_chunks(chunk_size=33))
    np.testing.assert_array_equal(np.concatenate([c.times for c in chunks]), times)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(run["top"], run["xtc"])
        oracle = np.array([ts.positions.copy() for ts in u.trajectory])
    np.testing.assert_array_equal(np.concatenate([c.positions for c in chunks]), oracle)


def test_restart_overlap_that_does_not_match_is_an_error(run: dict[str, Any]) -> None:
    x, times = run["x"].copy(), run["times"]
    a = _write(run["dir"] / "ma.xtc", x[:100], times[:100])
    moved = x[98:].copy()
    moved[1] += 0.5  # the second overlapping frame is not the previous part's frame 99
    b = _write(run["dir"] / "mb.xtc", moved, times[98:])
    with pytest.raises(IrregularTimeError, match=rf"Trajectory '{re.escape(b)}' frames 0 to 1 .* frames 98 to 99 of "
                                                 rf"'{re.escape(a)}'.*a restart overlap that does not match the "
                                                 r"previous part's frames"):
        open_source(run["top"], [a, b])


def test_parts_with_a_gap_between_them_fail_msd(run: dict[str, Any]) -> None:
    from trajml.transport import MSD

    x, times = run["x"], run["times"]
    a = _write(run["dir"] / "ga.xtc", x[:100], times[:100])
    b = _write(run["dir"] / "gb.xtc", x[103:], times[103:])
    src = open_source(run["top"], [a, b])
    assert src.n_frames == N_FRAMES - 3 and not src.members[0].axis.regular
    with pytest.raises(IrregularTimeError, match=rf"'{re.escape(b)}'.*'{re.escape(a)}'.*do not continue"):
        MSD("all").run(src)


def test_a_dt_that_contradicts_the_stamps_is_an_error(run: dict[str, Any]) -> None:
    with pytest.raises(IrregularTimeError, match=rf"Trajectory '{re.escape(run['xtc'])}' frame \d+ is stamped "
                                                 r"50000\d\.\d+ ps, but the given dt=0.5 .*own time step is 0.4 ps"
                                                 r".*Drop the dt= keyword .* or pass dt=0.4"):
        open_source(run["top"], run["xtc"], dt=0.5)


def test_a_dt_within_the_precision_of_the_stamps_is_accepted(run: dict[str, Any]) -> None:
    src = open_source(run["top"], run["xtc"], dt=0.4)
    assert src.dt == 0.4
    chunk = src.read(src.partition(N_FRAMES)[0])
    np.testing.assert_array_equal(chunk.times, run["times"])


def test_short_runs_near_zero_keep_exact_decimal_times(run: dict[str, Any]) -> None:
    times = 0.1 + 0.002 * np.arange(50)  # not exact in float32: stamps 0.10199999...
    path = _write(run["dir"] / "short.xtc", run["x"][:50], times)
    src = open_source(run["top"], path)
    assert src.dt == 0.002 and src.members[0].infos[0].axis.t0 == 0.1
    np.testing.assert_allclose(src.read(src.partition(50)[0]).times, times, rtol=0, atol=1e-12)


def test_trr_stamps_are_read_from_the_frame_headers(run: dict[str, Any]) -> None:
    path = _write(run["dir"] / "long.trr", run["x"][:60], run["times"][:60])
    stamps = _mda_stamps(run["top"], path)
    src = open_source(run["top"], path)
    axis = src.members[0].infos[0].axis
    assert axis.regular and axis.precision in ("float32", "float64") and src.dt == DT
    np.testing.assert_allclose(stamps, run["times"][:60], rtol=0, atol=np.spacing(np.float32(T0)))
    np.testing.assert_array_equal(src.read(src.partition(60)[0]).times, run["times"][:60])


def test_a_file_without_times_asks_for_dt_and_takes_it() -> None:
    from MDAnalysisTests import datafiles as D

    src = open_source(D.PRMncdf, D.NCDF)  # every frame stamped 0 ps
    assert not src.members[0].axis.regular
    assert "stores no usable times; pass dt=" in src.members[0].axis.irregularity
    given = open_source(D.PRMncdf, D.NCDF, dt=2.0)
    np.testing.assert_array_equal(given.read(given.partition(5)[0]).times, 2.0 * np.arange(5))


def test_dropped_overlaps_reach_the_provenance(run: dict[str, Any]) -> None:
    from trajml.transport import MSD

    x, times = run["x"], run["times"]
    a = _write(run["dir"] / "pa.xtc", x[:100], times[:100])
    b = _write(run["dir"] / "pb.xtc", x[99:], times[99:])
    res = MSD("all").run(open_source(run["top"], [a, b]))
    (note,) = res.provenance["notes"]
    assert re.fullmatch(rf"'{re.escape(b)}' frames 0 to 0 \(500039\.\d+ to 500039\.\d+ ps\) repeat frames 99 to 99 "
                        rf"of '{re.escape(a)}' \(restart overlap, coordinates match\): dropped", note)


@pytest.mark.parametrize("analysis", ["Conductivity", "ResidenceTime"])
def test_other_time_correlations_name_the_gap(run: dict[str, Any], analysis: str) -> None:
    from trajml.transport import Conductivity, ResidenceTime

    path, frame = _uneven(run, "gap")
    src = open_source(run["top"], path)
    make = {"Conductivity": lambda: Conductivity("name Li", "name TFSI", charges={"Li": 1.0, "TFSI": -1.0},
                                                 temperature=300.0, remove_drift=False),
            "ResidenceTime": lambda: ResidenceTime("name Li", "name TFSI", cutoff=3.0)}[analysis]
    with pytest.raises(IrregularTimeError, match=rf"{analysis} needs equally spaced frames.*frame {frame} of "
                                                 rf"'{re.escape(path)}' comes 1.2\d* ps after .* time step is 0.4 ps: "
                                                 r"a gap of about 2 missing frame\(s\)"):
        make().run(src)


def test_axis_of_float32_stamps_near_one_microsecond() -> None:
    from trajml.io.time_axis import axis_from_stamps

    # oracle: the true times in float64, stored as float32 the way XTC does (100 000 frames, 1e6 ps)
    true = 1.0e6 + 0.4 * np.arange(100_000)
    stamps = true.astype(np.float32).astype(np.float64)
    assert np.ptp(np.diff(stamps)) > 0.05  # steps from 0.375 to 0.4375 ps
    axis = axis_from_stamps(stamps, "float32", "run.xtc")
    assert axis.regular and axis.dt == 0.4 and axis.t0 == 1.0e6
    np.testing.assert_array_equal(axis.times(np.arange(true.size)), 1.0e6 + 0.4 * np.arange(100_000))
    gap = np.delete(stamps, 50_000)
    bad = axis_from_stamps(gap, "float32", "run.xtc")
    assert not bad.regular and bad.irregular_frame == 50_000 and bad.kind == "gap"
    assert "frame 50000 of 'run.xtc'" in bad.irregularity
    # a step off by 0.5 ps (eight float32 units here) is beyond the precision of the stamps
    shifted = stamps.copy()
    shifted[70_000:] += 0.5
    odd = axis_from_stamps(shifted, "float32", "run.xtc")
    assert not odd.regular and odd.irregular_frame == 70_000
    # near t = 0 the stamps are precise enough to tell a step of 0.55 ps from a missing frame
    early = (0.4 * np.r_[np.arange(10), np.arange(10) + 10.375]).astype(np.float32).astype(np.float64)
    uneven = axis_from_stamps(early, "float32", "run.xtc")
    assert uneven.irregular_frame == 10 and uneven.kind == "uneven"
    assert "comes 0.55 ps after frame 9" in uneven.irregularity
    # steps below the resolution of the stamps (0.02 ps at 1e6 ps): regular by the fit over the span
    fine = (1.0e6 + 0.02 * np.arange(5000)).astype(np.float32).astype(np.float64)
    coarse = axis_from_stamps(fine, "float32", "run.xtc")
    assert coarse.regular and coarse.dt == pytest.approx(0.02, rel=1e-4)


def test_formats_checked_from_their_endpoints_still_find_a_gap(run: dict[str, Any]) -> None:
    from trajml.transport import MSD

    times = 10.0 + DT * np.arange(40)
    keep = np.r_[0:20, 21:40]  # one frame never saved
    path = _write(run["dir"] / "gap.ncdf", run["x"][keep], times[keep])
    src = open_source(run["top"], path)
    axis = src.members[0].infos[0].axis
    assert axis.precision == "endpoints" and not axis.regular
    with pytest.raises(IrregularTimeError, match=rf"the last frame \(38\) of '{re.escape(path)}' is stamped 25\.6"):
        MSD("all").run(src)
    whole = open_source(run["top"], _write(run["dir"] / "whole.ncdf", run["x"][:40], times))
    assert whole.members[0].infos[0].axis.regular and whole.dt == pytest.approx(DT)
