"""The per-state plots draw the expected artists from StateInterpretationResults (off-screen, Agg)."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from trajml.io import open_source  # noqa: E402
from trajml.kinetics import StateInterpretation  # noqa: E402
from trajml.plotting import plot_state_populations, plot_state_rdf, plot_state_shell  # noqa: E402

M = 3


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def result():
    from trajml.data import sample_topology, sample_trajectory

    try:
        src = open_source(sample_topology(), sample_trajectory())
    except FileNotFoundError as exc:  # pragma: no cover - the sample ships with trajml
        pytest.skip(str(exc))
    p = np.random.default_rng(0).dirichlet(np.ones(M), size=(5, 60))
    return StateInterpretation(r_shell={"polymer O": 8.0, "anion": 9.6}, r_max=15.0, n_bins=60).compute(
        src, "name Li", p, stop=5)


def _bars(ax):
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def test_plot_state_rdf_one_panel_per_species_one_line_per_state(result, tmp_path):
    fig = plot_state_rdf(result)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    for k, ax in enumerate(fig.axes):
        labels = [line.get_label() for line in ax.lines]
        states = [lbl for lbl in labels if lbl.startswith("state ")]
        assert len(states) == M and states[0].startswith("state 0 (")
        assert any(lbl.startswith("r_shell") for lbl in labels)
        np.testing.assert_allclose(ax.lines[0].get_ydata(), result.g[0, k])
        np.testing.assert_allclose(ax.lines[0].get_xdata(), result.r)
        assert ax.get_xlabel() == "r (Å)" and ax.get_title() == str(result.species[k])
    fig.savefig(tmp_path / "rdf.png")
    assert (tmp_path / "rdf.png").stat().st_size > 0


def test_plot_state_rdf_subset_on_given_axes(result):
    import matplotlib.pyplot as plt

    fig0, axes = plt.subplots(1, 2)
    fig = plot_state_rdf(result, axes, states=[2], show_shell=False)
    assert fig is fig0
    assert [line.get_label() for line in axes[1].lines if line.get_label().startswith("state")] == [
        f"state 2 ({100 * result.population[2]:.1f} %)"]
    with pytest.raises(ValueError, match="'states'"):
        plot_state_rdf(result, states=[M])
    with pytest.raises(ValueError, match="'ax'"):
        plot_state_rdf(result, axes[:1])


def test_plot_state_shell_grouped_bars_with_charge(result, tmp_path):
    fig = plot_state_shell(result)
    (ax,) = fig.axes
    bars = _bars(ax)
    assert len(bars) == 2 and all(len(b.patches) == M for b in bars)
    np.testing.assert_allclose([p.get_height() for p in bars[0].patches], result.shell_count_mean[:, 0])
    np.testing.assert_allclose([p.get_height() for p in bars[1].patches], result.shell_count_mean[:, 1])
    texts = [t.get_text() for t in ax.texts]
    assert texts == [f"q = {q:+.2f} e" for q in result.net_charge_mean]
    assert ax.get_ylabel() == "mean count in first shell"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["polymer O (d < 8.00 Å)", "anion (d < 9.60 Å)"]
    fig.savefig(tmp_path / "shell.png")
    assert (tmp_path / "shell.png").stat().st_size > 0


def test_plot_state_shell_without_charge_and_populations(result, tmp_path):
    fig = plot_state_shell(result, states=[0, 1], show_charge=False, error=False)
    (ax,) = fig.axes
    assert not ax.texts and all(len(b.patches) == 2 for b in _bars(ax))
    fig = plot_state_populations(result)
    (ax,) = fig.axes
    np.testing.assert_allclose([p.get_height() for p in ax.patches], result.population)
    assert ax.get_xlabel() == "state"
    fig.savefig(tmp_path / "pop.png")
    with pytest.raises(TypeError, match="plot_state_shell"):
        plot_state_shell(object())
