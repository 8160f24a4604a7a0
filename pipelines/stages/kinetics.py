"""Kinetics and free-energy stages: graphs (neighbour-graph statistics), msm (Li⁺ solvation-state
kinetics by GraphVAMPNet, MLP VAMPNet or TICA → MSM) and fes (free energy of Li⁺ over its shell
counts, with minima).

Runs :func:`trajml.models.kinetic_analysis` on one system: implied timescales against the lag,
a Chapman–Kolmogorov test, populations and per-state shell composition, with their figures in
the report. Lags in frames (of the analysed frames), times in ps, lengths in Å.
"""

from __future__ import annotations

from typing import Any

from trajml._threads import torch_threads
from trajml.pipelines.registry import REQUIRED, Param, StageContext, StageOutput, register_stage
from trajml.pipelines.stages._common import _SEL, _data
from trajml.plotting import use_offscreen_backend

__all__ = ["graphs", "msm", "fes"]


@register_stage("graphs", params={
    "r_max": Param("float", 9.0, "neighbour cut-off", unit="Å", positive=True),
    "max_neighbors": Param("int", 24, "neighbours kept per atom (nearest first)", minimum=1),
})
def graphs(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Periodic neighbour graphs of all atoms: degree distribution and the share of rows cut at max_neighbors.

    Defines the graphs a later ``msm`` stage trains on (its ``graphs_from``), so a cut-off that
    truncates too many rows shows up here first.
    """
    from trajml.features import NeighborGraphs
    from trajml.pipelines.stages._common import _run

    res = _run(NeighborGraphs(None, r_max=params["r_max"], max_neighbors=params["max_neighbors"]), ctx, params)
    numbers = {"mean_degree": (float(res.mean_degree), ""), "fraction_truncated": (float(res.fraction_truncated), ""),
               "r_max": (float(res.r_max), "Å")}
    return StageOutput(data=_data(res), numbers=numbers,
                       tables={"degree": {"degree": res.degree, "probability": res.probability}})


def _graph_parameters(ctx: StageContext, params: dict[str, Any]) -> tuple[float | None, int]:
    if params["graphs_from"] is None:
        return params["r_max"], params["max_neighbors"]
    g = ctx.dependencies["graphs_from"]
    return float(g["r_max"]), int(g["max_neighbors"])


def _check_msm(p: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    if p.get("model") == "tica" and p.get("clusters", 0) < p.get("states", 0):
        problems.append(("clusters", "must be at least 'states' (PCCA+ groups clusters into states)"))
    if p.get("graphs_from") is not None and p.get("model") != "graph":
        problems.append(("graphs_from", "is used only by model: graph"))
    return problems


@register_stage("msm", params={
    "targets": Param("str", "name Li", f"atoms whose states are modelled ({_SEL})"),
    "states": Param("int", 3, "number of kinetic states", minimum=2),
    "lag": Param("int", 5, "model lag in analysed frames", minimum=1),
    "model": Param("str", "graph", "graph (GraphVAMPNet), mlp (VAMPNet on shell counts) or tica (TICA → MSM)",
                   choices=("graph", "mlp", "tica")),
    "epochs": Param("int", 20, "VAMPNet training epochs", minimum=1),
    "clusters": Param("int", 20, "k-means clusters of the tica model", minimum=2),
    "r_shell": Param("float", None, "first-shell cut-off (null: first minimum of each g(r))", unit="Å",
                     positive=True, nullable=True),
    "r_max": Param("float", None, "graph cut-off (null: the largest first-shell cut-off)", unit="Å", positive=True,
                   nullable=True),
    "max_neighbors": Param("int", 24, "graph neighbours per atom", minimum=1),
    "graphs_from": Param("stage:graphs", None, "id of an earlier graphs stage whose r_max and max_neighbors the "
                         "graph model uses", nullable=True),
    "bootstrap": Param("int", 50, "bootstrap samples over target atoms", minimum=0),
    "seed": Param("int", 0, "seed of training, clustering and bootstrap", minimum=0),
}, check=_check_msm)
def msm(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Kinetic states of the targets, their implied timescales, CK test, populations and shells."""
    import numpy as np

    r_max, max_neighbors = _graph_parameters(ctx, params)
    # One thread: units already run in parallel, and torch's workers would spin against theirs.
    with torch_threads(1 if params["model"] in ("graph", "mlp") else None):
        res = _analyse(ctx, params, r_max, max_neighbors)
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
            "states": _data(interp)}
    if res.model_kind == "graph":
        data["graph"] = {"r_max": float(res.model.r_max), "max_neighbors": int(res.model.max_neighbors)}
    use_offscreen_backend()  # workers have no display
    return StageOutput(data=data, numbers=numbers, tables=tables, figures=res.figures())


