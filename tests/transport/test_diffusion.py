"""Diffusion coefficients and the non-Gaussian parameter on Brownian particles with known D."""

from __future__ import annotations

import numpy as np
import pytest

from tests.transport.conftest import brownian, write_system
from trajml.transport import MSD, Diffusion

D_TRUE = 0.05  # Å²/ps
DT = 2.0  # ps
BOX = 40.0  # Å


@pytest.fixture(scope="module")
def brownian_msd(tmp_path_factory):
    from trajml.io import open_source

    rng = np.random.default_rng(2024)
    x = brownian(rng, 500, np.full(400, D_TRUE), DT, BOX)
    files = write_system(tmp_path_factory.mktemp("brown"), x, BOX, DT)
    return MSD("all", non_gaussian=True, per_particle=True).run(open_source(*files))


@pytest.fixture(scope="module")
def mixture_msd(tmp_path_factory):
    from trajml.io import open_source

    rng = np.random.default_rng(5)
    d = np.repeat([0.02, 0.1], 300)
    x = brownian(rng, 300, d, DT, BOX)
    files = write_system(tmp_path_factory.mktemp("mix"), x, BOX, DT)
    return MSD("all", non_gaussian=True).run(open_source(*files)), d


def test_recovers_d_with_auto_window(brownian_msd):
    res = Diffusion().fit(brownian_msd).fetch_model()
    assert res.window_method == "auto" and res.error_method == "particles" and res.n_error_samples == 400
    assert abs(res.D_A2_ps - D_TRUE) < 3 * res.D_err_A2_ps
    assert 0 < res.D_err_A2_ps < 0.1 * D_TRUE
    assert abs(res.loglog_slope - 1.0) < 0.1
    assert res.fit_stop_ps - res.fit_start_ps > 100 * DT  # a long diffusive window
    assert res.fit_stop_ps <= 0.5 * brownian_msd.lag_ps[-1] + 1e-9
    assert res.D_cm2_s == pytest.approx(res.D_A2_ps * 1e-4)
    assert res.units["D_cm2_s"] == "cm^2/s" and res.units["D_A2_ps"] == "Å^2/ps"


def test_recovers_d_with_given_window_and_block_errors(brownian_msd):
    res = Diffusion(10.0, 150.0, error="blocks").fit(brownian_msd).fetch_model()
    assert res.error_method == "blocks" and res.n_error_samples == 5
    assert res.n_fit_points == 71
    assert res.fit_start_ps == pytest.approx(10.0) and res.fit_stop_ps == pytest.approx(150.0)
    assert abs(res.D_A2_ps - D_TRUE) < 3 * res.D_err_A2_ps
    assert 0 < res.D_err_A2_ps < 0.15 * D_TRUE


def test_alpha2_vanishes_for_brownian_motion(brownian_msd):
    alpha = brownian_msd.alpha2[1:100]
    assert np.all(np.abs(alpha) < 0.05)
    assert abs(alpha.mean()) < 0.02


def test_alpha2_of_a_two_population_mixture(mixture_msd):
    res, d = mixture_msd
    expected = np.mean(d**2) / np.mean(d) ** 2 - 1.0  # 4/9 for D = 0.02 and 0.1 Å²/ps
    alpha = res.alpha2[1:60]
    assert alpha.mean() == pytest.approx(expected, rel=0.1)
    assert np.all(alpha > 0.25)


def test_local_slope_sees_ballistic_start():
    from trajml.transport import local_loglog_slope

    t = np.arange(200) * 1.0
    msd = 6 * t + 0.0
    msd[:20] = 6 * 20 * (t[:20] / 20) ** 2  # ballistic (slope 2) for t < 20
    grid, slope = local_loglog_slope(t, msd)
    assert slope[grid < 10].min() > 1.8 and np.abs(slope[grid > 40] - 1).max() < 1e-9
    res = Diffusion(min_points=5).fit(_fake(t, msd)).fetch_model()
    assert res.fit_start_ps >= 20 and res.loglog_slope == pytest.approx(1.0, abs=0.02)
    assert res.error_method == "none" and np.isnan(res.D_err_A2_ps)


