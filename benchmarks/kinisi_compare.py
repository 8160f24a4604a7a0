"""Self-diffusion in kinisi's two example trajectories: trajml against kinisi.

Li in Li6PS5Cl from a VASP XDATCAR (trajml's ase backend), and type 1 atoms of a Lennard-Jones
mixture from a LAMMPS data file and DCD (``--lj``).

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

The LJ example (``--lj``) is ``kinisi/tests/inputs/example_LAMMPS.data`` and ``example_LAMMPS.dcd``
(256 atoms, 204 of type 1 and 52 of type 2, all of mass 1, cubic box 5.82 σ, 200 frames, LAMMPS
``units lj``), read from the installed kinisi package. kinisi's tests open it with
``mda.Universe(data, dcd, format="LAMMPS")`` and use ``time_step = 0.005``, ``step_skip = 250``:
frames 1.25 τ apart. trajml reads it with ``lammps_units="lj", dt=1.25``; both programs then take
σ as Å and τ as ps, so a D printed in cm²/s is in σ²/τ once multiplied by 10⁴. Run::

    python benchmarks/kinisi_compare.py --lj
    python benchmarks/kinisi_compare.py --lj --lj-drift framework

The whole mixture drifts (its MSD in the lab frame grows as t²), so both programs remove it. By
default kinisi is given every atom as its drift reference (``drift_indices``), which with equal
masses is the centre of mass trajml's ``remove_drift=True`` subtracts: the same frame for both.
``--lj-drift framework`` is kinisi's own default, the mean of the type 2 atoms only; ``none`` the
lab frame.

The LJ atoms stay caged (the MSD reaches 0.020 σ² within ten frames and 0.022 σ² at a hundred), so
D is the slope of a plateau and depends on the estimator: the two MSDs agree, and so do trajml's D
and a least-squares slope of kinisi's MSD (``D_least_squares_cm2_s``), but kinisi's Bayesian
regression, with its random-walk covariance and a free intercept, gives about twice as much.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings

import numpy as np

TIME_STEP_FS = 2.0  # kinisi's documented parameters for example_XDATCAR
STEP_SKIP = 50
DT_PS = TIME_STEP_FS * STEP_SKIP / 1000.0
LJ_TIME_STEP = 0.005  # τ; kinisi's parameters for example_LAMMPS.dcd
LJ_STEP_SKIP = 250
LJ_DT = LJ_TIME_STEP * LJ_STEP_SKIP  # τ between saved frames
LJ_DRIFT = ("system", "framework", "none")


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


def lj_files() -> tuple[str, str]:
    """The data file and DCD of kinisi's LJ example, as installed with kinisi."""
    import kinisi

    inputs = os.path.join(os.path.dirname(kinisi.__file__), "tests", "inputs")
    return os.path.join(inputs, "example_LAMMPS.data"), os.path.join(inputs, "example_LAMMPS.dcd")


def kinisi_lj(start: float, seed: int, msd_lags: list[int], drift: str = "system") -> dict:
    """kinisi's D of the type 1 atoms of the LJ example and its MSD at some lags (σ and τ read as Å and ps).

    Parameters
    ----------
    start : float
        Start of the fit (τ).
    seed : int
        Seed of kinisi's MCMC.
    msd_lags : list of int
        Lags (frames) whose MSD is returned.
    drift : {"system", "framework", "none"}
        kinisi's drift reference: every atom (trajml's ``remove_drift=True`` here, masses being
        equal), the type 2 atoms (kinisi's default) or none.

    Returns
    -------
    dict
        ``D_cm2_s`` and ``D_err_cm2_s`` (mean and standard deviation of the posterior; ×10⁴ for
        σ²/τ), ``D_least_squares_cm2_s`` (the ordinary least-squares slope / 6 of kinisi's MSD over
        the same window: trajml's estimator on kinisi's MSD) and ``msd_A2`` (σ²) by lag.
    """
    import scipp as sc

    analyzer = kinisi_lj_msd(drift)
    analyzer.diffusion(start * sc.Unit("ps"), progress=False, random_state=np.random.RandomState(seed))
    samples = np.asarray(analyzer.D.values)
    lag, msd = np.asarray(analyzer.dt.values), np.asarray(analyzer.msd.values)
    window = lag >= start
    slope = np.polyfit(lag[window], msd[window], 1)[0]
    return {"D_cm2_s": float(samples.mean()), "D_err_cm2_s": float(samples.std(ddof=1)),
            "D_least_squares_cm2_s": float(slope / 6 * 1e-4),  # Å²/ps to cm²/s
            "msd_A2": {int(k): float(msd[k - 1]) for k in msd_lags}}


