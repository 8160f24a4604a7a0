"""The reader options on the command line, fixes written as flags, and warnings in trajml's words.

The oracle is MDAnalysis: positions it reads, with the time step the run really used, give a
brute-force MSD that ``trajml msd`` must reproduce once told ``--dt`` or ``--lammps-units``.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    from MDAnalysis.coordinates.LAMMPS import DCDWriter
    from MDAnalysis.coordinates.memory import MemoryReader

from trajml.cli import main, reported_warnings, warning_line


@pytest.fixture(scope="module")
def lammps_run(tmp_path_factory):
    """A 20-atom random walk, 12 frames, as LAMMPS writes it with units real: 2 fs × 250 steps (0.5 ps)."""
    d = tmp_path_factory.mktemp("lammps")
    rng = np.random.default_rng(1)
    u = mda.Universe.empty(20, trajectory=True)
    u.add_TopologyAttr("names", ["Li"] * 10 + ["O"] * 10)
    u.add_TopologyAttr("types", ["Li"] * 10 + ["O"] * 10)
    positions = (np.cumsum(rng.normal(size=(12, 20, 3)), axis=0) + 15.0).astype(np.float32)
    u.load_new(positions, format=MemoryReader, dimensions=[30, 30, 30, 90, 90, 90], dt=0.5)
    top, dcd = str(d / "run.pdb"), str(d / "run.dcd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(top)
        with DCDWriter(dcd, n_atoms=20, dt=0.5, nsavc=250, remarks="Written by LAMMPS") as w:
            for _ in u.trajectory:
                w.write(u.atoms)
        plain = mda.Universe(top, dcd)  # MDAnalysis' own reading: AKMA, 48.9 times too long
        assert plain.trajectory.dt == pytest.approx(24.444, rel=1e-3)
        ref = mda.Universe(top, dcd, format="LAMMPS", timeunit="fs")
        x = np.array([ref.select_atoms("name Li").positions.copy() for _ in ref.trajectory], dtype=np.float64)
        dt = float(ref.trajectory.dt)
    msd = np.array([np.mean(np.sum((x[k:] - x[:len(x) - k]) ** 2, axis=-1)) for k in range(len(x))])
    return {"top": top, "dcd": dcd, "dt": dt, "msd": msd, "dir": d}


def _csv(path):
    data = np.loadtxt(path, delimiter=",", skiprows=2)  # the provenance line, the column names
    return data[:, 0], data[:, 1]


@pytest.mark.parametrize("flags", [["--dt", "0.5"], ["--lammps-units", "real"], ["--time-unit", "fs"]])
def test_msd_of_a_lammps_dcd_from_the_cli_matches_mdanalysis(lammps_run, flags, tmp_path, capsys):
    out = str(tmp_path / "msd.csv")
    assert main(["msd", lammps_run["top"], lammps_run["dcd"], "--select", "name Li", "--no-unwrap", "--no-progress",
                 "-o", out, *flags]) == 0
    lag, msd = _csv(out)
    assert lammps_run["dt"] == pytest.approx(0.5)
    assert np.allclose(lag, 0.5 * np.arange(12))
    assert np.allclose(msd, lammps_run["msd"], rtol=1e-5)
    assert "warning" not in capsys.readouterr().err


def test_a_lammps_dcd_without_units_gives_one_warning_in_flags(lammps_run, tmp_path, capsys):
    out = str(tmp_path / "msd.csv")
    assert main(["msd", lammps_run["top"], lammps_run["dcd"], "--select", "name Li", "--no-progress", "-o", out]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("trajml msd: warning:")]
    assert len(lines) == 1, err
    assert "'run.dcd' (a LAMMPS DCD, read as units real: fs): dt = 0.5 ps" in lines[0]
    assert "--lammps-units metal" in lines[0] and "--dt <DT>" in lines[0] and "lammps_units=" not in err


def test_reader_fixes_are_written_as_flags(lammps_run, tmp_path, capsys):
    odd = tmp_path / "run.trajectory"
    shutil.copy(lammps_run["dcd"], odd)
    assert main(["info", lammps_run["top"], str(odd)]) == 1
    err = capsys.readouterr().err
    assert "--format XTC" in err and "format=" not in err
    cut = tmp_path / "cut.dcd"
    cut.write_bytes(open(lammps_run["dcd"], "rb").read()[:-100])
    assert main(["info", lammps_run["top"], str(cut), "--dt", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "--on-damage truncate" in err and "on_damage=" not in err
    with pytest.raises(OSError, match="on_damage='truncate'"):  # and the keyword in Python
        from trajml.io import open_source

        open_source(lammps_run["top"], str(cut), dt=0.5)


def test_library_warnings_are_one_line_each_in_trajml_words():
    import io as _io

    stream = _io.StringIO()
    with reported_warnings("trajml x", stream):
        for _ in range(3):
            warnings.warn_explicit("DCDReader currently makes independent timesteps\nby copying", DeprecationWarning,
                                   "/site-packages/MDAnalysis/coordinates/DCD.py", 177)
        np.float64(0.0) / np.float64(0.0)
        np.float64(0.0) / np.float64(0.0)
        warnings.warn_explicit("Reader has no dt information, set to 1.0 ps", UserWarning,
                               "/site-packages/MDAnalysis/coordinates/base.py", 730)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert lines[0] == ("trajml x: note: MDAnalysis announces a change of its own interface (nothing to fix in "
                        "your input): DCDReader currently makes independent timesteps")
    assert lines[1].startswith("trajml x: warning: a numerical step in ") and "invalid value" in lines[1]
    assert lines[2] == "trajml x: note: MDAnalysis says: Reader has no dt information, set to 1.0 ps"
    assert warning_line("plain", UserWarning, __file__).startswith("warning: plain") or \
        warning_line("plain", UserWarning, __file__) == "warning: plain"
