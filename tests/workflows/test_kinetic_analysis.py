"""trajml.workflows: kinetic_analysis on the bundled sample (TICA route), its files and the model it saves."""

from __future__ import annotations

import json
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from trajml.data import sample_topology, sample_trajectory  # noqa: E402
from trajml.io import open_source  # noqa: E402
from trajml.kinetics import TICAMSMModel  # noqa: E402
from trajml.store import load_model  # noqa: E402
from trajml.workflows import KineticAnalysis, kinetic_analysis  # noqa: E402

FILES = ("timescales.json", "populations.json", "ck_test.json", "states.json", "diagnostics.json", "model.npz",
         "timescales.png", "ck_test.png", "populations.png", "state_rdf.png", "state_shell.png")


@pytest.fixture(scope="module")
def analysis() -> KineticAnalysis:
    source = open_source(sample_topology(), sample_trajectory())
    return kinetic_analysis(source, "name Li", 3, 4, model="tica", r_shell=8.0, n_bootstrap=2, stop=80,
                            n_clusters=8, seed=0)


def test_write_gives_every_file_and_a_model_the_store_reads(analysis, tmp_path):
    written = analysis.write(tmp_path)
    assert sorted(p.rsplit("/", 1)[-1] for p in written) == sorted(FILES)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left
    model = load_model(tmp_path / "model.npz")
    assert isinstance(model, TICAMSMModel)
    np.testing.assert_array_equal(model.msm.transition_matrix, analysis.model.msm.transition_matrix)
    pops = json.loads((tmp_path / "populations.json").read_text())
    assert pops["stationary_populations"] == pytest.approx(analysis.populations.tolist())
    assert "tica model, 3 states" in analysis.summary()


def test_figures_come_from_trajml_plotting(analysis):
    from trajml.plotting import use_offscreen_backend

    use_offscreen_backend()
    import matplotlib.pyplot as plt

    figures = analysis.figures()
    assert sorted(figures) == ["ck_test", "populations", "state_rdf", "state_shell", "timescales"]
    plt.close("all")


def test_the_package_name_is_the_function_even_after_its_module_is_imported():
    import trajml.workflows
    import trajml.workflows.kinetics

    assert trajml.workflows.kinetic_analysis is trajml.workflows.kinetics.kinetic_analysis
    assert callable(kinetic_analysis)


def _tiny(source, **kw):
    """The fastest route: TICA on shell counts of 40 frames, no bootstrap."""
    return kinetic_analysis(source, "name Li", 3, 2, model="tica", r_shell=8.0, n_bootstrap=0, stop=40,
                            n_clusters=6, its_lags=[1, 2], mlags=2, seed=0, **kw)


def test_a_universe_gives_the_result_of_its_files():
    import MDAnalysis as mda

    from trajml.workflows.kinetics import KineticWorkflow

    by_path = _tiny(open_source(sample_topology(), sample_trajectory()))
    universe = mda.Universe(sample_topology(), sample_trajectory())
    by_universe = _tiny(universe)
    by_workflow = KineticWorkflow("name Li", 3, 2, model="tica", r_shell=8.0, n_bootstrap=0, n_clusters=6,
                                  its_lags=[1, 2], mlags=2, seed=0).run(universe, stop=40)
    for res in (by_universe, by_workflow):
        assert res.dt_ps == by_path.dt_ps
        np.testing.assert_array_equal(res.model.msm.transition_matrix, by_path.model.msm.transition_matrix)
        np.testing.assert_array_equal(res.timescales.timescales_ps, by_path.timescales.timescales_ps)
        np.testing.assert_array_equal(res.populations, by_path.populations)


def test_a_dt_ps_in_model_options_must_be_the_time_axis_step():
    from trajml.errors import InvalidParameterError

    source = open_source(sample_topology(), sample_trajectory())
    assert _tiny(source, model_options={"dt_ps": source.dt}).dt_ps == source.dt
    with pytest.raises(InvalidParameterError, match=rf"'model_options' parameter of kinetic_analysis must be without "
                                                    rf"dt_ps, or with dt_ps={2 * source.dt:g}: .* \(its dt "
                                                    rf"{source.dt:g} ps × step=2\).*open_source\(\.\.\., dt=\.\.\.\)"):
        _tiny(source, step=2, model_options={"dt_ps": source.dt})


def test_a_gap_in_the_frames_analysed_is_refused_naming_file_and_frame(tmp_path):
    import re
    import warnings

    import MDAnalysis as mda

    from trajml.errors import IrregularTimeError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(sample_topology(), sample_trajectory())
        gap = str(tmp_path / "gap.xtc")
        with mda.Writer(gap, n_atoms=u.atoms.n_atoms) as w:
            for ts in u.trajectory[:45]:
                if ts.frame not in (20, 21):  # two frames never saved
                    w.write(u.atoms)
    source = open_source(sample_topology(), gap)
    with pytest.raises(IrregularTimeError, match=rf"Kinetic analysis needs equally spaced frames.*frame 20 of "
                                                 rf"'{re.escape(gap)}'.*2 missing frame.*stop=20 or start=20"):
        _tiny(source)
    with pytest.raises(IrregularTimeError, match="frame 20 of"):
        _tiny(mda.Universe(sample_topology(), gap))


def test_a_lag_no_trajectory_spans_is_refused_and_one_over_a_quarter_warns():
    from trajml.errors import InvalidParameterError

    source = open_source(sample_topology(), sample_trajectory())
    with pytest.raises(InvalidParameterError, match=r"The 'lag' parameter of kinetic_analysis must be shorter than the "
                                                    r"shortest trajectory analysed \(40 frames\): no transition fits "
                                                    r"in it\. Give a lag of at most a quarter of it, lag=10, .* Got 40 "
                                                    r"frames \(200 ps\) instead\."):
        kinetic_analysis(source, lag=40, r_shell=8.0, stop=40, n_bootstrap=0)
    with pytest.warns(UserWarning, match=r"The lag of kinetic_analysis, 12 frames \(60 ps\), is longer than a quarter "
                                         r"of the shortest trajectory analysed \(40 frames\).*Give lag=10 or less"):
        res = kinetic_analysis(source, lag=12, r_shell=8.0, stop=40, n_bootstrap=0, n_clusters=6, its_lags=[1, 2])
    assert res.ck.lags.tolist() == [0, 12, 24, 36]  # the CK multiples that fit in 40 frames
    with pytest.raises(InvalidParameterError, match="must be shorter than the shortest"):
        kinetic_analysis(source, lag=4, r_shell=8.0, stop=4, n_bootstrap=0)


def test_the_default_route_is_tica_with_diagnostics_written(analysis, tmp_path):
    import inspect

    from trajml.workflows.kinetics import KineticWorkflow

    assert inspect.signature(kinetic_analysis).parameters["model"].default == "tica"
    assert KineticWorkflow().model == "tica"
    codes = [d.code for d in analysis.diagnostics]
    assert codes == ["its_not_converged", "its_at_lag", "states_indistinct", "ck_failed"]
    assert analysis.warnings == [d.message for d in analysis.diagnostics if not d.passed]
    analysis.write(tmp_path, plots=False)
    stored = json.loads((tmp_path / "diagnostics.json").read_text())["diagnostics"]
    assert [d["code"] for d in stored] == codes and all(isinstance(d["passed"], bool) for d in stored)
