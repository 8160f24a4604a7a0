"""The scaling benchmark's measurements: the grid, the skips predicted from smaller points, one point's repeats.

Part of ``bench_scaling.py`` (run by hand, not in CI); its docstring describes the method.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from typing import Any

from _scaling_methods import CHILD


def grid(args: argparse.Namespace, n_sample_atoms: int) -> list[tuple[int, int]]:
    """Grid points (tiles, frames), smallest work first; the check point is always included."""
    pts = {(n, f) for n in args.sizes for f in args.frames if n ** 3 * n_sample_atoms * f <= args.max_atom_frames}
    pts.add(args.check)
    return sorted(pts, key=lambda t: (t[0] ** 3 * t[1], t[0]))


def _work(model: str, n_atoms: int, n_frames: int) -> float:
    return {"NT": n_atoms * n_frames, "NT2": n_atoms * n_frames ** 2, "N": n_atoms}[model]


def skip_reason(history: list[dict[str, Any]], cost: str, mem: str, n_atoms: int, n_frames: int,
                args: argparse.Namespace) -> str | None:
    """Why a method should not run at this point, from its runs at smaller points (None: run it)."""
    if any(h.get("status") == "timeout" for h in history):
        return "timed out at a smaller point"
    done = [h for h in history if h.get("status") == "ok"]
    if not done:
        return None
    last = max(done, key=lambda h: _work(cost, h["n_atoms"], h["n_frames"]))
    scale = _work(cost, n_atoms, n_frames) / _work(cost, last["n_atoms"], last["n_frames"])
    wall = last["process_wall_s"]["median"] * scale
    if wall > args.timeout:
        return (f"predicted {wall:.0f} s (> --timeout {args.timeout:g} s) from "
                f"{last['process_wall_s']['median']:.1f} s at {last['n_atoms']} beads x {last['n_frames']} frames")
    mscale = _work(mem, n_atoms, n_frames) / _work(mem, last["n_atoms"], last["n_frames"])
    peak = last["peak_rss_bytes"]["max"] * max(mscale, 1.0)
    if peak > args.max_memory * 2 ** 30:
        return (f"predicted peak memory {peak / 2 ** 30:.1f} GiB (> --max-memory {args.max_memory:g} GiB) from "
                f"{last['peak_rss_bytes']['max'] / 2 ** 30:.2f} GiB at {last['n_atoms']} beads x "
                f"{last['n_frames']} frames")
    return None


def measure(payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One method in a fresh interpreter: its own timings plus the whole process's wall and CPU time."""
    import subprocess

    import _common

    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        out = _common.run_python_child(CHILD, payload, timeout=timeout)
        out["status"] = "ok"
    except subprocess.TimeoutExpired:
        out = {"status": "timeout"}
    except RuntimeError as exc:
        out = {"status": "failed", "error": str(exc)[-1500:]}
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["process_wall_s"] = time.perf_counter() - t0
    out["process_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return out


def _summary(xs: list[float]) -> dict[str, float]:
    return {"median": float(statistics.median(xs)), "min": float(min(xs)), "max": float(max(xs)), "n": len(xs)}


def run_point(inputs: dict[str, Any], methods: list[tuple[str, str, str, str]], analysis: str,
              history: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> dict[str, Any]:
    """Every method of one analysis at one point, interleaved over the repeats."""
    n_atoms, n_frames = inputs["n_atoms"], inputs["n_frames"]
    base = {"analysis": analysis, "topology": inputs["topology"], "trajectory": inputs["trajectory"],
            "n_frames": n_frames, "msd_select": args.msd_select, "fit_window": args.fit_window,
            "workers": args.workers}
    rows: dict[str, dict[str, Any]] = {}
    todo = []
    for label, lib, cost, mem in methods:
        reason = skip_reason(history[label], cost, mem, n_atoms, n_frames, args)
        if reason:
            rows[label] = {"status": "skipped", "reason": reason}
            print(f"    {label:<34s} skipped: {reason}")
        else:
            todo.append((label, lib))
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in todo}
    for r in range(args.repeats):
        for label, lib in todo:
            if runs[label] and runs[label][-1]["status"] != "ok":
                continue  # a timeout or failure is not retried
            out = measure({**base, "lib": lib}, args.timeout)
            runs[label].append(out)
            note = (f"{out['wall_s']:7.2f} s (cpu {out['cpu_s']:6.1f} s) peak "
                    f"{out['peak_rss_bytes'] / 2 ** 20:7.0f} MiB" if out["status"] == "ok" else out["status"])
            print(f"    repeat {r + 1}/{args.repeats} {label:<34s} {note}")
            if out["status"] == "failed":
                print("      " + out["error"].strip().splitlines()[-1])
    for label, outs in runs.items():
        ok = [o for o in outs if o["status"] == "ok"]
        if len(ok) < len(outs) or not ok:
            bad = outs[-1]
            rows[label] = {"status": bad["status"], "process_wall_s": bad["process_wall_s"],
                           **({"error": bad["error"]} if "error" in bad else {})}
            continue
        row = {"status": "ok", "n_atoms": n_atoms, "n_frames": n_frames}
        for key in ("wall_s", "cpu_s", "process_wall_s", "process_cpu_s", "peak_rss_bytes", "rss_before_bytes"):
            row[key] = _summary([o[key] for o in ok])
        row["result"] = {k: v for k, v in ok[0].items() if k not in row and k not in ("status",)}
        rows[label] = row
    for label, row in rows.items():
        history[label].append({**row, "n_atoms": n_atoms, "n_frames": n_frames})
    return rows

