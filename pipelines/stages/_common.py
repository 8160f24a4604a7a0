"""What the built-in stages share: running an analysis on the unit's scheduler, its stored data, figures, cut-offs."""

from __future__ import annotations

import math
from typing import Any

from trajml.pipelines.registry import StageContext

__all__ = ["_run", "_data", "_figure", "_cutoff_from", "_exclusive", "_SEL"]


def _run(analysis: Any, ctx: StageContext, params: dict[str, Any]) -> Any:
    """Run an analysis over the unit's frames on the unit's scheduler (its results are the same on all)."""
    from trajml.parallel import run
    from trajml.pipelines.unit_parallel import analysis_scheduler

    # a small analysis (msd of a few ions) runs in the unit alone: sharing it out would cost more
    scheduler, n_workers = analysis_scheduler(analysis, ctx.source, ctx.scheduler, ctx.n_workers,
                                              (params["start"], params["stop"], params["step"]))
    return run(analysis, ctx.source, start=params["start"], stop=params["stop"], step=params["step"],
               chunk_size=params["chunk_size"], scheduler=scheduler, n_workers=n_workers, progress=False)


def _data(res: Any, **extra: Any) -> dict[str, Any]:
    """A result as stored: its fields, their units and the dimension names of its arrays (``arrays.nc``)."""
    fields = res.to_dict()
    dims = {k: list(v) for k, v in dict(res._DIMS).items() if k in fields}
    return {**fields, "units": dict(res.units), **({"dims": dims} if dims else {}), **extra}


def _figure(name: str, res: Any, *args: Any) -> Any:
    """A figure from trajml.plotting, drawn off-screen (workers have no display)."""
    import trajml.plotting as plotting

    plotting.use_offscreen_backend()

    return getattr(plotting, f"plot_{name}")(res, *args)


def _cutoff_from(ctx: StageContext, params: dict[str, Any], ref: str, given: str) -> tuple[float | None, str]:
    """The cut-off in Å from the first minimum of a referenced rdf stage, or the given one."""
    if params[ref] is None:
        return params[given], "given" if params[given] is not None else "first minimum of g(r) (first pass)"
    value = ctx.dependencies[ref].get("first_min_r")
    if value is None or not math.isfinite(value):
        raise ValueError(
            f"The rdf stage {params[ref]!r} named by '{ref}' found no first minimum of g(r) for system "
            f"{ctx.system.name!r}; give '{given}' (Å) explicitly or raise that stage's 'r_max'."
        )
    return float(value), f"first minimum of g(r) of stage {params[ref]!r}"


def _exclusive(*pairs: tuple[str, str]) -> Any:
    def check(params: dict[str, Any]) -> list[tuple[str, str]]:
        return [(b, f"cannot be combined with '{a}'; give one of them")
                for a, b in pairs if params.get(a) is not None and params.get(b) is not None]

    return check


_SEL = "MDAnalysis selection"
