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
import random
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, format_table  # noqa: E402

N_FRAMES = 20
DAMAGED = 10  # the frame every value-wise damage is put in
PY = sys.executable
RDF = ["--select-a", "name Li", "--select-b", "name O", "--r-max", "10", "--n-bins", "20", "--no-progress"]

Check = Callable[[Path, str], "str | None"]


@dataclass
class Case:
    """One bad input: a command run in ``WORK/cases/ID``, what a clear error names, and the exit-0 check."""

    id: str
    category: str
    argv: list[str]
    expect: tuple[str, ...] = ()
    ok: Check | None = None  # None: exit 0 is wrong; else returns None when the output is right, or why not
    setup: Callable[[Path], None] | None = None
    timeout: float = 120.0


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------

def _frames() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (F, N, 3) Å, dimensions (F, 6) and times (F,) ps of the sample's first frames."""
    import MDAnalysis as mda

    from trajml.data import sample_topology, sample_trajectory

    u = mda.Universe(sample_topology(), sample_trajectory())
    pos, dims, times = [], [], []
    for ts in u.trajectory[:N_FRAMES]:
        pos.append(u.atoms.positions.copy())
        dims.append(ts.dimensions.copy())
        times.append(ts.time)
    return np.array(pos), np.array(dims), np.array(times)


