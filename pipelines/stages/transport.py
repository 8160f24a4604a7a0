"""Transport stages: msd (with D), residence (contact lifetimes, Li⁺ hops) and transport (σ, t₊).

Like the structure stages, each runs on its unit's scheduler: the msd stage's particle blocks
(and its unwrapping pass) on the pipeline's cluster when the unit runs on one
(:mod:`trajml.pipelines.unit_parallel`); residence and transport serially inside their unit.
Lengths in Å, times in ps.
"""

from __future__ import annotations

import math
from typing import Any

from trajml.pipelines.registry import Param, StageContext, StageOutput, analysis_params, register_stage
from trajml.pipelines.stages._common import _cutoff_from, _data, _exclusive, _figure, _run

__all__ = ["msd", "residence", "transport"]


def _classes(*names: str) -> tuple[Any, ...]:
    import trajml.transport as transport

    return tuple(getattr(transport, n) for n in names)


@register_stage("msd", analysis=_classes("MSD", "Diffusion"), skip=("chunk_size",), version=2)
def msd(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Mean-squared displacement (FFT, all time origins) and the self-diffusion coefficient D."""
    from trajml.transport import MSD, Diffusion

    given = analysis_params(params, "msd", MSD)
    # the series file's folder changes no number (it is not in the unit's key): one every worker sees
    res = _run(MSD(**{**given, "tmpdir": given.get("tmpdir") or ctx.scratch}), ctx, params)
    fit = Diffusion(**analysis_params(params, "msd", Diffusion)).fit(res).fetch_model()
    numbers = {"D": (fit.D_A2_ps, "Å^2/ps"), "D_err": (fit.D_err_A2_ps, "Å^2/ps"),
               "D_cm2_s": (fit.D_cm2_s, "cm^2/s"), "fit_start": (fit.fit_start_ps, "ps"),
               "fit_stop": (fit.fit_stop_ps, "ps"), "loglog_slope": (fit.loglog_slope, ""),
               "D_err_n": (fit.n_error_samples, "")}  # particles, time blocks or replicas behind D_err
    data = {**_data(res), "diffusion": {**fit.to_dict(), "units": dict(fit.units)}}
    return StageOutput(data=data, numbers=numbers, tables={"msd": {"lag_ps": res.lag_ps, "msd_A2": res.msd_A2}},
                       figures={"msd": _figure("msd", res, fit)})


@register_stage("residence", analysis=_classes("ResidenceTime"), skip=("centers_per_task",), params={
    "cutoff_from": Param("stage:rdf", None, "id of an earlier rdf stage whose first minimum is the cut-off",
                         nullable=True),
}, check=_exclusive(("cutoff", "cutoff_from")))
def residence(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Continuous and intermittent contact correlation functions, lifetimes and Li⁺ inter-chain hops."""
    from trajml.transport import ResidenceTime

    cutoff, how = _cutoff_from(ctx, params, "cutoff_from", "cutoff")
    res = ResidenceTime(**{**analysis_params(params, "residence"), "cutoff": cutoff}).run(
        ctx.source, start=params["start"], stop=params["stop"], step=params["step"], chunk_size=params["chunk_size"],
        scheduler="serial", progress=False)
    numbers = {"tau": (res.tau_ps, "ps"), "beta": (res.beta, ""), "tau_int": (res.tau_int_ps, "ps"),
               "tau_int_err": (res.tau_int_ps_block_err, "ps"), "cutoff": (res.cutoff, "Å")}
    if res.hop_rate_per_ns is not None and math.isfinite(res.hop_rate_per_ns):
        numbers["hop_rate"] = (res.hop_rate_per_ns, "1/ns")
    tables = {"residence": {"lag_ps": res.lag_ps, "continuous": res.continuous, "intermittent": res.intermittent}}
    return StageOutput(data=_data(res, cutoff_origin=how), numbers=numbers, tables=tables,
                       figures={"residence": _figure("residence", res)})


def _metadata(ctx: StageContext, params: dict[str, Any]) -> dict[str, Any]:
    """Temperature (K) and charges (e) not given to the stage come from the system's metadata."""
    out = {}
    if params.get("temperature") is None and ctx.system.metadata.get("temperature") is not None:
        out["temperature"] = float(ctx.system.metadata["temperature"])
    if params.get("charges") is None and ctx.system.metadata.get("charges"):
        out["charges"] = dict(ctx.system.metadata["charges"])
    return out


def _shared_window(ctx: StageContext, params: dict[str, Any]) -> tuple[dict[str, float], str, Any]:
    """The fit window (ps) the conductivity uses, where it comes from, and the msd stage's D fit (or None).

    With ``window_from`` the msd stage's D window is given to the conductivity, so that D and σ of
    one system come from one window; else the stage's own ``fit_start``/``fit_stop`` or its
    automatic window (within one of ``n_blocks`` time blocks, so that σ has a block error).
    """
    from types import SimpleNamespace

    ref = params.get("window_from")
    if ref is None:
        return {}, "given" if params.get("fit_start") is not None else "auto", None
    fit = ctx.dependencies["window_from"].get("diffusion") or {}
    start, stop = fit.get("fit_start_ps"), fit.get("fit_stop_ps")
    if start is None or stop is None or not (math.isfinite(start) and math.isfinite(stop)):
        raise ValueError(f"The msd stage {ref!r} named by 'window_from' has no D fit window for system "
                         f"{ctx.system.name!r}; give 'fit_start' and 'fit_stop' (ps) instead.")
    return {"fit_start": float(start), "fit_stop": float(stop)}, f"msd stage {ref!r}", SimpleNamespace(**fit)


@register_stage("transport", analysis=_classes("Conductivity"), metadata=("temperature", "charges"), version=3,
                params={"window_from": Param("stage:msd", None, "id of an earlier msd stage whose D fit window "
                                             "the conductivity uses (one window for D and sigma)", nullable=True)},
                check=_exclusive(("window_from", "fit_start"), ("window_from", "fit_stop")))
def transport(ctx: StageContext, params: dict[str, Any]) -> StageOutput:
    """Conductivity (Einstein–Helfand and Nernst–Einstein), Onsager L_ij and transference numbers.

    The temperature (K) and charges (e per species) not given to the stage come from the system's
    metadata when given there, else from the trajectory's ``trajml simulate`` JSON and the topology.

    Fit-window policy: one window per system. With ``window_from: <msd stage id>`` the conductivity
    is fitted over the msd stage's D window, so the report's D and σ share it; a long window leaves
    fewer time blocks for the σ error, which the result's ``warnings`` then say. Without it the
    stage keeps its own window (given, or automatic within one of ``n_blocks`` blocks) and the
    report shows both windows with the reason (:mod:`trajml.pipelines.report`).

    Stores the curves the fits used as ``transport.csv`` (columns of
    :meth:`~trajml.transport.ConductivityResults.curves`: ``lag_ps`` in ps, self and collective
    MSDs in Å², the charge MSD in e²·Å²) and their figure as ``transport.png``.
    """
    from trajml.transport import Conductivity

    window, source, d_fit = _shared_window(ctx, params)
    try:
        res = Conductivity(**{**analysis_params(params, "transport"), **_metadata(ctx, params), **window}).run(
            ctx.source, start=params["start"], stop=params["stop"], step=params["step"],
            chunk_size=params["chunk_size"], scheduler="serial", progress=False)
    except ValueError as exc:
        if not window:
            raise
        raise ValueError(f"{exc} The window came from the {source} (window_from); give that stage a shorter "
                         "fit_stop, or drop window_from to let the transport stage choose its own.") from None
    numbers = {
        "sigma": (res.sigma_mS_cm, "mS/cm"), "sigma_err": (res.sigma_err_mS_cm, "mS/cm"),
        "sigma_NE": (res.sigma_NE_mS_cm, "mS/cm"), "sigma_NE_err": (res.sigma_NE_err_mS_cm, "mS/cm"),
        "transference": (res.transference, ""), "transference_err": (res.transference_err, ""),
        "transference_NE": (res.transference_NE, ""), "ionicity": (res.ionicity, ""),
        "fit_start": (res.fit_start_ps, "ps"), "fit_stop": (res.fit_stop_ps, "ps"),
        # the samples behind sigma_err, t+ err: time blocks (summed over replicas) or replicas
        "n_blocks": (res.n_blocks, ""),
    }
    for name, d, err in zip(res.species, res.D_A2_ps, res.D_err_A2_ps):
        numbers[f"D_{name}"], numbers[f"D_{name}_err"] = (float(d), "Å^2/ps"), (float(err), "Å^2/ps")
    if len(res.species) > 2:  # a binary salt's t_i are t+ and 1 - t+
        for name, t, err in zip(res.species, res.transference_species, res.transference_species_err):
            numbers[f"transference_{name}"], numbers[f"transference_{name}_err"] = (float(t), ""), (float(err), "")
    return StageOutput(data=_data(res, window_source=source), numbers=numbers, tables={"transport": res.curves()},
                       figures={"transport": _figure("transport", res, d_fit)})
