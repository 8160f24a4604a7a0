"""The scaling benchmark's summaries: agreement of the peers with trajml, ratios at the largest point, the figure.

Part of ``bench_scaling.py`` (run by hand, not in CI); its docstring describes the method.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from _scaling_methods import ANALYSES, METHODS, TRAJML


def _rel(a: float, b: float) -> float:
    return float(abs(a - b) / abs(b)) if b else float("nan")


#: Why kinisi's MSDs differ from the others by up to ~1/(T - lag) (measured: 0.5 % at one lag of 200 frames).
KINISI_MSD_NOTE = ("kinisi's MDAnalysisParser repeats the first frame (coords_l.insert(0, ...)), so each lag's "
                   "average holds one extra sample, of the lag one frame shorter (a zero at lag 1): its MSD is low by "
                   "about 1/(T - lag) relative")


def agreement(analysis: str, rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each peer's numbers against trajml's on the same input (only methods that ran)."""
    ref_row = rows.get(TRAJML[analysis], {})
    if ref_row.get("status") != "ok":
        return {"note": "trajml did not run here"}
    ref = ref_row["result"]
    out: dict[str, Any] = {}
    for label, row in rows.items():
        if label == TRAJML[analysis] or row.get("status") != "ok":
            continue
        res = row["result"]
        if analysis == "rdf":
            out[label] = {"max_abs_dg": float(np.max(np.abs(np.asarray(res["g"]) - np.asarray(ref["g"]))))}
        elif analysis == "msd":
            m, mr = np.asarray(res["msd"]), np.asarray(ref["msd"])
            n = min(len(m), len(mr))
            out[label] = {"msd_max_rel_diff": float(np.max(np.abs(m[1:n] / mr[1:n] - 1.0))),
                          "D_rel_diff": _rel(res["D_A2_ps"], ref["D_A2_ps"]), "D_A2_ps": res["D_A2_ps"],
                          "trajml_D_A2_ps": ref["D_A2_ps"]}
            if "D_least_squares_A2_ps" in res:
                out[label]["D_least_squares_rel_diff"] = _rel(res["D_least_squares_A2_ps"], ref["D_A2_ps"])
                out[label]["msd_note"] = KINISI_MSD_NOTE
                out[label]["D_note"] = ("D_rel_diff compares kinisi's Bayesian D (its own estimator, window start "
                                        "to the last lag); D_least_squares_rel_diff the same least-squares window")
        elif analysis == "conductivity":
            m, mr = np.asarray(res["charge_msd_per_ion"]), np.asarray(ref["charge_msd_per_ion"])
            n = min(len(m), len(mr))
            out[label] = {"charge_msd_max_rel_diff": float(np.max(np.abs(m[1:n] / mr[1:n] - 1.0))),
                          "sigma_rel_diff": _rel(res["sigma_S_m"], ref["sigma_S_m"]),
                          "sigma_S_m": res["sigma_S_m"], "trajml_sigma_S_m": ref["sigma_S_m"],
                          "sigma_least_squares_rel_diff": _rel(res["sigma_least_squares_S_m"], ref["sigma_S_m"]),
                          "charge_msd_note": KINISI_MSD_NOTE,
                          "sigma_note": "sigma_rel_diff: kinisi's Bayesian fit from the window's start to the last "
                                        "lag; sigma_least_squares_rel_diff: a least-squares line through kinisi's "
                                        "charge MSD over trajml's window"}
        elif analysis == "graphs":
            out[label] = {"edges": res["edges"], "trajml_edges": ref["edges"],
                          "distance_sum_rel_diff": _rel(res["distance_sum_A"], ref["distance_sum_A"])}
    return out


