"""Reader options (trajml.io.reader_options): declared once, checked the same way, applied to every frame.

The oracles are MDAnalysis itself: its LAMMPS DCD reader with the run's time unit, and positions
read by a plain MDAnalysis Universe for a brute-force MSD.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda
    import MDAnalysisTests.datafiles as D

from trajml.errors import InvalidParameterError, MissingBoxError
from trajml.io import open_source
from trajml.io.reader_options import READER_OPTIONS, ReaderWarning, box_dimensions, check_reader_options

SELECT = "index 0:99"


def _reader_warnings(record):
    return [w for w in record if issubclass(w.category, ReaderWarning)]


# -- the declaration: every bad value with its message ------------------------------------------------
@pytest.mark.parametrize("name, value, problem", [
    ("dt", 0, "must be a float in (0, inf) ps or None. Got 0 instead."),
    ("dt", -0.5, "must be a float in (0, inf) ps or None. Got -0.5 instead."),
    ("time_unit", "nm", "must be a unit of time (fs, ps, ns, us, ms, s, AKMA); 'nm' is a unit of length. "
                        "Got 'nm' instead."),
    ("time_unit", "kcal/mol", "'kcal/mol' is a unit of energy. Got 'kcal/mol' instead."),
    ("time_unit", "fortnight", "must be a unit of time (fs, ps, ns, us, ms, s, AKMA). Got 'fortnight' instead."),
    ("box", [10, 10, 10], "must be 6 numbers a b c alpha beta gamma (Å, degrees) or 9 numbers of a 3x3 box "
                          "matrix (Å). Got [10, 10, 10] instead."),
    ("box", [10, 10, 0, 90, 90, 90], "with a positive volume"),
    ("box", [10, 10, 10, 90, 90, 190], "with a positive volume"),
    ("box", [10, 10, 10, 120, 120, 120], "with a positive volume"),  # angles that close no cell
    ("box", np.diag([10.0, 10.0, 0.0]), "this matrix's determinant is 0"),
    ("box", [[10, 0, 0], [0, 10, 0], [0, 0, -10]], "this matrix's determinant is -1000"),
    ("lammps_units", "reel", "must be one of ('real', 'metal', 'si', 'cgs', 'electron', 'micro', 'nano', 'lj', "
                             "None). Got 'reel' instead. Did you mean 'real'?"),
    ("atom_style", "id x y z", "with id, type, x, y and z among them"),
    ("on_damage", "skip", "must be one of ('raise', 'truncate'). Got 'skip' instead."),
    ("backend", "mda", "must be one of"),
])
def test_a_bad_reader_option_names_the_constraint(name, value, problem):
    with pytest.raises(InvalidParameterError) as exc:
        check_reader_options(**{name: value})
    assert str(exc.value).startswith(f"The '{name}' parameter of open_source must be ")
    assert problem in str(exc.value)
    assert isinstance(exc.value, ValueError) and exc.value.parameter == name


def test_open_source_validates_through_the_declaration():
    with pytest.raises(InvalidParameterError, match=r"The 'dt' parameter of open_source must be a float in "
                                                    r"\(0, inf\) ps or None\. Got -1 instead\."):
        open_source(D.LAMMPSdata2, D.LAMMPSdcd2, dt=-1)
    with pytest.raises(ValueError, match="time_unit.*lammps_units='real'"):
        check_reader_options(time_unit="ns", lammps_units="real")
    with pytest.raises(ValueError, match="lj times are in τ"):
        check_reader_options(lammps_units="lj")
    assert check_reader_options(lammps_units="lj", dt=0.01)["lammps_units"] == "lj"
    assert check_reader_options(time_unit="akma")["time_unit"] == "AKMA"


def test_box_forms_agree():
    six = box_dimensions([20, 21, 22, 80, 85, 95])
    vectors = mda.lib.mdamath.triclinic_vectors(np.array(six, dtype=np.float64))
    assert np.allclose(box_dimensions(vectors), six, atol=1e-6)
    assert np.allclose(box_dimensions(vectors.ravel()), six, atol=1e-6)
    assert READER_OPTIONS["box"].validate((30, 30, 30, 90, 90, 90), "open_source") == (30, 30, 30, 90, 90, 90)


# -- LAMMPS time --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lammps_reference():
    """Positions of SELECT and the time step read by MDAnalysis' LAMMPS DCD reader (units real: fs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(D.LAMMPSdata2, D.LAMMPSdcd2, format="LAMMPS", timeunit="fs")
        atoms = u.select_atoms(SELECT)
        x = np.array([atoms.positions.copy() for _ in u.trajectory], dtype=np.float64)
        return x, float(u.trajectory.dt)


def _brute_msd(x: np.ndarray) -> np.ndarray:
    return np.array([np.mean(np.sum((x[k:] - x[:len(x) - k]) ** 2, axis=-1)) for k in range(len(x))])


