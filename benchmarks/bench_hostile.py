"""The hostile tally: a couple of hundred bad inputs thrown at the CLI, YAML pipelines and the Python API.

Run by hand (not in CI)::

    python benchmarks/bench_hostile.py --workdir bench-out/hostile --out results/bench_hostile.json

Every case runs in its own subprocess, in its own folder, with a timeout, and is classified from its
exit status and output alone:

``clear error``
    Non-zero exit, no traceback, and the message names what is at fault (each case lists the words
    it must contain: the file, the frame, the flag, the YAML key or the keyword).
``unclear error``
    Non-zero exit without a traceback, but the message misses one of those words (a wrong frame,
    a file not named, a flag named in the wrong syntax).
``crash``
    Killed by a signal, a traceback, MemoryError or RecursionError, or still running at its timeout.
    A Python API case counts an exception of a type that marks a bug (``KeyError``, ``AttributeError``,
    ``ZeroDivisionError``, ...) as a crash too.
``silent ok`` / ``silent wrong``
    Exit 0, and the case's own check of the output passed or failed: a result compared with the
    clean run's on the same frames, or a warning expected in the output. A case with no such
    check expects an error, so exit 0 is ``silent wrong``.

The data are generated here and tiny: the first 20 frames of the bundled sample (2 040 beads)
written with MDAnalysis as XTC, TRR and DCD, copies damaged byte-wise (truncated, emptied,
random bytes, flipped bits, zeroed runs, appended garbage) and value-wise (an atom moved by
150 Å, a 5e6 Å coordinate, NaN, a zero box, an eightfold volume, backward or repeated times,
parts in the wrong order), all at frame 10. The JSON (per case: id, category, command with the
work folder written as ``WORK``, outcome, first line of the message) goes to ``--out``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _hostile_case  # noqa: E402
from _common import environment, format_table  # noqa: E402
from _hostile_case import trajml  # noqa: E402
from _hostile_data import make_data  # noqa: E402
from _hostile_files import topology_cases, trajectory_cases  # noqa: E402
from _hostile_parameters import api_cases, parameter_cases  # noqa: E402
from _hostile_pipelines import concurrency_cases, pipeline_cases, store_cases, write_pipeline  # noqa: E402
from _hostile_runner import anonymise, file_check_cost, references, run_case  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", required=True, help="scratch folder (data, one folder per case)")
    p.add_argument("--out", default=None, help="JSON file of the tally")
    p.add_argument("--jobs", type=int, default=3, help="cases run at once")
    p.add_argument("--only", default="", help="run only the cases whose id contains this")
    p.add_argument("--check-cost", action="store_true", help="only time the whole-file check against a read")
    p.add_argument("--before", default=None, help="JSON of this benchmark run on an earlier trajml, kept as 'before'")
    p.add_argument("--label", default="this checkout", help="which trajml ran (recorded as trajml_source)")
    args = p.parse_args(argv)
    if args.check_cost:
        print(f"load average {os.getloadavg()[0]:.1f}; whole-file check vs one read: {file_check_cost()}")
        return 0
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    load = os.getloadavg()
    d = work / "data"
    make_data(d)
    _hostile_case.REFERENCE = work / "reference"  # what the exit-0 checks compare with
    references(d, _hostile_case.REFERENCE)
    clean_out = work / "clean_run"  # run again: make_data wrote new files, with new fingerprints
    shutil.rmtree(clean_out, ignore_errors=True)
    clean_out.mkdir()
    write_pipeline(clean_out, d)
    subprocess.run(trajml("run", "p.yaml", "--scheduler", "serial", "--no-progress"), cwd=clean_out,
                   check=True, capture_output=True)
    cases = (trajectory_cases(d) + topology_cases(d) + parameter_cases(d) + pipeline_cases(d)
             + store_cases(d, clean_out / "out") + concurrency_cases(d) + api_cases(d))
    ids = [c.id for c in cases]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        raise SystemExit(f"duplicate case ids: {dupes}")
    cases = [c for c in cases if args.only in c.id]
    results = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for r in pool.map(lambda c: run_case(c, work), cases):
            results.append(r)
            print(f"{r['outcome']:>13}  {r['id']:<42} {anonymise(r['message'], work)[:110]}", flush=True)
    for r in results:
        r["command"] = anonymise(shlex.join(r["command"]), work)
        r["message"] = anonymise(r["message"], work)
    tally = Counter(r["outcome"] for r in results)
    by_cat: dict[str, Counter] = {}
    for r in results:
        by_cat.setdefault(r["category"], Counter())[r["outcome"]] += 1
    kinds = ("clear error", "unclear error", "crash", "silent ok", "silent wrong")
    rows = [[cat, sum(c.values()), *(c[k] for k in kinds)] for cat, c in by_cat.items()]
    rows.append(["all", len(results), *(tally[k] for k in kinds)])
    print(format_table(["category", "cases", *kinds], rows))
    wall = time.perf_counter() - t0
    print(f"{len(results)} cases in {wall:.0f} s; load average at start {load[0]:.1f}, at end {os.getloadavg()[0]:.1f}")
    cost = file_check_cost()
    if cost is not None:
        print(f"whole-file check of the bundled sample: {cost['check_s']} s, one read of it {cost['read_s']} s "
              f"(ratio {cost['ratio']}, medians of {cost['repeats']})")
    before = None
    if args.before:  # the tally of the same cases on an earlier trajml, kept beside this one
        old = json.loads(Path(args.before).read_text())
        before = {"tally": old["tally"], "by_category": old["by_category"], "trajml": old.get("trajml_source"),
                  "outcomes": {r["id"]: r["outcome"] for r in old["cases"]}}
    if args.out:
        out = Path(args.out)
        if not out.is_absolute():
            out = Path(__file__).resolve().parent / out
        out.write_text(json.dumps({"benchmark": "bench_hostile", "environment": environment(),
                                   "load_average_start": load, "load_average_end": os.getloadavg(),
                                   "wall_s": round(wall, 1), "file_check_cost": cost,
                                   "trajml_source": args.label, "before": before,
                                   "tally": {k: tally[k] for k in kinds},
                                   "by_category": {c: {k: v[k] for k in kinds} for c, v in by_cat.items()},
                                   "cases": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