def _analyse(ctx: StageContext, params: dict[str, Any], r_max: float | None, max_neighbors: int) -> Any:
    from trajml.workflows.kinetics import kinetic_analysis

    return kinetic_analysis(
        ctx.source, params["targets"], params["states"], params["lag"], model=params["model"],
        r_shell=params["r_shell"], n_bootstrap=params["bootstrap"], start=params["start"], stop=params["stop"],
        step=params["step"], chunk_size=params["chunk_size"] or 100, epochs=params["epochs"], n_clusters=params["clusters"],
        r_max=r_max, max_neighbors=max_neighbors, seed=params["seed"])


@register_stage("fes", params={
    "targets": Param("str", "name Li", f"atoms whose free-energy landscape is mapped ({_SEL})"),
    "x": Param("str", "name O", f"atoms counted around each target for the first CV ({_SEL})"),
    "y": Param("str", "name TFSI", f"atoms counted for the second CV ({_SEL}); the two must not overlap"),
    "x_cutoff": Param("float", REQUIRED, "shell radius of the first CV", unit="Å", positive=True),
    "y_cutoff": Param("float", REQUIRED, "shell radius of the second CV", unit="Å", positive=True),
    "method": Param("str", "gp", "hist, kde, gp or nn", choices=("hist", "kde", "gp", "nn")),
    "temperature": Param("float", None, "temperature (null: the system's metadata)", unit="K", positive=True,
                         nullable=True),
}, metadata=("temperature",))
def fes(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Free energy of the targets over (count of x within x_cutoff, count of y within y_cutoff), its minima."""
    import numpy as np

    from trajml.features import ShellCounts
    from trajml.fes import estimator, stack_cvs

    temperature = params["temperature"] if params["temperature"] is not None else ctx.system.metadata.get(
        "temperature")
    if temperature is None:
        raise ValueError(f"The fes stage needs a temperature for system {ctx.system.name!r}: give 'temperature' (K) "
                         "or the system's metadata 'temperature'.")
    # One pass counts both species at both radii; each CV is its species' column at its own radius.
    radii = sorted({params["x_cutoff"], params["y_cutoff"]})
    feats = np.concatenate(ShellCounts(params["targets"], {"x": params["x"], "y": params["y"]}, radii=radii).compute(
        ctx.source, start=params["start"], stop=params["stop"], step=params["step"], chunk_size=params["chunk_size"] or 100))
    cvs = stack_cvs(feats[..., radii.index(params["x_cutoff"])],
                    feats[..., len(radii) + radii.index(params["y_cutoff"])])
    model = estimator(params["method"], temperature=float(temperature), cv_units="count").fit(cvs).fetch_model()
    minima = model.minima()
    numbers: dict[str, tuple[float, str]] = {"temperature": (float(temperature), "K"),
                                             "n_minima": (float(len(minima.points)), "")}
    for k, (p, f) in enumerate(zip(minima.points, minima.free_energy_kJmol)):
        numbers[f"min{k}_x"], numbers[f"min{k}_y"] = (float(p[0]), ""), (float(p[1]), "")
        numbers[f"min{k}_F"] = (float(f), "kJ/mol")
    from trajml.plotting import plot_fes

    use_offscreen_backend()  # workers have no display

    ax = plot_fes(model, minima=minima, cv_labels=[f"{params['x']} within {params['x_cutoff']:g} Å",
                                                   f"{params['y']} within {params['y_cutoff']:g} Å"])
    fig = ax.figure if hasattr(ax, "figure") else ax
    data = {"method": params["method"], "temperature_K": float(temperature), "n_samples": int(len(cvs)),
            "minima": {"points": minima.points.tolist(), "free_energy_kJmol": minima.free_energy_kJmol.tolist()},
            "grid": {"axes": [a.tolist() for a in model.axes], "free_energy_kJmol": model.free_energy_kJmol.tolist(),
                     "uncertainty_kJmol": model.uncertainty_kJmol.tolist()},
            "units": {"free_energy_kJmol": "kJ/mol", "uncertainty_kJmol": "kJ/mol", "temperature_K": "K",
                      "axes": "count"}}
    return StageOutput(data=data, numbers=numbers, figures={"fes": fig})
