"""Free-energy surfaces: trajml's sparse GP against scikit-learn's exact GP (``--part gp``), and the
calibration of the NN ensemble's error bars (``--part nn``).

Run by hand (not in CI)::

    python benchmarks/bench_fes.py                       # both parts
    python benchmarks/bench_fes.py --part gp             # 10^3, 10^4, 10^5 points, 3 repeats
    python benchmarks/bench_fes.py --part nn --jobs 2    # 2 potentials x 2 sizes x 5 seeds
    python benchmarks/bench_fes.py --quick               # smoke test
    python benchmarks/bench_fes.py --out bench_fes.json  # a part not run keeps its earlier results there

NN calibration (``--part nn``; the cases are described in ``_fes_nn_cases.py``): exact samples of
a 1-D double well and of Müller–Brown, 2 000 and 20 000 samples, 5 seeds;
``NeuralNetworkFES(calibrate=True)`` (4 members of (16, 16), 1000 L-BFGS steps) and
``HistogramFES`` on the same samples and bins. Per case: RMSE of each against the exact F and the
rms of (error / predicted σ) over the bins with data; pooled over seeds, the target is
0.8 <= z-rms <= 1.25 and the network's RMSE below the histogram's in every case. ``z-rms raw``
uses the members' spread alone as σ (no calibration) and ``z-rms no β`` the calibrated σ without
its bias floor, for comparison.

GP regression (``--part gp``):

Data, identical for both libraries: ``n`` points drawn uniformly where the Müller–Brown
potential (kT = 15 of its units) is within 12 kT of its minimum, with free energies
F = V + noise (σ = 0.3 kT, in kJ/mol at 300 K) and that σ given to both as the noise level.

- ``trajml GaussianProcessFES``: ``fit_free_energies`` (hyperparameters by marginal likelihood on
  a 600-point subset, then the inducing-point posterior over all n points) and ``predict`` with
  standard deviations.
- ``sklearn GPR, fixed kernel``: ``GaussianProcessRegressor`` with the *same* kernel (ARD RBF with
  trajml's fitted length scales and variance, ``optimizer=None``, ``alpha = σ² + noise floor``):
  one exact O(n³) fit, a lower bound on sklearn's cost because it does no hyperparameter search.
- ``sklearn GPR, optimised`` (n = 10³ only): its own L-BFGS search of the kernel from the default
  start, as a user would run it.

scikit-learn's exact GP needs the n x n kernel matrix (plus its Cholesky factor and a copy during
fitting): at n = 10⁵ that is 80 GB per matrix, beyond this machine, so it is not run there and the
table says so; ``--sklearn-max`` moves that limit. Each method runs in a fresh interpreter (peak
resident memory is its own), interleaved in every repeat; times are medians over repeats. RMSE is
against the exact F on a 50 x 50 grid, within 8 kT of the minimum, after removing the mean offset.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402
from _common import fmt_bytes, format_table  # noqa: E402

CHILD = r'''
import time, warnings
import numpy as np
warnings.filterwarnings("ignore")
p = PAYLOAD
KT = 0.00831446261815324 * 300.0
A = np.array([-200.0, -100.0, -170.0, 15.0]); a = np.array([-1.0, -1.0, -6.5, 0.7])
b = np.array([0.0, 0.0, 11.0, 0.6]); c = np.array([-10.0, -10.0, -6.5, 0.7])
x0 = np.array([1.0, 0.0, -0.5, -1.0]); y0 = np.array([0.0, 0.5, 1.5, 1.0])
def V(q):  # kJ/mol, kT = 15 Mueller-Brown units
    dx = q[:, 0, None] - x0; dy = q[:, 1, None] - y0
    return (A * np.exp(a * dx * dx + b * dx * dy + c * dy * dy)).sum(1) * KT / 15.0
VMIN = -146.69951720995402 * KT / 15.0
rng = np.random.default_rng(p["seed"])
pts = np.empty((0, 2))
while len(pts) < p["n"]:
    q = rng.uniform([-1.7, -0.5], [1.3, 2.2], size=(4 * p["n"], 2))
    pts = np.vstack([pts, q[V(q) - VMIN < 12 * KT]])
x = pts[:p["n"]]
sigma = 0.3 * KT
y = V(x) + sigma * rng.standard_normal(len(x))
g = np.stack([m.ravel() for m in np.meshgrid(np.linspace(-1.6, 1.2, 50), np.linspace(-0.4, 2.1, 50), indexing="ij")], 1)
truth = V(g) - VMIN
region = truth < 8 * KT
if p["method"] == "trajml":
    from trajml.fes import GaussianProcessFES
    import trajml.fes.gp  # imports are not timed
else:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel
t0 = time.perf_counter()
if p["method"] == "trajml":
    est = GaussianProcessFES(temperature=300.0, bins=50, seed=0)
    est.fit_free_energies(x, y, sigma=sigma)
    model = est.fetch_model()
    t1 = time.perf_counter()
    mu, sd = model.predict(g, return_std=True)
    t2 = time.perf_counter()
    hp = est.hyperparameters_
    extra = {"lengthscales": hp.lengthscales.tolist(), "signal_var_kJ2": hp.signal_var * KT * KT,
             "noise_var_kJ2": hp.noise_var * KT * KT, "mean_kJ": hp.mean * KT,
             "n_inducing": model.provenance["n_inducing"]}
else:
    if p["method"] == "sklearn_fixed":
        k = p["kernel"]
        kernel = ConstantKernel(k["signal_var_kJ2"], "fixed") * RBF(k["lengthscales"], "fixed")
        gpr = GaussianProcessRegressor(kernel, alpha=sigma ** 2 + k["noise_var_kJ2"], optimizer=None)
        gpr.fit(x, y - k["mean_kJ"])
    else:
        kernel = ConstantKernel(1.0) * RBF([0.3, 0.3])
        gpr = GaussianProcessRegressor(kernel, alpha=sigma ** 2, normalize_y=True, n_restarts_optimizer=0)
        gpr.fit(x, y)
    t1 = time.perf_counter()
    mu, sd = gpr.predict(g, return_std=True)
    t2 = time.perf_counter()
    extra = {"kernel": str(gpr.kernel_)}
d = mu[region] - truth[region]
d -= d.mean()
print(json.dumps({"fit_s": t1 - t0, "predict_s": t2 - t1, "seconds": t2 - t0, "rss_peak": rss_peak(),
                  "rmse_kT": float(np.sqrt(np.mean(d * d)) / KT), "mean_sd_kT": float(sd[region].mean() / KT),
                  **extra}))
'''


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=("all", "gp", "nn"), default="all", help="which benchmark to run (default all)")
    p.add_argument("--nn-sizes", type=int, nargs="+", default=None, help="NN part: samples (default 2000 20000)")
    p.add_argument("--nn-seeds", type=int, default=None, help="NN part: seeds per case (default 5; --quick 2)")
    p.add_argument("--nn-steps", type=int, default=1000, help="NN part: L-BFGS steps per member (default 1000)")
    p.add_argument("--jobs", type=int, default=1, help="NN part: cases run at once, each in its own process")
    p.add_argument("--sizes", type=int, nargs="+", default=None, help="numbers of points (default 1000 10000 100000)")
    p.add_argument("--repeats", type=int, default=None, help="runs per method and size (default 3; --quick 1)")
    p.add_argument("--sklearn-max", type=int, default=20_000,
                   help="largest n given to sklearn's exact GP (default 20000: its n x n matrices must fit in RAM)")
    p.add_argument("--optimised-max", type=int, default=1000,
                   help="largest n for sklearn with its own hyperparameter search (default 1000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    args.sizes = args.sizes or ([300, 1000] if args.quick else [1000, 10_000, 100_000])
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.nn_sizes = args.nn_sizes or ([500, 2000] if args.quick else [2000, 20_000])
    args.nn_seeds = args.nn_seeds or (2 if args.quick else 5)
    return args


def run_nn_calibration(args: argparse.Namespace) -> dict[str, Any]:
    """The NN calibration target: every (potential, size, seed), pooled per (potential, size)."""
    from concurrent.futures import ProcessPoolExecutor

    from _fes_nn_cases import CASES, run_case

    nn = {"hidden": (16, 16), "n_members": 4, "n_steps": args.nn_steps}
    todo = [(name, n, seed, nn) for name in CASES for n in args.nn_sizes for seed in range(args.nn_seeds)]
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        runs = []
        for out in pool.map(run_case, *zip(*todo)):
            runs.append(out)
            print(f"  nn {out['potential']:15s} n={out['n']:6d} seed {out['seed']}: z-rms {out['z_rms']:.2f} "
                  f"(raw {out['z_rms_raw_spread']:.2f})  RMSE nn {out['rmse_nn_kT']:.3f} hist "
                  f"{out['rmse_hist_kT']:.3f} kT  fit {out['fit_s']:.0f} s", flush=True)
    rows, pooled = [], {}
    for name in CASES:
        for n in args.nn_sizes:
            rs = [r for r in runs if r["potential"] == name and r["n"] == n]
            cells = sum(r["n_cells"] for r in rs)
            z = (sum(r["sum_z2"] for r in rs) / cells) ** 0.5
            z_raw = (sum(r["sum_z2_raw"] for r in rs) / cells) ** 0.5
            z_nb = (sum(r["sum_z2_without_bias_floor"] for r in rs) / cells) ** 0.5
            beats = all(r["rmse_nn_kT"] < r["rmse_hist_kT"] for r in rs)
            key = f"{name} {n}"
            pooled[key] = {"z_rms": z, "z_rms_raw_spread": z_raw, "z_rms_without_bias_floor": z_nb,
                           "z_rms_per_seed": [r["z_rms"] for r in rs],
                           "rmse_nn_kT": [r["rmse_nn_kT"] for r in rs], "rmse_hist_kT": [r["rmse_hist_kT"] for r in rs],
                           "nn_beats_hist_every_seed": beats, "in_target": bool(0.8 <= z <= 1.25 and beats)}
            rows.append([name, n, len(rs), f"{z:.2f}", f"{z_raw:.2f}", f"{z_nb:.2f}",
                         f"{min(r['z_rms'] for r in rs):.2f}-{max(r['z_rms'] for r in rs):.2f}",
                         f"{statistics.mean(r['rmse_nn_kT'] for r in rs):.3f}",
                         f"{statistics.mean(r['rmse_hist_kT'] for r in rs):.3f}", "yes" if beats else "NO",
                         f"{statistics.median(r['fit_s'] for r in rs):.0f}"])
    table = format_table(["potential", "samples", "seeds", "z-rms", "z-rms raw", "z-rms no β", "per seed", "RMSE nn kT",
                          "RMSE hist kT", "nn < hist", "fit s"], rows, align="lrrrrrrrrlr")
    return {"settings": {**nn, "calibrate": True}, "cases": runs, "pooled": pooled, "table": rows,
            "table_text": table}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command = _common.command_line("bench_fes.py", argv)
    env = _common.environment(("numpy", "scipy", "sklearn", "trajml"))
    print(f"bench_fes: sizes {args.sizes}, {args.repeats} repeat(s), {env['cpu_count']} CPUs, " +
          ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    header = {"command": command, "environment": env, "config": {k: v for k, v in vars(args).items() if k != "out"}}
    results: dict[str, Any] = {}
    if args.out and os.path.exists(args.out):  # a part not run keeps its earlier results (and their command)
        with open(args.out) as fh:
            results = json.load(fh)
    if args.part in ("all", "nn"):
        nn = run_nn_calibration(args)
        results["nn_calibration"] = {**header, **nn}
        print("\n" + nn["table_text"])
    if args.part in ("all", "gp"):  # the GP part's results sit at the top level, as before
        results.update(header, **run_gp(args, command))
    print(f"\ncommand: {command}")
    _common.write_results(args.out, results)
    return results


def run_gp(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """trajml's GP against scikit-learn's, per size."""
    results: dict[str, Any] = {"sizes": {}}
    rows = []
    for n in args.sizes:
        runs: dict[str, list[dict[str, Any]]] = {}
        kernel: dict[str, Any] | None = None
        for r in range(args.repeats):
            out = _common.run_python_child(CHILD, {"method": "trajml", "n": n, "seed": args.seed})
            runs.setdefault("trajml GaussianProcessFES", []).append(out)
            kernel = kernel or {k: out[k] for k in ("lengthscales", "signal_var_kJ2", "noise_var_kJ2", "mean_kJ")}
            print(f"  n={n:>6d} repeat {r + 1}: trajml  fit {out['fit_s']:8.2f} s  predict {out['predict_s']:6.2f} s  "
                  f"rmse {out['rmse_kT']:.3f} kT  peak {fmt_bytes(out['rss_peak'])}", flush=True)
            if n <= args.sklearn_max:
                out = _common.run_python_child(CHILD, {"method": "sklearn_fixed", "n": n, "seed": args.seed,
                                                       "kernel": kernel})
                runs.setdefault("sklearn GPR, fixed kernel", []).append(out)
                print(f"  n={n:>6d} repeat {r + 1}: sklearn fit {out['fit_s']:8.2f} s  "
                      f"predict {out['predict_s']:6.2f} s"
                      f"  rmse {out['rmse_kT']:.3f} kT  peak {fmt_bytes(out['rss_peak'])}", flush=True)
            if n <= args.optimised_max:
                out = _common.run_python_child(CHILD, {"method": "sklearn_opt", "n": n, "seed": args.seed})
                runs.setdefault("sklearn GPR, optimised", []).append(out)
                print(f"  n={n:>6d} repeat {r + 1}: sklearn (optimised) fit {out['fit_s']:8.2f} s", flush=True)
        summary: dict[str, Any] = {}
        t_ref = statistics.median(o["fit_s"] for o in runs["trajml GaussianProcessFES"])
        p_ref = statistics.median(o["predict_s"] for o in runs["trajml GaussianProcessFES"])
        for label, outs in runs.items():
            fit = _common.summarise([o["fit_s"] for o in outs])
            pred = _common.summarise([o["predict_s"] for o in outs])
            summary[label] = {"fit_s": fit, "predict_s": pred, "rss_peak": max(o["rss_peak"] for o in outs),
                              "rmse_kT": outs[0]["rmse_kT"], "mean_sd_kT": outs[0]["mean_sd_kT"], "runs": outs}
            rows.append([n, label, f"{fit['median']:.3g}", f"{fit['median'] / t_ref:.3g}x",
                         f"{pred['median']:.3g}", f"{pred['median'] / p_ref:.3g}x",
                         fmt_bytes(summary[label]["rss_peak"]), f"{outs[0]['rmse_kT']:.3f}"])
        if n > args.sklearn_max:
            need = 8.0 * n * n
            summary["sklearn GPR, fixed kernel"] = {"skipped": True, "reason": f"the exact GP needs n x n float64 "
                                                    f"matrices of {need / 1024 ** 3:.0f} GiB each (kernel, Cholesky "
                                                    f"factor), more than this machine's memory"}
            rows.append([n, "sklearn GPR, fixed kernel", "not run", "-", "-", "-",
                         f"needs {need / 1024 ** 3:.0f} GiB/matrix", "-"])
        results["sizes"][str(n)] = summary
    print()
    print(format_table(["n", "method", "fit s", "fit vs trajml", "predict s (2500 pts)", "predict vs trajml",
                        "peak RSS", "RMSE kT"], rows, align="rlrrrrrr"))
    results["table"] = rows
    return results


if __name__ == "__main__":
    main()
