"""The ase backend (XDATCAR, extended XYZ, ASE .traj) against ASE itself and generated truths.

Oracles: ``ase.io.read`` for positions, cells and symbols; for unwrapping, the unwrapped
trajectories the files are generated from (a random walk, wrapped into the cell on writing).
"""

from __future__ import annotations

import gzip
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("ase")
import ase  # noqa: E402
import ase.io  # noqa: E402
from ase import Atoms  # noqa: E402

from trajml.errors import EmptySelectionError, UnknownFormatError  # noqa: E402
from trajml.io import open_source  # noqa: E402
from trajml.io.ase_reader import clear_ase_cache, is_ase_file  # noqa: E402

SYMBOLS = ["Li"] * 6 + ["P"] * 2 + ["S"] * 4
N_FRAMES = 40
CUBIC = np.diag([9.0, 9.0, 9.0])
# ASE's own orientation: not lower-triangular, so trajml rotates it into its box form.
TRICLINIC = np.array([[9.0, 0.4, 0.3], [0.5, 9.5, -0.2], [0.1, 0.6, 10.0]])


def _walk(seed: int = 0, n_frames: int = N_FRAMES) -> np.ndarray:
    """Unwrapped fractional coordinates (F, N, 3) of a random walk crossing the cell several times."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(scale=0.12, size=(n_frames, len(SYMBOLS), 3))
    steps[0] = rng.random((len(SYMBOLS), 3))
    return np.cumsum(steps, axis=0)


def _images(frac: np.ndarray, cells: np.ndarray, **info) -> list[Atoms]:
    """ASE frames with fractional coordinates wrapped into [0, 1), one cell per frame."""
    out = []
    for k, (f, cell) in enumerate(zip(frac, cells)):
        atoms = Atoms(SYMBOLS, scaled_positions=f % 1.0, cell=cell, pbc=True)
        for key, values in info.items():
            atoms.info[key] = float(values[k])
        out.append(atoms)
    return out


def _write_xdatcar(path, frac: np.ndarray, cells: np.ndarray) -> None:
    """A VASP 5 XDATCAR; a changing cell repeats the header before every frame (as VASP does in NPT)."""
    variable = not np.allclose(cells, cells[0])
    names, counts = ["Li", "P", "S"], [6, 2, 4]

    def header() -> str:
        return "".join(["test system\n", "1.0\n"]) + "".join(
            " {:.8f} {:.8f} {:.8f}\n".format(*v) for v in cell) + " ".join(names) + "\n" + " ".join(
            map(str, counts)) + "\n"

    lines = []
    for k, (f, cell) in enumerate(zip(frac % 1.0, cells)):
        if k == 0 or variable:
            lines.append(header())
        lines.append(f"Direct configuration= {k + 1:5d}\n")
        lines.extend(" {:.8f} {:.8f} {:.8f}\n".format(*x) for x in f)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt") as fh:
        fh.write("".join(lines))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ase")
    frac = _walk()
    cubic = np.repeat(CUBIC[None], N_FRAMES, axis=0)
    tric = np.repeat(TRICLINIC[None], N_FRAMES, axis=0)
    npt = cubic * (1.0 + 0.03 * np.sin(np.arange(N_FRAMES) / 3.0))[:, None, None]
    paths = {"frac": frac, "cubic": cubic, "npt": npt, "tric": tric}
    paths["xdatcar"] = folder / "XDATCAR"
    _write_xdatcar(paths["xdatcar"], frac, cubic)
    paths["xdatcar_gz"] = folder / "run_XDATCAR.gz"
    _write_xdatcar(paths["xdatcar_gz"], frac, cubic)
    paths["npt"] = folder / "npt.XDATCAR"
    _write_xdatcar(paths["npt"], frac, npt)
    paths["npt_cells"] = npt
    paths["extxyz"] = folder / "md.extxyz"
    ase.io.write(paths["extxyz"], _images(frac, tric, time=np.arange(N_FRAMES) * 5.0), format="extxyz")
    paths["traj"] = folder / "md.traj"
    with ase.io.Trajectory(paths["traj"], "w") as traj:
        for atoms in _images(frac, tric):
            traj.write(atoms)
    return paths


def _quiet_open(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return open_source(path, **kwargs)


def _read_all(src, atoms=None):
    return src.read(src.partition(10**6)[0], atoms)


def _fractional(positions: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    return np.einsum("fnj,fjk->fnk", positions.astype(np.float64), np.linalg.inv(boxes.astype(np.float64)))


# -- positions, boxes and atoms against ASE ---------------------------------------------------------
@pytest.mark.parametrize("key", ["xdatcar", "xdatcar_gz", "npt"])
def test_xdatcar_equals_ase(files, key):
    """Lower-triangular cells: positions and boxes are ASE's, bit for bit in float32."""
    path = files[key]
    ref = ase.io.read(path, index=":")
    src = open_source(path, backend="ase", dt=0.1)
    chunk = _read_all(src)
    np.testing.assert_array_equal(chunk.positions, np.array([a.positions for a in ref], dtype=np.float32))
    np.testing.assert_array_equal(chunk.boxes, np.array([a.cell.array for a in ref], dtype=np.float32))
    assert src.n_frames == len(ref) == N_FRAMES and src.n_atoms == len(SYMBOLS)
    np.testing.assert_allclose(chunk.times, np.arange(N_FRAMES) * 0.1, rtol=1e-12)


