"""Mean-squared displacement: trajml MSD against MDAnalysis EinsteinMSD(fft=True).

Run by hand (not in CI)::

    python benchmarks/bench_msd.py                 # 20 000 beads, 1 000 frames
    python benchmarks/bench_msd.py --quick         # smoke test in seconds
    python benchmarks/bench_msd.py --workdir cache/ --out bench_msd.json

Both libraries start from the same wrapped XTC file and must unwrap it (no-jump):
trajml streams it once through its unwrapper into a particle-major store and
correlates blocks of particles by FFT; MDAnalysis applies its
``NoJump`` transformation frame by frame and ``EinsteinMSD(fft=True)``
(tidynamics per particle) on the ``(T, N, 3)`` float64 array it keeps in
memory. ``MDAnalysis EinsteinMSD, no unwrap`` skips NoJump (a wrong MSD for a
wrapped file; shown only as a lower bound on MDAnalysis' time).

Every run happens in a fresh interpreter, so the peak resident memory
(``VmHWM``) is that of the method alone; times include opening the files and
reading. Selections: all Li + TFSI beads, and all beads. The table gives the
median wall time over ``--repeats``, the peak memory, and the largest relative
difference of the MSD from trajml serial (lags ≥ 1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402
from _common import CG_DENSITY, fmt_bytes, format_table  # noqa: E402

CHILD = r'''
import time, warnings
import numpy as np
warnings.filterwarnings("ignore")
p = PAYLOAD
t0 = time.perf_counter()
if p["method"].startswith("trajml"):
    from trajml.io import open_source
    from trajml.transport import MSD
    src = open_source(p["topology"], p["trajectory"])
    res = MSD(p["sel"], per_particle=False, time_blocks=0).run(src, scheduler=p["scheduler"], n_workers=p["workers"])
    msd = res.msd_A2
else:
    import MDAnalysis as mda
    from MDAnalysis.analysis.msd import EinsteinMSD
    u = mda.Universe(p["topology"], p["trajectory"])
    if p["unwrap"]:
        from MDAnalysis.transformations.nojump import NoJump
        u.trajectory.add_transformations(NoJump())
    m = EinsteinMSD(u, select=p["sel"], msd_type="xyz", fft=True)
    m.run()
    msd = np.asarray(m.results.timeseries)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "rss_peak": rss_peak(), "msd": msd.tolist()}))
'''


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--atoms", type=int, default=None, help="beads per frame (default 20000; --quick 3000)")
    p.add_argument("--frames", type=int, default=None, help="frames (default 1000; --quick 200)")
    p.add_argument("--repeats", type=int, default=None, help="runs per method (default 3; --quick 1)")
    p.add_argument("--workers", type=int, default=2, help="workers of trajml 'processes' (default 2)")
    p.add_argument("--density", type=float, default=CG_DENSITY, help="beads/Å³ (default 0.0068)")
    p.add_argument("--skip-all-beads", action="store_true", help="only the Li + TFSI selection")
    p.add_argument("--workdir", default=os.path.join(os.getcwd(), "bench-out"), help="cache folder for generated files")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    args.atoms = args.atoms or (3000 if args.quick else 20000)
    args.frames = args.frames or (200 if args.quick else 1000)
    args.repeats = args.repeats or (1 if args.quick else 3)
    return args


def bench_selection(name: str, sel: str, top: str, traj: str, args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    methods = {
        "trajml MSD serial": {"method": "trajml", "scheduler": "serial", "workers": None},
        f"trajml MSD processes x{args.workers}": {"method": "trajml", "scheduler": "processes",
                                                  "workers": args.workers},
        "MDAnalysis EinsteinMSD + NoJump": {"method": "mda", "unwrap": True},
        "MDAnalysis EinsteinMSD, no unwrap": {"method": "mda", "unwrap": False},
    }
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in methods}
    for r in range(args.repeats):
        for label, extra in methods.items():
            out = _common.run_python_child(CHILD, {"topology": top, "trajectory": traj, "sel": sel, **extra})
            runs[label].append(out)
            print(f"  {name}: repeat {r + 1}/{args.repeats} {label:<36s} {out['seconds']:7.2f} s "
                  f"peak {fmt_bytes(out['rss_peak'])}")
    ref = np.asarray(runs["trajml MSD serial"][0]["msd"])
    rows, summary = [], {}
    t_ref = statistics.median(o["seconds"] for o in runs["MDAnalysis EinsteinMSD + NoJump"])
    for label, outs in runs.items():
        secs = statistics.median(o["seconds"] for o in outs)
        peak = max(o["rss_peak"] for o in outs)
        msd = np.asarray(outs[0]["msd"])
        diff = float(np.max(np.abs(msd[1:] / ref[1:] - 1.0)))
        summary[label] = {"seconds": [o["seconds"] for o in outs], "median_s": secs, "rss_peak": peak,
                          "max_rel_diff": diff}
        rows.append([label, f"{secs:.2f}", f"{t_ref / secs:.2f}x", fmt_bytes(peak), f"{diff:.1e}"])
    print(f"\n{name} ({sel!r})")
    print(format_table(["method", "median s", "speed vs MDA+NoJump", "peak RSS", "max rel diff"], rows))
    return summary


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command = _common.command_line("bench_msd.py", argv)
    env = _common.environment(("numpy", "scipy", "numba", "MDAnalysis", "tidynamics", "trajml"))
    print(f"bench_msd: {args.atoms} beads, {args.frames} frames, {env['cpu_count']} CPUs, " +
          ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    gen = _common.generate_spe_trajectory(args.workdir, args.atoms, [args.frames], formats=("xtc",), seed=args.seed,
                                          density=args.density)
    top, traj = gen["topology"], gen["files"]["xtc"][args.frames]
    lay = gen["layout"]
    print(f"system: {lay.n_eo} EO beads, {lay.n_li} Li, {lay.n_tfsi} TFSI; cubic box {gen['box']:.1f} Å")
    results: dict[str, Any] = {"command": command, "environment": env,
                               "config": {k: v for k, v in vars(args).items() if k not in ("workdir", "out")}}
    results["ions"] = bench_selection("Li + TFSI", "name LI or name TFSI", top, traj, args)
    if not args.skip_all_beads:
        results["all"] = bench_selection("all beads", "all", top, traj, args)
    print(f"\ncommand: {command}")
    _common.write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
