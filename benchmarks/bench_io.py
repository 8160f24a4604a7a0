"""Streaming read throughput and peak memory of trajml against MDAnalysis and mdtraj.

Run by hand (not in CI)::

    python benchmarks/bench_io.py                      # 20 000 beads, 1 000 frames, 3 repeats
    python benchmarks/bench_io.py --quick              # smoke test in seconds
    python benchmarks/bench_io.py --workdir cache/ --out bench_io.json

What it does
------------
1. Generates (or reuses, in ``--workdir``) a synthetic coarse-grained PEO/LiTFSI
   trajectory (PSF topology; XTC, and DCD unless ``--formats xtc``) with
   :func:`_common.generate_spe_trajectory`, plus XTC files of every length in
   ``--mem-lengths``.
2. Read throughput, frames/s, median over ``--repeats`` (methods interleaved in
   each repeat), on one file:

   - ``MDAnalysis loop``: ``for ts in u.trajectory: ts.positions.copy(); ts.triclinic_dimensions``
   - ``mdtraj iterload``: ``mdtraj.iterload(path, top=topology, chunk=chunk_size)``
   - ``trajml iter_chunks``: ``open_source(...).iter_chunks(chunk_size)``, serial
   - ``trajml iter_chunks [mdtraj]``: the same with ``backend="mdtraj"``
   - ``trajml run <scheduler>``: ``trajml.parallel.run(AllAtomSum(), ...)`` with
     scheduler "serial", "threads" and "processes" (``--workers``, default 2)

   The library loops are timed without opening the files (Universe / topology /
   ``open_source`` are timed separately as "open"); a ``run`` is timed whole,
   because its workers open the files themselves (and "processes" starts
   fresh interpreters on every call).
3. Peak memory (``VmHWM``) of a fresh interpreter streaming each length with
   trajml, against the trajectory's size in memory (frames x atoms x 12 bytes),
   with ``mdtraj.load`` of the whole file as a control that must grow.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402
from _common import fmt_bytes, format_table, summarise, time_interleaved  # noqa: E402

MDA_ROW = "MDAnalysis loop"
MDTRAJ_ROW = "mdtraj iterload"


def _quiet_imports() -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import MDAnalysis
        import mdtraj
    return MDAnalysis, mdtraj


def _drop_trajml_reader_cache() -> None:
    """Forget this thread's open trajml readers so every repeat opens its files anew."""
    from trajml.io import backends

    clear = getattr(backends, "clear_reader_cache", None)
    if clear is not None:
        clear()
        return
    cache = getattr(getattr(backends, "_local", None), "universes", None)
    if cache is not None:
        for u in cache.values():
            try:
                u.trajectory.close()
            except Exception:
                pass
        cache.clear()


# ----------------------------------------------------------------------------------------------
# Throughput
# ----------------------------------------------------------------------------------------------

def throughput_methods(topology: str, traj: str, chunk_size: int, workers: int,
                       schedulers: list[str], mdtraj_backend: bool) -> dict[str, Any]:
    """The timed callables, in table order; each returns seconds, frames and extras."""
    mda, md = _quiet_imports()
    from trajml.io import open_source
    from trajml.parallel import run

    def mdanalysis_loop() -> dict[str, Any]:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u = mda.Universe(topology, traj)
        t1 = time.perf_counter()
        n = 0
        for ts in u.trajectory:
            pos = ts.positions.copy()  # noqa: F841
            box = ts.triclinic_dimensions  # noqa: F841  (a fresh 3x3 array, as trajml returns)
            n += 1
        t2 = time.perf_counter()
        u.trajectory.close()
        return {"seconds": t2 - t1, "open_s": t1 - t0, "frames": n}

    def mdtraj_iterload() -> dict[str, Any]:
        t0 = time.perf_counter()
        top = md.load_topology(topology)
        t1 = time.perf_counter()
        n = 0
        for chunk in md.iterload(traj, top=top, chunk=chunk_size):
            box = chunk.unitcell_vectors  # noqa: F841
            n += chunk.n_frames
        t2 = time.perf_counter()
        return {"seconds": t2 - t1, "open_s": t1 - t0, "frames": n}

    def trajml_iter(backend: str) -> Any:
        def fn() -> dict[str, Any]:
            _drop_trajml_reader_cache()
            t0 = time.perf_counter()
            src = open_source(topology, traj, backend=backend)
            t1 = time.perf_counter()
            n = 0
            for chunk in src.iter_chunks(chunk_size=chunk_size):
                n += chunk.n_frames
            t2 = time.perf_counter()
            return {"seconds": t2 - t1, "open_s": t1 - t0, "frames": n}
        return fn

    def trajml_run(scheduler: str) -> Any:
        def fn() -> dict[str, Any]:
            _drop_trajml_reader_cache()
            t0 = time.perf_counter()
            src = open_source(topology, traj)
            t1 = time.perf_counter()
            res = run(_common.AllAtomSum(), src, chunk_size=chunk_size, scheduler=scheduler,
                      n_workers=None if scheduler == "serial" else workers, progress=False)
            t2 = time.perf_counter()
            prov = res["provenance"]
            return {"seconds": t2 - t1, "open_s": t1 - t0, "frames": res["n_frames"], "sum": res["sum"],
                    "read_s": prov["read_s"], "compute_s": prov["compute_s"]}
        return fn

    methods: dict[str, Any] = {
        MDA_ROW: mdanalysis_loop,
        MDTRAJ_ROW: mdtraj_iterload,
        "trajml iter_chunks": trajml_iter("mdanalysis"),
    }
    if mdtraj_backend:
        methods["trajml iter_chunks [mdtraj]"] = trajml_iter("mdtraj")
    for s in schedulers:
        methods[f"trajml run {s}" + ("" if s == "serial" else f" x{workers}")] = trajml_run(s)
    return {name: _silenced(fn) for name, fn in methods.items()}


