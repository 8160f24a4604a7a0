"""MSD against MDAnalysis EinsteinMSD, hand-computed molecule COM MSDs, and invariances."""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pytest

from tests.transport.conftest import brownian, write_system
from trajml.errors import EmptySelectionError, MissingBoxError
from trajml.transport import MSD

pytest.importorskip("tidynamics")  # EinsteinMSD(fft=True) needs it


@pytest.fixture(scope="module")
def einstein(nojump_universe):
    """EinsteinMSD(fft=True) results per selection, on NoJump-unwrapped coordinates."""
    from MDAnalysis.analysis.msd import EinsteinMSD

    cache = {}

    def get(sel):
        if sel not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = EinsteinMSD(nojump_universe, select=sel, msd_type="xyz", fft=True)
                m.run()
            cache[sel] = m.results
        return cache[sel]

    return get


def _close(ours, ref, rtol=1e-6):
    """Relative agreement from lag 1 (lag 0 is 0 here, round-off in the oracle)."""
    ours, ref = np.asarray(ours)[..., 1:], np.asarray(ref)[..., 1:]
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=0)


@pytest.mark.parametrize("sel", ["name Li", "all"])
@pytest.mark.parametrize("block_size", [1, 7, None])
def test_matches_einstein_msd(sample_source, einstein, sel, block_size):
    if sel == "all" and block_size == 1:
        block_size = 2040  # one task holding every particle ("all"), block 1 is tested on Li
    ref = einstein(sel)
    res = MSD(sel, block_size=block_size, per_particle=True).run(sample_source)
    assert res.n_particles == ref.msds_by_particle.shape[1]
    _close(res.msd_A2, ref.timeseries)
    # Per particle, the two unwrappings differ by float32 round-off (up to ~2e-5 Å on a few atoms).
    _close(res.msd_per_particle_A2, ref.msds_by_particle.T, rtol=1e-5)
    np.testing.assert_allclose(res.lag_ps[1:], ref.delta_t_values[1:], rtol=1e-6)
    assert res.msd_A2[0] == 0.0 and res.units["msd_A2"] == "Å^2" and res.units["lag_ps"] == "ps"


