"""Transport stages: msd (with D), residence (contact lifetimes, Li⁺ hops) and transport (σ, t₊).

Like the structure stages, each runs serially inside its unit; the pipeline
parallelises over (system × stage) units. Lengths in Å, times in ps.
"""

from __future__ import annotations

import math
from typing import Any

from trajml.pipelines.builtin_stages import _cutoff_from, _data, _exclusive, _figure, _FIRST_PASS, _SEL
from trajml.pipelines.stages import Param, StageContext, StageOutput, analysis_params, register_stage

__all__ = ["msd", "residence", "transport"]


def _classes(*names: str) -> tuple[Any, ...]:
    import trajml.transport as transport

    return tuple(getattr(transport, n) for n in names)


@register_stage("msd", analysis=_classes("MSD", "Diffusion"), skip=("chunk_size",))
def msd(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Mean-squared displacement (FFT, all time origins) and the self-diffusion coefficient D."""
    from trajml.transport import MSD, Diffusion

    res = MSD(**analysis_params(params, "msd", MSD)).run(
        ctx.source, start=params["start"], stop=params["stop"], step=params["step"], chunk_size=params["chunk_size"],
        scheduler="serial", progress=False)
    fit = Diffusion(**analysis_params(params, "msd", Diffusion)).fit(res).fetch_model()
    numbers = {"D": (fit.D_A2_ps, "Å^2/ps"), "D_err": (fit.D_err_A2_ps, "Å^2/ps"),
               "D_cm2_s": (fit.D_cm2_s, "cm^2/s"), "fit_start": (fit.fit_start_ps, "ps"),
               "fit_stop": (fit.fit_stop_ps, "ps"), "loglog_slope": (fit.loglog_slope, "")}
    data = {**_data(res), "diffusion": {**fit.to_dict(), "units": dict(fit.units)}}
    return StageOutput(data=data, numbers=numbers, tables={"msd": {"lag_ps": res.lag_ps, "msd_A2": res.msd_A2}},
                       figures={"msd": _figure("msd", res, fit)})


@register_stage("residence", params={
    "center": Param("str", "name Li", f"centre atoms ({_SEL})"),
    "ligand": Param("str", "name O", f"ligand atoms ({_SEL})"),
    "cutoff": Param("float", None, "contact cut-off (null: first minimum of g(r))", unit="Å", positive=True,
                    nullable=True),
    "cutoff_from": Param("stage:rdf", None, "id of an earlier rdf stage whose first minimum is the cut-off",
                         nullable=True),
    "tolerance_frames": Param("int", 0, "brief excursions ignored in the continuous C(t)", minimum=0),
    **_FIRST_PASS,
}, check=_exclusive(("cutoff", "cutoff_from")))
def residence(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Continuous and intermittent contact correlation functions, lifetimes and Li⁺ inter-chain hops."""
    from trajml.transport import ResidenceTime

    cutoff, how = _cutoff_from(ctx, params, "cutoff_from", "cutoff")
    res = ResidenceTime(params["center"], params["ligand"], cutoff=cutoff,
                        tolerance_frames=params["tolerance_frames"], r_max=params["r_max"], n_bins=params["n_bins"],
                        cutoff_frames=params["cutoff_frames"]).run(
        ctx.source, start=params["start"], stop=params["stop"], step=params["step"],
        chunk_size=params["chunk_size"] or 100, progress=False)
    numbers = {"tau": (res.tau_ps, "ps"), "beta": (res.beta, ""), "tau_int": (res.tau_int_ps, "ps"),
               "tau_int_err": (res.tau_int_ps_block_err, "ps"), "cutoff": (res.cutoff, "Å")}
    if res.hop_rate_per_ns is not None and math.isfinite(res.hop_rate_per_ns):
        numbers["hop_rate"] = (res.hop_rate_per_ns, "1/ns")
    tables = {"residence": {"lag_ps": res.lag_ps, "continuous": res.continuous, "intermittent": res.intermittent}}
    return StageOutput(data=_data(res, cutoff_origin=how), numbers=numbers, tables=tables,
                       figures={"residence": _figure("residence", res)})


def _metadata_temperature(ctx: StageContext) -> float | None:
    value = ctx.system.metadata.get("temperature")
    return None if value is None else float(value)


@register_stage("transport", params={
    "cation": Param("str", "name Li", f"cations ({_SEL})"),
    "anion": Param("str", "name TFSI", f"anions ({_SEL})"),
    "fit_start": Param("float", None, "start of the fit window (null: automatic)", unit="ps", minimum=0.0,
                       nullable=True),
    "fit_stop": Param("float", None, "end of the fit window (null: automatic)", unit="ps", positive=True,
                      nullable=True),
    "n_blocks": Param("int", 5, "time blocks for the uncertainties of sigma, L_ij and t+", minimum=2),
}, metadata=("temperature", "charges"))
def transport(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Conductivity (Einstein–Helfand and Nernst–Einstein), Onsager L_ij and transference numbers.

    The temperature (K) and charges (e per species) come from the system's metadata when given
    there, else from the trajectory's ``trajml simulate`` JSON and the topology.
    """
    from trajml.transport import Conductivity

    charges = ctx.system.metadata.get("charges")
    res = Conductivity(params["cation"], params["anion"], charges=dict(charges) if charges else None,
                       temperature=_metadata_temperature(ctx), fit_start=params["fit_start"],
                       fit_stop=params["fit_stop"], n_blocks=params["n_blocks"],
                       chunk_size=params["chunk_size"] or 100).run(ctx.source, start=params["start"], stop=params["stop"],
                                                           step=params["step"])
    numbers = {
        "sigma": (res.sigma_mS_cm, "mS/cm"), "sigma_err": (res.sigma_err_mS_cm, "mS/cm"),
        "sigma_NE": (res.sigma_NE_mS_cm, "mS/cm"), "sigma_NE_err": (res.sigma_NE_err_mS_cm, "mS/cm"),
        "transference": (res.transference, ""), "transference_err": (res.transference_err, ""),
        "transference_NE": (res.transference_NE, ""), "ionicity": (res.ionicity, ""),
        "fit_start": (res.fit_start_ps, "ps"), "fit_stop": (res.fit_stop_ps, "ps"),
    }
    return StageOutput(data=_data(res), numbers=numbers)