def test_the_lammps_dcd_reads_48_times_too_slow_in_plain_mdanalysis():
    # The problem users met: MDAnalysis' DCD reader takes the LAMMPS timestep (2 fs) as AKMA.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = mda.Universe(D.LAMMPSdata2, D.LAMMPSdcd2).trajectory.dt
    assert plain == pytest.approx(24.444, rel=1e-3)


def test_a_lammps_dcd_without_units_warns_once_with_the_assumed_dt():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        src = open_source(D.LAMMPSdata2, D.LAMMPSdcd2)
    found = _reader_warnings(record)
    assert len(found) == 1
    text = str(found[0].message)
    assert "'ifabp_apo_100mM.dcd' (a LAMMPS DCD, read as units real: fs): dt = 0.5 ps" in text
    assert "lammps_units='metal'" in text and "dt=<DT>" in text
    assert "--lammps-units metal" in found[0].message.cli_message
    assert src.dt == pytest.approx(0.5)


@pytest.mark.parametrize("options, dt", [({"lammps_units": "real"}, 0.5), ({"dt": 0.5}, 0.5),
                                         ({"time_unit": "fs"}, 0.5), ({"lammps_units": "metal"}, 500.0)])
def test_lammps_dcd_times_follow_the_given_units(options, dt):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        src = open_source(D.LAMMPSdata2, D.LAMMPSdcd2, **options)
    assert not _reader_warnings(record)
    assert src.dt == pytest.approx(dt)
    chunk = next(src.iter_chunks(chunk_size=10, atoms=np.arange(3)))
    assert np.allclose(chunk.times, dt * np.arange(5))


def test_msd_of_a_lammps_dcd_matches_a_brute_force_mdanalysis_msd(lammps_reference):
    from trajml.transport import MSD

    x, dt = lammps_reference
    assert dt == pytest.approx(0.5)
    res = MSD(SELECT, unwrap=False).run(open_source(D.LAMMPSdata2, D.LAMMPSdcd2, lammps_units="real"), progress=False)
    assert np.allclose(res.lag_ps, dt * np.arange(len(x)))
    assert np.allclose(res.msd_A2, _brute_msd(x), rtol=1e-5, atol=1e-6)


