"""Fixtures of the pipeline tests (helpers live in pipeline_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import batch_yaml, make_systems, write_pipeline


@pytest.fixture()
def batch(tmp_path: Path) -> Path:
    """Three sample copies and a pipeline file over them in ``tmp_path``."""
    make_systems(tmp_path, 3)
    write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out")))
    return tmp_path
