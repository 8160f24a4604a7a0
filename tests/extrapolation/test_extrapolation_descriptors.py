"""Short-run descriptors against MSDs of known power-law form."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from trajml.extrapolation.descriptors import msd_descriptors, short_run_descriptors


def test_msd_slopes_and_apparent_d_of_a_power_law():
    # sub-diffusive (beta = 0.5) below 10 ps, diffusive (6 D t, D = 0.02 Å²/ps) from 10 ps on, continuous
    t = np.linspace(0.0, 200.0, 2001)
    d = 0.02
    msd = np.where(t < 10.0, 6 * d * 10.0 * np.sqrt(t / 10.0), 6 * d * t)
    alpha2 = np.where(t < 10.0, 0.4, 0.1)
    out = msd_descriptors(SimpleNamespace(lag_ps=t, msd_A2=msd, alpha2=alpha2), ((1.0, 9.9), (20.0, 200.0)))
    assert out["msd.slope[1-9.9ps]"] == pytest.approx(0.5, abs=1e-9)
    assert out["msd.slope[20-200ps]"] == pytest.approx(1.0, abs=1e-9)
    assert out["msd.log10_D[20-200ps]"] == pytest.approx(math.log10(d), abs=1e-9)
    assert out["msd.alpha2[1-9.9ps]"] == pytest.approx(0.4) and out["msd.alpha2[20-200ps]"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="1 usable lag"):
        msd_descriptors(SimpleNamespace(lag_ps=t, msd_A2=msd), ((200.0, 300.0),))


def test_short_run_row_names():
    t = np.arange(0.0, 50.0, 1.0)
    row = short_run_descriptors({"Li": SimpleNamespace(lag_ps=t, msd_A2=6 * 0.1 * t)}, windows_ps=((1, 40),),
                                coordination={"Li-O": 4.5}, residence_ps={"Li-O": 100.0}, populations=[0.2, 0.7, 0.1])
    assert row == pytest.approx({"msd_Li.slope[1-40ps]": 1.0, "msd_Li.log10_D[1-40ps]": -1.0, "cn.Li-O": 4.5,
                                 "log10_tau.Li-O": 2.0, "population.0": 0.7, "population.1": 0.2,
                                 "population.2": 0.1})
