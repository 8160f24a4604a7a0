"""Hostile cases of the pipelines: broken YAML files, user files in the outputs, a damaged store, concurrent runs.

Part of ``bench_hostile.py`` (run by hand, not in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

from _hostile_case import PY, Case, Check, both, run_counts, trajml, warns

PIPE_HEAD = "version: 1\nname: hostile\n"
STAGE = "  - {stage: rdf, id: r, select_a: name Li, select_b: name O, r_max: 10.0, n_bins: 20}\n"


def pipeline_cases(d: Path) -> list[Case]:
    """YAML pipelines: validated with --check where that is the point, run (serial) where it is not."""
    inp = (f"inputs:\n  - name: s0\n    topology: {d / 'top.psf'}\n    trajectory: {d / 'clean.xtc'}\n"
           "    metadata: {temperature: 300.0, charges: {Li: 1.0, TFSI: -1.0}}\n")
    good = PIPE_HEAD + inp + "stages:\n" + STAGE + "outputs: out\n"

    def y(cid: str, text: str, *expect: str, check: bool = True, ok: Check | None = None,
          extra: tuple[str, ...] = (), raw: bytes | None = None) -> Case:
        def setup(folder: Path, text: str = text) -> None:
            (folder / "p.yaml").write_bytes(text.encode() if raw is None else raw)
        argv = trajml("run", "p.yaml", *(["--check"] if check else ["--scheduler", "serial", "--no-progress"]),
                      *extra)
        return Case(f"yaml-{cid}", "YAML pipeline", argv, expect, ok, setup)

    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi")) + good
    deep = PIPE_HEAD + inp + "stages:\n" + STAGE + "outputs: out\nname2: " + "[" * 5000 + "]" * 5000 + "\n"
    cases = [
        y("repeated-top-key", good + "outputs: out2\n", "outputs"),
        y("repeated-stage-param", good.replace("r_max: 10.0,", "r_max: 10.0, r_max: 20.0,"), "r_max"),
        y("repeated-metadata-key", good.replace("{temperature: 300.0,", "{temperature: 300.0, temperature: 400,"),
          "temperature"),
        y("alias-bomb", bomb, "alias"),
        y("deep-nesting", deep, "p.yaml"),
        y("huge-file", good + "# " + "x" * (2 << 20) + "\n", "p.yaml"),
        y("python-tag", good + "evil: !!python/object/apply:os.system [echo owned]\n", "p.yaml"),
        y("syntax-error", good + "stages: [unclosed\n", "p.yaml"),
        y("tabs", good.replace("  - {stage", "\t- {stage"), "p.yaml"),
        y("empty-file", "", "p.yaml"),
        y("top-level-list", "- a\n- b\n", "p.yaml"),
        y("non-utf8", good, "p.yaml", raw=good.encode() + b"# \xff\xfe\n"),
        y("version-2", good.replace("version: 1", "version: 2"), "version"),
        y("unknown-top-key", good + "stagse: []\n", "stagse"),
        y("unknown-stage", good.replace("stage: rdf", "stage: rdff"), "rdff"),
        y("unknown-param", good.replace("r_max:", "rmax:"), "rmax"),
        y("param-wrong-type", good.replace("r_max: 10.0", "r_max: ten"), "r_max"),
        y("param-negative", good.replace("r_max: 10.0", "r_max: -10.0"), "r_max"),
        y("nbins-bomb", good.replace("n_bins: 20", "n_bins: 1000000000000"), "n_bins"),
        y("stop-before-start", good.replace("n_bins: 20}", "n_bins: 20, start: 10, stop: 5}"), "start"),
        y("start-beyond-end", good.replace("n_bins: 20}", "n_bins: 20, start: 500}"), "start", check=False),
        y("step-zero", good.replace("n_bins: 20}", "n_bins: 20, step: 0}"), "step"),
        y("duplicate-stage-id", good.replace("stages:\n", "stages:\n" + STAGE), "r"),
        y("missing-reference", good.replace("outputs: out", "  - {stage: coordination, cutoff_from: nope}\n"
                                            "outputs: out"), "nope"),
        y("reference-wrong-stage", good.replace("outputs: out", "  - {stage: info, id: i}\n"
                                                "  - {stage: coordination, cutoff_from: i}\noutputs: out"),
          "cutoff_from"),
        y("no-inputs", PIPE_HEAD + "stages:\n" + STAGE + "outputs: out\n", "inputs"),
        y("no-stages", PIPE_HEAD + inp + "outputs: out\n", "stages"),
        y("glob-matches-nothing", PIPE_HEAD + "inputs:\n  - glob: nowhere/*\n" + "stages:\n" + STAGE
          + "outputs: out\n", "nowhere"),
        y("missing-trajectory", good.replace("clean.xtc", "nope.xtc"), "nope.xtc"),
        y("duplicate-system-names", good.replace("stages:", inp.replace("inputs:\n", "") + "stages:"), "s0"),
        y("temperature-string", good.replace("temperature: 300.0", "temperature: 300K"), "temperature"),
        y("temperature-negative", good.replace("temperature: 300.0", "temperature: -20"), "temperature"),
        y("temperature-tiny", good.replace("temperature: 300.0", "temperature: 1.0e-30"), "temperature"),
        y("charges-list", good.replace("charges: {Li: 1.0, TFSI: -1.0}", "charges: [1, -1]"), "charges"),
        y("charges-text", good.replace("Li: 1.0", "Li: one"), "charges"),
        y("inputs-mapping", PIPE_HEAD + "inputs: {name: s0}\nstages:\n" + STAGE + "outputs: out\n", "inputs"),
        y("unit-timeout-negative", good + "unit_timeout: -1\n", "unit_timeout"),
        y("unit-timeout-text", good + "unit_timeout: soon\n", "unit_timeout"),
        y("reader-box-radians", good.replace("    metadata:", "    reader: {box: [66.9, 66.9, 66.9, 1.57, 1.57, "
                                             "1.57]}\n    metadata:"), "box"),
        y("reader-unknown-key", good.replace("    metadata:", "    reader: {dtt: 2}\n    metadata:"), "dtt"),
        y("reader-dt-negative", good.replace("    metadata:", "    reader: {dt: -2}\n    metadata:"), "dt"),
        y("outputs-is-file", good.replace("outputs: out", "outputs: p.yaml"), "p.yaml", check=False),
        y("damaged-system-stop-before", good.replace("clean.xtc", "jump.xtc").replace(
            "n_bins: 20}", "n_bins: 20, stop: 5}"), "jump.xtc", "frame 10", check=False),
        y("damaged-system-undecodable", good.replace("clean.xtc", "zeros.xtc"), "zeros.xtc", "frame 10", check=False),
        y("truncated-system", good.replace("clean.xtc", "trunc_half.xtc"), "trunc_half.xtc", check=False),
        y("clean-run", good, check=False, ok=run_counts(computed=1, failed=0)),
    ]

    def user_files(folder: Path) -> None:
        (folder / "p.yaml").write_text(good.replace("outputs: out", "outputs: ."))
        (folder / "report").mkdir()
        (folder / "report" / "mine.txt").write_text("user file")
        (folder / "summary.json").write_text("{}")

    cases.append(Case("yaml-outputs-dot-with-user-files", "output folders",
                      trajml("run", "p.yaml", "--scheduler", "serial", "--no-progress"), ("outputs",), None,
                      user_files))

    def user_out(folder: Path) -> None:
        (folder / "p.yaml").write_text(good)
        (folder / "out").mkdir()
        (folder / "out" / "thesis.tex").write_text("user file")

    cases.append(Case("yaml-outputs-user-folder", "output folders",
                      trajml("run", "p.yaml", "--scheduler", "serial", "--no-progress"), ("out",), None, user_out))
    return cases


def write_pipeline(folder: Path, d: Path) -> None:
    (folder / "p.yaml").write_text(
        PIPE_HEAD + f"inputs:\n  - name: s0\n    topology: {d / 'top.psf'}\n    trajectory: {d / 'clean.xtc'}\n"
        "stages:\n  - {stage: info}\n" + STAGE + "outputs: out\n")


def store_cases(d: Path, clean_out: Path) -> list[Case]:
    """A finished run's outputs folder, damaged, then run again."""
    run = trajml("run", "p.yaml", "--scheduler", "serial", "--no-progress")

    def damaged(cid: str, damage: Callable[[Path], None], ok: Check | None, *expect: str) -> Case:
        def setup(folder: Path) -> None:
            write_pipeline(folder, d)
            shutil.copytree(clean_out, folder / "out")
            damage(folder / "out")
        return Case(f"store-{cid}", "store damage", run, expect, ok, setup)

    def entries(out: Path) -> list[Path]:
        return sorted(p for p in (out / "store" / "objects").glob("*/*") if (p / "result.json").is_file())

    def truncate(out: Path) -> None:
        for p in entries(out):
            (p / "result.json").write_bytes((p / "result.json").read_bytes()[:40])

    def falsify(out: Path) -> None:
        for p in entries(out):
            text = (p / "result.json").read_text()
            (p / "result.json").write_text(text.replace("1", "7", 3))

    def drop_arrays(out: Path) -> None:
        for p in entries(out):
            for f in p.iterdir():
                if f.name != "result.json":
                    f.unlink()

    def drop_entry_files(out: Path) -> None:
        for p in entries(out):
            (p / "result.json").unlink()

    def junk(out: Path) -> None:
        (out / "store" / "objects" / "zz").mkdir(parents=True, exist_ok=True)
        (out / "store" / "objects" / "zz" / "junk").write_text("junk")
        (out / "store" / "tmp").mkdir(exist_ok=True)
        (out / "store" / "tmp" / "half-written").mkdir(exist_ok=True)
        (out / "store" / "tmp" / "half-written" / "result.json").write_text('{"a": ')

    def store_is_file(out: Path) -> None:
        shutil.rmtree(out / "store")
        (out / "store").write_text("not a folder")

    def state_truncated(out: Path) -> None:
        for p in (out / "runs").glob("*/state.json"):
            p.write_text('{"status": "runn')

    def summary_dir(out: Path) -> None:
        (out / "summary.json").unlink()
        (out / "summary.json").mkdir()

    def stale_lock(out: Path) -> None:
        (out / ".trajml-lock").write_text(json.dumps({"pid": 2 ** 22 - 3, "host": os.uname().nodename,
                                                      "started": "2020-01-01T00:00:00"}))

    def live_lock(out: Path) -> None:
        (out / ".trajml-lock").write_text(json.dumps({"pid": 1, "host": os.uname().nodename,
                                                      "started": "2020-01-01T00:00:00"}))

    def garbage_lock(out: Path) -> None:
        (out / ".trajml-lock").write_bytes(b"\x00\xffgarbage")

    def no_marker(out: Path) -> None:
        (out / ".trajml-outputs").unlink()
        (out / "notes.txt").write_text("user file")

    def cache_verdict_damaged(out: Path) -> None:
        for p in (out / "store" / "cache").rglob("*.json"):
            p.write_text("{")

    return [
        damaged("truncated-result", truncate, both(warns("damaged"), run_counts(computed=2, failed=0)), "store"),
        damaged("falsified-result", falsify, both(warns("damaged"), run_counts(failed=0)), "store"),
        damaged("arrays-deleted", drop_arrays, both(warns("damaged"), run_counts(failed=0)), "store"),
        damaged("result-deleted", drop_entry_files, run_counts(failed=0), "store"),
        damaged("junk-and-stale-tmp", junk, run_counts(computed=0, failed=0), "store"),
        damaged("store-is-a-file", store_is_file, None, "store"),
        damaged("state-truncated-resume", state_truncated, run_counts(failed=0), "state.json"),
        damaged("summary-is-a-folder", summary_dir, None, "summary.json"),
        damaged("stale-lock", stale_lock, both(warns("lock"), run_counts(failed=0)), ".trajml-lock"),
        damaged("live-lock", live_lock, None, ".trajml-lock"),
        damaged("garbage-lock", garbage_lock, None, ".trajml-lock"),
        damaged("marker-removed-user-file", no_marker, None, "out"),
        damaged("cached-verdict-damaged", cache_verdict_damaged, run_counts(computed=0, failed=0)),
    ]


CONCURRENT = textwrap.dedent("""\
    import subprocess, sys, time
    cmd = [sys.executable, "-m", "trajml", "run", "p.yaml", "--scheduler", "{sched}", "--no-progress"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep({delay})
    second = subprocess.run(cmd, capture_output=True, text=True)
    first.wait()
    sys.stdout.write(second.stdout)
    sys.stderr.write(second.stderr)
    sys.exit(second.returncode)
    """)


def concurrency_cases(d: Path) -> list[Case]:
    def setup(folder: Path) -> None:
        write_pipeline(folder, d)
    # The second run either refuses (naming the first) or, if the first finished already, reuses everything.
    ok = run_counts(computed=0, failed=0)
    return [Case(f"concurrent-{s}-{delay}", "concurrent runs", [PY, "-c", CONCURRENT.format(sched=s, delay=delay)],
                 ("lock",), ok, setup, timeout=240) for s, delay in (("serial", 2.0), ("serial", 3.5),
                                                                      ("processes", 3.0))]

