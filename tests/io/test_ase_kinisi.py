"""Li diffusion in Li6PS5Cl read from a VASP XDATCAR: trajml against kinisi (an independent oracle).

The file is the Li sublattice of kinisi's example trajectory (``tests/io/data/README.md``). The
numbers below were produced by kinisi 2.1.0 (not by trajml) with::

    python benchmarks/kinisi_compare.py tests/io/data/Li6PS5Cl_Li_XDATCAR.gz

``test_oracle_is_current`` reruns kinisi when it is installed (the ``dev`` extra installs it).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

pytest.importorskip("ase")

from trajml.io import open_source  # noqa: E402

PATH = os.path.join(os.path.dirname(__file__), "data", "Li6PS5Cl_Li_XDATCAR.gz")
DT_PS = 0.1  # kinisi's tests: time_step 2 fs, step_skip 50
FIT_START_PS = 1.0
# kinisi 2.1.0, DiffusionAnalyzer.from_ase(ase.io.read(PATH, index=":"), specie="Li", time_step=2 fs,
# step_skip=50).diffusion(1 ps, random_state=RandomState(42)): mean and std of the D samples (cm²/s),
# and its MSD (Å²) at 1, 10, 50 and 100 frames.
KINISI_D_CM2_S = 1.393212243239622e-05
KINISI_D_ERR_CM2_S = 7.34361686183808e-07
KINISI_MSD_A2 = {1: 0.4421979200942609, 10: 1.5967285573039975, 50: 5.10770441759354, 100: 8.929349179990165}


@pytest.fixture(scope="module")
def li():
    from trajml.transport import MSD

    source = open_source(PATH, backend="ase", dt=DT_PS)
    return source, MSD("name Li").run(source)


def test_reads_the_file(li):
    source, msd = li
    assert source.n_frames == 140 and source.n_atoms == 192 and source.dt == pytest.approx(DT_PS)
    assert msd.n_particles == 192 and msd.lag_ps[-1] == pytest.approx(13.9)


def test_msd_equals_kinisi_msd(li):
    """kinisi's MSD, reproduced from trajml's unwrapped coordinates.

    kinisi (``ASEParser.get_structure_coords_latt``) inserts a copy of frame 0 before the trajectory, so
    for a lag of k frames one of its T + 1 - k origins is that copy, whose displacement spans k - 1
    frames: ``msd_kinisi(k) = [(T - k) msd(k) + <|r(k-1) - r(0)|^2>] / (T + 1 - k)``.
    """
    from trajml.unwrap import Unwrapper

    source, msd = li
    chunk = Unwrapper()(source.read(source.partition(10**6)[0]))
    from_start = np.sum((chunk.positions.astype(np.float64) - chunk.positions[0]) ** 2, axis=-1).mean(axis=1)
    n = source.n_frames
    for k, ref in KINISI_MSD_A2.items():
        ours = ((n - k) * msd.msd_A2[k] + from_start[k - 1]) / (n + 1 - k)
        assert ours == pytest.approx(ref, rel=2e-6), k


def test_diffusion_agrees_with_kinisi(li):
    """D of Li with its standard error agrees with kinisi's within the sum of the two uncertainties."""
    from trajml.transport import Diffusion

    _, msd = li
    fit = Diffusion(FIT_START_PS, float(msd.lag_ps[-1])).fit(msd).fetch_model()
    assert fit.error_method == "particles"
    assert abs(fit.D_cm2_s - KINISI_D_CM2_S) <= fit.D_err_cm2_s + KINISI_D_ERR_CM2_S
    # Both uncertainties are a few per cent of D, so agreement is not bought with a wide error.
    assert fit.D_err_cm2_s < 0.1 * fit.D_cm2_s and KINISI_D_ERR_CM2_S < 0.1 * KINISI_D_CM2_S


def test_oracle_is_current():
    pytest.importorskip("kinisi")
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "kinisi_compare", os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "kinisi_compare.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["kinisi_compare"] = module
    spec.loader.exec_module(module)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = module.kinisi_d(PATH, FIT_START_PS, 42, list(KINISI_MSD_A2), drift=True)
    for k, ref in KINISI_MSD_A2.items():
        assert out["msd_A2"][k] == pytest.approx(ref, rel=1e-9)
    # The MCMC is seeded; allow for a different sampler build all the same.
    assert out["D_cm2_s"] == pytest.approx(KINISI_D_CM2_S, abs=0.05 * KINISI_D_ERR_CM2_S)
    assert out["D_err_cm2_s"] == pytest.approx(KINISI_D_ERR_CM2_S, rel=0.1)