def _silenced(fn: Any) -> Any:
    def wrapper() -> dict[str, Any]:
        with _common.silence_c_stdout():
            return fn()
    return wrapper


def warm_up(topology: str, traj: str) -> None:
    """Pull the file into the page cache and let MDAnalysis write its XTC offsets cache (untimed)."""
    with open(traj, "rb") as fh:
        while fh.read(1 << 24):
            pass
    mda, _ = _quiet_imports()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(topology, traj)
    u.trajectory[len(u.trajectory) - 1]
    u.trajectory.close()


def bench_throughput(topology: str, traj: str, n_frames: int, args: argparse.Namespace) -> dict[str, Any]:
    methods = throughput_methods(topology, traj, args.chunk_size, args.workers, args.schedulers,
                                 not args.no_mdtraj_backend)
    warm_up(topology, traj)
    raw = time_interleaved(methods, args.repeats)
    rows: dict[str, Any] = {}
    sums = {}
    for name, samples in raw.items():
        frames = {s["frames"] for s in samples}
        if frames != {n_frames}:
            raise RuntimeError(f"{name} read {sorted(frames)} frames; expected {n_frames}.")
        secs = summarise([s["seconds"] for s in samples])
        row = {"seconds": secs, "open_s": summarise([s["open_s"] for s in samples]),
               "frames_per_s": n_frames / secs["median"], "samples": samples}
        if "read_s" in samples[0]:
            row["read_s_median"] = summarise([s["read_s"] for s in samples])["median"]
            row["compute_s_median"] = summarise([s["compute_s"] for s in samples])["median"]
            sums[name] = np.asarray(samples[0]["sum"])
        rows[name] = row
    # Every scheduler must give the same numbers (AllAtomSum folds in a fixed order).
    if sums:
        ref = next(iter(sums.values()))
        for name, s in sums.items():
            if not np.allclose(s, ref, rtol=1e-12, atol=0):
                raise RuntimeError(f"{name} sum of positions {s} differs from {ref}.")
    mda_fps, md_fps = rows[MDA_ROW]["frames_per_s"], rows[MDTRAJ_ROW]["frames_per_s"]
    for row in rows.values():
        row["vs_mdanalysis"] = row["frames_per_s"] / mda_fps
        row["vs_mdtraj"] = row["frames_per_s"] / md_fps
    return rows


def print_throughput(fmt: str, n_atoms: int, n_frames: int, size: int, rows: dict[str, Any], repeats: int) -> None:
    print(f"\nRead throughput: {fmt.upper()}, {n_atoms} atoms x {n_frames} frames ({fmt_bytes(size)} on disk), "
          f"median of {repeats} repeats")
    table = []
    for name, r in rows.items():
        extra = ""
        if "read_s_median" in r:
            extra = f"{r['read_s_median']:.2f} / {r['compute_s_median']:.2f}"
        table.append([name, f"{r['frames_per_s']:.0f}", f"{r['seconds']['median']:.2f}",
                      f"{100 * r['seconds']['spread']:.0f}%", f"{r['open_s']['median']:.2f}",
                      f"{r['vs_mdanalysis']:.2f}", f"{r['vs_mdtraj']:.2f}", extra])
    print(format_table(["method", "frames/s", "time s", "spread", "open s", "vs MDAnalysis", "vs mdtraj",
                        "Σread / Σcompute s"], table))


