"""RDFs and neighbour graphs: trajml against MDAnalysis, mdtraj, freud and a scipy cKDTree loop.

Run by hand (not in CI)::

    python benchmarks/bench_rdf.py                   # 20 000 beads, 1 000 frames, 3 repeats
    python benchmarks/bench_rdf.py --quick           # smoke test in seconds
    python benchmarks/bench_rdf.py --workdir cache/ --out bench_rdf.json

Every method of a table reads the same frames of the same XTC file and
computes the same quantity; the table gives frames/s (median of ``--repeats``
interleaved repeats) and each method's speed as a ratio to the peers.

Tables
------
1. **Li–O partial RDF** (Li around EO beads), ``--frames-partial`` frames:
   trajml ``RDF`` (serial and ``processes`` x ``--workers``), MDAnalysis
   ``InterRDF``, ``mdtraj.compute_rdf`` (pairs of Li x EO, frames loaded in
   chunks with ``mdtraj.iterload``) and ``freud.density.RDF`` (one
   ``compute(..., reset=False)`` per frame). The g(r) of every peer is checked
   against trajml's (NVT: same normalisation up to the peers' conventions).
2. **All-bead RDF** (every bead around every bead, self pairs excluded),
   ``--frames-all`` frames: trajml, InterRDF, freud; mdtraj only with
   ``--mdtraj-all`` (it needs an explicit list of N²/2 pairs: 2·10⁸ pairs and
   about 3 GB per frame at 20 000 beads).
3. **Neighbour graphs**: the ``--neighbors`` nearest neighbours within
   ``--graph-r-max`` Å of every bead, per frame: trajml ``NeighborGraphs``
   (streamed CSR) against ``scipy.spatial.cKDTree(boxsize=L)`` built and
   queried per frame (``workers=--workers``).
4. **Peak memory** of a fresh interpreter running trajml's all-bead RDF over
   ``--mem-frames`` frame counts: flat when memory is bounded by the chunk.

Reading is part of every timing (each library reads the file its own way);
``--threads`` sets numba's and freud's thread count (default: the machine's).
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
from _common import CG_DENSITY, format_table, summarise, time_interleaved  # noqa: E402

N_BINS = 100

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--atoms", type=int, default=None, help="beads per frame (default 20000; --quick 3000)")
    p.add_argument("--frames", type=int, default=None, help="frames in the generated file (default 1000; --quick 40)")
    p.add_argument("--frames-partial", type=int, default=None, help="frames for the Li–O RDF (default: all)")
    p.add_argument("--frames-all", type=int, default=None,
                   help="frames for the all-bead RDF (default 100; --quick 10): the peers take ~1 s a frame")
    p.add_argument("--frames-graph", type=int, default=None, help="frames for the neighbour graphs (default 100)")
    p.add_argument("--mem-frames", default=None, help="comma-separated frame counts for the memory runs "
                                                      "(default 100,1000; --quick 10,40; empty to skip)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats per method (median reported)")
    p.add_argument("--chunk-size", type=int, default=50, help="trajml frames per chunk (default 50)")
    p.add_argument("--workers", type=int, default=2, help="workers for trajml 'processes' and cKDTree (default 2)")
    p.add_argument("--threads", type=int, default=None, help="numba/freud threads (default: all cores)")
    p.add_argument("--neighbors", type=int, default=12, help="M nearest neighbours per bead (default 12)")
    p.add_argument("--graph-r-max", type=float, default=7.0, help="graph radius in Å (default 7)")
    p.add_argument("--density", type=float, default=CG_DENSITY,
                   help="bead density in beads/Å³ (default 0.0068, the coarse-grained SPE of trajml simulate; "
                        "0.058 is an atomistic-like density)")
    p.add_argument("--r-max-partial", type=float, default=15.0, help="Li–O RDF range in Å (default 15)")
    p.add_argument("--r-max-all", type=float, default=12.0, help="all-bead RDF range in Å (default 12)")
    p.add_argument("--skip", default="", help="comma-separated tables to skip: partial, all, graphs, memory")
    p.add_argument("--mdtraj-all", action="store_true", help="also time mdtraj on the all-bead RDF (memory hungry)")
    p.add_argument("--workdir", default=os.path.join(os.getcwd(), "bench-out"), help="cache folder for generated files")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    q = args.quick
    args.atoms = args.atoms or (3000 if q else 20000)
    args.frames = args.frames or (40 if q else 1000)
    args.frames_partial = min(args.frames_partial or args.frames, args.frames)
    args.frames_all = min(args.frames_all or (10 if q else 100), args.frames)
    args.frames_graph = min(args.frames_graph or (10 if q else 100), args.frames)
    mem = args.mem_frames if args.mem_frames is not None else ("10,40" if q else "100,1000")
    args.mem_frames = [int(x) for x in mem.split(",") if x.strip()]
    args.mem_frames = [m for m in args.mem_frames if m <= args.frames]
    args.skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    if q:
        args.repeats = min(args.repeats, 2)
    return args


def _quiet() -> tuple[Any, Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import freud
        import MDAnalysis
        import mdtraj
    return MDAnalysis, mdtraj, freud


# ----------------------------------------------------------------------------------------------
# The methods: each returns {"seconds", "frames", "g"} (g on trajml's bins, for the agreement check)
# ----------------------------------------------------------------------------------------------

def rdf_methods(top: str, traj: str, sel_a: str, sel_b: str | None, n_frames: int, r_max: float,
                args: argparse.Namespace, with_mdtraj: bool) -> dict[str, Callable[[], dict[str, Any]]]:
    mda, md, freud = _quiet()
    from MDAnalysis.analysis.rdf import InterRDF

    from trajml.features import RDF
    from trajml.io import open_source
    from trajml.parallel import run

    same = sel_b is None

    def trajml_rdf(scheduler: str) -> Callable[[], dict[str, Any]]:
        def fn() -> dict[str, Any]:
            t0 = time.perf_counter()
            src = open_source(top, traj)
            res = run(RDF(sel_a, sel_b, r_max=r_max, n_bins=N_BINS, exclude="self"), src, chunk_size=args.chunk_size,
                      stop=n_frames, scheduler=scheduler, n_workers=None if scheduler == "serial" else args.workers,
                      progress=False)
            return {"seconds": time.perf_counter() - t0, "frames": res.n_frames, "g": res.g}
        return fn

    def interrdf() -> dict[str, Any]:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u = mda.Universe(top, traj)
            a = u.select_atoms(sel_a)
            b = a if same else u.select_atoms(sel_b)
            r = InterRDF(a, b, nbins=N_BINS, range=(0.0, r_max), exclusion_block=(1, 1) if same else None)
            r.run(stop=n_frames)
        return {"seconds": time.perf_counter() - t0, "frames": r.n_frames, "g": np.asarray(r.results.rdf)}

    def mdtraj_rdf() -> dict[str, Any]:
        t0 = time.perf_counter()
        t = md.load_topology(top)
        ia = t.select(_mdtraj_sel(sel_a))
        ib = ia if same else t.select(_mdtraj_sel(sel_b))
        pairs = t.select_pairs(ia, ib)  # unordered, i != j: mdtraj normalises by len(pairs), same g
        hist = np.zeros(N_BINS)
        seen = 0
        for chunk in md.iterload(traj, top=t, chunk=args.chunk_size):
            if seen >= n_frames:
                break
            chunk = chunk[: n_frames - seen]
            r, g = md.compute_rdf(chunk, pairs, r_range=(0.0, r_max / 10.0), n_bins=N_BINS)
            hist += g * chunk.n_frames  # mdtraj averages per frame (Σ 1/V convention) within a call
            seen += chunk.n_frames
        g = hist / seen
        return {"seconds": time.perf_counter() - t0, "frames": seen, "g": g}

    def freud_rdf() -> dict[str, Any]:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u = mda.Universe(top, traj)
        a = u.select_atoms(sel_a).indices
        b = a if same else u.select_atoms(sel_b).indices
        rdf = freud.density.RDF(bins=N_BINS, r_max=r_max)
        n = 0
        for ts in u.trajectory[:n_frames]:
            box = freud.box.Box.from_matrix(ts.triclinic_dimensions.T)
            pos = ts.positions
            centre = pos - 0.5 * np.diag(ts.triclinic_dimensions)  # freud boxes are centred on the origin
            if same:
                rdf.compute(system=(box, centre[a]), reset=False)
            else:
                rdf.compute(system=(box, centre[b]), query_points=centre[a], reset=False)
            n += 1
        return {"seconds": time.perf_counter() - t0, "frames": n, "g": np.asarray(rdf.rdf)}

    methods: dict[str, Callable[[], dict[str, Any]]] = {
        "trajml RDF serial": trajml_rdf("serial"),
        f"trajml RDF processes x{args.workers}": trajml_rdf("processes"),
        "MDAnalysis InterRDF": interrdf,
        "freud.density.RDF": freud_rdf,
    }
    if with_mdtraj:
        methods["mdtraj.compute_rdf"] = mdtraj_rdf
    return methods


def _mdtraj_sel(sel: str) -> str:
    """MDAnalysis 'name X' -> mdtraj 'name X' (the benchmark only uses name selections)."""
    if not sel.startswith("name "):
        raise ValueError(f"bench_rdf uses 'name X' selections only; got {sel!r}.")
    return sel


def graph_methods(top: str, traj: str, n_frames: int,
                  args: argparse.Namespace) -> dict[str, Callable[[], dict[str, Any]]]:
    mda, _, _ = _quiet()
    from scipy.spatial import cKDTree

    m, r_max = args.neighbors, args.graph_r_max

    def trajml_graphs() -> dict[str, Any]:
        return _common.trajml_graph_pass(top, traj, r_max, m, args.chunk_size, n_frames)

    def ckdtree_loop() -> dict[str, Any]:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u = mda.Universe(top, traj)
        edges = 0
        frames = 0
        for ts in u.trajectory[:n_frames]:
            lengths = ts.dimensions[:3].astype(np.float64)
            pos = np.mod(ts.positions.astype(np.float64), lengths)
            tree = cKDTree(pos, boxsize=lengths)
            d, _ = tree.query(pos, k=m + 1, distance_upper_bound=r_max, workers=args.workers)
            edges += int(np.count_nonzero(np.isfinite(d[:, 1:])))  # column 0 is the bead itself
            frames += 1
        return {"seconds": time.perf_counter() - t0, "frames": frames, "edges": edges}

    return {"trajml NeighborGraphs": trajml_graphs, f"cKDTree loop (workers={args.workers})": ckdtree_loop}


# ----------------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------------

def bench_table(title: str, methods: dict[str, Callable[[], dict[str, Any]]], n_frames: int, repeats: int,
                ref: str, check: str | None) -> dict[str, Any]:
    print(f"\n== {title}: {n_frames} frames ==")
    for fn in methods.values():  # warm-up: numba compilation, page cache, offsets files (untimed)
        fn()
    raw = time_interleaved(methods, repeats)
    rows: dict[str, Any] = {}
    for name, samples in raw.items():
        if {s["frames"] for s in samples} != {n_frames}:
            raise RuntimeError(f"{name} analysed {sorted({s['frames'] for s in samples})} frames; expected {n_frames}.")
        secs = summarise([s["seconds"] for s in samples])
        rows[name] = {"seconds": secs, "frames_per_s": n_frames / secs["median"]}
        if check == "g":
            rows[name]["max_abs_dg_vs_trajml"] = float(np.max(np.abs(samples[0]["g"] - raw[ref][0]["g"])))
        elif check == "edges":
            rows[name]["edges"] = samples[0]["edges"]
    base = rows[ref]["frames_per_s"]
    names = list(rows)
    table = []
    for name in names:
        r = rows[name]
        r["trajml_speedup"] = base / r["frames_per_s"]
        extra = (f"{r['max_abs_dg_vs_trajml']:.1e}" if "max_abs_dg_vs_trajml" in r else str(r.get("edges", "")))
        table.append([name, f"{r['frames_per_s']:.1f}", f"{r['seconds']['median']:.2f}",
                      f"{100 * r['seconds']['spread']:.0f}%", f"{r['trajml_speedup']:.1f}x", extra])
    print(format_table(["method", "frames/s", "time s", "spread", f"{ref} is faster by",
                        "max |Δg| vs trajml" if check == "g" else "edges"], table))
    return rows


MEMORY_CHILD = r'''
import time, warnings
warnings.simplefilter("ignore")
from trajml.features import RDF
from trajml.io import open_source
from trajml.parallel import run
src = open_source(PAYLOAD["topology"], PAYLOAD["trajectory"])
base = rss_now()
t0 = time.perf_counter()
res = run(RDF("all", r_max=PAYLOAD["r_max"], n_bins=100, exclude="self"), src, chunk_size=PAYLOAD["chunk_size"],
          stop=PAYLOAD["frames"], progress=False)
print(json.dumps({"frames": res.n_frames, "seconds": time.perf_counter() - t0, "rss_before": base,
                  "rss_peak": rss_peak()}))
'''


def bench_memory(top: str, traj: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    print(f"\n== peak memory of trajml's all-bead RDF (chunk_size={args.chunk_size}) ==")
    rows = []
    for n in args.mem_frames:
        out = _common.run_python_child(MEMORY_CHILD, {"topology": top, "trajectory": traj, "frames": n,
                                                      "chunk_size": args.chunk_size, "r_max": args.r_max_all})
        out["frames_requested"] = n
        rows.append(out)
    table = [[r["frames"], _common.fmt_bytes(r["rss_before"]), _common.fmt_bytes(r["rss_peak"]),
              f"{r['seconds']:.1f}"] for r in rows]
    print(format_table(["frames", "RSS after open", "peak RSS", "time s"], table))
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
    command = _common.command_line("bench_rdf.py", argv)
    env = _common.environment(("numpy", "numba", "scipy", "MDAnalysis", "mdtraj", "freud", "trajml"))
    _, _, freud = _quiet()
    if args.threads:
        freud.parallel.set_num_threads(args.threads)
    print(f"bench_rdf: {args.atoms} beads, {env['cpu_count']} CPUs, " +
          ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    gen = _common.generate_spe_trajectory(args.workdir, args.atoms, [args.frames], formats=("xtc",), seed=args.seed,
                                          density=args.density)
    top, traj = gen["topology"], gen["files"]["xtc"][args.frames]
    lay = gen["layout"]
    print(f"system: {lay.n_eo} EO beads, {lay.n_li} Li, {lay.n_tfsi} TFSI; cubic box {gen['box']:.1f} Å "
          f"({args.density} beads/Å³)")
    results: dict[str, Any] = {"command": command, "environment": env,
                               "config": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()
                                          if k not in ("workdir", "out")},
                               "system": {"n_atoms": args.atoms, "box_A": gen["box"], "density": args.density}}
    ref = "trajml RDF serial"
    if "partial" not in args.skip:
        results["partial_li_o"] = bench_table(
            f"Li–O partial RDF (r_max {args.r_max_partial} Å, {N_BINS} bins)",
            rdf_methods(top, traj, "name LI", "name EO", args.frames_partial, args.r_max_partial, args, True),
            args.frames_partial, args.repeats, ref, "g")
    if "all" not in args.skip:
        results["all_bead"] = bench_table(
            f"all-bead RDF (r_max {args.r_max_all} Å, {N_BINS} bins)",
            rdf_methods(top, traj, "all", None, args.frames_all, args.r_max_all, args, args.mdtraj_all),
            args.frames_all, args.repeats, ref, "g")
    if "graphs" not in args.skip:
        results["graphs"] = bench_table(
            f"neighbour graphs ({args.neighbors} nearest within {args.graph_r_max} Å, every bead)",
            graph_methods(top, traj, args.frames_graph, args), args.frames_graph, args.repeats,
            "trajml NeighborGraphs", "edges")
    if args.mem_frames and "memory" not in args.skip:
        results["memory"] = bench_memory(top, traj, args)
    print(f"\ncommand: {command}")
    _common.write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
