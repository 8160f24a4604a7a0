"""Li⁺ and TFSI⁻ self-diffusion from long all-atom runs, checked against an independent NumPy count.

Reads one or more all-atom runs of ``trajml simulate --model all-atom`` (their ``<name>.json``, which
names the PSF and trajectory beside it), and for each run:

- the Li⁺ MSD and the TFSI⁻ centre-of-mass MSD from trajml (``MSD``, ``Diffusion``) and from an
  independent count: MDAnalysis positions, per-residue centres of mass, frame-to-frame minimum-image
  unwrapping and a direct average over every time origin in NumPy (no trajml code);
- D from the MSD slope over a given window (``--fit-start``/``--fit-stop``, ps), both ways, and the
  log-log slope there (1 = diffusive);
- each ion's own slope, pooled over runs, and a bootstrap over ions (resampled within each run and
  species) of D_Li/D_TFSI: its median, 95 % interval and the fraction of resamples below 1;
- temperature (mean, sd, first and second half of production) and ns/day from the run's JSON;
- Li–O(ether) and Li–O(TFSI) g(r) first peaks and coordination numbers (trajml ``RDF``/``Coordination``).

Writes ``--out`` (JSON) and ``--figure`` (PNG: MSDs on log-log axes with the fit window, and the
per-ion D). Run by hand, e.g.::

    python benchmarks/allatom_long_transport.py RUN1.json RUN2.json --fit-start 100 --fit-stop 400 \\
        --out benchmarks/results/allatom_long_transport.json \\
        --figure benchmarks/results/allatom_long_transport.png

Units: Å, ps; D in Å²/ps (1 Å²/ps = 1e-4 cm²/s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import command_line, environment, write_results  # noqa: E402

SPECIES = {"Li+": ("resname LI", False), "TFSI-": ("resname TFSI", True)}


def oracle_positions(universe: Any, selection: str, per_molecule: bool) -> np.ndarray:
    """Unwrapped positions (frames, particles, 3) in Å: atoms, or residue centres of mass."""
    group = universe.select_atoms(selection)
    out = np.empty((len(universe.trajectory), group.n_residues if per_molecule else group.n_atoms, 3))
    box = np.empty((len(universe.trajectory), 3))
    for i, _ in enumerate(universe.trajectory):
        out[i] = group.center_of_mass(compound="residues") if per_molecule else group.positions
        box[i] = universe.dimensions[:3]
    step = np.diff(out, axis=0)
    step -= box[1:, None, :] * np.round(step / box[1:, None, :])  # minimum image of each frame-to-frame step
    return np.concatenate([out[:1], out[:1] + np.cumsum(step, axis=0)])


def oracle_msd(x: np.ndarray) -> np.ndarray:
    """Per-particle MSD (particles, lags) in Å², averaged over every time origin (direct sums)."""
    n = x.shape[0]
    msd = np.zeros((x.shape[1], n))
    for lag in range(1, n):
        d = x[lag:] - x[:-lag]
        msd[:, lag] = np.mean(np.sum(d * d, axis=-1), axis=0)
    return msd


def slope_over(lag: np.ndarray, msd: np.ndarray, start: float, stop: float) -> tuple[float, float]:
    """D = slope/6 of a straight-line fit (Å²/ps) and the log-log slope over [start, stop] ps."""
    w = (lag >= start) & (lag <= stop)
    slope = np.polyfit(lag[w], msd[w], 1)[0]
    loglog = np.polyfit(np.log(lag[w]), np.log(msd[w]), 1)[0]
    return float(slope / 6.0), float(loglog)


def analyse_run(path: str, start: float, stop: float) -> dict[str, Any]:
    """Everything measured on one run (see the module docstring)."""
    import MDAnalysis as mda

    from trajml.features import RDF, Coordination
    from trajml.io import open_source
    from trajml.parallel import run
    from trajml.transport import MSD, Diffusion

    meta = json.load(open(path, encoding="utf-8"))
    folder = os.path.dirname(os.path.abspath(path))
    top, traj = (os.path.join(folder, meta["files"][k]) for k in ("topology", "trajectory"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        universe = mda.Universe(top, traj)
    temps = np.asarray(meta["thermo"]["temperature_k"])
    half = len(temps) // 2
    out: dict[str, Any] = {
        "run": meta["name"], "seed": meta["parameters"]["seed"], "n_frames": len(universe.trajectory),
        "frame_interval_ps": meta["frames"]["interval_ps"],
        "production_ps": meta["derived"]["production_time_ps"],
        "hydrogen_mass_amu": meta["parameters"].get("hydrogen_mass"), "timestep_ps": meta["parameters"]["timestep"],
        "temperature_k": {"mean": float(temps.mean()), "sd": float(temps.std()),
                          "first_half": float(temps[:half].mean()), "second_half": float(temps[half:].mean())},
        "density_g_per_cm3": meta["derived"]["density_g_per_cm3"],
        "performance": meta.get("performance", {}), "species": {},
    }
    src = open_source(top, traj)
    for label, (selection, per_molecule) in SPECIES.items():
        x = oracle_positions(universe, selection, per_molecule)
        per_ion = oracle_msd(x)
        lag = np.arange(x.shape[0]) * meta["frames"]["interval_ps"]
        ours = MSD(selection, per_molecule=per_molecule, per_particle=True).run(src, progress=False)
        fit = Diffusion(fit_start=start, fit_stop=stop).fit(ours).fetch_model()
        try:
            model = Diffusion().fit(ours).fetch_model()
            auto = {"D_A2_ps": model.D_A2_ps, "fit_start_ps": model.fit_start_ps, "fit_stop_ps": model.fit_stop_ps,
                    "warnings": list(model.warnings)}
        except ValueError as exc:  # no diffusive regime: trajml refuses, and that is the answer
            auto = {"refused": str(exc)}
        mean_msd = per_ion.mean(axis=0)
        d_oracle, loglog = slope_over(lag, mean_msd, start, stop)
        rel = np.abs(ours.msd_A2[1:] - mean_msd[1:]) / mean_msd[1:]
        out["species"][label] = {
            "n_ions": int(x.shape[1]),
            "D_trajml_A2_ps": fit.D_A2_ps, "D_err_trajml_A2_ps": fit.D_err_A2_ps, "error_method": fit.error_method,
            "D_oracle_A2_ps": d_oracle, "loglog_slope": loglog,
            "msd_max_relative_difference": float(rel.max()),
            "automatic_window": auto,
            "D_per_ion_A2_ps": [slope_over(lag, m, start, stop)[0] for m in per_ion],
            "lag_ps": lag.tolist(), "msd_A2": mean_msd.tolist(),
        }
    for label, sel in (("O(ether)", "name OE"), ("O(TFSI)", "name OT")):
        rdf = run(RDF("name LI", sel, r_max=8.0, n_bins=160), src, progress=False)
        cn = run(Coordination("name LI", sel, cutoff=rdf.first_min_r), src, progress=False)
        out[f"Li-{label}"] = {"first_peak_A": float(rdf.first_peak_r), "first_min_A": float(rdf.first_min_r),
                              "coordination": float(cn.mean), "coordination_sd_over_li": float(cn.std)}
    return out


def ratio_bootstrap(runs: list[dict[str, Any]], n: int = 20000, seed: int = 0) -> dict[str, float]:
    """D_Li/D_TFSI from per-ion slopes, resampling ions within each run and species."""
    rng = np.random.default_rng(seed)
    per = {k: [np.asarray(r["species"][k]["D_per_ion_A2_ps"]) for r in runs] for k in SPECIES}
    boot = {}
    for k, arrays in per.items():
        draws = [a[rng.integers(0, a.size, size=(n, a.size))].sum(axis=1) for a in arrays]
        boot[k] = np.sum(draws, axis=0) / sum(a.size for a in arrays)
    ratio = boot["Li+"] / boot["TFSI-"]
    point = np.concatenate(per["Li+"]).mean() / np.concatenate(per["TFSI-"]).mean()
    return {"ratio": float(point), "median": float(np.median(ratio)), "ci95_low": float(np.quantile(ratio, 0.025)),
            "ci95_high": float(np.quantile(ratio, 0.975)), "fraction_below_1": float(np.mean(ratio < 1.0)),
            "n_resamples": n}


def figure(runs: list[dict[str, Any]], start: float, stop: float, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"Li+": "tab:blue", "TFSI-": "tab:red"}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1.6, 1]})
    for k, c in colours.items():
        for i, r in enumerate(runs):
            s = r["species"][k]
            lag, msd = np.asarray(s["lag_ps"])[1:], np.asarray(s["msd_A2"])[1:]
            ax.loglog(lag, msd, color=c, lw=1.2, alpha=0.85, ls="-" if i == 0 else "--",
                      label=f"{k}, seed {r['seed']}")
    lag = np.asarray(runs[0]["species"]["Li+"]["lag_ps"])[1:]
    ref = np.asarray(runs[0]["species"]["TFSI-"]["msd_A2"])[1:]
    j = np.searchsorted(lag, stop)
    ax.loglog(lag, ref[j] * lag / lag[j] * 1.6, color="0.4", lw=0.8, ls=":", label="slope 1 (diffusive)")
    ax.axvspan(start, stop, color="0.9", zorder=0, label="fit window")
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("MSD (Å²)")
    ax.set_title("Li⁺ and TFSI⁻ (centre of mass) MSD")
    ax.legend(fontsize=7, loc="upper left")
    data = [np.concatenate([r["species"][k]["D_per_ion_A2_ps"] for r in runs]) * 1e3 for k in colours]
    bx.boxplot(data, showfliers=False)
    for i, (k, d) in enumerate(zip(colours, data), start=1):
        bx.scatter(np.full(d.size, i) + np.random.default_rng(i).uniform(-0.12, 0.12, d.size), d, s=10,
                   color=colours[k], alpha=0.7)
    bx.scatter([1, 2], [d.mean() for d in data], marker="D", color="k", s=28, zorder=3, label="mean over ions")
    bx.legend(fontsize=7, loc="upper left")
    bx.set_xticks([1, 2], list(colours))
    bx.set_ylabel(f"per-ion MSD slope / 6, {start:g}–{stop:g} ps (10⁻³ Å²/ps)")
    bx.set_title("each ion, all runs")
    fig.tight_layout()
    fig.savefig(path, dpi=150)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="<name>.json files of trajml simulate --model all-atom runs")
    parser.add_argument("--fit-start", type=float, default=100.0, help="fit window start in ps [default: 100]")
    parser.add_argument("--fit-stop", type=float, default=400.0, help="fit window end in ps [default: 400]")
    parser.add_argument("--out", default=None, help="JSON results file")
    parser.add_argument("--figure", default=None, help="PNG figure")
    args = parser.parse_args(argv)
    runs = [analyse_run(p, args.fit_start, args.fit_stop) for p in args.runs]
    summary = ratio_bootstrap(runs)
    for r in runs:
        t = r["temperature_k"]
        print(f"{r['run']} (seed {r['seed']}, {r['production_ps']:.0f} ps): T = {t['mean']:.1f} ± {t['sd']:.1f} K "
              f"(halves {t['first_half']:.1f} / {t['second_half']:.1f}), "
              f"{r['performance'].get('ns_per_day', float('nan')):.1f} ns/day")
        for k, s in r["species"].items():
            print(f"  {k:6s} D = {s['D_trajml_A2_ps']:.3e} ± {s['D_err_trajml_A2_ps']:.1e} Å²/ps (trajml), "
                  f"{s['D_oracle_A2_ps']:.3e} (NumPy), log-log slope {s['loglog_slope']:.2f}, "
                  f"MSD max rel. diff {s['msd_max_relative_difference']:.1e}")
        for k in ("Li-O(ether)", "Li-O(TFSI)"):
            print(f"  {k}: peak {r[k]['first_peak_A']:.2f} Å, min {r[k]['first_min_A']:.2f} Å, "
                  f"CN {r[k]['coordination']:.2f}")
    print(f"D_Li/D_TFSI over {args.fit_start:g}-{args.fit_stop:g} ps, per-ion bootstrap: {summary['ratio']:.2f} "
          f"(95 % {summary['ci95_low']:.2f}-{summary['ci95_high']:.2f}; below 1 in "
          f"{100 * summary['fraction_below_1']:.1f} % of resamples)")
    if args.figure:
        figure(runs, args.fit_start, args.fit_stop, args.figure)
    slim = [{**r, "species": {k: {kk: vv for kk, vv in s.items() if kk not in ("lag_ps", "msd_A2")}
                              for k, s in r["species"].items()}} for r in runs]
    write_results(args.out, {"command": command_line("allatom_long_transport.py", argv), "environment": environment(),
                             "fit_window_ps": [args.fit_start, args.fit_stop], "runs": slim,
                             "D_Li_over_D_TFSI": summary})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