# ----------------------------------------------------------------------------------------------
# Peak memory
# ----------------------------------------------------------------------------------------------

MEMORY_CHILD = r'''
import time, warnings
warnings.simplefilter("ignore")
import numpy as np
import MDAnalysis, mdtraj
from trajml.io import open_source
from trajml.parallel import run
import _common
mode, top, traj, cs = PAYLOAD["mode"], PAYLOAD["topology"], PAYLOAD["trajectory"], PAYLOAD["chunk_size"]
rss_imports = rss_now()
t0 = time.perf_counter()
if mode == "trajml iter_chunks":
    src = open_source(top, traj)
    rss_open = rss_now()
    n = 0
    for chunk in src.iter_chunks(chunk_size=cs):
        n += chunk.n_frames
elif mode == "trajml run serial":
    src = open_source(top, traj)
    rss_open = rss_now()
    n = run(_common.AllAtomSum(), src, chunk_size=cs, scheduler="serial", progress=False)["n_frames"]
elif mode == "MDAnalysis loop":
    u = MDAnalysis.Universe(top, traj)
    rss_open = rss_now()
    n = 0
    for ts in u.trajectory:
        ts.positions.copy()
        n += 1
elif mode == "mdtraj.load (control)":
    t = mdtraj.load_topology(top)
    rss_open = rss_now()
    n = mdtraj.load(traj, top=t).n_frames
else:
    raise ValueError(mode)
print(json.dumps({"mode": mode, "frames": n, "seconds": time.perf_counter() - t0, "rss_imports": rss_imports,
                  "rss_open": rss_open, "peak": rss_peak()}))
'''

MEMORY_MODES = ("trajml iter_chunks", "trajml run serial", "MDAnalysis loop", "mdtraj.load (control)")