@pytest.mark.parametrize("key", ["extxyz", "traj"])
def test_rotated_cells_keep_ase_geometry(files, key):
    """Cells in ASE's general orientation are rotated into trajml's lower-triangular form, positions with them."""
    from trajml.box import dimensions_from_matrices

    path = files[key]
    ref = ase.io.read(path, index=":")
    chunk = _read_all(_quiet_open(path, backend="ase", dt=0.1))
    assert np.all(chunk.boxes[:, 0, 1:] == 0) and chunk.boxes[0, 1, 2] == 0  # lower-triangular
    np.testing.assert_allclose(dimensions_from_matrices(chunk.boxes),
                               np.array([a.cell.cellpar() for a in ref]), rtol=1e-6)
    np.testing.assert_allclose(_fractional(chunk.positions, chunk.boxes),
                               np.array([a.get_scaled_positions(wrap=False) for a in ref]), atol=2e-6)
    # Interatomic distances (rotation invariants) are ASE's.
    d_ours = np.linalg.norm(chunk.positions[5, :, None] - chunk.positions[5, None], axis=-1)
    np.testing.assert_allclose(d_ours, ref[5].get_all_distances(), atol=1e-4)


def test_chunk_contract_subsets_and_strides(files):
    src = open_source(files["traj"], backend="ase", dt=0.5)
    full = _read_all(src)
    atoms = np.array([7, 0, 3])
    specs = src.partition(chunk_size=4, start=2, stop=31, step=3)
    for spec in specs:
        chunk = src.read(spec, atoms)
        frames = np.arange(spec.start, spec.stop, spec.step)
        assert chunk.positions.dtype == np.float32 and chunk.positions.shape == (frames.size, 3, 3)
        assert chunk.boxes.dtype == np.float32 and chunk.boxes.shape == (frames.size, 3, 3)
        assert chunk.times.dtype == np.float64 and chunk.times.shape == (frames.size,)
        np.testing.assert_array_equal(chunk.positions, full.positions[frames][:, atoms])
        np.testing.assert_allclose(chunk.times, frames * 0.5, rtol=1e-12)
        assert chunk.positions.flags.c_contiguous


def test_selections_and_atom_table(files):
    src = open_source(files["xdatcar"], backend="ase", dt=0.1)
    np.testing.assert_array_equal(src.select("name Li"), np.arange(6))
    np.testing.assert_array_equal(src.select("type S"), np.arange(8, 12))
    np.testing.assert_array_equal(src.select("element P"), [6, 7])
    assert src.atoms.species_counts() == {"Li": 6, "P": 2, "S": 4}
    np.testing.assert_allclose(src.atoms.masses, ase.io.read(files["xdatcar"]).get_masses())
    assert src.atoms.molecules.tolist() == list(range(len(SYMBOLS)))  # one residue per atom
    with pytest.raises(EmptySelectionError, match="name Na"):
        src.select("name Na")


