"""store_precision: one setting, three spellings (YAML key, --store-precision, run_pipeline keyword).

Oracles: the arrays a test stage hands to the store, NumPy's float64 -> float32 rounding, and which
units a second run computes or reuses (the precision is part of each key).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr
from pipeline_helpers import batch_yaml, make_systems, write_pipeline

from trajml.cli import main
from trajml.errors import InvalidParameterError
from trajml.pipelines import run_pipeline
from trajml.pipelines.spec import PipelineSpecError, load_pipeline
from trajml.pipelines.stages import Param, StageOutput, register_stage, unregister_stage
from trajml.store.arrays import ARRAYS
from trajml.store.results import ResultStore

VALUES = np.random.default_rng(3).random((4, 50)) * 7.0
STAGES = "stages:\n  - {stage: noise}\n  - {stage: noise_sum, noise: noise}\n"


@pytest.fixture(autouse=True)
def noise_stages():
    """``noise`` stores VALUES (Å); ``noise_sum`` stores the sum of what it reads back from ``noise``."""

    @register_stage("noise", frames=False)
    def noise(ctx, params):
        return StageOutput({"values": VALUES, "units": {"values": "Å"}, "dims": {"values": ["block", "lag"]}})

    @register_stage("noise_sum", params={"noise": Param("stage:noise", None, "the noise stage", nullable=True)},
                    frames=False)
    def noise_sum(ctx, params):
        return StageOutput({"sums": ctx.dependencies["noise"]["values"].sum(axis=1)})

    yield
    unregister_stage("noise")
    unregister_stage("noise_sum")


def _arrays(out: str, stage: str) -> tuple[ResultStore, str]:
    import json

    with open(os.path.join(out, "summary.json"), encoding="utf-8") as fh:
        key = next(o["key"] for o in json.load(fh)["outcomes"] if o["stage_id"] == stage)
    store = ResultStore(os.path.join(out, "store"))
    return store, key


def test_store_precision_from_the_file_the_keyword_and_the_command_line(tmp_path):
    make_systems(tmp_path, 1)
    out = str(tmp_path / "out")
    pipeline = write_pipeline(tmp_path, batch_yaml(out, STAGES) + "store_precision: float32\n")
    assert load_pipeline(pipeline).store_precision == "float32"
    assert run_pipeline(pipeline, scheduler="serial", progress=False, report=False).computed == 2
    store, key = _arrays(out, "noise")
    with xr.open_dataset(os.path.join(store.path(key), ARRAYS)) as ds:
        assert ds["values"].dtype == np.float32 and ds["values"].attrs["units"] == "Å"
        assert ds["values"].dims == ("block", "lag") and ds.attrs["store_precision"] == "float32"
    rounded = VALUES.astype(np.float32).astype(np.float64)
    assert np.array_equal(store.get(key).data["values"], rounded)
    store, key = _arrays(out, "noise_sum")  # the dependent unit read the rounded values
    assert np.array_equal(store.get(key).data["sums"], rounded.sum(axis=1).astype(np.float32).astype(np.float64))
    # The keyword wins over the file: lossless units have other keys, so both are computed again.
    summary = run_pipeline(pipeline, scheduler="serial", progress=False, report=False, store_precision="float64")
    assert summary.computed == 2 and summary.reused == 0
    store, key = _arrays(out, "noise")
    assert np.array_equal(store.get(key).data["values"], VALUES)  # bit for bit
    # ... and the command line too: float32 again finds its units stored
    assert main(["run", str(pipeline), "--scheduler", "serial", "--no-progress", "--store-precision", "float32"]) == 0
    store, key = _arrays(out, "noise")
    assert np.array_equal(store.get(key).data["values"], rounded)


def test_bad_store_precisions_name_the_setting(tmp_path, capsys):
    make_systems(tmp_path, 1)
    bad = write_pipeline(tmp_path, batch_yaml("o", STAGES) + "store_precision: float16\n")
    with pytest.raises(PipelineSpecError, match=r"line 10: 'store_precision' must be one of .*float64.*float32.*"
                                                r"Got 'float16'"):
        load_pipeline(bad)
    good = write_pipeline(tmp_path, batch_yaml("o", STAGES), "good.yaml")
    with pytest.raises(InvalidParameterError, match=r"The 'store_precision' parameter of run_pipeline must be one "
                                                    r"of .*Got 'half'"):
        run_pipeline(good, scheduler="serial", store_precision="half")
    with pytest.raises(SystemExit):
        main(["run", str(good), "--store-precision", "float16"])
    assert "--store-precision" in capsys.readouterr().err
