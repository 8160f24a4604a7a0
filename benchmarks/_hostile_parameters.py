"""Hostile cases of the parameters: nonsense values of the command line's flags and of the Python API's keywords.

Part of ``bench_hostile.py`` (run by hand, not in CI).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from _hostile_case import PY, Case, Check, trajml


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
        api("transport-temperature", src + "    import trajml.transport\n    trajml.transport.Conductivity("
            "cation='name Li', anion='name TFSI', temperature=1e-30, charges={'Li': 1, 'TFSI': -1}).run(src)\n",
            "temperature"),
        api("jump-damaged-rdf", f"    import trajml\n    src = trajml.open_source({top!r}, {str(d / 'jump.xtc')!r})\n"
            + rdf.format(args="", run=""), "jump.xtc", "frame 10"),
        api("run-pipeline-missing", "    from trajml.pipelines import run_pipeline\n    run_pipeline('nope.yaml')\n",
            "nope.yaml"),
        api("run-pipeline-scheduler", "    from trajml.pipelines import run_pipeline\n"
            "    run_pipeline('nope.yaml', scheduler=42)\n", "scheduler"),
        api("run-pipeline-timeout", "    from trajml.pipelines import run_pipeline\n"
            "    run_pipeline('nope.yaml', unit_timeout=-3)\n", "unit_timeout"),
    ]

