"""Periodic k-nearest-neighbour graphs: trajml's kernel against a scipy cKDTree loop, alone and with reading.

Run by hand (not in CI)::

    python benchmarks/bench_knn.py                   # 20 000 beads, 3 repeats
    python benchmarks/bench_knn.py --quick           # smoke test in seconds
    python benchmarks/bench_knn.py --workdir cache/ --out bench_knn.json

The system is the synthetic coarse-grained PEO/LiTFSI trajectory of
``bench_rdf.py`` (``--atoms`` beads at ``--density`` beads/Å³, cubic box); every
bead lists its ``--neighbors`` nearest beads within ``--r-max`` Å.

Tables
------
1. **Kernel alone**: ``--frames-kernel`` frames already in memory (read once,
   untimed). trajml ``knn_neighbors_csr`` (what ``NeighborGraphs`` calls: CSR
   rows, counts capped at M + 1) and ``knn_neighbors`` (fixed-width rows)
   against a loop of ``scipy.spatial.cKDTree(boxsize=L)`` built and queried per
   frame (``k = M + 1`` with ``distance_upper_bound``, ``workers=--workers``).
2. **With reading**: ``--frames`` frames of the XTC file, opened and read by
   each side its own way: trajml ``NeighborGraphs.iter_graphs`` against
   MDAnalysis reading plus the same cKDTree loop.

Timings are medians of ``--repeats`` repeats with the methods interleaved
within each repeat, in an order rotated from repeat to repeat (after one
untimed warm-up: numba compilation, page cache):
wall time, and the CPU time of the process (all its threads), whose ratio
is the steadier one on a machine shared with other jobs.
The neighbours are checked: every row of the first frame against cKDTree's,
ordered by the rule trajml documents (float32 distance, then index), and the
edge counts of every method. Reports the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402
from _common import CG_DENSITY, format_table, summarise  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--atoms", type=int, default=None, help="beads per frame (default 20000; --quick 3000)")
    p.add_argument("--frames", type=int, default=None, help="frames read in the with-reading table (default 100)")
    p.add_argument("--frames-kernel", type=int, default=None, help="frames of the kernel-alone table (default 50)")
    p.add_argument("--neighbors", type=int, default=12, help="neighbours M per bead (default 12)")
    p.add_argument("--r-max", type=float, default=7.0, help="cut-off in Å (default 7)")
    p.add_argument("--density", type=float, default=CG_DENSITY, help=f"beads/Å³ (default {CG_DENSITY})")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5; --quick 2)")
    p.add_argument("--chunk-size", type=int, default=50, help="frames per trajml chunk (default 50)")
    p.add_argument("--workers", type=int, default=2, help="cKDTree workers (default 2)")
    p.add_argument("--threads", type=int, default=None, help="numba threads (default: the machine's)")
    p.add_argument("--cuda", action="store_true", help="also time knn_neighbors_csr(device='cuda') (needs a GPU)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--workdir", default="bench_knn_work", help="cache folder for the generated trajectory")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--quick", action="store_true", help="small system, few frames")
    args = p.parse_args(argv)
    q = args.quick
    args.atoms = args.atoms or (3000 if q else 20000)
    args.frames = args.frames or (10 if q else 100)
    args.frames_kernel = min(args.frames_kernel or (10 if q else 50), args.frames)
    args.repeats = args.repeats or (2 if q else 5)
    return args


def _quiet_mda() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import MDAnalysis as mda
    return mda


def _universe(top: str, traj: str) -> Any:
    mda = _quiet_mda()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mda.Universe(top, traj)


def _ckdtree_frame(pos: np.ndarray, lengths: np.ndarray, m: int, r_max: float, workers: int):
    from scipy.spatial import cKDTree

    wrapped = np.mod(pos.astype(np.float64), lengths)
    tree = cKDTree(wrapped, boxsize=lengths)
    return tree.query(wrapped, k=m + 1, distance_upper_bound=r_max, workers=workers)


def kernel_methods(pos: np.ndarray, boxes: np.ndarray, args: argparse.Namespace) -> dict[str, Callable[[], dict]]:
    from trajml.kernels.knn import knn_neighbors, knn_neighbors_csr

    m, r_max = args.neighbors, args.r_max
    n_frames, n = pos.shape[:2]
    ids = np.arange(n, dtype=np.int64)
    lengths = [np.diag(b).astype(np.float64) for b in boxes]

    def trajml_csr(device: str = "cpu") -> dict[str, Any]:
        t0 = time.perf_counter()
        edges = 0
        for c0 in range(0, n_frames, args.chunk_size):
            sl = slice(c0, c0 + args.chunk_size)
            off, _, _, _ = knn_neighbors_csr(pos[sl], pos[sl], boxes[sl], r_max, ids, ids, m, device=device)
            edges += int(off[-1])
        return {"seconds": time.perf_counter() - t0, "frames": n_frames, "edges": edges}

    def trajml_rows() -> dict[str, Any]:
        t0 = time.perf_counter()
        edges = 0
        for c0 in range(0, n_frames, args.chunk_size):
            sl = slice(c0, c0 + args.chunk_size)
            f = pos[sl].shape[0]
            nbrs = np.empty((f, n, m), np.int64)
            dist = np.empty((f, n, m), np.float32)
            counts = np.empty((f, n), np.int64)
            knn_neighbors(pos[sl], pos[sl], boxes[sl], r_max, ids, ids, m, nbrs, dist, counts, count_all=False)
            edges += int(np.minimum(counts, m).sum())
        return {"seconds": time.perf_counter() - t0, "frames": n_frames, "edges": edges}

    def ckdtree_loop() -> dict[str, Any]:
        t0 = time.perf_counter()
        edges = 0
        for t in range(n_frames):
            d, _ = _ckdtree_frame(pos[t], lengths[t], m, r_max, args.workers)
            edges += int(np.count_nonzero(np.isfinite(d[:, 1:])))  # column 0 is the bead itself
        return {"seconds": time.perf_counter() - t0, "frames": n_frames, "edges": edges}

    methods = {"trajml knn_neighbors_csr": trajml_csr, "trajml knn_neighbors": trajml_rows,
               f"cKDTree loop (workers={args.workers})": ckdtree_loop}
    if args.cuda:
        methods["trajml knn_neighbors_csr (cuda)"] = lambda: trajml_csr("cuda")
    return methods


def reading_methods(top: str, traj: str, args: argparse.Namespace) -> dict[str, Callable[[], dict]]:
    m, r_max, n_frames = args.neighbors, args.r_max, args.frames

    def trajml_graphs() -> dict[str, Any]:
        return _common.trajml_graph_pass(top, traj, r_max, m, args.chunk_size, n_frames)

    def ckdtree_loop() -> dict[str, Any]:
        t0 = time.perf_counter()
        u = _universe(top, traj)
        edges = 0
        frames = 0
        for ts in u.trajectory[:n_frames]:
            d, _ = _ckdtree_frame(ts.positions, ts.dimensions[:3].astype(np.float64), m, r_max, args.workers)
            edges += int(np.count_nonzero(np.isfinite(d[:, 1:])))
            frames += 1
        return {"seconds": time.perf_counter() - t0, "frames": frames, "edges": edges}

    return {"trajml NeighborGraphs": trajml_graphs, f"MDAnalysis + cKDTree loop (workers={args.workers})": ckdtree_loop}


def check_rows(pos: np.ndarray, box: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    """Frame 0: trajml's rows against cKDTree's, re-ordered by float32 distance then index."""
    from scipy.spatial import cKDTree

    from trajml.kernels.knn import knn_neighbors_csr

    m, r_max = args.neighbors, args.r_max
    n = pos.shape[0]
    ids = np.arange(n, dtype=np.int64)
    off, nb, dist, counts = knn_neighbors_csr(pos[None], pos[None], box[None], r_max, ids, ids, m)
    lengths = np.diag(box).astype(np.float64)
    wrapped = np.mod(pos.astype(np.float64), lengths)
    # All partners within r_max, so that a tie at the M-th distance cannot be cut by the query itself.
    d, j = cKDTree(wrapped, boxsize=lengths).query(wrapped, k=int(counts.max()) + 2, distance_upper_bound=r_max,
                                                  workers=args.workers)
    same = 0
    worst = 0.0
    for i in range(n):
        keep = np.isfinite(d[i]) & (d[i] < r_max) & (j[i] != i)
        jj, dd = j[i][keep], d[i][keep].astype(np.float32)
        order = np.lexsort((jj, dd))[:m]
        row = slice(off[i], off[i + 1])
        if np.array_equal(nb[row], jj[order]):
            same += 1
            worst = max(worst, float(np.max(np.abs(dist[row] - dd[order]), initial=0.0)))
    return {"rows": n, "rows_identical": same, "max_abs_distance_difference_A": worst,
            "rows_cut_to_M": int(np.count_nonzero(counts > m)), "mean_kept": float(np.minimum(counts, m).mean())}


def _with_cpu(fn: Callable[[], dict]) -> Callable[[], dict]:
    """Also record the CPU time of the whole process (every thread) over the call."""
    def timed() -> dict[str, Any]:
        c0 = time.process_time()
        out = fn()
        out["cpu_seconds"] = time.process_time() - c0
        return out
    return timed


def time_rotated(methods: dict[str, Callable[[], dict]], repeats: int) -> dict[str, list[dict[str, Any]]]:
    """Every method once per repeat, the order rotated from repeat to repeat.

    The first call after another library's work runs measurably slower here
    (caches, page mappings, sleeping threads), so no method always follows the
    same one.
    """
    names = list(methods)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for r in range(repeats):
        for q in range(len(names)):
            name = names[(q + r) % len(names)]
            res = dict(methods[name]())
            out[name].append(res)
            print(f"  repeat {r + 1}/{repeats}  {name:<28s} {res['seconds']:8.3f} s")
    return out


def bench_table(title: str, methods: dict[str, Callable[[], dict]], n_frames: int, repeats: int,
                ref: str) -> dict[str, Any]:
    print(f"\n== {title}: {n_frames} frames ==")
    methods = {name: _with_cpu(fn) for name, fn in methods.items()}
    for fn in methods.values():  # warm-up (untimed)
        fn()
    raw = time_rotated(methods, repeats)
    rows: dict[str, Any] = {}
    for name, samples in raw.items():
        if {s["frames"] for s in samples} != {n_frames}:
            raise RuntimeError(f"{name} analysed {sorted({s['frames'] for s in samples})} frames; expected {n_frames}.")
        secs = summarise([s["seconds"] for s in samples])
        cpu = summarise([s["cpu_seconds"] for s in samples])
        rows[name] = {"seconds": secs, "ms_per_frame": 1000 * secs["median"] / n_frames,
                      "cpu_seconds": cpu, "cpu_ms_per_frame": 1000 * cpu["median"] / n_frames,
                      "edges": samples[0]["edges"], "samples_s": [s["seconds"] for s in samples],
                      "samples_cpu_s": [s["cpu_seconds"] for s in samples]}
    edges = {r["edges"] for r in rows.values()}
    if len(edges) != 1:
        raise RuntimeError(f"the methods found different edge counts: { {k: r['edges'] for k, r in rows.items()} }")
    table = []
    for name, r in rows.items():
        r["trajml_speedup"] = r["seconds"]["median"] / rows[ref]["seconds"]["median"]
        r["trajml_cpu_ratio"] = r["cpu_seconds"]["median"] / rows[ref]["cpu_seconds"]["median"]
        table.append([name, f"{r['ms_per_frame']:.2f}", f"{100 * r['seconds']['spread']:.0f}%",
                      f"{r['trajml_speedup']:.2f}x", f"{r['cpu_ms_per_frame']:.2f}", f"{r['trajml_cpu_ratio']:.2f}x",
                      r["edges"]])
    print(format_table(["method", "wall ms/frame", "spread", f"{ref} is faster by", "CPU ms/frame",
                        "CPU ratio", "edges"], table))
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
    command = _common.command_line("bench_knn.py", argv)
    command = command.replace(args.workdir, "W")  # the cache folder is local to the machine
    env = _common.environment(("numpy", "numba", "scipy", "MDAnalysis", "trajml"))
    import numba

    load_before = os.getloadavg()
    print(f"bench_knn: {args.atoms} beads, {env['cpu_count']} CPUs, {numba.get_num_threads()} numba threads, "
          f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    gen = _common.generate_spe_trajectory(args.workdir, args.atoms, [args.frames], formats=("xtc",), seed=args.seed,
                                          density=args.density)
    top, traj = gen["topology"], gen["files"]["xtc"][args.frames]
    u = _universe(top, traj)
    frames = [(ts.positions.copy(), ts.triclinic_dimensions.copy()) for ts in u.trajectory[:args.frames_kernel]]
    pos = np.ascontiguousarray(np.stack([f[0] for f in frames]), dtype=np.float32)
    boxes = np.stack([f[1] for f in frames]).astype(np.float32)
    results: dict[str, Any] = {
        "command": command, "environment": env,
        "config": {k: v for k, v in vars(args).items() if k not in ("workdir", "out")},
        "system": {"n_atoms": args.atoms, "box_A": gen["box"], "density": args.density},
        "numba_threads": numba.get_num_threads(),
    }
    results["check_frame0"] = check_rows(pos[0], boxes[0], args)
    c = results["check_frame0"]
    print(f"frame 0: {c['rows_identical']} of {c['rows']} rows identical to cKDTree's (max |Δd| "
          f"{c['max_abs_distance_difference_A']:.1e} Å); "
          f"{c['rows_cut_to_M']} rows cut to M, mean kept {c['mean_kept']:.2f}")
    results["kernel"] = bench_table(
        f"kernel alone ({args.neighbors} nearest within {args.r_max} Å, frames in memory)",
        kernel_methods(pos, boxes, args), args.frames_kernel, args.repeats, "trajml knn_neighbors_csr")
    results["with_reading"] = bench_table(
        f"with reading ({args.neighbors} nearest within {args.r_max} Å, XTC file)",
        reading_methods(top, traj, args), args.frames, args.repeats, "trajml NeighborGraphs")
    results["load_average"] = {"before": list(load_before), "after": list(os.getloadavg())}
    print(f"\nload average after: {results['load_average']['after']}")
    print(f"command: {command}")
    _common.write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
