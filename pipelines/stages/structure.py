"""Structure stages: info, rdf, coordination, solvation, shells.

Each runs one trajml featurizer over one system, its chunks on the unit's scheduler
(the pipeline's cluster when the unit runs on one, :mod:`trajml.pipelines.unit_parallel`),
and returns the result as JSON data, key numbers with units, CSV tables and PNG figures.
Lengths are in Å, times in ps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trajml.pipelines.registry import Param, StageContext, StageOutput, analysis_params, register_stage
from trajml.pipelines.stages._common import _cutoff_from, _data, _exclusive, _figure, _run

__all__ = ["info", "rdf", "coordination", "solvation", "shells"]


@register_stage("info", params={}, metadata=("charges",), version=2)  # 2: net charge from the topology
def info(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Frames, times, box volume and species counts of a system (and its net charge from metadata)."""
    from trajml.features import TrajectorySummary

    res = _run(TrajectorySummary(), ctx, params)
    src = ctx.source
    species = src.atoms.species_counts("names")
    times = [t for pair in res.time_range.values() for t in pair]
    duration = (max(times) - min(times)) if times else float("nan")
    numbers = {"n_atoms": (float(src.n_atoms), ""), "n_frames": (float(res.n_frames), ""),
               "duration": (float(duration), "ps"), "mean_volume": (float(res.mean_volume), "Å^3")}
    net = _net_charge(src, species, ctx.system.metadata.get("charges"))
    if net is not None:
        numbers["net_charge"] = (net, "e")
    data = _data(res, n_atoms=src.n_atoms, species=species, dt=src.dt, duration=duration)
    data["units"].update({"dt": "ps", "duration": "ps"})
    return StageOutput(data=data, numbers=numbers,
                       tables={"species": {"species": list(species), "count": list(species.values())}})


def _net_charge(src: Any, species: dict[str, int], charges: dict[str, Any] | None) -> float | None:
    """Net charge in e: the topology's partial charges summed, else the metadata's charges per species.

    Metadata charges are keyed by atom name (one per atom) or by residue name (one per molecule, as
    for a molecular ion); a key that names neither leaves the net charge unknown (None), never a
    partial sum.
    """
    table = src.atoms
    if table.charges is not None:
        return float(np.sum(table.charges, dtype=np.float64))
    if not charges:
        return None
    total = 0.0
    for key, q in charges.items():
        if key in species:
            total += species[key] * float(q)
        elif table.resnames is not None and np.any(table.resnames == key):
            total += np.unique(table.molecules[table.resnames == key]).size * float(q)
        else:
            return None
    return total


def _analysis_class(name: str) -> Any:
    import trajml.features as features

    return getattr(features, name)


@register_stage("rdf", analysis=_analysis_class("RDF"))
def rdf(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Radial distribution function g(r), running coordination number n(r) and the first shell."""
    from trajml.features import RDF

    res = _run(RDF(**analysis_params(params, "rdf")), ctx, params)
    numbers = {"first_peak_r": (res.first_peak_r, "Å"), "first_peak_g": (res.first_peak_g, ""),
               "first_min_r": (res.first_min_r, "Å"), "coordination_number": (res.coordination_number, "")}
    return StageOutput(data=_data(res), numbers=numbers, tables={"rdf": {"r": res.r, "g": res.g, "n": res.n}},
                       figures={"rdf": _figure("rdf", res)})


@register_stage("coordination", analysis=_analysis_class("Coordination"), skip=("keep_per_frame",), params={
    "cutoff_from": Param("stage:rdf", None, "id of an earlier rdf stage whose first minimum is the cut-off",
                         nullable=True),
}, check=_exclusive(("cutoff", "cutoff_from")))
def coordination(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Distribution of the number of ligand atoms within a cut-off of each centre atom."""
    from trajml.features import Coordination

    cutoff, how = _cutoff_from(ctx, params, "cutoff_from", "cutoff")
    res = _run(Coordination(**{**analysis_params(params, "coordination"), "cutoff": cutoff}), ctx, params)
    numbers = {"mean": (res.mean, ""), "std": (res.std, ""), "cutoff": (res.cutoff, "Å")}
    return StageOutput(data=_data(res, cutoff_origin=how), numbers=numbers,
                       tables={"coordination": {"count": res.count, "probability": res.probability,
                                                "occurrences": res.occurrences}},
                       figures={"coordination": _figure("coordination", res)})


@register_stage("solvation", analysis=_analysis_class("Solvation"), skip=("keep_per_frame",), params={
    "cutoff_o_from": Param("stage:rdf", None, "id of an earlier Li–O rdf stage", nullable=True),
    "cutoff_anion_from": Param("stage:rdf", None, "id of an earlier Li–anion rdf stage", nullable=True),
}, check=_exclusive(("cutoff_o", "cutoff_o_from"), ("cutoff_anion", "cutoff_anion_from")))
def solvation(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Li⁺ first-shell composition and ion-pair speciation (free / CIP / AGG)."""
    from trajml.features import Solvation

    cut_o, how_o = _cutoff_from(ctx, params, "cutoff_o_from", "cutoff_o")
    cut_a, how_a = _cutoff_from(ctx, params, "cutoff_anion_from", "cutoff_anion")
    res = _run(Solvation(**{**analysis_params(params, "solvation"), "cutoff_o": cut_o, "cutoff_anion": cut_a}),
               ctx, params)
    numbers = {k: (getattr(res, k), "") for k in ("fraction_free", "fraction_cip", "fraction_agg", "mean_n_o",
                                                  "mean_n_anion", "mean_n_chains")}
    numbers.update(cutoff_o=(res.cutoff_o, "Å"), cutoff_anion=(res.cutoff_anion, "Å"))
    table = res._table()
    return StageOutput(data=_data(res, cutoff_origin={"cutoff_o": how_o, "cutoff_anion": how_a}),
                       numbers=numbers, tables={"solvation": table},
                       figures={"solvation": _figure("solvation", res)})


@register_stage("shells", analysis=_analysis_class("SolvationShells"), skip=("keep_per_frame",),
                version=2)  # 2: the shells figure
def shells(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Cation shells with any number of species: compositions, coordination, pairing, speciation, chains."""
    from trajml.features import SolvationShells

    res = _run(SolvationShells(**analysis_params(params, "shells")), ctx, params)
    numbers = {k: (getattr(res, k), "") for k in ("fraction_free", "fraction_cip", "fraction_agg")}
    for name, mean, cutoff in zip(res.species, res.mean_coordination, res.cutoffs.values()):
        numbers[f"mean_{name}"] = (float(mean), "")
        numbers[f"cutoff_{name}"] = (float(cutoff), "Å")
    return StageOutput(data=_data(res), numbers=numbers,
                       tables={"compositions": {k: np.asarray(v) for k, v in res._table().items()}},
                       figures={"shells": _figure("shells", res)})
