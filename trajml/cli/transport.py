"""``trajml transport``: conductivity (Einstein–Helfand and Nernst–Einstein), Onsager coefficients, transference."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from trajml.cli._common import (
    add_input_arguments,
    non_negative_int,
    non_negative_time,
    open_from_args,
    positive_int,
    positive_temperature,
    write_json,
)

__all__ = ["register", "run", "parse_charges"]


def parse_charges(items: list[str] | None) -> dict[str, float] | None:
    """Parse ``["Li=1", "TFSI=-1"]`` into ``{"Li": 1.0, "TFSI": -1.0}`` (charges in e)."""
    if not items:
        return None
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            q = float(value)
        except ValueError:
            q = math.nan
        if not sep or not key or not math.isfinite(q):
            raise ValueError(f"--charges entries must look like NAME=CHARGE in e (e.g. Li=1 TFSI=-1); got {item!r}.")
        out[key] = q
    return out


def register(subparsers: Any) -> None:
    """Add the ``transport`` sub-command."""
    p = subparsers.add_parser(
        "transport",
        help="ionic conductivity, Onsager coefficients and transference numbers",
        description="Stream the trajectory once (no-jump unwrapped) and compute the cation and anion "
        "self-diffusion coefficients, the Nernst-Einstein conductivity, the Einstein-Helfand conductivity "
        "(charge displacement over all time origins, every cross correlation included), the Onsager "
        "coefficients L_ij (mol^2/(J m s), sigma = F^2 sum z_i z_j L_ij), the cation transference number "
        "(Onsager and Nernst-Einstein) and the ionicity sigma/sigma_NE, with errors (D over particles; "
        "sigma, L and t+ over time blocks). Writes JSON. Without TOP/TRAJ it analyses the bundled sample "
        "SPE at the temperature of its metadata.",
    )
    add_input_arguments(p, optional=True)
    a = p.add_argument_group("analysis")
    a.add_argument("--cation", default="name Li", metavar="SEL",
                   help="cation selection, MDAnalysis syntax [default: 'name Li']")
    a.add_argument("--anion", default="name TFSI", metavar="SEL", help="anion selection [default: 'name TFSI']")
    a.add_argument("--charges", nargs="+", default=None, metavar="NAME=Q",
                   help="charge in e per species (atom or residue name, or cation/anion), e.g. Li=1 TFSI=-1 "
                        "(default: the topology's charges)")
    a.add_argument("--temperature", type=positive_temperature, default=None, metavar="K",
                   help="temperature in K (default: from the run's metadata JSON beside the topology)")
    a.add_argument("--volume", type=float, default=None, metavar="A3",
                   help="volume in Å^3 (default: the mean box volume)")
    a.add_argument("--per-molecule", action="store_true",
                   help="ions are molecules' centres of mass (polyatomic ions)")
    a.add_argument("--keep-drift", action="store_true",
                   help="do not subtract the system's centre-of-mass displacement (lab frame)")
    a.add_argument("--no-unwrap", action="store_true", help="coordinates are already unwrapped: do not unwrap")
    a.add_argument("--fit-start", type=non_negative_time, default=None, metavar="PS",
                   help="start of the fit window in ps (with --fit-stop; default: automatic)")
    a.add_argument("--fit-stop", type=non_negative_time, default=None, metavar="PS",
                   help="end of the fit window in ps")
    a.add_argument("--blocks", type=positive_int, default=5, help="time blocks for the errors (default: 5)")
    a.add_argument("--tolerance", type=float, default=0.15,
                   help="automatic window: largest |local log-log slope - 1| (default: 0.15)")
    g = p.add_argument_group("frames and execution")
    g.add_argument("--start", type=non_negative_int, default=0, help="first frame (default: 0)")
    g.add_argument("--stop", type=non_negative_int, default=None, help="stop before this frame (default: the end)")
    g.add_argument("--step", type=positive_int, default=1, help="use every STEP-th frame (default: 1)")
    g.add_argument("--traj-id", type=non_negative_int, default=0, help="trajectory of the source (default: 0)")
    g.add_argument("--chunk-size", type=positive_int, default=100, help="frames per read (default: 100)")
    g.add_argument("--scheduler", default="serial",
                   help="serial, threads, processes, local or a dask scheduler address (default: serial)")
    g.add_argument("--n-workers", type=positive_int, default=None, help="workers of the local schedulers")
    g.add_argument("--tmpdir", default=None, help="folder for the temporary series store")
    g.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", default=None, metavar="JSON", help="JSON file to write (default: stdout)")
    p.set_defaults(func=run)


def summary(res: Any) -> dict[str, Any]:
    """The flat JSON summary of a :class:`~trajml.transport.ConductivityResults` (units in ``"units"``)."""
    from trajml.transport.conductivity import S_M_TO_MS_CM

    cat, an = res.species
    out: dict[str, Any] = {
        "cation": cat, "anion": an, "cation_selection": res.selections[0], "anion_selection": res.selections[1],
        "charges_e": {cat: float(res.charges_e[0]), an: float(res.charges_e[1])}, "charge_source": res.charge_source,
        "n_cations": int(res.n_ions[0]), "n_anions": int(res.n_ions[1]),
        "temperature_K": res.temperature_K, "temperature_source": res.temperature_source,
        "volume_A3": res.volume_A3, "n_frames": res.n_frames, "dt_ps": res.dt_ps,
        "D_cation_A2_ps": float(res.D_A2_ps[0]), "D_cation_A2_ps_err": float(res.D_err_A2_ps[0]),
        "D_anion_A2_ps": float(res.D_A2_ps[1]), "D_anion_A2_ps_err": float(res.D_err_A2_ps[1]),
        "D_cation_cm2_s": float(res.D_cm2_s[0]), "D_cation_cm2_s_err": float(res.D_err_cm2_s[0]),
        "D_anion_cm2_s": float(res.D_cm2_s[1]), "D_anion_cm2_s_err": float(res.D_err_cm2_s[1]),
    }
    for name, value, err in (("sigma", res.sigma_S_m, res.sigma_err_S_m),
                             ("sigma_NE", res.sigma_NE_S_m, res.sigma_NE_err_S_m)):
        out[f"{name}_S_m"], out[f"{name}_S_m_err"] = value, err
        out[f"{name}_S_cm"], out[f"{name}_S_cm_err"] = value / 100.0, err / 100.0
        out[f"{name}_mS_cm"], out[f"{name}_mS_cm_err"] = value * S_M_TO_MS_CM, err * S_M_TO_MS_CM
    out.update({
        "transference": res.transference, "transference_err": res.transference_err,
        "transference_NE": res.transference_NE, "transference_NE_err": res.transference_NE_err,
        "ionicity": res.ionicity, "ionicity_err": res.ionicity_err,
    })
    pairs = {"cation_cation": (0, 0), "anion_anion": (1, 1), "cation_anion": (0, 1)}
    for key, (i, j) in pairs.items():
        out[f"L_{key}_mol2_J_m_s"] = float(res.L_mol2_J_m_s[i, j])
        out[f"L_{key}_mol2_J_m_s_err"] = float(res.L_err_mol2_J_m_s[i, j])
        out[f"L_{key}_distinct_mol2_J_m_s"] = float(res.L_distinct_mol2_J_m_s[i, j])
        out[f"L_{key}_distinct_mol2_J_m_s_err"] = float(res.L_distinct_err_mol2_J_m_s[i, j])
    for s, role in enumerate(("cation", "anion")):
        out[f"L_{role}_self_mol2_J_m_s"] = float(res.L_self_mol2_J_m_s[s])
        out[f"L_{role}_self_mol2_J_m_s_err"] = float(res.L_self_err_mol2_J_m_s[s])
    out.update({
        "fit_start_ps": res.fit_start_ps, "fit_stop_ps": res.fit_stop_ps, "n_fit_points": res.n_fit_points,
        "window_method": res.window_method, "n_blocks": res.n_blocks, "block_ps": res.block_ps,
        "error_method": "D: standard error over particles; sigma, L, transference: time blocks",
        "drift_removed": res.drift_removed, "per_molecule": res.per_molecule,
        "units": {"D_*_A2_ps": "Å^2/ps", "D_*_cm2_s": "cm^2/s", "*_S_m": "S/m", "*_S_cm": "S/cm",
                  "*_mS_cm": "mS/cm", "L_*": "mol^2/(J m s); sigma = F^2 sum_ij z_i z_j L_ij",
                  "temperature_K": "K", "volume_A3": "Å^3", "*_ps": "ps", "charges_e": "e",
                  "transference, ionicity": "dimensionless"},
    })
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``trajml transport``."""
    from trajml.transport.conductivity import Conductivity

    estimator = Conductivity(
        args.cation, args.anion, charges=parse_charges(args.charges), temperature=args.temperature,
        volume=args.volume, per_molecule=args.per_molecule, remove_drift=not args.keep_drift,
        unwrap=not args.no_unwrap, fit_start=args.fit_start, fit_stop=args.fit_stop, n_blocks=args.blocks,
        tolerance=args.tolerance, chunk_size=args.chunk_size, tmpdir=args.tmpdir)
    source = open_from_args(args)
    res = estimator.run(source, start=args.start, stop=args.stop, step=args.step, traj_id=args.traj_id,
                        scheduler=args.scheduler, n_workers=args.n_workers, progress=not args.no_progress)
    report = write_json(args.output, json.dumps(summary(res), indent=1))
    cat, an = res.species
    print(f"{res.n_ions[0]} {cat} + {res.n_ions[1]} {an}, {res.n_frames} frames every {res.dt_ps:g} ps, "
          f"T = {res.temperature_K:g} K ({res.temperature_source}); fit window ({res.window_method}) "
          f"{res.fit_start_ps:g}-{res.fit_stop_ps:g} ps", file=report)
    print(f"sigma = {res.sigma_mS_cm:.4g} ± {res.sigma_err_mS_cm:.2g} mS/cm, sigma_NE = {res.sigma_NE_mS_cm:.4g} ± "
          f"{res.sigma_NE_err_mS_cm:.2g} mS/cm, ionicity = {res.ionicity:.3f} ± {res.ionicity_err:.2g}", file=report)
    print(f"t+ = {res.transference:.3f} ± {res.transference_err:.2g} (Nernst-Einstein {res.transference_NE:.3f} ± "
          f"{res.transference_NE_err:.2g})", file=report)
    return 0
