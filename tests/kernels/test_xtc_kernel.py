"""The bounds-checked XTC decoder against MDAnalysis' xdrfile decoder on files nobody here wrote."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tests.xtc_damage import frame_offsets
from trajml.kernels.xtc import xtc_decode

MDA_FILES = ("XTC", "COORDINATES_XTC", "XTC_sub_sol", "XTC_multi_frame", "AUX_EDR_XTC")


def _files() -> list[str]:
    import MDAnalysisTests.datafiles as datafiles

    from trajml.data import sample_aa_trajectory, sample_trajectory

    return [getattr(datafiles, name) for name in MDA_FILES] + [sample_trajectory(), sample_aa_trajectory()]


@pytest.mark.parametrize("index", range(len(MDA_FILES) + 2))
@pytest.mark.parametrize("parallel", [False, True])
def test_decoded_coordinates_equal_mdanalysis_bitwise(index, parallel, monkeypatch):
    from MDAnalysis.lib.formats.libmdaxdr import XTCFile

    from trajml.kernels import xtc

    monkeypatch.setattr(xtc, "_PARALLEL_MIN_ATOMS", 0 if parallel else 2**62)  # both kernels, whatever the size

    path = _files()[index]
    with XTCFile(path) as fh:
        expected = np.stack([frame.x for frame in fh])
    data = np.fromfile(path, dtype=np.uint8)
    offsets = frame_offsets(data)
    out = np.empty((len(offsets), expected.shape[1], 3), dtype=np.float32)
    status = xtc_decode(data, offsets, expected.shape[1], out)
    assert not status.any()
    np.testing.assert_array_equal(out, expected)
    assert not xtc_decode(data, offsets, expected.shape[1]).any()  # the check alone agrees


def test_check_alone_gives_the_decoders_status_on_damaged_frames():
    from trajml.data import sample_aa_trajectory

    data = np.fromfile(sample_aa_trajectory(), dtype=np.uint8)
    offsets = frame_offsets(data)
    n_atoms = struct.unpack(">i", data[4:8].tobytes())[0]
    rng = np.random.default_rng(7)
    codes = set()
    for _ in range(150):
        bad = data.copy()
        f = int(rng.integers(0, len(offsets) - 1))
        at = rng.integers(offsets[f] + 56, offsets[f + 1], size=int(rng.integers(1, 6)))
        bad[at] = rng.integers(0, 256, size=len(at))
        out = np.empty((len(offsets), n_atoms, 3), dtype=np.float32)
        full = xtc_decode(bad, offsets, n_atoms, out)
        np.testing.assert_array_equal(xtc_decode(bad, offsets, n_atoms), full)
        assert not full[np.arange(len(offsets)) != f].any()  # only the damaged frame is refused
        codes.update(full.tolist())
    assert {0, 3} <= codes and len(codes) >= 3  # intact decodes, run overruns and other damage all occurred


def test_out_of_shape_is_refused():
    with pytest.raises(ValueError, match="out must be"):
        xtc_decode(np.zeros(100, np.uint8), np.array([0]), 20, np.empty((1, 19, 3), np.float32))