def _fake(t, msd):
    from trajml.transport import MSDResults

    return MSDResults(lag_ps=t, msd_A2=msd, n_particles=1, n_frames=t.size, dt_ps=1.0)


# -- bad input -----------------------------------------------------------------------------------
def test_window_beyond_the_data(brownian_msd):
    with pytest.raises(ValueError, match=r"'fit_start' parameter of Diffusion .* Got 5000 ps instead \(the data end "
                                         r"at 998 ps\)"):
        Diffusion(5000.0, 6000.0).fit(brownian_msd)
    with pytest.raises(ValueError, match=r"'fit_stop' .* Got 2000 ps instead \(the data end at 998 ps\)"):
        Diffusion(10.0, 2000.0).fit(brownian_msd)


def test_window_with_too_few_points(brownian_msd):
    with pytest.raises(ValueError, match=r"window \[10, 13\] ps holds 2 MSD points \(lag step 2 ps\).*min_points=5"):
        Diffusion(10.0, 13.0).fit(brownian_msd)


def test_bad_window_parameters():
    with pytest.raises(ValueError, match="'fit_stop' parameter of Diffusion must be greater than fit_start"):
        Diffusion(100.0, 50.0)
    with pytest.raises(ValueError, match="go together"):
        Diffusion(100.0)
    with pytest.raises(ValueError, match=r"'fit_start' parameter of Diffusion must be a float in \[0, inf\) ps"):
        Diffusion(-1.0, 5.0)


def test_no_diffusive_regime_is_reported():
    t = np.arange(100) * 1.0
    with pytest.raises(ValueError, match="no diffusive regime.*Give fit_start and fit_stop"):
        Diffusion().fit(_fake(t, t**2.0))


def test_blocks_error_needs_window_inside_a_block(brownian_msd):
    with pytest.raises(ValueError, match=r"window ends at 400 ps, beyond the 198 ps a time block spans"):
        Diffusion(10.0, 400.0, error="blocks").fit(brownian_msd)


@pytest.fixture(scope="module")
def small_source(tmp_path_factory):
    from trajml.io import open_source

    x = brownian(np.random.default_rng(3), 300, np.full(60, D_TRUE), DT, BOX)
    return open_source(*write_system(tmp_path_factory.mktemp("small"), x, BOX, DT))


@pytest.mark.parametrize("n_blocks, warns", [(2, True), (4, True), (5, False), (6, False)])
def test_block_error_from_few_blocks_warns(small_source, n_blocks, warns):
    msd = MSD("all", time_blocks=n_blocks).run(small_source, progress=False)
    res = Diffusion(4.0, 40.0, error="blocks").fit(msd).fetch_model()
    assert res.error_method == "blocks" and res.n_error_samples == n_blocks
    if warns:
        assert len(res.warnings) == 1
        assert f"D error from {n_blocks} time blocks: not a reliable uncertainty" in res.warnings[0]
    else:
        assert res.warnings == ()
    # particle errors never carry the block warning
    msd_pp = MSD("all", time_blocks=2, per_particle=True).run(small_source, progress=False)
    assert Diffusion(4.0, 40.0).fit(msd_pp).fetch_model().warnings == ()


@pytest.mark.parametrize("alpha, kind", [(0.7, "sub-diffusive"), (1.4, "super-diffusive"), (1.0, None)])
def test_a_given_window_that_is_not_diffusive_warns(alpha, kind):
    """MSD ∝ t^α (analytic): a given window with |α - 1| beyond the tolerance says D is only apparent."""
    t = np.arange(200) * 1.0
    res = Diffusion(20.0, 100.0).fit(_fake(t, 3.0 * t**alpha)).fetch_model()
    assert res.loglog_slope == pytest.approx(alpha, abs=1e-9)
    if kind is None:
        assert res.warnings == ()
    else:
        assert len(res.warnings) == 1
        assert f"the MSD is {kind} over the given fit window 20-100 ps (log-log slope {alpha:.2f}" in res.warnings[0]
    # A wider tolerance accepts it.
    assert Diffusion(20.0, 100.0, tolerance=0.5).fit(_fake(t, 3.0 * t**alpha)).fetch_model().warnings == ()
