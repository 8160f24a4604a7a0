"""Kill loop: SIGKILL a pipeline's driver and its workers at random moments, resume, compare with a clean run.

Run by hand (not in CI)::

    python benchmarks/bench_faults.py --workdir bench-out/faults --kills 10 \\
        --schedulers serial,processes,local --out results/bench_faults.json

For each scheduler it makes a clean reference run of a small batch (copies of the bundled sample,
several stages), then starts the same pipeline on a fresh outputs folder again and again, killing,
after a random delay within the clean run's wall time, either the driver (``trajml run``) or one of
its worker processes with SIGKILL. After a driver kill it waits ``--orphan-wait`` seconds and counts
the processes of the killed run still alive (orphans; killed then so the loop goes on). Whenever a
batch finishes (before a kill, and once more at the end), every stored unit is compared with the
reference run's: the same keys and the same numbers (each result's canonical JSON, byte for byte),
and the next run starts on an empty folder. The table gives, per scheduler, the kills made (driver /
worker), the runs, the batches identical to the clean run, and the orphans.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, format_table, sample_systems  # noqa: E402

STAGES = """\
stages:
  - info
  - {stage: rdf, id: rdf_li_o, select_a: name Li, select_b: name O, r_max: 12.0, n_bins: 120}
  - {stage: coordination, select_a: name Li, select_b: name O, cutoff_from: rdf_li_o}
  - {stage: solvation, cutoff_o_from: rdf_li_o, cutoff_anion: 7.0}
  - {stage: msd, select: name Li}
  - {stage: residence, select_a: name Li, select_b: name O, cutoff_from: rdf_li_o}
  - {stage: transport, cation: name Li, anion: name TFSI}
"""


def make_batch(folder: Path, n_systems: int) -> Path:
    """Copies of the bundled sample in ``folder/sims/sys*`` and a pipeline over them."""
    sample_systems(folder, n_systems)
    path = folder / "pipeline.yaml"
    path.write_text("version: 1\nname: faults\ninputs:\n  - glob: sims/sys*\n"
                    "    metadata: {temperature: 300.0, charges: {Li: 1.0, TFSI: -1.0}}\n" + STAGES)
    return path


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run_cmd(pipeline: Path, outputs: Path, scheduler: str, workers: int) -> list[str]:
    return [sys.executable, "-m", "trajml", "run", str(pipeline), "--outputs", str(outputs), "--scheduler", scheduler,
            "--n-workers", str(workers), "--no-progress"]


def stored_results(outputs: Path) -> dict[str, bytes]:
    """Each stored unit's result as canonical JSON bytes, by key."""
    from trajml.store.results import ResultStore, canonical_json

    store = ResultStore(outputs / "store")
    return {key: canonical_json(store.get(key).data).encode() for key in store.keys()}


def kill_loop(pipeline: Path, work: Path, scheduler: str, kills: int, workers: int, wall: float,
              orphan_wait: float, reference: dict[str, bytes], rng: random.Random) -> dict:
    """``kills`` runs each killed at a random moment of the batch; a batch that finished before its kill is
    compared with the reference and started again on an empty outputs folder."""
    outputs = work / f"killed_{scheduler}"
    shutil.rmtree(outputs, ignore_errors=True)
    tally = {"scheduler": scheduler, "driver_kills": 0, "worker_kills": 0, "finished_before_kill": 0,
             "orphans": 0, "runs": 0, "batches_compared": 0, "batches_identical": 0}
    log = open(work / f"killed_{scheduler}.log", "w")

    def compare_and_restart() -> None:
        tally["batches_compared"] += 1
        tally["batches_identical"] += stored_results(outputs) == reference
        shutil.rmtree(outputs, ignore_errors=True)

    for _ in range(kills):
        proc = subprocess.Popen(run_cmd(pipeline, outputs, scheduler, workers), stdout=log, stderr=log,
                                start_new_session=True)
        tally["runs"] += 1
        time.sleep(rng.uniform(0.3, 0.9 * wall))
        if proc.poll() is not None:
            tally["finished_before_kill"] += 1
            compare_and_restart()
            continue
        below = descendants(proc.pid)
        if below and rng.random() < 0.3:  # a worker dies; the driver should carry on
            os.kill(rng.choice(below), signal.SIGKILL)
            tally["worker_kills"] += 1
            try:
                proc.wait(timeout=10 * wall + 60)
            except subprocess.TimeoutExpired:
                proc.kill()
            continue
        proc.kill()
        proc.wait()
        tally["driver_kills"] += 1
        time.sleep(orphan_wait)
        left = [p for p in below if alive(p)]
        tally["orphans"] += len(left)
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
    final = subprocess.run(run_cmd(pipeline, outputs, scheduler, workers), stdout=log, stderr=log)
    log.close()
    summary = json.loads((outputs / "summary.json").read_text())
    tally["final_exit"] = final.returncode
    tally["computed_by_last_run"] = summary.get("counts", {}).get("computed")
    tally["units"] = summary.get("units")
    compare_and_restart()
    return tally


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", required=True)
    p.add_argument("--kills", type=int, default=10, help="kill attempts per scheduler")
    p.add_argument("--schedulers", default="serial,processes,local")
    p.add_argument("--systems", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--orphan-wait", type=float, default=5.0, help="seconds before a killed driver's workers count "
                   "as orphans")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, metavar="JSON")
    args = p.parse_args(argv)
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    pipeline = make_batch(work, args.systems)
    rng = random.Random(args.seed)
    rows, tallies = [], []
    for scheduler in args.schedulers.split(","):
        ref = work / f"reference_{scheduler}"
        shutil.rmtree(ref, ignore_errors=True)
        t0 = time.perf_counter()
        subprocess.run(run_cmd(pipeline, ref, scheduler, args.workers), check=True, capture_output=True)
        wall = time.perf_counter() - t0
        want = stored_results(ref)
        tally = kill_loop(pipeline, work, scheduler, args.kills, args.workers, wall, args.orphan_wait, want, rng)
        tally["reference_wall_s"] = round(wall, 1)
        tally["identical"] = tally["batches_identical"] == tally["batches_compared"]
        tallies.append(tally)
        rows.append([scheduler, f"{tally['driver_kills']} / {tally['worker_kills']}", tally["runs"],
                     f"{tally['batches_identical']} / {tally['batches_compared']}", tally["orphans"],
                     f"{wall:.1f}"])
    print(format_table(["scheduler", "kills driver / worker", "runs", "batches identical to the clean run",
                        "orphans", "clean run s"], rows))
    if args.out:
        Path(args.out).write_text(json.dumps({"environment": environment(), "systems": args.systems,
                                              "kills_per_scheduler": args.kills, "seed": args.seed,
                                              "results": tallies}, indent=2))
    return 0 if all(t["identical"] for t in tallies) else 1


if __name__ == "__main__":
    raise SystemExit(main())
