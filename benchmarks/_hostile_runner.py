"""Running the hostile tally's cases, each in its own subprocess and folder, and classifying the outcomes.

Part of ``bench_hostile.py`` (run by hand, not in CI); its docstring defines the outcomes.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from _hostile_case import PY, RDF, Case, trajml


def first_message(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    if any(ln.startswith("Traceback") for ln in lines):
        return lines[-1][:300]
    for ln in lines:
        low = ln.lower()
        if any(w in low for w in ("error", "refus", "warning", "damaged", "implausible", "failed")):
            return ln[:300]
    return lines[0][:300]


def classify(case: Case, rc: int | None, text: str, folder: Path) -> tuple[str, str]:
    if rc is None:
        return "crash", f"timeout after {case.timeout:.0f} s"
    if rc < 0:
        return "crash", f"killed by {signal.Signals(-rc).name}"
    crash_marks = ("Traceback (most recent call last)", "MemoryError", "Segmentation fault", "double free",
                   "core dumped", "RecursionError")
    if any(m in text for m in crash_marks) or rc in (134, 139):
        return "crash", first_message(text)
    if rc != 0:
        missing = [w for w in case.expect if w.lower() not in text.lower()]
        return ("clear error" if not missing else "unclear error"), first_message(text) + (
            f"  [does not name: {', '.join(missing)}]" if missing else "")
    if case.ok is None:
        return "silent wrong", "exit 0 where an error was due: " + first_message(text)
    try:
        why = case.ok(folder, text)
    except Exception as exc:  # an output the check cannot read is not a right one
        why = f"output unreadable: {type(exc).__name__}: {exc}"
    return ("silent ok", first_message(text)) if why is None else ("silent wrong", why)


def run_case(case: Case, work: Path) -> dict:
    folder = work / "cases" / case.id
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if case.setup is not None:
        case.setup(folder)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TRAJML_PROGRESS_INTERVAL": "600"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(case.argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env=env)
    try:
        out, err = proc.communicate(timeout=case.timeout)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    text = out.decode(errors="replace") + err.decode(errors="replace")
    (folder / "output.txt").write_text(text)
    text = anonymise(text, work)  # before any message is cut short
    outcome, message = classify(case, rc, text, folder)
    return {"id": case.id, "category": case.category, "command": case.argv, "outcome": outcome,
            "exit": rc, "message": message, "seconds": round(time.perf_counter() - t0, 2)}


def anonymise(value: str, work: Path) -> str:
    """The command and message with the machine's folders written as WORK, REPO and python."""
    repo = str(Path(__file__).resolve().parents[1])
    for path, name in ((str(work), "WORK"), (repo, "REPO"), (PY, "python"), (str(Path.home()), "HOME")):
        value = value.replace(path, name)
    return value


def references(d: Path, ref: Path) -> None:
    """Clean runs whose outputs the exit-0 checks compare with."""
    ref.mkdir(parents=True, exist_ok=True)
    jobs = []
    for fmt in ("xtc", "trr", "dcd"):
        f = str(d / f"clean.{fmt}")
        jobs.append(trajml("rdf", str(d / "top.psf"), f, *RDF, "-o", str(ref / f"clean.{fmt}.csv")))
        jobs.append(trajml("rdf", str(d / "top.psf"), f, *RDF, "--stop", "5", "-o",
                           str(ref / f"clean.{fmt}.stop5.csv")))
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        for r in pool.map(lambda a: subprocess.run(a, capture_output=True, text=True), jobs):
            if r.returncode:
                raise RuntimeError(f"reference run failed: {r.stderr[-2000:]}")


def file_check_cost(repeats: int = 7) -> dict | None:
    """Median seconds of the pipeline's whole-file check of the bundled sample (300 frames, 2 040 beads)
    against one checked read of all its frames, interleaved in one process (what a unit reading every
    frame pays at least)."""
    import statistics

    from trajml.data import sample_topology, sample_trajectory
    from trajml.io import open_source

    try:
        from trajml.io.file_check import first_damage
    except ImportError:  # a trajml from before the whole-file check (a "before" tally)
        return None
    source = open_source(sample_topology(), sample_trajectory())
    first_damage(source)  # compile and warm the page cache
    check, read = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        assert first_damage(source) is None
        check.append(time.perf_counter() - t)
        t = time.perf_counter()
        for _chunk in source.iter_chunks():
            pass
        read.append(time.perf_counter() - t)
    c, r = statistics.median(check), statistics.median(read)
    return {"check_s": round(c, 4), "read_s": round(r, 4), "ratio": round(c / r, 3), "repeats": repeats}

