"""Small faults refused with a message in the user's syntax instead of exit 0 or a raw traceback.

A mapping option given the same key twice, a temperature outside a physical range, a trajectory id
beyond the source, parts that go back in time, an empty frame range, and a plot written in place.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from trajml.cli import main

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import MDAnalysis as mda

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

N_ATOMS, N_FRAMES, DT, T0 = 6, 30, 0.5, 10.0


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A topology and a writer of XTC parts holding frames ``k`` of one run, stamped T0 + DT * k."""
    d = tmp_path_factory.mktemp("faults")
    rng = np.random.default_rng(7)
    x = (np.cumsum(rng.normal(0, 0.3, (N_FRAMES, N_ATOMS, 3)), axis=0) + 20.0).astype(np.float32)
    u = mda.Universe.empty(N_ATOMS, trajectory=True)
    u.add_TopologyAttr("names", ["Li"] * N_ATOMS)
    u.dimensions = [40.0, 40.0, 40.0, 90.0, 90.0, 90.0]
    u.atoms.positions = x[0]
    top = str(d / "top.pdb")

    def write(name: str, frames: np.ndarray) -> str:
        path = str(d / name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mda.Writer(path, n_atoms=N_ATOMS) as w:
                for k in frames:
                    u.atoms.positions = x[k]
                    u.trajectory.ts.time = T0 + DT * k
                    w.write(u.atoms)
        return path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(top)
    return {"top": top, "write": write, "whole": write("whole.xtc", np.arange(N_FRAMES))}


def _usage_error(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    """argparse refuses ``argv`` (exit 2); its message."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err


def _error(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    """The command fails (exit 1, no traceback); its message."""
    assert main(argv) == 1
    return capsys.readouterr().err


# -- 1. a mapping option with a repeated key --------------------------------------------------------
@pytest.mark.parametrize("argv", [["--charges", "Li=1", "Li=2"], ["--charges", "Li=1", "TFSI=-1", "--charges", "Li=2"]])
def test_a_repeated_key_of_a_mapping_option_is_refused_naming_it(capsys: pytest.CaptureFixture,
                                                                  argv: list[str]) -> None:
    err = _usage_error(capsys, ["transport", *argv])
    assert "argument --charges: must be NAME=CHARGE items with each key once (give --charges Li=... once). " \
           "Got 'Li' twice instead." in err


def test_distinct_keys_over_repeated_options_still_add_up() -> None:
    import argparse

    from trajml.cli._options import add_parameters
    from trajml.transport import Conductivity

    parser = argparse.ArgumentParser()
    add_parameters(parser, Conductivity)
    args = parser.parse_args(["--charges", "Li=1", "--charges", "TFSI=-1"])
    assert args.charges == {"Li": 1.0, "TFSI": -1.0}


def test_parse_charges_refuses_a_repeated_key_in_python() -> None:
    from trajml.cli.transport import parse_charges
    from trajml.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"each key once \(give --charges TFSI=\.\.\. once\)"):
        parse_charges(["TFSI=-1", "Li=1", "TFSI=-0.8"])


# -- 2. temperatures in a physical range, the same in Python, CLI and YAML -------------------------
@pytest.mark.parametrize("value", ["1e-30", "0.5", "1", "10000", "3e5"])
def test_an_unphysical_temperature_is_refused_on_the_command_line(capsys: pytest.CaptureFixture, value: str) -> None:
    err = _usage_error(capsys, ["transport", "--temperature", value])
    assert "argument --temperature: must be a float in (1, 10000) K or None. Got" in err


def test_an_unphysical_temperature_is_refused_in_python() -> None:
    from trajml.errors import InvalidParameterError
    from trajml.fes import GaussianProcessFES, HistogramFES, KernelDensityFES
    from trajml.transport import Conductivity

    with pytest.raises(InvalidParameterError, match=r"'temperature' parameter of Conductivity must be a float in "
                                                    r"\(1, 10000\) K or None\. Got 1e-30 instead"):
        Conductivity(temperature=1e-30)
    assert Conductivity(temperature=353.0).temperature == 353.0
    for cls in (HistogramFES, KernelDensityFES, GaussianProcessFES):
        with pytest.raises(InvalidParameterError, match=r"'temperature' parameter of \w+ must be a float in "
                                                        r"\(1, 10000\) K\. Got 20000\.0 instead"):
            cls(temperature=20000.0)


def test_every_declared_temperature_has_the_one_range() -> None:
    from trajml._validation import TEMPERATURE_RANGE_K
    from trajml.fes._base import FES_PARAMETERS
    from trajml.transport import Conductivity

    for p in (FES_PARAMETERS["temperature"], Conductivity.parameters()["temperature"]):
        assert (p.low, p.high, p.low_closed, p.high_closed, p.unit) == (*TEMPERATURE_RANGE_K, False, False, "K")


# -- 3. a trajectory id beyond the source ------------------------------------------------------------
@pytest.mark.parametrize("flag", ["--traj-ids", "--traj-id"])
def test_a_traj_id_beyond_the_source_names_the_valid_range(walk: dict, capsys: pytest.CaptureFixture,
                                                          flag: str) -> None:
    err = _error(capsys, ["msd", walk["top"], walk["whole"], "--select", "name Li", flag, "5", "--no-progress"])
    assert "Traceback" not in err
    assert (f"argument --traj-ids: must be trajectory ids in [0, 0] (this source has 1 trajectory; 0 is "
            f"'{walk['whole']}'). Got 5 instead.") in err


def test_a_traj_id_beyond_the_source_is_an_index_error_in_python(walk: dict) -> None:
    from trajml.errors import InvalidParameterError
    from trajml.io import open_source

    src = open_source(walk["top"], walk["whole"])
    for kind in (IndexError, InvalidParameterError):
        with pytest.raises(kind, match=r"'traj_ids' parameter of run must be trajectory ids in \[0, 0\].*Got 3 "):
            src.partition(10, traj_ids=[0, 3])
    with pytest.raises(IndexError, match=r"'traj_id' parameter of run .*Got 1 instead"):
        src.n_frames_of(1)


# -- 4. parts that go back in time --------------------------------------------------------------------
def test_parts_in_the_wrong_order_are_refused_naming_files_times_and_order(walk: dict,
                                                                          capsys: pytest.CaptureFixture) -> None:
    from trajml.errors import IrregularTimeError
    from trajml.io import open_source

    a = walk["write"]("first.xtc", np.arange(0, 15))
    b = walk["write"]("second.xtc", np.arange(15, N_FRAMES))
    assert open_source(walk["top"], [a, b]).n_frames == N_FRAMES  # the right order still links
    with pytest.raises(IrregularTimeError, match=rf"go back in time: '{re.escape(a)}' starts at 10 ps, before "
                                                 rf"'{re.escape(b)}' given ahead of it \(17\.5 to 24\.5 ps\)\. "
                                                 rf"Parts are joined in the order given; give them in time order "
                                                 rf"\('{re.escape(a)}' '{re.escape(b)}'\)"):
        open_source(walk["top"], [b, a])
    err = _error(capsys, ["info", walk["top"], b, a])
    assert "trajml info: error: The parts of one trajectory go back in time" in err and "Traceback" not in err


def test_a_part_inside_the_previous_one_is_refused(walk: dict) -> None:
    from trajml.errors import IrregularTimeError
    from trajml.io import open_source

    a = walk["write"]("long.xtc", np.arange(0, 20))
    b = walk["write"]("inside.xtc", np.arange(5, 10))  # 12.5 to 14.5 ps, within 10 to 19.5 ps
    with pytest.raises(IrregularTimeError, match=rf"'{re.escape(b)}' \(5 frames, 12\.5 to 14\.5 ps\) lies within "
                                                 rf"the time span of '{re.escape(a)}'"):
        open_source(walk["top"], [a, b])


# -- 5. an empty frame range --------------------------------------------------------------------------
@pytest.mark.parametrize("argv, shown", [(["--start", "10", "--stop", "10"], "10:10:1"),
                                         (["--start", "100"], "100::1"),
                                         (["--start", "30", "--stop", "40", "--step", "2"], "30:40:2")])
def test_an_empty_frame_range_is_refused_naming_range_and_frames(walk: dict, capsys: pytest.CaptureFixture,
                                                                argv: list[str], shown: str) -> None:
    err = _error(capsys, ["msd", walk["top"], walk["whole"], "--select", "name Li", "--no-progress", *argv])
    assert (f"argument --start: must be below the stop and the number of frames: start:stop:step = {shown} "
            f"selects no frame of trajectory 0 ('{walk['whole']}'), which has {N_FRAMES} frames (0 to "
            f"{N_FRAMES - 1})") in err


def test_an_empty_frame_range_is_refused_in_python(walk: dict) -> None:
    from trajml.errors import InvalidParameterError
    from trajml.io import open_source
    from trajml.transport import MSD

    src = open_source(walk["top"], walk["whole"])
    with pytest.raises(InvalidParameterError, match=r"'start' parameter of run must be below .* = 5:3:1 selects no "
                                                    r"frame of trajectory 0"):
        MSD("name Li").run(src, start=5, stop=3)
    assert src.partition(10, start=5, stop=3) == []  # streaming a part of a run may still ask for nothing


# -- 6. plots are written atomically ------------------------------------------------------------------
def test_a_failed_plot_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    from trajml.cli._common import save_plot

    class Failing:
        def savefig(self, fh, **kwargs):
            fh.write(b"half a figure")
            raise RuntimeError("the renderer died")

    path = tmp_path / "plot.png"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="the renderer died"):
        save_plot(Failing(), str(path))
    assert path.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_a_plot_is_written_in_the_format_of_its_extension(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from trajml.cli._common import save_plot

    fig = plt.figure()
    for name, magic in (("p.png", b"\x89PNG"), ("p.pdf", b"%PDF"), ("p.svg", b"<?xml")):
        save_plot(fig, str(tmp_path / name))
        assert (tmp_path / name).read_bytes()[:len(magic)] == magic
    plt.close(fig)
