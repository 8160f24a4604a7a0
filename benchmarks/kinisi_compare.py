"""Li self-diffusion in Li6PS5Cl from a VASP XDATCAR: trajml (ase backend) against kinisi.

kinisi (MIT; McCluskey, Morgan et al., https://github.com/kinisi-dev/kinisi) ships an ab-initio MD
trajectory of Li6PS5Cl as ``kinisi/tests/inputs/example_XDATCAR.gz`` in its wheel. Its own tests
read it with ``time_step = 2 fs`` and ``step_skip = 50``: frames 0.1 ps apart. This script reads the
file with both programs and prints D of Li with its uncertainty from each, and whether they agree
within the sum of the two uncertainties.

Run by hand (needs ``pip install 'trajml[ase]' kinisi==2.1.0``)::

    pip download --no-deps kinisi==2.1.0 && unzip -o kinisi-2.1.0-py3-none-any.whl 'kinisi/tests/inputs/*'
    python benchmarks/kinisi_compare.py kinisi/tests/inputs/example_XDATCAR.gz
    python benchmarks/kinisi_compare.py tests/io/data/Li6PS5Cl_Li_XDATCAR.gz --msd-lags 1 10 50 100

The second command produced the oracle numbers of ``tests/io/test_ase_kinisi.py`` (the Li atoms of
the same file, see ``tests/io/data/README.md``).

What differs between the two (read in kinisi 2.1.0's code):

* kinisi subtracts the mean displacement of the *framework* (every atom not of the diffusing
  species; ``Parser.correct_drift``) before the MSD; trajml's MSD is in the lab frame unless
  ``remove_drift=True`` (the whole system's mass-weighted centre of mass). On the Li-only derived
  file there is no framework, so kinisi corrects nothing and the two MSDs agree to round-off.
* kinisi's displacement array starts at frame 1 (cumulated frame-to-frame jumps), so its MSD
  prepends the displacement from frame 0 for each lag (``calculate_msd``); with it both codes
  average over every time origin.
* kinisi fits D by Bayesian regression with the MSD covariance (``diffusion(start_dt)``, MCMC, from
  ``start_dt`` to the longest lag); trajml by an ordinary least-squares slope over a window, with
  the standard error over particles. Both are given the window [1 ps, the last lag] here.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np

TIME_STEP_FS = 2.0  # kinisi's documented parameters for example_XDATCAR
STEP_SKIP = 50
DT_PS = TIME_STEP_FS * STEP_SKIP / 1000.0


def kinisi_d(path: str, start_ps: float, seed: int, msd_lags: list[int], drift: bool) -> dict:
    """kinisi's D of Li (cm²/s: mean and standard deviation of its posterior) and MSD (Å²) at some lags."""
    import ase.io
    import scipp as sc
    from kinisi.analyze import DiffusionAnalyzer

    frames = ase.io.read(path, index=":")
    extra = {}
    if not drift:  # an empty framework: kinisi then subtracts no drift
        from kinisi.ase import ASEParser

        extra["drift_indices"] = sc.array(dims=["particle"], values=np.zeros(0, dtype=int))
    params = dict(specie="Li", time_step=TIME_STEP_FS * sc.Unit("fs"), step_skip=STEP_SKIP * sc.Unit("dimensionless"))
    if extra:
        from kinisi.displacement import calculate_msd

        analyzer = DiffusionAnalyzer.__new__(DiffusionAnalyzer)
        analyzer.trajectory = ASEParser(frames, progress=False, **params, **extra)
        analyzer._dg = calculate_msd(analyzer.trajectory, progress=False)
    else:
        analyzer = DiffusionAnalyzer.from_ase(frames, progress=False, **params)
    analyzer.diffusion(start_ps * sc.Unit("ps"), progress=False, random_state=np.random.RandomState(seed))
    samples = np.asarray(analyzer.D.values)
    msd = np.asarray(analyzer.msd.values)
    return {"D_cm2_s": float(samples.mean()), "D_err_cm2_s": float(samples.std(ddof=1)),
            "msd_A2": {int(k): float(msd[k - 1]) for k in msd_lags}}


def trajml_d(path: str, start_ps: float, msd_lags: list[int]) -> dict:
    """trajml's D of Li (cm²/s, with its standard error over particles) and MSD (Å²) at some lags."""
    from trajml.io import open_source
    from trajml.transport import MSD, Diffusion

    source = open_source(path, backend="ase", dt=DT_PS)
    msd = MSD("name Li").run(source)
    fit = Diffusion(start_ps, float(msd.lag_ps[-1])).fit(msd).fetch_model()
    return {"D_cm2_s": fit.D_cm2_s, "D_err_cm2_s": fit.D_err_cm2_s,
            "msd_A2": {int(k): float(msd.msd_A2[k]) for k in msd_lags}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("xdatcar", help="kinisi's example_XDATCAR.gz (or the Li-only test file)")
    parser.add_argument("--start", type=float, default=1.0, help="start of the fit, ps (default 1)")
    parser.add_argument("--seed", type=int, default=42, help="kinisi's MCMC random seed")
    parser.add_argument("--msd-lags", type=int, nargs="*", default=[1, 10, 50, 100], help="lags (frames) to print")
    parser.add_argument("--no-drift", action="store_true", help="kinisi without framework drift correction")
    parser.add_argument("--kinisi-only", action="store_true", help="skip trajml (an environment without it)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    out = {"file": args.xdatcar, "dt_ps": DT_PS, "fit_start_ps": args.start,
           "kinisi": kinisi_d(args.xdatcar, args.start, args.seed, args.msd_lags, drift=not args.no_drift)}
    if not args.kinisi_only:
        out["trajml"] = trajml_d(args.xdatcar, args.start, args.msd_lags)
        k, t = out["kinisi"], out["trajml"]
        out["difference_cm2_s"] = t["D_cm2_s"] - k["D_cm2_s"]
        out["agree_within_sum_of_errors"] = bool(abs(out["difference_cm2_s"]) <= k["D_err_cm2_s"] + t["D_err_cm2_s"])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
