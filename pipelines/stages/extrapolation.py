"""Extrapolation stage: long-run transport predicted from this system's short run by a trained
multitask model (``trajml extrapolate train``), as in Xie et al. 2022.

The short-run values come from earlier stages of the same pipeline (``msd`` → log10 D_Li in
Å²/ps; ``transport`` → log10 σ in S/m and t₊); the repeat-unit graph and any global features
the model was trained with come from the system's metadata (``smiles`` or ``beads``, and one
entry per feature name) or the stage's own ``graph``. The stored result is keyed by the model's
path, not its contents: give a retrained model a new file name (or rerun without resume).
"""

from __future__ import annotations

import math
import os
from typing import Any

from trajml.pipelines.registry import REQUIRED, Param, StageContext, StageOutput, register_stage

__all__ = ["extrapolate"]


def _short_run_labels(ctx: StageContext, params: dict[str, Any]) -> dict[str, float]:
    """Short-run task values from the referenced msd and transport stages."""
    labels: dict[str, float] = {}
    if params["msd_from"] is not None:
        d = ctx.dependencies["msd_from"]["diffusion"]["D_A2_ps"]
        if d is not None and math.isfinite(d) and d > 0:
            labels["log10_D_Li"] = math.log10(d)
    if params["transport_from"] is not None:
        t = ctx.dependencies["transport_from"]
        sigma = t.get("sigma_S_m")
        if sigma is not None and math.isfinite(sigma) and sigma > 0:
            labels["log10_sigma"] = math.log10(sigma)
        if t.get("transference") is not None and math.isfinite(t["transference"]):
            labels["transference"] = float(t["transference"])
    return labels


@register_stage("extrapolate", params={
    "model": Param("str", REQUIRED, "trained MultitaskModel file (trajml extrapolate train), relative to the "
                   "working directory"),
    "graph": Param("str", None, "repeat-unit SMILES with two '*' (null: the system's metadata 'smiles', or "
                   "'beads' for coarse-grained models)", nullable=True),
    "msd_from": Param("stage:msd", None, "id of an earlier msd stage: short-run D of Li⁺", nullable=True),
    "transport_from": Param("stage:transport", None, "id of an earlier transport stage: short-run σ and t₊",
                            nullable=True),
}, metadata=("smiles", "beads"), frames=False)
def extrapolate(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Predicted long-run log10 σ, log10 D and t₊ (with standard deviations) of this system."""
    import numpy as np

    from trajml.extrapolation.deep import MultitaskModel
    from trajml.extrapolation.tables import TASK_UNITS, ExtrapolationTable

    path = os.path.abspath(params["model"])
    if not os.path.exists(path):
        raise FileNotFoundError(f"The 'model' file '{path}' of the extrapolate stage does not exist; train one with "
                                "trajml extrapolate train.")
    model = MultitaskModel.load(path)
    meta = ctx.system.metadata
    key = "smiles" if model.graph_kind == "smiles" else "beads"
    graph = params["graph"] if params["graph"] is not None else meta.get(key)
    if graph is None:
        raise ValueError(f"The extrapolate stage needs the repeat unit of system {ctx.system.name!r}: give 'graph' or "
                         f"the system's metadata '{key}'.")
    missing = [f for f in model.feature_names if f not in meta]
    if missing:
        raise ValueError(f"The model was trained with features {list(model.feature_names)}; system "
                         f"{ctx.system.name!r} has no metadata {missing}.")
    labels = _short_run_labels(ctx, params)
    low = np.array([[labels.get(t, np.nan) for t in model.tasks]])
    table = ExtrapolationTable(ids=(ctx.system.name,), graphs=(graph if key == "smiles" else tuple(graph),),
                               graph_kind=model.graph_kind, feature_names=tuple(model.feature_names),
                               features=np.array([[float(meta[f]) for f in model.feature_names]]),
                               tasks=tuple(model.tasks), low=low, high=np.full_like(low, np.nan))
    pred = model.predict(table)
    numbers: dict[str, tuple[float, str]] = {}
    for j, task in enumerate(model.tasks):
        numbers[f"{task}_long"] = (float(pred.high[0, j]), TASK_UNITS[task])
        numbers[f"{task}_long_std"] = (float(pred.high_std[0, j]), TASK_UNITS[task])
        if math.isfinite(low[0, j]):
            numbers[f"{task}_short"] = (float(low[0, j]), TASK_UNITS[task])
    data = {"model": path, "graph": graph if key == "smiles" else list(graph), "tasks": list(model.tasks),
            "short": {t: labels.get(t) for t in model.tasks},
            "long": {t: float(pred.high[0, j]) for j, t in enumerate(model.tasks)},
            "long_std": {t: float(pred.high_std[0, j]) for j, t in enumerate(model.tasks)},
            "units": {t: TASK_UNITS[t] for t in model.tasks}}
    return StageOutput(data=data, numbers=numbers)