def kinisi_lj_msd(drift: str = "system"):
    """kinisi's DiffusionAnalyzer of the type 1 atoms of the LJ example, its MSD computed (see :func:`kinisi_lj`)."""
    import MDAnalysis as mda
    import scipp as sc
    from kinisi.analyze import DiffusionAnalyzer

    universe = mda.Universe(*lj_files(), format="LAMMPS")
    params = dict(specie="1", time_step=LJ_TIME_STEP * sc.Unit("ps"),
                  step_skip=LJ_STEP_SKIP * sc.Unit("dimensionless"))
    if drift == "framework":
        analyzer = DiffusionAnalyzer.from_universe(universe, progress=False, **params)
    else:
        from kinisi.displacement import calculate_msd
        from kinisi.mdanalysis import MDAnalysisParser

        reference = np.arange(universe.atoms.n_atoms) if drift == "system" else np.zeros(0, dtype=int)
        analyzer = DiffusionAnalyzer(MDAnalysisParser(
            universe, progress=False, drift_indices=sc.array(dims=["particle"], values=reference), **params))
        analyzer._dg = calculate_msd(analyzer.trajectory, progress=False)
    return analyzer


def trajml_lj(start: float, msd_lags: list[int], remove_drift: bool = True) -> dict:
    """trajml's D of the type 1 atoms of the LJ example (as :func:`kinisi_lj`, standard error over particles)."""
    from trajml.io import open_source
    from trajml.transport import MSD, Diffusion

    source = open_source(*lj_files(), lammps_units="lj", dt=LJ_DT)
    msd = MSD("type 1", remove_drift=remove_drift).run(source)
    fit = Diffusion(start, float(msd.lag_ps[-1])).fit(msd).fetch_model()
    return {"D_cm2_s": fit.D_cm2_s, "D_err_cm2_s": fit.D_err_cm2_s,
            "msd_A2": {int(k): float(msd.msd_A2[k]) for k in msd_lags}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("xdatcar", nargs="?", help="kinisi's example_XDATCAR.gz (or the Li-only test file)")
    parser.add_argument("--lj", action="store_true", help="kinisi's LJ example (from the installed kinisi) instead")
    parser.add_argument("--lj-drift", choices=LJ_DRIFT, default="system",
                        help="kinisi's drift reference for --lj (default: every atom, as trajml's remove_drift)")
    parser.add_argument("--start", type=float, default=None,
                        help="start of the fit, ps (default 1; --lj: 12.5 τ, ten frames)")
    parser.add_argument("--seed", type=int, default=42, help="kinisi's MCMC random seed")
    parser.add_argument("--msd-lags", type=int, nargs="*", default=[1, 10, 50, 100], help="lags (frames) to print")
    parser.add_argument("--no-drift", action="store_true", help="kinisi without framework drift correction")
    parser.add_argument("--kinisi-only", action="store_true", help="skip trajml (an environment without it)")
    args = parser.parse_args()
    if args.lj == (args.xdatcar is not None):
        parser.error("give an XDATCAR or --lj")
    warnings.simplefilter("ignore")
    if args.lj:
        start = 12.5 if args.start is None else args.start
        out = {"file": "kinisi/tests/inputs/example_LAMMPS.dcd", "dt_tau": LJ_DT, "fit_start_tau": start,
               "units": "sigma, tau (D in cm2/s x 1e4 = sigma^2/tau)", "kinisi_drift": args.lj_drift,
               "kinisi": kinisi_lj(start, args.seed, args.msd_lags, drift=args.lj_drift)}
        if not args.kinisi_only:
            out["trajml"] = trajml_lj(start, args.msd_lags, remove_drift=args.lj_drift != "none")
    else:
        start = 1.0 if args.start is None else args.start
        out = {"file": args.xdatcar, "dt_ps": DT_PS, "fit_start_ps": start,
               "kinisi": kinisi_d(args.xdatcar, start, args.seed, args.msd_lags, drift=not args.no_drift)}
        if not args.kinisi_only:
            out["trajml"] = trajml_d(args.xdatcar, start, args.msd_lags)
    if not args.kinisi_only:
        k, t = out["kinisi"], out["trajml"]
        out["difference_cm2_s"] = t["D_cm2_s"] - k["D_cm2_s"]
        out["agree_within_sum_of_errors"] = bool(abs(out["difference_cm2_s"]) <= k["D_err_cm2_s"] + t["D_err_cm2_s"])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
