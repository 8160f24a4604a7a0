"""The ``shells`` stage, and species in a ``coordination`` stage: YAML gives the Python API's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from pipeline_helpers import batch_yaml, make_systems, results_by_stage, run_serial

from trajml.features import Coordination, SolvationShells
from trajml.io import open_source
from trajml.parallel import run

STAGES = """\
stages:
  - stage: shells
    species: {O: name O, anion: 'any:name TFSI'}
    cutoffs: {O: 4.5, anion: 7.0}
    chains: O
    stop: 6
  - {stage: coordination, select_b: 'any:name O', cutoff: 4.5, stop: 6}
"""


def test_shells_stage_equals_the_api(tmp_path):
    sims = make_systems(tmp_path, 1)
    summary = run_serial(tmp_path, "shells.yaml", batch_yaml(str(tmp_path / "out"), STAGES))
    assert summary.failures == []
    data = results_by_stage(tmp_path / "out", summary)["shells"]
    src = open_source(str(sims / "sys0" / "system.psf"), str(sims / "sys0" / "traj.xtc"))
    ref = run(SolvationShells("name Li", {"O": "name O", "anion": "any:name TFSI"}, cutoffs={"O": 4.5, "anion": 7.0},
                              chains="O"), src, stop=6, progress=False)
    body = data.get("data", data)
    assert body["fraction_agg"] == pytest.approx(ref.fraction_agg, abs=1e-15)
    np.testing.assert_array_equal(body["compositions"], ref.compositions, strict=True)
    coord = results_by_stage(tmp_path / "out", summary)["coordination"]
    coord = coord.get("data", coord)
    ref = run(Coordination("name Li", "any:name O", cutoff=4.5), src, stop=6, progress=False)
    assert coord["n_ligands"] == ref.n_ligands < len(src.select("name O"))
    assert coord["mean"] == pytest.approx(ref.mean, abs=1e-15)
