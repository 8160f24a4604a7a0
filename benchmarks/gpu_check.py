"""The structure featurizers on a real GPU: ``device="cuda"`` against ``device="cpu"``, same chunks.

Run by hand, in two steps, because the GPU machine need not have MDAnalysis::

    python benchmarks/gpu_check.py prepare gpu_payload.pkl     # where trajml is installed (reads files)
    python benchmarks/gpu_check.py run gpu_payload.pkl --out gpu_check.json   # on the GPU machine

``prepare`` binds RDF (Li–O and all beads), Coordination, Solvation and
NeighborGraphs to the bundled sample and stores the bound featurizers with
the chunks each one reads (about 30 MB). ``run`` folds the chunks into a state
with each device, finalizes once, and compares every array of the results:
counts must be identical, distances equal to float32 rounding. Timings are
medians of ``--repeats`` updates over all chunks (after one warm-up that
compiles the kernels).
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import time
from typing import Any

import numpy as np


def prepare(path: str, chunk_size: int) -> None:
    from trajml.data import sample_topology, sample_trajectory
    from trajml.features import RDF, Coordination, NeighborGraphs, Solvation
    from trajml.io import open_source

    src = open_source(sample_topology(), sample_trajectory())
    featurizers = {
        "rdf_li_o": RDF("name Li", "name O", r_max=15.0, n_bins=150),
        "rdf_all": RDF("all", r_max=15.0, n_bins=150, exclude="molecule"),
        "coordination": Coordination("name Li", "name O", cutoff=8.0),
        "solvation": Solvation(cutoff_o=8.0, cutoff_anion=9.0),
        "graphs": NeighborGraphs(targets="name Li", r_max=10.0, max_neighbors=12),
    }
    payload = {}
    specs = src.partition(chunk_size)
    for name, f in featurizers.items():
        bound = f.bind(src)
        payload[name] = (bound, [src.read(s, bound.atoms) for s in specs])
    with open(path, "wb") as fh:
        pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
    print(f"wrote {path}: {len(specs)} chunks x {len(payload)} featurizers")


def _fold(f: Any, chunks: list) -> Any:
    state = f.init_state()
    for c in chunks:
        state = f.merge(state, f.update(f.init_state(), c))
    return state


def _compare(a: Any, b: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, va in a.to_dict().items():
        vb = b.to_dict()[key]
        if isinstance(va, list) or isinstance(va, (int, float)):
            try:
                xa, xb = np.asarray(va, dtype=float), np.asarray(vb, dtype=float)
            except (TypeError, ValueError):  # labels
                out[key] = 0.0 if va == vb else "labels differ"
                continue
            if xa.shape != xb.shape:
                out[key] = "shape differs"
            elif xa.size:
                both_nan = np.isnan(xa) & np.isnan(xb)
                out[key] = float(np.max(np.where(both_nan, 0.0, np.abs(xa - xb))))
    return out


def run_check(path: str, repeats: int, max_chunks: int | None = None) -> dict[str, Any]:
    if not hasattr(np, "row_stack"):  # numba-cuda releases that still call the removed alias
        np.row_stack = np.vstack
    with open(path, "rb") as fh:
        payload = pickle.load(fh)
    report: dict[str, Any] = {}
    for name, (f, chunks) in payload.items():
        chunks = chunks[:max_chunks]
        row: dict[str, Any] = {"frames": int(sum(c.n_frames for c in chunks))}
        results = {}
        for device in ("cpu", "cuda"):
            f.device = device
            _fold(f, chunks)  # warm-up: compile
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                state = _fold(f, chunks)
                times.append(time.perf_counter() - t0)
            results[device] = f.finalize(state, {})
            row[f"{device}_s"] = statistics.median(times)
        diffs = _compare(results["cpu"], results["cuda"])
        row["max_abs_difference"] = diffs
        row["worst"] = max((v for v in diffs.values() if isinstance(v, float)), default=0.0)
        row["speedup_cuda_vs_cpu"] = row["cpu_s"] / row["cuda_s"]
        report[name] = row
        print(f"{name:13s} frames {row['frames']}  cpu {row['cpu_s']:.3f} s  cuda {row['cuda_s']:.3f} s  "
              f"worst |cpu - cuda| {row['worst']:.3g}", flush=True)
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("step", choices=("prepare", "run"))
    p.add_argument("payload")
    p.add_argument("--chunk-size", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--max-chunks", type=int, default=None, help="use only the first chunks (a smoke test)")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    if args.step == "prepare":
        prepare(args.payload, args.chunk_size)
        return
    report = run_check(args.payload, args.repeats, args.max_chunks)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)
    bad = {k: v["worst"] for k, v in report.items() if v["worst"] > 1e-4}
    if bad:
        print(f"MISMATCH: {bad}")
        sys.exit(1)
    print("cuda == cpu for every featurizer")


if __name__ == "__main__":
    main()