def write_traj(path: Path, pos: np.ndarray, dims: np.ndarray, times: np.ndarray) -> None:
    """Write frames with MDAnalysis (the format from the extension)."""
    import MDAnalysis as mda

    from trajml.data import sample_topology, sample_trajectory

    u = mda.Universe(sample_topology(), sample_trajectory())
    ts = u.trajectory[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mda.Writer(str(path), u.atoms.n_atoms) as w:
            for p, d, t in zip(pos, dims, times):
                ts.positions = p
                ts.dimensions = d
                ts.time = t
                w.write(u.atoms)


def make_data(data: Path) -> dict[str, Path]:
    """Clean and damaged trajectories in ``data``; returns name -> path."""
    from trajml.data import sample_aa_topology, sample_topology

    data.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sample_topology(), data / "top.psf")
    shutil.copyfile(sample_aa_topology(), data / "other.psf")
    pos, dims, times = _frames()
    files: dict[str, Path] = {}
    rng = np.random.default_rng(20)
    for fmt in ("xtc", "trr", "dcd"):
        clean = data / f"clean.{fmt}"
        write_traj(clean, pos, dims, times)
        files[f"clean.{fmt}"] = clean
        raw = np.fromfile(clean, dtype=np.uint8)
        n = raw.size
        at10 = int(n * DAMAGED / N_FRAMES) + 200  # inside frame 10 (frames are about equal in size)
        variants = {
            "trunc_half": raw[: n // 2 + 13],  # not on a frame boundary: a whole shorter file is not damage
            "trunc_tail": raw[: n - 7],
            "empty": raw[:0],
            "garbage": rng.integers(0, 256, n, dtype=np.uint8),
            "append": np.concatenate([raw, rng.integers(0, 256, 100, dtype=np.uint8)]),
        }
        zeros = raw.copy()
        zeros[at10:at10 + 200] = 0
        variants["zeros"] = zeros
        for s in (1, 2, 3):
            r = np.random.default_rng(s)
            bad = raw.copy()
            where = r.integers(n // 3, n, 8)
            bad[where] = r.integers(0, 256, 8, dtype=np.uint8)
            variants[f"rand{s}"] = bad
            flip = raw.copy()
            k = int(r.integers(0, n))
            flip[k] ^= np.uint8(1 << int(r.integers(0, 8)))
            variants[f"flip{s}"] = flip
        for name, arr in variants.items():
            files[f"{name}.{fmt}"] = data / f"{name}.{fmt}"
            arr.tofile(files[f"{name}.{fmt}"])
        # Value-wise damage at frame 10, written as a whole file.
        jump = pos.copy()
        jump[DAMAGED:, 5, 0] += 150.0
        huge = pos.copy()
        huge[DAMAGED, 9, 1] = 5e6
        zero_box = dims.copy()
        zero_box[DAMAGED, :3] = 0.0
        vol = dims.copy()
        vol[DAMAGED, :3] *= 2.0
        value_wise = {"jump": (jump, dims, times), "huge": (huge, dims, times), "zerobox": (pos, zero_box, times),
                      "volume": (pos, vol, times)}
        if fmt != "xtc":  # XTC stores integers: NaN cannot be written
            nan = pos.copy()
            nan[DAMAGED, 3] = np.nan
            value_wise["nan"] = (nan, dims, times)
        if fmt != "dcd":  # DCD keeps a start and a step, no time per frame
            back = times.copy()
            back[DAMAGED] = times[DAMAGED - 5]
            same = times.copy()
            same[DAMAGED] = times[DAMAGED - 1]
            gap = times.copy()
            gap[DAMAGED:] += 1000.0
            value_wise.update({"tback": (pos, dims, back), "tdup": (pos, dims, same), "tgap": (pos, dims, gap)})
        for name, (p, d, t) in value_wise.items():
            files[f"{name}.{fmt}"] = data / f"{name}.{fmt}"
            write_traj(files[f"{name}.{fmt}"], p, d, t)
    half = N_FRAMES // 2
    write_traj(data / "part1.xtc", pos[:half], dims[:half], times[:half])
    write_traj(data / "part2.xtc", pos[half:], dims[half:], times[half:])
    (data / "empty.psf").write_bytes(b"")
    (data / "garbage.psf").write_bytes(bytes(np.random.default_rng(5).integers(0, 256, 4000, dtype=np.uint8)))
    (data / "adir.xtc").mkdir(exist_ok=True)
    shutil.copyfile(data / "clean.xtc", data / "clean.foo")
    return files


# --------------------------------------------------------------------------------------------------
# Checks of exit-0 outcomes
# --------------------------------------------------------------------------------------------------

def _csv(path: Path) -> np.ndarray:
    rows = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")][1:]  # header
    return np.array([[float(x) for x in ln.split(",")] for ln in rows], dtype=float).reshape(len(rows), -1)


def same_csv(reference: str, rtol: float = 0.0) -> Check:
    """The case's out.csv equals the reference run's (exactly, or within ``rtol`` of the largest value)."""
    def check(folder: Path, text: str) -> str | None:
        ref = REFERENCE / reference
        if not (folder / "out.csv").is_file():
            return "no output file"
        a, b = _csv(folder / "out.csv"), _csv(ref)
        if a.shape != b.shape:
            return f"output shape {a.shape} differs from the clean run's {b.shape}"
        tol = rtol * max(float(np.abs(b).max()), 1e-12)
        diff = float(np.abs(a - b).max())
        return None if diff <= tol else f"output differs from the clean run by {diff:.3g}"
    return check


def warns(*words: str) -> Check:
    """Exit 0 is right when the output says so: every word appears."""
    def check(folder: Path, text: str) -> str | None:
        missing = [w for w in words if w.lower() not in text.lower()]
        return None if not missing else f"exit 0 without a word of {missing}"
    return check


def both(*checks: Check) -> Check:
    def check(folder: Path, text: str) -> str | None:
        for c in checks:
            why = c(folder, text)
            if why:
                return why
        return None
    return check


def run_counts(computed: int | None = None, failed: int | None = None) -> Check:
    """A pipeline run's summary.json counts."""
    def check(folder: Path, text: str) -> str | None:
        path = folder / "out" / "summary.json"
        if not path.is_file():
            return "no summary.json"
        counts = json.loads(path.read_text())["counts"]
        for name, want in (("computed", computed), ("failed", failed)):
            if want is not None and counts[name] != want:
                return f"{counts[name]} units {name}, expected {want}"
        return None
    return check


REFERENCE = Path()


# --------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------

def trajml(*args: str) -> list[str]:
    return [PY, "-m", "trajml", *args]


def trajectory_cases(d: Path) -> list[Case]:
    """Damaged files of every format through `rdf` and `info --scan`."""
    top = str(d / "top.psf")
    cases = []
    for fmt in ("xtc", "trr", "dcd"):
        byte_wise = ["trunc_half", "trunc_tail", "empty", "garbage", "append", "zeros",
                     "rand1", "rand2", "rand3", "flip1", "flip2", "flip3"]
        for name in byte_wise:
            f = str(d / f"{name}.{fmt}")
            # A flipped bit or a few random bytes may land on a coordinate's low bits: then a result
            # within 2 % of the clean one is right (the damage is below the data's own precision).
            ok = same_csv(f"clean.{fmt}.csv", 0.02) if name.startswith(("flip", "rand")) else None
            cases.append(Case(f"traj-{fmt}-{name}-rdf", f"damaged {fmt.upper()}",
                              trajml("rdf", top, f, *RDF, "-o", "out.csv"), (f"{name}.{fmt}",), ok))
            scan_ok = warns("every frame read passes") if name.startswith(("flip", "rand")) else None
            cases.append(Case(f"traj-{fmt}-{name}-scan", f"damaged {fmt.upper()}",
                              trajml("info", "--scan", top, f), (f"{name}.{fmt}",), scan_ok))
        for name in ("jump", "huge", "zerobox", "volume", "nan"):
            if name == "nan" and fmt == "xtc":
                continue
            f = str(d / f"{name}.{fmt}")
            cases.append(Case(f"traj-{fmt}-{name}-rdf", f"implausible {fmt.upper()}",
                              trajml("rdf", top, f, *RDF, "-o", "out.csv"), (f"{name}.{fmt}", f"frame {DAMAGED}")))
            cases.append(Case(f"traj-{fmt}-{name}-scan", f"implausible {fmt.upper()}",
                              trajml("info", "--scan", top, f), (f"{name}.{fmt}", f"{DAMAGED}")))
        # Damage after the frames asked for: the result must be the clean one on those frames.
        cases.append(Case(f"traj-{fmt}-jump-before-stop", f"implausible {fmt.upper()}",
                          trajml("rdf", top, str(d / f"jump.{fmt}"), *RDF, "--stop", "5", "-o", "out.csv"),
                          ok=same_csv(f"clean.{fmt}.stop5.csv")))
        cases.append(Case(f"traj-{fmt}-trunc-truncate", f"damaged {fmt.upper()}",
                          trajml("rdf", top, str(d / f"trunc_half.{fmt}"), *RDF, "--on-damage", "truncate",
                                 "-o", "out.csv"), ok=warns("trunc_half." + fmt)))
        if fmt != "dcd":
            for name in ("tback", "tdup", "tgap"):
                f = str(d / f"{name}.{fmt}")
                cases.append(Case(f"time-{fmt}-{name}-msd", "time axis",
                                  trajml("msd", top, f, "--select", "name Li", "--no-progress", "-o", "out.csv"),
                                  (f"{name}.{fmt}", "frame")))
                cases.append(Case(f"time-{fmt}-{name}-info", "time axis", trajml("info", top, f),
                                  (f"{name}.{fmt}",), warns(f"{name}.{fmt}", "frame")))
    p1, p2 = str(d / "part1.xtc"), str(d / "part2.xtc")
    cases.append(Case("time-parts-reversed-msd", "time axis",
                      trajml("msd", top, p2, p1, "--select", "name Li", "--no-progress", "-o", "out.csv"),
                      ("part1.xtc",)))
    cases.append(Case("time-parts-reversed-rdf", "time axis", trajml("rdf", top, p2, p1, *RDF, "-o", "out.csv"),
                      ("part1.xtc",)))
    cases.append(Case("time-parts-repeated", "time axis", trajml("msd", top, p1, p1, "--select", "name Li",
                                                                 "--no-progress", "-o", "out.csv"), ("part1.xtc",),
                      ok=warns("part1.xtc")))
    return cases


def topology_cases(d: Path) -> list[Case]:
    clean = str(d / "clean.xtc")
    t = "topology"
    return [
        Case("top-wrong-atom-count", t, trajml("rdf", str(d / "other.psf"), clean, *RDF), ("other.psf", "clean.xtc")),
        Case("top-is-trajectory", t, trajml("rdf", clean, clean, *RDF), ("clean.xtc",)),
        Case("top-empty", t, trajml("rdf", str(d / "empty.psf"), clean, *RDF), ("empty.psf",)),
        Case("top-garbage", t, trajml("rdf", str(d / "garbage.psf"), clean, *RDF), ("garbage.psf",)),
        Case("top-missing", t, trajml("rdf", str(d / "nope.psf"), clean, *RDF), ("nope.psf",)),
        Case("top-directory", t, trajml("rdf", str(d), clean, *RDF), ("data",)),
        Case("traj-directory", t, trajml("rdf", str(d / "top.psf"), str(d / "adir.xtc"), *RDF), ("adir.xtc",)),
        Case("traj-missing", t, trajml("rdf", str(d / "top.psf"), str(d / "nope.xtc"), *RDF), ("nope.xtc",)),
        Case("traj-unknown-extension", t, trajml("rdf", str(d / "top.psf"), str(d / "clean.foo"), *RDF),
             ("clean.foo",)),
        Case("traj-wrong-format-flag", t, trajml("rdf", str(d / "top.psf"), clean, "--format", "DCD", *RDF),
             ("clean.xtc",)),
        Case("traj-format-nonsense", t, trajml("rdf", str(d / "top.psf"), clean, "--format", "BANANA", *RDF),
             ("BANANA",)),
        Case("top-only-no-traj-info", t, trajml("info", str(d / "top.psf")), ok=warns("top.psf")),
        Case("traj-mixed-formats", t, trajml("rdf", str(d / "top.psf"), clean, str(d / "clean.dcd"), *RDF),
             ok=warns("clean.dcd")),
    ]


def parameter_cases(d: Path) -> list[Case]:
    """Nonsense values of the analyses' flags (the bundled sample's first frames)."""
    top, traj = str(d / "top.psf"), str(d / "clean.xtc")
    base = ["rdf", top, traj, "--select-a", "name Li", "--select-b", "name O", "--no-progress"]

    def rdf(cid: str, flags: list[str], *expect: str, ok: Check | None = None) -> Case:
        out = [] if "-o" in flags else ["-o", "out.csv"]
        return Case(f"param-rdf-{cid}", "parameters", trajml(*base, *flags, *out), expect, ok)

    def cmd(cid: str, sub: str, flags: list[str], *expect: str, ok: Check | None = None) -> Case:
        return Case(f"param-{sub}-{cid}", "parameters", trajml(sub, top, traj, "--no-progress", *flags), expect, ok)

    msd = ["--select", "name Li", "-o", "out.csv"]
    tr = ["--cation", "name Li", "--anion", "name TFSI", "-o", "out.json"]
    res = ["--select-a", "name Li", "--select-b", "name O", "-o", "out.json"]
    return [
        rdf("rmax-negative", ["--r-max", "-1"], "--r-max"),
        rdf("rmax-zero", ["--r-max", "0"], "--r-max"),
        rdf("rmax-nan", ["--r-max", "nan"], "--r-max"),
        rdf("rmax-inf", ["--r-max", "inf"], "--r-max"),
        rdf("rmax-text", ["--r-max", "abc"], "--r-max"),
        rdf("rmax-huge", ["--r-max", "1e9"], "--r-max"),
        rdf("nbins-zero", ["--n-bins", "0"], "--n-bins"),
        rdf("nbins-negative", ["--n-bins", "-5"], "--n-bins"),
        rdf("nbins-float", ["--n-bins", "1.5"], "--n-bins"),
        rdf("nbins-bomb", ["--n-bins", "1000000000000"], "--n-bins"),
        rdf("rmin-above-rmax", ["--r-min", "12", "--r-max", "10"], "--r-min"),
        rdf("rmin-negative", ["--r-min", "-1"], "--r-min"),
        rdf("smoothing-negative", ["--smoothing", "-1"], "--smoothing"),
        rdf("start-negative", ["--start", "-1"], "--start"),
        rdf("stop-before-start", ["--start", "10", "--stop", "5"], "--start"),
        rdf("start-beyond-end", ["--start", "100"], "--start"),
        rdf("step-zero", ["--step", "0"], "--step"),
        rdf("step-negative", ["--step", "-1"], "--step"),
        rdf("chunk-zero", ["--chunk-size", "0"], "--chunk-size"),
        rdf("traj-id-5", ["--traj-ids", "5"], "--traj-ids"),
        rdf("traj-id-negative", ["--traj-ids", "-1"], "--traj-ids"),
        rdf("scheduler-bogus", ["--scheduler", "bogus"], "--scheduler"),
        rdf("workers-zero", ["--n-workers", "0"], "--n-workers"),
        rdf("workers-negative", ["--n-workers", "-2"], "--n-workers"),
        rdf("selection-empty", ["--select-a", "name Xx"], "name Xx"),
        rdf("selection-syntax", ["--select-a", "name Li and"], "name Li and"),
        rdf("selection-blank", ["--select-a", ""], "--select-a"),
        rdf("exclude-bogus", ["--exclude", "bogus"], "--exclude"),
        rdf("box-three-numbers", ["--box", "10", "10", "10"], "--box"),
        rdf("box-negative", ["--box", "-10", "10", "10", "90", "90", "90"], "--box"),
        rdf("box-zero", ["--box", "0", "0", "0", "90", "90", "90"], "--box"),
        rdf("box-radians", ["--box", "66.9", "66.9", "66.9", "1.5708", "1.5708", "1.5708"], "--box"),
        rdf("box-text", ["--box", "a", "b", "c"], "--box"),
        rdf("dt-zero", ["--dt", "0"], "--dt"),
        rdf("dt-negative", ["--dt", "-2"], "--dt"),
        rdf("dt-nan", ["--dt", "nan"], "--dt"),
        rdf("time-unit-bogus", ["--time-unit", "parsec"], "--time-unit"),
        rdf("type-map-garbage", ["--type-map", "1"], "--type-map"),
        rdf("device-bogus", ["--device", "tpu"], "--device"),
        rdf("output-dir-missing", ["-o", "nodir/sub/out.csv"], "nodir"),
        rdf("plot-bad-extension", ["--plot", "fig.xyz"], "fig.xyz"),
        cmd("fit-window-reversed", "msd", [*msd, "--fit-start", "50", "--fit-stop", "10"], "--fit-stop"),
        cmd("fit-start-negative", "msd", [*msd, "--fit-start", "-5"], "--fit-start"),
        cmd("method-bogus", "msd", [*msd, "--method", "magic"], "--method"),
        cmd("time-blocks-negative", "msd", [*msd, "--time-blocks", "-1"], "--time-blocks"),
        cmd("max-fraction-above-1", "msd", [*msd, "--max-fraction", "5"], "--max-fraction"),
        cmd("temperature-negative", "transport", [*tr, "--temperature", "-5", "--charges", "Li=1", "TFSI=-1"],
            "--temperature"),
        cmd("temperature-tiny", "transport", [*tr, "--temperature", "1e-30", "--charges", "Li=1", "TFSI=-1"],
            "--temperature"),
        cmd("temperature-nan", "transport", [*tr, "--temperature", "nan", "--charges", "Li=1", "TFSI=-1"],
            "--temperature"),
        cmd("temperature-huge", "transport", [*tr, "--temperature", "1e9", "--charges", "Li=1", "TFSI=-1"],
            "--temperature"),
        cmd("charges-repeated", "transport", [*tr, "--temperature", "300", "--charges", "Li=1", "Li=2",
                                              "TFSI=-1"], "--charges", "Li"),
        cmd("charges-text", "transport", [*tr, "--temperature", "300", "--charges", "Li=abc", "TFSI=-1"],
            "--charges", "abc"),
        cmd("charges-unknown-name", "transport", [*tr, "--temperature", "300", "--charges", "Xx=1", "TFSI=-1"],
            "Xx"),
        cmd("charge-scale-zero", "transport", [*tr, "--temperature", "300", "--charges", "Li=1", "TFSI=-1",
                                               "--charge-scale", "0"], "--charge-scale"),
        cmd("volume-negative", "transport", [*tr, "--temperature", "300", "--charges", "Li=1", "TFSI=-1",
                                             "--volume", "-1"], "--volume"),
        cmd("cutoff-negative", "residence", [*res, "--cutoff", "-1"], "--cutoff"),
        cmd("tolerance-negative", "residence", [*res, "--cutoff", "3", "--tolerance-frames", "-1"],
            "--tolerance-frames"),
        cmd("nstates-zero", "msm", ["--select", "name Li", "--n-states", "0", "-o", "msm_out"], "--n-states"),
        cmd("lag-zero", "msm", ["--select", "name Li", "--lag", "0", "-o", "msm_out"], "--lag"),
        cmd("lag-beyond-run", "msm", ["--select", "name Li", "--lag", "1000000", "-o", "msm_out"], "--lag"),
        cmd("model-bogus", "msm", ["--select", "name Li", "--model", "magic", "-o", "msm_out"], "--model"),
        cmd("coordination-cutoff-zero", "coordination", ["--select-a", "name Li", "--select-b", "name O",
                                                         "--cutoff", "0", "-o", "out.csv"], "--cutoff"),
    ]


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


def _pipeline(folder: Path, d: Path) -> None:
    (folder / "p.yaml").write_text(
        PIPE_HEAD + f"inputs:\n  - name: s0\n    topology: {d / 'top.psf'}\n    trajectory: {d / 'clean.xtc'}\n"
        "stages:\n  - {stage: info}\n" + STAGE + "outputs: out\n")


def store_cases(d: Path, clean_out: Path) -> list[Case]:
    """A finished run's outputs folder, damaged, then run again."""
    run = trajml("run", "p.yaml", "--scheduler", "serial", "--no-progress")

    def damaged(cid: str, damage: Callable[[Path], None], ok: Check | None, *expect: str) -> Case:
        def setup(folder: Path) -> None:
            _pipeline(folder, d)
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
        _pipeline(folder, d)
    # The second run either refuses (naming the first) or, if the first finished already, reuses everything.
    ok = run_counts(computed=0, failed=0)
    return [Case(f"concurrent-{s}-{delay}", "concurrent runs", [PY, "-c", CONCURRENT.format(sched=s, delay=delay)],
                 ("lock",), ok, setup, timeout=240) for s, delay in (("serial", 2.0), ("serial", 3.5),
                                                                      ("processes", 3.0))]


API = textwrap.dedent("""\
    import sys
    from trajml.errors import TrajmlError
    BUG = (KeyError, AttributeError, ZeroDivisionError, AssertionError, UnboundLocalError, NameError,
           RecursionError, MemoryError)
    try:
    {code}
    except Exception as exc:
        if isinstance(exc, BUG) and not isinstance(exc, TrajmlError):
            raise
        print(f"{{type(exc).__name__}}: {{exc}}", file=sys.stderr)
        sys.exit(1)
    """)


def api_cases(d: Path) -> list[Case]:
    top, traj = str(d / "top.psf"), str(d / "clean.xtc")
    src = f"    import trajml\n    src = trajml.open_source({top!r}, {traj!r})\n"

    def api(cid: str, code: str, *expect: str, ok: Check | None = None) -> Case:
        body = textwrap.indent(textwrap.dedent(code), "    ")
        return Case(f"api-{cid}", "Python API", [PY, "-c", API.format(code=body)], expect, ok)

    rdf = "    r = trajml.RDF(select_a='name Li', select_b='name O'{args}).run(src{run})\n"
    return [
        api("rdf-rmax-negative", src + rdf.format(args=", r_max=-1", run=""), "r_max"),
        api("rdf-nbins-bomb", src + rdf.format(args=", n_bins=10**12", run=""), "n_bins"),
        api("rdf-nbins-float", src + rdf.format(args=", n_bins=2.5", run=""), "n_bins"),
        api("rdf-traj-id", src + rdf.format(args="", run=", traj_ids=[5]"), "traj_ids"),
        api("rdf-empty-range", src + rdf.format(args="", run=", start=15, stop=5"), "start"),
        api("rdf-step-zero", src + rdf.format(args="", run=", step=0"), "step"),
        api("rdf-scheduler-bogus", src + rdf.format(args="", run=", scheduler='bogus'"), "scheduler"),
        api("rdf-selection-empty", src + "    trajml.RDF(select_a='name Xx', select_b='name O').run(src)\n",
            "name Xx"),
        api("rdf-selection-type", src + "    trajml.RDF(select_a=3.5, select_b='name O').run(src)\n", "select_a"),
        api("rdf-unknown-keyword", src + "    trajml.RDF(select_a='name Li', rmax=3).run(src)\n", "rmax"),
        api("open-box-six-vector", f"    import trajml\n    trajml.open_source({top!r}, {traj!r}, "
            "box=[66.9, 66.9, 66.9, 1.57, 1.57, 1.57])\n", "box"),
        api("box-bare-six-vector", "    from trajml.box import Box\n    Box([10, 10, 10, 90, 90, 90])\n", "Box"),
        api("open-missing", "    import trajml\n    trajml.open_source('nope.psf', 'nope.xtc')\n", "nope"),
        api("open-damaged", f"    import trajml\n    trajml.open_source({top!r}, {str(d / 'trunc_half.xtc')!r})\n",
            "trunc_half.xtc"),
        api("read-beyond-end", src + "    from trajml.chunk import ChunkSpec\n    src.read(ChunkSpec(0, 15, 40, 1))\n",
            "40"),
        api("read-atoms-out-of-range", src + "    from trajml.chunk import ChunkSpec\n"
            "    src.read(ChunkSpec(0, 0, 2, 1), atoms=[10**7])\n", "atoms"),
        api("transport-fit-window", src + "    import trajml.transport\n    trajml.transport.Conductivity("
            "cation='name Li', anion='name TFSI', temperature=300.0, charges={'Li': 1, 'TFSI': -1}, "
            "fit_start=50.0, fit_stop=10.0).run(src)\n", "fit_start"),
        api("msd-method", src + "    import trajml.transport\n    trajml.transport.MSD(select='name Li', "
            "method='magic').run(src)\n", "method"),
        api("transport-temperature", src + "    import trajml.transport\n    trajml.transport.Conductivity(cation='name Li', anion='name TFSI',"
            " temperature=1e-30, charges={'Li': 1, 'TFSI': -1}).run(src)\n", "temperature"),
        api("jump-damaged-rdf", f"    import trajml\n    src = trajml.open_source({top!r}, {str(d / 'jump.xtc')!r})\n"
            + rdf.format(args="", run=""), "jump.xtc", "frame 10"),
        api("run-pipeline-missing", "    from trajml.pipelines import run_pipeline\n    run_pipeline('nope.yaml')\n",
            "nope.yaml"),
        api("run-pipeline-scheduler", "    from trajml.pipelines import run_pipeline\n"
            "    run_pipeline('nope.yaml', scheduler=42)\n", "scheduler"),
        api("run-pipeline-timeout", "    from trajml.pipelines import run_pipeline\n"
            "    run_pipeline('nope.yaml', unit_timeout=-3)\n", "unit_timeout"),
    ]


# --------------------------------------------------------------------------------------------------
# Running and classifying
# --------------------------------------------------------------------------------------------------

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
        jobs.append(trajml("rdf", str(d / "top.psf"), f, *RDF, "--stop", "5", "-o", str(ref / f"clean.{fmt}.stop5.csv")))
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


def main(argv: list[str] | None = None) -> int:
    global REFERENCE
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
    REFERENCE = work / "reference"
    references(d, REFERENCE)
    clean_out = work / "clean_run"  # run again: make_data wrote new files, with new fingerprints
    shutil.rmtree(clean_out, ignore_errors=True)
    clean_out.mkdir()
    _pipeline(clean_out, d)
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