def bench_memory(topology: str, files: dict[int, str], n_atoms: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for length, path in sorted(files.items()):
        for mode in MEMORY_MODES:
            res = _common.run_python_child(MEMORY_CHILD, {"mode": mode, "topology": topology, "trajectory": path,
                                                          "chunk_size": args.chunk_size})
            if res["frames"] != length:
                raise RuntimeError(f"{mode} read {res['frames']} frames of a {length}-frame file.")
            res.update(length=length, in_memory=length * n_atoms * 12, file_bytes=os.path.getsize(path),
                       chunk_bytes=min(args.chunk_size, length) * n_atoms * 12,
                       streaming_growth=res["peak"] - res["rss_open"])
            print(f"  {length:6d} frames  {mode:<24s} peak {fmt_bytes(res['peak']):>10s} "
                  f"(+{fmt_bytes(res['streaming_growth'])} while reading, {res['seconds']:.1f} s)")
            rows.append(res)
    return rows


def print_memory(rows: list[dict[str, Any]], n_atoms: int, chunk_size: int) -> dict[str, Any]:
    lengths = sorted({r["length"] for r in rows})
    by = {(r["length"], r["mode"]): r for r in rows}
    print(f"\nPeak RSS (VmHWM) of a fresh interpreter, {n_atoms} atoms, chunk_size={chunk_size} "
          f"(one chunk of positions = {fmt_bytes(min(chunk_size, max(lengths)) * n_atoms * 12)}); "
          "'+' = growth over the RSS just before reading")
    table = []
    for n in lengths:
        row = [str(n), fmt_bytes(by[n, MEMORY_MODES[0]]["file_bytes"]), fmt_bytes(n * n_atoms * 12)]
        for mode in MEMORY_MODES:
            r = by[n, mode]
            row.append(f"{fmt_bytes(r['peak'])} (+{fmt_bytes(r['streaming_growth'])})")
        table.append(row)
    print(format_table(["frames", "XTC size", "traj in memory", *MEMORY_MODES], table))
    slopes = {}
    if len(lengths) > 1:
        lo, hi = lengths[0], lengths[-1]
        grown = (hi - lo) * n_atoms * 12
        for mode in MEMORY_MODES:
            d = by[hi, mode]["peak"] - by[lo, mode]["peak"]
            slopes[mode] = d / grown
        print(f"Peak growth from {lo} to {hi} frames, as a fraction of the trajectory's growth in memory "
              f"({fmt_bytes(grown)}): " + ", ".join(f"{m}: {s:.3f}" for m, s in slopes.items()))
    return slopes


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--atoms", type=int, default=None, help="beads per frame (default 20000; --quick: 2000)")
    p.add_argument("--frames", type=int, default=None,
                   help="frames of the throughput file (default 1000; --quick: 100)")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed repeats per method; the median is reported (default 3)")
    p.add_argument("--chunk-size", type=int, default=None, help="frames per chunk (default 100; --quick: 25)")
    p.add_argument("--workers", type=int, default=2, help="workers for the threads/processes schedulers (default 2)")
    p.add_argument("--formats", default="xtc,dcd", help="comma-separated formats for the throughput runs (xtc, dcd)")
    p.add_argument("--schedulers", default="serial,threads,processes",
                   help="trajml.parallel.run schedulers to time (default serial,threads,processes)")
    p.add_argument("--mem-lengths", default=None,
                   help="comma-separated trajectory lengths for the memory runs (default 250,500,1000,2000; "
                        "--quick: 25,50,100,200); empty to skip")
    p.add_argument("--no-mdtraj-backend", action="store_true", help="skip the trajml backend='mdtraj' row")
    p.add_argument("--skip-throughput", action="store_true", help="only the memory runs")
    p.add_argument("--workdir", default=None,
                   help="cache folder for the generated files (default: trajml-bench in the system temp folder)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--quick", action="store_true", help="small sizes, to smoke-test in seconds")
    p.add_argument("--out", default=None, help="write all results as JSON here")
    args = p.parse_args(argv)
    quick = args.quick
    args.atoms = args.atoms or (2000 if quick else 20000)
    args.frames = args.frames or (100 if quick else 1000)
    args.chunk_size = args.chunk_size or (25 if quick else 100)
    if args.mem_lengths is None:
        args.mem_lengths = "25,50,100,200" if quick else "250,500,1000,2000"
    args.mem_lengths = [int(x) for x in args.mem_lengths.split(",") if x.strip()]
    args.formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    args.schedulers = [s.strip() for s in args.schedulers.split(",") if s.strip()]
    args.workdir = args.workdir or os.path.join(tempfile.gettempdir(), "trajml-bench")
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command = _common.command_line("bench_io.py", argv)
    t_start = time.perf_counter()
    env = _common.environment()
    print(f"bench_io: {args.atoms} atoms, {args.frames} frames, {args.repeats} repeats, chunk_size={args.chunk_size}, "
          f"{env['cpu_count']} CPUs, Python {env['python']}, " +
          ", ".join(f"{k} {v}" for k, v in env["versions"].items()))

    formats = ["xtc"] + [f"{f}:{args.frames}" for f in args.formats if f != "xtc"]
    gen = _common.generate_spe_trajectory(args.workdir, args.atoms, [args.frames, *args.mem_lengths],
                                          formats=formats, seed=args.seed)
    topology = gen["topology"]
    layout = gen["layout"]
    print(f"system: {layout.n_eo} EO beads in {len(layout.chain_starts) - 1} chains, {layout.n_li} Li, "
          f"{layout.n_tfsi} TFSI; cubic box {gen['box']:.1f} Å; files cached in the work folder")

    results: dict[str, Any] = {
        "command": command,
        "config": {k: v for k, v in vars(args).items() if k not in ("workdir", "out")},
        "environment": env,
        "system": {"n_atoms": args.atoms, "n_eo": layout.n_eo, "n_li": layout.n_li, "n_tfsi": layout.n_tfsi,
                   "n_chains": len(layout.chain_starts) - 1, "box_A": gen["box"]},
        "files": {fmt: {n: os.path.getsize(p) for n, p in d.items()} for fmt, d in gen["files"].items()},
        "throughput": {},
    }

    if not args.skip_throughput:
        for fmt in args.formats:
            path = gen["files"][fmt][args.frames]
            print(f"\n== throughput, {fmt.upper()} ==")
            rows = bench_throughput(topology, path, args.frames, args)
            results["throughput"][fmt] = rows
            print_throughput(fmt, args.atoms, args.frames, os.path.getsize(path), rows, args.repeats)

    if args.mem_lengths:
        print("\n== peak memory vs trajectory length (XTC) ==")
        files = {n: gen["files"]["xtc"][n] for n in args.mem_lengths}
        mem_rows = bench_memory(topology, files, args.atoms, args)
        results["memory"] = {"rows": mem_rows, "growth_fraction": print_memory(mem_rows, args.atoms, args.chunk_size)}

    results["total_s"] = time.perf_counter() - t_start
    print(f"\ntotal {results['total_s']:.0f} s;  command: {command}")
    _common.write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
