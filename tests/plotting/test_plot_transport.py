"""plot_transport draws the curves, window and lines the conductivity numbers came from (off-screen, Agg)."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from trajml.transport.conductivity import E_CHARGE_C, K_B_J_K  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def sample_runs():
    from trajml.data import sample_topology, sample_trajectory
    from trajml.io import open_source
    from trajml.transport import MSD, Conductivity, Diffusion

    src = open_source(sample_topology(), sample_trajectory())
    cond = Conductivity("name Li", "name TFSI", fit_start=20.0, fit_stop=100.0).run(src, stop=120, progress=False)
    msd = MSD("name Li").run(src, stop=120, progress=False)
    return cond, msd, Diffusion(10.0, 200.0).fit(msd).fetch_model()


def _spans(ax):
    """x extents of the axvspan patches (Rectangles spanning the axes' height, in data x)."""
    from matplotlib.patches import Rectangle

    out = []
    for p in ax.patches:
        if isinstance(p, Rectangle):
            out.append((p.get_x(), p.get_x() + p.get_width()))
        else:  # matplotlib < 3.9 draws axvspan as a Polygon
            xy = p.get_xy()
            out.append((xy[:, 0].min(), xy[:, 0].max()))
    return out


def test_window_and_lines_are_the_fitted_ones(sample_runs):
    from trajml.plotting import plot_transport

    res, _, _ = sample_runs
    fig = plot_transport(res)
    left, right = fig.axes[:2]
    assert _spans(right) == [pytest.approx((res.fit_start_ps, res.fit_stop_ps))]
    assert _spans(left) == [pytest.approx((res.fit_start_ps, res.fit_stop_ps))]
    # the black line on the charge MSD has the slope that gives sigma (Einstein-Helfand, independent formula)
    (line,) = [ln for ln in right.lines if ln.get_color() == "k"]
    (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
    assert (x0, x1) == pytest.approx((res.fit_start_ps, res.fit_stop_ps))
    slope = (y1 - y0) / (x1 - x0)  # e² Å²/ps
    sigma = E_CHARGE_C**2 * slope * 1e-20 / 1e-12 / (6 * res.volume_A3 * 1e-30 * K_B_J_K * res.temperature_K)
    assert sigma == pytest.approx(res.sigma_S_m, rel=1e-9)
    # the self-MSD lines have slope 6 D
    black = [ln for ln in left.lines if ln.get_color() == "k"]
    for s, ln in enumerate(black):
        t, y = ln.get_xdata(), ln.get_ydata()
        assert (y[-1] - y[0]) / (t[-1] - t[0]) == pytest.approx(6 * res.D_A2_ps[s], rel=1e-9)
    texts = [t.get_text() for ax in (left, right) for t in ax.get_legend().get_texts()]
    assert any(f"σ = {res.sigma_mS_cm:.3g} ± {res.sigma_err_mS_cm:.2g} mS/cm ({res.n_blocks} time blocks)" in t
               for t in texts)
    assert any(t.startswith(f"Li: D = {res.D_A2_ps[0]:.3g} ± ") and "Å²/ps (60 particles)" in t for t in texts)


def test_other_d_window_is_hatched_and_few_blocks_flagged(sample_runs):
    import dataclasses

    from trajml.plotting import plot_transport

    res, msd, fit = sample_runs
    two = dataclasses.replace(res, n_blocks=2, warnings=("σ (and L_ij, t₊) error from 2 time blocks: not a reliable "
                                                         "uncertainty",))
    assert "unreliable" not in " ".join(t.get_text() for t in plot_transport(res).axes[1].get_legend().get_texts())
    fig = plot_transport(two, fit, msd)
    left, right = fig.axes[:2]
    assert (fit.fit_start_ps, fit.fit_stop_ps) in [pytest.approx(s) for s in _spans(left)]
    texts = [t.get_text() for ax in (left, right) for t in ax.get_legend().get_texts()]
    assert any("(2 time blocks, unreliable)" in t for t in texts)
    assert any(f"D-fit window {fit.fit_start_ps:g}-{fit.fit_stop_ps:g} ps" in t for t in texts)
    # the same window as the conductivity's is not drawn twice
    same = dataclasses.replace(fit, fit_start_ps=res.fit_start_ps, fit_stop_ps=res.fit_stop_ps)
    assert len(_spans(plot_transport(res, same).axes[0])) == 1


def test_plot_msd_gives_the_samples_behind_the_error(sample_runs):
    import dataclasses

    from trajml.plotting import plot_msd

    _, msd, fit = sample_runs
    texts = [t.get_text() for t in plot_msd(msd, fit).axes[0].get_legend().get_texts()]
    assert any(f"({fit.n_error_samples} particles)" in t and "unreliable" not in t for t in texts)
    blocks = dataclasses.replace(fit, error_method="blocks", n_error_samples=2, warnings=("D error from 2 time "
                                                                                         "blocks",))
    texts = [t.get_text() for t in plot_msd(msd, blocks).axes[0].get_legend().get_texts()]
    assert any("(2 time blocks, unreliable)" in t for t in texts)
