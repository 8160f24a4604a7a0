"""A frame range that selects nothing is found by `trajml run --check`, not in the middle of a batch."""

from __future__ import annotations

import pytest
from pipeline_helpers import batch_yaml, make_systems, write_pipeline

from trajml.pipelines import load_pipeline
from trajml.pipelines.spec import PipelineSpecError


@pytest.mark.parametrize("stop", [5, 10])
def test_a_stop_not_after_start_is_refused_with_its_line_and_key(tmp_path, stop):
    make_systems(tmp_path, 1)
    stages = f"stages:\n  - {{stage: rdf, select_a: name Li, select_b: name O, start: 10, stop: {stop}}}\n"
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), stages))
    with pytest.raises(PipelineSpecError, match=(r"pipeline.yaml, line \d+: 'stages\[0\]\.stop' of stage 'rdf' must be "
                                                 rf"greater than 'start' \(10\): .* Got {stop} instead\.")):
        load_pipeline(path)


def test_a_stop_after_start_passes(tmp_path):
    make_systems(tmp_path, 1)
    stages = "stages:\n  - {stage: rdf, select_a: name Li, select_b: name O, start: 10, stop: 11}\n"
    spec = load_pipeline(write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out"), stages)))
    assert (spec.stages[0].params["start"], spec.stages[0].params["stop"]) == (10, 11)
