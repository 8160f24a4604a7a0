"""Molecule-level solvation shells: trajml ``SolvationShells`` against solvation_analysis ``Solute``.

Run by hand (not in CI)::

    python benchmarks/bench_solvation.py                       # solvation_analysis' BN/FEC/PF6 test data
    python benchmarks/bench_solvation.py TOP TRAJ --cation 'type 22' \\
        --species bn='byres type 5' pf6='byres type 20' --radii bn=2.61468 pf6=2.8 --anions pf6

Both read the same frames of the same files and count each solvent molecule once per cation
within its radius (trajml's ``any`` rule; solvation_analysis keeps the closest atom of each
residue). The table gives the median wall time over ``--repeats`` interleaved repeats of the
analysis (selections, reading every frame, pair search, tables; trajml's also checks every frame's
box against the cut-offs and the plausibility of every chunk read), and the median CPU time of the
process over the same repeats (steadier than wall time on a shared machine). Parsing the topology
is left out of both (trajml keeps a parsed topology per thread, so a repeat would not parse it
again); both run once before timing (numba compiles or loads its cache, files enter the page
cache). The table ends with whether the numbers agree: mean coordination and pairing per species,
every composition's fraction. The 1-minute load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, format_table, summarise, time_interleaved  # noqa: E402

DEFAULT_SPECIES = {"bn": "byres type 5", "fec": "byres type 19", "pf6": "byres type 20"}
DEFAULT_RADII = {"pf6": 2.8, "bn": 2.61468, "fec": 2.43158}


def _pairs(items: list[str], cast=str) -> dict:
    return {k: cast(v) for k, _, v in (item.partition("=") for item in items)}


def _default_files() -> tuple[str, str]:
    from importlib.resources import files

    folder = files("solvation_analysis") / "tests" / "data" / "bn_fec_data"
    return str(folder / "bn_fec.data"), str(folder / "bn_fec_short_unwrap.dcd")


def run_trajml(src, cation: str, species: dict, radii: dict, anions: str) -> dict:
    from trajml.features import SolvationShells
    from trajml.parallel import run

    t0, c0 = time.perf_counter(), time.process_time()
    shells = SolvationShells(cation, {k: "any:" + v for k, v in species.items()}, cutoffs=radii, anions=anions)
    res = run(shells, src, scheduler="serial", progress=False)
    table = res.to_pandas()
    coordination = res.coordination()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"seconds": seconds, "cpu_seconds": cpu, "coordination": coordination,
            "pairing": dict(zip(res.species, res.fraction_paired.tolist())), "table": table,
            "speciation": res.speciation(), "n_frames": res.n_frames}


def run_solvation_analysis(u, cation: str, species: dict, radii: dict) -> dict:
    from solvation_analysis.solute import Solute

    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solute = Solute.from_atoms(u.select_atoms(cation), {k: u.select_atoms(v) for k, v in species.items()},
                                   radii=dict(radii), skip_rdf=True,
                                   analysis_classes=["coordination", "pairing", "speciation"])
        solute.run()
        table = solute.speciation.speciation_fraction
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"seconds": seconds, "cpu_seconds": cpu, "coordination": solute.coordination.coordination_numbers,
            "pairing": solute.pairing.solvent_pairing, "table": table,
            "n_frames": solute.n_frames}


def agree(ours: dict, theirs: dict, names: list[str]) -> dict[str, bool]:
    merged = ours["table"].merge(theirs["table"], on=names, how="outer", suffixes=("", "_sa")).fillna(0.0)
    return {
        "coordination": all(np.isclose(ours["coordination"][k], theirs["coordination"][k], rtol=1e-12, atol=0)
                            for k in names),
        "pairing": all(np.isclose(ours["pairing"][k], theirs["pairing"][k], rtol=1e-12, atol=0) for k in names),
        "compositions": bool(np.allclose(merged["fraction"], merged["fraction_sa"], rtol=1e-12, atol=0)),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", metavar="FILE", help="topology and trajectory (default: the bn_fec data)")
    p.add_argument("--cation", default="type 22")
    p.add_argument("--species", nargs="+", metavar="NAME=SEL", help="solvent residues by name (byres selections)")
    p.add_argument("--radii", nargs="+", metavar="NAME=Å", help="cut-off per species in Å")
    p.add_argument("--anions", default="pf6", help="anion species names, comma-separated")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None, metavar="JSON")
    args = p.parse_args(argv)
    top, traj = args.files if len(args.files) == 2 else _default_files()
    species = _pairs(args.species) if args.species else dict(DEFAULT_SPECIES)
    radii = _pairs(args.radii, float) if args.radii else dict(DEFAULT_RADII)
    import MDAnalysis as mda

    from trajml.io import open_source

    src = open_source(top, traj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(top, traj)
    load_before = os.getloadavg()[0]
    run_trajml(src, args.cation, species, radii, args.anions)  # warm-up: numba compiles or loads its cache
    run_solvation_analysis(u, args.cation, species, radii)  # warm-up for the peer alike
    samples = time_interleaved({
        "trajml": lambda: run_trajml(src, args.cation, species, radii, args.anions),
        "solvation_analysis": lambda: run_solvation_analysis(u, args.cation, species, radii),
    }, args.repeats, log=None)
    ours, theirs = samples["trajml"][-1], samples["solvation_analysis"][-1]
    checks = agree(ours, theirs, list(species))
    load_after = os.getloadavg()[0]
    t_ours = summarise([s["seconds"] for s in samples["trajml"]])
    t_theirs = summarise([s["seconds"] for s in samples["solvation_analysis"]])
    c_ours = summarise([s["cpu_seconds"] for s in samples["trajml"]])
    c_theirs = summarise([s["cpu_seconds"] for s in samples["solvation_analysis"]])
    ratio = t_theirs["median"] / t_ours["median"]
    cpu_ratio = c_theirs["median"] / c_ours["median"]
    rows = [["trajml SolvationShells (serial)", f"{t_ours['median']:.4f}", f"{ratio:.2f}", f"{c_ours['median']:.4f}",
             f"{cpu_ratio:.2f}"],
            ["solvation_analysis Solute", f"{t_theirs['median']:.4f}", "1.00", f"{c_theirs['median']:.4f}", "1.00"]]
    print(f"{ours['n_frames']} frames of {Path(traj).name}; median of {args.repeats} repeats; "
          f"load average {load_before:.1f} before, {load_after:.1f} after")
    print(format_table(["method", "wall s", "speed-up (wall)", "CPU s", "speed-up (CPU)"], rows))
    print("numbers agree: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in checks.items()))
    if args.out:
        Path(args.out).write_text(json.dumps({"environment": environment(("numpy", "MDAnalysis", "trajml",
                                                                         "solvation_analysis")),
                                              "command": shlex.join(["python", "benchmarks/bench_solvation.py",
                                                                     *(argv if argv is not None else sys.argv[1:])]),
                                              "seconds": {"trajml": t_ours, "solvation_analysis": t_theirs},
                                              "cpu_seconds": {"trajml": c_ours, "solvation_analysis": c_theirs},
                                              "speedup_wall": ratio, "speedup_cpu": cpu_ratio,
                                              "load_average_1min": {"before": load_before, "after": load_after},
                                              "agree": checks, "n_frames": ours["n_frames"]}, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
