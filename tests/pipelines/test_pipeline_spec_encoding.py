"""A pipeline file that is not UTF-8 is refused naming the file, the line and the byte (not the codec's words alone)."""

from __future__ import annotations

import pytest

from trajml.pipelines import load_pipeline
from trajml.pipelines.spec import PipelineSpecError


def test_a_latin1_byte_is_named_with_its_file_and_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"version: 1\nname: x\n# caf\xe9\ninputs: []\n")
    with pytest.raises(PipelineSpecError, match=(r"p\.yaml, line 3: 'pipeline' is not UTF-8 text: byte 0xe9 at "
                                                 r"offset 24 \(invalid continuation byte\)")):
        load_pipeline(path)


def test_utf8_text_with_accents_still_loads_to_its_own_problems(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nname: café\n", encoding="utf-8")
    with pytest.raises(PipelineSpecError) as exc:
        load_pipeline(path)
    assert "UTF-8" not in str(exc.value) and "inputs" in str(exc.value)
