"""Hostile cases of the input files: damaged and implausible trajectories, broken time axes, wrong topologies.

Part of ``bench_hostile.py`` (run by hand, not in CI).
"""

from __future__ import annotations

from pathlib import Path

from _hostile_case import RDF, Case, same_csv, trajml, warns
from _hostile_data import DAMAGED


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

