"""Validation of pipeline files: every problem names the file, the line and the key, with suggestions."""

from __future__ import annotations

import pytest
from pipeline_helpers import make_systems, write_pipeline

from trajml.pipelines import PipelineSpecError, bundled_pipeline, load_pipeline, parse_pipeline
from trajml.pipelines.stages import Param, StageOutput, register_stage, unregister_stage

INPUT = "inputs:\n  - bundled: spe_sample\n"


def parse(text: str, tmp_path=None):
    return parse_pipeline(text, filename="p.yaml", base_dir=str(tmp_path or "."))


def test_bundled_demo_is_valid():
    spec = load_pipeline(bundled_pipeline("spe_demo"))
    assert [s.stage for s in spec.stages] == ["info", "rdf", "rdf", "coordination", "solvation", "msd", "residence",
                                             "transport", "msm", "fes"]
    msm = spec.stages[8].params
    assert msm["model"] == "tica" and msm["graphs_from"] is None  # the fast, validated route (seconds)
    assert spec.systems[0].metadata["temperature"] == 300.0
    assert spec.stages[3].params["cutoff_from"] == "rdf_li_o"


def test_defaults_filled_and_ints_become_floats():
    spec = parse(INPUT + "stages:\n  - {stage: rdf, select_a: name Li, r_max: 10}\n")
    params = spec.stages[0].params
    assert params["r_max"] == 10.0 and isinstance(params["r_max"], float)
    assert params["n_bins"] == 150 and params["stop"] is None and spec.stages[0].id == "rdf"


def test_unknown_stage_suggests_closest():
    with pytest.raises(PipelineSpecError, match=r"p\.yaml, line 5: 'stages\[1\]\.stage' names unknown stage "
                                                r"'coordinaton'\. Did you mean 'coordination'\?"):
        parse(INPUT + "stages:\n  - info\n  - stage: coordinaton\n")


def test_bare_unknown_stage_name_has_its_line():
    with pytest.raises(PipelineSpecError, match=r"line 6: 'stages\[2\]\.stage' names unknown stage 'solvaton'.*"
                                                r"Did you mean 'solvation'"):
        parse(INPUT + "stages:\n  - info\n  - {stage: info, id: i2}\n  - solvaton\n")


def test_unknown_parameter_suggests_closest():
    text = INPUT + "stages:\n  - stage: rdf\n    select_a: name Li\n    r_maxx: 12\n"
    with pytest.raises(PipelineSpecError, match=r"line 6: 'stages\[0\]\.r_maxx' is not a parameter of stage 'rdf'\. "
                                                r"Did you mean 'r_max'\?"):
        parse(text)


def test_bad_value_and_missing_required_parameter_reported_together():
    text = INPUT + "stages:\n  - stage: rdf\n    r_max: -2\n"
    with pytest.raises(PipelineSpecError) as info:
        parse(text)
    msg = str(info.value)
    assert "2 problems" in msg
    assert "line 5: 'stages[0].r_max' of stage 'rdf' must be a float in (0, inf) Å. Got -2 instead." in msg
    assert "line 4: 'stages[0].select_a' is required by stage 'rdf'" in msg


def test_bad_choice_suggests():
    with pytest.raises(PipelineSpecError, match=r"line 4: 'stages\[0\]\.exclude'.*must be one of.*"
                                                r"Got 'molecul' instead\. Did you mean 'molecule'\?"):
        parse(INPUT + "stages:\n  - {stage: rdf, select_a: name Li, exclude: molecul}\n")


def test_unknown_top_level_key_suggests():
    with pytest.raises(PipelineSpecError, match=r"line 3: 'stage' is not a known top-level key\. "
                                                r"Did you mean 'stages'\?"):
        parse(INPUT + "stage:\n  - info\n")


def test_missing_input_file_names_key_line_and_path(tmp_path):
    (tmp_path / "top.psf").write_text("x")
    text = "inputs:\n  - topology: top.psf\n    trajectory: [run1.xtc]\nstages: [info]\n"
    with pytest.raises(PipelineSpecError, match=r"line 3: 'inputs\[0\]\.trajectory' names 'run1\.xtc', "
                                                r"which does not exist \(resolved to '.*run1\.xtc'\)"):
        parse(text, tmp_path)


