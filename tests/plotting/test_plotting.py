"""Plot functions draw the expected artists from Results (off-screen, Agg)."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from trajml.errors import MissingExtraError  # noqa: E402
from trajml.features import CoordinationResults, RDFResults, SolvationResults  # noqa: E402
from trajml.plotting import plot_coordination, plot_rdf, plot_solvation  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def rdf_result(with_shell: bool = True) -> RDFResults:
    edges = np.linspace(0, 10, 51)
    r = 0.5 * (edges[1:] + edges[:-1])
    g = 1 + np.exp(-((r - 3) ** 2) / 0.2) - 0.3 * np.exp(-((r - 4.2) ** 2) / 0.3)
    nan = float("nan")
    return RDFResults(edges=edges, r=r, g=g, n=np.cumsum(g) * 0.1, counts=np.zeros(50, dtype=np.int64),
                      first_peak_r=3.1 if with_shell else nan, first_peak_g=2.0 if with_shell else nan,
                      first_min_r=4.3 if with_shell else nan, first_min_g=0.7 if with_shell else nan)


def test_plot_rdf_draws_g_n_peak_and_minimum():
    fig = plot_rdf(rdf_result())
    assert isinstance(fig, Figure)
    ax, twin = fig.axes
    labels = [line.get_label() for line in ax.lines]
    assert "g(r)" in labels
    assert any(lbl.startswith("first peak") for lbl in labels)
    assert any(lbl.startswith("first minimum") for lbl in labels)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), rdf_result().r)
    assert [line.get_label() for line in twin.lines] == ["n(r)"]
    assert ax.get_xlabel() == "r (Å)" and twin.get_ylabel() == "n(r)"


def test_plot_rdf_without_shell_or_n_and_on_given_axes():
    import matplotlib.pyplot as plt

    fig0, ax = plt.subplots()
    fig = plot_rdf(rdf_result(with_shell=False), ax=ax, show_n=False)
    assert fig is fig0 and len(fig.axes) == 1
    assert not any(line.get_label().startswith("first") for line in ax.lines)


def test_plot_coordination_bars():
    res = CoordinationResults(cutoff=3.5, cutoff_source="given", count=np.arange(5),
                              probability=np.array([0.1, 0.2, 0.4, 0.2, 0.1]), occurrences=np.arange(5),
                              mean=2.0, std=1.1, n_frames=1, n_centers=10, n_ligands=10, centers=np.arange(10))
    fig = plot_coordination(res)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, res.probability)
    assert "3.50 Å" in ax.get_xlabel()
    assert ax.lines[0].get_label() == "mean 2.00"


def test_plot_solvation_speciation_and_composition():
    p = np.array([0.2, 0.5, 0.3])
    res = SolvationResults(
        cutoff_o=3.0, cutoff_anion=5.0, cutoff_sources={}, composition=np.zeros((3, 3)),
        composition_occurrences=np.zeros((3, 3), dtype=np.int64), n_o_probability=p, n_anion_probability=p[:2],
        n_chains_probability=p, anion_li_probability=p, mean_n_o=1.1, mean_n_anion=0.6, mean_n_chains=1.1,
        mean_anion_li=1.1, fraction_free=0.5, fraction_cip=0.3, fraction_agg=0.2, n_frames=1, n_li=10,
        n_polymer_o=10, n_anions=10)
    fig = plot_solvation(res)
    left, right = fig.axes
    np.testing.assert_allclose([b.get_height() for b in left.patches], [0.5, 0.3, 0.2])
    assert [t.get_text() for t in left.get_xticklabels()] == ["free/SSIP", "CIP", "AGG"]
    assert len(right.patches) == 3 + 2 + 3
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["polymer O", "anions", "chains"]


def test_wrong_result_and_axes_are_named():
    with pytest.raises(TypeError, match="plot_rdf needs a result with r, g, n, edges"):
        plot_rdf(object())
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="'ax' parameter must hold 2 matplotlib Axes"):
        plot_solvation(_solvation_like(), ax=ax)


def _solvation_like():
    class R:
        fraction_free = n_o_probability = n_anion_probability = 0

    return R()


def test_missing_matplotlib_names_the_plot_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'trajml\[plot\]'"):
        plot_rdf(rdf_result())


def test_plot_shells_draws_what_the_result_holds():
    from trajml.data import sample_aa_topology, sample_aa_trajectory
    from trajml.features import SolvationShells
    from trajml.io import open_source
    from trajml.plotting import plot_shells

    src = open_source(sample_aa_topology(), sample_aa_trajectory())
    res = SolvationShells("name LI", {"ether_o": "name OE", "tfsi": "any:resname TFSI"},
                          cutoffs={"ether_o": 3.5, "tfsi": 3.0}, anions="tfsi", chains="ether_o").run(
        src, stop=20, progress=False)
    fig = plot_shells(res, top=3)
    left, mid, right = fig.axes
    np.testing.assert_allclose([b.get_height() for b in left.patches],
                               [res.fraction_free, res.fraction_cip, res.fraction_agg])
    n_bars = sum(len(p) for p in res.coordination_probability) + len(res.n_chains_probability)
    assert len(mid.patches) == n_bars
    assert [t.get_text() for t in mid.get_legend().get_texts()] == ["ether_o (< 3.50 Å)", "tfsi (< 3.00 Å)",
                                                                  "chains of ether_o"]
    widths = [b.get_width() for b in right.patches]
    assert widths == sorted(res.composition_fraction, reverse=True)[:3]
    best = int(np.argmax(res.composition_fraction))
    expected = " + ".join(f"{n} {s}" for n, s in zip(res.compositions[best], res.species) if n) or "empty"
    assert right.get_yticklabels()[0].get_text() == expected


def test_warm_up_imports_pyplot_off_screen_once_and_in_the_background():
    """A unit's warm-up leaves pyplot imported with Agg, starts one thread at most, and imports no trajml module."""
    import subprocess

    code = (
        "import sys, threading\n"
        "from trajml.plotting import warm_up_in_background\n"
        "before = {m for m in sys.modules if m.startswith('trajml')}\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "warm_up_in_background(); warm_up_in_background()\n"
        "threads = [t for t in threading.enumerate() if t.name.startswith('trajml-warm')]\n"
        "assert len(threads) <= 1, threads\n"
        "[t.join(60) for t in threads]\n"
        "import matplotlib\n"
        "assert 'matplotlib.pyplot' in sys.modules and matplotlib.get_backend().lower() == 'agg'\n"
        "assert {m for m in sys.modules if m.startswith('trajml')} == before\n"
        "warm_up_in_background()\n"
        "assert not [t for t in threading.enumerate() if t.name.startswith('trajml-warm')]\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