# -- formats -------------------------------------------------------------------------------------------
def test_dump_extension_is_a_lammps_dump_and_dt_sets_its_times(tmp_path):
    dump = tmp_path / "chain.dump"
    shutil.copy(D.LAMMPSDUMP_chain1, dump)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        src = open_source(D.LAMMPS_chain, str(dump))
    assert len(_reader_warnings(record)) == 1 and "a LAMMPS dump" in str(_reader_warnings(record)[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = mda.Universe(D.LAMMPS_chain, D.LAMMPSDUMP_chain1, format="LAMMPSDUMP")
        ref_x = np.array([ts.positions.copy() for ts in ref.trajectory])
    src = open_source(D.LAMMPS_chain, str(dump), dt=2.5)
    chunk = next(src.iter_chunks(chunk_size=100))
    assert np.allclose(chunk.positions, ref_x)
    assert np.allclose(np.diff(chunk.times), 2.5) and src.n_frames == len(ref_x)


ATOMIC_DATA = """LAMMPS data file, atom_style atomic

3 atoms
2 atom types

0.0 20.0 xlo xhi
0.0 20.0 ylo yhi
0.0 20.0 zlo zhi

Masses

1 6.94
2 15.999

Atoms # atomic

1 1 1.0 2.0 3.0
2 2 4.0 5.0 6.0
3 2 7.0 8.0 9.0
"""


def test_atom_style_reads_an_atomic_data_file(tmp_path):
    data = tmp_path / "atomic.data"
    data.write_text(ATOMIC_DATA)
    src = open_source(str(data), atom_style="id type x y z")
    chunk = next(src.iter_chunks())
    assert np.allclose(chunk.positions[0], [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert list(src.atoms.types) == ["1", "2", "2"]
    with pytest.raises(Exception):  # MDAnalysis' default (full) columns do not fit
        open_source(str(data))
    # ... and from the command line
    from trajml.cli import build_parser
    from trajml.cli._common import open_from_args

    args = build_parser().parse_args(["info", str(data), "--atom-style", "id type x y z", "--type-map", "1=Li",
                                      "2=O"])
    assert list(open_from_args(args).atoms.names) == ["Li", "O", "O"]


# -- box -----------------------------------------------------------------------------------------------
@pytest.fixture
def no_box_files(tmp_path, io):
    u = io.make_universe(n_frames=6, box=False)
    top = str(tmp_path / "nobox.pdb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(top)
    return top, io.write_trajectory(u, tmp_path / "nobox.xyz"), u


def test_a_file_without_box_gets_the_given_box_on_every_frame(no_box_files):
    top, xyz, u = no_box_files
    assert not open_source(top, xyz).has_box
    src = open_source(top, xyz, box=[25, 26, 27, 90, 90, 90], dt=2.0)
    assert src.has_box and src.dt == 2.0
    chunk = next(src.iter_chunks(chunk_size=100))
    assert chunk.boxes.shape == (6, 3, 3)
    assert np.allclose(chunk.boxes, np.diag([25.0, 26.0, 27.0]))
    assert np.allclose(chunk.times, 2.0 * np.arange(6))
    tri = mda.lib.mdamath.triclinic_vectors(np.array([25, 26, 27, 80, 85, 95], dtype=np.float32))
    chunk = next(open_source(top, xyz, box=tri).iter_chunks(chunk_size=100))
    assert np.allclose(chunk.boxes[-1], tri, atol=1e-4)


def test_a_box_given_for_a_file_with_its_own_replaces_it_with_a_warning(tmp_path, io):
    u = io.make_universe(n_frames=4)
    top = str(tmp_path / "own.pdb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(top)
    dcd = io.write_trajectory(u, tmp_path / "own.dcd")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        src = open_source(top, dcd, box=[40, 40, 40, 90, 90, 90])
        chunk = next(src.iter_chunks(chunk_size=100))
    found = _reader_warnings(record)
    assert len(found) == 1 and "own.dcd' has its own box" in str(found[0].message)
    assert "replaces it on every frame" in str(found[0].message)
    assert np.allclose(chunk.boxes, np.diag([40.0, 40.0, 40.0]))


def test_an_analysis_that_needs_a_box_says_how_to_give_one(no_box_files, capsys):
    from trajml.cli import main
    from trajml.features import RDF

    top, xyz, _ = no_box_files
    with pytest.raises(MissingBoxError) as exc:
        RDF("name C", "name O", r_max=5.0).run(open_source(top, xyz), progress=False)
    text = str(exc.value)
    assert "nobox.xyz" in text and "open_source(..., box=[a, b, c, alpha, beta, gamma])" in text
    assert "reader: {box: [a, b, c, alpha, beta, gamma]}" in text
    assert main(["rdf", top, xyz, "--select-a", "name C", "--select-b", "name O", "--r-max", "5",
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "nobox.xyz" in err and "--box A B C ALPHA BETA GAMMA" in err and "box=" not in err
    assert main(["rdf", top, xyz, "--select-a", "name C", "--select-b", "name O", "--r-max", "5", "--no-progress",
                 "--box", "30", "30", "30", "90", "90", "90", "-o", str(top) + ".csv"]) == 0


def test_r_max_is_checked_over_all_frames_once(tmp_path, io):
    from MDAnalysis.coordinates.memory import MemoryReader

    from trajml.features import RDF

    u = io.make_universe(n_frames=10)
    # a box that shrinks frame after frame: the last frame sets the limit
    positions = np.array([ts.positions.copy() for ts in u.trajectory]) * 0.3
    dims = np.array([[30.0 - 2.0 * i, 30.0, 30.0, 90.0, 90.0, 90.0] for i in range(10)], dtype=np.float32)
    u.load_new(positions, format=MemoryReader, dimensions=dims, dt=1.0)
    top = str(tmp_path / "shrink.pdb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(top)
    dcd = io.write_trajectory(u, tmp_path / "shrink.dcd")
    with pytest.raises(InvalidParameterError) as exc:
        RDF("name C", "name O", r_max=8.0).run(open_source(top, dcd), progress=False)
    assert "at most half the smallest perpendicular box width, 6 Å in trajectory 0 frame 9 (the smallest over " \
           "all 10 frames" in str(exc.value)
    assert RDF("name C", "name O", r_max=6.0).run(open_source(top, dcd), progress=False).r.size


def test_the_mdtraj_backend_follows_the_reader_options(no_box_files, tmp_path, io):
    pytest.importorskip("mdtraj")
    u = io.make_universe(n_frames=5)
    top = io.write_topology(u, tmp_path / "t.pdb")
    xtc = io.write_trajectory(u, tmp_path / "t.xtc")
    for backend in ("mdanalysis", "mdtraj"):
        src = open_source(top, xtc, backend=backend, time_unit="ns", box=[20, 20, 20, 90, 90, 90])
        chunk = next(src.iter_chunks(chunk_size=10))
        assert np.allclose(chunk.times, 2000.0 * np.arange(5)), backend  # stamps 2 apart, read as ns
        assert np.allclose(chunk.boxes, np.diag([20.0, 20.0, 20.0]), atol=1e-4), backend


def test_a_file_without_times_warns_once_and_dt_sets_them(no_box_files):
    top, xyz, _ = no_box_files
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        src = open_source(top, xyz)
    found = _reader_warnings(record)
    assert len(found) == 1 and "'nobox.xyz' (stores no times): dt = 1 ps" in str(found[0].message)
    assert "dt=<DT>" in str(found[0].message) and "lammps_units" not in str(found[0].message)
    assert src.dt == 1.0
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert open_source(top, xyz, dt=4.0).dt == 4.0
    assert not _reader_warnings(record)