def test_glob_matching_nothing(tmp_path):
    text = "inputs:\n  - bundled: spe_sample\n  - glob: sims/T*\nstages: [info]\n"
    with pytest.raises(PipelineSpecError, match=r"line 3: 'inputs\[1\]\.glob' 'sims/T\*' matched no folder"):
        parse(text, tmp_path)


def test_glob_folder_without_trajectory(tmp_path):
    make_systems(tmp_path, 1)
    (tmp_path / "sims" / "sys0" / "traj.xtc").unlink()
    with pytest.raises(PipelineSpecError, match=r"line 2: 'inputs\[0\]\.glob' matched folder '.*sys0', which holds "
                                                r"no trajectory file matching \*\.xtc"):
        parse("inputs:\n  - glob: sims/*\nstages: [info]\n", tmp_path)


def test_glob_finds_systems_with_metadata(tmp_path):
    make_systems(tmp_path, 2)
    spec = parse("inputs:\n  - glob: sims/*\n    metadata: {temperature: 350}\nstages: [info]\n", tmp_path)
    assert [s.name for s in spec.systems] == ["sys0", "sys1"]
    assert spec.systems[1].metadata == {"temperature": 350}
    assert spec.systems[0].trajectories[0].endswith("traj.xtc")


def test_reference_to_a_later_stage_is_an_order_error():
    text = INPUT + ("stages:\n  - {stage: coordination, cutoff_from: rdf_li_o}\n"
                    "  - {stage: rdf, id: rdf_li_o, select_a: name Li, select_b: name O}\n")
    with pytest.raises(PipelineSpecError, match=r"line 4: 'stages\[0\]\.cutoff_from' refers to stage 'rdf_li_o', "
                                                r"but it comes later \(line 5\); move it before this stage"):
        parse(text)


def test_reference_to_a_stage_of_the_wrong_type():
    text = INPUT + "stages:\n  - info\n  - {stage: coordination, cutoff_from: info}\n"
    with pytest.raises(PipelineSpecError, match=r"line 5: 'stages\[1\]\.cutoff_from' must name a 'rdf' stage; "
                                                r"'info' \(line 4\) is a 'info' stage"):
        parse(text)


def test_misspelt_reference_suggests_id():
    text = (INPUT + "stages:\n  - {stage: rdf, id: rdf_li_o, select_a: name Li}\n"
            "  - {stage: coordination, cutoff_from: rdf_lio}\n")
    with pytest.raises(PipelineSpecError, match=r"no stage has that id\. Did you mean 'rdf_li_o'\?"):
        parse(text)


def test_cutoff_and_cutoff_from_are_exclusive():
    text = INPUT + ("stages:\n  - {stage: rdf, select_a: name Li}\n"
                    "  - stage: coordination\n    cutoff: 3.0\n    cutoff_from: rdf\n")
    with pytest.raises(PipelineSpecError, match=r"line 7: 'stages\[1\]\.cutoff_from' of stage 'coordination' "
                                                r"cannot be combined with 'cutoff'"):
        parse(text)


@pytest.fixture()
def dependent_stage():
    """A stand-in stage ('needs_graphs') that requires an earlier (built-in) 'graphs' stage."""
    register_stage("needs_graphs", params={"lag": Param("float", 10.0, unit="ps", positive=True)},
                   requires=("graphs",), frames=False)(lambda ctx, p: StageOutput(data={}))
    yield
    unregister_stage("needs_graphs")


def test_stage_requires_an_earlier_stage(dependent_stage):
    with pytest.raises(PipelineSpecError, match=r"line 5: 'stages\[1\]\.stage' 'needs_graphs' requires a 'graphs' "
                                                r"stage before it"):
        parse(INPUT + "stages:\n  - info\n  - needs_graphs\n  - graphs\n")
    spec = parse(INPUT + "stages:\n  - graphs\n  - {stage: needs_graphs, lag: 5}\n")
    assert spec.stages[1].params == {"lag": 5.0}


