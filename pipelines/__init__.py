"""Declarative batch pipelines over many simulations (installed as ``trajml.pipelines``).

A pipeline is a YAML file naming inputs (simulation folders, explicit
topology/trajectory pairs, or the bundled sample, each with metadata), stages
(registered analyses with validated parameters) and an output folder. The
runner plans one unit per (system, stage), reuses every unit already in the
content-addressed store, runs the rest on Dask (a LocalCluster, processes, an
existing cluster, or serially), and writes a static HTML report.

Examples
--------
>>> from trajml.pipelines import bundled_pipeline, load_pipeline
>>> spec = load_pipeline(bundled_pipeline("spe_demo"))
>>> [s.id for s in spec.stages]
['info', 'rdf_li_o', 'rdf_li_tfsi', 'coordination', 'solvation']
"""

from __future__ import annotations

import os

from trajml.pipelines.runner import Outcome, RunSummary, run_pipeline
from trajml.pipelines.spec import PipelineSpec, PipelineSpecError, load_pipeline, parse_pipeline
from trajml.pipelines.stages import Param, StageContext, StageOutput, get_stage, register_stage, stage_names
from trajml.store.results import ResultStore, unit_key

__all__ = [
    "run_pipeline", "RunSummary", "Outcome", "load_pipeline", "parse_pipeline", "PipelineSpec",
    "PipelineSpecError", "register_stage", "get_stage", "stage_names", "Param", "StageContext", "StageOutput",
    "ResultStore", "unit_key", "bundled_pipeline", "BUNDLED_PIPELINES",
]

#: Pipelines shipped with trajml, by name.
BUNDLED_PIPELINES = ("spe_demo", "spe_allatom")


def bundled_pipeline(name: str) -> str:
    """Path of a pipeline YAML shipped with trajml (e.g. ``"spe_demo"``).

    Parameters
    ----------
    name : str
        One of :data:`BUNDLED_PIPELINES`.

    Raises
    ------
    KeyError
        Unknown name; the message lists the bundled pipelines.
    """
    if name not in BUNDLED_PIPELINES:
        raise KeyError(f"No bundled pipeline named {name!r}; bundled: {', '.join(BUNDLED_PIPELINES)}.")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.yaml")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The bundled pipeline '{name}.yaml' is missing from this installation; "
                                "reinstall trajml (package data '*.yaml' of trajml.pipelines).")
    return path