@pytest.mark.parametrize("sel", ["name Li", "name Li or name TFSI"])
def test_time_blocks_match_einstein_msd_of_each_block(sample_source, nojump_universe, sel):
    """Each time block's MSD is EinsteinMSD over that block's frames alone (an independent oracle)."""
    from MDAnalysis.analysis.msd import EinsteinMSD

    res = MSD(sel, time_blocks=4).run(sample_source)
    length = res.n_frames // 4
    assert res.time_block_msd_A2.shape == (4, length)
    for j in range(4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = EinsteinMSD(nojump_universe, select=sel, msd_type="xyz", fft=True)
            ref.run(start=j * length, stop=(j + 1) * length)
        _close(res.time_block_msd_A2[j], ref.results.timeseries)
        assert res.time_block_msd_A2[j, 0] == 0.0
    if " or " in sel:  # split by species: each species' blocks are its own run's
        by = MSD(sel, time_blocks=4).run_by_species(sample_source, by="names")
        for name in ("Li", "TFSI"):
            alone = MSD(f"name {name}", time_blocks=4).run(sample_source)
            np.testing.assert_allclose(by[name].time_block_msd_A2, alone.time_block_msd_A2, rtol=1e-12)


def test_serial_equals_processes_and_species(sample_source):
    msd = MSD("name Li or name TFSI", block_size=25, non_gaussian=True)
    serial = msd.run(sample_source)
    procs = msd.run(sample_source, scheduler="processes", n_workers=2)
    np.testing.assert_allclose(procs.msd_A2, serial.msd_A2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(procs.msd4_A4, serial.msd4_A4, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(procs.msd_per_particle_A2, serial.msd_per_particle_A2)
    by = msd.run_by_species(sample_source, by="names")
    assert list(by) == ["Li", "TFSI"]
    li = MSD("name Li").run(sample_source)
    np.testing.assert_allclose(by["Li"].msd_A2, li.msd_A2, rtol=1e-12)
    both = (by["Li"].msd_A2 * 60 + by["TFSI"].msd_A2 * 60) / 120
    np.testing.assert_allclose(both, serial.msd_A2, rtol=1e-12)


def test_fourth_moment_fft_equals_direct(sample_source):
    fft = MSD("name TFSI", non_gaussian=True).run(sample_source, stop=120)
    direct = MSD("name TFSI", non_gaussian=True, method="direct").run(sample_source, stop=120)
    np.testing.assert_allclose(fft.msd_A2, direct.msd_A2, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fft.msd4_A4[1:], direct.msd4_A4[1:], rtol=1e-7)
    assert np.isnan(fft.alpha2[0]) and np.all(np.isfinite(fft.alpha2[1:]))


def test_molecule_com_msd_by_hand(sample_source, nojump_universe):
    res = MSD("resname PEO", per_molecule=True).run(sample_source)
    residues = nojump_universe.select_atoms("resname PEO").residues
    com = np.array([[r.atoms.center_of_mass() for r in residues] for _ in nojump_universe.trajectory])
    n_frames = com.shape[0]
    expected = np.zeros(n_frames)
    for lag in range(1, n_frames):  # direct all-origins average, O(T²)
        d = com[lag:] - com[:-lag]
        expected[lag] = (d ** 2).sum(axis=2).mean()
    assert res.n_particles == len(residues) == 40 and res.particles == "molecules"
    _close(res.msd_A2, expected, rtol=1e-6)


def test_drift_removal_cancels_constant_velocity(tmp_path):
    rng = np.random.default_rng(11)
    n_frames, box, dt = 120, 25.0, 1.0
    masses = rng.uniform(1.0, 20.0, size=150)
    x = brownian(rng, n_frames, np.full(150, 0.05), dt, box)
    velocity = np.array([0.3, -0.2, 0.15])  # Å/ps, well under half a box per frame
    moved = x + velocity[None, None, :] * (np.arange(n_frames) * dt)[:, None, None]
    plain = write_system(tmp_path, x, box, dt, masses=masses, stem="still")
    drifting = write_system(tmp_path, moved, box, dt, masses=masses, stem="moving")
    from trajml.io import open_source

    a = MSD("all", remove_drift=True).run(open_source(*plain))
    b = MSD("all", remove_drift=True).run(open_source(*drifting))
    c = MSD("all").run(open_source(*drifting))
    np.testing.assert_allclose(b.msd_A2, a.msd_A2, rtol=2e-4, atol=1e-5)
    assert c.msd_A2[-1] > 10 * b.msd_A2[-1]  # without removal the drift dominates
    assert b.drift_removed and not c.drift_removed


def test_step_and_frames(sample_source, einstein):
    full = MSD("name Li").run(sample_source)
    strided = MSD("name Li").run(sample_source, step=3)
    assert strided.n_frames == 100 and strided.dt_ps == pytest.approx(15.0)
    # a stride keeps the same displacements at lags that are multiples of 3 frames, with fewer origins
    np.testing.assert_allclose(strided.msd_A2[1:10], full.msd_A2[3:30:3], rtol=0.05)


def test_results_tables(sample_source):
    res = MSD("name Li", non_gaussian=True).run(sample_source, stop=50)
    df = res.to_pandas()
    assert list(df.columns) == ["lag_ps", "msd_A2", "msd4_A4", "alpha2"]
    assert df.attrs["units"]["msd_A2"] == "Å^2"
    ds = res.to_xarray()
    assert ds["msd_A2"].attrs["units"] == "Å^2" and ds["msd_per_particle_A2"].dims == ("particle", "lag_ps")


# -- bad input -----------------------------------------------------------------------------------
def test_no_box_names_file_and_frame(tmp_path):
    import MDAnalysis as mda

    from tests.transport.conftest import write_psf
    from trajml.io import open_source

    psf, xyz = str(tmp_path / "nobox.psf"), str(tmp_path / "nobox.xyz")
    write_psf(psf, np.full(5, "P"), np.arange(1, 6), np.ones(5))
    u = mda.Universe(psf)
    with mda.Writer(xyz, 5) as w:
        for t in range(4):
            u.load_new(np.full((1, 5, 3), float(t), np.float32))
            w.write(u.atoms)
    src = open_source(psf, xyz)
    with pytest.raises(MissingBoxError, match=r"nobox\.xyz.*frame 0.*unwrap=False"):
        MSD("all").run(src)
    assert MSD("all", unwrap=False).run(src).msd_A2[1] == pytest.approx(3.0)


def test_empty_selection(sample_source):
    with pytest.raises(EmptySelectionError, match="'name Zz' matched no atom"):
        MSD("name Zz").run(sample_source)


@pytest.mark.parametrize("bad", [0, -3])
def test_block_size_must_be_positive(bad):
    with pytest.raises(ValueError, match=rf"'block_size' parameter of MSD must be an int >= 1 or None\. Got {bad}"):
        MSD("all", block_size=bad)


def test_too_few_frames(sample_source):
    with pytest.raises(ValueError, match="at least 2 frames.*give 1"):
        MSD("name Li").run(sample_source, start=10, stop=11)


# -- command line --------------------------------------------------------------------------------
def test_cli_writes_csv_and_prints_d(tmp_path, capsys):
    import trajml.cli.msd as cli_msd

    parser = argparse.ArgumentParser(prog="trajml")
    cli_msd.register(parser.add_subparsers(dest="command"))
    out, png = tmp_path / "msd.csv", tmp_path / "msd.png"
    args = parser.parse_args(["msd", "--select", "name Li", "--no-progress", "--block-size", "16",
                              "--fit-start", "50", "--fit-stop", "500", "-o", str(out), "--plot", str(png)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "D = " in text and "cm²/s" in text and "fit window (given): 50-500 ps" in text
    comment, header = out.read_text().splitlines()[:2]
    assert comment.startswith("# trajml ") and "command: trajml msd" in comment
    assert header == "lag_ps,msd_A2"
    data = np.loadtxt(out, delimiter=",", skiprows=2)
    assert data.shape == (300, 2) and png.stat().st_size > 0


def test_cli_via_main(tmp_path, capsys):
    import trajml.cli as cli

    assert "msd" in cli.COMMANDS
    code = cli.main(["msd", "--select", "name Li", "--no-progress", "--fit-start", "0", "--fit-stop", "5000",
                     "-o", str(tmp_path / "m.csv")])
    assert code == 1
    assert "'fit_stop' parameter of Diffusion" in capsys.readouterr().err


# -- series stores and unwrapping paths -----------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"per_molecule": True}, {"remove_drift": True}])
def test_memory_and_file_stores_agree(sample_source, kwargs):
    sel = "resname PEO" if kwargs.get("per_molecule") else "name Li or name TFSI"
    msd = MSD(sel, non_gaussian=True, per_particle=True, **kwargs)
    in_memory = msd.run(sample_source)
    on_disk = MSD(sel, non_gaussian=True, per_particle=True, memory_budget=0, **kwargs).run(sample_source)
    assert in_memory.provenance["series_store"] == "memory" and on_disk.provenance["series_store"] == "file"
    np.testing.assert_array_equal(in_memory.msd_A2, on_disk.msd_A2)
    np.testing.assert_array_equal(in_memory.msd4_A4, on_disk.msd4_A4)
    np.testing.assert_array_equal(in_memory.msd_per_particle_A2, on_disk.msd_per_particle_A2)
    np.testing.assert_array_equal(in_memory.time_block_msd_A2, on_disk.time_block_msd_A2)


def test_numbers_do_not_depend_on_the_block_size_or_scheduler(sample_source):
    """Every block size and scheduler folds the same groups of particles in the same order: bitwise equal."""
    kw = dict(select="name Li or name TFSI", non_gaussian=True, per_particle=True)
    ref = MSD(**kw, block_size=16).run(sample_source)
    runs = [MSD(**kw, block_size=b).run(sample_source) for b in (1, 40, 120, None)]
    runs.append(MSD(**kw, block_size=33).run(sample_source, scheduler="processes", n_workers=2))
    runs.append(MSD(**kw).run(sample_source, scheduler="threads", n_workers=2))
    assert [r.provenance["block_size"] for r in runs[:4]] == [16, 48, 120, 120]  # whole groups of 16
    for res in runs:
        for name in ("msd_A2", "msd4_A4", "time_block_msd_A2", "msd_per_particle_A2"):
            np.testing.assert_array_equal(getattr(res, name), getattr(ref, name), err_msg=name)


def test_long_series_keep_tasks_within_the_budget(sample_source):
    """Groups of 16 particles would need 16 x the budget at a million frames: the group shrinks, down to one."""
    from trajml.transport.msd import _BYTES_PER_VALUE, _TASK_BYTES, _Streamed, _sum_block, _TaskOptions

    assert _sum_block(400) == 16 and _sum_block(1_000_000) == 1
    assert _sum_block(40_000) == _TASK_BYTES // (_BYTES_PER_VALUE * 40_000) == 8
    bound = MSD("name Li").bind(sample_source)
    for n_frames, largest in ((400, 60), (40_000, 8), (1_000_000, 1)):  # 60 Li: one block at 400 frames
        opts = _TaskOptions("fft", False, False, 5, 1, 1, _sum_block(n_frames))
        streamed = _Streamed(None, None, np.zeros(n_frames), 1.0, n_frames, np.zeros(60, np.int64), opts, True, 0,
                             (), _TASK_BYTES, 1)
        blocks = bound.blocks(streamed, "serial", None)
        assert max(hi - lo for lo, hi in blocks) == largest and blocks[-1][1] == 60


def test_processes_use_the_file_store(sample_source):
    res = MSD("name Li", block_size=16).run(sample_source, scheduler="processes", n_workers=2)
    assert res.provenance["series_store"] == "file"
    np.testing.assert_allclose(res.msd_A2, MSD("name Li").run(sample_source).msd_A2, rtol=1e-12)


def test_memory_budget_must_be_non_negative():
    with pytest.raises(ValueError, match=r"'memory_budget' parameter of MSD must be an int >= 0\. Got -1"):
        MSD("all", memory_budget=-1)


@pytest.mark.parametrize("triclinic", [False, True])
def test_numpy_nojump_is_bit_identical_to_unwrapper(triclinic):
    from trajml.chunk import Chunk
    from trajml.transport.store import NumpyNoJump
    from trajml.unwrap import Unwrapper

    rng = np.random.default_rng(5)
    n_frames, n_atoms = 60, 37
    box = np.array([[20.0, 0, 0], [3.0, 18.0, 0], [-2.0, 4.0, 22.0]]) if triclinic else np.diag([20.0, 18.0, 22.0])
    boxes = np.repeat(box[None], n_frames, axis=0) * rng.uniform(0.98, 1.02, size=(n_frames, 1, 1))  # NPT-like
    frac = np.cumsum(rng.normal(scale=0.15, size=(n_frames, n_atoms, 3)), axis=0)
    wrapped = np.einsum("fnj,fjk->fnk", frac - np.floor(frac), boxes).astype(np.float32)
    boxes = boxes.astype(np.float32)
    ref, ours = Unwrapper(), NumpyNoJump(block=8)
    for lo in range(0, n_frames, 25):
        hi = min(n_frames, lo + 25)
        chunk = Chunk(wrapped[lo:hi], boxes[lo:hi], np.arange(lo, hi, dtype=np.float64), np.arange(lo, hi))
        np.testing.assert_array_equal(ours(wrapped[lo:hi], boxes[lo:hi]), ref(chunk).positions)


def test_small_selection_loads_no_unwrap_kernel_nor_heavy_modules(sample_source):
    import subprocess
    import sys

    from trajml.data import sample_topology, sample_trajectory

    code = ("import sys\nfrom trajml.io import open_source\nfrom trajml.transport import MSD\n"
            f"src = open_source({sample_topology()!r}, {sample_trajectory()!r})\n"
            "MSD('name Li', time_blocks=0).run(src)\n"
            "print(sorted(m for m in ('trajml.kernels.unwrap', 'pandas', 'matplotlib', 'distributed') "
            " if m in sys.modules))")
    # numba itself is loaded by the XTC reader (its bounds-checked decoder); the unwrap kernels are not
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