def test_duplicate_ids_keys_and_system_names():
    with pytest.raises(PipelineSpecError, match=r"line 5: 'stages\[1\]\.id' 'info' is used twice \(first on line 4\)"):
        parse(INPUT + "stages:\n  - info\n  - info\n")
    with pytest.raises(PipelineSpecError, match=r"line 4: 'yaml' is not valid YAML: duplicate key 'stages' "
                                                r"\(first on line 3\)"):
        parse(INPUT + "stages: [info]\nstages: [info]\n")
    with pytest.raises(PipelineSpecError, match=r"line 3: 'inputs' define system 'spe_sample' twice"):
        parse("inputs:\n  - bundled: spe_sample\n  - bundled: true\nstages: [info]\n")


@pytest.mark.parametrize("stage", ["transport", "fes"])
def test_a_stage_temperature_outside_the_physical_range_names_the_key(stage):
    with pytest.raises(PipelineSpecError) as info:
        parse(INPUT + f"stages:\n  - stage: {stage}\n    temperature: 1.0e-30\n")
    assert (f"'stages[0].temperature' of stage '{stage}' must be a float in (1, 10000) K or None. Got 1e-30 "
            "instead.") in str(info.value)


def test_metadata_and_bundled_checks():
    with pytest.raises(PipelineSpecError, match=r"line 4: 'inputs\[0\]\.metadata\.temperature' must be a number in "
                                                r"\(1, 10000\) K; got -5"):
        parse("inputs:\n  - bundled: spe_sample\n    metadata:\n      temperature: -5\nstages: [info]\n")
    with pytest.raises(PipelineSpecError, match=r"line 4: 'inputs\[0\]\.metadata\.temperature' must be a number in "
                                                r"\(1, 10000\) K; got 1e-30"):
        parse("inputs:\n  - bundled: spe_sample\n    metadata:\n      temperature: 1.0e-30\nstages: [info]\n")
    with pytest.raises(PipelineSpecError, match=r"line 2: 'inputs\[0\]\.bundled' names 'spe_sampel'.*"
                                                r"Did you mean 'spe_sample'\?"):
        parse("inputs:\n  - bundled: spe_sampel\nstages: [info]\n")


def test_load_pipeline_file_errors_name_the_file(tmp_path):
    path = write_pipeline(tmp_path, INPUT + "stages: [infoo]\n")
    with pytest.raises(PipelineSpecError, match=r"pipeline\.yaml, line 3: .*Did you mean 'info'\?"):
        load_pipeline(path)
    with pytest.raises(FileNotFoundError, match=r"Pipeline file '.*missing\.yaml' does not exist"):
        load_pipeline(tmp_path / "missing.yaml")


def test_msm_before_the_graphs_it_uses_is_an_order_error():
    text = INPUT + ("stages:\n  - {stage: msm, model: graph, graphs_from: g}\n"
                    "  - {stage: graphs, id: g, r_max: 8.0}\n")
    with pytest.raises(PipelineSpecError, match=r"line 4: 'stages\[0\]\.graphs_from' refers to stage 'g', "
                                                r"but it comes later \(line 5\); move it before this stage"):
        parse(text)
    text = INPUT + "stages:\n  - {stage: graphs, id: g}\n  - {stage: msm, model: tica, graphs_from: g}\n"
    with pytest.raises(PipelineSpecError,
                       match=r"'stages\[1\]\.graphs_from' of stage 'msm' is used only by model: graph"):
        parse(text)


def test_bundled_allatom_pipeline_is_valid():
    spec = load_pipeline(bundled_pipeline("spe_allatom"))
    assert [s.stage for s in spec.stages] == ["info", "rdf", "rdf", "rdf", "coordination", "coordination",
                                             "solvation", "shells", "msd", "msd", "transport"]
    system = spec.systems[0]
    assert system.name == "spe_aa_sample" and system.metadata["temperature"] == 400.0
    assert system.metadata["charges"] == {"LI": 0.8, "TFSI": -0.8}
    by_id = {s.id: s for s in spec.stages}
    assert by_id["transport"].params["per_molecule"] is True and by_id["msd_tfsi"].params["per_molecule"] is True
    assert by_id["coordination_oe"].params["cutoff_from"] == "rdf_li_oe"
