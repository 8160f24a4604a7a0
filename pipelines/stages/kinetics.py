"""Kinetics and free-energy stages: graphs (neighbour-graph statistics), msm (Li⁺ solvation-state
kinetics by TICA → MSM (the default), GraphVAMPNet or MLP VAMPNet) and fes (free energy of Li⁺ over its shell
counts, with minima).

Runs :func:`trajml.workflows.kinetic_analysis` on one system: implied timescales against the lag,
a Chapman–Kolmogorov test, populations and per-state shell composition, with their figures in
the report, and its diagnostics (``diagnostics`` records; the failed ones, and the workflow's own
warnings in YAML words, among the stage's ``warnings``). Lags in frames (of the analysed frames),
times in ps, lengths in Å.
"""

from __future__ import annotations

import warnings
from typing import Any

from trajml._threads import torch_threads
from trajml._validation import temperature_param
from trajml.pipelines.registry import Param, StageContext, StageOutput, analysis_params, register_stage
from trajml.pipelines.stages._common import _data
from trajml.plotting import use_offscreen_backend

__all__ = ["graphs", "msm", "fes"]


def _neighbor_graphs() -> Any:
    from trajml.features import NeighborGraphs

    return NeighborGraphs


@register_stage("graphs", analysis=_neighbor_graphs())
def graphs(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Periodic neighbour graphs of all atoms: degree distribution and the share of rows cut at max_neighbors.

    Defines the graphs a later ``msm`` stage trains on (its ``graphs_from``), so a cut-off that
    truncates too many rows shows up here first.
    """
    from trajml.features import NeighborGraphs
    from trajml.kinetics.diagnostics import check_graph_truncation
    from trajml.pipelines.stages._common import _run

    res = _run(NeighborGraphs(**analysis_params(params, "graphs")), ctx, params)
    numbers = {"mean_degree": (float(res.mean_degree), ""), "fraction_truncated": (float(res.fraction_truncated), ""),
               "r_max": (float(res.r_max), "Å")}
    check = check_graph_truncation(float(res.fraction_truncated), int(res.max_neighbors), float(res.r_max))
    return StageOutput(data=_data(res, diagnostics=[check.to_dict()], warnings=[] if check.passed else [check.message]),
                       numbers=numbers,
                       tables={"degree": {"degree": res.degree, "probability": res.probability}})


def _check_msm(p: dict[str, Any]) -> list[tuple[str, str]]:
    if p.get("graphs_from") is not None and p.get("model") != "graph":
        return [("graphs_from", "is used only by model: graph")]
    return []


def _workflow() -> Any:
    from trajml.workflows.kinetics import KineticWorkflow

    return KineticWorkflow


@register_stage("msm", analysis=_workflow(), skip=("graph_dir",), params={
    "graphs_from": Param("stage:graphs", None, "id of an earlier graphs stage whose r_max and max_neighbors the "
                         "graph model uses", nullable=True),
}, check=_check_msm, version=2)  # 2: the CK test's arrays name their dimensions (lags, set, set_to, state)
def msm(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Kinetic states of the targets, their implied timescales, CK test, populations and shells."""
    import numpy as np

    # One thread: units already run in parallel, and torch's workers would spin against theirs.
    threads = 1 if params["model"] in ("graph", "mlp") else None
    with torch_threads(threads), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", UserWarning)
        res = _analyse(ctx, params)
    # in the pipeline's words (``epochs: 53``) where the warning has them
    said = [str(getattr(w.message, "yaml_message", w.message)) for w in seen if issubclass(w.category, UserWarning)]
    its = res.timescales
    i = int(np.argmin(np.abs(its.lags - res.lag)))
    numbers: dict[str, tuple[float, str]] = {"lag": (res.lag * res.dt_ps, "ps")}
    for k, t in enumerate(its.timescales_ps[i]):
        numbers[f"t{k + 2}"] = (float(t), "ps")
    for s, p in enumerate(res.populations):
        numbers[f"population_{s}"] = (float(p), "")
    interp = res.interpretation
    tables = {"timescales": {"lag_ps": its.lags_ps, **{f"t{k + 2}_ps": its.timescales_ps[:, k]
                                                        for k in range(its.timescales_ps.shape[1])}},
              "states": {"state": np.arange(len(res.populations)), "stationary_population": res.populations,
                         "occupation": interp.population,
                         **{f"shell_{name}": interp.shell_count_mean[:, j] for j, name in enumerate(interp.species)},
                         "net_charge_e": interp.net_charge_mean}}
    data = {"model": res.model_kind, "lag_frames": res.lag, "dt_ps": res.dt_ps, "summary": res.summary(),
            "timescales": _data(its), "ck_test": _data(res.ck), "populations": res.populations.tolist(),
            "states": _data(interp), "diagnostics": [d.to_dict() for d in res.diagnostics],
            "warnings": list(dict.fromkeys(said + res.warnings))}
    if res.model_kind == "graph":
        data["graph"] = {"r_max": float(res.model.r_max), "max_neighbors": int(res.model.max_neighbors)}
    use_offscreen_backend()  # workers have no display
    return StageOutput(data=data, numbers=numbers, tables=tables, figures=res.figures())


def _analyse(ctx: StageContext, params: dict[str, Any]) -> Any:
    from trajml.workflows.kinetics import KineticWorkflow

    kwargs = analysis_params(params, "msm")
    if params["graphs_from"] is not None:
        g = ctx.dependencies["graphs_from"]
        kwargs.update(r_max=float(g["r_max"]), max_neighbors=int(g["max_neighbors"]))
    return KineticWorkflow(**kwargs).run(ctx.source, start=params["start"], stop=params["stop"], step=params["step"],
                                         chunk_size=params["chunk_size"] or 100, progress=False)


@register_stage("fes", params={
    "select": Param("selection", "name Li", "atoms whose free-energy landscape is mapped", aliases=("targets",)),
    "select_x": Param("selection", "name O", "atoms counted around each target for the first CV",
                      aliases=("x",)),
    "select_y": Param("selection", "name TFSI", "atoms counted for the second CV (must not overlap the first)",
                      aliases=("y",)),
    "cutoff_x": Param("float", None, "shell radius of the first CV", unit="Å", positive=True, nullable=True,
                      none_help="first minimum of g(r)", aliases=("x_cutoff",)),
    "cutoff_y": Param("float", None, "shell radius of the second CV", unit="Å", positive=True, nullable=True,
                      none_help="first minimum of g(r)", aliases=("y_cutoff",)),
    "method": Param("str", "gp", "hist, kde, gp or nn", choices=("hist", "kde", "gp", "nn")),
    "temperature": temperature_param("temperature (null: the system's metadata)", default=None, nullable=True),
}, metadata=("temperature",), version=3)
def fes(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Free energy of the targets over (select_x within cutoff_x, select_y within cutoff_y), with its minima.

    A cut-off not given is the first minimum of that pair's g(r), the same first shell every other
    analysis of the pair uses (:func:`~trajml.features.first_shell.first_shell`).
    """
    import numpy as np

    from trajml.features import ShellCounts
    from trajml.features.first_shell import first_shell
    from trajml.fes import estimator, stack_cvs

    temperature = params["temperature"] if params["temperature"] is not None else ctx.system.metadata.get(
        "temperature")
    if temperature is None:
        raise ValueError(f"The fes stage needs a temperature for system {ctx.system.name!r}: give 'temperature' (K) "
                         "or the system's metadata 'temperature'.")
    cut = {axis: first_shell(ctx.source, params["select"], params[f"select_{axis}"], cutoff=params[f"cutoff_{axis}"],
                             owner=f"stage 'fes' of system {ctx.system.name!r}", name=f"cutoff_{axis}")
           for axis in ("x", "y")}
    # One pass counts both species at both radii; each CV is its species' column at its own radius.
    radii = sorted({cut["x"].cutoff, cut["y"].cutoff})
    counts = ShellCounts(params["select"], {"x": params["select_x"], "y": params["select_y"]}, radii=radii)
    feats = np.concatenate(counts.compute(ctx.source, start=params["start"], stop=params["stop"], step=params["step"],
                                          chunk_size=params["chunk_size"] or 100))
    cvs = stack_cvs(feats[..., radii.index(cut["x"].cutoff)],
                    feats[..., len(radii) + radii.index(cut["y"].cutoff)])
    model = estimator(params["method"], temperature=float(temperature), cv_units="count").fit(cvs).fetch_model()
    minima = model.minima()
    numbers: dict[str, tuple[float, str]] = {"temperature": (float(temperature), "K"),
                                             "n_minima": (float(len(minima.points)), "")}
    for k, (p, f) in enumerate(zip(minima.points, minima.free_energy_kJmol)):
        numbers[f"min{k}_x"], numbers[f"min{k}_y"] = (float(p[0]), ""), (float(p[1]), "")
        numbers[f"min{k}_F"] = (float(f), "kJ/mol")
    from trajml.plotting import plot_fes

    use_offscreen_backend()  # workers have no display

    ax = plot_fes(model, unit="kJ/mol",  # the stage's numbers are in kJ/mol
                  minima=minima, cv_labels=[f"{params['select_x']} within {cut['x'].cutoff:.3g} Å",
                                            f"{params['select_y']} within {cut['y'].cutoff:.3g} Å"])
    fig = ax.figure if hasattr(ax, "figure") else ax
    data = {"method": params["method"], "temperature_K": float(temperature), "n_samples": int(len(cvs)),
            "minima": {"points": minima.points.tolist(), "free_energy_kJmol": minima.free_energy_kJmol.tolist()},
            # the grid's dimensions are its two CVs, whose bin centres are their coordinates (arrays.nc)
            "grid": {"axes": [a.tolist() for a in model.axes], "cv_x": model.axes[0], "cv_y": model.axes[1],
                     "free_energy_kJmol": model.free_energy_kJmol, "uncertainty_kJmol": model.uncertainty_kJmol,
                     "units": {"free_energy_kJmol": "kJ/mol", "uncertainty_kJmol": "kJ/mol", "cv_x": "count",
                               "cv_y": "count"},
                     "dims": {"cv_x": ["cv_x"], "cv_y": ["cv_y"], "free_energy_kJmol": ["cv_x", "cv_y"],
                              "uncertainty_kJmol": ["cv_x", "cv_y"]}},
            "first_shell": {axis: shell.describe() for axis, shell in cut.items()},
            "cutoff_x": cut["x"].cutoff, "cutoff_y": cut["y"].cutoff,
            "units": {"free_energy_kJmol": "kJ/mol", "uncertainty_kJmol": "kJ/mol", "temperature_K": "K",
                      "axes": "count", "cutoff_x": "Å", "cutoff_y": "Å"}}
    return StageOutput(data=data, numbers=numbers, figures={"fes": fig})