# -- choosing the backend ---------------------------------------------------------------------------
def test_backend_chosen_automatically(files, tmp_path):
    for key in ("xdatcar", "xdatcar_gz", "npt", "extxyz", "traj"):
        assert is_ase_file(str(files[key])), key
        assert _quiet_open(files[key]).backend == "ase"
    # A .traj that is not ASE's (AMBER uses the extension too) is left to MDAnalysis, whose error names the ase backend.
    other = tmp_path / "amber.traj"
    other.write_text("not an ASE trajectory\n")
    assert not is_ase_file(str(other))
    with pytest.raises(UnknownFormatError, match="backend='ase'"):
        open_source(other)


def test_unreadable_file_names_the_format_option(tmp_path):
    bad = tmp_path / "broken.extxyz"
    bad.write_text("this is not extended XYZ\n")
    with pytest.raises(UnknownFormatError, match=r"broken\.extxyz.*format="):
        open_source(bad)


# -- times --------------------------------------------------------------------------------------
def test_times_from_the_file(files, tmp_path):
    with pytest.warns(UserWarning, match=r"atoms.info\['time'\] as fs \(0.005 ps between frames\)"):
        src = open_source(files["extxyz"], backend="ase")  # info['time'] in fs: 5 fs apart
    assert src.dt == pytest.approx(0.005)
    np.testing.assert_allclose(_read_all(src).times, np.arange(N_FRAMES) * 0.005, rtol=1e-12)
    with pytest.warns(UserWarning, match=r"stores frame times 0.005 ps apart; they are used and dt=0.1 ps is ignored"):
        open_source(files["extxyz"], dt=0.1)
    path = tmp_path / "timed.extxyz"  # a time whose key states its unit: no warning
    ase.io.write(path, _images(_walk(n_frames=4), np.repeat(CUBIC[None], 4, axis=0), time_ps=2.0 + np.arange(4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        src = open_source(path)
    np.testing.assert_allclose(_read_all(src).times, 2.0 + np.arange(4))


def test_missing_dt_warns_with_the_assumed_spacing(files):
    with pytest.warns(UserWarning, match=r"stores no frame times.*assuming 1 ps between frames.*dt=") as rec:
        src = open_source(files["xdatcar"])
    assert "XDATCAR" in str(rec[0].message)
    assert src.dt == 1.0
    np.testing.assert_allclose(_read_all(src).times, np.arange(N_FRAMES, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert open_source(files["xdatcar"], dt=0.1).dt == pytest.approx(0.1)


@pytest.mark.parametrize("option", [{"atom_style": "id type x y z"}, {"lammps_units": "real"},
                                    {"topology_format": "PSF"}])
def test_bad_reader_options(files, option):
    (name,) = option
    with pytest.raises(TypeError, match=rf"backend='ase' takes the reader option\(s\) \['dt', 'time_unit', 'box'\]; "
                                        rf"got \['{name}'\] for '.*XDATCAR' \(MDAnalysis options do not apply"):
        open_source(files["xdatcar"], dt=0.1, **option)
    with pytest.raises(ValueError, match=r"'dt' parameter of open_source must be a float in \(0, inf\) ps"):
        open_source(files["xdatcar"], dt=-1.0)


def test_mdanalysis_options_are_refused_on_the_command_line_in_flags(files, capsys):
    from trajml.cli import main

    assert main(["info", str(files["xdatcar"]), "--dt", "0.1", "--atom-style", "id type x y z"]) == 1
    err = capsys.readouterr().err
    assert "--backend ase takes the reader option(s) --dt, --time-unit, --box; got --atom-style for " in err


@pytest.mark.parametrize("box", [[8.0, 8.5, 9.0, 90.0, 90.0, 90.0], [8.0, 8.5, 9.0, 80.0, 95.0, 100.0]])
def test_a_given_box_goes_on_every_frame(files, tmp_path, box):
    from ase.geometry import cellpar_to_cell

    from trajml.io.reader_options import ReaderWarning

    path = tmp_path / "open.extxyz"  # no cell at all: the box is the only one
    frames = [Atoms(SYMBOLS, positions=4.0 + f @ CUBIC) for f in _walk(n_frames=5) % 1.0]
    ase.io.write(path, frames, format="extxyz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no times: the assumed-spacing warning
        assert not open_source(path).has_box
        src = open_source(path, box=box)
    chunk = _read_all(src)
    truth = ase.io.read(path, index=":")
    assert src.has_box
    np.testing.assert_allclose(chunk.boxes, np.repeat(cellpar_to_cell(box)[None], 5, axis=0), atol=2e-6)
    np.testing.assert_array_equal(chunk.positions, np.array([a.get_positions() for a in truth], dtype=np.float32))
    # a file with its own cell gets the given one instead, said once
    with pytest.warns(ReaderWarning, match=r"XDATCAR' has its own box \(9 9 9 90 90 90 at frame 0\); the given box "):
        src = open_source(files["xdatcar"], dt=0.1, box=box)
    chunk = _read_all(src)
    np.testing.assert_allclose(chunk.boxes, np.repeat(cellpar_to_cell(box)[None], N_FRAMES, axis=0), atol=2e-6)
    truth = ase.io.read(files["xdatcar"], index=":")
    np.testing.assert_allclose(chunk.positions, np.array([a.get_positions() for a in truth]), atol=1e-5)


def test_time_unit_scales_the_stored_times(files, tmp_path):
    from trajml.io.reader_options import ReaderWarning

    stored = np.array([a.info["time"] for a in ase.io.read(files["extxyz"], index=":")])  # ASE: 5 per frame
    for unit, factor in (("ps", 1.0), ("fs", 1e-3), ("ns", 1e3)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the unit is stated: no "read as fs" warning
            src = open_source(files["extxyz"], time_unit=unit)
        np.testing.assert_allclose(_read_all(src).times, stored * factor, rtol=1e-12)
        assert src.dt == pytest.approx(5.0 * factor)
    path = tmp_path / "ps.extxyz"  # a key that states ps, overridden by an explicit request
    ase.io.write(path, _images(_walk(n_frames=4), np.repeat(CUBIC[None], 4, axis=0), time_ps=10.0 * np.arange(4)))
    with pytest.warns(ReaderWarning, match=r"atoms.info\['time_ps'\] \(ps\); the given time_unit='fs' replaces"):
        src = open_source(path, time_unit="fs")
    np.testing.assert_allclose(_read_all(src).times, 0.01 * np.arange(4), rtol=1e-12)


# -- engines and analyses -------------------------------------------------------------------------
def test_source_pickles_and_processes_scheduler(files):
    from trajml.transport import MSD

    src = open_source(files["traj"], backend="ase", dt=0.1)
    clone = pickle.loads(pickle.dumps(src))
    np.testing.assert_array_equal(_read_all(clone).positions, _read_all(src).positions)
    msd = MSD("name Li or name S", block_size=3)
    serial = msd.run(src)
    procs = msd.run(src, scheduler="processes", n_workers=2)
    np.testing.assert_allclose(procs.msd_A2, serial.msd_A2, rtol=1e-12, atol=1e-12)
    from trajml.features import RDF

    rdf = RDF("name Li", "name S", r_max=4.0)  # reads chunks on the workers: one .traj handle per thread
    np.testing.assert_allclose(rdf.run(src, scheduler="threads", n_workers=2, chunk_size=7).g,
                               rdf.run(src, chunk_size=7).g, rtol=1e-12)


def _truth_msd(unwrapped: np.ndarray) -> np.ndarray:
    """MSD over all time origins of unwrapped positions (F, N, 3), by direct sums."""
    n = len(unwrapped)
    return np.array([0.0] + [np.mean(np.sum((unwrapped[k:] - unwrapped[:-k]) ** 2, axis=-1)) for k in range(1, n)])


@pytest.mark.parametrize("key,cells", [("xdatcar_gz", "cubic"), ("npt", "npt_cells")])
def test_msd_of_wrapped_file_equals_unwrapped_truth(files, key, cells):
    """XDATCAR stores wrapped fractional coordinates; no-jump unwrapping with each frame's cell recovers the walk.

    With a changing (NPT) cell the truth is the unwrapped fractional walk times each frame's cell.
    """
    from trajml.transport import MSD

    truth = np.einsum("fnj,fjk->fnk", files["frac"], files[cells])
    truth -= truth[0] - np.einsum("nj,jk->nk", files["frac"][0] % 1.0, files[cells][0])
    res = MSD("all", unwrap=True).run(open_source(files[key], backend="ase", dt=0.1))
    np.testing.assert_allclose(res.msd_A2, _truth_msd(truth), rtol=1e-5, atol=1e-8)
    wrapped = MSD("all", unwrap=False).run(open_source(files[key], backend="ase", dt=0.1))
    assert wrapped.msd_A2[-1] < 0.5 * res.msd_A2[-1]  # the walk crosses the cell: wrapping matters


def test_changing_atom_count_is_refused(tmp_path):
    path = tmp_path / "XDATCAR_bad"
    frac = _walk(n_frames=3)
    _write_xdatcar(path, frac, np.stack([CUBIC, CUBIC * 1.01, CUBIC]))
    text = path.read_text().splitlines(keepends=True)
    # Frame 2 (0-based) declares one S atom fewer in its header.
    k = [i for i, line in enumerate(text) if line.startswith("6 2 4")][2]
    text[k] = "6 2 3\n"
    drop = [i for i, line in enumerate(text) if line.startswith("Direct configuration=     3")][0] + 12
    del text[drop]
    path.write_text("".join(text))
    with pytest.raises(OSError, match=r"XDATCAR_bad' frame 2 has 11 atoms, but frame 0 has 12"):
        open_source(path, dt=0.1)


def test_clear_cache(files):
    _read_all(open_source(files["xdatcar"], backend="ase", dt=0.1))
    assert clear_ase_cache() >= 1


def test_shrinking_npt_cell_and_a_fixed_cutoff(tmp_path):
    """No reader-side fixed-cell assumption: a cut-off that fits the first cell but not a later one is
    refused by the analysis, with the trajectory and the frame where it stops fitting."""
    from trajml.features import RDF

    path = tmp_path / "shrink.XDATCAR"
    scale = np.linspace(1.0, 0.9, 12)
    _write_xdatcar(path, _walk(n_frames=12), CUBIC[None] * scale[:, None, None])
    src = open_source(path, dt=0.1)
    np.testing.assert_allclose(_read_all(src).boxes[:, 0, 0], 9.0 * scale, rtol=1e-6)
    RDF("name Li", "name S", r_max=4.0).run(src)  # fits every frame (half of 8.1 Å)
    with pytest.raises(ValueError, match=r"r_max.*half the smallest perpendicular box width.*trajectory 0 frame \d+"):
        RDF("name Li", "name S", r_max=4.4).run(src)


def test_truncated_xdatcar(tmp_path):
    """A VASP run killed while writing: the file and frame are named; on_damage='truncate' keeps the whole frames."""
    path = tmp_path / "XDATCAR"
    frac = _walk(n_frames=6)
    _write_xdatcar(path, frac, np.repeat(CUBIC[None], 6, axis=0))
    text = path.read_text().splitlines(keepends=True)
    path.write_text("".join(text[:-5]))  # frame 5 loses its last 5 atoms
    with pytest.raises(OSError, match=r"XDATCAR' is truncated or corrupt: frame 5 is incomplete \(7 of 12 "
                                      r"coordinate lines\); open it with on_damage='truncate' to use frames 0 to 4"):
        open_source(path, dt=0.1)
    with pytest.warns(RuntimeWarning, match="frame 5 is incomplete.*Using frames 0 to 4"):
        src = open_source(path, dt=0.1, on_damage="truncate")
    assert src.n_frames == 5 and len(src.select("name Li")) == 6
    np.testing.assert_allclose(_fractional(_read_all(src).positions, _read_all(src).boxes), frac[:5] % 1.0,
                               atol=1e-6)
    clone = pickle.loads(pickle.dumps(src))
    clear_ase_cache()  # a worker process starts with an empty cache
    assert _read_all(clone).positions.shape == (5, 12, 3)


def test_molecule_ids_of_extended_xyz(tmp_path):
    """A per-atom mol-id array (LAMMPS-written extxyz) gives the residues, so per-molecule analyses see molecules."""
    frames = _images(_walk(n_frames=3), np.repeat(CUBIC[None], 3, axis=0))
    mol = np.array([0, 1, 2, 3, 4, 5, 6, 6, 7, 7, 8, 8])
    for atoms in frames:
        atoms.arrays["mol-id"] = mol
    path = tmp_path / "mols.extxyz"
    ase.io.write(path, frames, format="extxyz")
    src = open_source(path, dt=0.1)
    assert src.atoms.molecules.tolist() == mol.tolist()
    np.testing.assert_array_equal(src.select("resid 7"), [8, 9])