def ratios(analysis: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    """Peer / trajml wall time and peak memory at the largest point where trajml ran (>1: trajml is better)."""
    ok = [pt for pt in points if pt["rows"].get(TRAJML[analysis], {}).get("status") == "ok"]
    if not ok:
        return {}
    pt = max(ok, key=lambda q: q["n_atoms"] * q["n_frames"])
    ref = pt["rows"][TRAJML[analysis]]
    out: dict[str, Any] = {"n_atoms": pt["n_atoms"], "n_frames": pt["n_frames"],
                           "trajml_wall_s": ref["wall_s"]["median"],
                           "trajml_peak_rss_bytes": ref["peak_rss_bytes"]["max"]}
    for label, row in pt["rows"].items():
        if label == TRAJML[analysis]:
            continue
        if row["status"] == "ok":
            out[label] = {"wall_ratio": row["wall_s"]["median"] / ref["wall_s"]["median"],
                          "cpu_ratio": row["cpu_s"]["median"] / ref["cpu_s"]["median"],
                          "peak_memory_ratio": row["peak_rss_bytes"]["max"] / ref["peak_rss_bytes"]["max"]}
        else:
            out[label] = {"status": row["status"], **({"reason": row["reason"]} if "reason" in row else {})}
    return out


COLOURS = {"trajml": "black", "mdanalysis": "tab:orange", "freud": "tab:blue", "kinisi": "tab:green",
           "ckdtree": "tab:purple"}
MARKERS = ["o", "s", "^", "D", "v", "P"]


def _tick(v: float, _: Any) -> str:
    """Label 1, 2 and 5 times a power of ten on log axes (short ranges keep some labels)."""
    if v <= 0:
        return ""
    lead = round(v / 10 ** np.floor(np.log10(v)), 6)
    return f"{v:g}" if lead in (1.0, 2.0, 5.0) else ""


def figure(results: dict[str, Any], path: str, timeout: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, NullFormatter

    analyses = [a for a in ANALYSES if a in results["analyses"]]
    frames_all = sorted({pt["n_frames"] for a in analyses for pt in results["analyses"][a]["points"]})
    marker = {f: MARKERS[i % len(MARKERS)] for i, f in enumerate(frames_all)}
    # at least 7 in wide: the title and the x labels of a one-analysis run fit
    fig, axes = plt.subplots(3, len(analyses), figsize=(max(4.2 * len(analyses), 7.0), 10.5), squeeze=False)
    for col, a in enumerate(analyses):
        pts = results["analyses"][a]["points"]
        for label, lib, _, _ in METHODS[a]:
            series = [(pt["n_atoms"] * pt["n_frames"], pt["n_frames"], pt["rows"][label]) for pt in pts
                      if label in pt["rows"]]
            ok = [(x, f, r) for x, f, r in series if r["status"] == "ok"]
            timed_out = [x for x, _, r in series if r["status"] == "timeout"]
            for row, key, scale in ((0, "wall_s", 1.0), (1, "cpu_s", 1.0), (2, "peak_rss_bytes", 2 ** -20)):
                ax = axes[row, col]
                if ok:
                    xs = [x for x, _, _ in ok]
                    ys = [r[key]["max" if key == "peak_rss_bytes" else "median"] * scale for _, _, r in ok]
                    ax.plot(xs, ys, "-", color=COLOURS[lib], lw=1.2, alpha=0.7)
                    for x, y, (_, f, _) in zip(xs, ys, ok):
                        ax.plot(x, y, marker[f], color=COLOURS[lib], ms=6, mfc="white" if lib != "trajml" else None)
                if row == 0 and timed_out:
                    ax.plot(timed_out, [timeout] * len(timed_out), "x", color=COLOURS[lib], ms=8, mew=2)
        for row, ylabel in ((0, "wall time of the analysis (s)"), (1, "CPU time of the analysis (s)"),
                            (2, "peak resident memory (MiB)")):
            ax = axes[row, col]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(_tick))
            ax.yaxis.set_minor_formatter(FuncFormatter(_tick))
            ax.grid(True, which="both", alpha=0.25)
            ax.set_xlabel("beads × frames")
            lo, hi = ax.get_xlim()
            if np.floor(np.log10(hi)) >= np.ceil(np.log10(lo)):  # a labelled decade inside: no crowded minor labels
                ax.xaxis.set_minor_formatter(NullFormatter())
            if col == 0:
                ax.set_ylabel(ylabel)
        axes[0, col].set_title(results["analyses"][a]["title"], fontsize=10)
        axes[0, col].legend(handles=[Line2D([], [], color=COLOURS[lib], marker="o", mfc="white" if lib != "trajml"
                                            else None, label=label) for label, lib, _, _ in METHODS[a]
                                     if any(label in pt["rows"] for pt in pts)], fontsize=7, loc="upper left")
    handles = [Line2D([], [], ls="", marker=marker[f], color="grey", mfc="white", label=f"{f} frames")
               for f in frames_all]
    handles.append(Line2D([], [], ls="", marker="x", color="grey", mew=2, label=f"timed out (> {timeout:g} s)"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    load = results["machine_load"]
    gap = " " if len(analyses) > 2 else "\n"  # a narrow figure takes the title on two lines
    fig.suptitle(f"trajml scaling on tiled copies of its CG sample: trajml (black, filled) and peers (open);{gap}"
                 f"{results['environment']['cpu_count']} cores, load {load['start'][0]:.1f} to {load['end'][0]:.1f}; "
                 f"medians of {results['config']['repeats']}", fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    fig.savefig(path, dpi=130)
    plt.close(fig)

def report(results: dict[str, Any]) -> None:
    """Print the agreement check and the ratios at the largest point."""
    from _common import fmt_bytes, format_table

    for a, res in results["analyses"].items():
        rat = res["ratios_at_largest"]
        if rat:
            print(f"\n{res['title']}: at {rat['n_atoms']} beads x {rat['n_frames']} frames, trajml "
                  f"{rat['trajml_wall_s']:.2f} s, peak {fmt_bytes(rat['trajml_peak_rss_bytes'])}")
            rows = []
            for label, r in rat.items():
                if not isinstance(r, dict):
                    continue
                if "wall_ratio" in r:
                    rows.append([label, f"{r['wall_ratio']:.2f}x", f"{r['cpu_ratio']:.2f}x",
                                 f"{r['peak_memory_ratio']:.2f}x"])
                else:
                    rows.append([label, r["status"], r.get("reason", ""), ""])
            if rows:
                print(format_table(["peer", "wall / trajml", "cpu / trajml", "peak memory / trajml"], rows))
        agree = res["agreement"]
        print(f"agreement at {agree['n_atoms']} beads x {agree['n_frames']} frames: "
              + json.dumps(agree["vs_trajml"], default=str))

