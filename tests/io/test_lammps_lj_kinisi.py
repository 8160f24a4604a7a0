"""Diffusion of type 1 atoms in kinisi's Lennard-Jones example (LAMMPS data + DCD): trajml against kinisi.

The files are ``kinisi/tests/inputs/example_LAMMPS.data`` and ``example_LAMMPS.dcd`` of the installed
kinisi (the ``dev`` extra installs it; the module is skipped without it): 256 atoms (204 of type 1,
52 of type 2, all of mass 1), a cubic box of 5.82 σ, 200 frames written with LAMMPS ``units lj``.
kinisi's tests read them with ``time_step = 0.005`` and ``step_skip = 250``: frames 1.25 τ apart.
Both programs take σ as Å and τ as ps, so trajml's ``D_A2_ps`` is D in σ²/τ.

kinisi runs live here (a few seconds: its MCMC is seeded); ``benchmarks/kinisi_compare.py --lj``
prints the same numbers. The mixture drifts as a whole, so both are compared in its centre-of-mass
frame: trajml's ``remove_drift=True``, kinisi given every atom as its drift reference (equal masses:
the same frame).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("kinisi")

from trajml.io import open_source  # noqa: E402
from trajml.io.reader_options import ReaderWarning  # noqa: E402

DT_TAU = 1.25  # kinisi's tests: time_step 0.005 τ, step_skip 250
FIT_START_TAU = 12.5  # ten frames: past the rise of the MSD to its plateau (the atoms' cage)
MSD_LAGS = [1, 10, 50, 100, 199]


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "kinisi_compare", os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "kinisi_compare.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["kinisi_compare"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def files():
    return _benchmark().lj_files()


@pytest.fixture(scope="module")
def kinisi_out():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _benchmark().kinisi_lj(FIT_START_TAU, 42, MSD_LAGS, drift="system")


@pytest.fixture(scope="module")
def lj(files):
    from trajml.transport import MSD

    source = open_source(*files, lammps_units="lj", dt=DT_TAU)
    return source, MSD("type 1", remove_drift=True).run(source)


def test_files_are_kinisis(files):
    assert [os.path.getsize(f) for f in files] == [46919, 630756]


def test_reads_the_file(files, lj):
    import MDAnalysis as mda

    source, msd = lj
    u = mda.Universe(*files, format="LAMMPS")
    assert source.n_frames == u.trajectory.n_frames == 200 and source.n_atoms == u.atoms.n_atoms == 256
    assert source.dt == pytest.approx(DT_TAU)
    assert msd.n_particles == len(u.select_atoms("type 1")) == 204 and msd.lag_ps[-1] == pytest.approx(199 * DT_TAU)
    chunk = source.read(source.partition(10)[-1])
    np.testing.assert_allclose(chunk.positions[-1], u.trajectory[-1].positions, atol=1e-5)


def test_lammps_dcd_without_dt_warns(files):
    """kinisi's DCD has blank title records (MDAnalysis rewrote it), so only ``format="LAMMPS"`` marks it."""
    with pytest.warns(ReaderWarning) as record:
        source = open_source(*files, format="LAMMPS")
    text = " ".join(str(w.message) for w in record if issubclass(w.category, ReaderWarning))
    assert "'example_LAMMPS.dcd' (a LAMMPS DCD, read as units real: fs)" in text and "lammps_units" in text
    assert source.dt == pytest.approx(20.454830 * 1e-3, rel=1e-6)  # the header's delta, as fs


def test_msd_equals_kinisi_msd(files, lj, kinisi_out):
    """kinisi's MSD, reproduced from trajml's unwrapped coordinates in the centre-of-mass frame.

    kinisi inserts a copy of frame 0 before the trajectory, so for a lag of k frames one of its
    T + 1 - k origins spans k - 1 frames: ``msd_kinisi(k) = [(T - k) msd(k) + <|r(k-1) - r(0)|^2>] / (T + 1 - k)``.
    """
    import MDAnalysis as mda

    from trajml.unwrap import Unwrapper

    source, msd = lj
    chunk = Unwrapper()(source.read(source.partition(10**6)[0]))
    pos = chunk.positions.astype(np.float64)
    pos -= pos.mean(axis=1, keepdims=True)  # every atom has mass 1
    type1 = mda.Universe(*files, format="LAMMPS").select_atoms("type 1").indices
    from_start = np.sum((pos[:, type1] - pos[0, type1]) ** 2, axis=-1).mean(axis=1)
    n = source.n_frames
    for k, ref in kinisi_out["msd_A2"].items():
        ours = ((n - k) * msd.msd_A2[k] + from_start[k - 1]) / (n + 1 - k)
        assert ours == pytest.approx(ref, rel=1e-5), k


def test_diffusion_agrees_with_least_squares_on_kinisis_msd(lj, kinisi_out):
    """The same estimator on kinisi's MSD (its least-squares slope over the window) agrees within trajml's error."""
    from trajml.transport import Diffusion

    _, msd = lj
    fit = Diffusion(FIT_START_TAU, float(msd.lag_ps[-1])).fit(msd).fetch_model()
    assert fit.error_method == "particles"
    assert abs(fit.D_cm2_s - kinisi_out["D_least_squares_cm2_s"]) <= fit.D_err_cm2_s


def test_diffusion_refuses_the_caged_msd_that_kinisi_fits(lj, kinisi_out):
    """No diffusive regime here: trajml's automatic window says so, where kinisi returns a D.

    The atoms stay caged (MSD 0.020 σ² at 10 frames, 0.022 σ² at 100): the log–log slope over the
    fit window is about 0.1, not 1, so any D is the slope of a plateau and depends on the estimator
    (kinisi's Bayesian regression, with its random-walk covariance and free intercept, gives about
    twice the least-squares slope of its own MSD). The README's kinisi paragraph says so.
    """
    from trajml.transport import Diffusion

    _, msd = lj
    with pytest.raises(ValueError, match=r"Diffusion found no diffusive regime: the local log-log slope"):
        Diffusion().fit(msd)
    fit = Diffusion(FIT_START_TAU, float(msd.lag_ps[-1])).fit(msd).fetch_model()
    assert fit.loglog_slope < 0.2
    assert kinisi_out["D_cm2_s"] > 1.5 * kinisi_out["D_least_squares_cm2_s"]  # the estimator, not the data
